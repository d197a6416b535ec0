"""The two ways `Recurrent` runs a step function over time: a `tf.while_loop`, or a graph
unrolled in Python over a static time axis. Both return what `Recurrent._loop` expects."""

from __future__ import annotations

import tensorflow as tf


def while_loop(step, inputs, mask, states, recorded):
    """`step` over time in a `tf.while_loop`: `(last_output, {key: (time, ...)}, states)`.

    `inputs` is a time-major tensor or a nest of them whose first is the input (its dtype is
    the recorded values'); `step` then gets the nest of one step.
    """
    flat = tf.nest.flatten(inputs)
    steps = flat[0].shape[0] if flat[0].shape[0] is not None else tf.shape(flat[0])[0]
    x_tas = [tf.TensorArray(x.dtype, size=steps).unstack(x) for x in flat]
    mask_ta = None if mask is None else tf.TensorArray(tf.bool, size=steps).unstack(mask)
    tas = {key: tf.TensorArray(flat[0].dtype, size=steps) for key in recorded}

    def body(t, prev_output, states, tas):
        keep = None if mask_ta is None else mask_ta.read(t)
        x_t = tf.nest.pack_sequence_as(inputs, [ta.read(t) for ta in x_tas])
        output, new_states, values = step(x_t, keep, prev_output, states)
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


def unrolled_loop(step, inputs, mask, states, recorded):
    """`step` over a static time axis as straight-line graph, as `while_loop` returns it."""
    flat = [tf.unstack(x) for x in tf.nest.flatten(inputs)]
    x_steps = [tf.nest.pack_sequence_as(inputs, list(x_t)) for x_t in zip(*flat)]
    keeps = [None] * len(x_steps) if mask is None else tf.unstack(mask)
    output = tf.zeros_like(states[0])
    values = {key: [] for key in recorded}
    for x_t, keep in zip(x_steps, keeps):
        output, states, step_values = step(x_t, keep, output, states)
        for key in recorded:
            values[key].append(step_values[key])
    return output, {key: tf.stack(v) for key, v in values.items()}, list(states)
