"""The one place that builds a model from a task spec and a recurrent-layer factory."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from unittest import mock

import keras
import tensorflow as tf

from data.base import TaskSpec

INPUT_KINDS = ("tokens", "features")
OUTPUTS = ("last", "sequence")


def build_model(
    spec: TaskSpec,
    layer: Callable[..., keras.layers.Layer],
    num_layers: int,
    embedding_dim: int,
) -> keras.Model:
    """A stack of recurrent layers between the task's input and a Dense head.

    Args:
        spec: the task's spec. Token inputs `(batch, time)` int ids go through
            `Embedding(input_dim, embedding_dim, mask_zero=True)`, feature inputs
            `(batch, time, input_dim)` go in as they are (through `Masking(0.0)` when
            `spec.padded`: all-zero steps are padding); `time` is left unknown so the model
            serves any length.
        layer: makes one recurrent layer from keyword arguments (`return_sequences`, `name`),
            e.g. `functools.partial(layers.LSTM, units=64)` from `conf/model/*.yaml`.
        num_layers: recurrent layers, named by their class and place (`layer_name`:
            `lstm_0`, `lstm_1`, ..., `gru_0`, `simple_rnn_0`); all but the last return
            sequences, the last one only when `spec.output == "sequence"`.
        embedding_dim: embedding width for token inputs (ignored for features).
    Returns: a functional model whose output is `(batch, n_outputs)` for `output="last"` or
        `(batch, time, n_outputs)` for `"sequence"`: logits for classes, a value for regression.
    """
    if spec.input_kind not in INPUT_KINDS:
        raise ValueError(f"spec.input_kind={spec.input_kind!r}: expected one of {INPUT_KINDS}")
    if spec.output not in OUTPUTS:
        raise ValueError(f"spec.output={spec.output!r}: expected one of {OUTPUTS}")
    if num_layers < 1:
        raise ValueError(f"num_layers={num_layers!r}: expected an integer >= 1")

    if spec.input_kind == "tokens":
        inputs = keras.Input(shape=(None,), dtype="int32", name="tokens")
        x = keras.layers.Embedding(spec.input_dim, embedding_dim, mask_zero=True, name="embedding")(
            inputs
        )  # (batch, time, embedding_dim)
    else:
        inputs = keras.Input(shape=(None, spec.input_dim), name="features")
        x = keras.layers.Masking(0.0, name="padding")(inputs) if spec.padded else inputs
    for i in range(num_layers):
        x = stack_layer(layer, spec, i, num_layers)(x)
    outputs = keras.layers.Dense(spec.n_outputs, name="head")(x)
    return keras.Model(inputs, outputs, name=spec.name)


def stack_layer(
    layer: Callable[..., keras.layers.Layer], spec: TaskSpec, index: int, num_layers: int
) -> keras.layers.Layer:
    """Recurrent layer `index` of `build_model`'s stack, constructed (not built), named
    `layer_name(layer, index)`, returning sequences `(batch, time, units)` unless it is the last
    of an `output="last"` model (then `(batch, units)`)."""
    last = index == num_layers - 1
    return layer(
        return_sequences=not last or spec.output == "sequence", name=layer_name(layer, index)
    )


def layer_name(layer: Callable[..., keras.layers.Layer], index: int) -> str:
    """`<class in snake case>_<index>` of the layer a factory makes (`functools.partial` of a
    layer class, as `conf/model/*.yaml` give): `lstm_0` for `layers.LSTM` and Keras's LSTM,
    `gru_0`, `simple_rnn_0`, `min_gru_0`, `slstm_0`; `rnn_<index>` for any other callable. The
    explorer, TensorBoard's tags and the SavedModel's `gates` keys show this name, so an LSTM
    and a GRU of one sweep are told apart by it."""
    factory = layer
    while isinstance(factory, functools.partial):
        factory = factory.func
    if not isinstance(factory, type):
        return f"rnn_{index}"
    words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", factory.__name__)  # SimpleRNN → Simple_RNN
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", words).lower() + f"_{index}"


@contextlib.contextmanager
def unstarted_runtime() -> Iterator[None]:
    """Construct Keras layers without starting TensorFlow's runtime: its thread counts can
    only be set before it starts (`experiments.pipeline.run.start_session`), and on a GPU it
    reserves the memory.

    Inside, variables (a cell's seed generator) are graph variables, and the cuDNN check asks
    whether a GPU exists instead of listing the runtime's devices.
    """
    with (
        tf.Graph().as_default(),
        mock.patch.object(tf.config, "list_logical_devices", tf.config.list_physical_devices),
    ):
        yield


def check_layers(layer: Callable[..., keras.layers.Layer], spec: TaskSpec, num_layers: int) -> None:
    """Construct the first and last layers of `build_model`'s stack (the others differ from
    these only by name) without building them or starting TensorFlow's runtime.

    Raises:
        ValueError, TypeError: whatever the layer's constructor raises for its arguments.
    """
    with unstarted_runtime():
        for index in sorted({0, num_layers - 1}):
            stack_layer(layer, spec, index, num_layers)
