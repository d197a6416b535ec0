"""Resume: a killed, torn, failed or half-finished run trains again from what it saved, and ends
with the numbers of a run that was never interrupted; run locks and garbled records."""

from __future__ import annotations

import json
import os

import pytest

from experiments import outputs
from experiments.pipeline.resume import WEIGHTS
from experiments.results.report import report
from experiments.train import train
from tests.hooks import (
    RecordEpochs,
    hooked,
)


def interrupted(tiny_cfg, epoch: int, *overrides: str):
    """Train until epoch `epoch` begins, then stop as a kill would; return the run directory."""
    cfg = hooked(tiny_cfg, "StopAt", *overrides, epoch=epoch)
    with pytest.raises(KeyboardInterrupt):
        train(cfg)
    return cfg


def test_a_torn_backup_means_start_over_with_a_warning(tiny_cfg, tmp_path, caplog):
    interrupted(tiny_cfg, 2, "model=gru", "trainer.epochs=3", "export=false")
    backup = tmp_path / "run" / outputs.BACKUP
    (checkpoint,) = backup.glob("epoch-*")
    assert checkpoint.name == "epoch-2"
    weights = checkpoint / WEIGHTS
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # torn mid-write
    (backup / "training_metadata.json").write_text("")  # Keras's BackupAndRestore layout, empty
    record = train(tiny_cfg("model=gru", "trainer.epochs=3", "export=false"))
    assert record["status"] == "ok" and record["epochs"] == 3
    assert "unreadable" in caplog.text and "starting this run over" in caplog.text


def test_a_kill_while_the_backup_is_written_keeps_the_previous_epoch(
    tiny_cfg, tmp_path, monkeypatch
):
    """Saving epoch 2 dies half way through the weights file: epoch 1 must still resume."""
    from experiments.pipeline import resume

    real_write = resume.write_weights  # what the backup writes the weights with

    def dying_write(model, path):
        real_write(model, path)
        if "epoch-2" in str(path):
            path.write_bytes(path.read_bytes()[:100])
            raise KeyboardInterrupt

    monkeypatch.setattr(resume, "write_weights", dying_write)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_cfg("model=gru", "trainer.epochs=3", "export=false"))
    monkeypatch.undo()
    cfg = hooked(tiny_cfg, "RecordEpochs", "model=gru", "trainer.epochs=3", "export=false")
    record = train(cfg)
    assert record["status"] == "ok"
    assert RecordEpochs.seen == [1, 2]  # resumed after epoch 1, the last complete checkpoint


def test_a_kill_after_training_resumes_without_training_again(tiny_cfg, tmp_path, monkeypatch):
    """Killed while the test split is evaluated: the rerun evaluates the trained weights and
    records the first attempt's epochs and seconds, without a single epoch more."""
    from experiments.pipeline import run as loop

    real_evaluate = loop.evaluate

    def dying_evaluate(*args, **kwargs):
        raise KeyboardInterrupt  # what a kill leaves: no metrics.json

    monkeypatch.setattr(loop, "evaluate", dying_evaluate)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_cfg("model=gru", "trainer.epochs=2", "export=false"))
    finished = json.loads(
        (tmp_path / "run" / outputs.BACKUP / "finished" / "state.json").read_text()
    )
    assert finished["epochs"] == 2
    monkeypatch.setattr(loop, "evaluate", real_evaluate)
    cfg = hooked(tiny_cfg, "RecordEpochs", "model=gru", "trainer.epochs=2", "export=false")
    RecordEpochs.seen = ["not called"]
    record = train(cfg)
    assert record["status"] == "ok" and record["epochs"] == 2
    assert record["train_seconds"] == round(finished["seconds"], 3)
    assert RecordEpochs.seen == []  # fit ran no epoch
    assert not (tmp_path / "run" / outputs.BACKUP).exists()  # gone once metrics.json is written


EARLY = [
    "model=gru",
    "export=false",
    "deterministic=true",
    "trainer.epochs=12",
    "trainer.patience=2",
]


EARLY += ["trainer.learning_rate=0.03"]  # overfits 200 sentences fast: val_loss turns up early


def test_resume_with_early_stopping_equals_an_uninterrupted_run(tiny_cfg, tmp_path):
    whole = train(tiny_cfg(*EARLY))
    assert whole["status"] == "ok"
    assert whole["epochs"] < 12  # early stopping did stop this run
    outputs_dir = tmp_path / "run"
    for path in sorted(outputs_dir.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    interrupted(tiny_cfg, whole["epochs"] - 1, *EARLY)  # stopped one epoch before it stopped
    resumed = train(tiny_cfg(*EARLY))
    assert resumed["epochs"] == whole["epochs"]
    for key in ("test_loss", "test_accuracy"):
        assert resumed[key] == whole[key], key


def test_a_run_with_a_deleted_artifact_is_trained_again(tiny_cfg, tmp_path):
    cfg = tiny_cfg("model=gru", "export=true", "trainer.epochs=1")
    assert train(cfg)["status"] == "ok"
    for artifact in (outputs.MODEL, f"{outputs.SAVED_MODEL}/saved_model.pb"):
        (tmp_path / "run" / artifact).unlink()
        again = train(cfg)
        assert not again.get("skipped"), artifact
        assert again["status"] == "ok" and (tmp_path / "run" / artifact).exists()
    assert train(cfg)["skipped"] is True


def test_a_rerun_trains_a_failed_run_again(tiny_cfg, tmp_path):
    cfg = hooked(tiny_cfg, "PoisonWeights", "model=gru", "export=false", poison="weights_nan")
    assert train(cfg)["status"] == "failed"
    (tmp_path / "run" / outputs.MODEL).write_bytes(b"")  # a run can fail after saving it
    again = train(tiny_cfg("model=gru", "export=false"))
    assert again["status"] == "ok" and not again.get("skipped")


@pytest.mark.parametrize(
    "garbled", ['{"status": "ok", "test_mse": "abc"}', "[1, 2]", '{"status": "ok"', "null"]
)
def test_a_garbled_metrics_json_is_listed_as_unreadable(tmp_path, capsys, garbled):
    good = {"model": "rnn", "data": "adding", "seq_len": 10, "seed": 0, "params": 1, "status": "ok"}
    good |= {"primary_metric": "mse", "higher_is_better": False, "test_mse": 0.1}
    outputs.write_json(tmp_path / "ok_run" / outputs.METRICS, good | {"baseline_mse": 0.16})
    (tmp_path / "bad_run").mkdir()
    (tmp_path / "bad_run" / outputs.METRICS).write_text(garbled)
    result = report(tmp_path)
    printed = capsys.readouterr().out
    assert result.n_failed == 1
    assert "bad_run: unreadable" in printed
    assert "1 of 2 runs ok" in printed and "0.1" in printed


def test_the_run_lock_is_exclusive_and_a_dead_owners_lock_is_taken_over(tmp_path):
    from experiments.pipeline.runlock import RunLock, RunLockedError

    (tmp_path / outputs.LOCK).write_text("pid 999999 on a-host-that-died\n")  # stale
    with RunLock(tmp_path, wait=False) as lock:
        assert f"pid {os.getpid()}" in (tmp_path / outputs.LOCK).read_text()
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()}"):
            RunLock(tmp_path, wait=False).__enter__()
        assert lock.path.exists()
    with RunLock(tmp_path, wait=False):
        pass
