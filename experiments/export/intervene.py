"""The SavedModel endpoint `intervene`: clamp or patch any traced value of any recurrent layer at
the steps and units you choose, and read the outputs and every gate under that intervention.

It is `layers.GateTracer.intervene` in the graph, so a serving user (or the gate explorer) asks
"what does this gate, at this word, cause?" with TensorFlow only.

- Inputs: the model's input as `serve` takes it (`tokens` `(batch, time)` int32 or `features`
  `(batch, time, F)` float32), and for every recurrent layer and every key it traces (the keys
  of `gates`, e.g. `rnn_0/forget`) a pair `where` (bool) and `value` (float32), each of rank 3
  and broadcastable to that layer's `(batch, time, units)`. The step computes the key, replaces
  it by `value` where `where` is True, and carries on with the replaced value, so the states,
  later gates, later layers and the outputs follow. An all-False `where` (e.g. shape
  `(1, 1, 1)`) leaves the key alone: every pair must be given, as a signature has no optional
  inputs.
- Input names: the signature's flat names are `input_name(key, part)`, `<key>_<part>` with every
  character other than letters, digits and `_` made `_` (`rnn_0/forget` → `rnn_0_forget_where`,
  `rnn_0_forget_value`). The loaded object's `intervene` function takes
  `(x, {"rnn_0/forget": {"where": ..., "value": ...}, ...})` instead.
- Outputs: `outputs` as `serve` returns them, and `"<layer>/<key>"` `(batch, time, units)` as
  `gates` returns them, all under the intervention.
- Refused, as `serve` refuses them (a `tf.errors.InvalidArgumentError` whose message says what is
  allowed): token ids outside the vocabulary, sequences of 0 steps, a `where` or `value` whose
  dimensions are neither 1 nor the layer's `(batch, time, units)`, and values that are not
  finite.

Example (TensorFlow only):
>>> loaded = tf.saved_model.load(saved_model_dir)
>>> ids = tf.constant([[9, 2, 24, 4, 10, ...]])                     # "alice likes pizza but bob …"
>>> where = tf.one_hot([[3]], ids.shape[1], on_value=True, off_value=False)[..., None]
>>> untouched = {"where": tf.zeros((1, 1, 1), bool), "value": tf.zeros((1, 1, 1))}
>>> patches = {key: untouched for key in gate_keys}                 # the keys of `gates`
>>> patches["rnn_0/forget"] = {"where": where, "value": tf.ones((1, 1, 1))}
>>> result = loaded.intervene(ids, patches)   # result["outputs"], result["rnn_0/cell"], ...
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from layers import GateTracer

INTERVENE = "intervene"
PARTS = ("where", "value")
_NOT_A_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9_]")


def input_name(key: str, part: str) -> str:
    """The signature's input name of `part` ("where" or "value") of the trace key `key`
    (`"<layer path>/<trace key>"`): `rnn_0/forget`, `where` → `rnn_0_forget_where`."""
    return _NOT_A_NAME_CHARACTER.sub("_", f"{key}/{part}")


def trace_keys(tracer: GateTracer) -> list[str]:
    """`"<layer path>/<trace key>"` of every recurrent layer's every traced key, in the order of
    `tracer.names` and each cell's `gate_names` (the keys of the `gates` endpoint)."""
    return [f"{path}/{key}" for path in tracer.names for key in tracer.cells[path].gate_names]


def intervene_signature(model: keras.Model, tracer: GateTracer) -> list:
    """`[input spec, {key: {"where": spec, "value": spec}}]`: the model's input as `serve` takes
    it and, per trace key, a rank-3 bool `where` and float32 `value` of unknown dimensions.

    Raises:
        ValueError: two trace keys whose input names (`input_name`) coincide.
    """
    import tensorflow as tf

    from experiments.export.signatures import input_signature

    (x_spec,) = input_signature(model)
    keys = trace_keys(tracer)
    names = {input_name(key, part): key for key in keys for part in PARTS}
    if len(names) != 2 * len(keys) or x_spec.name in names:
        raise ValueError(
            f"Model `{model.name}`: its trace keys {keys} give clashing `intervene` input names "
            "(letters, digits and '_' only); rename a recurrent layer to export it."
        )
    dtypes = {"where": tf.bool, "value": tf.float32}
    patches = {
        key: {
            part: tf.TensorSpec((None, None, None), dtypes[part], name=input_name(key, part))
            for part in PARTS
        }
        for key in keys
    }
    return [x_spec, patches]


def _reads_the_input_time_axis(model: keras.Model) -> bool:
    """False when a recurrent layer sits in a `TimeDistributed` wrapper, whose inner layer sees
    `(batch * outer, time, ...)` rather than the input's batch and time."""
    import keras

    from experiments.export.signatures import all_layers
    from layers.tracing import holds_recurrent

    return not any(
        isinstance(layer, keras.layers.TimeDistributed) and holds_recurrent(layer)
        for layer in all_layers(model)
    )


def _checked_patch(
    key: str, patch: dict, x: tf.Tensor, units: int, check_batch_and_time: bool
) -> tuple[tf.Tensor, tf.Tensor]:
    """`(where, value)` of one trace key, once every dimension is known to be 1 or the layer's
    `(batch, time, units)` (batch and time those of `x` where `check_batch_and_time`) and every
    value to be finite; without it a bad shape fails deep in the loop as a bare broadcast."""
    import tensorflow as tf

    full = tf.stack([tf.shape(x)[0], tf.shape(x)[1], tf.constant(units)])
    checks = []
    for part in PARTS:
        shape = tf.shape(patch[part])
        fits = tf.logical_or(tf.equal(shape, 1), tf.equal(shape, full))
        if not check_batch_and_time:
            fits = tf.concat([[True, True], fits[2:]], axis=0)
        message = (
            f"intervene input `{input_name(key, part)}` must be broadcastable to layer "
            f"{key.rpartition('/')[0]!r}'s (batch, time, units) = (batch, time, {units}) of the "
            "input: each dimension 1 or that size; got shape"
        )
        checks.append(tf.debugging.Assert(tf.reduce_all(fits), [message, shape, "for", full]))
    checks.append(
        tf.debugging.assert_all_finite(
            patch["value"], message=f"intervene input `{input_name(key, 'value')}` must be finite"
        )
    )
    with tf.control_dependencies(checks):
        return tf.identity(patch["where"]), tf.identity(patch["value"])


def add_intervene_endpoint(
    archive: keras.export.ExportArchive,
    model: keras.Model,
    tracer: GateTracer,
    vocabulary: int | None,
    preprocessing: dict | None = None,
) -> None:
    """Add `intervene` (see the module docstring) to `archive`, which already tracks `model`.

    Args:
        archive: the export archive of `experiments.export.saved_model.export_saved_model`.
        model: the built model; `tracer`: its `GateTracer`.
        vocabulary: the number of token ids the model accepts, None for a feature model (as
            `serve` checks them).
        preprocessing: the run's `Task.preprocessing()`; with `"target"`, `outputs` are in the
            target's units, as `serve`'s.
    """
    from experiments.export.raw_input import in_target_units
    from experiments.export.signatures import OUTPUT_KEY, checked

    whole_input = _reads_the_input_time_axis(model)
    units = {path: cell.units for path, cell in tracer.cells.items()}

    def intervene(x, patches):
        x = checked(x, vocabulary)
        interventions = {
            key: _checked_patch(key, patch, x, units[key.rpartition("/")[0]], whole_input)
            for key, patch in patches.items()
        }
        outputs, traces = tracer.intervene(x, interventions)
        gates = {f"{p}/{key}": value for p, trace in traces.items() for key, value in trace.items()}
        return {OUTPUT_KEY: in_target_units(outputs, preprocessing), **gates}

    archive.add_endpoint(INTERVENE, intervene, input_signature=intervene_signature(model, tracer))
