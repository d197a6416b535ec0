"""Reading the user's own files (`data=text data.path=…`, `data=table data.path=…`): paths, UTF-8,
tables by extension, the tokenisation rule and the vocabulary.

Every problem with a file is a `DataError` (a `ValueError`) whose one-line message names the
key, the file and what is allowed, so that the command line refuses it before any run starts.

The tokenisation rule is one function of TensorFlow string ops, `tokenize_tensor`, which both
training (`tokenize_all`, `tokenize`) and the SavedModel's `serve_text` run, so the two cannot
disagree (two tokenisers, Python's and TensorFlow's, did: at a NUL, and for code points whose
lower case differs between Python's and ICU's Unicode tables):
    0. CRLF line endings become LF, and a NUL reads as a space;
    1. with `lowercase`, Unicode lower-casing (`tf.strings.lower`: ICU's full case mapping);
    2. `tokens="char"`: every Unicode code point is a token (whitespace included);
    3. `tokens="word"`: each ASCII punctuation character (`PUNCTUATION`) is a token of its own,
       and the rest is split at runs of ASCII whitespace (space, tab, newline, CR, FF, VT);
       other characters (accents, CJK, non-breaking spaces) stay inside their word.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

PAD, UNK = "<pad>", "<unk>"
PUNCTUATION = r"([!-/:-@\[-`{-~])"  # the 32 ASCII punctuation characters, as a regex group
WHITESPACE = r"[ \t\n\r\f\v]+"
TOKENS = ("word", "char")
KEEP = ("start", "end")
TOKEN_STEP_BYTES = 12  # an int32 id in the padded array, its split's copy and the model's input
SEPARATORS = (";", "\t", "|", ",")  # what a one-column table's header may be split by
MAX_COLUMNS = 10_000  # columns of a table at most (pandas reads a header in quadratic time)
TABLE_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


class DataError(ValueError):
    """A file the data cannot be read from; the message is one line naming key, file and fix."""


def one_line(text: object) -> str:
    """A library's message squeezed onto one line."""
    return " ".join(str(text).split())


def resolve_paths(key: str, path: str | Sequence[str] | None) -> list[Path]:
    """The files `path` names: one file, a glob pattern (sorted matches) or a list of either.

    Raises:
        DataError: no path given, a file that does not exist, a pattern that matches nothing.
    """
    if path is None or (not isinstance(path, str) and len(path) == 0):
        raise DataError(f"{key}: required, the path of your file (or a glob, or a list)")
    files: list[Path] = []
    for item in [path] if isinstance(path, str) else list(path):
        item = str(Path(str(item)).expanduser()) if str(item).startswith("~") else str(item)
        if glob.has_magic(item):
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matches:
                raise DataError(f"{key}={item!r}: the pattern matches no file")
            files += matches
        elif Path(item).is_dir():
            pattern = str(Path(item) / "*.txt")
            raise DataError(
                f"{key}={item!r}: a folder; allowed: a file, a glob ('{key}={pattern}') or a list"
            )
        elif not Path(item).is_file():
            where = f" (relative to {Path.cwd()})" if not Path(item).is_absolute() else ""
            raise DataError(f"{key}={item!r}: no such file{where}")
        else:
            files.append(Path(item))
    return files


def read_utf8(key: str, path: Path, raw: bytes | None = None) -> str:
    """The text of `path` (a leading byte-order mark dropped).

    Raises:
        DataError: the bytes are not UTF-8; names the byte offset and the line.
    """
    raw = path.read_bytes() if raw is None else raw
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{key}={str(path)!r}: not UTF-8 text (byte {exc.start}, line {line}: {exc.reason}); "
            "allowed: UTF-8 files only (re-save the file as UTF-8)"
        ) from None


def table_format(key: str, path: Path) -> str:
    """`"csv"`, `"tsv"`, `"parquet"` or `"jsonl"` from the file's extension."""
    fmt = TABLE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        allowed = ", ".join(TABLE_FORMATS)
        raise DataError(f"{key}={str(path)!r}: unknown table extension; allowed: {allowed}")
    return fmt


def _bad_json_line(text: str) -> str:
    """Where a JSON Lines text first fails: `line N: <why>`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            return f"line {number}: {exc.msg}"
        if not isinstance(value, dict):
            return f"line {number}: a JSON {type(value).__name__}, not an object"
    return "no line is at fault on its own"


def read_table(key: str, path: Path) -> pd.DataFrame:
    """The table in `path`, read by pandas according to its extension.

    Raises:
        DataError: unknown extension, not UTF-8, a file pandas cannot parse (with the line where
            the format has lines), or no rows.
    """
    fmt = table_format(key, path)
    where = f"{key}={str(path)!r}"
    try:
        if fmt == "parquet":
            table = pd.read_parquet(path)
        else:
            raw = path.read_bytes()
            text = read_utf8(key, path, raw)  # checked here: pandas would name a byte of a chunk
            if fmt != "jsonl":
                _check_header(where, text, "," if fmt == "csv" else "\t")
            if fmt == "jsonl":
                try:
                    table = pd.read_json(io.BytesIO(raw), lines=True, encoding="utf-8")
                except (ValueError, TypeError):
                    bad = _bad_json_line(raw.decode("utf-8-sig"))
                    raise DataError(
                        f"{where}: pandas cannot parse it as JSON Lines ({bad}); allowed: one "
                        "JSON object per line"
                    ) from None
            else:
                sep = "," if fmt == "csv" else "\t"
                table = pd.read_csv(io.BytesIO(raw), sep=sep, encoding="utf-8-sig")
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        table = pd.DataFrame()
    except pd.errors.ParserError as exc:
        raise DataError(
            f"{where}: pandas cannot parse it as {fmt.upper()}: {one_line(exc)}"
        ) from None
    except Exception as exc:  # pyarrow's errors for a file that is no Parquet
        raise DataError(
            f"{where}: pandas cannot read it as {fmt}: {type(exc).__name__}: {one_line(exc)}"
        ) from None
    if len(table) == 0:
        raise DataError(f"{where}: empty after parsing (no rows); allowed: a table with rows")
    _check_names(where, [str(c) for c in table.columns])
    return table


def _check_names(where: str, names: list[str]) -> None:
    """Refuse a table with more than `MAX_COLUMNS` columns or a column name given twice (pandas
    would read the second `label` as `label.1`, and the first would be used without a word)."""
    if len(names) > MAX_COLUMNS:
        raise DataError(
            f"{where}: {len(names):,} columns; allowed: at most {MAX_COLUMNS:,} (keep the "
            "columns the task reads)"
        )
    twice = [name for name, count in Counter(names).items() if count > 1]
    if twice:
        raise DataError(
            f"{where}: the column {twice[0]!r} appears {names.count(twice[0])} times in the "
            "header; allowed: each column name once (rename or drop the others)"
        )


def _check_header(where: str, text: str, sep: str) -> None:
    """`_check_names` on a CSV/TSV header, read in linear time before pandas reads the file
    (a one-line file of millions of fields is refused in a second, not parsed for minutes)."""
    first = text.partition("\n")[0].removesuffix("\r")
    if '"' not in first:  # no quoted field: the first line is the header, split exactly
        if first.count(sep) >= MAX_COLUMNS:  # counted, not split into millions of names
            _check_names(where, [""] * (first.count(sep) + 1))
        _check_names(where, first.split(sep))
        return
    _check_names(where, next(csv.reader(io.StringIO(text), delimiter=sep), []))


def _separator_hint(present: list[str]) -> str:
    """For a table read as one column whose name holds another separator: which one."""
    for sep in SEPARATORS if len(present) == 1 else ():
        if sep in present[0]:
            return (
                f" (one column: is the file separated by {sep!r}? allowed: ',' in .csv, tabs in "
                ".tsv / .tab)"
            )
    return ""


def check_columns(table: pd.DataFrame, path: Path, wanted: Iterable[tuple[str, str]]) -> None:
    """Raise `DataError` naming the first `(key, column)` of `wanted` that `table` lacks, and the
    columns present."""
    present = [str(c) for c in table.columns]
    hint = _separator_hint(present)
    for key, name in wanted:
        if name not in table.columns:
            raise DataError(
                f"{key}={name!r}: no such column in {path}; columns present: "
                f"{', '.join(present)}{hint}"
            )


def tokenize_tensor(strings, tokens: str, lowercase: bool):
    """The tokenisation rule (the module docstring) in TensorFlow ops, run in training and in
    the SavedModel's graph alike: `(batch,)` `tf.string` → `(batch, None)` ragged `tf.string`
    tokens (UTF-8)."""
    import tensorflow as tf

    strings = tf.strings.regex_replace(strings, "\r\n", "\n")
    strings = tf.strings.regex_replace(strings, "\\x00", " ")  # ICU's lower stops at a NUL
    if lowercase:
        strings = tf.strings.lower(strings, encoding="utf-8")
    if tokens == "char":
        return tf.strings.unicode_split(strings, "UTF-8")
    spaced = tf.strings.regex_replace(strings, PUNCTUATION, r" \1 ")
    spaced = tf.strings.regex_replace(spaced, WHITESPACE, " ")
    pieces = tf.strings.split(tf.strings.strip(spaced), sep=" ")
    return tf.ragged.boolean_mask(pieces, tf.strings.length(pieces) > 0)


def tokenize_all(
    texts: Sequence[str], tokens: str, lowercase: bool, chunk: int = 4096
) -> list[list[str]]:
    """The tokens of each of `texts` by `tokenize_tensor`, `chunk` texts at a time."""
    import tensorflow as tf

    result: list[list[str]] = []
    for start in range(0, len(texts), chunk):
        batch = tf.constant(list(texts[start : start + chunk]), dtype=tf.string)
        rows = tokenize_tensor(batch, tokens, lowercase).to_list()
        result += [[token.decode("utf-8") for token in row] for row in rows]
    return result


def tokenize(text: str, tokens: str, lowercase: bool) -> list[str]:
    """The tokens of one `text` by `tokenize_tensor` (what the explorer's box is read by)."""
    return tokenize_all([text], tokens, lowercase)[0]


def build_vocab(sequences: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """`("<pad>", "<unk>", *tokens)`: the tokens of `sequences`, most frequent first (ties in
    code-point order), so that id 0 is padding and 1 stands for any token not seen here."""
    counts = Counter(token for sequence in sequences for token in sequence)
    ordered = sorted(counts, key=lambda token: (-counts[token], token))
    return (PAD, UNK, *ordered)


def machine_memory() -> int:
    """This machine's physical memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_padded_size(
    lengths: np.ndarray, width: int, step_bytes: int, what: str, also: str = ""
) -> None:
    """Refuse right-padding sequences of `(n,)` `lengths` to `width` steps when the copies of
    the padded array (`step_bytes` per step, all copies together) would not fit in this
    machine's memory: one runaway sequence (an id column that groups too much, a text of a
    whole book) pads every other one to its length.

    Raises:
        DataError: naming the longest sequence, the memory and a `data.max_len` that keeps
            99% of the sequences whole (and `also`, another way out).
    """
    need, machine = len(lengths) * width * step_bytes, machine_memory()
    if need <= machine:
        return
    keep = int(np.quantile(lengths, 0.99, method="inverted_cdf"))
    raise DataError(
        f"data.max_len: {len(lengths):,} {what} padded to the longest ({width:,} steps) need "
        f"about {need / 2**30:.3g} GiB, more than this machine's {machine / 2**30:.3g} GiB; "
        f"allowed: a data.max_len that fits, e.g. data.max_len={keep} (99% of the sequences "
        f"are no longer){also}"
    )


def encode_padded(
    sequences: Sequence[Sequence[str]], vocab: Sequence[str], max_len: int | None, keep: str
) -> np.ndarray:
    """`(n, time)` int32 ids, right-padded with 0; unknown tokens → 1 (`<unk>`).

    `time` is the longest sequence, at most `max_len`; a longer sequence keeps its first
    (`keep="start"`) or its last (`keep="end"`) `max_len` tokens.
    """
    ids = {token: i for i, token in enumerate(vocab)}
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    longest = int(lengths.max(initial=0))
    width = max(1, longest if max_len is None else min(longest, max_len))
    check_padded_size(lengths, width, TOKEN_STEP_BYTES, "texts")
    x = np.zeros((len(sequences), width), dtype=np.int32)
    for row, sequence in enumerate(sequences):
        kept = sequence[:width] if keep == "start" else sequence[max(0, len(sequence) - width) :]
        x[row, : len(kept)] = [ids.get(token, 1) for token in kept]
    return x
