"""The probe: the validation examples that the gate pictures and the text summary show, and how
they read (tokens, positions of interest, a Markdown table of input, target and prediction)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from data.base import Split, TaskSpec
from data.common import take
from experiments.tensorboard import gate_stats

MARKDOWN_SPECIAL = set("\\`*_[]<>|~")


def full_mask(x: np.ndarray) -> np.ndarray:
    """`(n, time)` bool mask of a split's inputs: `x != 0` for token ids, all True for features."""
    return x != 0 if x.ndim == 2 else np.ones(x.shape[:2], dtype=bool)


def probe_indices(split: Split, size: int) -> np.ndarray:
    """The `size` validation examples that the pictures and the text summary show, `(size,)`.

    The first `size` examples; when the split has `"is_switch"` (context_switch), switch and
    keep sentences alternate so that "but" and "and" both appear among the first pictures.
    """
    size = min(size, len(split))
    flags = split.positions.get("is_switch")
    if flags is None:
        return np.arange(size)
    groups = [np.flatnonzero(flags == 1), np.flatnonzero(flags == 0)]
    order = [i for pair in zip(*groups) for i in pair]
    chosen = set(order)
    order += [i for i in range(len(split)) if i not in chosen]
    return np.asarray(order[:size])


def select(split: Split, size: int) -> Split:
    """`probe_indices(split, size)` of `split`, positions included."""
    return take(split, probe_indices(split, size))


def token_strings(spec: TaskSpec, ids: np.ndarray) -> list[str]:
    """Display strings of a row of token ids `(time,)`: vocabulary entries, whitespace visible."""
    visible = {"\n": "⏎", " ": "␣", "\t": "⇥"}
    return [visible.get(spec.vocab[i], spec.vocab[i]) for i in ids]


def is_character_vocab(spec: TaskSpec) -> bool:
    """Whether tokens are characters (text, temporal_order) and join without spaces."""
    tokens = [t for t in spec.vocab[1:] if not (t.startswith("<") and t.endswith(">"))]
    return bool(tokens) and all(len(t) == 1 for t in tokens)


def marked_steps(positions: Mapping[str, np.ndarray], row: int) -> dict[str, list[int]]:
    """Positions of interest of example `row`: key → time indices (flags like `is_switch` left out).

    context_switch has `switch` (but/and), `subject` (the new subject of a switch sentence; 0,
    the first word, for a keep sentence, which is no switch and is left out) and `blank`.
    """
    marks = {}
    for key, value in positions.items():
        if key.startswith("is_"):
            continue
        if key == "subject" and "is_switch" in positions and not positions["is_switch"][row]:
            continue
        marks[key] = [int(t) for t in np.atleast_1d(value[row])]
    return marks


def _label(spec: TaskSpec, value: np.ndarray) -> str:
    """One target or prediction: a class name, or a regression value."""
    if spec.is_classification:
        index = int(value)
        return spec.labels[index] if spec.labels else str(index)
    return f"{float(np.ravel(value)[0]):.3f}"


def _joined(spec: TaskSpec, names: list[str]) -> str:
    """Tokens joined as the task reads: characters without spaces, words with."""
    return ("" if is_character_vocab(spec) else " ").join(names)


def _outputs(spec: TaskSpec, values: np.ndarray, length: int, logits: bool) -> str:
    """A target row (ids or values) or a prediction row (logits) as text."""
    if logits and spec.is_classification:
        values = np.argmax(values, axis=-1)
    if spec.output == "sequence":
        return _joined(spec, [_label(spec, v) for v in values[:length]])
    return _label(spec, values)


def _input(spec: TaskSpec, split: Split, i: int, length: int) -> str:
    """An input row as text: its tokens, or its shape and the values at its marked steps."""
    if spec.input_kind == "tokens":
        return _joined(spec, [spec.vocab[t] for t in split.x[i, :length]])
    steps, features = split.x.shape[1:]
    parts = [f"{steps} steps × {features} features"]
    for key, ts in marked_steps(split.positions, i).items():
        values = ", ".join(f"{split.x[i, t, 0]:.3f}" for t in ts)
        parts.append(f"{key} at t={', '.join(map(str, ts))} (values {values})")
    return "; ".join(parts)


def caption(spec: TaskSpec, split: Split, y_pred: np.ndarray, i: int) -> str:
    """A heatmap panel's line: which example, and for one-output tasks target vs prediction."""
    caption = f"probe example {i}"
    if spec.output == "last":
        target = _outputs(spec, split.y[i], 0, logits=False)
        predicted = _outputs(spec, y_pred[i], 0, logits=True)
        caption += f" · target {target} · predicted {predicted}"
    return caption


def _markdown(text: str) -> str:
    """`text` safe in a Markdown table cell."""
    text = text.replace("\n", "⏎")
    return "".join("\\" + c if c in MARKDOWN_SPECIAL else c for c in text)


def examples_table(spec: TaskSpec, split: Split, y_pred: np.ndarray) -> str:
    """A Markdown table of `split`'s examples: input, target and prediction (`y_pred`, outputs)."""
    mask = full_mask(split.x)
    rows = ["| # | input | target | prediction |", "|---|---|---|---|"]
    for i in range(len(split)):
        length = gate_stats.real_length(mask[i])
        cells = [
            _input(spec, split, i, length),
            _outputs(spec, split.y[i], length, logits=False),
            _outputs(spec, y_pred[i], length, logits=True),
        ]
        rows.append(f"| {i} | " + " | ".join(_markdown(c) for c in cells) + " |")
    return "\n".join(rows)
