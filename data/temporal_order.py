"""Temporal order (Hochreiter & Schmidhuber 1997, Exp. 6a and 6b)."""

from __future__ import annotations

import itertools

import numpy as np

from data.base import Split, Task, TaskSpec
from data.common import (
    check_choice,
    check_int,
    check_predictions,
    check_seed,
    check_sizes,
    cross_entropy,
    disjoint_splits,
    majority_accuracy,
)

VOCAB = ("<pad>", "a", "b", "c", "d", "X", "Y", "B", "E")
NOISE = (1, 2, 3, 4)
KEY_X, KEY_Y, BEGIN, END = 5, 6, 7, 8
# Key windows of H&S for sequences of length 100, in percent of seq_len.
WINDOWS = {
    "2bit": ((10, 20), (50, 60)),
    "3bit": ((10, 20), (33, 43), (66, 76)),
}
MIN_SEQ_LEN = 10


def key_windows(seq_len: int, variant: str) -> list[tuple[int, int]]:
    """The inclusive `(first, last)` time steps where each key may fall, scaled to `seq_len`."""
    return [((lo * seq_len + 50) // 100, (hi * seq_len + 50) // 100) for lo, hi in WINDOWS[variant]]


class TemporalOrderTask(Task):
    """Classify the order of two (or three) key symbols hidden among noise.

    A sequence starts with B and ends with E; the other steps are random symbols a-d, except
    two (2bit) or three (3bit) key steps, each X or Y, one per key window. The class is the key
    string read as binary with X = 0 and Y = 1, first key most significant: 2bit has 4 classes
    (XX, XY, YX, YY), 3bit 8. The windows of H&S ([10, 20] and [50, 60], or [10, 20], [33, 43]
    and [66, 76] of a length-100 sequence) scale with `seq_len`.

    Lengths are drawn uniformly from `[seq_len, seq_len + length_jitter]` (H&S: 100-110), and
    sequences are right-padded with 0 to `seq_len + length_jitter`; the model reads E at the
    last real step.

    Args:
        seq_len: shortest sequence length (>= 10, so that the key windows are distinct).
        variant: `"2bit"` or `"3bit"`.
        length_jitter: extra length drawn per sequence (>= 0).
        n_train, n_val, n_test: number of sequences per split (>= 1).
        seed: seeds every split (non-negative integer).

    Splits: x `(n, seq_len + length_jitter)` int32, y `(n,)` int32 class ids, positions
    `"keys"` `(n, 2 | 3)` (key steps) and `"end"` `(n,)` (the E step).
    """

    def __init__(
        self,
        seq_len: int = 100,
        variant: str = "2bit",
        length_jitter: int = 10,
        n_train: int = 5000,
        n_val: int = 500,
        n_test: int = 1000,
        seed: int = 0,
    ) -> None:
        self.seq_len = check_int("seq_len", seq_len, MIN_SEQ_LEN)
        self.variant = check_choice("variant", variant, tuple(WINDOWS))
        self.length_jitter = check_int("length_jitter", length_jitter, 0)
        self.sizes = check_sizes(n_train, n_val, n_test)
        self.seed = check_seed(seed)
        super().__init__()
        self.n_keys = len(WINDOWS[self.variant])
        labels = tuple("".join(k) for k in itertools.product("XY", repeat=self.n_keys))
        self.spec = TaskSpec(
            name="temporal_order",
            seq_len=self.seq_len,
            input_kind="tokens",
            input_dim=len(VOCAB),
            output="last",
            n_outputs=len(labels),
            primary_metric="accuracy",
            higher_is_better=True,
            vocab=VOCAB,
            labels=labels,
        )

    def _generate(self, rng: np.random.Generator, n: int) -> Split:
        """`n` fresh sequences drawn from `rng`."""
        width = self.seq_len + self.length_jitter
        rows = np.arange(n)
        lengths = self.seq_len + rng.integers(0, self.length_jitter + 1, size=n)
        x = rng.integers(NOISE[0], NOISE[-1] + 1, size=(n, width), dtype=np.int32)
        x[:, 0] = BEGIN
        x[rows, lengths - 1] = END
        x[np.arange(width) >= lengths[:, None]] = 0
        windows = key_windows(self.seq_len, self.variant)
        keys = np.stack([rng.integers(lo, hi + 1, size=n) for lo, hi in windows], axis=1)
        bits = rng.integers(0, 2, size=(n, self.n_keys), dtype=np.int32)  # (n, keys), Y = 1
        np.put_along_axis(x, keys, np.where(bits == 1, KEY_Y, KEY_X).astype(np.int32), axis=1)
        y = bits @ (2 ** np.arange(self.n_keys - 1, -1, -1, dtype=np.int32))
        return Split(x, y.astype(np.int32), {"keys": keys, "end": lengths - 1})

    def _make_splits(self) -> dict[str, Split]:
        return disjoint_splits(self._generate, self.seed, self.sizes)

    def metrics(self, y_pred: np.ndarray, split: Split) -> dict[str, float]:
        """`accuracy` and `ce` (nats) of `(n, classes)` logits."""
        logits = check_predictions(y_pred, (len(split), self.spec.n_outputs))
        return {
            "accuracy": float((logits.argmax(axis=-1) == split.y).mean()),
            "ce": float(cross_entropy(logits, split.y).mean()),
        }

    def baselines(self) -> dict[str, float]:
        """Chance and the training split's majority class, both on the test split."""
        splits = self.splits()
        chance = 1 / self.spec.n_outputs
        majority = majority_accuracy(splits["train"].y, splits["test"].y)
        return {
            "accuracy": max(chance, majority),
            "accuracy_chance": chance,
            "accuracy_majority": majority,
        }
