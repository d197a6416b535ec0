"""Independent numpy recomputation of the three cells from Keras's weight layout (for tests)."""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    u = h.shape[-1]
    z = x @ kernel + h @ recurrent_kernel + (0 if bias is None else bias)
    i, f, g, o = (z[:, k * u : (k + 1) * u] for k in range(4))
    i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    gates = {"input": i, "forget": f, "candidate": g, "output": o, "cell": c_new, "hidden": h_new}
    return [h_new, c_new], gates


def gru_step(x, h, kernel, recurrent_kernel, bias, reset_after=True):
    u = h.shape[-1]
    if bias is None:
        b_in, b_rec = 0.0, 0.0
    elif reset_after:
        b_in, b_rec = bias[0], bias[1]
    else:
        b_in, b_rec = bias, 0.0
    xw = x @ kernel + b_in
    col = [slice(k * u, (k + 1) * u) for k in range(3)]
    if reset_after:
        hu = h @ recurrent_kernel + b_rec
        z = sigmoid(xw[:, col[0]] + hu[:, col[0]])
        r = sigmoid(xw[:, col[1]] + hu[:, col[1]])
        hh = np.tanh(xw[:, col[2]] + r * hu[:, col[2]])
    else:
        z = sigmoid(xw[:, col[0]] + h @ recurrent_kernel[:, col[0]])
        r = sigmoid(xw[:, col[1]] + h @ recurrent_kernel[:, col[1]])
        hh = np.tanh(xw[:, col[2]] + (r * h) @ recurrent_kernel[:, col[2]])
    h_new = z * h + (1 - z) * hh
    return [h_new], {"update": z, "reset": r, "candidate": hh, "hidden": h_new}


def rnn_step(x, h, kernel, recurrent_kernel, bias):
    h_new = np.tanh(x @ kernel + h @ recurrent_kernel + (0 if bias is None else bias))
    return [h_new], {"hidden": h_new}


def run(
    kind: str, x, weights, units, mask=None, go_backwards=False, reset_after=True,
    initial_state=None,
):  # fmt: skip
    """Run a cell over `x (batch, time, features)` with Keras's masking rules, from zero states
    or from `initial_state` (a list of `(batch, units)`: `[h, c]` for the LSTM, `[h]` otherwise).

    Returns (outputs (batch, time, units) in processing order, final states, gates
    {name: (batch, time, units)} in input order, carried states at masked steps).
    """
    batch, steps, _ = x.shape
    kernel, recurrent_kernel = weights[0], weights[1]
    bias = weights[2] if len(weights) > 2 else None
    states = [np.zeros((batch, units))] * (2 if kind == "lstm" else 1)
    if initial_state is not None:
        states = [np.asarray(state, np.float64) for state in initial_state]
    prev_out = np.zeros((batch, units))
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs, gates_by_t = [], {}
    for t in order:
        if kind == "lstm":
            new, gates = lstm_step(x[:, t], *states, kernel, recurrent_kernel, bias)
        elif kind == "gru":
            new, gates = gru_step(x[:, t], *states, kernel, recurrent_kernel, bias, reset_after)
        else:
            new, gates = rnn_step(x[:, t], *states, kernel, recurrent_kernel, bias)
        keep = np.ones((batch, 1), bool) if mask is None else mask[:, t][:, None]
        states = [np.where(keep, n, s) for n, s in zip(new, states)]
        out = np.where(keep, new[0], prev_out)
        gates = dict(gates, hidden=states[0])
        if kind == "lstm":
            gates["cell"] = states[1]
        outputs.append(out)
        prev_out = out
        gates_by_t[t] = gates
    stacked = {g: np.stack([gates_by_t[t][g] for t in range(steps)], 1) for g in gates_by_t[0]}
    return np.stack(outputs, 1), states, stacked


def run_clamped(
    kind: str, x, weights, units, clamps, mask=None, go_backwards=False, initial_state=None
):
    """`run` for "lstm" or "gru" (`reset_after=True`) with values clamped as they are computed.

    `clamps` is `{name: (where, value)}`, each broadcast to `(batch, time, units)` (time in input
    order): at step t each named value is replaced where `where[:, t]`, and the step goes on with
    it (in the order i, f, g, c, o, h for the LSTM; z, r, hh, h for the GRU).
    Returns what `run` returns.
    """
    batch, steps, _ = x.shape
    full = {
        name: (np.broadcast_to(w, (batch, steps, units)), np.broadcast_to(v, (batch, steps, units)))
        for name, (w, v) in clamps.items()
    }
    kernel, recurrent_kernel, bias = weights
    states = [np.zeros((batch, units))] * (2 if kind == "lstm" else 1)
    if initial_state is not None:
        states = [np.asarray(state, np.float64) for state in initial_state]
    prev_out = np.zeros((batch, units))
    outputs, gates_by_t = [], {}
    for t in range(steps - 1, -1, -1) if go_backwards else range(steps):

        def clamp(name, value, t=t):
            if name not in full:
                return value
            where, replacement = full[name]
            return np.where(where[:, t], replacement[:, t], value)

        col = [slice(k * units, (k + 1) * units) for k in range(4)]
        if kind == "lstm":
            h, c = states
            z = x[:, t] @ kernel + h @ recurrent_kernel + bias
            i = clamp("input", sigmoid(z[:, col[0]]))
            f = clamp("forget", sigmoid(z[:, col[1]]))
            g = clamp("candidate", np.tanh(z[:, col[2]]))
            c_new = clamp("cell", f * c + i * g)
            o = clamp("output", sigmoid(z[:, col[3]]))
            h_new = clamp("hidden", o * np.tanh(c_new))
            new = [h_new, c_new]
            gates = {"input": i, "forget": f, "candidate": g, "output": o}
        else:
            (h,) = states
            xw, hu = x[:, t] @ kernel + bias[0], h @ recurrent_kernel + bias[1]
            z = clamp("update", sigmoid(xw[:, col[0]] + hu[:, col[0]]))
            r = clamp("reset", sigmoid(xw[:, col[1]] + hu[:, col[1]]))
            hh = clamp("candidate", np.tanh(xw[:, col[2]] + r * hu[:, col[2]]))
            new = [clamp("hidden", z * h + (1 - z) * hh)]
            gates = {"update": z, "reset": r, "candidate": hh}
        keep = np.ones((batch, 1), bool) if mask is None else mask[:, t][:, None]
        states = [np.where(keep, n, s) for n, s in zip(new, states)]
        out = np.where(keep, new[0], prev_out)
        gates["hidden"] = states[0]
        if kind == "lstm":
            gates["cell"] = states[1]
        outputs.append(out)
        prev_out = out
        gates_by_t[t] = gates
    stacked = {g: np.stack([gates_by_t[t][g] for t in range(steps)], 1) for g in gates_by_t[0]}
    return np.stack(outputs, 1), states, stacked
