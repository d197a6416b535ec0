"""cuDNN's fused LSTM and GRU kernels, taken exactly where Keras's built-in layers take them.

Keras's `LSTM`/`GRU` call `keras.src.backend.lstm` / `gru`, which run cuDNN and raise
`NotImplementedError` where it cannot be used (no GPU, an activation other than tanh/sigmoid, no
bias, `unroll`, GRU `reset_after=False`, or an op that cannot be placed); the layer then runs its
loop, or raises with `use_cudnn=True`. Ours call the same functions under the same conditions,
so on a GPU `call` runs the same kernel with the same numbers; `trace` always runs our loop.
"""

from __future__ import annotations

import functools
from typing import Any

import keras
import tensorflow as tf
from keras.src import backend

from layers.base import Recurrent, make_cell, split_layer_kwargs

USE_CUDNN_VALUES = ("auto", True, False)
# Keras's words (keras/src/layers/rnn/lstm.py), so that both layers fail alike.
NOT_SUPPORTED = (
    "use_cudnn=True was specified, but cuDNN is not supported for this layer configuration "
    "with this backend. Pass use_cudnn='auto' to fallback to a non-cuDNN implementation."
)


def check_use_cudnn(value: Any) -> Any:
    """`value` if it is one of "auto", True, False (Keras's check), else a `ValueError`."""
    if value not in USE_CUDNN_VALUES:
        raise ValueError(
            "Received an invalid value for argument `use_cudnn`, expected one of "
            f"{{'auto', True, False}}, got use_cudnn={value!r}."
        )
    return value


@functools.cache
def _keras_config_keys(keras_cell_cls: type) -> frozenset[str]:
    return frozenset(keras_cell_cls(1).get_config()) | {"implementation"}


def computes_keras_cell(cell: keras.layers.Layer, keras_cell_cls: type) -> bool:
    """Whether `cell` computes Keras's cell: no option of its config beyond Keras's (no variant).

    Variant switches appear in a cell's config only when set away from Keras's maths.
    """
    return set(cell.get_config()) <= _keras_config_keys(keras_cell_cls)


def may_use_cudnn(layer) -> bool:
    """Keras's `cudnn_ok` for `layer`'s arguments and this machine (a GPU is visible)."""
    cell = layer.cell
    reset_after = getattr(cell, "reset_after", None)
    return bool(
        layer.use_cudnn in ("auto", True)
        and layer.fused_kernel is not None
        and computes_keras_cell(cell, layer.keras_cell_cls)
        and backend.cudnn_ok(
            cell.activation, cell.recurrent_activation, layer.unroll, cell.use_bias, reset_after
        )
    )


class CudnnRecurrent(Recurrent):
    """A sequence layer (LSTM, GRU) whose `call` takes cuDNN's kernel where Keras's layer would.

    Subclasses set `cell_cls`, `cell_name`, `fused_kernel` ("lstm" or "gru") and
    `keras_cell_cls` (Keras's cell whose maths cuDNN computes).

    Args:
        units: positive integer, size of the state.
        use_cudnn: "auto" (cuDNN where it applies), True (cuDNN or Keras's `ValueError`), False
            (always the loop). `trace` always runs the loop.
        **kwargs: the cell's (with Keras's `implementation`, accepted and saved) and the
            sequence layer's (`return_sequences`, `return_state`, `go_backwards`, `stateful`,
            `unroll`, `zero_output_for_mask`, see `Recurrent`).
    """

    cell_cls: type
    cell_name: str
    fused_kernel: str
    keras_cell_cls: type

    def __init__(self, units: int, use_cudnn: Any = "auto", **kwargs):
        layer_kwargs, cell_kwargs = split_layer_kwargs(kwargs)
        cell = make_cell(type(self), self.cell_cls, units, self.cell_name, cell_kwargs)
        super().__init__(cell, **layer_kwargs)
        self.use_cudnn = check_use_cudnn(use_cudnn)
        if may_use_cudnn(self):  # as Keras's layer: cuDNN cannot be compiled by XLA
            self.supports_jit = False

    def _dropout_masks(self, sequences, states, training):
        masks = super()._dropout_masks(sequences, states, training)
        # One input mask per gate (implementation=1) runs in the loop only, without asking
        # cuDNN: as Keras's layer, which never takes cuDNN with recurrent dropout.
        if self.use_cudnn is True and isinstance(masks[0], list):
            raise ValueError(NOT_SUPPORTED)
        return masks

    def _fused_call(self, sequences, states, mask):
        return fused_call(self, sequences, states, mask)

    @property
    def recurrent_activation(self):
        return self.cell.recurrent_activation

    def get_config(self):
        return {**super().get_config(), "use_cudnn": self.use_cudnn}


def fused_call(layer, sequences, states, mask):
    """`(output, final_states)` from cuDNN, or None where Keras's layer would run its loop.

    Follows `keras.layers.LSTM.inner_loop`: only without recurrent dropout, input dropout
    (already applied to `sequences (batch, time, features)` by `call`, so a fallback to the loop
    uses the same mask), `NotImplementedError` from the backend means "use the loop", and
    `use_cudnn=True` raises Keras's `ValueError` where cuDNN cannot be used.
    """
    if may_use_cudnn(layer) and not layer.cell.recurrent_dropout:
        try:
            last_output, outputs, final_states = _run_kernel(layer, sequences, states, mask)
        except NotImplementedError:
            pass
        else:
            layer.supports_jit = False
            output = outputs if layer.return_sequences else last_output
            return output, [tf.cast(s, layer.compute_dtype) for s in final_states]
    if layer.use_cudnn is True:
        raise ValueError(NOT_SUPPORTED)
    return None


def _run_kernel(layer, sequences, states, mask):
    cell = layer.cell
    common = {
        "kernel": cell.kernel,
        "recurrent_kernel": cell.recurrent_kernel,
        "bias": cell.bias,
        "activation": cell.activation,
        "recurrent_activation": cell.recurrent_activation,
        "return_sequences": layer.return_sequences,
        "go_backwards": layer.go_backwards,
        "unroll": layer.unroll,
    }
    if layer.fused_kernel == "lstm":
        return backend.lstm(sequences, states[0], states[1], mask, **common)
    return backend.gru(sequences, states[0], mask, reset_after=cell.reset_after, **common)
