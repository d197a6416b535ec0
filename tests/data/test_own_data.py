"""Your own data: text files and tables through the real command line, every bad input refused in
one line before a run directory exists, and `serve_text` / `serve_raw` in a process without
gatelab's code."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.examples import write_examples
from data.own import encode_padded, tokenize
from data.table import TableTask, macro_f1
from data.text import TextTask
from experiments import outputs
from tests.conftest import REPO, run_cli

REVIEWS = {"label_column": "label", "text_column": "text"}
SENSORS = {
    "label_column": "state",
    "id_column": "id",
    "time_column": "time",
    "feature_columns": ["temp", "vibration"],
}
KINDS = {  # data option of the sweep → (base option, file, settings)
    "own_text": ("text", "docs.txt", {"seq_len": 20, "n_train": 32, "n_val": 8, "n_test": 8}),
    "own_csv": ("table", "reviews.csv", REVIEWS),
    "own_parquet": ("table", "reviews.parquet", REVIEWS),
    "own_jsonl": ("table", "reviews.jsonl", REVIEWS),
    "own_long": ("table", "sensors.csv", SENSORS),
}
NESTED = "own_csv"  # its option lives in a subfolder of conf/data (`data=tables/own_csv`)
UNSEEN = ["The ZEBRA was quixotic, but the soup was good!", "", "service service service"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    return write_examples(tmp_path_factory.mktemp("own"), n_reviews=300, long_rows=3000)


@pytest.fixture(scope="module")
def sweep(files, tmp_path_factory) -> dict[str, Path]:
    """One multirun over the five kinds of file (one data option each, through a search path);
    returns data option → run folder."""
    root = tmp_path_factory.mktemp("sweep")
    options = []
    for name, (base, file, settings) in KINDS.items():
        nested = name == NESTED  # conf/data/tables/own_csv.yaml: its override has a `/`
        option = f"tables/{name}" if nested else name
        defaults = [f"/data/{base}@_here_" if nested else base, "_self_"]
        path = root / "conf" / "data" / f"{option}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"defaults": defaults, "path": str(files[file]), **settings}))
        options.append(option)
    result = run_cli(
        ["-m", "experiments.train", "-m", f"data={','.join(options)}", "model=gru"]
        + ["model.units=4", "trainer.epochs=1", "logger.every_n_epochs=0"]
        + ["logger.stats_size=16", "logger.probe_size=2", "logger.heatmap_examples=1"]
        + [f"hydra.searchpath=[file://{root / 'conf'}]", f"hydra.sweep.dir={root / 'out'}"],
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    runs = {}
    for folder in (root / "out").iterdir():
        if folder.is_dir():
            runs[folder.name.split(",")[0].removeprefix("data=").removeprefix("tables%2F")] = folder
    return runs


def value_table(path: Path, n: int = 400) -> Path:
    """Long-format sequences of 3-6 daily readings `x` whose target `power` is 5000 + 300 × their
    mean: far from 0, linear, and a split column (ids ending in 8: val, 9: test)."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 7, n)
    ids = np.repeat(np.arange(n), lengths)
    step = np.arange(len(ids)) - np.concatenate([[0], np.cumsum(lengths)[:-1]])[ids]
    x = rng.standard_normal(len(ids))
    power = 5000 + 300 * pd.Series(x).groupby(ids).transform("mean").to_numpy()
    split = np.select([ids % 10 == 8, ids % 10 == 9], ["val", "test"], "train")
    day = pd.Timestamp("2024-01-30") + pd.to_timedelta(step, "D")
    table = pd.DataFrame({"id": ids, "day": day, "x": x, "power": power, "split": split})
    table.sample(frac=1.0, random_state=0).to_csv(path, index=False)
    return path


SPLITS = ("train", "train", "val", "test")
POWER = {"label_column": "power", "time_column": "day", "feature_columns": ["x"]}
VALUES = ["data=table", "data.label_column=power", "data.id_column=id", "data.time_column=day"]
VALUES += ["data.feature_columns=[x]"]


@pytest.fixture(scope="module")
def value_run(tmp_path_factory) -> Path:
    """A GRU trained in this process on `value_table` (8 epochs, gates logged at the end,
    exported); its run folder."""
    from hydra import compose, initialize_config_dir

    from experiments.cli.config import register_schemas
    from experiments.train import train

    root = tmp_path_factory.mktemp("value")
    register_schemas()
    overrides = [*VALUES, f"data.path={value_table(root / 'power.csv')}", "model=gru"]
    overrides += ["model.units=8", "trainer.epochs=8", "trainer.patience=null"]
    overrides += ["logger.every_n_epochs=0", "logger.probe_size=2", "logger.stats_size=16"]
    overrides += ["logger.heatmap_examples=1"]
    overrides += ["trainer.learning_rate=0.02", "trainer.batch_size=32", f"output_dir={root}/run"]
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        record = train(compose("train", overrides=overrides))
    assert record["status"] == "ok", record
    return root / "run"


def test_a_value_target_far_from_0_is_fitted_and_reported_in_its_own_units(value_run):
    """Trained on standardised targets; metrics, baselines, preprocessing.json and the
    SavedModel's `serve_raw` in watts, recomputed here with pandas and numpy."""
    import tensorflow as tf

    record = outputs.read_metrics(value_run)
    table = pd.read_csv(value_run.parent / "power.csv").sort_values(["id", "day"])
    power = table.groupby("id").first()
    train, test = power[power.split == "train"].power, power[power.split == "test"].power
    assert record["baseline_mse"] == pytest.approx(np.mean((test - train.mean()) ** 2))
    assert record["baseline_mae"] == pytest.approx(np.mean(np.abs(test - train.mean())))
    assert record["test_mse"] < 0.1 * record["baseline_mse"]  # fitted, in the target's units
    saved = json.loads((value_run / outputs.PREPROCESSING).read_text())["target"]
    assert saved == {"column": "power", "mean": pytest.approx(train.mean()), "std": pytest.approx(
        train.std(ddof=0))}  # fmt: skip
    rows = table[table.split == "test"]
    length = rows.groupby("id").size().to_numpy()
    raw = np.zeros((len(length), length.max(), 1), np.float32)
    raw[rows.id.factorize()[0], rows.groupby("id").cumcount().to_numpy(), 0] = rows.x
    loaded = tf.saved_model.load(str(value_run / "saved_model"))
    served = loaded.signatures["serve_raw"](
        features=tf.constant(raw), length=tf.constant(length, tf.int32)
    )["outputs"].numpy()[:, 0]
    error = served - test.to_numpy()
    assert record["test_mae"] == pytest.approx(np.abs(error).mean(), rel=1e-4)
    assert record["test_mse"] == pytest.approx(np.square(error).mean(), rel=1e-4)


def explorer_examples(run: Path) -> list[dict]:
    """The probe examples of the run description the explorer tab lists `run` by."""
    import tensorflow as tf

    from experiments.explorer import summary

    for path in (run / "tb").rglob("events.out.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag == summary.RUN_TAG:
                    raw = tf.make_ndarray(value.tensor).item()
                    return summary.parse_description(raw)["examples"]
    raise AssertionError(f"no {summary.RUN_TAG} in {run}")


def test_the_time_column_labels_the_steps_of_the_gate_pictures(files, value_run, tmp_path):
    from experiments.tensorboard.writer import GateLogger, GateSettings

    task = TableTask(path=str(value_run.parent / "power.csv"), **{**SENSORS, **POWER})
    settings = GateSettings(probe_size=2, heatmap_examples=2)
    labels = GateLogger(task, tmp_path / "tb", settings)._labels  # the heatmaps' time axes
    table = pd.read_csv(value_run.parent / "power.csv")  # sequences in order of first rows
    first_val = table[table.id == table[table.split == "val"].id.iloc[0]].sort_values("day")
    assert labels[0][: len(first_val)] == [day[:10] for day in first_val.day]  # 2024-01-30, …
    assert labels[0][len(first_val) :] == [""] * (len(labels[0]) - len(first_val))  # padding
    shown = explorer_examples(value_run)[0]
    assert shown["tokens"] == labels[0]  # the explorer's probe too
    assert float(shown["target"]) == pytest.approx(first_val.power.iloc[0], abs=1)  # in watts
    numbered = TableTask(path=str(files["sensors.csv"]), **SENSORS)
    assert numbered.step_labels("val", [0])[0][:3] == ["0", "1", "2"]
    assert TableTask(path=str(files["sensors.csv"]), **{**SENSORS, "time_column": None})\
        .step_labels("val", [0]) is None  # fmt: skip
    rows = "id,when,v,state,split\n" + "".join(
        f"{i},2024-03-0{1 + i} {hour}:{minute},{i},{'ab'[i % 2]},{SPLITS[i]}\n"
        for i in range(4) for hour, minute in (("10", "30"), ("08", "05"))
    )  # fmt: skip
    arguments = {**SENSORS, "time_column": "when", "feature_columns": ["v"]}
    dated = TableTask(path=write(tmp_path / "w.csv", rows), **arguments)
    assert dated.step_labels("val", [0]) == [["03-03 08:05", "03-03 10:30"]]
    zoned = rows.replace(":05,", ":05+01:00,").replace(":30,", ":30+01:00,")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "no explicit representation of timezones"
        in_utc = TableTask(path=write(tmp_path / "z.csv", zoned), **arguments)
    assert in_utc.step_labels("val", [0]) == [["03-03 07:05", "03-03 09:30"]]
    assert dated.preprocessing()["time_column"] == "when"


def test_every_kind_of_file_trains_and_reports_through_the_command_line(sweep, files):
    assert sorted(sweep) == sorted(KINDS)  # one flat folder each, `data=tables/…` included
    assert sweep[NESTED].name.startswith("data=tables%2Fown_csv,logger.every_n_epochs=0,")
    records = {name: outputs.read_metrics(run) for name, run in sweep.items()}
    assert all(r["status"] == "ok" for r in records.values()), records
    for name in ("own_csv", "own_parquet", "own_jsonl", "own_long"):
        assert {"test_accuracy", "test_macro_f1", "baseline_accuracy"} <= set(records[name])
    assert records["own_text"]["primary_metric"] == "bpc"
    # The majority baseline recomputed from the file with pandas alone (the split column).
    rows = pd.read_csv(files["sensors.csv"]).groupby("id").first()
    majority = rows[rows.split == "train"].state.mode()[0]
    test = rows[rows.split == "test"]
    assert records["own_long"]["baseline_accuracy"] == pytest.approx(
        (test.state == majority).mean()
    )
    # The three formats of one table are one dataset.
    same = ("baseline_accuracy", "baseline_macro_f1", "params")
    assert (
        len({tuple(records[n][k] for k in same) for n in ("own_csv", "own_parquet", "own_jsonl")})
        == 1
    )


def test_the_vocabulary_is_saved_and_the_probe_shows_real_words(sweep, files):
    saved = json.loads((sweep["own_csv"] / outputs.PREPROCESSING).read_text())
    task = TableTask(path=str(files["reviews.csv"]), **REVIEWS)
    assert saved["vocab"] == list(task.vocab) and saved["tokens"] == "word"
    stats = json.loads((sweep["own_long"] / outputs.PREPROCESSING).read_text())
    assert stats["mean"] == pytest.approx(
        list(TableTask(path=str(files["sensors.csv"]), **SENSORS).feature_mean)
    )
    events = b"".join(p.read_bytes() for p in (sweep["own_csv"] / "tb").rglob("events.out.*"))
    assert b"staff" in events or b"service" in events  # the probe's text summary, in words


FRESH = r"""
import importlib.abc, json, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"layers", "data", "experiments"}:
            raise ModuleNotFoundError(f"gatelab's {name} must not be needed", name=name)
sys.meta_path.insert(0, Block())
import numpy as np
import tensorflow as tf
for case in json.loads(sys.argv[1]):
    loaded = tf.saved_model.load(case["dir"])
    if "texts" in case:
        served = loaded.signatures["serve_text"](text=tf.constant(case["texts"]))
        assert served["tokens"].numpy().tolist() == case["ids"], (served["tokens"], case["ids"])
        direct = loaded.serve(tf.constant(case["ids"], tf.int32))["outputs"].numpy()
    else:
        raw = tf.constant(case["raw"], tf.float32)
        served = loaded.signatures["serve_raw"](features=raw, length=tf.constant(case["length"]))
        direct = loaded.serve(tf.constant(case["standardised"], tf.float32))["outputs"].numpy()
    assert np.allclose(served["outputs"].numpy(), direct, rtol=1e-6, atol=1e-5), case["dir"]
print("FRESH OK")
"""


def test_serve_text_and_serve_raw_tokenise_in_the_graph_without_gatelab(sweep, value_run, tmp_path):
    cases = []
    for name, texts in (("own_csv", UNSEEN), ("own_text", ["Snow ☃ in\r\nJuly", "x"])):
        prep = json.loads((sweep[name] / outputs.PREPROCESSING).read_text())
        sequences = [tokenize(t, prep["tokens"], prep["lowercase"]) for t in texts]
        ids = encode_padded(sequences, prep["vocab"], prep["max_len"], prep["keep"])
        assert (ids == 1).any()  # unknown words / characters are in the batch
        cases.append({"dir": str(sweep[name] / "saved_model"), "texts": texts, "ids": ids.tolist()})
    from experiments.export.saved_model import (
        main as export,  # the re-export reads preprocessing.json
    )

    reexported = export([str(sweep["own_long"]), "--out", str(tmp_path / "long")])
    for run, folder in ((sweep["own_long"], reexported), (value_run, value_run / "saved_model")):
        stats = json.loads((run / outputs.PREPROCESSING).read_text())
        raw = np.random.default_rng(0).normal(20, 5, size=(2, 7, len(stats["mean"])))
        length = np.array([7, 4])
        present = (np.arange(7) < length[:, None])[..., None]
        standardised = np.concatenate(
            [(raw - stats["mean"]) / stats["std"] * present, present], axis=-1
        )
        cases.append(
            {
                "dir": str(folder),
                "raw": raw.tolist(),
                "length": length.tolist(),
                "standardised": standardised.tolist(),
            }
        )
    result = subprocess.run(
        [sys.executable, "-I", "-c", FRESH, json.dumps(cases)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0 and "FRESH OK" in result.stdout, result.stderr[-3000:]


# ---- in-process checks (no TensorFlow) -------------------------------------------------------


def write(path: Path, content: str | bytes) -> str:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


BAD_TABLES = [  # (file name, content, task arguments beyond path, words the message must hold)
    ("missing.csv", None, REVIEWS, ["data.path", "no such file"]),
    ("x.xlsx", "a", REVIEWS, ["unknown table extension", ".parquet"]),
    ("cols.csv", "words,label\nhi,a\n", REVIEWS, ["text_column='text'", "present: words, label"]),
    (
        "features.csv",
        "id,time,temp,state\n1,0,1,a\n",
        SENSORS,
        ["data.feature_columns='vibration'", "columns present: id, time, temp, state"],
    ),
    ("parse.csv", 'text,label\n"a b",x\n"c d",y,z\n', REVIEWS, ["cannot parse", "line 3"]),
    ("parse.jsonl", '{"text": "a", "label": 1}\n{"text": \n', REVIEWS, ["line 2", "JSON"]),
    ("parse.parquet", "not parquet", REVIEWS, ["cannot read it as parquet"]),
    ("latin.csv", b"text,label\ncaf\xe9,a\n", REVIEWS, ["not UTF-8", "line 2"]),
    ("empty.csv", "", REVIEWS, ["empty after parsing"]),
    ("header.csv", "text,label\n", REVIEWS, ["empty after parsing"]),
    (
        "unseen.csv",
        "text,label,split\na,x,train\nb,x,val\nc,y,test\n",
        REVIEWS,
        ["'y' appears only in val/test"],
    ),
    ("nan.csv", "id,time,temp,vibration,state\n1,0,,1,a\n", SENSORS, ["'temp'", "NaN", "row 1"]),
    (
        "text_feature.csv",
        "id,time,temp,vibration,state\n1,0,1,1,a\n1,1,hot,1,a\n",
        SENSORS,
        ["non-numeric value 'hot'", "row 2"],
    ),
    (
        "dup.csv",
        "id,time,temp,vibration,state\n7,0,1,1,a\n7,1,1,1,a\n7,1,2,2,a\n",
        SENSORS,
        ["sequence 7 has time 1 twice"],
    ),
    (
        "two_labels.csv",
        "id,time,temp,vibration,state\n7,0,1,1,a\n7,1,1,1,b\n",
        SENSORS,
        ["more than one label"],
    ),
    ("split.csv", "text,label,split\na,x,train\nb,x,eval\n", REVIEWS, ["'eval'", "train, val, t"]),
    (
        "two_splits.csv",
        "id,time,temp,vibration,state,split\n7,0,1,1,a,train\n7,1,1,1,a,test\n",
        SENSORS,
        ["sequence 7 has more than one split"],
    ),
    ("*.csv", None, REVIEWS, ["names 2 files", "one table"]),
    ("one_class.csv", "text,label,split\na,x,train\nb,x,val\nc,x,test\n", REVIEWS, ["one class"]),
    (
        "counts.csv",
        "text,label,split\na,1,train\nb,2,train\nc,3,val\nd,1,test\n",
        REVIEWS,
        ["label 3 appears only in val/test", "numbers: data.target=value"],
    ),
    ("semicolon.csv", "text;label\nhi;x\n", REVIEWS, ["present: text;label", "separated by ';'"]),
    (
        "leak.csv",
        "id,time,temp,vibration,state\n1,0,1,1,a\n",
        {**SENSORS, "feature_columns": ["temp", "state"]},
        ["data.feature_columns='state': the same column as data.label_column"],
    ),
]


@pytest.mark.parametrize("name,content,arguments,words", BAD_TABLES, ids=[b[0] for b in BAD_TABLES])
def test_a_bad_table_is_refused_in_one_line_naming_the_problem(
    tmp_path, name, content, arguments, words
):
    if "*" in name:  # a pattern that matches two tables
        write(tmp_path / "a.csv", "text,label\nhi,x\n")
        write(tmp_path / "b.csv", "text,label\nho,x\n")
    path = tmp_path / name if content is None else write(tmp_path / name, content)
    with pytest.raises(ValueError) as caught:
        TableTask(path=str(path), **arguments)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize(
    "content,arguments,words",
    [
        (None, {}, ["data.path", "no such file"]),
        (b"ok\n\xff\xfe", {}, ["not UTF-8", "line 2"]),
        ("short", {"seq_len": 20}, ["train block", "seq_len + 1 = 21"]),
    ],
)
def test_a_bad_text_file_is_refused_in_one_line(tmp_path, content, arguments, words):
    path = tmp_path / "t.txt" if content is None else write(tmp_path / "t.txt", content)
    with pytest.raises(ValueError) as caught:
        TextTask(path=str(path), **arguments)
    assert all(word in str(caught.value) for word in words), caught.value
    with pytest.raises(ValueError, match="matches no file"):
        TextTask(path=str(tmp_path / "*.none"))
    with pytest.raises(ValueError, match=r"a folder; allowed: a file, a glob \('data.path=.*\*"):
        TextTask(path=str(tmp_path))


def test_the_command_line_exits_2_before_any_run_folder(files, tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(
        ["-m", "experiments.train", "data=table", f"data.path={files['reviews.csv']}"]
        + ["data.label_column=label", "data.text_column=review", f"hydra.run.dir={run_dir}"],
        cwd=REPO,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "error: data=table: data.text_column='review': no such column in "
        f"{files['reviews.csv']}; columns present: text, label"
    )
    assert not run_dir.exists()


def test_split_names_are_read_in_any_case_and_validation_is_val(tmp_path):
    rows = "text,label,split\na,x,Train\nb,y, TRAIN\nc,x,validation\nd,y,Dev\ne,x,TEST\n"
    task = TableTask(path=write(tmp_path / "s.csv", rows), **REVIEWS)
    assert task.sizes == {"train": 2, "val": 2, "test": 1}


def test_the_vocabulary_comes_from_the_training_split_only(tmp_path):
    rows = (
        "text,label,split\nA cat. a CAT!,x,train\nthe dog,y,train\nthe cat,x,val\nzebra!,y,test\n"
    )
    task = TableTask(path=write(tmp_path / "t.csv", rows), **REVIEWS)
    assert task.vocab == ("<pad>", "<unk>", "a", "cat", "!", ".", "dog", "the")  # by count
    assert task.splits()["test"].x.tolist() == [[1, 4, 0, 0, 0, 0]]  # zebra → <unk>, ! known
    assert task.splits()["train"].y.tolist() == [0, 1] and task.spec.labels == ("x", "y")


@pytest.mark.parametrize("keep,expected", [("start", ["b", "c", "d"]), ("end", ["d", "e", "f"])])
def test_max_len_keeps_the_chosen_end(tmp_path, keep, expected):
    rows = "text,label,split\na b c d e f,x,train\nb c d e f,x,val\nc d e,x,test\nf,y,train\n"
    task = TableTask(path=write(tmp_path / "t.csv", rows), **REVIEWS, max_len=3, keep=keep)
    assert [task.vocab[i] for i in task.splits()["val"].x[0]] == expected
    assert task.splits()["train"].x.shape == (2, 3)


def test_long_format_rows_in_any_order_become_standardised_sequences(files):
    one = TableTask(path=str(files["sensors.csv"]), **{**SENSORS, "feature_columns": "temp"})
    assert one.spec.input_dim == 2  # data.feature_columns=temp: one column, not t, e, m, p
    task = TableTask(path=str(files["sensors.csv"]), **SENSORS)
    table = pd.read_csv(files["sensors.csv"]).sort_values(["id", "time"])
    train = table[table.split == "train"]
    mean, std = train[["temp", "vibration"]].mean(), train[["temp", "vibration"]].std(ddof=0)
    assert task.feature_mean == pytest.approx(mean.to_numpy())
    x = task.splits()["train"].x[0]  # (time, 3): the training id met first in the file
    ids = pd.read_csv(files["sensors.csv"]).id  # rows shuffled: `time` must order the steps
    first = table[table.id == ids[ids.isin(train.id)].iloc[0]]
    expected = (first[["temp", "vibration"]] - mean) / std
    assert np.allclose(x[: len(first), :2], expected.to_numpy(), atol=1e-5)
    assert (x[: len(first), 2] == 1).all() and (x[len(first) :] == 0).all()
    assert task.spec.padded and task.spec.input_dim == 3


def test_a_time_column_of_dates_orders_the_steps(tmp_path):
    rows = "id,when,v,state,split\n" + "".join(
        f"{i},{when},{v},{'ab'[i % 2]},{('train', 'val', 'test')[i % 3]}\n"
        for i in range(6)
        for when, v in (("2024-01-02 10:00", 2), ("2024-01-01", 1), ("2024-01-03 08:30", 3))
    )
    arguments = {**SENSORS, "time_column": "when", "feature_columns": ["v"]}
    task = TableTask(path=write(tmp_path / "d.csv", rows), **arguments)
    assert task.splits()["train"].x[0, :, 0].tolist() == pytest.approx([-1.2247, 0, 1.2247], 1e-3)
    twice = rows + "0,2024-01-01 00:00,5,a,train\n"
    with pytest.raises(ValueError, match="sequence 0 has time '2024-01-01 00:00' twice"):
        TableTask(path=write(tmp_path / "d2.csv", twice), **arguments)


def test_targets_are_inferred_and_overridable_with_numpy_metrics(files, tmp_path):
    task = TableTask(path=str(files["sensors.csv"]), **{**SENSORS, "label_column": "load"})
    assert task.spec.primary_metric == "mse" and task.spec.n_outputs == 1
    train, test = task.splits()["train"], task.splits()["test"]
    predicted = np.full((len(test), 1), train.y.mean())
    assert task.metrics(predicted, test)["mse"] == pytest.approx(task.baselines()["mse"])
    rows = "text,label\n" + "".join(f"w{i % 5},{i % 3}\n" for i in range(60))
    as_value = TableTask(path=write(tmp_path / "i.csv", rows), **REVIEWS, target="value")
    assert as_value.spec.n_outputs == 1
    as_class = TableTask(path=str(tmp_path / "i.csv"), **REVIEWS)
    assert as_class.spec.labels == ("0", "1", "2")
    sizes = as_class.sizes
    assert (sizes["val"], sizes["test"]) == (6, 6) and sum(sizes.values()) == 60


def test_macro_f1_is_scikit_learns(tmp_path):
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 4, 50), rng.integers(0, 5, 50)
    assert macro_f1(y_true, y_pred) == pytest.approx(f1_score(y_true, y_pred, average="macro"))


def test_own_text_is_split_in_contiguous_blocks_with_a_training_vocabulary(tmp_path):
    write(tmp_path / "a.txt", "ab" * 40 + "\r\n")
    write(tmp_path / "b.txt", "ab" * 5 + "é" * 10)
    task = TextTask(seq_len=4, n_train=3, n_val=2, n_test=2, path=str(tmp_path / "*.txt"))
    text = "ab" * 40 + "\n" + "\n" + "ab" * 5 + "é" * 10  # files joined by a newline, CRLF → LF
    assert task.vocab == ("<pad>", "<unk>", "a", "b", "\n")  # é is only in val/test: <unk>
    n = len(text)
    blocks = {"train": text[: n - 2 * (n // 10)], "test": text[n - n // 10 :]}
    for split, expected in blocks.items():
        ids = task.corpus()[split]
        assert "".join(task.vocab[i] if i > 1 else "?" for i in ids) == "".join(
            c if c in task.vocab else "?" for c in expected
        )
    listed = TextTask(
        seq_len=4,
        n_train=3,
        n_val=2,
        n_test=2,
        path=[str(tmp_path / n) for n in ("b.txt", "a.txt")],
    )  # in the order listed: b's é now trains
    assert "é" in listed.vocab


def test_a_path_hydra_cannot_parse_is_refused_with_how_to_quote_it(
    files, tmp_path, capsys, monkeypatch
):
    """`é`, `( )` and `~` are outside Hydra's unquoted values: the line says how to quote them,
    and the quoted path trains (`~` is the home folder, which the shell does not expand after
    `=`)."""
    from experiments.cli.config import register_schemas
    from experiments.cli.preflight import check_command_line

    register_schemas()
    (tmp_path / "données").mkdir()
    own = tmp_path / "données" / "r(1).csv"
    own.write_bytes(files["reviews.csv"].read_bytes())
    table = ["logger=none", "data=table", "data.label_column=label", "data.text_column=text"]
    with pytest.raises(SystemExit) as exited:
        check_command_line([*table, f"data.path={own}"], REPO / "conf")
    error = capsys.readouterr().err
    assert exited.value.code == 2 and error.count("\n") == 1
    assert f"""anything else in quotes, e.g. 'data.path="{own}"'""" in error
    check_command_line([*table, f'data.path="{own}"'], REPO / "conf")  # no SystemExit
    monkeypatch.setenv("HOME", str(tmp_path / "données"))
    check_command_line([*table, 'data.path="~/r(1).csv"'], REPO / "conf")


def test_one_runaway_sequence_is_refused_before_it_pads_the_others(tmp_path, monkeypatch):
    """Every sequence is padded to the longest: one of 2,000 steps among 199 of 5 steps must not
    fill the memory (here a machine of 1 MB); the line proposes a data.max_len."""
    import data.own

    rows = "id,time,temp,vibration,state,split\n" + "".join(
        f"{i},{t},1,{t % 3},{'ab'[i % 2]},{SPLITS[i % 4]}\n"
        for i in range(200) for t in range(2000 if i == 7 else 5)
    )  # fmt: skip
    text = "text,label,split\n" + "".join(
        f"{'w ' * (3000 if i == 7 else 5)},{'ab'[i % 2]},{SPLITS[i % 4]}\n" for i in range(200)
    )
    long, texts = write(tmp_path / "long.csv", rows), write(tmp_path / "text.csv", text)
    assert TableTask(path=long, **SENSORS).spec.seq_len == 2000  # fits this machine
    monkeypatch.setattr(data.own, "machine_memory", lambda: 1_000_000)
    for path, arguments, what in ((long, SENSORS, "200 sequences"), (texts, REVIEWS, "200 texts")):
        with pytest.raises(ValueError) as caught:
            TableTask(path=path, **arguments)
        message = str(caught.value)
        assert message.startswith(f"data.max_len: {what} padded to the longest"), message
        assert "e.g. data.max_len=5 (99% of the sequences are no longer)" in message, message
        TableTask(path=path, **arguments, max_len=5)  # the proposed cut fits
