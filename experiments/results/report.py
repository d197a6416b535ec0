"""Tabulate a sweep: `python -m experiments.results.report [SWEEP_DIR]` (default: the latest sweep).

Loads every run's `metrics.json` into a DataFrame, writes `results.csv` into the sweep directory,
prints a model × seq_len table of the primary metric (mean ± std over seeds) beside the
no-memory baseline, lists the runs that failed or never finished, and saves a plot of the metric
against seq_len per model (`metric_vs_seq_len.png`).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import pandas as pd

from experiments import outputs
from experiments.results.colours import model_colour

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OUTPUTS_ROOT = Path("outputs")


@dataclass
class Report:
    """What `report` produced: one row per run, the plot (None without an ok run), failures."""

    runs: pd.DataFrame
    plot: Path | None
    n_failed: int


def latest_sweep(root: Path = OUTPUTS_ROOT) -> Path:
    """The sweep directory under `root` whose `multirun.yaml` Hydra wrote last."""
    marks = sorted(root.glob("**/multirun.yaml"), key=lambda p: p.stat().st_mtime)
    if not marks:
        raise FileNotFoundError(f"no sweep (multirun.yaml) under {root}/")
    return marks[-1].parent


def load_runs(sweep_dir: Path) -> pd.DataFrame:
    """One row per run directory: its `metrics.json`, plus `run` (the directory's name).

    Runs listed in the sweep's `sweep.json` (their directory names) without a `metrics.json`
    (killed, or not run yet) appear with `status: missing`; a `metrics.json` that is not a JSON
    object or holds a non-number where a number belongs, with `status: unreadable`.
    """
    rows = []
    for path in sorted(sweep_dir.glob(f"**/{outputs.METRICS}")):
        run = str(path.parent.relative_to(sweep_dir))
        try:
            record = json.loads(path.read_text())
            problem = outputs.record_problem(record)
        except (OSError, ValueError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if problem is None:
            rows.append({"run": run, **record})
        else:
            rows.append({"run": run, "status": "unreadable", "error": f"metrics.json: {problem}"})
    plan_path = sweep_dir / outputs.SWEEP_PLAN
    if plan_path.exists():
        done = {row["run"] for row in rows}
        for run in json.loads(plan_path.read_text())["runs"]:
            if run not in done:
                rows.append({"run": run, "status": "missing", "error": "no metrics.json"})
    return pd.DataFrame(rows)


def _cell(values: pd.Series) -> str:
    """`0.953` for one value, `0.953 ± 0.012` for several (sample std), `-` for none."""
    values = values.dropna()
    if values.empty:
        return "-"
    if len(values) == 1:
        return f"{values.iloc[0]:.3g}"
    return f"{values.mean():.3g} ± {values.std():.2g}"


def summary_table(ok: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Model × seq_len table of `test_<metric>` cells, models by size, a `baseline` row last."""
    order = ok.groupby("model")["params"].mean().sort_values(kind="stable").index
    table = ok.pivot_table(
        index="model", columns="seq_len", values=f"test_{metric}", aggfunc=_cell
    ).reindex(order)
    per_dataset = ok.drop_duplicates(["seq_len", "seed"])  # the baseline depends on these only
    baseline = per_dataset.groupby("seq_len")[f"baseline_{metric}"].agg(_cell)
    table.loc["baseline"] = baseline
    table.columns.name = "seq_len"
    return table.fillna("-")  # no ok run of that model at that length


# Columns of `cell_table`: metrics.json key → title (context_switch's switch/keep split and the
# retention of the first recurrent layer, `experiments.pipeline.gate_metrics.retention_metrics`).
CELL_COLUMNS = {
    "test_accuracy_switch": "switch acc",
    "test_accuracy_keep": "keep acc",
    "retention_at_but": "ret. but",
    "retention_at_and": "ret. and",
    "retention_at_new_subject": "ret. new subj.",
    "retention_elsewhere": "ret. elsewhere",
}


def cell_table(ok: pd.DataFrame, seq_len: int) -> pd.DataFrame:
    """One row per model at `seq_len`: each `CELL_COLUMNS` metric (mean ± std over seeds),
    parameters and training seconds (mean); models by size. `-` where a model has no value
    (the plain RNN has no retention)."""
    runs = ok[ok["seq_len"] == seq_len]
    grouped = runs.groupby("model")
    table = pd.DataFrame(
        {
            title: grouped[key].agg(_cell) if key in runs else "-"
            for key, title in CELL_COLUMNS.items()
        }
    )
    table.insert(0, "seeds", grouped.size())
    table["params"] = grouped["params"].mean().astype(int)
    table["train s"] = grouped["train_seconds"].mean().round(1)
    return table.sort_values(["params"], kind="stable")


def plot_runs(ok: pd.DataFrame, path: Path) -> Path:
    """Metric against seq_len, one line per model (mean, std error bars), one panel per task."""
    tasks = list(ok.groupby("data"))
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.6), squeeze=False)
    for ax, (task, runs) in zip(axes[0], tasks, strict=True):
        metric = runs["primary_metric"].iloc[0]
        for model, group in runs.groupby("model"):
            stats = group.groupby("seq_len")[f"test_{metric}"].agg(["mean", "std"]).fillna(0)
            ax.errorbar(
                stats.index, stats["mean"], yerr=stats["std"], marker="o", label=model,
                color=model_colour(model),
            )  # fmt: skip
        base = runs.drop_duplicates(["seq_len", "seed"]).groupby("seq_len")[f"baseline_{metric}"]
        base = base.mean()
        ax.plot(base.index, base.values, "k--", label="no-memory baseline")
        ax.set(xlabel="seq_len", ylabel=f"test {metric}", title=task)
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def report(sweep_dir: Path, echo: bool = True) -> Report:
    """Load, tabulate, plot and list the failures of one sweep (see the module docstring)."""
    runs = load_runs(sweep_dir)
    if runs.empty:
        raise FileNotFoundError(f"no {outputs.METRICS} under {sweep_dir}")
    runs.to_csv(sweep_dir / outputs.RESULTS, index=False)
    ok = runs[runs["status"] == "ok"]
    lines = [f"Sweep {sweep_dir}: {len(ok)} of {len(runs)} runs ok"]
    for task, group in ok.groupby("data") if not ok.empty else ():  # no run ok: nothing to tabulate
        metric = group["primary_metric"].iloc[0]
        better = "higher" if group["higher_is_better"].iloc[0] else "lower"
        lines += [
            "",
            f"{task}: test {metric} ({better} is better; mean ± std over seeds where several)",
            summary_table(group, metric).to_string(),
        ]
        if "test_accuracy_switch" in group:  # context_switch: per cell, switch and keep apart
            for seq_len in sorted(group["seq_len"].unique()):
                lines += ["", f"{task}, seq_len {seq_len}, per model:"]
                lines.append(cell_table(group, seq_len).to_string())
    failed = runs[runs["status"] != "ok"]
    if not failed.empty:
        lines += ["", f"Runs that did not finish ok ({len(failed)}):"]
        lines += [f"  {r.run}: {r.status}: {r.error}" for r in failed.itertuples()]
    plot = plot_runs(ok, sweep_dir / outputs.PLOT) if not ok.empty else None
    if plot is not None:
        lines += ["", f"Results: {sweep_dir / outputs.RESULTS}, plot: {plot}"]
    if echo:
        print("\n".join(lines), flush=True)
    return Report(runs=runs, plot=plot, n_failed=len(failed))


def main(argv: list[str] | None = None) -> None:
    """Command line: `python -m experiments.results.report [SWEEP_DIR]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", nargs="?", type=Path, help="default: the latest sweep")
    args = parser.parse_args(argv)
    try:
        report(args.sweep_dir or latest_sweep())
    except FileNotFoundError as exc:
        parser.exit(1, f"error: {exc}\n")


if __name__ == "__main__":
    main()
