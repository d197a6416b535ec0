"""Runs the explorer finds on disk: every folder under the logdir whose `saved_model/` holds the
`gates` and `serve` signatures of `experiments.export.saved_model`, with or without the plugin's
summaries
(a run trained before the plugin existed, or a model of a person's own Keras script exported by
`export_saved_model`).

What the page needs is read from files as data, never by running code named in them:

- `saved_model/saved_model.pb` (protobuf, parsed without TensorFlow, < 1 ms): the input (`tokens`
  int32 `(batch, time)` or `features` float32 `(batch, time, F)`), every `<layer>/<gate>` output
  and the shape of `outputs` (one prediction per sequence or one per step, and how many);
- `preprocessing.json` (runs on one's own data): the vocabulary and the tokenisation rule;
- `metrics.json` (gatelab runs): model, data and seq_len, for the listing.

A token run without a vocabulary is traced from token ids typed as numbers.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from experiments import outputs
from experiments.export import signatures as export

PB = "saved_model.pb"
SKIPPED = {outputs.SAVED_MODEL, outputs.TENSORBOARD, outputs.BACKUP}  # never hold run folders
MAX_FOLDERS = 20_000  # folders a listing walks at most (a logdir of many sweeps has thousands)
DT_FLOAT, DT_INT32, DT_INT64 = 1, 3, 9  # tensorflow/core/framework/types.proto
MEMORY_GATES = ("retention", "forget", "update")  # the sLSTM traces its retention
MAX_VARINT = 10  # bytes of protobuf's longest varint (a 64-bit number)
MAX_FIELDS = 100_000  # fields of one message read at most (TensorFlow's meta graph has dozens)
MAX_SIGNATURE_BYTES = 1 << 24  # a model's signatures take kilobytes
MAX_JSON_BYTES = {  # a run's own files, read at most this large
    outputs.METRICS: 1 << 20,  # a few dozen numbers
    outputs.PREPROCESSING: 1 << 26,  # a vocabulary: a million tokens take about 10 MiB
    outputs.GATES_DESCRIPTION: 1 << 20,  # a few gates per layer
    outputs.LABELS: 1 << 24,  # class names: a table's thousands of labels fit
}
GATE_ORDER = (  # as the cells trace them (the sLSTM's states and retention before `hidden`)
    *("input", "forget", "update", "reset", "candidate", "output", "cell"),
    *("normalizer", "stabilizer", "retention", "hidden"),
)


class SavedModelError(ValueError):
    """A run's SavedModel (or a file beside it) cannot be read: the message says what is wrong."""


class ForeignSavedModelError(SavedModelError):
    """A readable SavedModel without `experiments.export.saved_model`'s `gates` and `serve`
    signatures: some
    other model, which the explorer does not list."""


def _varint(buf: bytes, i: int, end: int) -> tuple[int, int]:
    """The varint at `buf[i:end]` and the index after it (`IndexError` when there is none)."""
    value = 0
    for shift in range(0, 7 * MAX_VARINT, 7):  # bounded: a run of 0xff bytes is no number
        if i >= end:
            raise IndexError("it ends inside a field: truncated")
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
    raise IndexError(f"a number longer than {MAX_VARINT} bytes")


def _read(file: BinaryIO, start: int, end: int) -> bytes:
    file.seek(start)
    return file.read(end - start)


def _fields(file: BinaryIO, i: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """`(field number, key start, value start, value end)` of each field of the protobuf message
    at bytes `[i, end)` of `file`, values neither read nor decoded: a field is skipped by its
    length, so a large graph costs nothing (`IndexError` when it is no message)."""
    for _ in range(MAX_FIELDS):
        if i >= end:
            return
        head = _read(file, i, min(i + 2 * MAX_VARINT, end))  # a key and a length at most
        key, k = _varint(head, 0, len(head))
        wire = key & 7
        if wire == 0:
            start, after = i + k, i + _varint(head, k, len(head))[1]
        elif wire == 2:
            size, k_value = _varint(head, k, len(head))
            start = i + k_value
            after = start + size
        elif wire in (1, 5):
            start = i + k
            after = start + (8 if wire == 1 else 4)
        else:
            raise IndexError(f"a field of wire type {wire}, which TensorFlow does not write")
        if after > end:
            raise IndexError("a field runs past the end: truncated")
        yield key >> 3, i, start, after
        i = after
    raise IndexError(f"more than {MAX_FIELDS} fields in one message")


def signatures(pb: Path) -> dict[str, Any]:
    """Signature name → `SignatureDef` of the SavedModel file `pb` (its first meta graph).

    `SavedModel` is `{1: schema version, 2: repeated MetaGraphDef}`; TensorBoard ships
    `MetaGraphDef` but not `SavedModel`, so the outer message is split by hand, and only the
    meta graph's `signature_def` entries (field 5, at most `MAX_SIGNATURE_BYTES`) are read and
    parsed: not its graph (the bulk), whatever the file's size.
    """
    from google.protobuf.message import DecodeError
    from tensorboard.compat.proto import meta_graph_pb2

    try:
        with pb.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            meta = next((v for f, _, *v in _fields(file, 0, size) if f == 2), None)
            if meta is None:
                raise SavedModelError(f"{pb} is not a SavedModel (no meta graph in it)")
            entries = [(k, e) for f, k, _, e in _fields(file, *meta) if f == 5]
            if sum(e - k for k, e in entries) > MAX_SIGNATURE_BYTES:
                raise IndexError(f"signatures of over {MAX_SIGNATURE_BYTES} bytes")
            kept = b"".join(_read(file, k, e) for k, e in entries)
        return dict(meta_graph_pb2.MetaGraphDef.FromString(kept).signature_def)
    except OSError as exc:
        raise SavedModelError(f"{pb} cannot be read: {exc.strerror or exc}") from None
    except (IndexError, DecodeError) as exc:
        raise SavedModelError(f"{pb} is not a SavedModel ({exc})") from None


def _shape(info) -> list[int]:
    return [d.size for d in info.tensor_shape.dim]  # -1: unknown (batch, time)


def interface(pb: Path) -> dict[str, Any]:
    """What the page needs from a SavedModel's signatures: `input` (its key), `input_kind`,
    `input_dim` (features, or None), `output` ("last" / "sequence"), `n_outputs` and `layers`
    (`{layer: [gates]}`). `ForeignSavedModelError` when `gates` or `serve` is missing or not
    export's, `SavedModelError` when the file is no SavedModel (unreadable, truncated, garbage)."""
    found = signatures(pb)
    missing = [name for name in (export.GATES, export.SERVE) if name not in found]
    if missing:
        raise ForeignSavedModelError(
            f"{pb} has no {' and no '.join(f'`{m}`' for m in missing)} signature (it has "
            f"{', '.join(sorted(found)) or 'none'}); export it with `python -m experiments.export "
            "RUN_DIR` or `experiments.export.saved_model.export_saved_model`"
        )
    gates, serve = found[export.GATES], found[export.SERVE]
    not_exports = ForeignSavedModelError(f"{pb}'s `gates` and `serve` signatures are not export's")
    if len(gates.inputs) != 1:
        raise not_exports
    (name, spec), out = next(iter(gates.inputs.items())), serve.outputs.get(export.OUTPUT_KEY)
    shape, out_shape = _shape(spec), _shape(out) if out is not None else []
    kinds = {DT_INT32: "tokens", DT_INT64: "tokens", DT_FLOAT: "features"}
    layers: dict[str, list[str]] = {}
    for key in gates.outputs:
        layer, _, gate = key.rpartition("/")
        layers.setdefault(layer, []).append(gate)
    rank = {"tokens": 2, "features": 3}.get(kinds.get(spec.dtype))  # (batch, time[, F])
    if spec.dtype == DT_FLOAT and len(shape) == 2:  # export refuses it now; an older one did not
        raise SavedModelError(
            f"{pb}: its input `{name}` is float32 (batch, time), so the page cannot send it "
            "words: a model that reads token ids needs "
            '`keras.Input(shape=(None,), dtype="int32")`; rebuild it on that input, copy the '
            "weights (`set_weights`) and export again"
        )
    if len(shape) != rank or len(out_shape) not in (2, 3) or "" in layers or out_shape[-1] < 1:
        raise not_exports
    order = {gate: i for i, gate in enumerate(GATE_ORDER)}
    return {
        "input": name,
        "input_kind": kinds[spec.dtype],
        "input_dim": shape[-1] if kinds[spec.dtype] == "features" else None,
        "output": "sequence" if len(out_shape) == 3 else "last",
        "n_outputs": out_shape[-1],
        "layers": {
            layer: sorted(g, key=lambda gate: (order.get(gate, len(order)), gate))
            for layer, g in sorted(layers.items())
        },
    }


def read_json(folder: Path, name: str, root: Path) -> Any:
    """The JSON value of `folder/name` (`metrics.json` or `preprocessing.json`), None when there
    is no such file. Read only when it is a regular file inside `root` (a link may point within
    the logdir, not out of it) of at most `MAX_JSON_BYTES[name]`: a FIFO is not waited on and a
    device is not read.

    Raises:
        SavedModelError: naming the file and why it is not read (out of the logdir, not a
            regular file, too large, unreadable, not JSON).
    """
    path, limit = folder / name, MAX_JSON_BYTES[name]
    try:
        path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SavedModelError(f"{path} cannot be read: {exc.strerror}") from None
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a link loop
        raise SavedModelError(f"{path} is a broken link or a link loop; not read") from None
    if not real.is_relative_to(root):
        raise SavedModelError(f"{path} leads out of the logdir (to {real}); not read")
    try:  # O_NONBLOCK: opening a FIFO does not wait for a writer
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError as exc:
        raise SavedModelError(f"{path} cannot be read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise SavedModelError(f"{path} is not a regular file; not read")
        raw = file.read(limit + 1)
    if len(raw) > limit:
        raise SavedModelError(f"{path} is larger than {limit:,} bytes; not read")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise SavedModelError(f"{path} is not readable JSON: {exc}") from None


def metrics(folder: Path, root: Path) -> dict[str, Any]:
    """The run's `metrics.json` as `read_json` reads it, `{}` when it is absent or unusable (it
    only names the run's model, data and seq_len in the listing)."""
    try:
        record = read_json(folder, outputs.METRICS, root)
    except SavedModelError:
        return {}
    return record if isinstance(record, dict) else {}


def rule(folder: Path, root: Path) -> dict[str, Any] | None:
    """The run's tokenisation from its `preprocessing.json` (`vocab`, `tokens` "word"/"char",
    `lowercase`), None without one or for features; `SavedModelError` if it is unreadable (or
    not read: see `read_json`)."""
    path = folder / outputs.PREPROCESSING
    record = read_json(folder, outputs.PREPROCESSING, root)
    if not isinstance(record, dict) or record.get("kind") != "tokens":
        return None
    vocab, tokens = record.get("vocab"), record.get("tokens")
    if not isinstance(vocab, list) or not all(isinstance(t, str) for t in vocab) or not vocab:
        raise SavedModelError(f"{path}: `vocab` is not a list of strings")
    if tokens not in ("word", "char"):
        raise SavedModelError(f"{path}: `tokens` is {tokens!r}, not 'word' or 'char'")
    return {"vocab": vocab, "tokens": tokens, "lowercase": bool(record.get("lowercase", False))}


def saved_model_file(folder: Path, root: Path) -> Path | None:
    """`folder/saved_model/saved_model.pb` if it is a file inside `root` (resolved: a link out
    of the logdir is not read), else None."""
    pb = folder / outputs.SAVED_MODEL / PB
    try:
        return pb if pb.is_file() and pb.resolve().is_relative_to(root) else None
    except (OSError, RuntimeError):  # RuntimeError: a link loop
        return None


def run_folders(root: Path, limit: int = MAX_FOLDERS) -> Iterator[Path]:
    """Folders under `root` (itself included) that hold a `saved_model_file`, depth first in
    name order, visiting at most `limit` folders. Links to folders are not followed, and the
    walk keeps its own stack, so no depth of folders exhausts Python's recursion."""
    root = Path(root)
    inside, stack, visited = root.resolve(), [root], 0
    while stack and visited < limit:
        folder = stack.pop()
        visited += 1
        if saved_model_file(folder, inside) is not None:
            yield folder
        try:
            with os.scandir(folder) as entries:
                names = sorted(
                    e.name
                    for e in entries
                    if e.is_dir(follow_symlinks=False)
                    and e.name not in SKIPPED
                    and not e.name.startswith(".")
                )
        except OSError:  # unreadable, or gone since it was listed
            continue
        stack.extend(folder / name for name in reversed(names))


def _task(folder: Path, root: Path) -> dict[str, Any]:
    """A run description's `task` with what `metrics.json` says (data, seq_len) and no input."""
    record = metrics(folder, root)
    return {
        "name": record.get("data"),
        "seq_len": record.get("seq_len"),
        **dict.fromkeys(("input_kind", "input_dim", "output", "n_outputs", "vocab", "labels")),
        "characters": False,
    }


def declared_layers(folder: Path, root: Path) -> dict[str, dict[str, Any]]:
    """What the exporter wrote beside the SavedModel from the cells (`outputs.GATES_DESCRIPTION`:
    per layer its gates in the cell's order and its memory gate), `{}` for a SavedModel
    exported before it existed or a description of another shape."""
    try:
        declared = read_json(folder / outputs.SAVED_MODEL, outputs.GATES_DESCRIPTION, root)
    except SavedModelError:
        return {}
    layers = declared.get("layers") if isinstance(declared, dict) else None
    if not isinstance(layers, dict):
        return {}
    return {
        path: layer
        for path, layer in layers.items()
        if isinstance(layer, dict)
        and isinstance(layer.get("gates"), list)
        and isinstance(layer.get("memory_gate"), str | None)
    }


def _layer(gates: list[str], declared: dict[str, Any] | None) -> dict[str, Any]:
    """One layer of a description: its gates in the cell's order and its memory gate, as the
    exporter declared them, else (an older export) by the known gate names."""
    if declared is None:
        return {
            "cell": None,
            "gates": gates,
            "memory_gate": next((g for g in MEMORY_GATES if g in gates), None),
        }
    order = [g for g in declared["gates"] if g in gates]
    memory = declared["memory_gate"] if declared["memory_gate"] in gates else None
    if memory is None and "retention" in gates:
        memory = "retention"
    return {
        "cell": declared.get("cell"),
        "gates": order + [g for g in gates if g not in order],
        "memory_gate": memory,
    }


def labels(folder: Path, root: Path, n_outputs: int) -> list[str] | None:
    """The class names the exporter wrote beside the SavedModel (`outputs.LABELS`), None
    without them or when they are not one string per output (the page then shows indices)."""
    try:
        record = read_json(folder / outputs.SAVED_MODEL, outputs.LABELS, root)
    except SavedModelError:
        return None
    names = record.get("labels") if isinstance(record, dict) else None
    if not isinstance(names, list) or len(names) != n_outputs:
        return None
    return names if all(isinstance(n, str) for n in names) else None


def describe(folder: Path, root: Path) -> dict[str, Any]:
    """A run description (as `summary.run_description`, without probe examples) of the
    SavedModel in `folder/saved_model`; `SavedModelError` when it is not usable. A layer's
    gates and `memory_gate` (the gate the page opens on) are what the exporter declared from
    the cell (`declared_layers`); for an older export, the sLSTM's `retention`, else `forget`
    or `update`, as `RecurrentCell.retention_gate` names them."""
    api = interface(folder / outputs.SAVED_MODEL / PB)
    declared = declared_layers(folder, root)
    tokens = rule(folder, root) if api["input_kind"] == "tokens" else None
    vocab = tokens["vocab"] if tokens else None
    return {
        "task": _task(folder, root)
        | {
            "input_kind": api["input_kind"],
            "input_dim": len(vocab) if vocab else api["input_dim"],
            "output": api["output"],
            "n_outputs": api["n_outputs"],
            "vocab": vocab,
            "labels": labels(folder, root, api["n_outputs"]),
            "characters": bool(tokens) and tokens["tokens"] == "char",
        },
        "layers": {
            layer: _layer(gates, declared.get(layer)) for layer, gates in api["layers"].items()
        },
        "examples": [],
    }


def unusable(folder: Path, root: Path) -> dict[str, Any]:
    """The description of a folder whose SavedModel cannot be read (`describe` raised): its
    `metrics.json`'s data and seq_len, no layers."""
    return {"task": _task(folder, root), "layers": {}, "examples": []}
