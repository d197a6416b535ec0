"""Your own table (`data=table data.path=FILE`): one target per sequence, the sequence either a
text column or numeric rows in long format (one row per sequence and time step)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from data.base import Split, Task, TaskSpec
from data.common import (
    SPLIT_NAMES,
    check_choice,
    check_float,
    check_int,
    check_predictions,
    check_seed,
    cross_entropy,
    majority_accuracy,
    rng_for,
)
from data.own import (
    KEEP,
    TOKENS,
    DataError,
    build_vocab,
    check_columns,
    check_padded_size,
    encode_padded,
    read_table,
    resolve_paths,
    tokenize_all,
)

TARGETS = ("class", "value")
FLOAT32_MAX = float(np.finfo(np.float32).max)  # features and values reach the model as float32
SPLIT_ALIASES = {"validation": "val", "valid": "val", "dev": "val"}  # e.g. Hugging Face's names


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unweighted mean F1 over the classes in `y_true` or `y_pred` (scikit-learn's `macro`)."""
    scores = []
    for c in np.union1d(y_true, y_pred):
        tp = np.sum((y_pred == c) & (y_true == c))
        denominator = np.sum(y_pred == c) + np.sum(y_true == c)
        scores.append(2 * tp / denominator)
    return float(np.mean(scores))


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (for messages: `7`, not `np.int64(7)`)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_roles(columns: list[tuple[str, str]]) -> None:
    """Refuse a column named by two `(key, column)` pairs: a label among the inputs would give
    the answer away, and a column cannot be both the id or time and a feature."""
    seen: dict[str, str] = {}
    for key, column in columns:
        if column in seen:
            raise DataError(
                f"{key}={column!r}: the same column as {seen[column]}; allowed: each column in "
                "one role (label, text, id, time or feature)"
            )
        seen[column] = key


def _row(index: int) -> str:
    return f"row {index + 1} (counting data rows from 1)"


class TableTask(Task):
    """Predict one label per sequence read from a CSV, TSV, Parquet or JSON Lines table.

    Either `text_column` (one row per sequence, tokenised by `data.own.tokenize`, vocabulary
    from the training split only, most frequent first) or `id_column` + `feature_columns` (long
    format: one row per step, ordered by `time_column` (numbers, or dates and times) or else by
    file order; features
    standardised with the training split's mean and standard deviation, per column).
    Sequences are right-padded to the longest one (at most `max_len`, keeping the `keep` end of
    longer ones): token id 0, or all-zero feature steps, which a last input channel `present`
    (1 on every real step) tells apart from real ones.

    Args:
        path: the table; the extension picks the reader (`.csv`, `.tsv`, `.parquet`, `.jsonl`).
        label_column: one target per sequence (constant within a long-format sequence).
        text_column, tokens, lowercase: the text sequences and how they are tokenised.
        id_column, time_column, feature_columns: the long-format numeric sequences.
        target: `"class"` or `"value"`; null infers it (floats → value, else class).
        split_column: a column of `train` / `val` / `test` per row, used when the table has it;
            otherwise `val_frac` and `test_frac` of the sequences are drawn by `seed`.
        max_len: longest sequence kept (null: no limit); `keep`: `"start"` or `"end"`.
        seed: seeds the drawn split (non-negative integer).

    Splits: x `(n, time)` int32 ids or `(n, time, features + 1)` float32, y `(n,)` int32 class
    ids or `(n, 1)` float32 values, no positions. Values are standardised with the training
    split's mean and standard deviation (`target_mean`, `target_std`; a constant target is only
    centred), so that the model trains on targets near 0 whatever their units; `metrics`,
    `baselines` and the SavedModel's endpoints (`preprocessing()["target"]`) give values in the
    target's own units (`in_target_units`).
    """

    def __init__(
        self,
        path: str | None = None,
        label_column: str | None = None,
        text_column: str | None = None,
        tokens: str = "word",
        lowercase: bool = True,
        id_column: str | None = None,
        time_column: str | None = None,
        feature_columns: list[str] | None = None,
        target: str | None = None,
        split_column: str = "split",
        val_frac: float = 0.1,
        test_frac: float = 0.1,
        max_len: int | None = None,
        keep: str = "start",
        seed: int = 0,
    ) -> None:
        self.tokens = check_choice("tokens", tokens, TOKENS)
        self.keep = check_choice("keep", keep, KEEP)
        self.max_len = None if max_len is None else check_int("max_len", max_len, 1)
        self.val_frac = check_float("val_frac", val_frac, 0, 0.5, open_low=True, open_high=True)
        self.test_frac = check_float("test_frac", test_frac, 0, 0.5, open_low=True, open_high=True)
        self.seed = check_seed(seed)
        self.target = None if target is None else check_choice("target", target, TARGETS)
        self.lowercase = bool(lowercase)
        if isinstance(feature_columns, str):  # data.feature_columns=temp: one column
            feature_columns = [feature_columns]
        self.feature_columns = None if feature_columns is None else list(feature_columns)
        if label_column is None:
            raise DataError("data.label_column: required, the column of one target per sequence")
        if (text_column is None) == (id_column is None):
            raise DataError(
                "data.text_column / data.id_column: set exactly one (text sequences, or numeric "
                "sequences in long format with data.feature_columns)"
            )
        if id_column is not None and not self.feature_columns:
            raise DataError("data.feature_columns: required with data.id_column, e.g. [x, y]")
        self.columns = {
            "label": label_column,
            "text": text_column,
            "id": id_column,
            "time": time_column,
            "split": split_column,
        }
        super().__init__()
        self._step_times: np.ndarray | None = None  # long format with a time column only
        self._time_is_date = False
        paths = resolve_paths("data.path", path)
        if len(paths) > 1:
            raise DataError(
                f"data.path: names {len(paths)} files ({paths[0]}, {paths[1]}, ...); allowed: one "
                "table (join them into one file, or sweep: data.path=a.csv,b.csv)"
            )
        self.path = paths[0]
        wanted = [(f"data.{k}_column", c) for k, c in self.columns.items() if k != "split" and c]
        wanted += [("data.feature_columns", c) for c in self.feature_columns or []]
        _check_roles(wanted)
        table = read_table("data.path", self.path)
        check_columns(table, self.path, wanted)
        self._build(table)

    def _build(self, table: pd.DataFrame) -> None:
        """Sequences, labels and splits from the parsed table; sets `spec` and the splits."""
        if self.columns["text"] is not None:
            x, labels, split_of = self._text_sequences(table)
        else:
            x, labels, split_of = self._long_sequences(table)
        self._split_of = split_of
        y, label_names = self._targets(labels, split_of)
        self.sizes = {name: int(np.sum(split_of == name)) for name in SPLIT_NAMES}
        if self.columns["id"] is not None:
            x = self._standardised(x, split_of)
        self._splits = {
            name: Split(x[split_of == name], y[split_of == name]) for name in SPLIT_NAMES
        }
        self.spec = TaskSpec(
            name="table",
            seq_len=int(x.shape[1]),
            input_kind="tokens" if x.ndim == 2 else "features",
            input_dim=len(self.vocab) if x.ndim == 2 else int(x.shape[2]),
            output="last",
            n_outputs=len(label_names) if label_names else 1,
            primary_metric="accuracy" if label_names else "mse",
            higher_is_better=bool(label_names),
            vocab=self.vocab if x.ndim == 2 else None,
            labels=label_names,
            padded=True,
        )

    def _split_of(self, table: pd.DataFrame, first_rows: np.ndarray) -> np.ndarray:
        """`(n_sequences,)` split names: the split column's value at each sequence's first row,
        or drawn by `seed` when the table has no split column."""
        column = self.columns["split"]
        n = len(first_rows)
        if column in table.columns:
            raw = table[column].iloc[first_rows].to_numpy().astype(str)
            names = pd.Series(raw).str.strip().str.lower().replace(SPLIT_ALIASES).to_numpy()
            bad = sorted(set(raw[~np.isin(names, SPLIT_NAMES)]))
            if bad:
                raise DataError(
                    f"data.split_column={column!r}: value {bad[0]!r} in {self.path}; allowed: "
                    f"{', '.join(SPLIT_NAMES)} (any case; {', '.join(SPLIT_ALIASES)} for val)"
                )
            values = names.astype(str)
        else:
            order = rng_for(self.seed, "table").permutation(n)
            n_val, n_test = round(self.val_frac * n), round(self.test_frac * n)
            values = np.full(n, "train", dtype=object)
            values[order[:n_val]] = "val"
            values[order[n_val : n_val + n_test]] = "test"
            values = values.astype(str)
        for name in SPLIT_NAMES:
            if not np.any(values == name):
                raise DataError(
                    f"data.path={str(self.path)!r}: the {name} split is empty ({n} sequences); "
                    "allowed: at least one sequence per split (a larger table, other "
                    "data.val_frac / data.test_frac, or rows marked in the split column)"
                )
        return values

    def _text_sequences(self, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x `(n, time)` int32 from the text column (vocabulary of the training rows)."""
        column = self.columns["text"]
        texts = table[column]
        missing = np.flatnonzero(texts.isna().to_numpy())
        if missing.size:
            raise DataError(
                f"data.text_column={column!r}: missing text at {_row(missing[0])} of {self.path}; "
                "allowed: a string in every row"
            )
        not_text = np.flatnonzero([not isinstance(t, str | int | float | np.number) for t in texts])
        if not_text.size:
            value = texts.iloc[not_text[0]]
            raise DataError(
                f"data.text_column={column!r}: a {type(value).__name__} value at "
                f"{_row(not_text[0])} of {self.path} ({_plain(value)!r:.60}); allowed: text "
                "(a string column: in Parquet `string`, not `binary` or a list)"
            )
        rows = np.arange(len(table))
        split_of = self._split_of(table, rows)
        sequences = tokenize_all([str(t) for t in texts], self.tokens, self.lowercase)
        empty = next((i for i, s in enumerate(sequences) if not s), None)
        if empty is not None:
            raise DataError(
                f"data.text_column={column!r}: no token in the text {texts.iloc[empty]!r:.40} at "
                f"{_row(empty)} of {self.path} (whitespace only); allowed: a text with at least "
                "one token in every row (drop or fill those rows)"
            )
        self.vocab = build_vocab(s for s, name in zip(sequences, split_of) if name == "train")
        x = encode_padded(sequences, self.vocab, self.max_len, self.keep)
        return x, table[self.columns["label"]].to_numpy(), split_of

    def _numeric(self, table: pd.DataFrame, column: str, what: str) -> np.ndarray:
        """`(rows,)` float64 values of a column that must be numbers throughout."""
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raw = table[column].iloc[bad[0]]
            kind = "a missing value (NaN)" if pd.isna(raw) else f"the non-numeric value {raw!r}"
            raise DataError(
                f"data.{what}={column!r}: {kind} at {_row(bad[0])} of {self.path}; allowed: "
                "finite numbers only (fill or drop those rows)"
            )
        huge = np.flatnonzero(np.abs(values) > FLOAT32_MAX) if what != "time_column" else []
        if len(huge):
            raise DataError(
                f"data.{what}={column!r}: {values[huge[0]]:g} at {_row(huge[0])} of "
                f"{self.path} is beyond float32's range, which the model reads; allowed: numbers "
                f"within ±{FLOAT32_MAX:.4g} (rescale the column)"
            )
        return values

    def _times(self, table: pd.DataFrame) -> np.ndarray:
        """`(rows,)` float64 sort keys of the time column: numbers, or dates and times (which
        pandas parses; with or without a zone offset, ordered in UTC) as nanoseconds.

        Raises:
            DataError: naming the first row that is neither (a date column's first non-date).
        """
        column = self.columns["time"]
        values = table[column]
        if pd.api.types.is_numeric_dtype(values):
            return self._numeric(table, column, "time_column")
        with warnings.catch_warnings():  # "could not infer format": parsed one by one, as meant
            warnings.simplefilter("ignore", UserWarning)
            dates = pd.to_datetime(values, format="mixed", errors="coerce", utc=True)
        numbers = pd.to_numeric(values, errors="coerce")
        if dates.notna().sum() <= numbers.notna().sum():
            return self._numeric(table, column, "time_column")  # names the first non-number
        bad = np.flatnonzero(dates.isna().to_numpy())
        if bad.size:
            raw = values.iloc[bad[0]]
            kind = f"{_plain(raw)!r}, not a date or time"
            kind = "a missing time (NaN)" if pd.isna(raw) else kind
            raise DataError(
                f"data.time_column={column!r}: {kind} at {_row(bad[0])} of {self.path} (the "
                "other rows are dates); allowed: dates and times pandas reads (ISO 8601, with "
                "or without a zone offset such as +02:00) in every row"
            )
        self._time_is_date = True  # ordered (and labelled) in UTC
        dates = dates.dt.tz_localize(None)
        return dates.to_numpy().astype("datetime64[ns]").astype(np.int64).astype(float)

    def _row_order(
        self, table: pd.DataFrame, codes: np.ndarray, ids: pd.Index
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """`(rows,)` row indices grouped by sequence, each sequence's rows in time order (file
        order without a time column), and the `(rows,)` time sort keys (None without one).

        Raises:
            DataError: a sequence has the same time twice.
        """
        if self.columns["time"] is None:
            return np.argsort(codes, kind="stable"), None
        time = self._times(table)
        order = np.lexsort((time, codes))
        same = (np.diff(codes[order]) == 0) & (np.diff(time[order]) == 0)
        if same.any():
            row = order[np.flatnonzero(same)[0] + 1]
            raise DataError(
                f"data.time_column={self.columns['time']!r}: sequence "
                f"{_plain(ids[codes[row]])!r} has time "
                f"{_plain(table[self.columns['time']].iloc[row])!r} twice "
                f"({_row(int(row))} of {self.path}); allowed: one row per sequence and "
                "time step"
            )
        return order, time

    def _long_sequences(self, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x `(n, time, features)` float64 (not yet standardised) from long-format rows."""
        features = np.stack(
            [self._numeric(table, c, "feature_columns") for c in self.feature_columns], axis=1
        )
        codes, ids = pd.factorize(table[self.columns["id"]], sort=False)
        if np.any(codes < 0):
            row = int(np.flatnonzero(codes < 0)[0])
            raise DataError(
                f"data.id_column={self.columns['id']!r}: missing id at {_row(row)} of {self.path}"
            )
        order, time = self._row_order(table, codes, ids)
        sorted_codes = codes[order]
        lengths = np.bincount(codes, minlength=len(ids))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        step = np.arange(len(order)) - starts[sorted_codes]
        first_rows = order[starts]
        for key in ("label", "split"):
            column = self.columns[key]
            if column not in table.columns:
                continue
            values = pd.factorize(table[column])[0]  # (rows,) int, NaN → -1
            varies = values[order] != values[first_rows][sorted_codes]
            if varies.any():
                row = int(order[np.flatnonzero(varies)[0]])
                raise DataError(
                    f"data.{key}_column={column!r}: sequence {_plain(ids[codes[row]])!r} has "
                    f"more than one {key} ({_row(row)} of {self.path}); allowed: one per sequence"
                )
        width = (
            int(lengths.max()) if self.max_len is None else min(int(lengths.max()), self.max_len)
        )
        # float64 while built, float32 standardised, float32 split: 16 bytes per value
        check_padded_size(
            lengths, width, 16 * (features.shape[1] + 1), "sequences", ", or a finer id column"
        )
        if self.keep == "end":
            step = step - np.maximum(lengths[sorted_codes] - width, 0)
        kept = (step >= 0) & (step < width)
        x = np.zeros((len(ids), width, features.shape[1] + 1))
        x[sorted_codes[kept], step[kept], :-1] = features[order[kept]]
        x[sorted_codes[kept], step[kept], -1] = 1.0
        if time is not None:  # (sequences, width) sort keys of the kept steps, for step labels
            self._step_times = np.full((len(ids), width), np.nan)
            self._step_times[sorted_codes[kept], step[kept]] = time[order[kept]]
        labels = table[self.columns["label"]].iloc[first_rows].to_numpy()
        return x, labels, self._split_of(table, first_rows)

    def _standardised(self, x: np.ndarray, split_of: np.ndarray) -> np.ndarray:
        """`x` as float32 with every feature (not `present`) standardised by the training split's
        real steps; padding stays 0."""
        train = x[split_of == "train"]
        real = train[..., -1] == 1
        values = train[real][:, :-1]  # (train steps, features)
        mean, std = values.mean(axis=0), values.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        self.feature_mean, self.feature_std = mean, std
        features = x[..., :-1]  # a view: standardised in place
        features -= mean
        features /= std
        features *= x[..., -1:]  # padding back to 0
        return x.astype(np.float32)

    def _targets(
        self, labels: np.ndarray, split_of: np.ndarray
    ) -> tuple[np.ndarray, tuple[str, ...] | None]:
        """y (`(n,)` int32 class ids or `(n, 1)` float32 standardised values) and the class
        names (None: values)."""
        column = self.columns["label"]
        missing = np.flatnonzero(pd.isna(labels))
        if missing.size:
            raise DataError(
                f"data.label_column={column!r}: missing label for sequence {missing[0] + 1} of "
                f"{self.path}; allowed: a label for every sequence"
            )
        series = pd.Series(labels)
        target = self.target
        if target is None:
            target = "value" if pd.api.types.is_float_dtype(series) else "class"
        if target == "value":
            return self._value_targets(series), None
        return self._class_targets(series, split_of)

    def _value_targets(self, series: pd.Series) -> np.ndarray:
        """`(n, 1)` float32 targets standardised with the training split's mean and std."""
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            bad = series.iloc[np.flatnonzero(~np.isfinite(values))[0]]
            raise DataError(
                f"data.target=value: label {_plain(bad)!r} in column "
                f"{self.columns['label']!r} is not a number; allowed: finite numbers, or "
                "data.target=class"
            )
        if np.any(np.abs(values) > FLOAT32_MAX):
            bad = values[np.abs(values) > FLOAT32_MAX][0]
            raise DataError(
                f"data.label_column={self.columns['label']!r}: the value {bad:g} in {self.path} "
                "is beyond float32's range, in which the model answers; allowed: values within "
                f"±{FLOAT32_MAX:.4g} (rescale the column)"
            )
        self.classes = None
        train = values[self._split_of == "train"]
        self.target_mean, std = float(train.mean()), float(train.std())
        self.target_std = std if std > 0 else 1.0  # a constant target is only centred
        return ((values - self.target_mean) / self.target_std).astype(np.float32)[:, None]

    def _class_targets(
        self, series: pd.Series, split_of: np.ndarray
    ) -> tuple[np.ndarray, tuple[str, ...]]:
        """`(n,)` int32 class ids and the class names (those of the training split, sorted)."""
        column = self.columns["label"]
        numbers = " (numbers: data.target=value predicts them as values)"
        numbers = numbers if pd.api.types.is_numeric_dtype(series) else ""
        kinds = series.map(lambda v: "number" if isinstance(v, int | float | np.number) else "text")
        if kinds.nunique() > 1:
            first = {kind: int(np.flatnonzero(kinds.to_numpy() == kind)[0]) for kind in kinds}
            shown = " and ".join(
                f"{_plain(series.iloc[i])!r} (sequence {i + 1})" for i in first.values()
            )
            raise DataError(
                f"data.label_column={column!r}: labels of mixed types in {self.path}: {shown}; "
                "allowed: labels all text or all numbers (quote the numbers in JSON Lines)"
            )
        classes = np.unique(series[split_of == "train"].to_numpy())
        unseen = sorted(set(series.to_numpy()) - set(classes), key=str)
        if unseen:
            raise DataError(
                f"data.label_column={column!r}: label {_plain(unseen[0])!r} appears only in "
                f"val/test ({len(unseen)} such label(s)); allowed: labels that the train split "
                f"has{numbers}"
            )
        if len(classes) < 2:
            raise DataError(
                f"data.label_column={column!r}: the train split has one class only "
                f"({_plain(classes[0])!r}) in {self.path}; allowed: at least two classes{numbers}"
            )
        self.classes = classes
        names = tuple(str(c) for c in classes)
        return np.searchsorted(classes, series.to_numpy()).astype(np.int32), names

    def _make_splits(self) -> dict[str, Split]:
        raise AssertionError("the splits are built in __init__")  # pragma: no cover

    def metrics(self, y_pred: np.ndarray, split: Split) -> dict[str, float]:
        """`accuracy`, `macro_f1` and `ce` of `(n, classes)` logits, or `mae` and `mse` of
        `(n, 1)` values."""
        if self.spec.is_classification:
            logits = check_predictions(y_pred, (len(split), self.spec.n_outputs))
            predicted = logits.argmax(axis=-1)
            return {
                "accuracy": float((predicted == split.y).mean()),
                "macro_f1": macro_f1(split.y, predicted),
                "ce": float(cross_entropy(logits, split.y).mean()),
            }
        values = check_predictions(y_pred, (len(split), 1))
        error = self.in_target_units(values) - self.in_target_units(split.y)
        return {"mae": float(np.abs(error).mean()), "mse": float(np.square(error).mean())}

    def in_target_units(self, y: np.ndarray) -> np.ndarray:
        """Standardised values (targets or the model's outputs, any shape) in the target's own
        units, float64: `y * target_std + target_mean`; class ids and logits unchanged."""
        if self.spec.is_classification:
            return y
        return np.asarray(y, dtype=np.float64) * self.target_std + self.target_mean

    def baselines(self) -> dict[str, float]:
        """No-memory baselines on the test split: the training split's majority class
        (`accuracy`, `macro_f1`), or its mean target (`mse`, `mae`)."""
        train, test = self._splits["train"], self._splits["test"]
        if self.spec.is_classification:
            majority = np.bincount(train.y).argmax()
            predicted = np.full_like(test.y, majority)
            return {
                "accuracy": majority_accuracy(train.y, test.y),
                "macro_f1": macro_f1(test.y, predicted),
            }
        error = self.in_target_units(test.y) - self.in_target_units(train.y).mean()
        return {"mse": float(np.square(error).mean()), "mae": float(np.abs(error).mean())}

    def step_labels(self, split: str, rows: np.ndarray) -> list[list[str]] | None:
        """The time column's values at the steps of examples `rows` of `split`, one list of
        strings per example, `(time,)` with `""` for padding; None without a time column (the
        steps are then numbered). Dates read `2024-01-31`, or `01-31 08:30` (`08:30:15`) when
        they have times of day (in UTC when they carry a time zone)."""
        if self._step_times is None:
            return None
        times = self._step_times[np.flatnonzero(self._split_of == split)[np.asarray(rows)]]
        real = np.isfinite(times)
        if self._time_is_date:
            stamps = pd.to_datetime(times[real].astype(np.int64))
            fmt = "%Y-%m-%d"
            if (stamps != stamps.normalize()).any():
                fmt = "%H:%M:%S" if (stamps.second != 0).any() else "%m-%d %H:%M"
            text = np.asarray(stamps.strftime(fmt), dtype=object)
        else:
            text = np.array([f"{t:.0f}" if t.is_integer() else f"{t:.6g}" for t in times[real]])
        labels = np.full(times.shape, "", dtype=object)
        labels[real] = text
        return labels.tolist()

    def preprocessing(self) -> dict[str, Any]:
        """What a served model needs to turn raw input into `x`, and (value targets) its outputs
        back into the target's units: `"target": {"column", "mean", "std"}` (saved with the
        run)."""
        if self.spec.input_kind == "tokens":
            prep = {
                "kind": "tokens",
                "tokens": self.tokens,
                "lowercase": self.lowercase,
                "vocab": list(self.vocab),
                "max_len": self.max_len,
                "keep": self.keep,
            }
        else:
            prep = {
                "kind": "features",
                "columns": self.feature_columns,
                "mean": [float(v) for v in self.feature_mean],
                "std": [float(v) for v in self.feature_std],
                "present_channel": True,
                "time_column": self.columns["time"],
            }
        if not self.spec.is_classification:
            prep["target"] = {
                "column": self.columns["label"],
                "mean": self.target_mean,
                "std": self.target_std,
            }
        return prep
