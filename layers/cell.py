"""The base of every cell: the arguments all cells take, weight creation, and the single step
`keras.layers.RNN` calls. A subclass adds one timestep's maths (`step`)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras
import tensorflow as tf
from keras import activations, constraints, initializers, regularizers
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from layers.patches import NO_PATCH, Patch
from layers.weights import add_cell_weights

# Where a Keras activation's values lie, `(low, high)` (an open side infinite).
ACTIVATION_RANGES = {
    "tanh": (-1.0, 1.0),
    "softsign": (-1.0, 1.0),
    "hard_tanh": (-1.0, 1.0),
    "sigmoid": (0.0, 1.0),
    "hard_sigmoid": (0.0, 1.0),
    "relu": (0.0, math.inf),
    "relu6": (0.0, 6.0),
    "softplus": (0.0, math.inf),
    "exponential": (0.0, math.inf),
}
# What a value near 1 of each traced key does (Keras's conventions), or what the value is.
GATE_MEANINGS = {
    "input": "1 writes the candidate into the cell",
    "forget": "1 keeps the cell, 0 forgets it",
    "output": "1 shows the cell in h",
    "update": "1 keeps the old state, 0 takes the candidate",
    "reset": "0 hides the old state from the candidate",
    "candidate": "the new content",
    "cell": "the memory c",
    "hidden": "the output h",
    "retention": "the fraction of the old state kept: 1 keeps, 0 forgets",
}
SIGMOID_KEYS = ("input", "forget", "output", "update", "reset")  # made by `recurrent_activation`


@dataclasses.dataclass(frozen=True)
class GateInfo:
    """What a traced key of a cell means.

    Attributes:
        meaning: one line, what a value near 1 does ("1 keeps the cell, 0 forgets it"), or
            what the value is for a state ("the memory c").
        bounds: `(low, high)` where the values lie (a side may be infinite), or None where the
            range is unbounded or unknown (states, a linear candidate, a custom activation).
    """

    meaning: str
    bounds: tuple[float, float] | None


def activation_range(function: Any) -> tuple[float, float] | None:
    """`ACTIVATION_RANGES` of a Keras activation (by its name), None for others and linear."""
    return ACTIVATION_RANGES.get(getattr(function, "__name__", None))


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, "
            f"expected a positive integer, got {value!r}."
        )
    return value


def _check_rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, "
            f"expected a float in [0, 1), got {value!r}."
        )
    return float(value)


def get_activation(name: str, value: Any):
    try:
        return activations.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected the name of a Keras "
            f"activation (e.g. 'tanh', 'sigmoid', 'relu'), a callable or None, got {value!r}."
        ) from error


def dropped_matmul(x: tf.Tensor, kernel: tf.Tensor, mask: Any) -> tf.Tensor:
    """`(x * mask) kernel`: `(batch, n)` × `(n, width)` → `(batch, width)`.

    `mask` is None, one `(batch, n)` dropout mask, or (Keras's `implementation=1`) a list of
    them, one per block of `kernel`'s columns: block k is then `(x * mask[k]) kernel_k`.
    """
    if mask is None:
        return tf.matmul(x, kernel)
    if not isinstance(mask, (list, tuple)):
        return tf.matmul(x * mask, kernel)
    blocks = tf.split(kernel, len(mask), axis=-1)
    return tf.concat([tf.matmul(x * m, k) for m, k in zip(mask, blocks)], axis=-1)


class RecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """Base of the cells: arguments, weights and the single-step `call` used by `keras.layers.RNN`.

    Subclasses set `gate_count` (blocks of `units` columns in the kernels), `gate_names` (keys of
    the dict `step` returns) and implement `step`; they may override `_bias_shape` and
    `_bias_initializer`.
    """

    gate_count: int = 1
    gate_names: tuple[str, ...] = ("hidden",)
    # Whether the cell takes Keras's `implementation` (LSTM, GRU): accepted and saved, no effect.
    takes_implementation: bool = False
    # The retention protocol: which traced gate keeps the memory, and at which end.
    retention_gate: str | None = None
    retention_keeps_at: float = 1.0
    # What each traced key means (`gate_info`); a cell overrides only the entries that differ.
    gate_meanings: dict[str, str] = GATE_MEANINGS

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        _check_positive_int("units", units)
        _check_rate("dropout", dropout)
        _check_rate("recurrent_dropout", recurrent_dropout)
        implementation = kwargs.pop("implementation", 2) if self.takes_implementation else None
        super().__init__(**kwargs)
        if self.takes_implementation:  # Keras's cells switch to 1 with recurrent dropout
            self.implementation = 1 if recurrent_dropout else implementation
        self.units = units
        self.activation = get_activation("activation", activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.state_size: int | list[int] = units
        self.output_size = units

    def build(self, input_shape):
        width = self.gate_count * self.units
        add_cell_weights(
            self, input_shape, width, width, self._bias_shape(), self._bias_initializer()
        )

    def _bias_shape(self) -> tuple[int, ...]:
        return (self.gate_count * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def input_bias(self) -> tf.Tensor | None:
        """The part of the bias added to `x W`, `(gate_count * units,)`, or None."""
        return None if self.bias is None else tf.convert_to_tensor(self.bias)

    def input_params(self) -> tuple[tf.Tensor, tf.Tensor | None]:
        """`(kernel, input bias or None)`, read from the variables (once per step in a loop)."""
        return tf.convert_to_tensor(self.kernel), self.input_bias()

    @property
    def dropout_mask_count(self) -> int | None:
        """How many dropout masks of each kind `DropoutRNNCell` draws: one per gate block with
        Keras's `implementation=1` (as Keras's LSTM and GRU cells), else None (one mask)."""
        if self.takes_implementation and self.implementation == 1:
            return self.gate_count
        return None

    def project_step(
        self,
        inputs: tf.Tensor,
        input_params: tuple[tf.Tensor, tf.Tensor | None],
        dropout_mask: Any = None,
    ) -> tf.Tensor:
        """Input projection `x W + b_in`: `(batch, input_dim)` → `(batch, gate_count * units)`,
        with `dropout_mask` as in `dropped_matmul`."""
        kernel, bias = input_params
        projected = dropped_matmul(inputs, kernel, dropout_mask)
        return projected if bias is None else tf.nn.bias_add(projected, bias)

    def recurrent_params(self) -> dict[str, tf.Tensor]:
        """Tensors `step` needs, read from the variables (once per step in a loop, as Keras)."""
        params = {"recurrent_kernel": tf.convert_to_tensor(self.recurrent_kernel)}
        return params

    def step(
        self,
        x_proj: tf.Tensor,
        states: list[tf.Tensor],
        params: dict[str, tf.Tensor],
        recurrent_mask: tf.Tensor | None = None,
        patch: Patch = NO_PATCH,
    ) -> tuple[tf.Tensor, list[tf.Tensor], dict[str, tf.Tensor]]:
        """One timestep.

        Args:
            x_proj: `(batch, gate_count * units)`, this step's `x W + b_in`.
            states: the previous states, each `(batch, units)`.
            params: `recurrent_params()`.
            recurrent_mask: the recurrent-dropout mask of `h_tm1`: None, `(batch, units)`, or
                a list of one per gate block (`dropout_mask_count`, see `dropped_matmul`).
            patch: the step's interventions: each traced value `v` named `name` is computed as
                `patch(name, v)` and the step carries on with that (`layers.patches`).
        Returns:
            `(output, new_states, gates)`; each gate `(batch, units)`, keys `gate_names`.
        """
        raise NotImplementedError

    def gate_info(self, name: str) -> GateInfo:
        """What the traced key `name` (one of `gate_names`) means and where its values lie.

        Example:
        >>> LSTMCell(4).gate_info("forget")
        GateInfo(meaning='1 keeps the cell, 0 forgets it', bounds=(0.0, 1.0))
        >>> MinGRUCell(4).gate_info("update").meaning
        '0 keeps the old state, 1 takes the candidate'
        """
        if name not in self.gate_names:
            raise ValueError(
                f"Received an invalid value for argument `name`, expected one of the keys "
                f"{type(self).__name__} traces ({', '.join(map(repr, self.gate_names))}), "
                f"got {name!r}."
            )
        meaning = self.gate_meanings[name]
        if name == "candidate":
            activation = self.candidate_activation()
            meaning += f" ({getattr(activation, '__name__', 'linear')})"
        return GateInfo(meaning, self.gate_bounds(name))

    def candidate_activation(self) -> Any:
        """The function that makes the traced `candidate` (Keras's `linear` where there is none)."""
        return self.activation

    def gate_bounds(self, name: str) -> tuple[float, float] | None:
        """`GateInfo.bounds` of the traced key `name`: the range of `recurrent_activation` for
        the sigmoid gates, of `candidate_activation()` for the candidate, `(0, 1)` for
        retention, None for the states."""
        if name in SIGMOID_KEYS:
            return activation_range(getattr(self, "recurrent_activation", None))
        if name == "candidate":
            return activation_range(self.candidate_activation())
        if name == "retention":
            return (0.0, 1.0)
        return None

    def retention(self, gates: dict) -> Any:
        """The fraction of the old state carried into the new one, `(batch, time, units)`.

        `gates` is a `trace` result (tensors or numpy arrays). By default the `retention_gate`
        itself (`retention_keeps_at == 1`, e.g. the LSTM's forget gate) or one minus it (`0`,
        e.g. minGRU's update gate); cells whose retention is no single gate override this.
        None for a cell without a gate that keeps the memory (the plain RNN).
        """
        if self.retention_gate is None:
            return None
        gate = gates[self.retention_gate]
        return gate if self.retention_keeps_at == 1.0 else 1.0 - gate

    def call(self, inputs, states, training=False):
        """One step as `keras.layers.RNN` calls it: `(batch, input_dim)` → `(h, new_states)`."""
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        inputs = tf.cast(inputs, self.compute_dtype)  # as Keras's matmul promotes int inputs
        input_mask = recurrent_mask = None
        if training and self.dropout > 0:
            input_mask = self.get_dropout_mask(inputs)
        if training and self.recurrent_dropout > 0:
            recurrent_mask = self.get_recurrent_dropout_mask(states[0])
        x_proj = self.project_step(inputs, self.input_params(), input_mask)
        output, new_states, _ = self.step(x_proj, states, self.recurrent_params(), recurrent_mask)
        return output, new_states

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [tf.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    def get_config(self):
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        if self.takes_implementation:
            config["implementation"] = self.implementation
        return {**super().get_config(), **config}
