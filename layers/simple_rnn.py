"""The plain (Elman, tanh) recurrent network the gated cells are compared with."""

from __future__ import annotations

import keras

from layers.base import Recurrent, make_cell, split_layer_kwargs
from layers.cell import RecurrentCell, activation_range, dropped_matmul
from layers.patches import NO_PATCH


@keras.saving.register_keras_serializable(package="gatelab")
class SimpleRNNCell(RecurrentCell):
    """One plain RNN step, weight-compatible with `keras.layers.SimpleRNNCell`.

    Weights: `kernel (input_dim, units)`, `recurrent_kernel (units, units)`, `bias (units,)`.

        h = tanh(x W + h_tm1 U + b)

    Args: as `keras.layers.SimpleRNNCell` (`units`, `activation`, initializers, regularizers,
    constraints, `dropout`, `recurrent_dropout`, `seed`).
    """

    gate_count = 1
    gate_names = ("hidden",)

    def step(self, x_proj, states, params, recurrent_mask=None, patch=NO_PATCH):
        h_tm1 = states[0]
        h = self.activation(
            x_proj + dropped_matmul(h_tm1, params["recurrent_kernel"], recurrent_mask)
        )
        h = patch("hidden", h)
        return h, [h], {"hidden": h}

    def gate_bounds(self, name):
        return activation_range(self.activation)  # its one key, `hidden`


@keras.saving.register_keras_serializable(package="gatelab")
class SimpleRNN(Recurrent):
    """Plain RNN layer, weight-compatible with `keras.layers.SimpleRNN`, with `trace`.

    Example:
    >>> rnn = SimpleRNN(4, return_sequences=True)
    >>> rnn(np.zeros((2, 10, 8))).shape
    (2, 10, 4)
    """

    def __init__(self, units: int, **kwargs):
        layer_kwargs, cell_kwargs = split_layer_kwargs(kwargs)
        cell = make_cell(type(self), SimpleRNNCell, units, "simple_rnn_cell", cell_kwargs)
        super().__init__(cell, **layer_kwargs)
