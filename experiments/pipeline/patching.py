"""What the memory gate causes on the context switch: the trained model's first
recurrent layer has its memory gate (`RecurrentCell.retention_gate`) clamped or patched at the
words the tutorial names, and the answers are counted. Run once per trained run when the config
says `measure.patching: true` (`conf/experiment/gate_patching.yaml`); the numbers go into
`metrics.json` under `patch_*`.

On the test sentences ("A likes X but B … likes ___" → B's food; "A likes X and … also likes
___" → A's food), with *keep* the gate's `retention_keeps_at` value (1 for the LSTM's forget and
the GRU's update gate, 0 for MGU's and minGRU's) and *forget* the other end:

- `patch_keep_at_switch`: switch sentences, the gate held at keep at "but": the share answered
  with the first subject's food (A's). Beside it, no intervention:
  `patch_clean_first_food_switch`. The same at control steps: `patch_keep_at_subject` (the new
  subject B, where the tutorial places the forgetting) and `patch_keep_at_filler` (the first
  filler word after B).
- `patch_forget_at_and`: keep sentences, the gate held at forget at "and": the share no longer
  answered with A's food. Without intervention: `patch_clean_lost_keep`.
- Interchange: every sentence is paired with the one that differs only in but/and at the switch
  step; its gate at one step is replaced by the pair's. `patch_swap_at_switch`,
  `patch_swap_at_subject`, `patch_swap_at_filler`: switch sentences taking the "and" sentence's
  gate there, share answered with A's food; `patch_swap_at_and`: keep sentences taking the "but"
  sentence's gate at "and", share no longer answered with A's food.
- Per unit, for the keep clamp at "but" on up to `UNIT_SENTENCES` switch sentences, measured
  on the logit margin (A's food − the right answer): each unit clamped alone ranks the units;
  `patch_unit_top1_share` and `patch_unit_top4_share` are the effects of clamping the top 1 / 4
  units together as shares of clamping all, `patch_units_for_half` the fewest top units that
  carry half of it, `patch_top_units` the four units' indices. NaN (null) where clamping all
  units does not raise the margin.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from data.base import Split, Task
from data.context_switch import ID, NAME_IDS, ContextSwitchTask

PREFIX = "patch_"
UNIT_SENTENCES = 256  # switch sentences of the per-unit measurement (one forward pass per unit)
TOP_UNITS = (1, 4)


def check_task(task: Task) -> None:
    """Raise a `ValueError` naming the key unless `task` has the context switch's sentences."""
    if not isinstance(task, ContextSwitchTask):
        raise ValueError(
            f"measure.patching=true needs data=context_switch (its but/and sentences), got a "
            f"{type(task).__name__} task; allowed: data=context_switch, or measure.patching=false"
        )


class GatePatcher:
    """The model's logits with the memory gate of its first recurrent layer replaced.

    Args:
        model: a trained token model (`experiments.pipeline.model.build_model`).
    Attributes:
        key: `"<layer>/<gate>"`, e.g. `"rnn_0/forget"`; None for a cell without a memory gate.
        keeps_at, forgets_at: the gate values that keep and drop the old state.
    """

    def __init__(self, model) -> None:
        import tensorflow as tf

        from layers import GateTracer

        self.tracer = GateTracer(model)
        layer = self.tracer.names[0]
        cell = self.tracer.cells[layer]
        self.key = None if cell.retention_gate is None else f"{layer}/{cell.retention_gate}"
        self.keeps_at = float(cell.retention_keeps_at)
        self.forgets_at = 1.0 - self.keeps_at
        self.units = cell.units
        spec = [
            tf.TensorSpec((None, None), tf.int32),
            tf.TensorSpec((None, None, None), tf.bool),
            tf.TensorSpec((None, None, None), tf.float32),
        ]
        self._logits = tf.function(self._intervened, input_signature=spec, autograph=False)

    def _intervened(self, x, where, value):
        return self.tracer.intervene(x, {self.key: (where, value)})[0]  # (batch, n_outputs)

    def logits(self, x: np.ndarray, where: np.ndarray | None = None, value: Any = 0.0):
        """`(n, n_outputs)` logits of `x` `(n, time)` with the gate set to `value` (a number or
        `(n, time, units)`) where `where` `(n, time, 1 or units)` is True; none without."""
        if where is None:
            where = np.zeros((1, 1, 1), bool)
        value = np.asarray(value, "float32")
        value = value.reshape(1, 1, 1) if value.ndim == 0 else value
        return np.asarray(self._logits(x, where, value))

    def gate(self, x: np.ndarray) -> np.ndarray:
        """The memory gate `(n, time, units)` of `x` without intervention."""
        layer, gate = self.key.rsplit("/", 1)
        return np.asarray(self.tracer(x)[layer][gate])


def at_steps(steps: np.ndarray, time: int, units: int = 1) -> np.ndarray:
    """`(n, time, units)` bool, True at step `steps[i]` of row i."""
    where = np.zeros((len(steps), time, units), bool)
    where[np.arange(len(steps)), steps] = True
    return where


def paired(x: np.ndarray, switch: np.ndarray) -> np.ndarray:
    """`x` with "but" and "and" exchanged at each sentence's `switch` step: the sentence that
    differs only in the conjunction."""
    pair = x.copy()
    rows = np.arange(len(x))
    word = x[rows, switch]
    pair[rows, switch] = np.where(word == ID["but"], ID["and"], ID["but"])
    return pair


def _answers(logits: np.ndarray) -> np.ndarray:
    return logits.argmax(axis=-1)


def patching_metrics(model, task: Task, size: int = 1000) -> dict[str, Any]:
    """The `patch_*` numbers of the module docstring on the first `size` test sentences; empty
    for a cell without a memory gate (the plain RNN)."""
    check_task(task)
    patcher = GatePatcher(model)
    if patcher.key is None:
        return {}
    test = task.splits()["test"]
    n = min(size, len(test))
    x, positions = test.x[:n], {key: value[:n] for key, value in test.positions.items()}
    first = task.favourite[np.searchsorted(NAME_IDS, x[:, 0])]  # A's food, (n,)
    switch = positions["is_switch"] == 1
    steps = {
        "switch": positions["switch"],
        "subject": positions["switch"] + 1,  # B on switch sentences
        "filler": positions["switch"] + 2,  # the first filler word after B
    }
    time = x.shape[1]
    swapped = patcher.gate(paired(x, positions["switch"]))  # (n, time, units)
    clean = _answers(patcher.logits(x))
    metrics = {
        "clean_first_food_switch": np.mean(clean[switch] == first[switch]),
        "clean_lost_keep": np.mean(clean[~switch] != first[~switch]),
    }
    for where, step in steps.items():
        mask = at_steps(step, time)
        kept = _answers(patcher.logits(x, mask, patcher.keeps_at))
        patched = _answers(patcher.logits(x, mask, swapped))
        metrics[f"keep_at_{where}"] = np.mean(kept[switch] == first[switch])
        metrics[f"swap_at_{where}"] = np.mean(patched[switch] == first[switch])
    mask = at_steps(steps["switch"], time)
    dropped = _answers(patcher.logits(x, mask, patcher.forgets_at))
    patched = _answers(patcher.logits(x, mask, swapped))
    metrics["forget_at_and"] = np.mean(dropped[~switch] != first[~switch])
    metrics["swap_at_and"] = np.mean(patched[~switch] != first[~switch])
    rows = np.flatnonzero(switch)[:UNIT_SENTENCES]
    unit_split = Split(x[rows], test.y[:n][rows], {"switch": steps["switch"][rows]})
    metrics |= unit_metrics(patcher, unit_split, first[rows])
    return {PREFIX + key: _number(value) for key, value in metrics.items()}


def _number(value: Any) -> Any:
    return [int(v) for v in value] if isinstance(value, list) else float(value)


def unit_metrics(patcher: GatePatcher, split: Split, first: np.ndarray) -> dict[str, Any]:
    """Which units carry the keep clamp's effect at the switch step of `split` (switch
    sentences; `first`: A's food per sentence), on the margin logit(A's food) − logit(answer).

    Returns `unit_top1_share`, `unit_top4_share`, `units_for_half` and `top_units` (module
    docstring); NaN shares and counts when clamping every unit does not raise the margin.
    """
    rows = np.arange(len(split))

    def margin_rise(units: np.ndarray) -> float:
        """Mean rise of the margin with the gate held at keep in `units` at the switch step."""
        where = at_steps(split.positions["switch"], split.x.shape[1], patcher.units)
        where[:, :, np.setdiff1d(np.arange(patcher.units), units)] = False
        logits = patcher.logits(split.x, where, patcher.keeps_at)
        return float(np.mean(logits[rows, first] - logits[rows, split.y])) - base

    clean = patcher.logits(split.x)
    base = float(np.mean(clean[rows, first] - clean[rows, split.y]))
    whole = margin_rise(np.arange(patcher.units))
    alone = np.array([margin_rise(np.array([u])) for u in range(patcher.units)])
    order = np.argsort(-alone, kind="stable")
    top = [int(u) for u in order[: max(TOP_UNITS)]]
    if not len(rows) or whole <= 0:
        nan = float("nan")
        return {"unit_top1_share": nan, "unit_top4_share": nan, "units_for_half": nan,
                "top_units": top}  # fmt: skip
    shares = {k: margin_rise(order[:k]) / whole for k in TOP_UNITS}
    for_half = next(
        (k for k in range(1, patcher.units + 1) if margin_rise(order[:k]) >= whole / 2),
        patcher.units,
    )
    return {
        **{f"unit_top{k}_share": share for k, share in shares.items()},
        "units_for_half": for_half,
        "top_units": top,
    }
