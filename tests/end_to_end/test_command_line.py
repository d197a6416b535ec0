"""The real command line in subprocesses: a 2 × 2 sweep, the report, skip-on-rerun, a failing
run that does not sink its sweep, and (slow) the parallel and submitit launchers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from experiments import outputs
from tests.conftest import TINY, run_cli

GRID = ["model=rnn,gru", "data.seq_len=5,8"]


def sweep(tmp_path: Path, *args: str) -> tuple:
    """Run `python -m experiments.train -m <TINY> <args>` into `tmp_path/sweep`."""
    sweep_dir = tmp_path / "sweep"
    cmd = ["-m", "experiments.train", "-m", *TINY, *args, f"hydra.sweep.dir={sweep_dir}"]
    return run_cli(cmd, cwd=tmp_path), sweep_dir


def run_dirs(sweep_dir: Path) -> list[Path]:
    """The sweep's run directories (those holding a `.hydra` folder)."""
    return sorted(path.parent for path in sweep_dir.glob("*/.hydra"))


def test_sweep_writes_runs_and_report_then_rerun_skips(tmp_path):
    result, sweep_dir = sweep(tmp_path, *GRID)
    assert result.returncode == 0, result.stderr[-3000:]

    runs = run_dirs(sweep_dir)
    swept = {
        tuple(part for part in run.name.split(",") if part.startswith(("model=", "data.seq_len=")))
        for run in runs
    }  # directories are named from the overrides
    assert swept == {(f"data.seq_len={n}", f"model={m}") for n in (5, 8) for m in ("rnn", "gru")}
    for run in runs:
        metrics = json.loads((run / outputs.METRICS).read_text())
        assert metrics["status"] == "ok" and metrics["seq_len"] in (5, 8)
        assert (run / outputs.MODEL).exists() and (run / ".hydra" / "config.yaml").exists()
        # metrics.json is written last: nothing in the run is newer
        newest = max(p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file())
        assert (run / outputs.METRICS).stat().st_mtime_ns == newest

    progress = [line for line in result.stdout.splitlines() if re.match(r"\[\d/4\] ", line)]
    assert len(progress) == 4 and progress[-1].startswith("[4/4]")
    assert all(" ok " in line and "left ~" in line for line in progress)
    assert (
        "test accuracy" in result.stdout and f"make tensorboard LOGDIR={sweep_dir}" in result.stdout
    )

    table = pd.read_csv(sweep_dir / outputs.RESULTS)
    assert len(table) == 4 and set(table["status"]) == {"ok"}
    assert (sweep_dir / outputs.PLOT).stat().st_size > 0

    report = run_cli(["-m", "experiments.results.report", str(sweep_dir)], cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert re.search(r"^rnn\s+\S+\s+\S+$", report.stdout, re.MULTILINE), report.stdout
    assert re.search(r"^baseline\s+0\.5", report.stdout, re.MULTILINE), report.stdout

    stamps = {run: (run / outputs.METRICS).stat().st_mtime_ns for run in runs}
    again, _ = sweep(tmp_path, *GRID)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("skipped (already ok)") == 4
    assert stamps == {run: (run / outputs.METRICS).stat().st_mtime_ns for run in runs}


def test_a_failing_run_does_not_sink_the_sweep(tmp_path):
    """Under `launcher=parallel` (what `make sweep` uses), three runs: one trains, one's loss
    turns NaN (a test hook poisons its weights: the same on every CPU), one's worker process is
    killed with SIGKILL as the out-of-memory killer would. Each failure costs only its own run:
    recorded failed with the reason, the report lists both, the sweep exits with status 1, and
    TensorFlow's start-up lines stay off the terminal (no test-suite log settings here)."""
    from tests.hooks import SMALL, run_as_user, start_up_lines

    sweep_dir = tmp_path / "sweep"
    hook = [
        "logger._target_=tests.hooks.PoisonWeights",
        "+logger.poison=none,weights_nan,sigkill",
    ]
    result = run_as_user(
        [
            "-m",
            "experiments.train",
            "-m",
            *SMALL,
            *hook,
            "launcher=parallel",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    records = {
        run.name.split(",")[0]: json.loads((run / outputs.METRICS).read_text())
        for run in run_dirs(sweep_dir)
    }
    assert records["+logger.poison=none"]["status"] == "ok"
    nan, killed = records["+logger.poison=weights_nan"], records["+logger.poison=sigkill"]
    assert nan["status"] == "failed" and nan["error"].startswith(
        "DivergenceError: training loss became nan"
    )
    assert killed["status"] == "failed"
    assert killed["error"].startswith("WorkerLostError: worker process killed by SIGKILL")
    assert (killed["model"], killed["seq_len"]) == ("lstm", 5)
    progress = re.findall(
        r"^\[(\d)/3\] \+logger.poison=(\w+).*  (ok|failed)  ", result.stdout, re.M
    )
    assert [k for k, _, _ in progress] == ["1", "2", "3"], result.stdout
    assert {(name, status) for _, name, status in progress} == {
        ("none", "ok"),
        ("weights_nan", "failed"),
        ("sigkill", "failed"),
    }
    assert "Runs that did not finish ok (2)" in result.stdout
    assert result.stderr.strip().splitlines() == ["error: 2 run(s) did not finish ok"]
    assert not start_up_lines(result.stdout + result.stderr)


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["parallel", "submitit_local"])
def test_sweep_on_other_launchers_with_tensorboard(tmp_path, launcher):
    sweep_dir = tmp_path / "sweep"
    tiny = [o for o in TINY if not o.startswith("logger=")]
    cmd = ["-m", "experiments.train", "-m", *tiny, *GRID, f"launcher={launcher}"]
    result = run_cli([*cmd, f"hydra.sweep.dir={sweep_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = run_dirs(sweep_dir)
    assert len(runs) == 4
    assert all(json.loads((r / outputs.METRICS).read_text())["status"] == "ok" for r in runs)
    logs = "".join((r / "train.log").read_text() for r in runs)
    assert "intra_op=1 inter_op=1" in logs  # each job limited to its share of the cores
    assert list(sweep_dir.glob("events.out.tfevents.*"))  # the sweep's hparams and report plot
    assert all(list((r / outputs.TENSORBOARD).glob("events.out.tfevents.*")) for r in runs)
