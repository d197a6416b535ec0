"""Gated Recurrent Unit (Cho et al. 2014), both of Keras's variants (`reset_after`)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import activations

from layers import cudnn
from layers.base import (
    Recurrent,
    RecurrentCell,
    _get_activation,
    make_cell,
    split_layer_kwargs,
)


@keras.saving.register_keras_serializable(package="gatelab")
class GRUCell(RecurrentCell):
    """One GRU step, weight-compatible with `keras.layers.GRUCell`.

    Weights: `kernel (input_dim, 3 * units)`, `recurrent_kernel (units, 3 * units)`, gate blocks
    in the order z, r, h. `reset_after=True` (Keras's default, the cuDNN form): `bias (2, 3 *
    units)`, row 0 for the input, row 1 for the recurrent projection:

        z = σ(x W_z + b_z + h_tm1 U_z + b'_z)
        r = σ(x W_r + b_r + h_tm1 U_r + b'_r)
        hh = tanh(x W_h + b_h + r * (h_tm1 U_h + b'_h))
        h = z * h_tm1 + (1 - z) * hh

    `reset_after=False`: `bias (3 * units,)` and `hh = tanh(x W_h + b_h + (r * h_tm1) U_h)`.
    z → 1 keeps the old state (the Keras and PyTorch convention).

    Args:
        units: positive integer, size of `h`.
        activation: for the candidate (default `"tanh"`).
        recurrent_activation: for the gates z, r (default `"sigmoid"`).
        reset_after: apply the reset gate after the recurrent matmul.
        Other arguments as in `keras.layers.GRUCell`.
    """

    gate_count = 3
    takes_implementation = True
    gate_names = ("update", "reset", "candidate", "hidden")

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        reset_after: bool = True,
        **kwargs,
    ):
        recurrent_activation_fn = _get_activation("recurrent_activation", recurrent_activation)
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = recurrent_activation_fn
        self.reset_after = reset_after

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def input_bias(self):
        if self.bias is None:
            return None
        bias = tf.convert_to_tensor(self.bias)
        return bias[0] if self.reset_after else bias

    def recurrent_params(self):
        kernel = tf.convert_to_tensor(self.recurrent_kernel)
        if self.reset_after:
            bias = None if self.bias is None else tf.convert_to_tensor(self.bias)[1]
            return {"recurrent_kernel": kernel, "recurrent_bias": bias}
        units = self.units
        return {"kernel_zr": kernel[:, : 2 * units], "kernel_h": kernel[:, 2 * units :]}

    def step(self, x_proj, states, params, recurrent_mask=None):
        h_tm1 = states[0]
        h_in = h_tm1 if recurrent_mask is None else h_tm1 * recurrent_mask
        x_z, x_r, x_h = tf.split(x_proj, 3, axis=-1)
        if self.reset_after:
            inner = tf.matmul(h_in, params["recurrent_kernel"])  # (batch, 3 * units)
            if params["recurrent_bias"] is not None:
                inner = inner + params["recurrent_bias"]
            inner_z, inner_r, inner_h = tf.split(inner, 3, axis=-1)
            z = self.recurrent_activation(x_z + inner_z)
            r = self.recurrent_activation(x_r + inner_r)
            hh = self.activation(x_h + r * inner_h)
        else:
            inner_z, inner_r = tf.split(tf.matmul(h_in, params["kernel_zr"]), 2, axis=-1)
            z = self.recurrent_activation(x_z + inner_z)
            r = self.recurrent_activation(x_r + inner_r)
            hh = self.activation(x_h + tf.matmul(r * h_in, params["kernel_h"]))
        h = z * h_tm1 + (1 - z) * hh
        return h, [h], {"update": z, "reset": r, "candidate": hh, "hidden": h}

    def get_config(self):
        config = {
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="gatelab")
class GRU(Recurrent):
    """GRU layer, weight-compatible with `keras.layers.GRU`, with `trace` for the gates.

    Arguments are those of `keras.layers.GRU` (cell arguments as in `GRUCell`, plus
    `return_sequences`, `return_state`, `go_backwards`, `stateful`, `zero_output_for_mask`).

    Example:
    >>> gru = GRU(4)
    >>> gru(np.zeros((2, 10, 8))).shape
    (2, 4)
    >>> gru.trace(np.zeros((2, 10, 8)))["update"].shape
    TensorShape([2, 10, 4])
    """

    fused_kernel = "gru"
    keras_cell_cls = keras.layers.GRUCell

    def __init__(self, units: int, use_cudnn: Any = "auto", **kwargs):
        layer_kwargs, cell_kwargs = split_layer_kwargs(kwargs)
        cell = make_cell(type(self), GRUCell, units, "gru_cell", cell_kwargs)
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
    def reset_after(self) -> bool:
        return self.cell.reset_after

    def get_config(self):
        return {**super().get_config(), "use_cudnn": self.use_cudnn}
