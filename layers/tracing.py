"""Gate tracing for whole models, Keras's built-in recurrent layers included."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras.src.backend import get_keras_mask

from layers.base import Recurrent
from layers.gru import GRU
from layers.lstm import LSTM
from layers.rnn import SimpleRNN

# Keras's built-in layer → ours with the same weights and maths.
_EQUIVALENT = {keras.layers.SimpleRNN: SimpleRNN, keras.layers.LSTM: LSTM, keras.layers.GRU: GRU}


def to_gatelab(layer: keras.layers.Layer) -> Recurrent:
    """Our equivalent of a built `keras.layers.SimpleRNN` / `LSTM` / `GRU`, with its weights
    (and, for a stateful layer, its batch size and current states).

    Layers that are already ours are returned as they are.
    """
    if isinstance(layer, Recurrent):
        return layer
    ours = _EQUIVALENT.get(type(layer))
    if ours is None:
        allowed = ", ".join(cls.__name__ for cls in _EQUIVALENT)
        raise ValueError(
            f"Received an invalid value for argument `layer`, expected a Keras {allowed} layer "
            f"or one of gatelab's, got {type(layer).__name__}."
        )
    if not layer.built:
        raise ValueError(f"Layer `{layer.name}` must be built before it can be converted.")
    clone = ours.from_config({**layer.get_config(), "name": f"{layer.name}_traced"})
    batch = layer.states[0].shape[0] if layer.stateful else None
    clone.build((batch, None, layer.cell.kernel.shape[0]))
    clone.set_weights(layer.get_weights())
    _copy_states(layer, clone)
    return clone


def _copy_states(source: keras.layers.Layer, target: Recurrent) -> None:
    """A stateful layer's carried states, `(batch, units)` each, from `source` into `target`."""
    if source.stateful:
        for variable, value in zip(target.states, source.states, strict=True):
            variable.assign(value)


def from_keras(model: keras.Model) -> keras.Model:
    """A copy of `model` in which every Keras SimpleRNN / LSTM / GRU (also inside
    `Bidirectional`) is ours, with the same name, configuration and weights.

    Keras resolves its own layers before `custom_objects`, so
    `load_model(path, custom_objects={"LSTM": LSTM})` still gives Keras's layer; this swaps
    them after loading: `from_keras(keras.saving.load_model(path))`. The copy is not compiled.
    Sequential and functional models, nested ones too (Keras's `clone_model`); other layers are
    cloned as they are.
    """

    def ours(layer: keras.layers.Layer) -> keras.layers.Layer:
        return _EQUIVALENT[type(layer)].from_config(layer.get_config())

    def swap(layer: keras.layers.Layer) -> keras.layers.Layer:
        if type(layer) in _EQUIVALENT:
            return ours(layer)
        wrapped = getattr(layer, "forward_layer", None)  # Bidirectional's
        if isinstance(layer, keras.layers.Bidirectional) and type(wrapped) in _EQUIVALENT:
            return keras.layers.Bidirectional(
                ours(layer.forward_layer),
                backward_layer=ours(layer.backward_layer),
                merge_mode=layer.merge_mode,
                name=layer.name,
            )
        return layer.__class__.from_config(layer.get_config())

    clone = keras.models.clone_model(model, clone_function=swap, recursive=True)
    clone.set_weights(model.get_weights())
    return clone


def is_recurrent(layer: keras.layers.Layer) -> bool:
    """Whether `layer` is one of ours or a Keras built-in SimpleRNN / LSTM / GRU."""
    return isinstance(layer, Recurrent) or type(layer) in _EQUIVALENT


class GateTracer:
    """Traces every recurrent layer of a model on the same inputs.

    Works on models made of our layers and on models made of Keras's built-ins (whose weights
    are copied into an equivalent of ours at every call, so the trace follows training).
    Usable eagerly and inside `tf.function`.

    Example:
    >>> tracer = GateTracer(model)
    >>> gates = tracer(x)            # {layer_name: {gate_name: (batch, time, units)}}
    >>> gates["rnn_0"]["forget"].shape
    """

    def __init__(self, model: keras.Model):
        self.layers = [layer for layer in model.layers if is_recurrent(layer)]
        if not self.layers:
            raise ValueError(
                f"Model `{model.name}` has no recurrent layer to trace; expected gatelab's or "
                "Keras's SimpleRNN, LSTM or GRU."
            )
        model_inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        # A layer called with a mask lists it as its second input: (sequences, mask).
        self._layer_inputs = keras.Model(model_inputs, [layer.input for layer in self.layers])
        self._tracers = [to_gatelab(layer) for layer in self.layers]
        # Layer name → the cell that computes its trace (ours, also for Keras's built-ins).
        self.cells = {layer.name: t.cell for layer, t in zip(self.layers, self._tracers)}

    def _sync(self) -> None:
        for layer, tracer in zip(self.layers, self._tracers):
            if tracer is not layer:
                for source, target in zip(layer.weights, tracer.weights):
                    target.assign(source)
                _copy_states(layer, tracer)  # a stateful layer's trace starts where it stands

    def retention(self, traces: dict[str, dict]) -> dict[str, tf.Tensor | None]:
        """`{layer name: (batch, time, units) retention or None}` of a `__call__` result: the
        fraction of the old state each step keeps (`RecurrentCell.retention`; None: no gate)."""
        return {name: cell.retention(traces[name]) for name, cell in self.cells.items()}

    def __call__(self, inputs) -> dict[str, dict[str, tf.Tensor]]:
        """`inputs` as the model takes them → `{layer name: {gate: (batch, time, units)}}`."""
        self._sync()
        layer_inputs = self._layer_inputs(inputs)
        if len(self.layers) == 1:
            layer_inputs = [layer_inputs]
        traces = {}
        for layer, tracer, x in zip(self.layers, self._tracers, layer_inputs):
            x, mask = (x[0], x[1]) if isinstance(x, (list, tuple)) else (x, get_keras_mask(x))
            traces[layer.name] = tracer.trace(x, mask=mask)
        return traces
