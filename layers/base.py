"""The sequence layer every recurrent layer of gatelab is: `Recurrent` owns the loop over time,
the masks, `go_backwards`, stateful state, dropout masks and gate tracing, over a
`RecurrentCell` (`layers.cell`) that does one step.

The input projection `x W + b` stays inside the loop, as in Keras: it does not depend on the
state, so TensorFlow computes it for coming steps on an idle core while the current step waits on
`h U`. Projecting the whole sequence in one matmul before the loop was measured slower on 2 cores
(it serialises that work in front of the latency-bound loop).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import regularizers
from keras.src.backend import AutocastScope
from keras.src.utils import tracking

from layers.cell import RecurrentCell
from layers.loops import unrolled_loop, while_loop
from layers.patches import Patch, prepare_patches

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
        """`(input mask, recurrent mask)`, drawn as Keras's `RNN` draws them.

        Keras draws both in every call whose rate is above 0, in inference too, input masks
        first, with the cell's own `DropoutRNNCell` code; so do we, so that the same `seed`
        gives the same masks as Keras's layer all along a `fit`. Each is `(batch, features)` /
        `(batch, units)`, a list of one per gate block (`cell.dropout_mask_count`), or None;
        both None outside training.
        """
        cell = self.cell
        masks = [
            cell._create_dropout_mask(like, rate) if rate > 0 else None
            for like, rate in (
                (sequences[:, 0, :], cell.dropout),
                (states[0], cell.recurrent_dropout),
            )
        ]
        return tuple(masks) if training else (None, None)

    def _loop(
        self,
        sequences,
        states,
        mask,
        dropout_masks,
        collect_gates: bool,
        unroll=False,
        patches=None,
    ):
        """Run the cell over time, in a `tf.while_loop` or (`unroll`) a Python-unrolled graph.

        `sequences` (batch, time, features) carry input dropout already, unless it is one mask
        per gate: `dropout_masks` is `(input masks per gate or None, recurrent mask or None)`,
        as `RecurrentCell.step` and `project_step` take them. `patches` are interventions as
        `prepare_patches` returns them (processing order), or None. Returns `(last_output
        (batch, units), outputs (time, batch, units) or None, final_states, gates {name: (time,
        batch, units)} or None)`, time in processing order.
        """
        cell = self.cell
        inputs = tf.transpose(sequences, [1, 0, 2])  # (time, batch, features)
        if mask is not None:
            mask = tf.transpose(tf.cast(mask, tf.bool))[:, :, None]  # (time, batch, 1)
        if self.go_backwards:
            inputs = tf.reverse(inputs, [0])
            mask = None if mask is None else tf.reverse(mask, [0])
        recorded = ((OUTPUT,) if self.return_sequences else ()) + (
            cell.gate_names if collect_gates else ()
        )
        input_mask, recurrent_mask = dropout_masks
        if patches:  # each step reads its own slice of the patches with its input
            inputs = (inputs, patches)

        def step(x_t, keep, prev_output, states):
            patch = {}
            if patches:  # only then is the cell asked to patch: `call`'s graph stays as it was
                x_t, patch = x_t[0], {"patch": Patch(x_t[1])}
            # The weights are read inside the loop body, as Keras's cells read them: captured
            # as tensors from outside, their gradients were accumulated as loop tensors, which
            # measured 15-20% slower in training. The input projection does not depend on the
            # state: TensorFlow runs it for coming steps on another core while this step waits
            # on `h_tm1 U`.
            x_proj = cell.project_step(x_t, cell.input_params(), input_mask)
            output, new_states, gates = cell.step(
                x_proj, states, cell.recurrent_params(), recurrent_mask, **patch
            )
            if keep is not None:
                new_states = [tf.where(keep, n, s) for n, s in zip(new_states, states)]
                fill = tf.zeros_like(output) if self.zero_output_for_mask else prev_output
                output = tf.where(keep, output, fill)
                gates = {**gates, **_carried_states(cell, new_states)}
            values = {**gates, OUTPUT: output}
            return output, new_states, {key: values[key] for key in recorded}

        run = unrolled_loop if unroll else while_loop
        last_output, stacked, final_states = run(step, inputs, mask, states, recorded)
        outputs = stacked.pop(OUTPUT, None)
        return last_output, outputs, final_states, (stacked if collect_gates else None)

    def _fused_call(self, sequences, states, mask):
        """`(output, final_states)` from another engine (cuDNN, a parallel scan), or None to run
        the loop. `sequences` already carry input dropout."""
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
        # Drawn once, whichever engine runs (cuDNN may still fall back to the loop).
        input_mask, recurrent_mask = self._dropout_masks(sequences, states, training)
        fused = None
        if isinstance(input_mask, list):  # one mask per gate: only the loop can apply them
            masks = (input_mask, recurrent_mask)
        else:
            if input_mask is not None:
                sequences = sequences * input_mask[:, None, :]
            masks = (None, recurrent_mask)
            fused = self._fused_call(sequences, states, mask)
        if fused is not None:
            output, final_states = fused
        else:
            last_output, outputs, final_states, _ = self._loop(
                sequences, states, mask, masks, collect_gates=False, unroll=self.unroll
            )
            output = tf.transpose(outputs, [1, 0, 2]) if self.return_sequences else last_output
        if self.stateful:
            for variable, state in zip(self.states, final_states):
                variable.assign(state)
        if self.return_state:
            return output, *final_states
        return output

    def trace(
        self, inputs, mask=None, initial_state=None, interventions=None
    ) -> dict[str, tf.Tensor]:
        """Per-step activations of every gate, in inference mode, optionally under interventions.

        Runs the same step code as `call` in a `tf.while_loop` (never cuDNN, never unrolled, never
        the parallel scan). Time in the result runs in the order of `inputs` (index t is the step
        that read `inputs[:, t]`) even with `go_backwards`. At a masked step the gate entries hold
        what the cell computed from that step's input (then discarded), while `"hidden"` (and
        `"cell"`) hold the state carried through unchanged. Stateful layers start from their
        current state and do not update it. 0 timesteps give `(batch, 0, units)` gates.

        Args:
            inputs: `(batch, time, features)`, any numeric dtype.
            mask: `(batch, time)` bool or None.
            initial_state: list of `(batch, units)` tensors or None.
            interventions: `{key: (where, value)}` or None; see `intervene`.
        Returns:
            `{gate_name: (batch, time, units)}` with keys `cell.gate_names`, compute dtype.
        """
        return self.intervene(inputs, interventions, mask=mask, initial_state=initial_state)[1]

    def intervene(self, inputs, interventions, mask=None, initial_state=None):
        """The layer's outputs and its trace with traced values replaced (activation patching).

        `interventions` maps a key of the trace (`cell.gate_names`: a gate, `"retention"` where
        the cell traces it, a state such as `"cell"` or `"hidden"`) to `(where, value)`: `where`
        a bool mask broadcastable to `(batch, time, units)`, `value` a number or an array
        broadcastable to it (e.g. another input's trace), time in the order of `inputs` (also
        with `go_backwards`). Each step computes the value, replaces it where `where` is True and
        carries on with it: the states, the output and every later value follow. At a masked
        step the step's result is discarded, interventions included (the state is carried).
        Runs like `trace` (the step loop, in inference mode); works inside `tf.function` with
        tensors for `where` and `value` (shapes unknown there are checked when it runs).

        Args:
            inputs: `(batch, time, features)`, any numeric dtype.
            interventions: `{key: (where, value)}`, or None / `{}` for none.
            mask: `(batch, time)` bool or None.
            initial_state: list of `(batch, units)` tensors or None.
        Returns:
            `(outputs, traces)`: `outputs` as `call(inputs, training=False)` returns them
            (`(batch, units)`, or `(batch, time, units)` in processing order with
            `return_sequences`; a tuple `(output, *final_states)` with `return_state`);
            `traces` as `trace` returns them.

        Example:
        >>> lstm = LSTM(4, return_sequences=True)
        >>> x = np.random.rand(2, 5, 3)
        >>> outputs, gates = lstm.intervene(x, {"forget": (np.arange(5)[:, None] == 2, 1.0)})
        >>> gates["forget"][:, 2]  # all ones
        """
        inputs = tf.cast(tf.convert_to_tensor(inputs), self.compute_dtype)
        if not self.built:
            self._check_rank(inputs.shape)
            self.build(inputs.shape)
        self._check_features(inputs.shape)
        if isinstance(mask, (list, tuple)):  # as `call` receives it with initial states
            mask = mask[0]
        shape = tf.concat([tf.shape(inputs)[:2], [self.cell.units]], axis=0)
        patches = prepare_patches(
            interventions,
            self.cell.gate_names,
            (inputs.shape[0], inputs.shape[1], self.cell.units),
            shape,
            self.compute_dtype,
            self.go_backwards,
        )
        # As `__call__` does for `call`: mixed precision reads float32 weights as compute dtype.
        with AutocastScope(self.compute_dtype):
            states = self._initial_states(inputs, initial_state)
            last, outputs, final_states, gates = self._loop(
                inputs, states, mask, (None, None), collect_gates=True, patches=patches
            )
        if self.go_backwards:
            gates = {g: tf.reverse(v, [0]) for g, v in gates.items()}
        traces = {g: tf.transpose(v, [1, 0, 2]) for g, v in gates.items()}
        output = tf.transpose(outputs, [1, 0, 2]) if self.return_sequences else last
        return ((output, *final_states) if self.return_state else output), traces

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
