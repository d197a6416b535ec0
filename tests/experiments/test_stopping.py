"""The success criterion (`trainer.solved_monitor` / `trainer.solved_at`): a run stops at the end
of the first epoch that reaches it, and only then; bad settings are refused by name."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from experiments.cli.config import ConfigError, validate_config
from experiments.pipeline import solved
from experiments.pipeline.stopping import StopWhenSolved
from experiments.results.sweeps import budget
from experiments.train import train
from tests.conftest import TINY
from tests.hooks import RecordEpochs, hooked


@pytest.mark.parametrize(
    "monitor, value, threshold, expected",
    [
        ("val_loss", 0.001, 0.002, True),
        ("val_loss", 0.002, 0.002, True),
        ("val_loss", 0.0021, 0.002, False),
        ("val_mae", 0.5, 0.1, False),
        ("val_accuracy", 0.99, 0.99, True),
        ("val_accuracy", 0.98, 0.99, False),
    ],
)
def test_solved_is_at_or_below_a_loss_and_at_or_above_an_accuracy(
    monitor, value, threshold, expected
):
    assert solved.reached(monitor, value, threshold) is expected


def test_a_run_stops_at_the_first_epoch_that_is_solved_and_not_before(
    tiny_cfg, compose_cfg, tmp_path
):
    """An accuracy of at least 0 is reached by epoch 1; one of 1.01 never is."""
    always = ["trainer.epochs=3", "trainer.patience=null", "trainer.solved_monitor=val_accuracy"]
    cfg = tiny_cfg(*always, "trainer.solved_at=0")
    first = train(cfg)
    assert first["status"] == "ok" and first["epochs"] == 1
    (tmp_path / "run" / ".hydra").mkdir()
    OmegaConf.save(cfg, tmp_path / "run" / ".hydra" / "config.yaml")  # as Hydra records it
    assert "(no early stopping; stops once solved: val_accuracy ≥ 0)" in budget(tmp_path / "run")
    never = train(
        compose_cfg([*TINY, f"output_dir={tmp_path / 'b'}", *always, "trainer.solved_at=1.01"])
    )
    assert never["status"] == "ok" and never["epochs"] == 3


def test_a_run_killed_after_its_solved_epoch_resumes_without_training_again(tiny_cfg):
    """Killed after the solved epoch was backed up but before `fit` returned: the rerun sees the
    criterion met in the backup and trains no further epoch."""
    solved_at_once = [
        "trainer.epochs=3",
        "trainer.patience=null",
        "trainer.solved_monitor=val_accuracy",
        "trainer.solved_at=0",
    ]
    with pytest.raises(KeyboardInterrupt):
        train(hooked(tiny_cfg, "StopAtTrainEnd", *solved_at_once))
    resumed = train(hooked(tiny_cfg, "RecordEpochs", *solved_at_once))
    assert resumed["status"] == "ok" and resumed["epochs"] == 1
    assert RecordEpochs.seen == []  # not one more epoch


def test_a_monitor_the_task_does_not_log_is_refused_before_the_run(compose_cfg):
    solved_only = ["trainer.patience=null", "trainer.solved_at=0.1"]
    cfg = compose_cfg([*solved_only, "trainer.solved_monitor=val_mae"])
    with pytest.raises(ConfigError, match=r"trainer\.solved_monitor=val_mae: this task "):
        validate_config(cfg)
    cfg = compose_cfg(["data=adding", *solved_only, "trainer.solved_monitor=val_accuracy"])
    with pytest.raises(ConfigError, match="logs val_loss, val_mae on validation"):
        validate_config(cfg)


def test_the_callback_names_what_the_task_logs_when_the_monitor_is_missing():
    callback = StopWhenSolved("val_mae", 0.1)
    with pytest.raises(ValueError, match="it logs val_accuracy, val_loss"):
        callback.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0, "val_accuracy": 0.5})


@pytest.mark.parametrize(
    "overrides, key",
    [
        (["trainer.solved_monitor=val_acc", "trainer.solved_at=0.9"], "trainer.solved_monitor"),
        (["trainer.solved_monitor=val_loss"], "trainer.solved_at"),
        (["trainer.solved_at=0.5"], "trainer.solved_at"),
        (["trainer.solved_monitor=val_loss", "trainer.solved_at=nan"], "trainer.solved_at"),
        (  # early stopping would test its best-loss weights, not the solved epoch's
            ["trainer.solved_monitor=val_loss", "trainer.solved_at=0.1", "trainer.patience=3"],
            "trainer.solved_monitor.*trainer.patience=null",
        ),
    ],
)
def test_bad_success_criteria_are_refused_naming_the_key(compose_cfg, overrides, key):
    with pytest.raises(ConfigError, match=key):
        validate_config(compose_cfg(overrides))
