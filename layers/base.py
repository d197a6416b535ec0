"""What the three cells and the three sequence layers share.

`RecurrentCell` holds the arguments every cell has and the weight creation; a subclass adds one
timestep's maths (`step`). `Recurrent` is the sequence layer: it owns the loop over time, the
masks, `go_backwards`, stateful state, dropout masks and gate tracing.

The input projection `x W + b` stays inside the loop, as in Keras: it does not depend on the
state, so TensorFlow computes it for coming steps on an idle core while the current step waits on
`h U`. Projecting the whole sequence in one matmul before the loop was measured slower on 2 cores
(it serialises that work in front of the latency-bound loop).
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import activations, constraints, initializers, regularizers
from keras.src.backend import AutocastScope
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell
from keras.src.utils import tracking

from layers.weights import add_cell_weights


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


def _get_activation(name: str, value: Any):
    try:
        return activations.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected the name of a Keras "
            f"activation (e.g. 'tanh', 'sigmoid', 'relu'), a callable or None, got {value!r}."
        ) from error


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
        self.activation = _get_activation("activation", activation)
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
        """`(kernel, input bias or None)`, read from the variables once per sequence."""
        return tf.convert_to_tensor(self.kernel), self.input_bias()

    def project_step(
        self, inputs: tf.Tensor, input_params: tuple[tf.Tensor, tf.Tensor | None]
    ) -> tf.Tensor:
        """Input projection `x W + b_in`: `(batch, input_dim)` → `(batch, gate_count * units)`."""
        kernel, bias = input_params
        projected = tf.matmul(inputs, kernel)
        return projected if bias is None else tf.nn.bias_add(projected, bias)

    def recurrent_params(self) -> dict[str, tf.Tensor]:
        """Tensors `step` needs, read from the variables once per sequence (not once per step)."""
        params = {"recurrent_kernel": tf.convert_to_tensor(self.recurrent_kernel)}
        return params

    def step(
        self,
        x_proj: tf.Tensor,
        states: list[tf.Tensor],
        params: dict[str, tf.Tensor],
        recurrent_mask: tf.Tensor | None = None,
    ) -> tuple[tf.Tensor, list[tf.Tensor], dict[str, tf.Tensor]]:
        """One timestep.

        Args:
            x_proj: `(batch, gate_count * units)`, this step's `x W + b_in`.
            states: the previous states, each `(batch, units)`.
            params: `recurrent_params()`.
            recurrent_mask: `(batch, units)` recurrent-dropout mask or None.
        Returns:
            `(output, new_states, gates)`; each gate `(batch, units)`, keys `gate_names`.
        """
        raise NotImplementedError

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
        if training and self.dropout > 0:
            inputs = inputs * self.get_dropout_mask(inputs)
        recurrent_mask = None
        if training and self.recurrent_dropout > 0:
            recurrent_mask = self.get_recurrent_dropout_mask(states[0])
        x_proj = self.project_step(inputs, self.input_params())
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


OUTPUT = "__output__"

# Arguments of the sequence layer itself; everything else in its config belongs to the cell.
LAYER_ARGS = (
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "zero_output_for_mask",
)
# Arguments `keras.layers.Layer` itself takes.
_BASE_LAYER_ARGS = (
    "name",
    "trainable",
    "dtype",
    "autocast",
    "activity_regularizer",
    "input_dim",
    "input_shape",
)
_UNROLL_UNKNOWN_TIME = (  # Keras's words, so that the two layers fail alike
    "Cannot unroll a RNN if the time dimension is undefined. \n"
    "- If using a Sequential model, specify the time dimension by passing an `Input()` as your "
    "first layer.\n"
    "- If using the functional API, specify the time dimension by passing a `shape` or "
    "`batch_shape` argument to your `Input()`."
)


def split_layer_kwargs(kwargs: dict) -> tuple[dict, dict]:
    """Split a sequence layer's keyword arguments into (layer arguments, cell arguments).

    The cell also gets `dtype` and `trainable`, as Keras's layers pass them on.
    """
    layer_keys = set(LAYER_ARGS) | set(_BASE_LAYER_ARGS)
    layer_kwargs = {k: v for k, v in kwargs.items() if k in layer_keys}
    cell_kwargs = {k: v for k, v in kwargs.items() if k not in layer_keys}
    for key in ("dtype", "trainable"):
        if key in layer_kwargs:
            cell_kwargs[key] = layer_kwargs[key]
    return layer_kwargs, cell_kwargs


def make_cell(layer_cls: type, cell_cls: type, units: int, name: str, cell_kwargs: dict):
    """`cell_cls(units, name=name, **cell_kwargs)`; an unknown argument is named as the layer's.

    Keras's layers reject one with "Unrecognized keyword arguments passed to LSTM: {...}".
    """
    try:
        return cell_cls(units, name=name, **cell_kwargs)
    except ValueError as error:
        prefix = f"Unrecognized keyword arguments passed to {cell_cls.__name__}:"
        if not str(error).startswith(prefix):
            raise
        unknown = str(error)[len(prefix) :]
        raise ValueError(
            f"Unrecognized keyword arguments passed to {layer_cls.__name__}:{unknown}"
        ) from None


class Recurrent(keras.layers.Layer):
    """A sequence layer over a `RecurrentCell`: the loop over time, masks, state, tracing.

    Args:
        cell: the cell that does one step.
        return_sequences: return the output of every step, `(batch, time, units)`, instead of
            the last one, `(batch, units)`.
        return_state: also return the final states.
        go_backwards: process the sequence from its last step to its first and return the
            outputs in that (reversed) order, as Keras does.
        stateful: carry the final states of a batch over as the initial states of the next
            one (the batch size must be fixed).
        unroll: run the steps as a Python-unrolled graph instead of a `tf.while_loop` (same
            numbers; needs a static time dimension; for short sequences).
        zero_output_for_mask: at masked steps output zeros instead of the previous output.
        activity_regularizer, name, dtype, trainable: as for any Keras layer.

    Call arguments:
        sequences: `(batch, time, features)`, any numeric dtype (cast to the compute dtype).
        initial_state: list of `(batch, units)` tensors, one per state.
        mask: `(batch, time)` bool, False at steps to skip (they keep the previous state).
        training: whether dropout is active.
    """

    def __init__(
        self,
        cell: RecurrentCell,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.zero_output_for_mask = zero_output_for_mask
        self.supports_masking = True
        self.input_spec = keras.layers.InputSpec(ndim=3)
        self.states = None
        self.state_size = cell.state_size if isinstance(cell.state_size, list) else [cell.units]

    def build(self, sequences_shape, initial_state_shape=None):
        self._check_rank(sequences_shape)
        if not self.cell.built:
            self.cell.build((sequences_shape[0], sequences_shape[-1]))
        self.input_spec = keras.layers.InputSpec(ndim=3, axes={-1: sequences_shape[-1]})
        if self.stateful and self.states is None:
            if sequences_shape[0] is None:
                raise ValueError(
                    "When using `stateful=True` the batch size must be static, "
                    f"got input shape {tuple(sequences_shape)}."
                )
            self._create_state_variables(sequences_shape[0])
        super().build(sequences_shape)

    def _check_rank(self, shape) -> None:
        if len(shape) != 3:
            raise ValueError(
                f"Input 0 of layer `{self.name}` must be 3D (batch, time, features), "
                f"got shape {tuple(shape)}."
            )

    def _check_features(self, shape) -> None:
        self._check_rank(shape)
        expected = self.cell.kernel.shape[0]
        if shape[-1] is not None and shape[-1] != expected:
            raise ValueError(
                f"Input 0 of layer `{self.name}` must have {expected} features on its last axis "
                f"(the size it was built with), got shape {tuple(shape)}."
            )

    def _require_steps(self, sequences: tf.Tensor) -> tf.Tensor:
        """`sequences`, checked to have at least one step (Keras's layers fail on none, too)."""
        message = (
            f"Layer `{self.name}` received an input with 0 timesteps; a recurrent layer needs at "
            "least one (as Keras's do). `trace` accepts 0 timesteps and returns empty gates."
        )
        steps = sequences.shape[1]
        if steps is not None:
            if steps == 0:
                raise tf.errors.InvalidArgumentError(None, None, message)
            return sequences
        check = tf.debugging.assert_positive(tf.shape(sequences)[1], message=message)
        with tf.control_dependencies([check]):
            return tf.identity(sequences)

    def _check_stateful_batch(self, batch: int | None) -> None:
        expected = self.states[0].shape[0]
        if batch is not None and batch != expected:  # Keras's words
            raise ValueError(
                "If an RNN is stateful, the batch size of the input sequences must be the same "
                "as the batch size of the initial state. \n"
                f"- Expected batch size: {expected}\n- Received batch size: {batch}"
            )

    @tracking.no_automatic_dependency_tracking
    def _create_state_variables(self, batch_size: int) -> None:
        # Untracked, as in Keras: state variables are not weights, so the weight lists match.
        self.states = [
            keras.Variable(value, trainable=False, dtype=self.variable_dtype, name="rnn_state")
            for value in self.get_initial_state(batch_size)
        ]

    def get_initial_state(self, batch_size):
        return self.cell.get_initial_state(batch_size=batch_size)

    def reset_state(self) -> None:
        """Zero the carried states of a stateful layer."""
        if self.states is not None:
            for variable in self.states:
                variable.assign(tf.zeros_like(variable))

    def reset_states(self) -> None:
        self.reset_state()

    def _initial_states(self, sequences, initial_state) -> list[tf.Tensor]:
        if initial_state is None:
            if self.stateful:
                return [tf.cast(tf.convert_to_tensor(v), self.compute_dtype) for v in self.states]
            return self.get_initial_state(tf.shape(sequences)[0])
        states = (
            list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        )
        if len(states) != len(self.state_size):
            raise ValueError(
                f"Layer `{self.name}` expects {len(self.state_size)} initial state tensor(s), "
                f"got {len(states)}."
            )
        return [tf.cast(tf.convert_to_tensor(s), self.compute_dtype) for s in states]

    def _dropout_masks(self, sequences, states, training):
        cell = self.cell
        input_mask = recurrent_mask = None
        if training and cell.dropout > 0:
            ones = tf.ones_like(sequences[:, 0, :])
            input_mask = keras.random.dropout(ones, cell.dropout, seed=cell.seed_generator)
        if training and cell.recurrent_dropout > 0:
            ones = tf.ones_like(states[0])
            recurrent_mask = keras.random.dropout(
                ones, cell.recurrent_dropout, seed=cell.seed_generator
            )
        return input_mask, recurrent_mask

    def _loop(self, sequences, states, mask, training, collect_gates: bool, unroll=False):
        """Run the cell over time, in a `tf.while_loop` or (`unroll`) a Python-unrolled graph.

        Returns `(last_output (batch, units), outputs (time, batch, units) or None,
        final_states, gates {name: (time, batch, units)} or None)`, time in processing order.
        """
        cell = self.cell
        input_mask, recurrent_mask = self._dropout_masks(sequences, states, training)
        if input_mask is not None:
            sequences = sequences * input_mask[:, None, :]
        inputs = tf.transpose(sequences, [1, 0, 2])  # (time, batch, features)
        if mask is not None:
            mask = tf.transpose(tf.cast(mask, tf.bool))[:, :, None]  # (time, batch, 1)
        if self.go_backwards:
            inputs = tf.reverse(inputs, [0])
            mask = None if mask is None else tf.reverse(mask, [0])
        params = cell.recurrent_params()
        input_params = cell.input_params()
        recorded = ((OUTPUT,) if self.return_sequences else ()) + (
            cell.gate_names if collect_gates else ()
        )

        def step(x_t, keep, prev_output, states):
            # The input projection does not depend on the state: TensorFlow runs it for coming
            # steps on another core while this step waits on `h_tm1 U`.
            x_proj = cell.project_step(x_t, input_params)
            output, new_states, gates = cell.step(x_proj, states, params, recurrent_mask)
            if keep is not None:
                new_states = [tf.where(keep, n, s) for n, s in zip(new_states, states)]
                fill = tf.zeros_like(output) if self.zero_output_for_mask else prev_output
                output = tf.where(keep, output, fill)
                gates = {**gates, **_carried_states(cell, new_states)}
            values = {**gates, OUTPUT: output}
            return output, new_states, {key: values[key] for key in recorded}

        run = _unrolled_loop if unroll else _while_loop
        last_output, stacked, final_states = run(step, inputs, mask, states, recorded)
        outputs = stacked.pop(OUTPUT, None)
        return last_output, outputs, final_states, (stacked if collect_gates else None)

    def _fused_call(self, sequences, states, mask, training):
        """`(output, final_states)` from another engine (cuDNN, a parallel scan), or None to run
        the loop."""
        return None

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if self.unroll and sequences.shape[1] is None:
            raise ValueError(_UNROLL_UNKNOWN_TIME)
        sequences = self._require_steps(tf.cast(sequences, self.compute_dtype))
        if self.stateful:
            self._check_stateful_batch(sequences.shape[0])
        states = self._initial_states(sequences, initial_state)
        if isinstance(mask, (list, tuple)):  # with initial states as inputs: [mask, None, ...]
            mask = mask[0]
        fused = self._fused_call(sequences, states, mask, training)
        if fused is not None:
            output, final_states = fused
        else:
            last_output, outputs, final_states, _ = self._loop(
                sequences, states, mask, training, collect_gates=False, unroll=self.unroll
            )
            output = tf.transpose(outputs, [1, 0, 2]) if self.return_sequences else last_output
        if self.stateful:
            for variable, state in zip(self.states, final_states):
                variable.assign(state)
        if self.return_state:
            return output, *final_states
        return output

    def trace(self, inputs, mask=None, initial_state=None) -> dict[str, tf.Tensor]:
        """Per-step activations of every gate, in inference mode.

        Runs the same step code as `call` in a `tf.while_loop` (never cuDNN, never unrolled).
        Time in the result runs in the order of `inputs` (index t is the step that read
        `inputs[:, t]`) even with `go_backwards`. At a masked step the gate entries hold what
        the cell computed from that step's input (then discarded), while `"hidden"` (and
        `"cell"`) hold the state carried through unchanged. Stateful layers start from their
        current state and do not update it. 0 timesteps give `(batch, 0, units)` gates.

        Args:
            inputs: `(batch, time, features)`, any numeric dtype.
            mask: `(batch, time)` bool or None.
            initial_state: list of `(batch, units)` tensors or None.
        Returns:
            `{gate_name: (batch, time, units)}` with keys `cell.gate_names`, compute dtype.
        """
        inputs = tf.cast(tf.convert_to_tensor(inputs), self.compute_dtype)
        if not self.built:
            self._check_rank(inputs.shape)
            self.build(inputs.shape)
        self._check_features(inputs.shape)
        # As `__call__` does for `call`: mixed precision reads float32 weights as compute dtype.
        with AutocastScope(self.compute_dtype):
            states = self._initial_states(inputs, initial_state)
            _, _, _, gates = self._loop(inputs, states, mask, training=False, collect_gates=True)
        if self.go_backwards:
            gates = {g: tf.reverse(v, [0]) for g, v in gates.items()}
        return {g: tf.transpose(v, [1, 0, 2]) for g, v in gates.items()}

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, time = sequences_shape[0], sequences_shape[1]
        units = self.cell.units
        output_shape = (batch, time, units) if self.return_sequences else (batch, units)
        if self.return_state:
            return output_shape, *[(batch, units) for _ in self.state_size]
        return output_shape

    def compute_mask(self, _, mask):
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None for _ in self.state_size]
        return output_mask

    @property
    def units(self) -> int:
        return self.cell.units

    @property
    def activation(self):
        return self.cell.activation

    @property
    def use_bias(self) -> bool:
        return self.cell.use_bias

    @property
    def dropout(self) -> float:
        return self.cell.dropout

    @property
    def recurrent_dropout(self) -> float:
        return self.cell.recurrent_dropout

    def get_config(self):
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        layer_config = {arg: getattr(self, arg) for arg in LAYER_ARGS}
        layer_config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return {**super().get_config(), **cell_config, **layer_config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _while_loop(step, inputs, mask, states, recorded):
    """`step` over time in a `tf.while_loop`: `(last_output, {key: (time, ...)}, states)`."""
    steps = inputs.shape[0] if inputs.shape[0] is not None else tf.shape(inputs)[0]
    x_ta = tf.TensorArray(inputs.dtype, size=steps).unstack(inputs)
    mask_ta = None if mask is None else tf.TensorArray(tf.bool, size=steps).unstack(mask)
    tas = {key: tf.TensorArray(inputs.dtype, size=steps) for key in recorded}

    def body(t, prev_output, states, tas):
        keep = None if mask_ta is None else mask_ta.read(t)
        output, new_states, values = step(x_ta.read(t), keep, prev_output, states)
        tas = {key: ta.write(t, values[key]) for key, ta in tas.items()}
        return t + 1, output, new_states, tas

    first_output = tf.zeros_like(states[0])
    _, last_output, final_states, tas = tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (tf.constant(0), first_output, states, tas),
        maximum_iterations=steps,
        parallel_iterations=32,
        swap_memory=True,
    )
    empty = first_output[None][:0]  # (0, batch, units)
    stacked = {key: _stack(ta, steps, empty) for key, ta in tas.items()}
    return last_output, stacked, list(final_states)


def _stack(ta: tf.TensorArray, steps, empty: tf.Tensor) -> tf.Tensor:
    # A TensorArray of size 0 cannot be stacked without a fully static element shape.
    if isinstance(steps, int):
        return ta.stack() if steps > 0 else empty
    return tf.cond(steps > 0, ta.stack, lambda: empty)


def _unrolled_loop(step, inputs, mask, states, recorded):
    """`step` over a static time axis as straight-line graph, as `_while_loop` returns it."""
    x_steps = tf.unstack(inputs)
    keeps = [None] * len(x_steps) if mask is None else tf.unstack(mask)
    output = tf.zeros_like(states[0])
    values = {key: [] for key in recorded}
    for x_t, keep in zip(x_steps, keeps):
        output, states, step_values = step(x_t, keep, output, states)
        for key in recorded:
            values[key].append(step_values[key])
    return output, {key: tf.stack(v) for key, v in values.items()}, list(states)


def _carried_states(cell: RecurrentCell, states: list[tf.Tensor]) -> dict[str, tf.Tensor]:
    """The state entries of a gate dict after masking: `hidden` (and `cell` for the LSTM), or
    the first states named by the cell's `traced_states` (the sLSTM's normaliser, stabiliser)."""
    names = getattr(cell, "traced_states", None)
    if names is not None:
        return dict(zip(names, states))
    carried = {"hidden": states[0]}
    if "cell" in cell.gate_names:
        carried["cell"] = states[1]
    return carried
