"""Gated Recurrent Unit (Cho et al. 2014), both of Keras's variants (`reset_after`)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import activations

from layers.cell import RecurrentCell, dropped_matmul, get_activation
from layers.cudnn import CudnnRecurrent
from layers.patches import NO_PATCH
from layers.weights import add_cell_weights

GATE_INPUTS = ("all", "state_bias", "state", "bias")  # Dey & Salem 2017: GRU, GRU1, GRU2, GRU3
MGU_FORGET = "0 keeps the old state, 1 takes the candidate (and shows it the old state)"


@keras.saving.register_keras_serializable(package="gatelab")
class GRUCell(RecurrentCell):
    """One GRU step, weight-compatible with `keras.layers.GRUCell`, and its gate variants.

    Weights: `kernel (input_dim, 3 * units)`, `recurrent_kernel (units, 3 * units)`, gate blocks
    in the order z, r, h. `reset_after=True` (Keras's default, the cuDNN form): `bias (2, 3 *
    units)`, row 0 for the input, row 1 for the recurrent projection:

        z = σ(x W_z + b_z + h_tm1 U_z + b'_z)
        r = σ(x W_r + b_r + h_tm1 U_r + b'_r)
        hh = tanh(x W_h + b_h + r * (h_tm1 U_h + b'_h))
        h = z * h_tm1 + (1 - z) * hh

    `reset_after=False`: `bias (3 * units,)` and `hh = tanh(x W_h + b_h + (r * h_tm1) U_h)`.
    z → 1 keeps the old state (the Keras and PyTorch convention).

    Variants (any switch away from its default): the kernels hold only the blocks used, in the
    order gates then candidate, and the bias is one row `(blocks * units,)` added to the
    pre-activations, `hh = tanh(x W_h + b_h + r * (h_tm1 U_h))` (or `(r * h_tm1) U_h`):

    - `reset_gate=False`: r = 1 (the no-reset-gate ablation).
    - `tied_gates=True`: the minimal gated unit (Zhou et al. 2016), one gate
      f = σ(x W_f + h_tm1 U_f + b_f) as both reset (r = f) and update (h = (1 - f) * h_tm1 +
      f * hh), so f → 0 keeps the old state; traced as `"forget"`.
    - `gate_inputs` (Dey & Salem 2017): what the gates see, `"all"` (x, h_tm1, bias), `"state_bias"`
      (GRU1: h_tm1 and bias), `"state"` (GRU2: h_tm1 only), `"bias"` (GRU3: the bias only).

    Args:
        units: positive integer, size of `h`.
        activation: for the candidate (default `"tanh"`).
        recurrent_activation: for the gates z, r (default `"sigmoid"`).
        reset_after: apply the reset gate after the recurrent matmul.
        reset_gate, tied_gates, gate_inputs: the variants above.
        Other arguments as in `keras.layers.GRUCell`.
    """

    gate_count = 3
    takes_implementation = True
    gate_names = ("update", "reset", "candidate", "hidden")
    retention_gate = "update"

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        reset_after: bool = True,
        reset_gate: bool = True,
        tied_gates: bool = False,
        gate_inputs: str = "all",
        **kwargs,
    ):
        recurrent_activation_fn = get_activation("recurrent_activation", recurrent_activation)
        _check_variant(reset_gate, tied_gates, gate_inputs)
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = recurrent_activation_fn
        self.reset_after = reset_after
        self.reset_gate, self.tied_gates, self.gate_inputs = reset_gate, tied_gates, gate_inputs
        self.keras_layout = reset_gate and not tied_gates and gate_inputs == "all"
        if tied_gates:
            self.learned = ("forget",)
            self.retention_gate, self.retention_keeps_at = "forget", 0.0
            self.gate_meanings = {**self.gate_meanings, "forget": MGU_FORGET}
        else:
            self.learned = ("update", "reset") if reset_gate else ("update",)
        self.gate_names = (*self.learned, "candidate", "hidden")
        n = len(self.learned)
        self.blocks = {  # blocks of units columns: kernel, recurrent kernel, bias
            "kernel": (n if gate_inputs == "all" else 0) + 1,
            "recurrent": (n if gate_inputs != "bias" else 0) + 1,
            "bias": (n if gate_inputs != "state" else 0) + 1,
        }
        if not self.keras_layout:
            self.gate_count = self.blocks["kernel"]

    @property
    def dropout_mask_count(self) -> int | None:
        """Keras's per-gate masks with `implementation=1`; the variants draw one mask."""
        return super().dropout_mask_count if self.keras_layout else None

    def build(self, input_shape):
        if self.keras_layout:
            return super().build(input_shape)
        widths = {key: blocks * self.units for key, blocks in self.blocks.items()}
        add_cell_weights(
            self, input_shape, widths["kernel"], widths["recurrent"], (widths["bias"],)
        )

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def input_bias(self):
        if self.bias is None or not self.keras_layout:
            return None
        bias = tf.convert_to_tensor(self.bias)
        return bias[0] if self.reset_after else bias

    def recurrent_params(self):
        kernel = tf.convert_to_tensor(self.recurrent_kernel)
        units = self.units
        if not self.keras_layout:
            bias = None if self.bias is None else tf.convert_to_tensor(self.bias)
            return {"recurrent_kernel": kernel, "bias": bias}
        if self.reset_after:
            bias = None if self.bias is None else tf.convert_to_tensor(self.bias)[1]
            return {"recurrent_kernel": kernel, "recurrent_bias": bias}
        return {"kernel_zr": kernel[:, : 2 * units], "kernel_h": kernel[:, 2 * units :]}

    def step(self, x_proj, states, params, recurrent_mask=None, patch=NO_PATCH):
        if not self.keras_layout:
            return self._variant_step(x_proj, states, params, recurrent_mask, patch)
        h_tm1 = states[0]
        x_z, x_r, x_h = tf.split(x_proj, 3, axis=-1)
        if self.reset_after:
            inner = dropped_matmul(h_tm1, params["recurrent_kernel"], recurrent_mask)
            if params["recurrent_bias"] is not None:
                inner = inner + params["recurrent_bias"]
            inner_z, inner_r, inner_h = tf.split(inner, 3, axis=-1)  # (batch, units) each
            z = patch("update", self.recurrent_activation(x_z + inner_z))
            r = patch("reset", self.recurrent_activation(x_r + inner_r))
            hh = patch("candidate", self.activation(x_h + r * inner_h))
        else:
            mask_zr, mask_h = recurrent_mask, recurrent_mask
            if isinstance(recurrent_mask, list):  # one mask per gate block (implementation=1)
                mask_zr, mask_h = recurrent_mask[:2], recurrent_mask[2]
            inner = dropped_matmul(h_tm1, params["kernel_zr"], mask_zr)
            inner_z, inner_r = tf.split(inner, 2, axis=-1)
            z = patch("update", self.recurrent_activation(x_z + inner_z))
            r = patch("reset", self.recurrent_activation(x_r + inner_r))
            h_in = h_tm1 if mask_h is None else h_tm1 * mask_h
            hh = self.activation(x_h + tf.matmul(r * h_in, params["kernel_h"]))
            hh = patch("candidate", hh)
        h = patch("hidden", z * h_tm1 + (1 - z) * hh)
        return h, [h], {"update": z, "reset": r, "candidate": hh, "hidden": h}

    def _variant_step(self, x_proj, states, params, recurrent_mask, patch):
        """The step of the variants: gate pre-activations from what `gate_inputs` allows."""
        h_tm1 = states[0]
        h_in = h_tm1 if recurrent_mask is None else h_tm1 * recurrent_mask
        n, kernel = len(self.learned), params["recurrent_kernel"]
        x_parts = tf.split(x_proj, self.blocks["kernel"], axis=-1)
        pre = [tf.zeros_like(h_tm1) for _ in self.learned]  # (batch, units) each
        if self.gate_inputs == "all":
            pre = [p + x for p, x in zip(pre, x_parts[:n])]
        if params["bias"] is not None:
            bias = tf.split(params["bias"], self.blocks["bias"], axis=-1)
            x_h = x_parts[-1] + bias[-1]
            pre = [p + b for p, b in zip(pre, bias[:-1])] if len(bias) > 1 else pre
        else:
            x_h = x_parts[-1]
        gate_kernel, kernel_h = kernel[:, : -self.units], kernel[:, -self.units :]
        if self.gate_inputs != "bias":
            inner = tf.split(tf.matmul(h_in, gate_kernel), n, axis=-1)
            pre = [p + i for p, i in zip(pre, inner)]
        gates = {
            name: patch(name, self.recurrent_activation(p)) for name, p in zip(self.learned, pre)
        }
        if self.tied_gates:
            z, r = 1 - gates["forget"], gates["forget"]
        else:
            z, r = gates["update"], gates.get("reset")
        if self.reset_after:
            inner_h = tf.matmul(h_in, kernel_h)
            hh = self.activation(x_h + (inner_h if r is None else r * inner_h))
        else:
            hh = self.activation(x_h + tf.matmul(h_in if r is None else r * h_in, kernel_h))
        hh = patch("candidate", hh)
        h = patch("hidden", z * h_tm1 + (1 - z) * hh)
        return h, [h], {**gates, "candidate": hh, "hidden": h}

    def get_config(self):
        config = {
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }
        # Only the variant switches that differ from Keras's GRU: its config stays Keras's.
        variant = {"reset_gate": True, "tied_gates": False, "gate_inputs": "all"}
        variant = {k: getattr(self, k) for k, v in variant.items() if getattr(self, k) != v}
        return {**super().get_config(), **config, **variant}


def _check_variant(reset_gate: Any, tied_gates: Any, gate_inputs: Any) -> None:
    for key, value in (("reset_gate", reset_gate), ("tied_gates", tied_gates)):
        if not isinstance(value, bool):
            raise ValueError(
                f"Received an invalid value for argument `{key}`, expected True or False, "
                f"got {value!r}."
            )
    if gate_inputs not in GATE_INPUTS:
        raise ValueError(
            "Received an invalid value for argument `gate_inputs`, expected one of "
            f"{', '.join(map(repr, GATE_INPUTS))}, got {gate_inputs!r}."
        )
    if tied_gates and not reset_gate:
        raise ValueError(
            "Received an invalid combination: `tied_gates=True` (the minimal gated unit) uses "
            "its one gate as the reset gate, so it needs `reset_gate=True`, got "
            f"reset_gate={reset_gate!r}."
        )


@keras.saving.register_keras_serializable(package="gatelab")
class GRU(CudnnRecurrent):
    """GRU layer, weight-compatible with `keras.layers.GRU`, with `trace` for the gates.

    Arguments are those of `keras.layers.GRU`: the cell's as in `GRUCell`, the sequence
    layer's and `use_cudnn` as in `CudnnRecurrent`.

    Example:
    >>> gru = GRU(4)
    >>> gru(np.zeros((2, 10, 8))).shape
    (2, 4)
    >>> gru.trace(np.zeros((2, 10, 8)))["update"].shape
    TensorShape([2, 10, 4])
    """

    cell_cls = GRUCell
    cell_name = "gru_cell"
    fused_kernel = "gru"
    keras_cell_cls = keras.layers.GRUCell

    @property
    def reset_after(self) -> bool:
        return self.cell.reset_after
