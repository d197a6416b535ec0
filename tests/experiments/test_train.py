"""Model building and `train(cfg)` in this process: one tiny run per model, skip, resume,
failure, determinism (a few seconds each)."""

from __future__ import annotations

import json
import re
from functools import partial

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_config

from data import ContextSwitchTask
from data.base import TaskSpec
from experiments import outputs
from experiments.pipeline.model import build_model
from experiments.pipeline.resume import STATE
from experiments.train import train
from tests.conftest import CONF, REPO

MODELS = sorted(path.stem for path in (CONF / "model").glob("*.yaml"))
# Runs that also export and serve a SavedModel here: one per layer family. Every zoo cell's
# `serve` and `gates` are checked in one SavedModel by tests/layers/test_zoo.py.
EXPORTED = {"rnn", "lstm", "gru", "keras_lstm", "mgu", "mingru", "slstm"}


def spec(**changes) -> TaskSpec:
    """A spec for model-building tests; defaults: tokens in, one label out of 4."""
    fields = dict(
        name="toy", seq_len=7, input_kind="tokens", input_dim=11, output="last", n_outputs=4,
        primary_metric="accuracy", higher_is_better=True,
    )  # fmt: skip
    return TaskSpec(**(fields | changes))


def test_build_model_tokens_to_logits_serves_any_length():
    model = build_model(spec(), partial(keras.layers.GRU, 5), num_layers=2, embedding_dim=6)
    assert [layer.name for layer in model.layers if layer.name.startswith("gru_")] == [
        "gru_0",
        "gru_1",
    ]  # named by their cell: a sweep's LSTM and GRU are told apart in every view
    assert model.get_layer("gru_0").return_sequences
    assert not model.get_layer("gru_1").return_sequences
    for length in (3, 17):
        tokens = np.random.default_rng(0).integers(1, 11, size=(2, length))
        assert model(tokens).shape == (2, 4)


def test_build_model_features_to_a_sequence_of_values():
    model = build_model(
        spec(input_kind="features", input_dim=3, output="sequence", n_outputs=1),
        partial(keras.layers.SimpleRNN, 5),
        num_layers=1,
        embedding_dim=6,
    )
    assert model(np.zeros((2, 9, 3), "float32")).shape == (2, 9, 1)
    assert model.get_layer("simple_rnn_0").return_sequences


def test_build_model_masks_padding():
    """Right padding (id 0) must not change the prediction of the real steps."""
    model = build_model(spec(), partial(keras.layers.LSTM, 5), num_layers=1, embedding_dim=6)
    short = np.array([[3, 4, 5]])
    padded = np.array([[3, 4, 5, 0, 0, 0]])
    np.testing.assert_allclose(model(short), model(padded), rtol=1e-5, atol=1e-6)


def test_build_model_rejects_an_unknown_input_kind():
    with pytest.raises(ValueError, match="input_kind"):
        build_model(spec(input_kind="pixels"), partial(keras.layers.GRU, 5), 1, 4)


def readme_metrics_keys() -> set[str]:
    """The keys the README promises in `metrics.json` ("written last, with `model, data, …`")."""
    listed = re.search(r"written last, with `([^`]+)`", (REPO / "README.md").read_text())
    assert listed, "the README no longer lists metrics.json's keys"
    return {item.split()[0] for item in listed.group(1).split(",")}


@pytest.mark.parametrize("name", MODELS)
def test_one_tiny_run_per_model(tiny_cfg, tmp_path, name):
    cfg = tiny_cfg(f"model={name}", f"export={name in EXPORTED}")
    record = train(cfg)
    run_dir = tmp_path / "run"
    assert record["status"] == "ok", record.get("error")
    saved = json.loads((run_dir / outputs.METRICS).read_text())
    assert saved == record
    task = ContextSwitchTask(seq_len=5, n_train=200, n_val=50, n_test=50, seed=0)  # TINY's
    test = task.splits()["test"]
    metric_keys = {f"test_{key}" for key in ["loss", *task.metrics(np.zeros((50, 8)), test)]}
    baseline_keys = {f"baseline_{key}" for key in task.baselines()}
    listed = readme_metrics_keys() | metric_keys | baseline_keys
    assert listed - {"error"} <= set(saved)  # `error` only on failed runs
    readme = (REPO / "README.md").read_text()
    undocumented = [key for key in saved if key not in listed and f"`{key}`" not in readme]
    assert undocumented == []
    if name not in ("rnn", "keras_rnn"):  # gated cells report their memory gate
        assert {"retention_at_but", "retention_elsewhere"} <= set(saved)
    assert saved["model"] == name and saved["data"] == "context_switch" and saved["seq_len"] == 5
    assert saved["epochs"] == 2 and saved["params"] > 0 and saved["primary_metric"] == "accuracy"
    assert saved["baseline_accuracy"] == 0.5  # half of the 50 test sentences keep their subject

    # The saved model, loaded back, reproduces the recorded test numbers on the test split,
    # computed here from its logits, and the SavedModel serves the same logits.
    reloaded = keras.saving.load_model(run_dir / outputs.MODEL)
    logits = reloaded.predict(test.x, batch_size=cfg.trainer.batch_size, verbose=0)  # (50, 8)
    assert saved["test_accuracy"] == np.mean(logits.argmax(axis=1) == test.y)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    assert saved["test_loss"] == pytest.approx(-np.mean(log_p[np.arange(50), test.y]), rel=1e-4)
    if name in EXPORTED:
        saved_model = tf.saved_model.load(str(run_dir / outputs.SAVED_MODEL))
        np.testing.assert_allclose(saved_model.serve(test.x)["outputs"], logits, atol=1e-5)
    else:
        assert not (run_dir / outputs.SAVED_MODEL).exists()
    assert not (run_dir / outputs.BACKUP).exists()  # resume state is gone once a run is done


def test_export_false_writes_no_saved_model(tiny_cfg, tmp_path):
    record = train(tiny_cfg("model=keras_rnn", "export=false"))
    assert record["status"] == "ok", record.get("error")
    assert (tmp_path / "run" / outputs.MODEL).is_file()
    assert not (tmp_path / "run" / outputs.SAVED_MODEL).exists()


def test_rerun_of_an_ok_run_skips_training(tiny_cfg, tmp_path):
    cfg = tiny_cfg("model=keras_gru")
    first = train(cfg)
    stamp = (tmp_path / "run" / outputs.METRICS).stat().st_mtime_ns
    second = train(cfg)
    assert second["skipped"] is True
    assert second["test_loss"] == first["test_loss"]
    assert (tmp_path / "run" / outputs.METRICS).stat().st_mtime_ns == stamp


def test_deterministic_runs_give_identical_test_metrics(compose_cfg, tmp_path):
    """`deterministic=true` turns TensorFlow's op determinism on in the run's process (seeded
    CPU runs may agree without it, so that is checked directly), and two runs agree."""
    from tests.conftest import TINY

    tf_config.disable_op_determinism()  # earlier tests in this process may have turned it on
    try:
        cfg = compose_cfg([*TINY, "model=gru", f"output_dir={tmp_path / 'plain'}"])
        assert train(cfg)["status"] == "ok"
        assert not tf_config.is_op_determinism_enabled()
        results = []
        for attempt in ("a", "b"):
            cfg = compose_cfg(
                [*TINY, "model=gru", "deterministic=true", f"output_dir={tmp_path / attempt}"]
            )
            results.append(train(cfg))
            assert tf_config.is_op_determinism_enabled()
    finally:
        tf_config.enable_op_determinism()  # it cannot be undone in a run's process either
    tests = [{k: v for k, v in r.items() if k.startswith(("test_", "baseline_"))} for r in results]
    assert tests[0] == tests[1]


def test_a_run_whose_loss_becomes_nan_is_recorded_as_failed(tiny_cfg, tmp_path):
    """NaN weights after epoch 1 (a test hook, the same on every CPU) make the loss NaN."""
    cfg = tiny_cfg("model=keras_rnn", "trainer.epochs=3")
    poison = "tests.hooks.PoisonWeights"
    cfg.logger = {"_target_": poison, "poison": "weights_nan"}
    record = train(cfg)
    assert record["status"] == "failed"
    assert record["error"] == "DivergenceError: training loss became nan in epoch 2, batch 1"
    saved = json.loads((tmp_path / "run" / outputs.METRICS).read_text())
    assert saved["status"] == "failed" and saved["error"] == record["error"]


def test_a_run_that_raises_is_recorded_as_failed(tiny_cfg, tmp_path):
    record = train(tiny_cfg("model=gru", "model.layer._target_=keras.layers.NoSuchLayer"))
    assert record["status"] == "failed"
    assert "NoSuchLayer" in record["error"]
    assert json.loads((tmp_path / "run" / outputs.METRICS).read_text())["status"] == "failed"


def test_a_killed_run_resumes_from_its_last_completed_epoch(tiny_cfg, tmp_path):
    from tests.hooks import RecordEpochs

    cfg = tiny_cfg("model=lstm", "trainer.epochs=3")
    cfg.logger = {"_target_": "tests.hooks.StopAt", "epoch": 2}
    with pytest.raises(KeyboardInterrupt):
        train(cfg)
    checkpoint = tmp_path / "run" / outputs.BACKUP / "epoch-2"
    assert checkpoint.exists()
    assert not (tmp_path / "run" / outputs.METRICS).exists()
    state = json.loads((checkpoint / STATE).read_text())
    assert 0 < state["callbacks"]["clock"]["state"]["seconds"] < 600
    state["callbacks"]["clock"]["state"]["seconds"] = 1000.0  # as if the two epochs took that
    (checkpoint / STATE).write_text(json.dumps(state))

    cfg = tiny_cfg("model=lstm", "trainer.epochs=3")
    cfg.logger._target_ = "tests.hooks.RecordEpochs"
    record = train(cfg)
    assert record["status"] == "ok"
    assert RecordEpochs.seen == [2]  # epochs 0 and 1 were done before the kill
    assert record["epochs"] == 3
    assert 1000 < record["train_seconds"] < 1600  # the attempt before the kill counts too


def test_a_run_with_the_tensorboard_logger_writes_its_event_files(compose_cfg, tmp_path):
    pytest.importorskip("experiments.tensorboard.writer")
    from tests.conftest import TINY

    overrides = [o for o in TINY if not o.startswith("logger=")]
    cfg = compose_cfg([*overrides, "logger=tensorboard", f"output_dir={tmp_path}"])
    assert train(cfg)["status"] == "ok"
    for folder in ("", "train", "validation"):
        assert list((tmp_path / outputs.TENSORBOARD / folder).glob("events.out.tfevents.*"))


@pytest.mark.slow
@pytest.mark.parametrize(  # `table` needs a file of the user's: tests/data/test_own_data.py
    "name", sorted(p.stem for p in (CONF / "data").glob("*.yaml") if p.stem != "table")
)
def test_one_tiny_run_per_task(compose_cfg, tmp_path, name):
    """Every task trains end to end: tokens or features in, one output or one per step."""
    sizes = [] if name == "digits" else ["data.n_train=128", "data.n_val=32", "data.n_test=32"]
    lengths = {"adding": 20, "copy": 10, "temporal_order": 60, "text": 20}
    length = [f"data.seq_len={lengths[name]}"] if name in lengths else []
    cfg = compose_cfg(
        ["logger=none", f"data={name}", *sizes, *length, "model=gru", "model.units=8"]
        + ["trainer.epochs=1", f"output_dir={tmp_path}"]
    )
    record = train(cfg)
    assert record["status"] == "ok", record.get("error")
    metric = record["primary_metric"]
    assert np.isfinite(record[f"test_{metric}"]) and f"baseline_{metric}" in record
