"""The gate explorer's summary data: what `GateLogger` writes during `fit`, and how it reads back.

Under a run's `tb/` folder, at step = the epoch's index (like Keras's epoch scalars):

    gate_explorer/run            a JSON string (`run_description`): the task (name, kind,
                                 vocabulary, labels, its `Task.tutorial`: the sentence the page
                                 opens with and the facts it was trained on), the recurrent
                                 layers with their gates, and the probe examples (tokens or
                                 values, marked steps, target)
    gate_explorer/probe/<layer>/<gate>
                                 float32 `(examples, time, units)`: the gate on the probe examples
    gate_explorer/probe/outputs  float32 `(examples, n_outputs)` or `(examples, time, n_outputs)`:
                                 the model's outputs (logits or values) on them

`time` is the longest real length among the probe examples (padding cut off). TensorBoard keeps a
bounded number of points per tag (`--samples_per_plugin gate_explorer=N` raises it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from data.base import Split, TaskSpec
from experiments.tensorboard import gate_stats, probe

PLUGIN_NAME = "gate_explorer"
RUN_TAG = f"{PLUGIN_NAME}/run"
PROBE_PREFIX = f"{PLUGIN_NAME}/probe/"
OUTPUTS_TAG = f"{PROBE_PREFIX}outputs"
PROBE_EXAMPLES = 2  # context_switch's probe alternates: a "but" sentence, then an "and" one
VERSION = 1


def _metadata(description: str):
    """`SummaryMetadata` owned by this plugin, as a plain tensor series (data_class must be set,
    or TensorBoard's data providers never list the series)."""
    from tensorboard.compat.proto import summary_pb2

    return summary_pb2.SummaryMetadata(
        summary_description=description,
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=PLUGIN_NAME),
        data_class=summary_pb2.DATA_CLASS_TENSOR,
    )


def target_label(spec: TaskSpec, y: np.ndarray) -> str:
    """A one-output target as text: its class name (or id), or its value."""
    if spec.is_classification:
        return spec.labels[int(y)] if spec.labels else str(int(y))
    return f"{float(np.ravel(y)[0]):.4g}"


def example_record(
    spec: TaskSpec, examples: Split, i: int, length: int, steps: list[str] | None = None
) -> dict[str, Any]:
    """One probe example as the page shows it: tokens (or values, with `steps` as its tokens:
    `Task.step_labels`, a table's time column), the input text to prefill the box with, the
    marked steps (context_switch: `switch`, `subject`, `blank`) and the target."""
    record: dict[str, Any] = {
        "length": length,
        "marks": probe.marked_steps(examples.positions, i),
        "target": target_label(spec, examples.y[i]) if spec.output == "last" else None,
    }
    if spec.input_kind == "tokens":
        ids = examples.x[i, :length]
        record["tokens"] = probe.token_strings(spec, ids)
        separator = "" if probe.is_character_vocab(spec) else " "
        record["text"] = separator.join(spec.vocab[t] for t in ids)
    else:
        record["values"] = np.round(examples.x[i, :length].astype(np.float64), 6).tolist()
        if steps is not None:
            record["tokens"] = list(steps[:length])
    return record


def run_description(
    spec: TaskSpec,
    cells: Mapping[str, Any],
    gates: Mapping[str, list[str]],
    examples: Split,
    step_labels: list[list[str]] | None = None,
    tutorial: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON the plugin lists a run by (`RUN_TAG`); `cells` are `GateTracer.cells`,
    `step_labels` a label per step of each example (`Task.step_labels`) or None, `tutorial`
    the task's `Task.tutorial()` (the sentence the page opens with, its facts) or None."""
    mask = probe.full_mask(examples.x)
    return {
        "version": VERSION,
        "task": {
            "name": spec.name,
            "seq_len": spec.seq_len,
            "input_kind": spec.input_kind,
            "input_dim": spec.input_dim,
            "output": spec.output,
            "n_outputs": spec.n_outputs,
            "vocab": None if spec.vocab is None else list(spec.vocab),
            "labels": None if spec.labels is None else list(spec.labels),
            "characters": spec.input_kind == "tokens" and probe.is_character_vocab(spec),
            "tutorial": tutorial,
        },
        "layers": {
            layer: {
                "cell": type(cells[layer]).__name__,
                "gates": list(gates[layer]),
                "memory_gate": cells[layer].retention_gate,
            }
            for layer in gates
        },
        "examples": [
            example_record(
                spec,
                examples,
                i,
                gate_stats.real_length(mask[i]),
                None if step_labels is None else step_labels[i],
            )
            for i in range(len(examples))
        ],
    }


def write_probe(
    tracer,
    spec: TaskSpec,
    examples: Split,
    traced: Mapping[str, Mapping],
    offset: int,
    y_pred,
    step_labels: list[list[str]] | None = None,
    tutorial: dict[str, Any] | None = None,
) -> None:
    """Write the run description and the first `PROBE_EXAMPLES` probe examples' gates and outputs
    at the default writer's step (inside `GateLogger.log`).

    Args:
        tracer: the `layers.GateTracer` that traced them (its `cells`).
        spec, examples: the task's spec and the probe examples `(n, time[, features])`.
        traced: `{layer: {gate: (offset + n, time, units)}}`, the probe examples from `offset`.
        y_pred: the model's outputs on the probe examples, `(n, ...)`.
        step_labels: a label per step of each probe example (`Task.step_labels`), or None.
        tutorial: the task's `Task.tutorial()`, or None.
    """
    import tensorflow as tf

    k = min(PROBE_EXAMPLES, len(examples))
    shown = Split(examples.x[:k], examples.y[:k], {p: v[:k] for p, v in examples.positions.items()})
    time = max(gate_stats.real_length(row) for row in probe.full_mask(shown.x))
    gates = {layer: list(values) for layer, values in traced.items()}
    labels = None if step_labels is None else step_labels[:k]
    description = run_description(spec, tracer.cells, gates, shown, labels, tutorial)
    tf.summary.write(RUN_TAG, json.dumps(description), metadata=_metadata("gate explorer run"))
    for layer, values in traced.items():
        for gate, v in values.items():
            tensor = np.asarray(v)[offset : offset + k, :time].astype(np.float32)
            tf.summary.write(f"{PROBE_PREFIX}{layer}/{gate}", tensor, metadata=_metadata(gate))
    outputs = np.asarray(y_pred)[:k].astype(np.float32)
    if spec.output == "sequence":
        outputs = outputs[:, :time]
    tf.summary.write(OUTPUTS_TAG, outputs, metadata=_metadata("model outputs"))


def _is_description(record: Any) -> bool:
    """True when `record` has every field the plugin reads, of the type `run_description` writes:
    a description logged by another version (or by hand) is not listed rather than a 500."""
    if not isinstance(record, dict) or record.get("version") != VERSION:
        return False
    task, layers, examples = record.get("task"), record.get("layers"), record.get("examples")
    if not (isinstance(task, dict) and isinstance(layers, dict) and isinstance(examples, list)):
        return False

    def strings(value: Any) -> bool:
        return isinstance(value, list) and all(isinstance(t, str) for t in value)

    task_ok = (
        task.get("input_kind") in ("tokens", "features")
        and task.get("output") in ("last", "sequence")
        and all(isinstance(task.get(k), int) for k in ("n_outputs", "input_dim"))
        and (task.get("vocab") is None or strings(task["vocab"]))
        and (task.get("labels") is None or strings(task["labels"]))
        and isinstance(task.get("characters"), bool)
        and "name" in task
        and "seq_len" in task
    )
    layers_ok = all(
        isinstance(v, dict) and strings(v.get("gates")) and v["gates"] for v in layers.values()
    )
    examples_ok = all(
        isinstance(e, dict) and isinstance(e.get("length"), int) and e["length"] >= 0
        for e in examples
    )
    return task_ok and layers_ok and examples_ok and _is_tutorial(task.get("tutorial"))


def _is_tutorial(tutorial: Any) -> bool:
    """None, or a `Task.tutorial()` of the types the plugin reads (`text`, `hint`, `contrast`:
    strings; `facts`: `favourite` name → food, `filler` a whole number, each optional)."""
    if tutorial is None:
        return True
    if not isinstance(tutorial, dict) or not isinstance(tutorial.get("text"), str):
        return False
    facts = tutorial.get("facts", {})
    if not isinstance(facts, dict):
        return False
    favourite, filler = facts.get("favourite") or {}, facts.get("filler")
    return (
        isinstance(tutorial.get("hint", ""), str)
        and isinstance(tutorial.get("contrast") or "", str)
        and isinstance(favourite, dict)
        and all(isinstance(v, str) for v in favourite.values())
        and (filler is None or (isinstance(filler, int) and not isinstance(filler, bool)))
    )


def parse_description(raw: bytes | str) -> dict[str, Any] | None:
    """A run description read back (`RUN_TAG`'s string tensor), or None if it is not one (not
    JSON, another version, or a field the plugin reads missing or of another type)."""
    try:
        record = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return record if _is_description(record) else None


def probe_tag(layer: str, gate: str) -> str:
    """The tag of one gate's logged probe values."""
    return f"{PROBE_PREFIX}{layer}/{gate}"
