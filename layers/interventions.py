"""Interventions on a whole model: `GateTracer.intervene` runs the model in inference mode with
every recurrent layer replaced by its `Recurrent.intervene`, so later layers (recurrent ones
included) see the outputs under intervention.

A functional model (or a Sequential one with a graph) is run node by node through Keras's own
graph walk (`Function._run_through_graph`) with each layer that holds a recurrent one swapped
for the call below; a Sequential model without a graph is run layer by layer, as
`Sequential.call` does. `Bidirectional` and `TimeDistributed` are re-assembled around their
intervened inner layers with Keras's maths (merge modes; rows of `batch * outer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import tensorflow as tf
from keras.src import tree
from keras.src.backend import get_keras_mask, set_keras_mask

from layers.cell import RecurrentCell
from layers.walk import holds_recurrent, is_recurrent, time_distributed


def split_interventions(
    interventions: Mapping[str, Any] | None, cells: Mapping[str, RecurrentCell]
) -> dict[str, dict[str, Any]]:
    """`{"<layer path>/<key>": (where, value)}` → `{layer path: {key: (where, value)}}`.

    Raises a `ValueError` naming the key for an unknown layer path or trace key.
    """
    if interventions is None:
        return {}
    if not isinstance(interventions, Mapping):
        raise ValueError(
            "Received an invalid value for argument `interventions`, expected a mapping "
            f'{{"<layer path>/<trace key>": (where, value)}}, got {type(interventions).__name__}.'
        )
    by_layer: dict[str, dict[str, Any]] = {}
    for key, item in interventions.items():
        path, _, gate = str(key).rpartition("/")
        if path not in cells:
            raise ValueError(
                f"Received an intervention on {key!r}, whose layer path {path!r} is no recurrent "
                f"layer of the model; expected '<layer path>/<trace key>' with a layer path among "
                f"{', '.join(map(repr, cells))}."
            )
        if gate not in cells[path].gate_names:
            raise ValueError(
                f"Received an intervention on {key!r}, but layer {path!r} traces no {gate!r}; "
                f"expected one of {', '.join(map(repr, cells[path].gate_names))}."
            )
        by_layer.setdefault(path, {})[gate] = item
    return by_layer


class ModelRun:
    """One intervened run of a model: call `model(...)`, then read `traces` and `masks`.

    Args:
        tracers: `{layer path: our Recurrent layer}` that computes each recurrent layer
            (`GateTracer`'s copies, weights already synchronised).
        patches: `{layer path: {trace key: (where, value)}}` (`split_interventions`).
    """

    def __init__(self, tracers: Mapping[str, Any], patches: Mapping[str, dict]):
        self.tracers, self.patches = tracers, patches
        self.traces: dict[str, dict[str, tf.Tensor]] = {}
        self.masks: dict[str, tf.Tensor | None] = {}

    def model(self, model: keras.Model, path: str, inputs, mask=None):
        """`model(inputs, mask=mask, training=False)` with its recurrent layers intervened."""
        prefix = f"{path}/" if path else ""
        graph = model._functional if isinstance(model, keras.Sequential) else model
        if graph is None:  # a Sequential without a graph: as `Sequential.call`
            x = inputs
            for layer in model.layers:
                kwargs = {"mask": mask} if layer._call_has_mask_arg else {}
                x = self.layer(layer, prefix + layer.name, (x,), kwargs)
                mask = get_keras_mask(x)
            return x
        inputs = graph._standardize_inputs(inputs)
        for x, x_mask in zip(inputs, tree.flatten(mask) if mask is not None else []):
            if x_mask is not None:  # as `Functional.call`
                set_keras_mask(x, x_mask)

        def operation_fn(layer):
            return lambda *args, **kwargs: self.layer(layer, prefix + layer.name, args, kwargs)

        outputs = graph._run_through_graph(inputs, operation_fn=operation_fn)
        return outputs[0] if isinstance(outputs, (list, tuple)) and len(outputs) == 1 else outputs

    def layer(self, layer: keras.layers.Layer, path: str, args: tuple, kwargs: dict):
        """`layer(*args, **kwargs)` in inference mode; intervened if it holds a recurrent layer."""
        if not holds_recurrent(layer):
            if getattr(layer, "_call_has_training_arg", False):
                kwargs = {**kwargs, "training": False}
            return layer(*args, **kwargs)
        x = args[0]
        mask = kwargs.get("mask")
        mask = get_keras_mask(x) if mask is None else mask
        if is_recurrent(layer):
            outputs = self._recurrent(path, x, mask, kwargs.get("initial_state"))
        elif isinstance(layer, keras.layers.Bidirectional):
            outputs = self._bidirectional(layer, path, x, mask, kwargs.get("initial_state"))
        elif isinstance(layer, keras.layers.TimeDistributed):
            outputs = self._time_distributed_call(layer, path, x, mask)
        else:
            return self.model(layer, path, x, mask)
        output_masks = layer.compute_mask(x, mask)
        if output_masks is not None:
            for tensor, tensor_mask in zip(tree.flatten(outputs), tree.flatten(output_masks)):
                if tensor_mask is not None:
                    set_keras_mask(tensor, tensor_mask)
        return outputs

    def _recurrent(self, path: str, x, mask, initial_state):
        """Our copy's `intervene`; a shared layer keeps the trace of its first call."""
        try:
            outputs, traces = self.tracers[path].intervene(
                x, self.patches.get(path), mask=mask, initial_state=initial_state
            )
        except ValueError as error:
            raise ValueError(f"Layer {path!r}: {error}") from error
        self.traces.setdefault(path, traces)
        self.masks.setdefault(path, mask)
        return outputs

    def _bidirectional(self, layer, path: str, x, mask, initial_state):
        """`Bidirectional.call`'s maths over the intervened forward and backward layers."""
        half = None if initial_state is None else len(initial_state) // 2
        halves = (None, None) if half is None else (initial_state[:half], initial_state[half:])
        y, y_rev = (
            self.layer(inner, f"{path}/{inner.name}", (x,), {"mask": mask, "initial_state": s})
            for inner, s in zip((layer.forward_layer, layer.backward_layer), halves)
        )
        states = ()
        if layer.return_state:
            states, y, y_rev = tuple(y[1:]) + tuple(y_rev[1:]), y[0], y_rev[0]
        if layer.return_sequences:
            y_rev = tf.reverse(y_rev, [1])
        merged = {
            "concat": lambda: tf.concat([y, y_rev], axis=-1),
            "sum": lambda: y + y_rev,
            "ave": lambda: (y + y_rev) / 2,
            "mul": lambda: y * y_rev,
            None: lambda: (y, y_rev),
        }[layer.merge_mode]()
        if not layer.return_state:
            return merged
        return (*merged, *states) if layer.merge_mode is None else (merged, *states)

    def _time_distributed_call(self, layer, path: str, x, mask):
        """The inner layer on `(batch * outer, ...)` rows, its output back to `(batch, outer,
        ...)` (Keras runs it once per outer step: the same numbers)."""
        inner = layer.layer
        call = time_distributed({"x": x, "mask": mask})
        y = self.layer(inner, f"{path}/{inner.name}", (call["x"],), {"mask": call["mask"]})
        shape = tf.concat([tf.shape(x)[:2], tf.shape(y)[1:]], axis=0)
        return tf.reshape(y, shape)
