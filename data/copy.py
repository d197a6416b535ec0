"""Copy memory (Hochreiter & Schmidhuber 1997; the form of Arjovsky et al. 2016)."""

from __future__ import annotations

import numpy as np

from data.base import Split, Task, TaskSpec
from data.common import (
    check_int,
    check_predictions,
    check_seed,
    check_sizes,
    cross_entropy,
    disjoint_splits,
)

N_SYMBOLS = 8
N_COPY = 10
BLANK, DELIMITER = 1, N_SYMBOLS + 2
VOCAB = ("<pad>", "_", *(f"a{k}" for k in range(1, N_SYMBOLS + 1)), ":")
LABELS = ("_", *(f"a{k}" for k in range(1, N_SYMBOLS + 1)))


class CopyTask(Task):
    """Reproduce ten symbols after a long blank stretch.

    Input (length T + 20): 10 symbols drawn from a1..a8, T - 1 blanks, a delimiter, 10 blanks.
    Target: blank for the first T + 10 steps, then the 10 symbols. No step is padded.

    Input ids: 1 blank, 2..9 a1..a8, 10 delimiter (0 `"<pad>"` is reserved but unused).
    Output classes (9): 0 blank, 1..8 a1..a8, i.e. class = input id - 1 (`spec.labels`).
    A memoryless model that predicts blank then uniform symbols scores 10 ln 8 / (T + 20) nats.

    Args:
        seq_len: T, the number of steps between the last symbol and the delimiter plus one
            (>= 1).
        n_train, n_val, n_test: number of sequences per split (>= 1).
        seed: seeds every split (non-negative integer).

    Splits: x `(n, T + 20)` int32, y `(n, T + 20)` int32, positions `"delimiter"` `(n,)`.
    """

    def __init__(
        self,
        seq_len: int = 100,
        n_train: int = 10000,
        n_val: int = 1000,
        n_test: int = 1000,
        seed: int = 0,
    ) -> None:
        self.seq_len = check_int("seq_len", seq_len, 1)
        self.sizes = check_sizes(n_train, n_val, n_test)
        self.seed = check_seed(seed)
        super().__init__()
        self.spec = TaskSpec(
            name="copy",
            seq_len=self.seq_len,
            input_kind="tokens",
            input_dim=len(VOCAB),
            output="sequence",
            n_outputs=len(LABELS),
            primary_metric="ce",
            higher_is_better=False,
            vocab=VOCAB,
            labels=LABELS,
        )

    @property
    def length(self) -> int:
        """Steps per sequence, T + 20."""
        return self.seq_len + 2 * N_COPY

    def _generate(self, rng: np.random.Generator, n: int) -> Split:
        """`n` fresh sequences drawn from `rng`."""
        symbols = rng.integers(1, N_SYMBOLS + 1, size=(n, N_COPY), dtype=np.int32)  # classes
        delimiter = self.length - N_COPY - 1
        x = np.full((n, self.length), BLANK, dtype=np.int32)
        x[:, :N_COPY] = symbols + 1
        x[:, delimiter] = DELIMITER
        y = np.zeros((n, self.length), dtype=np.int32)
        y[:, -N_COPY:] = symbols
        return Split(x, y, {"delimiter": np.full(n, delimiter, dtype=np.int64)})

    def _make_splits(self) -> dict[str, Split]:
        return disjoint_splits(self._generate, self.seed, self.sizes)

    def metrics(self, y_pred: np.ndarray, split: Split) -> dict[str, float]:
        """`ce` (nats, mean of all T + 20 steps), `accuracy_last10` of `(n, T + 20, 9)` logits."""
        logits = check_predictions(y_pred, (len(split), self.length, len(LABELS)))
        last = slice(-N_COPY, None)
        correct = logits[:, last].argmax(axis=-1) == split.y[:, last]
        return {
            "ce": float(cross_entropy(logits, split.y).mean()),
            "accuracy_last10": float(correct.mean()),
        }

    def baselines(self) -> dict[str, float]:
        """Memoryless baselines on the test split.

        `ce`: each step predicts the training split's class frequencies at that step (the best a
        model can do that knows the time but not the symbols). `accuracy_last10`: chance, 1/8.
        """
        splits = self.splits()
        train_y, test_y = splits["train"].y, splits["test"].y
        counts = np.stack([np.bincount(col, minlength=len(LABELS)) for col in train_y.T]) + 0.5
        log_p = np.log(counts / counts.sum(axis=1, keepdims=True))  # (T + 20, classes)
        steps = np.arange(self.length)
        return {
            "ce": float(-log_p[steps, test_y].mean()),
            "ce_analytic": float(N_COPY * np.log(N_SYMBOLS) / self.length),
            "accuracy_last10": 1 / N_SYMBOLS,
        }
