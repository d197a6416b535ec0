"""Your own data at its limits (issue 23): times with zone offsets, a header of millions of
fields, columns of the wrong kind, duplicated names, empty texts, numbers beyond float32, labels
of mixed types, and one tokeniser for training and serving. In process, tiny files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.own import MAX_COLUMNS, DataError, encode_padded, tokenize_all
from data.table import TableTask

REVIEWS = {"label_column": "label", "text_column": "text"}
SENSORS = {"label_column": "state", "id_column": "id", "time_column": "time"}
SENSORS |= {"feature_columns": ["temp"]}
SPLITS = ("train", "train", "val", "test")


def write(path: Path, content: str) -> str:
    path.write_text(content, encoding="utf-8")
    return str(path)


def sensors(times: list[str], temps: list[str] | None = None) -> str:
    """Two sequences per split of `len(times)` steps each (the same times), as CSV."""
    temps = temps or [str(t) for t in range(len(times))]
    rows = [
        f"{i},{time},{temp},{'ab'[i % 2]},{SPLITS[i % 4] if i < 4 else 'train'}"
        for i in range(6)
        for time, temp in zip(times, temps)
    ]
    return "id,time,temp,state,split\n" + "\n".join(rows) + "\n"


def reviews(texts: list[str]) -> str:
    rows = [f'"{t}",{"ab"[i % 2]},{SPLITS[i % 4]}' for i, t in enumerate(texts)]
    return "text,label,split\n" + "\n".join(rows) + "\n"


def test_times_with_zone_offsets_across_a_dst_change_order_the_steps_in_utc(tmp_path):
    """A DST change: +01:00 then +02:00. In file order the wall-clock times are not sorted
    (03:30+02:00 is 01:30 UTC); the steps are ordered by the instant, and labelled in UTC."""
    times = ["2024-03-31T03:30:00+02:00", "2024-03-31T01:00:00+01:00", "2024-03-31T01:30:00+01:00"]
    task = TableTask(path=write(tmp_path / "dst.csv", sensors(times)), **SENSORS)
    assert task.step_labels("train", np.array([0]))[0] == [
        "03-31 00:00",
        "03-31 00:30",
        "03-31 01:30",
    ]
    assert task.splits()["train"].x.shape[1] == 3


def test_one_bad_date_among_good_ones_is_reported_at_its_own_row(tmp_path):
    times = ["2024-01-01", "2024-01-02", "2024-01-03"]
    text = sensors(times).replace("1,2024-01-03,", "1,2024-13-45,", 1)  # sequence 1, step 3
    with pytest.raises(DataError) as caught:
        TableTask(path=write(tmp_path / "bad.csv", text), **SENSORS)
    message = str(caught.value)
    assert "'2024-13-45', not a date or time at row 6 (counting data rows from 1)" in message
    assert message.startswith("data.time_column='time'") and "+02:00" in message


def test_a_header_of_too_many_fields_is_refused_before_pandas_reads_it(tmp_path):
    """pandas reads a header in quadratic time (a 10 MB one-line CSV: over 5 minutes); over
    `MAX_COLUMNS` fields it is refused from a count of the separators."""
    names = ",".join(f"c{i}" for i in range(MAX_COLUMNS * 2))
    path = write(tmp_path / "wide.csv", f"text,label,{names}\n")
    with pytest.raises(DataError, match=r"20,002 columns; allowed: at most 10,000"):
        TableTask(path=path, **REVIEWS)


@pytest.mark.parametrize(
    "header", ["text,label,label", 'text,"label",label', "text\tlabel\tlabel"], ids=str.split
)
def test_a_column_name_given_twice_is_refused(tmp_path, header):
    ext = "tsv" if "\t" in header else "csv"
    sep = "\t" if ext == "tsv" else ","
    body = "".join(f"w{i}{sep}{'ab'[i % 2]}{sep}{'ba'[i % 2]}\n" for i in range(8))
    with pytest.raises(DataError, match="the column 'label' appears 2 times in the header"):
        TableTask(path=write(tmp_path / f"dup.{ext}", f"{header}\n{body}"), **REVIEWS)


@pytest.mark.parametrize(
    "values,kind",
    [([b"good soup", b"bad soup"] * 4, "bytes"), ([["good", "soup"], ["bad"]] * 4, "ndarray")],
    ids=["binary", "list"],
)
def test_a_parquet_text_column_that_is_not_text_is_refused(tmp_path, values, kind):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"text": values, "label": list("ab") * 4}).to_parquet(path)
    with pytest.raises(DataError) as caught:
        TableTask(path=str(path), **REVIEWS)
    assert f"data.text_column='text': a {kind} value at row 1" in str(caught.value)
    assert "allowed: text (a string column: in Parquet `string`" in str(caught.value)


def test_a_whitespace_only_text_is_refused_at_its_row(tmp_path):
    texts = ["good soup", "bad soup", "   \t ", "fine", "ok then", "meh"]
    with pytest.raises(DataError, match=r"no token in the text .* at row 3 .*whitespace only"):
        TableTask(path=write(tmp_path / "blank.csv", reviews(texts)), **REVIEWS)


def test_a_feature_beyond_float32_is_refused_and_a_large_one_keeps_its_spread(tmp_path):
    """1e300 overflowed the standard deviation (then every value read 0); it cannot reach a
    float32 model anyway. 1e30 is standardised to a real spread."""
    times = ["1", "2", "3"]
    huge = sensors(times, ["1e300", "2e300", "3e300"])
    with pytest.raises(DataError, match=r"'temp': 1e\+300 at row 1 .* beyond float32's range"):
        TableTask(path=write(tmp_path / "huge.csv", huge), **SENSORS)
    large = sensors(times, ["1e30", "2e30", "3e30"])
    large = TableTask(path=write(tmp_path / "large.csv", large), **SENSORS)
    steps = large.splits()["train"].x[0, :, 0]
    np.testing.assert_allclose(steps, [-1.2247449, 0, 1.2247449], rtol=1e-5, atol=1e-6)


def test_labels_of_mixed_types_are_refused_naming_key_and_file(tmp_path):
    rows = [{"text": f"w{i}", "label": "pos" if i % 2 else 3} for i in range(8)]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError) as caught:
        TableTask(path=str(path), **REVIEWS, target="class")
    message = str(caught.value)
    assert message.startswith(f"data.label_column='label': labels of mixed types in {path}")
    assert "3 (sequence 1) and 'pos' (sequence 2)" in message and "\n" not in message


SERVED = [  # the examples: a NUL, and code points whose lower case Python and ICU differ on
    "the soup\x00was good",
    "The SOUP was Good!",
    "\u2c2f\u2c0f \ua7c0 \u0130 soup",
    "Ⓐ soup ǅ ſ",
]


@pytest.mark.parametrize("tokens", ["word", "char"])
def test_serve_text_tokenises_as_training_did(tokens):
    """One tokeniser: the SavedModel's graph (`RawInput.text`) gives the ids that training's
    `tokenize_all` + `encode_padded` give, for the issue's examples."""
    from experiments.export.raw_input import RawInput

    sequences = tokenize_all(SERVED, tokens, lowercase=True)
    assert sequences[0][:3] == (["the", "soup", "was"] if tokens == "word" else ["t", "h", "e"])
    vocab = ["<pad>", "<unk>", *sorted({t for s in sequences for t in s})]
    prep = {"kind": "tokens", "tokens": tokens, "lowercase": True, "vocab": vocab}
    served = RawInput(prep | {"max_len": None, "keep": "start"}).text(
        np.array(SERVED, dtype=object)
    )
    trained = encode_padded(sequences, vocab, None, "start")
    np.testing.assert_array_equal(served.numpy(), trained)
    assert (trained[trained > 0] != 1).all()  # every token known: none read as <unk>
