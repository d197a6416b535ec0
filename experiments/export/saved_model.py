"""Export a trained model as a TensorFlow SavedModel with a `serve` and a `gates` endpoint.

    python -m experiments.export RUN_DIR [--out DIR] [--serving NAME] [--version N]

The SavedModel is self-contained: loading it needs TensorFlow only, not gatelab.

- `serve` (also `serving_default`): input `tokens` `(batch, time)` int32 or `features`
  `(batch, time, F)` float32, named after the model's input; output `{"outputs": ...}`, the
  model's output `(batch, n_outputs)` or `(batch, time, n_outputs)` (logits or regression values).
- `gates`: the same input; output `{"<layer>/<gate>": (batch, time, units)}` for every recurrent
  layer, e.g. `rnn_0/forget` (gate names as in `layers`: the LSTM's `input`, `forget`,
  `candidate`, `output`, `cell`, `hidden`; the GRU's `update`, `reset`, `candidate`, `hidden`;
  the plain RNN's `hidden`).
- `intervene`: the same input and, per gate, a mask and values; the outputs and gates with those
  gates clamped or patched (`experiments.export.intervene`).

Batch and time are unknown in both signatures, so any batch size and sequence length is served.

A classifier's label names travel with it: `assets.extra/labels.json` in the SavedModel's folder
holds `{"labels": [...]}`, output index → name (`outputs` are logits by index; TensorFlow Serving
ignores `assets.extra/`):

    labels = json.loads(Path(saved_dir, "assets.extra/labels.json").read_text())["labels"]
    best = labels[int(tf.argmax(loaded.signatures["serve_text"](text=...)["outputs"][0]))]

With the run's preprocessing (`preprocessing.json`, from a task built on your own data) a third
endpoint takes raw input instead of ids or standardised features:

- `serve_text` (text): input `text` `(batch,)` strings; tokenised in the graph by the rule
  training used (`data.own.tokenize`: lower-casing, characters or words), looked up in the
  saved vocabulary (unknown tokens → `<unk>`, id 1), cut to `max_len` at the same end and
  right-padded with 0; output `{"outputs": ..., "tokens": (batch, time) int32 ids}`.
- `serve_raw` (long-format numeric tables): input `features` `(batch, time, F)` float32 in the
  table's units and a `length` `(batch,)` int32; standardised with the training statistics
  in the graph, the `present` channel added, steps at or past `length` padded; output as `serve`.

A table's value target is standardised for training; its run's `preprocessing.json` keeps the
target's mean and standard deviation, and `serve` and these endpoints return `outputs` in the
target's own units (`experiments.export.raw_input.in_target_units`).

TensorFlow loads only when a model is exported, so command-line mistakes are reported at once.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from experiments import outputs
from experiments.export.signatures import (
    GATES,
    OUTPUT_KEY,
    SERVE,
    SERVING_DEFAULT,
    all_layers,
    checked,
    input_signature,
    vocabulary_size,
)

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

FORMATS = ("tf_saved_model",)
# Formats Keras's `model.export` knows that are not offered, and why.
UNSUPPORTED_FORMATS = {
    "onnx": "Keras converts to ONNX through the tf2onnx and onnx packages, which gatelab does "
    "not depend on",
    "openvino": "it needs the openvino package, which gatelab does not depend on",
    "litert": "it is not verified with gatelab's recurrent layers and holds a single signature "
    "(no `gates`)",
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@contextlib.contextmanager
def _without_cudnn(model: keras.Model) -> Iterator[None]:
    """Trace every LSTM/GRU layer, Keras's and ours, with `use_cudnn=False` whatever its setting.

    A graph traced with cuDNN (`use_cudnn="auto"` on a GPU) holds `CudnnRNNV3`, which has no CPU
    kernel; the generic loop computes the same function and runs everywhere.
    """
    import keras

    import layers

    cudnn_capable = [
        layer
        for layer in all_layers(model)
        if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU, layers.LSTM, layers.GRU))
    ]
    previous = [layer.use_cudnn for layer in cudnn_capable]
    for layer in cudnn_capable:
        layer.use_cudnn = False
    try:
        yield
    finally:
        for layer, value in zip(cudnn_capable, previous):
            layer.use_cudnn = value


def serving_dir(base: Path, model_name: str, version: int) -> Path:
    """`base/<model_name>/<version>`, the folder TensorFlow Serving loads a version from."""
    if not isinstance(model_name, str) or not _NAME.fullmatch(model_name):
        raise ValueError(
            "Received an invalid value for argument `model_name`, expected letters, digits, "
            f"'.', '_' or '-' (a folder name), got {model_name!r}."
        )
    if isinstance(version, bool) or not isinstance(version, int) or version <= 0:
        raise ValueError(
            "Received an invalid value for argument `version`, expected a positive integer, "
            f"got {version!r}."
        )
    return Path(base) / model_name / str(version)


def _ordinary_permissions(root: Path) -> None:
    """Folders 0777 and files 0666 less the umask (0755 / 0644 usually), as `mkdir` and `open`
    would make them: `mkdtemp` makes 0700, which a serving process of another user cannot read."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(root, 0o777 & ~umask)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(Path(folder, name), 0o777 & ~umask)
        for name in files:
            os.chmod(Path(folder, name), 0o666 & ~umask)


def gates_description(tracer: Any) -> dict[str, Any]:
    """What the explorer reads beside the SavedModel (`outputs.GATES_DESCRIPTION`), from the
    cells themselves: per layer path its cell, its traced keys in the cell's order, its memory
    gate (`retention_gate`, kept at `retention_keeps_at`) and each key's meaning and bounds."""
    layers = {}
    for path, cell in tracer.cells.items():
        infos = {gate: cell.gate_info(gate) for gate in cell.gate_names}
        layers[path] = {
            "cell": type(cell).__name__,
            "gates": list(cell.gate_names),
            "memory_gate": cell.retention_gate,
            "keeps_at": cell.retention_keeps_at,
            "meanings": {gate: info.meaning for gate, info in infos.items()},
            "bounds": {gate: info.bounds for gate, info in infos.items()},
        }
    return {"version": 1, "layers": layers}


def _write_atomically(archive, target: Path, extras: dict[str, Any] | None = None) -> None:
    """Write into a sibling temporary folder, then swap it in: a reader (TF Serving polls the
    version folders) never sees half a SavedModel. `extras`: relative path → JSON value, written
    into the folder with the SavedModel."""
    if target.exists() and any(target.iterdir()) and not (target / "saved_model.pb").exists():
        raise ValueError(
            f"Refusing to overwrite {target}: it exists and is not a SavedModel; choose another "
            "output folder."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        try:
            archive.write_out(str(tmp), verbose=False)
        except Exception as exc:  # TensorFlow's error for a full disk: an OSError like others
            import tensorflow as tf

            if not isinstance(exc, tf.errors.OpError):
                raise
            raise OSError(
                errno.EIO, f"TensorFlow could not write: {exc.message}", str(tmp)
            ) from exc
        for name, value in (extras or {}).items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(json.dumps(value, indent=1))
        _ordinary_permissions(tmp)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def export_saved_model(
    model: keras.Model,
    out_dir: Path,
    *,
    serving_layout: bool = False,
    model_name: str | None = None,
    version: int = 1,
    preprocessing: dict | None = None,
    labels: Sequence[str] | None = None,
) -> Path:
    """Write `model` as a SavedModel with the `serve`, `serving_default` and `gates` endpoints.

    Args:
        model: a built functional model with one input, `(batch, time)` int32 token ids or
            `(batch, time, F)` float32 features, made of gatelab's or Keras's recurrent layers.
        out_dir: folder of the SavedModel (replaced if it already holds one), or with
            `serving_layout` the TensorFlow Serving base path.
        serving_layout: write into `out_dir/<model_name>/<version>/`, the layout TensorFlow
            Serving expects (`--model_base_path=out_dir/<model_name>`).
        model_name: the model's name in that layout (default: `model.name`).
        version: positive integer version folder.
        preprocessing: the run's `Task.preprocessing()`; adds `serve_text` or `serve_raw`,
            and with `"target"` (value targets standardised for training) every endpoint's
            `outputs` are in the target's units.
        labels: a classifier's class names, output index → name (`TaskSpec.labels`), written
            to `outputs.LABELS` in the SavedModel's folder; one per output.
    Returns: the folder that holds `saved_model.pb`.

    Raises:
        ValueError: a model it cannot serve as the explorer and `serve_text` need (not built,
            several inputs, token ids read from a float input), or labels that do not name
            each output once; each message says what to do.
    """
    import keras

    from experiments.export.intervene import add_intervene_endpoint
    from experiments.export.raw_input import in_target_units
    from layers import GateTracer

    target = Path(out_dir)
    if serving_layout:
        target = serving_dir(target, model.name if model_name is None else model_name, version)
    signature = input_signature(model)
    extras = {outputs.LABELS: {"labels": _checked_labels(model, labels)}} if labels else {}
    tracer = GateTracer(model)
    vocabulary = vocabulary_size(model)

    def serve(x):
        outputs = model(checked(x, vocabulary), training=False)
        return {OUTPUT_KEY: in_target_units(outputs, preprocessing)}  # standardised values back

    def gates(x):
        return {
            f"{layer}/{gate}": value  # (batch, time, units)
            for layer, trace in tracer(checked(x, vocabulary)).items()
            for gate, value in trace.items()
        }

    with _without_cudnn(model):
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(SERVE, serve, input_signature=signature)
        archive.add_endpoint(GATES, gates, input_signature=signature)
        add_intervene_endpoint(archive, model, tracer, vocabulary, preprocessing)
        if preprocessing is not None:
            from experiments.export.raw_input import add_raw_endpoint

            add_raw_endpoint(archive, model, preprocessing)
        # ExportArchive points `serving_default` at the first endpoint (`serve`) on its own.
        extras[outputs.GATES_DESCRIPTION] = gates_description(tracer)
        _write_atomically(archive, target, extras)
    log.info(
        "SavedModel written to %s (endpoints: %s, %s, %s)", target, SERVE, SERVING_DEFAULT, GATES
    )
    return target


def _checked_labels(model: keras.Model, labels: Sequence[str]) -> list[str]:
    """`labels` as a list of strings, once known to be one per output of `model`."""
    names = [str(name) for name in labels]
    outputs_ = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
    if isinstance(labels, str) or len(names) != outputs_:
        raise ValueError(
            f"Received an invalid value for argument `labels`, expected one class name per "
            f"output of model `{model.name}` ({outputs_}), got {labels!r}."
        )
    return names


def load_labels(run_dir: Path) -> list[str] | None:
    """The label names of the run's earlier export (`outputs.LABELS` in its `saved_model/`),
    kept when the command line exports it again; None without them."""
    path = Path(run_dir) / outputs.SAVED_MODEL / outputs.LABELS
    try:
        labels = json.loads(path.read_text(encoding="utf-8")).get("labels")
    except (OSError, ValueError, AttributeError):
        return None
    return labels if isinstance(labels, list) else None


def load_preprocessing(run_dir: Path) -> dict | None:
    """The run's `preprocessing.json`, or None for a run of a generated task.

    Raises:
        ValueError: naming the file, when it is not a JSON object or cannot be read.
    """
    path = Path(run_dir) / outputs.PREPROCESSING
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError included
        why = exc.strerror if isinstance(exc, OSError) else " ".join(str(exc).split())
        raise ValueError(
            f"{path}: not readable JSON ({why}); allowed: the file the run wrote (train the run "
            "again to rewrite it)"
        ) from None
    if not isinstance(record, dict) or record.get("kind") not in ("tokens", "features"):
        raise ValueError(
            f"{path}: not a run's preprocessing (a JSON object with kind 'tokens' or "
            "'features'); train the run again to rewrite it"
        )
    return record


def load_run_model(run_dir: Path) -> keras.Model:
    """The run's `model.keras`, loaded with `safe_mode=True`.

    Raises:
        ValueError: the folder is missing, the run failed or has not finished (no
            `metrics.json` with status ok, or no `model.keras`), or the file does not load; the
            message says which.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"run directory not found: {run_dir}")
    metrics = outputs.read_metrics(run_dir)
    if metrics is not None and metrics.get("status") == "failed":
        raise ValueError(
            f"run failed: {metrics.get('error', 'no error recorded')}; nothing to export"
        )
    unfinished = "the run has not finished (still training, killed, or not a run directory)"
    if metrics is None or metrics.get("status") != "ok":
        raise ValueError(
            f"no readable {outputs.METRICS} with status ok in {run_dir}: {unfinished}; "
            "nothing to export"
        )
    path = run_dir / outputs.MODEL
    if not path.is_file():
        raise ValueError(f"no {outputs.MODEL} in {run_dir}: {unfinished}; nothing to export")
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path} is not a Keras file (a .keras file is a zip archive; this one is truncated "
            "or overwritten); train the run again to rewrite it"
        )
    import keras

    import layers  # noqa: F401  (registers gatelab's layers for deserialization)

    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:  # a corrupt or foreign file is a user-facing error, not a bug
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ValueError(f"could not load {path}: {type(exc).__name__}: {first}") from exc


def _check_format(fmt: str) -> None:
    if fmt in FORMATS:
        return
    supported = ", ".join(FORMATS)
    why = UNSUPPORTED_FORMATS.get(fmt, "it is not a format Keras exports to")
    raise ValueError(f"--format {fmt!r} is not supported: {why}. Supported: {supported}.")


class _OneLineParser(argparse.ArgumentParser):
    """Reports a mistake as one line, `<prog>: error: <message>`, and exits with status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="python -m experiments.export",
        description="Re-export a finished run's model.keras as a SavedModel "
        "(endpoints: serve / serving_default, gates).",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run's output folder")
    parser.add_argument(
        "--out", type=Path, help=f"output folder (default: RUN_DIR/{outputs.SAVED_MODEL})"
    )
    parser.add_argument(
        "--serving",
        metavar="NAME",
        help="write the TensorFlow Serving layout OUT/NAME/VERSION/",
    )
    parser.add_argument("--version", type=int, help="version folder for --serving (default: 1)")
    parser.add_argument(
        "--format",
        default="tf_saved_model",
        help=f"export format; supported: {', '.join(FORMATS)}",
    )
    return parser


def main(argv: list[str] | None = None) -> Path:
    """Command-line entry; a user mistake exits with status 2 and a one-line message."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        _check_format(args.format)
        if args.version is not None and args.serving is None:
            raise ValueError("--version names a folder of --serving NAME's layout; add --serving")
        version = 1 if args.version is None else args.version
        out = args.out if args.out is not None else args.run_dir / outputs.SAVED_MODEL
        if args.serving is not None:
            serving_dir(out, args.serving, version)  # a bad name fails before loading
        model = load_run_model(args.run_dir)
        path = export_saved_model(
            model,
            out,
            serving_layout=args.serving is not None,
            model_name=args.serving,
            version=version,
            preprocessing=load_preprocessing(args.run_dir),
            labels=load_labels(args.run_dir),
        )
    except ValueError as exc:
        parser.error(str(exc))
    except OSError as exc:  # a read-only or full disk: the folder, not a traceback
        where = exc.filename or out
        parser.error(
            f"--out {out}: cannot write {where} ({exc.strerror or exc}); allowed: a "
            "folder on a writable disk with room"
        )
    print(f"SavedModel written to {path}")
    return path
