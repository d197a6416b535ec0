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

RETENTION = "retention"  # the pseudo-gate every gated cell has: the fraction of the state kept
LEFT_SATURATED, RIGHT_SATURATED = 0.1, 0.9  # Karpathy, Johnson & Fei-Fei 2015
TIMESCALE_CAP = 1000.0  # steps; a mean gate of 0.999 or more is "remembers for good"
UNIT_INTERVAL = (0.0, 1.0)


# What a traced key means and where its values lie is the cell's to say (`RecurrentCell.gate_info`):
# a new cell with new gate names needs no edit here.
def gate_bounds(gate: str, cell: Any = None) -> tuple[float, float] | None:
    """Where a gate's values lie for pictures, `(low, high)` (an open side infinite), or None
    for a state whose range is not fixed (`cell`, `hidden`, ...).

    The cell's own `gate_bounds`, except that a candidate without a known range (a linear one:
    NIAF, minGRU) is unbounded on both sides rather than unknown; without a `cell`, only
    `retention` is known ([0, 1])."""
    if cell is None:
        return UNIT_INTERVAL if gate == RETENTION else None
    bounds = cell.gate_bounds(gate)
    if bounds is None and gate == "candidate":
        return -math.inf, math.inf
    return bounds


def in_unit_interval(gate: str, cell: Any = None) -> bool:
    """Whether `gate`'s values lie in [0, 1] (the sigmoid gates and retention): where saturation
    below 0.1 and above 0.9 means something."""
    return gate_bounds(gate, cell) == UNIT_INTERVAL


def _interval(low: float, high: float) -> str:
    """`in [-1, 1]`, `in [0, ∞)`, `unbounded`."""
    if math.isinf(low) and math.isinf(high):
        return "unbounded"
    left = "(-∞" if math.isinf(low) else f"[{low:g}"
    right = "∞)" if math.isinf(high) else f"{high:g}]"
    return f"in {left}, {right}"


def gate_meaning(gate: str, cell: Any) -> str:
    """The picture title's words for `gate`: the cell's own meaning (`RecurrentCell.gate_info`:
    its polarity for a memory gate that keeps at 0, its activation for the candidate) and, for
    the candidate, the range (`"the new content (tanh), in [-1, 1]"`)."""
    meaning = cell.gate_meanings[gate] if gate == RETENTION else cell.gate_info(gate).meaning
    if gate == "candidate":
        return f"{meaning}, {_interval(*gate_bounds(gate, cell))}"
    return meaning


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
