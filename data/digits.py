"""Sequential digits: scikit-learn's 8x8 handwritten digits read row by row or pixel by pixel."""

from __future__ import annotations

import numpy as np

from data.base import Split, Task, TaskSpec
from data.common import (
    check_choice,
    check_float,
    check_predictions,
    check_seed,
    cross_entropy,
    majority_accuracy,
)

VARIANTS = ("rows", "pixels", "permuted")
# One permutation for every seed (as in permuted MNIST), so that seeds differ only in the split.
PERMUTATION_SEED = 0
SIDE = 8
MAX_PIXEL = 16.0


def pixel_permutation() -> np.ndarray:
    """The fixed `(64,)` pixel order of the `"permuted"` variant."""
    return np.random.default_rng(PERMUTATION_SEED).permutation(SIDE * SIDE)


def as_sequences(images: np.ndarray, variant: str) -> np.ndarray:
    """`(n, 64)` pixel values in [0, 16] → float32 sequences in [0, 1].

    Returns: `(n, 8, 8)` for `"rows"` (one row per step), `(n, 64, 1)` for `"pixels"` and
    `"permuted"`.
    """
    scaled = (images / MAX_PIXEL).astype(np.float32)
    if variant == "rows":
        return scaled.reshape(-1, SIDE, SIDE)
    if variant == "permuted":
        scaled = scaled[:, pixel_permutation()]
    return scaled[:, :, None]


class DigitsTask(Task):
    """Classify the 1,797 8x8 digits of `sklearn.datasets.load_digits` read as a sequence.

    Nothing is downloaded: the data ships inside scikit-learn. Splits are stratified by class
    with fixed fractions; only the split depends on `seed`.

    Args:
        variant: `"rows"` (T = 8, 8 features), `"pixels"` (T = 64, 1 feature) or `"permuted"`
            (T = 64, pixels in one fixed random order).
        val_frac, test_frac: shares of the images in val and test, each in (0, 0.5).
        seed: seeds the split (non-negative integer).

    Splits: x `(n, T, F)` float32 in [0, 1], y `(n,)` int32 digits, no positions.
    `self.indices()` gives each split's image indices into `load_digits`.
    """

    def __init__(
        self,
        variant: str = "rows",
        val_frac: float = 0.15,
        test_frac: float = 0.15,
        seed: int = 0,
    ) -> None:
        self.variant = check_choice("variant", variant, VARIANTS)
        self.val_frac = check_float("val_frac", val_frac, 0, 0.5, open_low=True, open_high=True)
        self.test_frac = check_float("test_frac", test_frac, 0, 0.5, open_low=True, open_high=True)
        self.seed = check_seed(seed)
        super().__init__()
        rows = variant == "rows"
        self.spec = TaskSpec(
            name="digits",
            seq_len=SIDE if rows else SIDE * SIDE,
            input_kind="features",
            input_dim=SIDE if rows else 1,
            output="last",
            n_outputs=10,
            primary_metric="accuracy",
            higher_is_better=True,
            labels=tuple(str(d) for d in range(10)),
        )

    def _split_indices(self, y: np.ndarray) -> dict[str, np.ndarray]:
        """Stratified, disjoint, sorted index arrays for train, val and test."""
        from sklearn.model_selection import train_test_split

        index = np.arange(len(y))
        rest, test = train_test_split(
            index, test_size=self.test_frac, stratify=y, random_state=self.seed
        )
        val_size = self.val_frac / (1 - self.test_frac)
        train, val = train_test_split(
            rest, test_size=val_size, stratify=y[rest], random_state=self.seed
        )
        return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}

    def indices(self) -> dict[str, np.ndarray]:
        """Each split's image indices into `load_digits()`, sorted, `(n,)` int."""
        from sklearn.datasets import load_digits

        return self._split_indices(load_digits().target)

    def _make_splits(self) -> dict[str, Split]:
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = as_sequences(digits.data, self.variant)
        y = digits.target.astype(np.int32)
        return {name: Split(x[i], y[i]) for name, i in self._split_indices(y).items()}

    def metrics(self, y_pred: np.ndarray, split: Split) -> dict[str, float]:
        """`accuracy` and `ce` (nats) of `(n, 10)` logits."""
        logits = check_predictions(y_pred, (len(split), 10))
        return {
            "accuracy": float((logits.argmax(axis=-1) == split.y).mean()),
            "ce": float(cross_entropy(logits, split.y).mean()),
        }

    def baselines(self) -> dict[str, float]:
        """Baselines on the test split.

        `accuracy`: the better of chance (0.1) and the training split's majority class.
        `accuracy_svc` is an upper anchor, not a no-memory baseline: an RBF SVC fitted on the
        flat training images (order does not matter to it).
        """
        from sklearn.svm import SVC

        splits = self.splits()
        train, test = splits["train"], splits["test"]
        flat = {name: s.x.reshape(len(s), -1) for name, s in (("train", train), ("test", test))}
        svc = SVC().fit(flat["train"], train.y)
        majority = majority_accuracy(train.y, test.y)
        return {
            "accuracy": max(majority, 0.1),
            "accuracy_majority": majority,
            "accuracy_chance": 0.1,
            "accuracy_svc": float((svc.predict(flat["test"]) == test.y).mean()),
        }
