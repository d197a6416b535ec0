"""The adding problem (Hochreiter & Schmidhuber 1997, Exp. 4; the form of Arjovsky et al. 2016)."""

from __future__ import annotations

import numpy as np

from data.base import Split, Task, TaskSpec
from data.common import check_int, check_predictions, check_seed, check_sizes, disjoint_splits

SOLVED_TOLERANCE = 0.04


class AddingTask(Task):
    """Sum the two marked values of a long sequence.

    Each step has two channels: channel 0 a value ~ U[0, 1], channel 1 a marker that is 1 at
    exactly two steps, one in each half of the sequence. The target is the sum of the two
    marked values. Predicting 1 regardless gives MSE = Var(U + U) = 1/6.

    Args:
        seq_len: sequence length T (>= 2, one marker per half).
        n_train, n_val, n_test: number of sequences per split (>= 1).
        seed: seeds every split (non-negative integer).

    Splits: x `(n, T, 2)` float32, y `(n, 1)` float32, positions `"markers"` `(n, 2)` (the two
    marked steps, first-half one first).

    Example:
        >>> task = AddingTask(seq_len=50, n_train=8, n_val=4, n_test=4)
        >>> task.splits()["train"].x.shape
        (8, 50, 2)
    """

    def __init__(
        self,
        seq_len: int = 100,
        n_train: int = 10000,
        n_val: int = 1000,
        n_test: int = 1000,
        seed: int = 0,
    ) -> None:
        self.seq_len = check_int("seq_len", seq_len, 2)
        self.sizes = check_sizes(n_train, n_val, n_test)
        self.seed = check_seed(seed)
        super().__init__()
        self.spec = TaskSpec(
            name="adding",
            seq_len=self.seq_len,
            input_kind="features",
            input_dim=2,
            output="last",
            n_outputs=1,
            primary_metric="mse",
            higher_is_better=False,
        )

    def _generate(self, rng: np.random.Generator, n: int) -> Split:
        """`n` fresh sequences drawn from `rng`."""
        half = self.seq_len // 2
        values = rng.random((n, self.seq_len), dtype=np.float32)
        first = rng.integers(0, half, size=n)
        second = rng.integers(half, self.seq_len, size=n)
        markers = np.stack([first, second], axis=1)  # (n, 2)
        marks = np.zeros((n, self.seq_len), dtype=np.float32)
        np.put_along_axis(marks, markers, 1.0, axis=1)
        x = np.stack([values, marks], axis=-1)  # (n, T, 2)
        y = np.take_along_axis(values, markers, axis=1).sum(axis=1, keepdims=True)
        return Split(x, y.astype(np.float32), {"markers": markers})

    def _make_splits(self) -> dict[str, Split]:
        return disjoint_splits(self._generate, self.seed, self.sizes)

    def metrics(self, y_pred: np.ndarray, split: Split) -> dict[str, float]:
        """`mse` and `solved_frac` (share of sequences with |error| < 0.04) of `(n, 1)` outputs."""
        y_pred = check_predictions(y_pred, (len(split), 1))
        error = y_pred - split.y
        return {
            "mse": float(np.mean(error**2)),
            "solved_frac": float(np.mean(np.abs(error) < SOLVED_TOLERANCE)),
        }

    def baselines(self) -> dict[str, float]:
        """Predict 1 on the test split; `*_analytic` are the values for infinitely many sequences.

        P(|U1 + U2 - 1| < e) = 1 - (1 - e)^2 for the triangular density of U1 + U2.
        """
        test = self.splits()["test"]
        constant = self.metrics(np.ones((len(test), 1)), test)
        return {
            "mse": constant["mse"],
            "mse_analytic": 1 / 6,
            "solved_frac": constant["solved_frac"],
            "solved_frac_analytic": 1 - (1 - SOLVED_TOLERANCE) ** 2,
        }
