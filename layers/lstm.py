"""Long Short-Term Memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers 2000)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import activations, initializers

from layers.cell import RecurrentCell, dropped_matmul, get_activation
from layers.cudnn import CudnnRecurrent
from layers.patches import NO_PATCH, Patch

# The ablations of Greff et al. 2017 as switches; their defaults give Keras's LSTM.
VARIANT_DEFAULTS = {
    "peephole": False,
    "input_gate": True,
    "forget_gate": True,
    "output_gate": True,
    "input_activation": True,
    "output_activation": True,
    "coupled_gates": False,
    "full_gate_recurrence": False,
}
BLOCK_GATES = {"i": "input", "f": "forget", "o": "output"}


@keras.saving.register_keras_serializable(package="gatelab")
class LSTMCell(RecurrentCell):
    """One LSTM step, weight-compatible with `keras.layers.LSTMCell`, with Greff et al.'s ablations.

    Weights: `kernel (input_dim, 4 * units)`, `recurrent_kernel (units, 4 * units)`,
    `bias (4 * units,)`, gate blocks in the order i, f, c, o. States `[h, c]`.

        z = x W + h_tm1 U + b
        i = σ(z_i); f = σ(z_f); o = σ(z_o); g = tanh(z_c)
        c = f * c_tm1 + i * g
        h = o * tanh(c)

    The variant switches ("LSTM: A Search Space Odyssey", Greff et al. 2017) each change one
    thing of the LSTM above (not of Greff's peephole "vanilla"); a gate that is taken away takes
    its block of the kernels and bias with it (blocks keep the order i, f, c, o):

    - `peephole=True`: i = σ(z_i + p_i * c_tm1), f = σ(z_f + p_f * c_tm1), o = σ(z_o + p_o * c),
      with `peephole_kernel (learned gates, units)` (rows in the order i, f, o; starts at 0).
    - `input_gate=False` (NIG): i = 1. `forget_gate=False` (NFG, the 1997 LSTM): f = 1.
      `output_gate=False` (NOG): o = 1.
    - `input_activation=False` (NIAF): g = z_c. `output_activation=False` (NOAF): h = o * c.
    - `coupled_gates=True` (CIFG): f = 1 - i, no forget block.
    - `full_gate_recurrence=True` (FGR): the learned gates also receive the previous step's
      learned gates through `gate_recurrent_kernel (n * units, n * units)`; the previous gates
      are carried as extra states, `[h, c, i_tm1, f_tm1, o_tm1]`.

    Args:
        units: positive integer, size of `h` and `c`.
        activation: for the candidate and the cell output (default `"tanh"`).
        recurrent_activation: for the gates i, f, o (default `"sigmoid"`).
        unit_forget_bias: initialise the forget slice of the bias to exactly 1.
        peephole, input_gate, forget_gate, output_gate, input_activation, output_activation,
            coupled_gates, full_gate_recurrence: the variant switches above.
        Other arguments as in `keras.layers.LSTMCell`.

    Example:
    >>> rnn = keras.layers.RNN(LSTMCell(4))
    >>> rnn(np.zeros((2, 10, 8))).shape
    (2, 4)
    """

    gate_count = 4
    takes_implementation = True
    gate_names = ("input", "forget", "candidate", "output", "cell", "hidden")
    retention_gate = "forget"

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        unit_forget_bias: bool = True,
        **kwargs,
    ):
        recurrent_activation_fn = get_activation("recurrent_activation", recurrent_activation)
        variant = {key: kwargs.pop(key, default) for key, default in VARIANT_DEFAULTS.items()}
        _check_variant(variant)
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = recurrent_activation_fn
        self.unit_forget_bias = unit_forget_bias
        for key, value in variant.items():
            setattr(self, key, value)
        has = {
            "i": self.input_gate,
            "f": self.forget_gate and not self.coupled_gates,
            "c": True,
            "o": self.output_gate,
        }
        self.blocks = tuple(block for block in "ifco" if has[block])
        self.learned = tuple(block for block in self.blocks if block != "c")
        self.gate_count = len(self.blocks)
        traced = {"i": self.input_gate, "f": self.forget_gate, "o": self.output_gate}
        names = [BLOCK_GATES[b] for b in "if" if traced[b]] + ["candidate"]
        self.gate_names = (*names, *(["output"] if self.output_gate else []), "cell", "hidden")
        if not self.forget_gate:
            self.retention_gate = None
        extra = len(self.learned) if self.full_gate_recurrence else 0
        self.state_size = [units] * (2 + extra)

    def _bias_initializer(self):
        if not self.unit_forget_bias or "f" not in self.blocks:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units
        before = self.blocks.index("f")
        after = len(self.blocks) - before - 1

        def bias_initializer(_, *args, **kwargs):
            parts = [base((units * before,), *args, **kwargs)] if before else []
            parts.append(initializers.get("ones")((units,), *args, **kwargs))
            parts += [base((units * after,), *args, **kwargs)] if after else []
            return tf.concat(parts, axis=0)

        return bias_initializer

    def build(self, input_shape):
        super().build(input_shape)
        n = len(self.learned)
        if self.peephole:
            self.peephole_kernel = self.add_weight(
                shape=(n, self.units), name="peephole_kernel", initializer="zeros"
            )
        if self.full_gate_recurrence:
            self.gate_recurrent_kernel = self.add_weight(
                shape=(n * self.units, n * self.units),
                name="gate_recurrent_kernel",
                initializer=self.recurrent_initializer,
                regularizer=self.recurrent_regularizer,
                constraint=self.recurrent_constraint,
            )

    def input_bias(self) -> None:
        # The bias is added after `h U`, in Keras's order: `x W + b` as one fused matmul-and-bias
        # measured 20% slower in inference on CPU than Keras's separate `BiasAdd` (oneDNN).
        return None

    def recurrent_params(self):
        params = super().recurrent_params()
        if self.bias is not None:
            params["bias"] = tf.convert_to_tensor(self.bias)
        if self.peephole:
            peepholes = tf.unstack(tf.convert_to_tensor(self.peephole_kernel))
            params |= {f"peephole_{b}": p for b, p in zip(self.learned, peepholes)}
        if self.full_gate_recurrence:
            params["gate_recurrent_kernel"] = tf.convert_to_tensor(self.gate_recurrent_kernel)
        return params

    def step(self, x_proj, states, params, recurrent_mask=None, patch=NO_PATCH):
        h_tm1, c_tm1 = states[0], states[1]
        # (batch, gate_count * units)
        z = x_proj + dropped_matmul(h_tm1, params["recurrent_kernel"], recurrent_mask)
        if "bias" in params:
            z = tf.nn.bias_add(z, params["bias"])
        z = dict(zip(self.blocks, tf.split(z, self.gate_count, axis=-1)))
        if self.full_gate_recurrence:
            previous = tf.matmul(tf.concat(states[2:], axis=-1), params["gate_recurrent_kernel"])
            for block, part in zip(self.learned, tf.split(previous, len(self.learned), axis=-1)):
                z[block] = z[block] + part
        if self.peephole:
            for block in "if":
                if block in z:
                    z[block] = z[block] + params[f"peephole_{block}"] * c_tm1
        i = _patched(patch, "input", self.recurrent_activation, z.get("i"))
        f = _patched(patch, "forget", self.recurrent_activation, z.get("f"))
        f = patch("forget", 1 - i) if self.coupled_gates else f
        g = patch("candidate", self.activation(z["c"]) if self.input_activation else z["c"])
        c = patch("cell", _scaled(f, c_tm1) + _scaled(i, g))
        if self.peephole and "o" in z:
            z["o"] = z["o"] + params["peephole_o"] * c
        o = _patched(patch, "output", self.recurrent_activation, z.get("o"))
        h = patch("hidden", _scaled(o, self.activation(c) if self.output_activation else c))
        gates = {"input": i, "forget": f, "candidate": g, "output": o, "cell": c, "hidden": h}
        gates = {name: value for name, value in gates.items() if value is not None}
        new_states = [h, c]
        if self.full_gate_recurrence:
            new_states += [{"i": i, "f": f, "o": o}[block] for block in self.learned]
        return h, new_states, gates

    def candidate_activation(self):
        return self.activation if self.input_activation else activations.linear

    def retention(self, gates):
        """The forget gate; 1 everywhere without one (NFG: the cell is never cleared)."""
        if not self.forget_gate:
            hidden = gates["hidden"]
            return np.ones_like(hidden) if isinstance(hidden, np.ndarray) else tf.ones_like(hidden)
        return super().retention(gates)

    def get_config(self):
        config = {
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }
        # Only the switches that differ from Keras's LSTM: its config stays Keras's.
        variant = {
            k: getattr(self, k) for k, v in VARIANT_DEFAULTS.items() if getattr(self, k) != v
        }
        return {**super().get_config(), **config, **variant}


def _check_variant(variant: dict[str, Any]) -> None:
    for key, value in variant.items():
        if not isinstance(value, bool):
            raise ValueError(
                f"Received an invalid value for argument `{key}`, expected True or False, "
                f"got {value!r}."
            )
    if variant["coupled_gates"] and not (variant["input_gate"] and variant["forget_gate"]):
        raise ValueError(
            "Received an invalid combination: `coupled_gates=True` computes the forget gate as "
            "1 - input gate, so it needs `input_gate=True` and `forget_gate=True`, got "
            f"input_gate={variant['input_gate']!r}, forget_gate={variant['forget_gate']!r}."
        )


def _patched(patch: Patch, name: str, activation: Any, z: tf.Tensor | None) -> tf.Tensor | None:
    """`patch(name, activation(z))`, or None for a gate that was taken away (`z` None)."""
    return None if z is None else patch(name, activation(z))


def _scaled(gate: tf.Tensor | None, value: tf.Tensor) -> tf.Tensor:
    """`gate * value`, or `value` where the gate was taken away (a gate fixed at 1)."""
    return value if gate is None else gate * value


@keras.saving.register_keras_serializable(package="gatelab")
class LSTM(CudnnRecurrent):
    """LSTM layer, weight-compatible with `keras.layers.LSTM`, with `trace` for the gates.

    Arguments are those of `keras.layers.LSTM`: the cell's as in `LSTMCell`, the sequence
    layer's and `use_cudnn` as in `CudnnRecurrent`.

    Example:
    >>> lstm = LSTM(4, return_sequences=True)
    >>> lstm(np.zeros((2, 10, 8))).shape
    (2, 10, 4)
    >>> sorted(lstm.trace(np.zeros((2, 10, 8))))
    ['candidate', 'cell', 'forget', 'hidden', 'input', 'output']
    """

    cell_cls = LSTMCell
    cell_name = "lstm_cell"
    fused_kernel = "lstm"
    keras_cell_cls = keras.layers.LSTMCell

    @property
    def unit_forget_bias(self) -> bool:
        return self.cell.unit_forget_bias
