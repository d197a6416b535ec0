"""Claims, presets and the rules that judge a claim on a sweep's runs.

A `Rule` is a module-level test function and its parameters; it turns the runs into `Part`s
(`stats.py`), whose Holm-adjusted verdicts make the claim's. The rule's code and parameters are
what `registry.fingerprint` hashes, so that a criterion changed after its runs shows as post hoc.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from experiments.results import stats
from experiments.results.stats import Part


@dataclass(frozen=True)
class Runs:
    """What a rule may look at: the ok runs (with `axis`) and, for time claims, an interleaved
    CPU benchmark (columns `model`, `repeat`, `cpu_seconds`: processor seconds per epoch)."""

    ok: pd.DataFrame
    timing: pd.DataFrame | None = None


@dataclass(frozen=True)
class Rule:
    """`test(runs, **params) -> list[Part]`; `test` must be a module-level function."""

    test: Callable[..., list[Part]]
    params: dict[str, Any] = field(default_factory=dict)

    def __call__(self, runs: Runs | pd.DataFrame) -> list[Part]:
        return self.test(runs if isinstance(runs, Runs) else Runs(runs), **self.params)


@dataclass(frozen=True)
class Budget:
    """A training budget in the papers' terms; None where not stated."""

    sequences: str  # training sequences seen, e.g. "31,390 (online)"
    updates: str  # parameter updates
    model: str  # size, e.g. "156 weights" or "64 units, 20,712 parameters"
    stopping: str  # the stopping rule


@dataclass(frozen=True)
class Claim:
    """A published (or the tutorial's) claim and the rule that judges it on our runs."""

    text: str
    source: str
    criterion: str
    rule: Rule


@dataclass(frozen=True)
class Preset:
    """One `conf/experiment/<name>.yaml` preset as docs/RESULTS.md shows it."""

    name: str
    title: str
    task: str
    metric: str  # metrics.json key of the table, e.g. "test_mse"
    axis: str  # the table's columns: "seq_len" or "variant"
    published: tuple[tuple[str, str], ...]  # (what was reported, citation)
    claims: tuple[Claim, ...]
    extra_metrics: tuple[str, ...] = ()  # more metrics.json keys, tabulated per model and axis
    log_y: bool = False
    note: str = ""  # what the reader should know about how the criteria relate to the runs
    baselines: tuple[tuple[str, str], ...] = ()  # (metrics.json key, honest name) of the table
    budgets: tuple[tuple[str, Budget], ...] = ()  # (whose: "the paper", "here"), budget
    tune: str = ""  # a hyperparameter searched per model (metrics.json key, e.g. learning_rate)
    label_units: bool = False  # models named with their units (`gru_74`): the grid sweeps sizes

    @property
    def baseline(self) -> str:
        """The metrics.json key of the task's primary baseline of `metric`."""
        return "baseline_" + self.metric.removeprefix("test_")


Values = tuple | str | None  # axis values a rule looks at: all (None), "longest", "shortest"


def axis_values(ok: pd.DataFrame, values: Values = None) -> list:
    """The sorted axis values of `ok`, narrowed to `values`."""
    present = sorted(ok["axis"].dropna().unique(), key=lambda v: (str(type(v)), v))
    if values == "longest":
        return present[-1:]
    if values == "shortest":
        return present[:1]
    return present if values is None else [v for v in present if v in values]


def _rows(ok: pd.DataFrame, model: str | None, value: object, *columns: str) -> pd.DataFrame:
    """The runs of `model` (any with None) at axis `value` that have every column."""
    rows = ok[ok["axis"] == value]
    if model is not None:
        rows = rows[rows["model"] == model]
    if any(c not in rows for c in columns):
        return rows.iloc[0:0]
    return rows.dropna(subset=list(columns))


def _excess(
    runs: Runs, models: tuple[str, ...], metric: str, reference: Callable, sign: int,
    margin: float, values: Values,
) -> list[Part]:  # fmt: skip
    """One `exceeds` part per model and axis value: sign · (metric − reference(rows)) per run."""
    parts = []
    for value in axis_values(runs.ok, values):
        for model in models:
            rows = _rows(runs.ok, model, value, metric)
            if rows.empty or (ref := reference(rows)) is None:
                continue
            excess = sign * (rows[metric].to_numpy(float) - ref)
            parts.append(stats.exceeds(f"{value}: {model}", excess, margin))
    return parts


def _reaches(runs: Runs, model, metric, threshold, below, margin, values) -> list[Part]:
    return _excess(runs, (model,), metric, lambda r: threshold, -1 if below else 1, margin, values)


def reaches(
    model: str, metric: str, threshold: float, below: bool, margin: float, values: Values = None
) -> Rule:
    """At every axis value, `model`'s mean `metric` is below (above) `threshold`."""
    return Rule(_reaches, dict(model=model, metric=metric, threshold=threshold, below=below,
                               margin=margin, values=values))  # fmt: skip


def _near_baseline(runs: Runs, model, metric, baseline, band, lower_is_better, margin, values):
    def reference(rows: pd.DataFrame):
        if baseline not in rows or rows[baseline].isna().any():
            return None
        base = rows[baseline].to_numpy(float)
        return (1 - band) * base if lower_is_better else base + band

    return _excess(runs, (model,), metric, reference, 1 if lower_is_better else -1, margin, values)


def stays_near_baseline(
    model: str, metric: str, band: float, lower_is_better: bool, margin: float,
    values: Values = None, baseline: str | None = None,
) -> Rule:  # fmt: skip
    """Per run, `model` keeps at least `1 − band` of the baseline's error (lower is better) or
    gains at most `band` over the baseline's score; `baseline`: its metrics.json key."""
    baseline = baseline or "baseline_" + metric.removeprefix("test_")
    return Rule(_near_baseline, dict(model=model, metric=metric, baseline=baseline, band=band,
                                     lower_is_better=lower_is_better, margin=margin,
                                     values=values))  # fmt: skip


def _below_baseline(runs: Runs, models, metric, margin, values) -> list[Part]:
    baseline = "baseline_" + metric.removeprefix("test_")

    def reference(rows: pd.DataFrame):
        return rows[baseline].to_numpy(float) if baseline in rows else None

    return _excess(runs, models, metric, reference, -1, margin, values)


def below_baseline(models: tuple[str, ...], metric: str, margin: float, values: Values = None):
    """Each model's `metric` is below the baseline's (lower is better)."""
    return Rule(_below_baseline, dict(models=models, metric=metric, margin=margin, values=values))


def _near_anchor(runs: Runs, models, anchor, tolerance, margin, values) -> list[Part]:
    def reference(rows: pd.DataFrame):
        return rows[anchor].to_numpy(float) - tolerance if anchor in rows else None

    return _excess(runs, models, "test_accuracy", reference, 1, margin, values)


def near_anchor(
    models: tuple[str, ...], anchor: str, tolerance: float, margin: float, values: Values
) -> Rule:
    """Each model's test accuracy is above the `anchor` metrics.json key minus `tolerance`."""
    return Rule(_near_anchor, dict(models=models, anchor=anchor, tolerance=tolerance,
                                   margin=margin, values=values))  # fmt: skip


def _beats(runs: Runs, winners, loser, metric, lower_is_better, margin, values) -> list[Part]:
    sign, parts = -1.0 if lower_is_better else 1.0, []
    for value in axis_values(runs.ok, values):
        worse = stats.sample(runs.ok, metric, model=loser, axis=value)
        for model in winners:
            better = stats.sample(runs.ok, metric, model=model, axis=value)
            if better.size and worse.size:
                label = f"{value}: {model} vs {loser}"
                parts.append(stats.different(label, sign * better, sign * worse, margin))
    return parts


def beats(
    winners: tuple[str, ...], loser: str, metric: str, lower_is_better: bool, margin: float,
    values: Values = None,
) -> Rule:  # fmt: skip
    """At every axis value, each winner's `metric` is better than `loser`'s (Welch)."""
    return Rule(_beats, dict(winners=winners, loser=loser, metric=metric,
                             lower_is_better=lower_is_better, margin=margin,
                             values=values))  # fmt: skip


def _same(runs: Runs, pairs, metric, margin, values) -> list[Part]:
    parts = []
    for value in axis_values(runs.ok, values):
        for a, b in pairs:
            sa = stats.sample(runs.ok, metric, model=a, axis=value)
            sb = stats.sample(runs.ok, metric, model=b, axis=value)
            if sa.size and sb.size:
                parts.append(stats.same(f"{value}: {a} − {b}", sa, sb, margin))
    return parts


def same_within(
    pairs: tuple[tuple[str, str], ...], metric: str, margin: float, values: Values = None
) -> Rule:
    """At every axis value, each pair's means differ by less than `margin` (TOST)."""
    return Rule(_same, dict(pairs=pairs, metric=metric, margin=margin, values=values))


def _gate_low_at_but(runs: Runs, model, share) -> list[Part]:
    ok = runs.ok
    if "retention_at_but" not in ok or "retention_at_and" not in ok:
        return []
    rows = ok[ok["model"] == model].dropna(subset=["retention_at_but", "retention_at_and"])
    if rows.empty:
        return []
    but, and_ = rows["retention_at_but"].to_numpy(float), rows["retention_at_and"].to_numpy(float)
    return [stats.per_run(f"{model}: at “but” < at “and”", but, and_, share)]


def gate_low_at_but(model: str, share: float) -> Rule:
    """In (nearly) every run of `model`, its retention gate is lower at "but" than at "and";
    `share`: the share of runs the claim expects at least."""
    return Rule(_gate_low_at_but, dict(model=model, share=share))


def _not_worse_and_smaller(runs: Runs, model, reference, margin) -> list[Part]:
    parts = []
    for value in axis_values(runs.ok):
        a = stats.sample(runs.ok, "test_accuracy", model=model, axis=value)
        b = stats.sample(runs.ok, "test_accuracy", model=reference, axis=value)
        if a.size and b.size:
            parts.append(stats.not_worse(f"{value}: {model} vs {reference}", a, b, margin))
    if parts:
        params = runs.ok.groupby("model")["params"].first()
        note = f"{params[model]:.0f} vs {params[reference]:.0f} parameters"
        parts.append(stats.fact("fewer parameters", params[model] < params[reference], note))
    return parts


def matches_with_fewer_parameters(model: str, reference: str, margin: float) -> Rule:
    """At every length `model`'s accuracy is not worse than `reference`'s by `margin` (one-sided
    Welch non-inferiority), and it has fewer parameters."""
    return Rule(_not_worse_and_smaller, dict(model=model, reference=reference, margin=margin))


def _cpu_faster(runs: Runs, fast, slow, margin) -> list[Part]:
    label = f"CPU s/epoch {fast} < {slow}"
    if runs.timing is None or runs.timing.empty:
        note = "no interleaved CPU benchmark; sweep wall times are machine load, not judged"
        return [stats.Part(label, stats.EXCEEDS, math.nan, (math.nan, math.nan), math.nan,
                           math.inf, margin, "0", note)]  # fmt: skip
    table = runs.timing.pivot_table(index="repeat", columns="model", values="cpu_seconds")
    if fast not in table or slow not in table:
        return []
    pairs = table[[fast, slow]].dropna()
    ratio = np.log(pairs[slow].to_numpy(float) / pairs[fast].to_numpy(float))
    part = stats.exceeds(label + " (log ratio)", ratio, math.log1p(margin))
    note = f"median {pairs[fast].median():.3g} vs {pairs[slow].median():.3g} CPU s/epoch"
    return [replace(part, note=note)]


def faster_per_epoch(fast: str, slow: str, margin: float) -> Rule:
    """`fast` uses less processor time per epoch than `slow`, in an interleaved benchmark
    (paired by repeat, log ratio); `margin`: the relative saving that matters (0.03: 3%)."""
    return Rule(_cpu_faster, dict(fast=fast, slow=slow, margin=margin))


def _original_gru(runs: Runs, margin, time_margin) -> list[Part]:
    return [
        *_not_worse_and_smaller(runs, "gru", "lstm", margin),
        *_cpu_faster(runs, "gru", "lstm", time_margin),
    ]


def matches_fewer_parameters_and_faster(margin: float, time_margin: float) -> Rule:
    """The GRU claim's criterion as first written: accuracy, parameters and training time."""
    return Rule(_original_gru, dict(margin=margin, time_margin=time_margin))


def _exceeds_by(runs: Runs, models, metric, references, by, margin, values) -> list[Part]:
    parts = []
    for value in axis_values(runs.ok, values):
        for model in models:
            rows = runs.ok[(runs.ok["axis"] == value) & (runs.ok["model"] == model)]
            if rows.empty:
                continue
            for reference in references or (None,):
                columns = [metric] + ([reference] if reference else [])
                if any(c not in rows for c in columns):
                    continue
                both = rows.dropna(subset=columns)  # a NaN metric: ran, nothing to test
                excess = both[metric].to_numpy(float) - by
                if reference:
                    excess = excess - both[reference].to_numpy(float)
                against = f" − {reference.removeprefix('patch_')}" if reference else ""
                label = f"{value}: {model}, {metric.removeprefix('patch_')}{against}"
                parts.append(stats.exceeds(label, excess, margin))
    return parts


def exceeds_by(
    models: tuple[str, ...], metric: str, references: tuple[str, ...], by: float, margin: float,
    values: Values = None,
) -> Rule:  # fmt: skip
    """Per run, `metric` exceeds each of `references` (metrics.json keys of the same run; none:
    zero) by more than `by` (one-sample t-test on the paired differences minus `by`), for each
    model at every axis value; a model that ran but whose metric is undefined (NaN) is
    inconclusive, not "not run"."""
    return Rule(_exceeds_by, dict(models=models, metric=metric, references=references, by=by,
                                  margin=margin, values=values))  # fmt: skip


def validation_scores(ok: pd.DataFrame, metric: str) -> pd.Series:
    """Per run, `epoch_val_<metric>` at the epoch of its lowest validation loss (the weights early
    stopping restores; the last epoch when the loss curve is missing); NaN without a curve."""
    column = f"epoch_val_{metric}"

    def score(row: pd.Series) -> float:
        values = row.get(column)
        if not isinstance(values, list) or not values:
            return math.nan
        losses = row.get("epoch_val_loss")
        usable = isinstance(losses, list) and len(losses) == len(values)
        return float(values[int(np.nanargmin(losses)) if usable else -1])

    return ok.apply(score, axis=1) if not ok.empty else pd.Series(dtype=float)


def best_setting(ok: pd.DataFrame, hyper: str, metric: str, higher: bool) -> pd.DataFrame:
    """The runs of each (model, axis value) at the `hyper` value (e.g. `learning_rate`) whose
    mean validation `metric` over seeds is best (`higher`: larger is better)."""
    if ok.empty or hyper not in ok:
        return ok
    scored = ok.assign(val_score=validation_scores(ok, metric))
    means = scored.groupby(["model", "axis", hyper])["val_score"].mean().dropna().reset_index()
    if means.empty:
        return ok.iloc[0:0]
    best = means.loc[means.groupby(["model", "axis"])["val_score"].idxmax() if higher else
                     means.groupby(["model", "axis"])["val_score"].idxmin()]  # fmt: skip
    keys = best[["model", "axis", hyper]]
    return scored.merge(keys, on=["model", "axis", hyper], how="inner")


def _at_best(runs: Runs, test, params, hyper, metric, higher) -> list[Part]:
    judged = {"_beats": _beats, "_same": _same}[test]
    return judged(Runs(best_setting(runs.ok, hyper, metric, higher), runs.timing), **params)


def at_best(rule: Rule, hyper: str, metric: str, higher: bool = True) -> Rule:
    """`rule` (a `beats` or `same_within`) judged on each model's runs at its best `hyper` value
    by mean validation `metric` (Greff et al.: a learning rate searched per variant)."""
    return Rule(_at_best, dict(test=rule.test.__name__, params=rule.params, hyper=hyper,
                               metric=metric, higher=higher))  # fmt: skip


def _matched(runs: Runs, model, reference, tolerance, margin) -> list[Part]:
    parts = []
    for value in axis_values(runs.ok):
        a = stats.sample(runs.ok, "test_accuracy", model=model, axis=value)
        b = stats.sample(runs.ok, "test_accuracy", model=reference, axis=value)
        if a.size and b.size:
            parts.append(stats.not_worse(f"{value}: {model} vs {reference}", a, b, margin))
    if parts:
        params = runs.ok.groupby("model")["params"].first()
        gap = abs(params[model] / params[reference] - 1)
        note = f"{params[model]:.0f} vs {params[reference]:.0f} parameters ({100 * gap:.1f}% apart)"
        label = f"parameters within {100 * tolerance:.0f}%"
        parts.append(stats.fact(label, gap <= tolerance, note))
    return parts


def matches_at_equal_parameters(
    model: str, reference: str, tolerance: float, margin: float
) -> Rule:
    """At every length `model`'s accuracy is not worse than `reference`'s by `margin` (one-sided
    Welch non-inferiority), their parameter counts agreeing within `tolerance` (0.05: 5%)."""
    return Rule(_matched, dict(model=model, reference=reference, tolerance=tolerance,
                               margin=margin))  # fmt: skip
