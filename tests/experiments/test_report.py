"""The report on a hand-made sweep directory: seeds averaged, failures and missing runs listed."""

from __future__ import annotations

import os
import re
import time

import pandas as pd
import pytest

from experiments import outputs
from experiments.results import report as report_module
from experiments.results.report import cell_table, latest_sweep, load_runs, report, summary_table


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


def test_a_sweep_whose_runs_all_died_is_reported_not_raised(tmp_path, capsys):
    """Every run killed before it wrote `metrics.json` (or its record unreadable): the report
    lists each with why and counts them, instead of failing on the table it cannot make."""
    outputs.write_json(tmp_path / outputs.SWEEP_PLAN, {"runs": ["model=rnn", "model=gru"]})
    (tmp_path / "model=gru").mkdir()
    (tmp_path / "model=gru" / outputs.METRICS).write_text("[1, 2]")
    result = report(tmp_path)
    assert result.n_failed == 2 and result.plot is None
    printed = capsys.readouterr().out
    assert "0 of 2 runs ok" in printed and "model=rnn: missing: no metrics.json" in printed


def test_latest_sweep_is_the_last_one_hydra_wrote(tmp_path):
    for name in ("b", "a"):
        (tmp_path / "sweeps" / name).mkdir(parents=True)
        (tmp_path / "sweeps" / name / "multirun.yaml").write_text("{}")
        stamp = time.time() + (100 if name == "a" else 0)
        os.utime(tmp_path / "sweeps" / name / "multirun.yaml", (stamp, stamp))
    assert latest_sweep(tmp_path) == tmp_path / "sweeps" / "a"
    with pytest.raises(FileNotFoundError):
        latest_sweep(tmp_path / "nothing")


@pytest.fixture
def context_switch_sweep(tmp_path):
    """context_switch at seq_len 10: lstm over seeds 0 and 1, rnn (no retention) over seed 0."""
    runs = {
        ("lstm", 0): dict(test_accuracy=0.9, test_accuracy_switch=0.8, test_accuracy_keep=1.0,
                          retention_at_but=0.2, retention_at_and=0.9, retention_at_new_subject=0.5,
                          retention_elsewhere=0.8, params=400, train_seconds=10.0),
        ("lstm", 1): dict(test_accuracy=0.7, test_accuracy_switch=0.6, test_accuracy_keep=0.8,
                          retention_at_but=0.4, retention_at_and=0.7, retention_at_new_subject=0.5,
                          retention_elsewhere=0.6, params=400, train_seconds=20.0),
        ("rnn", 0): dict(test_accuracy=0.5, test_accuracy_switch=0.25, test_accuracy_keep=0.75,
                         params=100, train_seconds=4.0),
    }  # fmt: skip
    for (model, seed), record in runs.items():
        write_run(
            tmp_path, f"data.seq_len=10,model={model},seed={seed}", data="context_switch",
            primary_metric="accuracy", higher_is_better=True, model=model, seq_len=10, seed=seed,
            baseline_accuracy=0.5, **record,
        )  # fmt: skip
    return tmp_path


def test_context_switch_gets_a_per_model_table_of_switch_keep_and_retention(
    context_switch_sweep, capsys
):
    runs = load_runs(context_switch_sweep)
    table = cell_table(runs[runs["status"] == "ok"], 10)
    assert list(table.index) == ["rnn", "lstm"]  # by size
    assert table.loc["lstm"].to_dict() == {
        "seeds": 2, "switch acc": "0.7 ± 0.14", "keep acc": "0.9 ± 0.14", "ret. but": "0.3 ± 0.14",
        "ret. and": "0.8 ± 0.14", "ret. new subj.": "0.5 ± 0", "ret. elsewhere": "0.7 ± 0.14",
        "params": 400, "train s": 15.0,
    }  # fmt: skip
    assert table.loc["rnn", "switch acc"] == "0.25" and table.loc["rnn", "ret. but"] == "-"
    report(context_switch_sweep)
    printed = capsys.readouterr().out
    assert "context_switch: test accuracy (higher is better" in printed
    assert "context_switch, seq_len 10, per model:" in printed
    assert re.search(r"^lstm\s+0\.8 ± 0\.14\s*$", printed, re.M), printed  # summary row


def test_plot_draws_each_model_mean_with_std_and_the_baseline(sweep_dir, monkeypatch):
    figures = []
    monkeypatch.setattr(report_module.plt, "close", figures.append)
    runs = load_runs(sweep_dir)
    path = report_module.plot_runs(runs[runs["status"] == "ok"], sweep_dir / "plot.png")
    assert path.stat().st_size > 0
    (ax,) = figures[0].axes
    assert ax.get_title() == "adding" and ax.get_ylabel() == "test mse"
    bars = {container.get_label(): container for container in ax.containers}
    means = {model: bars[model].lines[0] for model in ("rnn", "lstm")}
    assert list(means["rnn"].get_xdata()) == [10, 20]
    assert list(means["rnn"].get_ydata()) == pytest.approx([0.15, 0.17])
    assert list(means["lstm"].get_ydata()) == pytest.approx([0.02])
    (baseline,) = [line for line in ax.get_lines() if line.get_label() == "no-memory baseline"]
    assert list(baseline.get_ydata()) == pytest.approx([0.165, 0.165])
    (spread,) = bars["rnn"].lines[2]  # the vertical error bars: mean ± sample std
    low_high = [segment[:, 1] for segment in spread.get_segments()]
    assert low_high[0] == pytest.approx([0.15 - 0.0707107, 0.15 + 0.0707107], abs=1e-6)
    assert low_high[1] == pytest.approx([0.17 - 0.0141421, 0.17 + 0.0141421], abs=1e-6)
