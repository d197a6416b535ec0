"""Character-level next-character prediction on the Python standard library's own sources."""

from __future__ import annotations

import hashlib
import math
import sysconfig
from pathlib import Path

import numpy as np

from data.base import Split, Task, TaskSpec
from data.common import (
    check_int,
    check_predictions,
    check_seed,
    check_sizes,
    cross_entropy,
    rng_for,
    unigram_cross_entropy,
)

# Long-lived pure-Python modules present (at these paths) from Python 3.11 on. Modules that
# became packages or thin wrappers (zipfile, pathlib, datetime, decimal) are left out.
FILES = {
    "train": (
        "argparse.py", "ast.py", "calendar.py", "collections/__init__.py", "contextlib.py",
        "csv.py", "dataclasses.py", "enum.py", "fractions.py", "functools.py", "gettext.py",
        "heapq.py", "inspect.py", "json/decoder.py", "json/encoder.py", "logging/__init__.py",
        "optparse.py", "pprint.py", "random.py", "shlex.py", "shutil.py", "statistics.py",
        "string.py", "subprocess.py", "tarfile.py", "tempfile.py", "threading.py",
        "tokenize.py", "traceback.py",
    ),
    "val": ("configparser.py", "textwrap.py"),
    "test": ("difflib.py",),
}  # fmt: skip
PAD, UNK = 0, 1
VOCAB = ("<pad>", "<unk>", "\n", *(chr(c) for c in range(32, 127)))
CHAR_ID = {ch: i for i, ch in enumerate(VOCAB) if i > UNK}
MAX_SEQ_LEN = 10_000


def stdlib_root() -> Path:
    """The directory of the running interpreter's standard library sources."""
    return Path(sysconfig.get_paths()["stdlib"])


def read_corpus(split: str) -> str:
    """The concatenated sources of one split's files, line endings normalised to `"\\n"`."""
    root = stdlib_root()
    texts = [(root / name).read_text(encoding="utf-8") for name in FILES[split]]
    return "\n".join(texts).replace("\r\n", "\n")


def encode(text: str) -> np.ndarray:
    """`(len(text),)` int32 ids; characters outside `VOCAB` become `<unk>`."""
    ascii_ids = np.full(128, UNK, dtype=np.int32)
    ascii_ids[[ord(ch) for ch in CHAR_ID]] = list(CHAR_ID.values())
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return np.where(codes < 128, ascii_ids[np.minimum(codes, 127)], UNK).astype(np.int32)


def decode(ids: np.ndarray) -> str:
    """Inverse of `encode` (`<unk>` and `<pad>` render as their names)."""
    return "".join(VOCAB[i] for i in np.asarray(ids).ravel())


class TextTask(Task):
    """Predict the next character of Python source code at every step of a window.

    The corpus is a fixed list of standard-library modules read from the running interpreter
    (`FILES`): training files, one validation file pair and one test file, so no file is in two
    splits. Windows of `seq_len` characters start at random offsets; the target is the window
    shifted by one character. The vocabulary is fixed: `<pad>`, `<unk>`, newline and the 95
    printable ASCII characters; output classes are the same ids (class 0 never occurs).

    Args:
        seq_len: window length in characters (1 to 10,000).
        n_train, n_val, n_test: number of windows per split (>= 1).
        max_train_chars: windows are drawn from the first this many training characters
            (>= seq_len + 1), to keep a run small.
        seed: seeds the window offsets (non-negative integer).

    Splits: x `(n, seq_len)` int32, y `(n, seq_len)` int32, no positions.
    """

    def __init__(
        self,
        seq_len: int = 100,
        n_train: int = 5000,
        n_val: int = 500,
        n_test: int = 500,
        max_train_chars: int = 1_000_000,
        seed: int = 0,
    ) -> None:
        self.seq_len = check_int("seq_len", seq_len, 1, MAX_SEQ_LEN)
        self.sizes = check_sizes(n_train, n_val, n_test)
        self.max_train_chars = check_int("max_train_chars", max_train_chars, self.seq_len + 1)
        self.seed = check_seed(seed)
        super().__init__()
        self._ids: dict[str, np.ndarray] | None = None
        self.spec = TaskSpec(
            name="text",
            seq_len=self.seq_len,
            input_kind="tokens",
            input_dim=len(VOCAB),
            output="sequence",
            n_outputs=len(VOCAB),
            primary_metric="bpc",
            higher_is_better=False,
            vocab=VOCAB,
            labels=VOCAB,
        )

    def corpus(self) -> dict[str, np.ndarray]:
        """Encoded text per split, `(chars,)` int32; training text cut to `max_train_chars`."""
        if self._ids is None:
            ids = {split: encode(read_corpus(split)) for split in FILES}
            ids["train"] = ids["train"][: self.max_train_chars]
            self._ids = ids
        return self._ids

    def fingerprint(self) -> str:
        """SHA-256 of the encoded corpus: equal fingerprints mean equal data across machines."""
        digest = hashlib.sha256()
        for split in FILES:
            digest.update(self.corpus()[split].tobytes())
        return digest.hexdigest()

    def _windows(self, ids: np.ndarray, rng: np.random.Generator, n: int) -> Split:
        """`n` windows at random offsets of `ids`: x `(n, seq_len)`, y shifted by one."""
        starts = rng.integers(0, len(ids) - self.seq_len, size=n)
        chunks = ids[starts[:, None] + np.arange(self.seq_len + 1)]  # (n, seq_len + 1)
        return Split(chunks[:, :-1], chunks[:, 1:])

    def _make_splits(self) -> dict[str, Split]:
        corpus = self.corpus()
        return {
            split: self._windows(corpus[split], rng_for(self.seed, split), n)
            for split, n in self.sizes.items()
        }

    def metrics(self, y_pred: np.ndarray, split: Split) -> dict[str, float]:
        """`bpc` (bits per character) and `ce` (nats per character) of `(n, seq_len, V)` logits."""
        logits = check_predictions(y_pred, (len(split), self.seq_len, len(VOCAB)))
        ce = float(cross_entropy(logits, split.y).mean())
        return {"bpc": ce / math.log(2), "ce": ce}

    def baselines(self) -> dict[str, float]:
        """Unigram baselines in bits per character.

        `bpc`: cross-entropy of the training text's character frequencies on the test split's
        targets. `bpc_train_entropy`: entropy of those frequencies on the training text itself.
        """
        train = self.corpus()["train"]
        test = self.splits()["test"]
        n_classes = len(VOCAB)
        counts = np.bincount(train, minlength=n_classes)
        p = counts[counts > 0] / counts.sum()
        return {
            "bpc": unigram_cross_entropy(train, test.y, n_classes) / math.log(2),
            "bpc_train_entropy": float(-(p * np.log2(p)).sum()),
        }
