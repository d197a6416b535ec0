"""How a Keras model holds its recurrent layers: which layers are recurrent (ours or Keras's
built-ins), which containers hold one (`Bidirectional`, `TimeDistributed`, a nested model), and
how `TimeDistributed` folds its outer axis into the batch. Shared by the tracer and the
interventions."""

from __future__ import annotations

import keras
import tensorflow as tf

from layers.base import Recurrent
from layers.gru import GRU
from layers.lstm import LSTM
from layers.simple_rnn import SimpleRNN

EQUIVALENT = {keras.layers.SimpleRNN: SimpleRNN, keras.layers.LSTM: LSTM, keras.layers.GRU: GRU}


def is_recurrent(layer: keras.layers.Layer) -> bool:
    """Whether `layer` is one of ours or a Keras built-in SimpleRNN / LSTM / GRU."""
    return isinstance(layer, Recurrent) or type(layer) in EQUIVALENT


def inner_layers(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The layers a container runs: a model's layers, a wrapper's wrapped layer(s), else []."""
    if isinstance(layer, keras.layers.Bidirectional):
        return [layer.forward_layer, layer.backward_layer]
    if isinstance(layer, keras.layers.TimeDistributed):
        return [layer.layer]
    if isinstance(layer, keras.Model):
        return list(layer.layers)
    return []


def holds_recurrent(layer: keras.layers.Layer) -> bool:
    """Whether `layer` is recurrent or holds one in `Bidirectional`, `TimeDistributed` or a
    sub-model, at any depth."""
    return is_recurrent(layer) or any(holds_recurrent(inner) for inner in inner_layers(layer))


def time_distributed(call: dict) -> dict:
    """`TimeDistributed`'s inner call: `(batch, outer, ...)` → `(batch * outer, ...)`, rows in
    order (row `b * outer + j` is step j of example b); a `(batch, outer, time)` mask alike."""

    def merge(value):
        rest = [tf.shape(value)[i] if d is None else d for i, d in enumerate(value.shape) if i > 1]
        return tf.reshape(value, [-1, *rest])

    mask = call.get("mask")
    has_time = mask is not None and len(mask.shape) == len(call["x"].shape) - 1
    return {"x": merge(call["x"]), "mask": merge(mask) if has_time else None}
