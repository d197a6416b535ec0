"""Per preset: the numbers (mean, std, seeds per model and axis value), verdicts and the plot."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from experiments.results import registry
from experiments.results.claims import Claim, Preset, Runs, best_setting, validation_scores
from experiments.results.colours import model_colour
from experiments.results.stats import NOT_RUN, Part, claim_verdict, holm, stat
from experiments.results.sweeps import Sweep

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@dataclass(frozen=True)
class Verdict:
    """A claim judged on a sweep: its tested parts and whether its criterion was pre-registered."""

    claim: Claim
    verdict: str
    parts: tuple[Part, ...]
    registration: registry.Registration

    @property
    def evidence(self) -> str:
        """Each part with its verdict, in words."""
        if not self.parts:
            return "no runs for this criterion"
        return "; ".join(f"{p.label}: {p.verdict()}" for p in self.parts)


@dataclass(frozen=True)
class PresetResult:
    """What docs/RESULTS.md shows for one preset; `sweep` is None when it never ran."""

    preset: Preset
    sweep: Sweep | None
    numbers: pd.DataFrame  # columns: metric, model, axis, mean, std, n (ok runs only)
    verdicts: list[Verdict]
    plot: Path | None
    curves: Path | None = None  # the validation metric per epoch, mean and band over seeds
    sensitivity: pd.DataFrame | None = None  # per model and tuned value (`Preset.tune`)


def with_axis(sweep: Sweep, preset: Preset) -> pd.DataFrame:
    """The sweep's ok runs with an `axis` column (the preset's table columns)."""
    ok = sweep.ok.copy()
    values = ok[preset.axis] if preset.axis in ok else [None] * len(ok)
    # seq_len turns float when a missing run's row is NaN; 10.0 reads as 10
    ok["axis"] = [int(v) if isinstance(v, float) and v.is_integer() else v for v in values]
    if preset.label_units and "units" in ok:
        ok["model"] = [f"{m}_{int(u)}" for m, u in zip(ok["model"], ok["units"])]
    return ok


def shown(ok: pd.DataFrame, preset: Preset) -> pd.DataFrame:
    """The runs the tables and plots show: with `preset.tune`, each model's runs at its best
    value by mean validation score (the same selection the claims use); else all."""
    if not preset.tune:
        return ok
    return best_setting(ok, preset.tune, preset.metric.removeprefix("test_"), True)


def sensitivity(ok: pd.DataFrame, preset: Preset) -> pd.DataFrame:
    """Per model, axis value and value of `preset.tune`: mean validation score and mean test
    metric over seeds, the runs, and whether it is the value chosen."""
    metric = preset.metric.removeprefix("test_")
    scored = ok.assign(val_score=validation_scores(ok, metric))
    table = (
        scored.groupby(["model", "axis", preset.tune])
        .agg(val=("val_score", "mean"), test=(preset.metric, "mean"), n=(preset.metric, "size"))
        .reset_index()
    )
    chosen = shown(ok, preset)[["model", "axis", preset.tune]].drop_duplicates()
    marks = set(map(tuple, chosen.to_numpy()))
    table["chosen"] = [tuple(r) in marks for r in table[["model", "axis", preset.tune]].to_numpy()]
    return table


def band(runs: list[list[float]]) -> tuple[np.ndarray, ...]:
    """Epochs 1..E and, per epoch, the mean, min and max over the runs that reached it (runs
    stopped early end early); E is the longest run's epochs."""
    grid = np.full((len(runs), max(map(len, runs))), np.nan)
    for i, run in enumerate(runs):
        grid[i, : len(run)] = run
    epochs = np.arange(1, grid.shape[1] + 1)
    return epochs, np.nanmean(grid, 0), np.nanmin(grid, 0), np.nanmax(grid, 0)


def curves(ok: pd.DataFrame, preset: Preset, path: Path) -> Path | None:
    """The validation metric (`epoch_val_<metric>`, else the loss) per epoch of each model: the
    mean over seeds (line) and their min–max (band), one panel per axis value; a PNG."""
    metric = preset.metric.removeprefix("test_")
    column = next((c for c in (f"epoch_val_{metric}", "epoch_val_loss") if c in ok), None)
    if column is None:
        return None
    values = sorted(ok["axis"].unique(), key=lambda v: (str(type(v)), v))
    fig, axes = plt.subplots(1, len(values), figsize=(3.4 * len(values) + 1.2, 3.2), squeeze=False)
    for ax, value in zip(axes[0], values):
        for model in model_order(ok):
            runs = ok[(ok["model"] == model) & (ok["axis"] == value)][column]
            runs = [list(v) for v in runs if isinstance(v, list) and v]
            if not runs:
                continue
            epochs, mean, low, high = band(runs)
            (line,) = ax.plot(epochs, mean, label=f"{model} ({len(runs)})")
            ax.fill_between(epochs, low, high, color=line.get_color(), alpha=0.2)
        ylabel = column.removeprefix("epoch_")
        ax.set(title=f"{preset.axis} = {value}", xlabel="epoch", ylabel=ylabel)
        if preset.log_y:
            ax.set_yscale("log")
    axes[0][-1].legend(fontsize="x-small")
    fig.suptitle(f"{preset.title}: validation curves (mean, min–max over seeds)", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def model_order(ok: pd.DataFrame) -> list[str]:
    """Models by parameter count, then name (the order of every table)."""
    sizes = ok.groupby("model")["params"].mean().reset_index()
    return list(sizes.sort_values(["params", "model"], kind="stable")["model"])


def numbers(ok: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Mean, std and seeds of each metric per model and axis value; the baseline of a metric is
    a row with model `baseline`, one value per dataset (axis value and seed)."""
    rows = []
    for metric in metrics:
        if metric not in ok:
            continue
        for (model, axis), group in ok.groupby(["model", "axis"], sort=False):
            s = stat(group, metric)
            if s is not None:
                rows.append({"metric": metric, "model": model, "axis": axis, **vars(s)})
    return pd.DataFrame(rows, columns=["metric", "model", "axis", "mean", "std", "n"])


def baseline_keys(preset: Preset) -> tuple[tuple[str, str], ...]:
    """(metrics.json key, name) of each baseline the tables and plots show."""
    return preset.baselines or ((preset.baseline, "no-memory baseline"),)


def baseline_numbers(ok: pd.DataFrame, preset: Preset, key: str | None = None) -> pd.DataFrame:
    """A baseline of `preset.metric` (`key`, default the task's primary one) per axis value
    (one value per dataset)."""
    key = key or preset.baseline
    if key not in ok:
        return pd.DataFrame(columns=["axis", "mean", "std", "n"])
    datasets = ok.drop_duplicates(["axis", "seed"])
    rows = [
        {"axis": axis, **vars(stat(group, key))}
        for axis, group in datasets.groupby("axis")
        if stat(group, key) is not None
    ]
    return pd.DataFrame(rows, columns=["axis", "mean", "std", "n"])


def _bars(ok: pd.DataFrame, preset: Preset, ax: plt.Axes) -> None:
    """Many models: horizontal bars of the metric at the longest axis value."""
    value = max(ok["axis"].unique(), key=lambda v: (str(type(v)), v))
    runs = ok[ok["axis"] == value]
    stats = runs.groupby("model")[preset.metric].agg(["mean", "std"]).sort_values("mean")
    colours = [model_colour(model) for model in stats.index]  # each model's, as in every plot
    ax.barh(stats.index, stats["mean"], xerr=stats["std"].fillna(0), color=colours, capsize=2)
    for (key, name), style in zip(baseline_keys(preset), ("--", ":")):
        base = baseline_numbers(runs, preset, key)
        if not base.empty:
            ax.axvline(base["mean"].iloc[0], color="k", ls=style, label=name)
            ax.legend(fontsize="x-small", loc="lower right")
    ax.set(xlabel=f"{preset.metric} at {preset.axis} = {value}", title=preset.title)
    ax.tick_params(axis="y", labelsize="x-small")


def _lines(ok: pd.DataFrame, preset: Preset, ax: plt.Axes) -> None:
    """A few models: the metric per axis value, one line per model, the baseline dashed."""
    values = sorted(ok["axis"].unique(), key=lambda v: (str(type(v)), v))
    where = {value: i for i, value in enumerate(values)}
    for model in model_order(ok):
        stats = ok[ok["model"] == model].groupby("axis")[preset.metric].agg(["mean", "std"])
        x = [where[v] for v in stats.index]
        ax.errorbar(
            x, stats["mean"], yerr=stats["std"].fillna(0), marker="o", label=model, capsize=3,
            color=model_colour(model),
        )  # fmt: skip
    for (key, name), style in zip(baseline_keys(preset), ("k--", "k:")):
        base = baseline_numbers(ok, preset, key)
        if not base.empty:
            ax.plot([where[v] for v in base["axis"]], base["mean"], style, label=name)
    ax.set_xticks(range(len(values)), [str(v) for v in values])
    ax.set(xlabel=preset.axis, ylabel=preset.metric, title=preset.title)
    if preset.log_y:
        ax.set_yscale("log")
    ax.legend(fontsize="x-small")


def plot(ok: pd.DataFrame, preset: Preset, path: Path) -> Path:
    """`preset.metric` of every model (mean, std bars) beside the baseline, saved as a PNG."""
    many = ok["model"].nunique() > 8
    fig, ax = plt.subplots(figsize=(6.4, 5.2 if many else 3.8))
    (_bars if many else _lines)(ok, preset, ax)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def judge(
    preset: Preset, ok: pd.DataFrame, timing: pd.DataFrame | None, entries: dict, first_run
) -> list[Verdict]:
    """Every claim of `preset` on `ok` (raw p-values; `adjust` applies Holm across presets)."""
    verdicts = []
    for claim in preset.claims:
        parts = tuple(claim.rule(Runs(ok, timing))) if not ok.empty else ()
        registration = registry.status(
            entries.get(registry.key(preset, claim), []), claim, first_run
        )
        verdict = claim_verdict(list(parts)) if parts else NOT_RUN
        verdicts.append(Verdict(claim, verdict, parts, registration))
    return verdicts


def evaluate(
    preset: Preset,
    sweep: Sweep | None,
    plot_dir: Path,
    timing: pd.DataFrame | None = None,
    entries: dict | None = None,
) -> PresetResult:
    """Numbers, verdicts and plot of `preset` from its sweep (all claims `not run` without);
    `timing`: its interleaved CPU benchmark, `entries`: the pre-registration registry."""
    ok = with_axis(sweep, preset) if sweep is not None else pd.DataFrame()
    first_run = sweep.first_start if sweep is not None and not sweep.runs.empty else None
    verdicts = judge(preset, ok, timing, entries if entries is not None else {}, first_run)
    if ok.empty:
        return PresetResult(preset, sweep, numbers(ok, []), verdicts, None)
    best = shown(ok, preset)
    return PresetResult(
        preset,
        sweep,
        numbers(best, [preset.metric, *preset.extra_metrics]),
        verdicts,
        plot(best, preset, plot_dir / f"{preset.name}.png"),
        curves(best, preset, plot_dir / f"{preset.name}_curves.png"),
        sensitivity(ok, preset) if preset.tune else None,
    )


def adjust(results: list[PresetResult]) -> list[PresetResult]:
    """Holm-adjust every part's p-value across the whole document and re-judge the claims."""
    flat = [part for r in results for v in r.verdicts for part in v.parts]
    adjusted = iter(holm(flat))
    out = []
    for r in results:
        verdicts = []
        for v in r.verdicts:
            parts = tuple(next(adjusted) for _ in v.parts)
            verdict = claim_verdict(list(parts)) if parts else NOT_RUN
            verdicts.append(replace(v, parts=parts, verdict=verdict))
        out.append(replace(r, verdicts=verdicts))
    return out
