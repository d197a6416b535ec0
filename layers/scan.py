"""The parallel-scan engine: sequence layers over cells whose recurrence is linear in the state.

A cell with `h_t = a_t * h_tm1 + b_t`, where `a_t` and `b_t` depend on the input only (minGRU,
minLSTM), needs no step-by-step loop to train: `linear_scan` computes every `h_t` at once.

Why not the log-space form of Heinsen (2023)? It needs `b_t > 0` (the minGRU paper makes the
candidate positive with `g(x)`; ours is signed, as the paper's equations are written), and it
computes `h_t = exp(A_t + log Σ_s b_s exp(-A_s))` with `A_t = Σ log a`: for long sequences the
two large terms cancel, losing about `|A_t| * 2**-24` relative precision (4e-5 at `A_t = -700`,
a thousand steps of a = 0.5). `linear_scan` composes the pairs `(a, b)` directly instead:
products and sums only, no logs, no division, so no overflow; a product of many `a` that
underflows to 0 is the correct limit (that old state no longer counts).
"""

from __future__ import annotations

import tensorflow as tf

from layers.base import Recurrent

CHUNK = 16  # steps per chunk: the sequential depth inside a chunk


def linear_scan(a: tf.Tensor, b: tf.Tensor, h0: tf.Tensor, chunk: int | None = None) -> tf.Tensor:
    """All states of `h_t = a_t * h_tm1 + b_t` (t = 0 … T-1, from `h0`), time on axis 0.

    The gradient is the same kind of scan run backwards in time (`g_t = dL/dh_t + a_{t+1} *
    g_{t+1}`; `dL/da_t = g_t * h_tm1`, `dL/db_t = g_t`), not TensorFlow's gradient of the
    forward graph (several times slower here).

    Args:
        a, b: `(time, batch, units)`.
        h0: `(batch, units)`, the state before step 0.
        chunk: steps per chunk of `_chunked_scan` (default: `_chunk_for(time)`).
    Returns: `(time, batch, units)`, `h_t` at index t.
    """
    chunk = chunk or _chunk_for(a.shape[0])

    @tf.custom_gradient
    def scan(a, b, h0):
        h = _chunked_scan(a, b, h0, chunk)

        def grad(dh):
            a_next = tf.concat([a[1:], tf.ones_like(a[:1])], axis=0)
            backwards = _chunked_scan(tf.reverse(a_next, [0]), tf.reverse(dh, [0]), 0 * h0, chunk)
            g = tf.reverse(backwards, [0])  # dL/dh_t through every later step
            h_prev = tf.concat([h0[None], h[:-1]], axis=0)
            return g * h_prev, g, tf.reduce_sum(a[:1] * g[:1], axis=0)

        return h, grad

    return scan(a, b, h0)


def _chunk_for(steps: int | None) -> int:
    """`CHUNK`, or for a static `steps` the divisor of it in [CHUNK / 2, 2 * CHUNK] nearest to
    `CHUNK` (no padding to copy in and slice out); `CHUNK` when there is none."""
    if not steps:
        return CHUNK
    divisors = [c for c in range(CHUNK // 2, 2 * CHUNK + 1) if steps % c == 0]
    return min(divisors, key=lambda c: abs(c - CHUNK), default=CHUNK)


def _chunked_scan(a: tf.Tensor, b: tf.Tensor, h0: tf.Tensor, chunk: int) -> tf.Tensor:
    """`linear_scan`'s forward pass, in two levels.

    Inside chunks of `chunk` steps, `chunk` element-wise updates run for all chunks at once
    (each from a zero state, with the running product of `a`); between chunks, a Hillis–Steele
    scan of the chunks' `(product of a, last state)` pairs takes `log2(T / chunk)` rounds; a
    last element-wise pass adds each chunk's incoming state. Depth `chunk + log2(T / chunk)`,
    work `O(T)`.
    """
    steps = tf.shape(a)[0]
    n_chunks = (steps + chunk - 1) // chunk
    padded = a.shape[0] is None or a.shape[0] % chunk != 0
    if padded:
        pad = [[0, n_chunks * chunk - steps], [0, 0], [0, 0]]
        a = tf.pad(a, pad, constant_values=1)  # (a, b) = (1, 0) carries the state unchanged
        b = tf.pad(b, pad)
    shape = tf.concat([[n_chunks, chunk], tf.shape(a)[1:]], axis=0)
    a, b = tf.reshape(a, shape), tf.reshape(b, shape)  # (chunks, chunk, batch, units)
    a, b = tf.unstack(a, axis=1), tf.unstack(b, axis=1)
    products, states = [a[0]], [b[0]]
    for k in range(1, chunk):
        products.append(products[-1] * a[k])
        states.append(a[k] * states[-1] + b[k])
    # products[k], states[k]: (chunks, batch, units), within each chunk from a zero state.
    first = states[-1][:1] + products[-1][:1] * h0[None]
    ends = _hillis_steele(products[-1], tf.concat([first, states[-1][1:]], axis=0))
    incoming = tf.concat([h0[None], ends[:-1]], axis=0)  # (chunks, batch, units)
    h = tf.stack([s + p * incoming for s, p in zip(states, products)], axis=1)
    h = tf.reshape(h, tf.concat([[-1], tf.shape(h)[2:]], axis=0))
    return h[:steps] if padded else h


def _hillis_steele(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Inclusive scan of `h_j = a_j * h_{j-1} + b_j` from `h_{-1} = 0` along axis 0, in
    `ceil(log2(n))` rounds of element-wise work on the whole tensor.

    Each round shifts by `tf.roll` and masks the wrapped rows, so every tensor keeps its shape
    (XLA rejects a loop whose slices change size, as `b[:-shift]` does)."""
    n = tf.shape(a)[0]
    row = tf.reshape(tf.range(n), [-1] + [1] * (a.shape.rank - 1))  # (n, 1, 1)

    def body(shift, a, b):
        inside = row >= shift  # rows that have a predecessor `shift` back
        b = b + a * tf.where(inside, tf.roll(b, shift, axis=0), tf.zeros_like(b))
        a = a * tf.where(inside, tf.roll(a, shift, axis=0), tf.ones_like(a))
        return shift * 2, a, b

    _, _, b = tf.while_loop(lambda shift, *_: shift < n, body, (tf.constant(1), a, b))
    return b


class ScanRecurrent(Recurrent):
    """A sequence layer whose `call` runs `linear_scan` instead of the loop (`trace` and
    `intervene` still step, so an intervention on `hidden` carries on like any other).

    Its cell provides `project_sequence(inputs)` (the blocks of `x W + b`) and
    `coefficients(blocks) -> (a, b, gates)` for any leading shape, and its
    `step` applies them one step at a time (`trace` and `keras.layers.RNN(cell)` use that).
    Masked steps get `(a, b) = (1, 0)`: the state is carried unchanged, and the output repeats
    the previous one (zeros before the first real step, or everywhere masked with
    `zero_output_for_mask`), as in the loop. `unroll` must be False: there is no loop to unroll.
    """

    def __init__(self, cell, unroll: bool = False, **kwargs):
        if unroll is not False:
            raise ValueError(
                f"Received an invalid value for argument `unroll`, expected False for "
                f"{type(self).__name__} (it trains with a parallel scan, not a loop over time "
                f"that could be unrolled), got {unroll!r}."
            )
        super().__init__(cell, **kwargs)

    def _fused_call(self, sequences, states, mask):
        """`(output, [h_T])` from `linear_scan`: what `call` returns in place of the loop's."""
        cell = self.cell
        inputs = tf.transpose(sequences, [1, 0, 2])  # (time, batch, features)
        a, b, _ = cell.coefficients(cell.project_sequence(inputs))  # (time, batch, units)
        keep = None
        if mask is not None:
            keep = tf.transpose(tf.cast(mask, tf.bool))[:, :, None]  # (time, batch, 1)
            a, b = tf.where(keep, a, tf.ones_like(a)), tf.where(keep, b, tf.zeros_like(b))
        if self.go_backwards:
            a, b = tf.reverse(a, [0]), tf.reverse(b, [0])
            keep = None if keep is None else tf.reverse(keep, [0])
        h = linear_scan(a, b, states[0])
        outputs = h
        if keep is not None:
            shown = keep if self.zero_output_for_mask else tf.cumsum(tf.cast(keep, tf.int32)) > 0
            outputs = tf.where(shown, h, tf.zeros_like(h))
        if self.return_sequences:
            return tf.transpose(outputs, [1, 0, 2]), [h[-1]]
        return outputs[-1], [h[-1]]
