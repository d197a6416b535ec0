"""The report on a hand-made sweep directory: seeds averaged, failures and missing runs listed."""

from __future__ import annotations

import os
import time

import pandas as pd
import pytest

from experiments import outputs
from experiments.report import latest_sweep, load_runs, report, summary_table


def write_run(sweep_dir, name, **record):
    """A run directory holding only `metrics.json`."""
    base = {"data": "adding", "primary_metric": "mse", "higher_is_better": False, "status": "ok"}
    outputs.write_json(sweep_dir / name / outputs.METRICS, base | record)


@pytest.fixture
def sweep_dir(tmp_path):
    """rnn and lstm at seq_len 10 and 20 over seeds 0 and 1; one failed run, one missing."""
    mse = {("rnn", 10): [0.1, 0.2], ("rnn", 20): [0.16, 0.18], ("lstm", 10): [0.01, 0.03]}
    for (model, seq_len), values in mse.items():
        for seed, value in enumerate(values):
            write_run(
                tmp_path,
                f"data.seq_len={seq_len},model={model},seed={seed}",
                model=model, seq_len=seq_len, seed=seed, params=100 if model == "rnn" else 400,
                test_mse=value, baseline_mse=0.16 + seed / 100,
            )  # fmt: skip
    write_run(
        tmp_path,
        "data.seq_len=20,model=lstm,seed=0",
        model="lstm", seq_len=20, seed=0, status="failed", error="FloatingPointError: NaN",
    )  # fmt: skip
    runs = sorted(p.name for p in tmp_path.iterdir()) + ["data.seq_len=20,model=lstm,seed=1"]
    outputs.write_json(tmp_path / outputs.SWEEP_PLAN, {"n_jobs": len(runs), "runs": runs})
    return tmp_path


def test_load_runs_lists_missing_runs_of_the_plan(sweep_dir):
    runs = load_runs(sweep_dir)
    assert len(runs) == 8
    assert runs.set_index("run").loc["data.seq_len=20,model=lstm,seed=1", "status"] == "missing"


def test_table_has_mean_and_std_over_seeds_and_the_baseline(sweep_dir):
    runs = load_runs(sweep_dir)
    table = summary_table(runs[runs["status"] == "ok"], "mse")
    assert list(table.index) == ["rnn", "lstm", "baseline"]  # models by size, baseline last
    assert table.loc["rnn", 10] == "0.15 ± 0.071"
    assert table.loc["lstm", 10] == "0.02 ± 0.014"
    assert table.loc["baseline", 10] == "0.165 ± 0.0071"  # once per seed, not once per model
    assert table.loc["lstm", 20] == "-"  # its only run failed


def test_report_writes_csv_and_plot_and_counts_failures(sweep_dir, capsys):
    result = report(sweep_dir)
    printed = capsys.readouterr().out
    assert result.n_failed == 2
    assert "did not finish ok (2)" in printed and "FloatingPointError: NaN" in printed
    assert "test mse (lower is better" in printed
    assert len(pd.read_csv(sweep_dir / outputs.RESULTS)) == 8
    assert result.plot == sweep_dir / outputs.PLOT and result.plot.stat().st_size > 0


def test_latest_sweep_is_the_last_one_hydra_wrote(tmp_path):
    for name in ("b", "a"):
        (tmp_path / "sweeps" / name).mkdir(parents=True)
        (tmp_path / "sweeps" / name / "multirun.yaml").write_text("{}")
        stamp = time.time() + (100 if name == "a" else 0)
        os.utime(tmp_path / "sweeps" / name / "multirun.yaml", (stamp, stamp))
    assert latest_sweep(tmp_path) == tmp_path / "sweeps" / "a"
    with pytest.raises(FileNotFoundError):
        latest_sweep(tmp_path / "nothing")
