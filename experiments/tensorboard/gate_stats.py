"""Gate statistics in numpy, padding excluded: what `experiments.tensorboard.writer` logs
about the gates.

Every function takes traced gate values `(n, time, units)` as `layers.GateTracer` returns them
(converted to numpy) and a `(n, time)` bool mask, True at real steps; at padded steps the tracer
holds values the layer computed and then discarded, so they never enter a statistic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SIGMOID_GATES = ("input", "forget", "output", "update", "reset", "retention")  # in [0, 1]
RETENTION = "retention"  # the pseudo-gate every gated cell has: the fraction of the state kept
LEFT_SATURATED, RIGHT_SATURATED = 0.1, 0.9  # Karpathy, Johnson & Fei-Fei 2015
# What a value near 1 does (Keras's conventions), for picture titles.
GATE_MEANING = {
    "input": "1 writes the candidate into the cell",
    "forget": "1 keeps the cell, 0 forgets it",
    "output": "1 shows the cell in h",
    "update": "1 keeps the old state, 0 takes the candidate",
    "reset": "0 hides the old state from the candidate",
    "candidate": "the new content",  # its range follows the cell's activation: `gate_meaning`
    "cell": "the LSTM's memory",
    "hidden": "the output h",
    "normalizer": "the sLSTM's normaliser n (h = o * c / n)",
    "stabilizer": "the sLSTM's log-domain stabiliser m",
    RETENTION: "the fraction of the old state kept: 1 keeps, 0 forgets",
}
TIMESCALE_CAP = 1000.0  # steps; a mean gate of 0.999 or more is "remembers for good"
# Where a Keras activation's values lie (an open side is infinite); others are not assumed.
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
    "linear": (-math.inf, math.inf),
}


def candidate_activation(cell: Any) -> str:
    """The name of the activation that makes a cell's `candidate`: its `activation`, or
    `"linear"` where it has none (minGRU, minLSTM) or has it switched off (the LSTM's
    `input_activation=False`, NIAF)."""
    if not getattr(cell, "input_activation", True):
        return "linear"
    activation = getattr(cell, "activation", None)
    return "linear" if activation is None else getattr(activation, "__name__", str(activation))


def gate_bounds(gate: str, cell: Any = None) -> tuple[float, float] | None:
    """Where a gate's values lie, `(low, high)` (an open side infinite), or None if unknown.

    [0, 1] for the sigmoid gates and retention; the candidate's from the cell's candidate
    activation (`ACTIVATION_RANGES`: tanh [-1, 1], linear unbounded; another activation, or no
    `cell`, unbounded); None for the states (cell, hidden, normaliser, ...)."""
    if gate in SIGMOID_GATES:
        return 0.0, 1.0
    if gate == "candidate" and cell is not None:
        return ACTIVATION_RANGES.get(candidate_activation(cell), (-math.inf, math.inf))
    return None


def _interval(low: float, high: float) -> str:
    """`in [-1, 1]`, `in [0, ∞)`, `unbounded`."""
    if math.isinf(low) and math.isinf(high):
        return "unbounded"
    left = "(-∞" if math.isinf(low) else f"[{low:g}"
    right = "∞)" if math.isinf(high) else f"{high:g}]"
    return f"in {left}, {right}"


def gate_meaning(gate: str, cell: Any) -> str:
    """What a value near 1 does, for picture titles; the cell's own polarity for its memory gate
    (minGRU's update gate and the MGU's forget gate keep the state at 0, not at 1), and for the
    candidate the cell's own activation and its range (`"tanh: in [-1, 1]"`, `"linear:
    unbounded"`)."""
    if gate == cell.retention_gate and cell.retention_keeps_at == 0.0:
        return "0 keeps the old state, 1 takes the candidate"
    if gate == "candidate":
        name = candidate_activation(cell)
        bounds = ACTIVATION_RANGES.get(name)
        return f"{GATE_MEANING[gate]}, {name}" + (f": {_interval(*bounds)}" if bounds else "")
    return GATE_MEANING.get(gate, gate)


def real_length(mask_row: np.ndarray) -> int:
    """Steps up to the last real one of a right-padded `(time,)` mask row."""
    real = np.flatnonzero(mask_row)
    return int(real[-1]) + 1 if real.size else 0


def real_steps(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`(n, time, units)` → `(real steps, units)`: the rows of unmasked steps, examples in order."""
    return values[mask]


def saturation(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the fraction of real steps left-saturated (< 0.1) and right-saturated (> 0.9).

    Returns: `(left, right)`, each `(units,)` in [0, 1]; `left + right <= 1` unit by unit.
    """
    steps = real_steps(values, mask)
    return (steps < LEFT_SATURATED).mean(axis=0), (steps > RIGHT_SATURATED).mean(axis=0)


def timescales(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-unit memory timescale `tau = -1 / ln(mean gate)` in steps, `(units,)`.

    For a forget gate (or a GRU update gate) that stays at its mean `f`, a memory decays as
    `f**t = exp(-t / tau)`. Capped at `TIMESCALE_CAP` steps (a mean of 1 would give infinity).
    """
    mean = np.clip(real_steps(values, mask).mean(axis=0).astype(np.float64), 1e-12, 1 - 1e-12)
    return np.minimum(-1.0 / np.log(mean), TIMESCALE_CAP)
