"""Character-level next-character prediction on the Python standard library's own sources."""

from __future__ import annotations

import hashlib
import math
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from data.base import Split, Task, TaskSpec
from data.common import (
    check_float,
    check_int,
    check_predictions,
    check_seed,
    check_sizes,
    cross_entropy,
    rng_for,
    unigram_cross_entropy,
)
from data.own import PAD as PAD_TOKEN
from data.own import UNK as UNK_TOKEN
from data.own import DataError, read_utf8, resolve_paths

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
MAX_CODE_POINT = 0x10FFFF


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


def _code_chunks(text: str, start: int, stop: int, size: int = 1 << 20) -> Iterator[np.ndarray]:
    """The code points of `text[start:stop]`, `(≤ size,)` uint32 at a time (bounded memory)."""
    for begin in range(start, stop, size):
        chunk = text[begin : min(begin + size, stop)]
        yield np.frombuffer(chunk.encode("utf-32-le"), dtype=np.uint32)


def _add_counts(total: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """`total + counts` for bincounts of different lengths."""
    if len(counts) > len(total):
        total, counts = counts, total
    total = total.copy()
    total[: len(counts)] += counts
    return total


class TextTask(Task):
    """Predict the next character of Python source code at every step of a window.

    The corpus is a fixed list of standard-library modules read from the running interpreter
    (`FILES`): training files, one validation file pair and one test file, so no file is in two
    splits. Windows of `seq_len` characters start at random offsets; the target is the window
    shifted by one character. The vocabulary is fixed: `<pad>`, `<unk>`, newline and the 95
    printable ASCII characters; output classes are the same ids (class 0 never occurs).

    With `path` (your own UTF-8 text: a file, a glob or a list of them, concatenated in that
    order with a newline between files) the text is cut into three contiguous blocks: the first
    `1 - val_frac - test_frac` of its characters train, the next `val_frac` validate, the last
    `test_frac` test. The vocabulary is then `<pad>`, `<unk>` and the training block's characters
    (most frequent first); characters met only in val/test read as `<unk>`. No lower-casing;
    CRLF line endings become LF.

    Args:
        seq_len: window length in characters (1 to 10,000).
        n_train, n_val, n_test: number of windows per split (>= 1).
        max_train_chars: windows are drawn from the first this many training characters
            (>= seq_len + 1), to keep a run small.
        path: null (the standard library's sources) or your text file(s).
        val_frac, test_frac: block shares of your text, each in (0, 0.5).
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
        path: str | list[str] | None = None,
        val_frac: float = 0.1,
        test_frac: float = 0.1,
        seed: int = 0,
    ) -> None:
        self.seq_len = check_int("seq_len", seq_len, 1, MAX_SEQ_LEN)
        self.sizes = check_sizes(n_train, n_val, n_test)
        self.max_train_chars = check_int("max_train_chars", max_train_chars, self.seq_len + 1)
        self.val_frac = check_float("val_frac", val_frac, 0, 0.5, open_low=True, open_high=True)
        self.test_frac = check_float("test_frac", test_frac, 0, 0.5, open_low=True, open_high=True)
        self.seed = check_seed(seed)
        super().__init__()
        self._ids: dict[str, np.ndarray] | None = None
        self.vocab = VOCAB
        if path is not None:
            self._ids, self.vocab = self._own_text(resolve_paths("data.path", path))
        self.spec = TaskSpec(
            name="text",
            seq_len=self.seq_len,
            input_kind="tokens",
            input_dim=len(self.vocab),
            output="sequence",
            n_outputs=len(self.vocab),
            primary_metric="bpc",
            higher_is_better=False,
            vocab=self.vocab,
            labels=self.vocab,
        )

    def _own_text(self, paths: list[Path]) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
        """Encoded contiguous blocks `{"train", "val", "test"}` → `(chars,)` int32 of the files,
        and the vocabulary of the training block.

        Raises:
            DataError: a file that is not UTF-8, or a block shorter than `seq_len + 1`.
        """
        text = "\n".join(read_utf8("data.path", p) for p in paths).replace("\r\n", "\n")
        n = len(text)
        n_val, n_test = int(n * self.val_frac), int(n * self.test_frac)
        bounds = {"train": (0, n - n_val - n_test), "val": (n - n_val - n_test, n - n_test)}
        bounds["test"] = (n - n_test, n)
        for split, (start, stop) in bounds.items():
            if stop - start < self.seq_len + 1:
                raise DataError(
                    f"data.path: {n:,} characters give a {split} block of {stop - start:,}, "
                    f"fewer than data.seq_len + 1 = {self.seq_len + 1}; allowed: more text, a "
                    "smaller data.seq_len or larger data.val_frac / data.test_frac"
                )
        bounds["train"] = (0, min(bounds["train"][1], self.max_train_chars))
        counts = np.zeros(0, dtype=np.int64)
        for codes in _code_chunks(text, *bounds["train"]):
            counts = _add_counts(counts, np.bincount(codes))
        present = np.flatnonzero(counts)
        order = present[np.lexsort((present, -counts[present]))]  # most frequent first
        vocab = (PAD_TOKEN, UNK_TOKEN, *(chr(c) for c in order))
        lookup = np.full(MAX_CODE_POINT + 1, UNK, dtype=np.uint32)
        lookup[order] = np.arange(2, len(order) + 2)
        dtype = np.uint8 if len(vocab) <= 256 else np.uint16 if len(vocab) <= 65536 else np.int32
        ids = {}
        for split, (start, stop) in bounds.items():
            ids[split] = np.empty(stop - start, dtype=dtype)
            done = 0
            for codes in _code_chunks(text, start, stop):
                ids[split][done : done + len(codes)] = lookup[codes]
                done += len(codes)
        return ids, vocab

    def preprocessing(self) -> dict:
        """Characters, case kept, through this run's vocabulary (see `Task.preprocessing`)."""
        return {
            "kind": "tokens",
            "tokens": "char",
            "lowercase": False,
            "vocab": list(self.vocab),
            "max_len": None,
            "keep": "start",
        }

    def corpus(self) -> dict[str, np.ndarray]:
        """Encoded text per split, `(chars,)` ids (int32; with `path` the smallest unsigned type
        that holds them); training text cut to `max_train_chars`."""
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
        chunks = ids[starts[:, None] + np.arange(self.seq_len + 1)].astype(np.int32)
        return Split(chunks[:, :-1], chunks[:, 1:])

    def _make_splits(self) -> dict[str, Split]:
        corpus = self.corpus()
        return {
            split: self._windows(corpus[split], rng_for(self.seed, split), n)
            for split, n in self.sizes.items()
        }

    def metrics(self, y_pred: np.ndarray, split: Split) -> dict[str, float]:
        """`bpc` (bits per character) and `ce` (nats per character) of `(n, seq_len, V)` logits."""
        logits = check_predictions(y_pred, (len(split), self.seq_len, len(self.vocab)))
        ce = float(cross_entropy(logits, split.y).mean())
        return {"bpc": ce / math.log(2), "ce": ce}

    def baselines(self) -> dict[str, float]:
        """Unigram baselines in bits per character.

        `bpc`: cross-entropy of the training text's character frequencies on the test split's
        targets. `bpc_train_entropy`: entropy of those frequencies on the training text itself.
        """
        train = self.corpus()["train"]
        test = self.splits()["test"]
        n_classes = len(self.vocab)
        counts = np.bincount(train, minlength=n_classes)
        p = counts[counts > 0] / counts.sum()
        return {
            "bpc": unigram_cross_entropy(train, test.y, n_classes) / math.log(2),
            "bpc_train_entropy": float(-(p * np.log2(p)).sum()),
        }
