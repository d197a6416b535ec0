"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): gates from the input only.

Neither gate nor candidate sees `h_tm1`, so the recurrence is linear in the state,
`h_t = a_t * h_tm1 + b_t`, and `MinGRU` / `MinLSTM` train with the parallel scan of
`layers.scan` instead of a loop over time. The cells still do one step at a time for `trace` and
for `keras.layers.RNN(cell)`; both ways compute the same `a_t` and `b_t` (`coefficients`).
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import activations, constraints, initializers, regularizers
from keras.initializers import Orthogonal

from layers.base import make_cell, split_layer_kwargs
from layers.cell import RecurrentCell, get_activation
from layers.patches import NO_PATCH, Patch
from layers.scan import ScanRecurrent
from layers.weights import add_cell_weights


class MinimalCell(RecurrentCell):
    """What minGRU and minLSTM share: `kernel (input_dim, blocks * units)`, `bias (blocks *
    units,)`, no recurrent kernel, and `h = a * h_tm1 + b` with `(a, b)` from `coefficients`.

    Args:
        units: positive integer, size of `h`.
        recurrent_activation: for the gates (default `"sigmoid"`): a Keras activation named in
            `gate_activations` (others take the gates out of their range: NaN or growing
            states) or a callable of your own.
        Other arguments as in `RecurrentCell` (`kernel_*`, `bias_*`, `use_bias`, `dropout`,
        `seed`). With no recurrent kernel, `recurrent_dropout`, `recurrent_initializer`,
        `recurrent_regularizer` and `recurrent_constraint` would do nothing: only their
        defaults are accepted (0, orthogonal, None, None), and `activation` only None (the
        candidate is linear).
    """

    # The Keras activations that keep the gates in their range, and what that range is.
    gate_activations: tuple[str, ...] = ("sigmoid",)
    gate_range: str = "its gates must lie in [0, 1]"

    def __init__(self, units: int, recurrent_activation: Any = "sigmoid", **kwargs):
        recurrent_activation_fn = get_activation("recurrent_activation", recurrent_activation)
        name = _keras_activation_name(recurrent_activation_fn)
        if name is not None and name not in self.gate_activations:
            raise ValueError(
                f"Received an invalid value for argument `recurrent_activation`, expected one of "
                f"{self.gate_activations} for {type(self).__name__} ({self.gate_range}) or a "
                f"callable of your own, got {recurrent_activation!r}."
            )
        _check_no_recurrent_kernel(type(self).__name__, kwargs)
        activation = kwargs.pop("activation", None)
        if get_activation("activation", activation) is not activations.linear:
            raise ValueError(
                f"Received an invalid value for argument `activation`, expected None: the "
                f"candidate of {type(self).__name__} is linear, got {activation!r}."
            )
        super().__init__(units, activation=None, **kwargs)
        self.recurrent_activation = recurrent_activation_fn

    def build(self, input_shape):
        width = self.gate_count * self.units
        add_cell_weights(self, input_shape, width, 0, (width,))

    def recurrent_params(self) -> dict[str, tf.Tensor]:
        return {}

    def project_sequence(self, inputs: tf.Tensor) -> list[tf.Tensor]:
        """`x W_k + b_k` of every block for a whole sequence: `(time, batch, features)` →
        `gate_count` tensors `(time, batch, units)`, one matmul each (no split to copy)."""
        kernel, bias = self.input_params()
        flat = tf.reshape(inputs, [-1, tf.shape(inputs)[-1]])
        shape = tf.concat([tf.shape(inputs)[:-1], [self.units]], axis=0)
        blocks = []
        for k in range(self.gate_count):
            columns = slice(k * self.units, (k + 1) * self.units)
            block = tf.matmul(flat, kernel[:, columns])
            block = block if bias is None else tf.nn.bias_add(block, bias[columns])
            blocks.append(tf.reshape(block, shape))
        return blocks

    def coefficients(
        self, blocks: list[tf.Tensor], patch: Patch = NO_PATCH
    ) -> tuple[tf.Tensor, tf.Tensor, dict]:
        """The blocks of `x W + b`, each `(..., units)` → `(a, b, gates)`, each `(..., units)`,
        with the gates `patch`ed (interventions run the step, not the scan)."""
        raise NotImplementedError

    def step(self, x_proj, states, params, recurrent_mask=None, patch=NO_PATCH):
        a, b, gates = self.coefficients(tf.split(x_proj, self.gate_count, axis=-1), patch)
        h = patch("hidden", a * states[0] + b)
        return h, [h], {**gates, "hidden": h}

    def get_config(self):
        config = super().get_config()
        for key in ("activation", *_RECURRENT_KERNEL_ARGS):
            config.pop(key)
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        return config


# The arguments about a recurrent kernel, whether a value is the default (the only one
# accepted without a recurrent kernel; earlier saved configs hold the defaults) and that default.
_RECURRENT_KERNEL_ARGS = {
    "recurrent_dropout": (lambda value: not value, "0"),
    "recurrent_initializer": (
        lambda value: isinstance(initializers.get(value), Orthogonal),
        "'orthogonal'",
    ),
    "recurrent_regularizer": (lambda value: regularizers.get(value) is None, "None"),
    "recurrent_constraint": (lambda value: constraints.get(value) is None, "None"),
}


def _keras_activation_name(function: Any) -> str | None:
    """The name of one of Keras's own activations, or None for a function of the user's."""
    name = getattr(function, "__name__", None)
    try:
        return name if activations.get(name) is function else None
    except ValueError:  # not a name Keras knows
        return None


def _check_no_recurrent_kernel(cell: str, kwargs: dict) -> None:
    """Refuse a recurrent-kernel argument other than its default (`_RECURRENT_KERNEL_ARGS`)."""
    for key, (is_default, default) in _RECURRENT_KERNEL_ARGS.items():
        if key in kwargs and not is_default(kwargs[key]):
            raise ValueError(
                f"Received an invalid value for argument `{key}`, expected {default} (the "
                f"default) for {cell} (it has no recurrent kernel: its gates do not read h_tm1), "
                f"got {kwargs[key]!r}."
            )


@keras.saving.register_keras_serializable(package="gatelab")
class MinGRUCell(MinimalCell):
    """One minGRU step. Blocks z, h of `kernel (input_dim, 2 * units)` and `bias (2 * units,)`:

        z = σ(x W_z + b_z);  hh = x W_h + b_h
        h = (1 - z) * h_tm1 + z * hh

    z → 0 keeps the old state (the paper's convention, the opposite of Keras's GRU).
    """

    gate_count = 2
    gate_activations = ("sigmoid", "hard_sigmoid")
    gate_range = "its update gate must lie in [0, 1]"
    gate_names = ("update", "candidate", "hidden")
    retention_gate, retention_keeps_at = "update", 0.0
    gate_meanings = {
        **MinimalCell.gate_meanings,
        "update": "0 keeps the old state, 1 takes the candidate",
    }

    def coefficients(self, blocks, patch=NO_PATCH):
        x_z, hh = blocks
        z = patch("update", self.recurrent_activation(x_z))
        hh = patch("candidate", hh)
        return 1 - z, z * hh, {"update": z, "candidate": hh}


@keras.saving.register_keras_serializable(package="gatelab")
class MinLSTMCell(MinimalCell):
    """One minLSTM step. Blocks i, f, h of `kernel (input_dim, 3 * units)`, `bias (3 * units,)`:

        i = σ(x W_i + b_i);  f = σ(x W_f + b_f);  hh = x W_h + b_h
        h = f / (f + i) * h_tm1 + i / (f + i) * hh

    No output gate and no separate cell. Retention is the normalised forget gate f / (f + i).
    With the sigmoid, f / (f + i) = σ(log σ(x W_f + b_f) - log σ(x W_i + b_i)) (the paper's
    log-space form): finite where both gates underflow to 0 (pre-activations below about -88 in
    float32, -17 in float16), where the quotient would be 0 / 0. Under an intervention on `input`
    or `forget` the quotient is computed as written (NaN where both are set to 0).
    """

    gate_count = 3
    gate_range = "f / (f + i) needs f + i > 0 at every step: the sigmoid's log-space form"
    gate_names = ("input", "forget", "candidate", "hidden")
    retention_gate = "forget"
    gate_meanings = {
        **MinimalCell.gate_meanings,
        "input": "relative to the forget gate: i / (f + i) of h is the candidate",
        "forget": "relative to the input gate: f / (f + i) of the old state is kept",
    }

    def coefficients(self, blocks, patch=NO_PATCH):
        x_i, x_f, hh = blocks
        i, f = self.recurrent_activation(x_i), self.recurrent_activation(x_f)
        i, f, hh = patch("input", i), patch("forget", f), patch("candidate", hh)
        patched = "input" in patch or "forget" in patch  # the log-space form reads x W
        if self.recurrent_activation is activations.sigmoid and not patched:
            log_ratio = tf.math.log_sigmoid(x_f) - tf.math.log_sigmoid(x_i)  # log(f / i)
            f_share, i_share = tf.sigmoid(log_ratio), tf.sigmoid(-log_ratio)
        else:
            f_share, i_share = f / (f + i), i / (f + i)
        return f_share, i_share * hh, {"input": i, "forget": f, "candidate": hh}

    def retention(self, gates):
        return gates["forget"] / (gates["forget"] + gates["input"])


@keras.saving.register_keras_serializable(package="gatelab")
class MinGRU(ScanRecurrent):
    """minGRU layer, trained with the parallel scan; arguments as `LSTM`'s sequence arguments
    plus the cell's (`MinGRUCell`).

    Example:
    >>> layer = MinGRU(4, return_sequences=True)
    >>> layer(np.zeros((2, 10, 8))).shape
    (2, 10, 4)
    """

    def __init__(self, units: int, **kwargs):
        layer_kwargs, cell_kwargs = split_layer_kwargs(kwargs)
        cell = make_cell(type(self), MinGRUCell, units, "min_gru_cell", cell_kwargs)
        super().__init__(cell, **layer_kwargs)


@keras.saving.register_keras_serializable(package="gatelab")
class MinLSTM(ScanRecurrent):
    """minLSTM layer, trained with the parallel scan (cell: `MinLSTMCell`).

    Example:
    >>> MinLSTM(4).trace(np.zeros((2, 10, 8)))["forget"].shape
    TensorShape([2, 10, 4])
    """

    def __init__(self, units: int, **kwargs):
        layer_kwargs, cell_kwargs = split_layer_kwargs(kwargs)
        cell = make_cell(type(self), MinLSTMCell, units, "min_lstm_cell", cell_kwargs)
        super().__init__(cell, **layer_kwargs)
