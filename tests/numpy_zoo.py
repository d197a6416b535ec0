"""Independent numpy recomputation of the zoo's cells from their documented weight layouts."""

from __future__ import annotations

import numpy as np

from layers.lstm import VARIANT_DEFAULTS
from tests.numpy_rnn import sigmoid

LSTM_SWITCHES = VARIANT_DEFAULTS  # the switches' defaults, not their maths


def _blocks(z: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    return dict(zip(names, np.split(z, len(names), axis=-1)))


def lstm_step(x, states, w, **switches):
    """Greff et al.'s variants of Keras's LSTM; states `[h, c, *previous learned gates]`."""
    opt = {**LSTM_SWITCHES, **switches}
    h, c = states[0], states[1]
    present = {
        "i": opt["input_gate"],
        "f": opt["forget_gate"] and not opt["coupled_gates"],
        "c": True,
        "o": opt["output_gate"],
    }
    blocks = [b for b in "ifco" if present[b]]
    learned = [b for b in blocks if b != "c"]
    z = _blocks(x @ w["kernel"] + h @ w["recurrent_kernel"] + w.get("bias", 0.0), blocks)
    if opt["full_gate_recurrence"]:
        extra = np.concatenate(states[2:], axis=-1) @ w["gate_recurrent_kernel"]
        for b, part in _blocks(extra, learned).items():
            z[b] = z[b] + part
    peep = dict(zip(learned, w["peephole_kernel"])) if opt["peephole"] else {}
    gates = {}
    i = sigmoid(z["i"] + peep.get("i", 0) * c) if "i" in z else 1.0
    f = sigmoid(z["f"] + peep.get("f", 0) * c) if "f" in z else 1.0
    if opt["coupled_gates"]:
        f = 1.0 - i
    g = np.tanh(z["c"]) if opt["input_activation"] else z["c"]
    c_new = f * c + i * g
    o = sigmoid(z["o"] + peep.get("o", 0) * c_new) if "o" in z else 1.0
    h_new = o * (np.tanh(c_new) if opt["output_activation"] else c_new)
    if opt["input_gate"]:
        gates["input"] = i
    if opt["forget_gate"]:
        gates["forget"] = f
    gates["candidate"] = g
    if opt["output_gate"]:
        gates["output"] = o
    gates |= {"cell": c_new, "hidden": h_new}
    new_states = [h_new, c_new]
    if opt["full_gate_recurrence"]:
        new_states += [{"i": i, "f": f, "o": o}[b] for b in learned]
    return new_states, gates


def gru_variant_step(
    x, states, w, reset_gate=True, tied_gates=False, gate_inputs="all", reset_after=True
):
    """The GRU variants' layout: kernels `[gates..., candidate]`, one bias row."""
    h = states[0]
    names = ["forget"] if tied_gates else (["update", "reset"] if reset_gate else ["update"])
    u = h.shape[-1]
    n = len(names)
    xw = x @ w["kernel"]
    bias = w.get("bias", np.zeros(((n + 1) * u,)))
    b_gates = bias[:-u] if gate_inputs != "state" else np.zeros(n * u)
    b_h = bias[-u:]
    pre = np.zeros(h.shape[:-1] + (n * u,)) + (b_gates if gate_inputs != "state" else 0.0)
    if gate_inputs == "all":
        pre = pre + xw[:, :-u]
    if gate_inputs != "bias":
        pre = pre + h @ w["recurrent_kernel"][:, :-u]
    values = {name: sigmoid(p) for name, p in zip(names, np.split(pre, n, axis=-1))}
    if tied_gates:
        z, r = 1.0 - values["forget"], values["forget"]
    else:
        z, r = values["update"], values.get("reset", 1.0)
    u_h = w["recurrent_kernel"][:, -u:]
    if reset_after:
        hh = np.tanh(xw[:, -u:] + b_h + r * (h @ u_h))
    else:
        hh = np.tanh(xw[:, -u:] + b_h + (r * h) @ u_h)
    h_new = z * h + (1.0 - z) * hh
    return [h_new], {**values, "candidate": hh, "hidden": h_new}


def mingru_step(x, states, w):
    z_pre, hh = np.split(x @ w["kernel"] + w["bias"], 2, axis=-1)
    z = sigmoid(z_pre)
    h_new = (1.0 - z) * states[0] + z * hh
    return [h_new], {"update": z, "candidate": hh, "hidden": h_new}


def minlstm_step(x, states, w):
    i_pre, f_pre, hh = np.split(x @ w["kernel"] + w["bias"], 3, axis=-1)
    i, f = sigmoid(i_pre), sigmoid(f_pre)
    h_new = f / (f + i) * states[0] + i / (f + i) * hh
    return [h_new], {"input": i, "forget": f, "candidate": hh, "hidden": h_new}


def slstm_step(x, states, w):
    h, c, n, m = states
    i_t, f_t, z_t, o_t = np.split(x @ w["kernel"] + h @ w["recurrent_kernel"] + w["bias"], 4, -1)
    log_f = -np.logaddexp(0.0, -f_t)  # log σ(f̃)
    m_new = np.maximum(log_f + m, i_t)
    i = np.exp(i_t - m_new)
    f = np.exp(log_f + m - m_new)
    g = np.tanh(z_t)
    c_new = f * c + i * g
    n_new = f * n + i
    h_new = sigmoid(o_t) * c_new / n_new
    kept = f * n / n_new  # the old normalised cell's weight in c_new / n_new
    gates = {"input": i, "forget": f, "candidate": g, "output": sigmoid(o_t), "cell": c_new}
    gates |= {"normalizer": n_new, "stabilizer": m_new, "retention": kept, "hidden": h_new}
    return [h_new, c_new, n_new, m_new], gates


def run(step, x, states, mask=None, go_backwards=False):
    """`step` over `x (batch, time, features)` with Keras's masking rules, from `states`.

    Returns `(outputs (batch, time, units) in processing order, final states, gates in input
    order)`; at masked steps `hidden` (and `cell`, and the sLSTM's `normalizer` and `stabilizer`)
    hold the carried state, the other gates what the step computed.
    """
    batch, steps, _ = x.shape
    prev_out = np.zeros_like(states[0])
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs, gates_by_t = [], {}
    for t in order:
        new, gates = step(x[:, t], states)
        keep = np.ones((batch, 1), bool) if mask is None else mask[:, t][:, None]
        states = [np.where(keep, n, s) for n, s in zip(new, states)]
        out = np.where(keep, new[0], prev_out)
        carried = ("hidden", "cell", "normalizer", "stabilizer")  # the states traced as gates
        gates |= {name: s for name, s in zip(carried, states) if name in gates}
        outputs.append(out)
        prev_out = out
        gates_by_t[t] = gates
    stacked = {g: np.stack([gates_by_t[t][g] for t in range(steps)], 1) for g in gates_by_t[0]}
    return np.stack(outputs, 1), states, stacked
