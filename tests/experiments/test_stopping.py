"""The success criterion (`trainer.solved_monitor` / `trainer.solved_at`): a run stops at the end
of the first epoch that reaches it, and only then; bad settings are refused by name."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from experiments.cli.config import ConfigError, validate_config
from experiments.pipeline import solved
from experiments.results.sweeps import budget
from experiments.train import train
from tests.conftest import TINY


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


def test_a_monitor_the_task_does_not_log_fails_the_run_naming_what_it_logs(tiny_cfg):
    result = train(tiny_cfg("trainer.solved_monitor=val_mae", "trainer.solved_at=0.1"))
    assert result["status"] == "failed"
    assert "trainer.solved_monitor='val_mae' is not logged by this task" in result["error"]
    assert "val_accuracy" in result["error"]


@pytest.mark.parametrize(
    "overrides, key",
    [
        (["trainer.solved_monitor=val_acc", "trainer.solved_at=0.9"], "trainer.solved_monitor"),
        (["trainer.solved_monitor=val_loss"], "trainer.solved_at"),
        (["trainer.solved_at=0.5"], "trainer.solved_at"),
        (["trainer.solved_monitor=val_loss", "trainer.solved_at=nan"], "trainer.solved_at"),
    ],
)
def test_bad_success_criteria_are_refused_naming_the_key(compose_cfg, overrides, key):
    with pytest.raises(ConfigError, match=key):
        validate_config(compose_cfg(overrides))
