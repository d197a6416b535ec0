"""Failures and bad input, forced deterministically (never through floating-point overflow, which
differs between CPUs): diverged runs, TensorFlow's start-up lines, the memory check of jobs that
run at once, sweep folder names."""

from __future__ import annotations

import re

import pytest

from experiments import outputs
from experiments.train import train
from tests.conftest import REPO, TINY
from tests.hooks import (
    SMALL,
    hooked,
    run_as_user,
    start_up_lines,
)


def test_a_loss_that_explodes_but_stays_finite_is_recorded_as_failed(tiny_cfg, tmp_path):
    overrides = ["model=gru", "trainer.epochs=3", "export=false"]
    cfg = hooked(tiny_cfg, "PoisonWeights", *overrides, poison="weights_huge")
    record = train(cfg)
    assert record["status"] == "failed"
    assert record["error"].startswith("DivergenceError: loss ")
    assert "over 100× the starting loss" in record["error"]
    assert not (tmp_path / "run" / outputs.BACKUP).exists()  # a rerun starts over, not diverged


def test_a_run_with_tensorboard_and_export_prints_no_tensorflow_info_lines(tmp_path):
    """The TensorBoard logger gives TensorFlow's Python logger a stderr handler, and every
    SavedModel save logs "Assets written to" at INFO: by default the terminal shows neither."""
    overrides = [o for o in TINY if o not in ("logger=none", "trainer.epochs=2")]
    args = [*overrides, "logger=tensorboard", "trainer.epochs=1", f"hydra.run.dir={tmp_path}"]
    result = run_as_user(["-m", "experiments.train", *args], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / outputs.SAVED_MODEL).is_dir()
    printed = result.stdout + result.stderr
    assert "INFO:tensorflow" not in printed and not start_up_lines(printed), printed[-3000:]


def test_the_layer_check_leaves_thread_counts_settable_and_prints_no_start_up_lines(tmp_path):
    """The command line constructs the run's recurrent layer before Hydra starts (loading
    TensorFlow even with `logger=none`), without starting TensorFlow's runtime: the run still
    sets its thread counts, a valid layer argument trains, and no start-up line is printed."""
    args = [*SMALL, "+model.layer.recurrent_dropout=0.1", "threads.intra_op=1"]
    args += ["threads.inter_op=1", f"hydra.run.dir={tmp_path}"]
    result = run_as_user(["-m", "experiments.train", *args], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert outputs.read_metrics(tmp_path)["status"] == "ok"
    log = (tmp_path / "train.log").read_text()
    assert "TensorFlow threads intra_op=1 inter_op=1" in log and "already started" not in log, log
    assert not start_up_lines(result.stdout + result.stderr), result.stderr[-3000:]


def test_the_memory_check_counts_the_jobs_that_run_at_once(
    compose_cfg, tmp_path, capsys, monkeypatch
):
    """Two jobs that each need 60% of this machine's memory (by the estimate's own numbers, so on
    any machine): one after another they pass, two at once they are refused in one line."""
    from experiments.cli import launchers
    from experiments.cli.config import machine_memory, memory_estimate, validate_config
    from experiments.cli.preflight import check_command_line

    node = launchers.Partition("debug", True, 1 << 20, 64)  # a cluster, for launcher=slurm
    monkeypatch.setattr(launchers, "partitions", lambda: [node])

    sizes = ["logger=none", "data.seq_len=10", "model.units=64"]

    def need(n: int) -> float:  # a batch is at most the training split: both grow together
        cfg = compose_cfg([*sizes, f"trainer.batch_size={n}", f"data.n_train={n}"])
        return sum(memory_estimate(cfg, validate_config(cfg)).values())

    n = int((0.6 * machine_memory() - need(1000)) / (need(2000) - need(1000)) * 1000) + 1000
    sweep = ["-m", *sizes, f"trainer.batch_size={n}", f"data.n_train={n}", "model=rnn,gru"]
    sweep += [f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    for at_once, setting in (
        (["launcher=parallel"], "launcher=parallel, hydra.launcher.n_jobs=2"),
        (["launcher=parallel", "hydra.launcher.n_jobs=3"], "hydra.launcher.n_jobs=3"),
        (["launcher=submitit_local"], "launcher=submitit_local starts every job at once"),
    ):
        with pytest.raises(SystemExit) as exited:
            check_command_line([*sweep, *at_once], REPO / "conf")
        error = capsys.readouterr().err
        assert exited.value.code == 2 and error.count("\n") == 1, error
        assert re.match(r"error: model=(rnn|gru): needs at least .* × 2 jobs at once \(", error)
        assert f"{setting}): " in error and "2 largest jobs together, more than" in error
    for one_at_a_time in (
        ["launcher=local"],
        ["launcher=parallel", "hydra.launcher.n_jobs=1"],
        ["launcher=slurm"],  # each job on its own node: checked alone
    ):
        check_command_line([*sweep, *one_at_a_time], REPO / "conf")  # no SystemExit
    assert not (tmp_path / "sweep").exists()


def test_sweep_run_folders_are_flat_and_names_without_a_slash_unchanged(compose_cfg):
    from omegaconf import OmegaConf

    def folder(*overrides: str) -> str:
        cfg = compose_cfg([*overrides, "logger=none"], hydra=True)
        return OmegaConf.select(cfg, "hydra.sweep.subdir")

    assert folder("data.seq_len=50", "model=gru") == "data.seq_len=50,model=gru"  # resume
    assert folder("data=table", "data.path=../own/x.csv") == "data.path=..%2Fown%2Fx.csv,data=table"
    long = folder("data=table", f"data.path=/{'a' * 300}.csv")
    assert "/" not in long and len(long.encode()) == 255 and long.startswith("data.path=%2Faaa")
    assert long != folder("data=table", f"data.path=/{'a' * 300}.tsv")  # the hash tells them apart
    cut = outputs.run_name(f"data.path={'é' * 200}")  # never inside a two-byte character
    assert len(cut.encode()) <= 255 and cut.startswith("data.path=éé")
    assert outputs.run_name(".hidden=1") == "%2Ehidden=1"
