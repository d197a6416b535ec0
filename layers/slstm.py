"""The sLSTM of xLSTM (Beck et al. 2024): exponential input gate, normaliser and stabiliser."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import activations, initializers

from layers.base import Recurrent, make_cell, split_layer_kwargs
from layers.cell import RecurrentCell, get_activation
from layers.patches import NO_PATCH


@keras.saving.register_keras_serializable(package="gatelab")
class SLSTMCell(RecurrentCell):
    """One sLSTM step. Weights as the LSTM's: `kernel (input_dim, 4 * units)`, `recurrent_kernel
    (units, 4 * units)` (one full matrix, not xLSTM's block-diagonal heads), `bias (4 * units,)`,
    blocks i, f, z, o (the forget slice starts at 1). States `[h, c, n, m]`.

        ĩ, f̃, z̃, õ = x W + h_tm1 U + b
        m = max(log σ(f̃) + m_tm1, ĩ)                       (stabiliser, log domain)
        i = exp(ĩ - m);  f = exp(log σ(f̃) + m_tm1 - m)      (both in (0, 1])
        c = f * c_tm1 + i * tanh(z̃);  n = f * n_tm1 + i    (cell, normaliser)
        h = σ(õ) * c / n                                     (0 where n underflows to 0)
        retention = 1 - i / n                                (1 where n underflows to 0)

    The forget gate is xLSTM's sigmoid option. `c / n` is a convex mix of the old `c_tm1 /
    n_tm1` (weight `f * n_tm1 / n = 1 - i / n`) and the new `tanh(z̃)`: that weight is the
    fraction of the old state kept, traced as the gate `retention` (the cell's
    `retention_gate`). At a masked step it is, as every gate, what the step computed (from its
    own `n`), while the traced states `hidden`, `cell`, `normalizer` and `stabilizer` hold the
    carried ones (so `1 - input / normalizer` of a trace is no retention there).

    Interventions (`Recurrent.intervene`) apply in the order stabilizer, input, forget,
    candidate, output, normalizer, retention, cell, hidden; an intervention on `retention`
    sets `c = n * (retention * c_tm1 / n_tm1 + (1 - retention) * tanh(z̃))` (the mix above
    with the given weight; `input` and `forget` keep their values).

    Args:
        units: positive integer, size of every state.
        activation: for the candidate (default `"tanh"`).
        recurrent_activation: for the output gate (default `"sigmoid"`).
        Other arguments as in `LSTMCell` (no `unit_forget_bias`: the forget bias starts at 1).
    """

    gate_count = 4
    gate_names = (
        "input",
        "forget",
        "candidate",
        "output",
        "cell",
        "normalizer",
        "stabilizer",
        "retention",
        "hidden",
    )
    retention_gate = "retention"
    gate_meanings = {
        **RecurrentCell.gate_meanings,
        "input": "exp(ĩ - m): 1 writes the candidate at full weight (i / n of c / n is new)",
        "forget": "1 keeps the cell and the normaliser, 0 forgets them",
        "normalizer": "the normaliser n (h = o * c / n)",
        "stabilizer": "the log-domain stabiliser m",
    }
    traced_states = ("hidden", "cell", "normalizer", "stabilizer")  # carried at masked steps

    def __init__(
        self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid", **kwargs
    ):
        recurrent_activation_fn = get_activation("recurrent_activation", recurrent_activation)
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = recurrent_activation_fn
        self.state_size = [units] * 4

    def _bias_initializer(self):
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

    def step(self, x_proj, states, params, recurrent_mask=None, patch=NO_PATCH):
        h_tm1, c_tm1, n_tm1, m_tm1 = states
        h_in = h_tm1 if recurrent_mask is None else h_tm1 * recurrent_mask
        z = x_proj + tf.matmul(h_in, params["recurrent_kernel"])  # (batch, 4 * units)
        z_i, z_f, z_z, z_o = tf.split(z, 4, axis=-1)
        log_f = tf.math.log_sigmoid(z_f)
        m = patch("stabilizer", tf.maximum(log_f + m_tm1, z_i))
        i = patch("input", tf.exp(z_i - m))
        f = patch("forget", tf.exp(log_f + m_tm1 - m))
        g = patch("candidate", self.activation(z_z))
        o = patch("output", self.recurrent_activation(z_o))
        n = patch("normalizer", f * n_tm1 + i)
        retention = patch("retention", 1 - tf.math.divide_no_nan(i, n))  # in [0, 1]: i <= n
        if "retention" in patch:  # c / n becomes the retention-weighted mix of old and new
            kept = retention * tf.math.divide_no_nan(c_tm1, n_tm1)
            c = patch("cell", n * (kept + (1 - retention) * g))
        else:
            c = patch("cell", f * c_tm1 + i * g)
        h = patch("hidden", o * tf.math.divide_no_nan(c, n))
        gates = {
            "input": i,
            "forget": f,
            "candidate": g,
            "output": o,
            "cell": c,
            "normalizer": n,
            "stabilizer": m,
            "retention": retention,
            "hidden": h,
        }
        return h, [h, c, n, m], gates

    def gate_bounds(self, name):
        if name in ("input", "forget"):  # exp(· - m) with m the larger exponent
            return (0.0, 1.0)
        return super().gate_bounds(name)

    def get_config(self):
        config = {"recurrent_activation": activations.serialize(self.recurrent_activation)}
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="gatelab")
class SLSTM(Recurrent):
    """sLSTM layer over `SLSTMCell`, with `trace`; sequence arguments as `LSTM`'s.

    Example:
    >>> SLSTM(4, return_sequences=True)(np.zeros((2, 10, 8))).shape
    (2, 10, 4)
    """

    def __init__(self, units: int, **kwargs):
        layer_kwargs, cell_kwargs = split_layer_kwargs(kwargs)
        cell = make_cell(type(self), SLSTMCell, units, "slstm_cell", cell_kwargs)
        super().__init__(cell, **layer_kwargs)
