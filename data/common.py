"""Helpers shared by the tasks: argument checks, seeding, split assembly and numpy metrics."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from data.base import Split

SPLIT_NAMES = ("train", "val", "test")
_STREAMS = {"train": 0, "val": 1, "test": 2, "table": 3}


def _invalid(name: str, expected: str, value: object) -> ValueError:
    return ValueError(
        f"Received an invalid value for argument `{name}`, expected {expected}, got {value!r}."
    )


def check_int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    """Returns `value` as an int if it is an integer in `[minimum, maximum]`, else raises."""
    is_int = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if maximum is None:
        expected = f"an integer >= {minimum}"
    else:
        expected = f"an integer in [{minimum}, {maximum}]"
    if not is_int or value < minimum or (maximum is not None and value > maximum):
        raise _invalid(name, expected, value)
    return int(value)


def check_float(
    name: str,
    value: object,
    low: float,
    high: float,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """Returns `value` as a float if it lies in the interval from `low` to `high`, else raises.

    `open_low` / `open_high` exclude the bounds themselves.
    """
    expected = f"a number in {'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"
    is_number = isinstance(value, int | float | np.integer | np.floating)
    if not is_number or isinstance(value, bool) or not np.isfinite(value):
        raise _invalid(name, expected, value)
    below = value <= low if open_low else value < low
    above = value >= high if open_high else value > high
    if below or above:
        raise _invalid(name, expected, value)
    return float(value)


def check_choice(name: str, value: object, allowed: Sequence[str]) -> str:
    """Returns `value` if it is one of `allowed`, else raises."""
    if value not in allowed:
        raise _invalid(name, f"one of {list(allowed)}", value)
    return str(value)


def check_sizes(n_train: object, n_val: object, n_test: object) -> dict[str, int]:
    """`{"train", "val", "test"}` → the checked split sizes (each an integer >= 1)."""
    return {
        "train": check_int("n_train", n_train, 1),
        "val": check_int("n_val", n_val, 1),
        "test": check_int("n_test", n_test, 1),
    }


def check_seed(value: object) -> int:
    """Returns `seed` as an int if it is a non-negative integer, else raises."""
    return check_int("seed", value, 0)


def rng_for(seed: int, stream: str) -> np.random.Generator:
    """An independent generator per (seed, stream); stream is a split name or `"table"`."""
    return np.random.default_rng([seed, _STREAMS[stream]])


def take(split: Split, index: np.ndarray) -> Split:
    """The examples `index` of a split (positions included)."""
    positions = {key: value[index] for key, value in split.positions.items()}
    return Split(split.x[index], split.y[index], positions)


def concat(splits: Sequence[Split]) -> Split:
    """Concatenates splits along the example axis."""
    if len(splits) == 1:
        return splits[0]
    positions = {
        key: np.concatenate([s.positions[key] for s in splits]) for key in splits[0].positions
    }
    x = np.concatenate([s.x for s in splits])
    y = np.concatenate([s.y for s in splits])
    return Split(x, y, positions)


def row_keys(x: np.ndarray) -> set[bytes]:
    """Hashable keys of the examples of `x` (one per row), to test splits for overlap."""
    flat = np.ascontiguousarray(x).reshape(len(x), -1)
    return {row.tobytes() for row in flat}


def generate_unseen(
    generate: Callable[[np.random.Generator, int], Split],
    rng: np.random.Generator,
    n: int,
    seen: set[bytes],
    max_rounds: int = 100,
) -> Split:
    """Draws `n` examples with `generate`, rejecting any whose input is in `seen`.

    Keeps splits disjoint. Draws are deterministic in `rng`; the tasks check in `__init__` that
    their example space is large enough for this to finish in a round or two.
    """
    parts, missing = [], n
    for _ in range(max_rounds):
        batch = generate(rng, missing)
        flat = batch.x.reshape(len(batch), -1)
        fresh = np.array([row.tobytes() not in seen for row in flat], dtype=bool)
        parts.append(take(batch, np.flatnonzero(fresh)))
        missing -= int(fresh.sum())
        if missing == 0:
            return concat(parts)
    raise RuntimeError(f"Could not draw {n} examples unseen in the other splits.")


def disjoint_splits(
    generate: Callable[[np.random.Generator, int], Split], seed: int, sizes: dict[str, int]
) -> dict[str, Split]:
    """Generates train, val and test in that order; val and test never repeat an earlier input."""
    splits: dict[str, Split] = {}
    seen: set[bytes] = set()
    for name in SPLIT_NAMES:
        split = generate_unseen(generate, rng_for(seed, name), sizes[name], seen)
        if name != SPLIT_NAMES[-1]:
            seen |= row_keys(split.x)
        splits[name] = split
    return splits


def check_predictions(y_pred: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Returns `y_pred` as a float64 array if its shape is `shape`, else raises."""
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_pred.shape != tuple(shape):
        raise _invalid("y_pred", f"an array of shape {tuple(shape)}", y_pred.shape)
    return y_pred


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable log-softmax over the last axis; same shape as `logits`."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-prediction cross-entropy in nats.

    Args:
        logits: `(..., classes)`.
        targets: int class ids of shape `logits.shape[:-1]`.
    Returns: `logits.shape[:-1]` float64.
    """
    log_p = log_softmax(logits)
    return -np.take_along_axis(log_p, targets[..., None].astype(np.int64), axis=-1)[..., 0]


def unigram_cross_entropy(
    train_ids: np.ndarray, test_ids: np.ndarray, n_classes: int, smoothing: float = 0.5
) -> float:
    """Cross-entropy (nats per item) on `test_ids` of the class frequencies of `train_ids`.

    Add-`smoothing` counts keep classes unseen in training finite.
    """
    counts = np.bincount(train_ids.ravel(), minlength=n_classes) + smoothing
    log_p = np.log(counts / counts.sum())
    return float(-log_p[test_ids.ravel()].mean())


def majority_accuracy(train_y: np.ndarray, test_y: np.ndarray) -> float:
    """Accuracy on `test_y` of always predicting the most frequent class of `train_y`."""
    majority = np.bincount(train_y.ravel()).argmax()
    return float((test_y == majority).mean())
