"""Long Short-Term Memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers 2000)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import activations, initializers

from layers import cudnn
from layers.base import (
    Recurrent,
    RecurrentCell,
    _get_activation,
    make_cell,
    split_layer_kwargs,
)


@keras.saving.register_keras_serializable(package="gatelab")
class LSTMCell(RecurrentCell):
    """One LSTM step, weight-compatible with `keras.layers.LSTMCell`.

    Weights: `kernel (input_dim, 4 * units)`, `recurrent_kernel (units, 4 * units)`,
    `bias (4 * units,)`, gate blocks in the order i, f, c, o. States `[h, c]`.

        z = x W + h_tm1 U + b
        i = σ(z_i); f = σ(z_f); o = σ(z_o); g = tanh(z_c)
        c = f * c_tm1 + i * g
        h = o * tanh(c)

    Args:
        units: positive integer, size of `h` and `c`.
        activation: for the candidate and the cell output (default `"tanh"`).
        recurrent_activation: for the gates i, f, o (default `"sigmoid"`).
        unit_forget_bias: initialise the forget slice of the bias to exactly 1.
        Other arguments as in `keras.layers.LSTMCell`.

    Example:
    >>> rnn = keras.layers.RNN(LSTMCell(4))
    >>> rnn(np.zeros((2, 10, 8))).shape
    (2, 4)
    """

    gate_count = 4
    takes_implementation = True
    gate_names = ("input", "forget", "candidate", "output", "cell", "hidden")

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        unit_forget_bias: bool = True,
        **kwargs,
    ):
        recurrent_activation_fn = _get_activation("recurrent_activation", recurrent_activation)
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = recurrent_activation_fn
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def bias_initializer(_, *args, **kwargs):
            return tf.concat(
                [
                    base((units,), *args, **kwargs),
                    initializers.get("ones")((units,), *args, **kwargs),
                    base((units * 2,), *args, **kwargs),
                ],
                axis=0,
            )

        return bias_initializer

    def step(self, x_proj, states, params, recurrent_mask=None):
        h_tm1, c_tm1 = states
        h_in = h_tm1 if recurrent_mask is None else h_tm1 * recurrent_mask
        z = x_proj + tf.matmul(h_in, params["recurrent_kernel"])  # (batch, 4 * units)
        z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        g = self.activation(z_c)
        o = self.recurrent_activation(z_o)
        c = f * c_tm1 + i * g
        h = o * self.activation(c)
        gates = {"input": i, "forget": f, "candidate": g, "output": o, "cell": c, "hidden": h}
        return h, [h, c], gates

    def get_config(self):
        config = {
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="gatelab")
class LSTM(Recurrent):
    """LSTM layer, weight-compatible with `keras.layers.LSTM`, with `trace` for the gates.

    Arguments are those of `keras.layers.LSTM` (cell arguments as in `LSTMCell`, plus
    `return_sequences`, `return_state`, `go_backwards`, `stateful`, `zero_output_for_mask`).

    Example:
    >>> lstm = LSTM(4, return_sequences=True)
    >>> lstm(np.zeros((2, 10, 8))).shape
    (2, 10, 4)
    >>> sorted(lstm.trace(np.zeros((2, 10, 8))))
    ['candidate', 'cell', 'forget', 'hidden', 'input', 'output']
    """

    fused_kernel = "lstm"
    keras_cell_cls = keras.layers.LSTMCell

    def __init__(self, units: int, use_cudnn: Any = "auto", **kwargs):
        layer_kwargs, cell_kwargs = split_layer_kwargs(kwargs)
        cell = make_cell(type(self), LSTMCell, units, "lstm_cell", cell_kwargs)
        super().__init__(cell, **layer_kwargs)
        self.use_cudnn = cudnn.check_use_cudnn(use_cudnn)
        if cudnn.may_use_cudnn(self):  # as Keras's layer: cuDNN cannot be compiled by XLA
            self.supports_jit = False

    def _fused_call(self, sequences, states, mask, training):
        return cudnn.fused_call(self, sequences, states, mask, training)

    @property
    def recurrent_activation(self):
        return self.cell.recurrent_activation

    @property
    def unit_forget_bias(self) -> bool:
        return self.cell.unit_forget_bias

    def get_config(self):
        return {**super().get_config(), "use_cudnn": self.use_cudnn}
