"""The presets of docs/RESULTS.md, the published numbers, and the criterion of every claim.

The criteria were fixed with the presets, before the runs (see the presets' comments); each
judge turns a sweep's ok runs into a verdict (`stats.REPRODUCED`, ...) and the evidence for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from experiments.results.stats import (
    NOT_REPRODUCED,
    NOT_RUN,
    PARTLY,
    REPRODUCED,
    differ,
    share_verdict,
    stat,
)

Judge = Callable[[pd.DataFrame], tuple[str, str]]  # ok runs (with `axis`) → (verdict, evidence)


@dataclass(frozen=True)
class Claim:
    """A published (or the tutorial's) claim and the rule that judges it on our runs."""

    text: str
    source: str
    criterion: str
    judge: Judge


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

    @property
    def baseline(self) -> str:
        """The metrics.json key of the no-memory baseline of `metric`."""
        return "baseline_" + self.metric.removeprefix("test_")


Values = tuple | str | None  # axis values a judge looks at: all (None), "longest", "shortest"


def _axis_values(ok: pd.DataFrame, values: Values = None) -> list:
    """The sorted axis values of `ok`, narrowed to `values`."""
    present = sorted(ok["axis"].dropna().unique(), key=lambda v: (str(type(v)), v))
    if values == "longest":
        return present[-1:]
    if values == "shortest":
        return present[:1]
    return present if values is None else [v for v in present if v in values]


def _baseline_key(metric: str) -> str:
    return "baseline_" + metric.removeprefix("test_")


def reaches(model: str, metric: str, threshold: float, below: bool, values: Values = None) -> Judge:
    """At every axis value, `model`'s mean `metric` is below (above) `threshold`."""

    def judge(ok: pd.DataFrame) -> tuple[str, str]:
        parts = [(v, stat(ok, metric, model=model, axis=v)) for v in _axis_values(ok, values)]
        parts = [(v, s) for v, s in parts if s is not None]
        passed = [v for v, s in parts if (s.mean < threshold if below else s.mean > threshold)]
        evidence = ", ".join(f"{v}: {s}" for v, s in parts)
        return share_verdict(len(passed), len(parts)), f"{model} {evidence}"

    return judge


def stays_near_baseline(
    model: str, metric: str, band: float, lower_is_better: bool, values: Values = None
) -> Judge:
    """At every axis value, `model` keeps at least `1 - band` of the baseline's error (lower is
    better) or gains at most `band` over the baseline's score (higher is better)."""

    def judge(ok: pd.DataFrame) -> tuple[str, str]:
        passed, total, evidence = 0, 0, []
        for value in _axis_values(ok, values):
            s = stat(ok, metric, model=model, axis=value)
            base = stat(ok, _baseline_key(metric), model=model, axis=value)
            if s is None or base is None:
                continue
            total += 1
            if lower_is_better:
                passed += s.mean >= (1 - band) * base.mean
            else:
                passed += s.mean <= base.mean + band
            evidence.append(f"{value}: {model} {s}, baseline {base.mean:.3g}")
        return share_verdict(passed, total), "; ".join(evidence)

    return judge


def below_baseline(models: tuple[str, ...], metric: str, values: Values = None) -> Judge:
    """Each model's mean plus two standard errors is below the baseline (lower is better)."""

    def judge(ok: pd.DataFrame) -> tuple[str, str]:
        passed, total, evidence = 0, 0, []
        for value in _axis_values(ok, values):
            for model in models:
                s = stat(ok, metric, model=model, axis=value)
                base = stat(ok, _baseline_key(metric), model=model, axis=value)
                if s is None or base is None:
                    continue
                total += 1
                passed += s.mean + 2 * s.sem < base.mean
                evidence.append(f"{value}: {model} {s} vs {base.mean:.3g}")
        return share_verdict(passed, total), "; ".join(evidence)

    return judge


def near_anchor(models: tuple[str, ...], anchor: str, tolerance: float, values: Values) -> Judge:
    """Each model's mean test accuracy is within `tolerance` of the `anchor` metrics.json key."""

    def judge(ok: pd.DataFrame) -> tuple[str, str]:
        passed, total, evidence = 0, 0, []
        for value in _axis_values(ok, values):
            reference = stat(ok, anchor, axis=value)
            for model in models:
                s = stat(ok, "test_accuracy", model=model, axis=value)
                if s is None or reference is None:
                    continue
                total += 1
                passed += s.mean >= reference.mean - tolerance
                evidence.append(f"{value}: {model} {s}")
        if total:
            evidence.append(f"anchor {reference.mean:.3g}")
        return share_verdict(passed, total), "; ".join(evidence)

    return judge


def beats(
    winners: tuple[str, ...], loser: str, metric: str, lower_is_better: bool, values: Values = None
) -> Judge:
    """At every axis value, each winner's mean is better than `loser`'s by more than two
    standard errors of the difference."""

    def judge(ok: pd.DataFrame) -> tuple[str, str]:
        passed, total, evidence = 0, 0, []
        for value in _axis_values(ok, values):
            lose = stat(ok, metric, model=loser, axis=value)
            for model in winners:
                win = stat(ok, metric, model=model, axis=value)
                if win is None or lose is None:
                    continue
                total += 1
                better = win.mean < lose.mean if lower_is_better else win.mean > lose.mean
                passed += better and differ(win, lose)
                evidence.append(f"{value}: {model} {win} vs {loser} {lose}")
        return share_verdict(passed, total), "; ".join(evidence)

    return judge


def same_within_noise(
    pairs: tuple[tuple[str, str], ...], metric: str, tolerance: float = 0.0, values: Values = None
) -> Judge:
    """At every axis value, each pair's means are within two standard errors of their
    difference, or within `tolerance` of each other."""

    def judge(ok: pd.DataFrame) -> tuple[str, str]:
        passed, total, evidence = 0, 0, []
        for value in _axis_values(ok, values):
            for a, b in pairs:
                sa, sb = (
                    stat(ok, metric, model=a, axis=value),
                    stat(ok, metric, model=b, axis=value),
                )
                if sa is None or sb is None:
                    continue
                total += 1
                passed += not differ(sa, sb) or abs(sa.mean - sb.mean) <= tolerance
                evidence.append(f"{value}: {a} {sa} vs {b} {sb}")
        return share_verdict(passed, total), "; ".join(evidence)

    return judge


def gate_low_at_but(model: str) -> Judge:
    """In every run of `model`, its retention gate is lower at "but" than at "and"."""

    def judge(ok: pd.DataFrame) -> tuple[str, str]:
        runs = ok[ok["model"] == model].dropna(subset=["retention_at_but", "retention_at_and"])
        if runs.empty:
            return NOT_RUN, f"no {model} run with retention"
        passed = int((runs["retention_at_but"] < runs["retention_at_and"]).sum())
        verdict = share_verdict(passed, len(runs))
        if verdict == PARTLY and passed <= len(runs) / 2:
            verdict = NOT_REPRODUCED
        but, and_ = stat(runs, "retention_at_but"), stat(runs, "retention_at_and")
        return verdict, f"{passed} of {len(runs)} runs; {model} at but {but}, at and {and_}"

    return judge


def gru_matches_lstm(ok: pd.DataFrame) -> tuple[str, str]:
    """Accuracy not worse (2 SE) at any length, and fewer parameters. Training time is shown but
    not judged: this sweep trains the models one after another on a shared machine."""
    same, total, evidence = 0, 0, []
    for value in _axis_values(ok):
        gru = stat(ok, "test_accuracy", model="gru", axis=value)
        lstm = stat(ok, "test_accuracy", model="lstm", axis=value)
        if gru is None or lstm is None:
            continue
        total += 1
        same += gru.mean >= lstm.mean or not differ(gru, lstm)
        evidence.append(f"{value}: gru {gru} vs lstm {lstm}")
    if total == 0:
        return NOT_RUN, "no gru and lstm runs"
    params = ok.groupby("model")["params"].first()
    smaller = params["gru"] < params["lstm"]
    evidence.append(f"params {params['gru']} vs {params['lstm']}")
    verdict = share_verdict(same + smaller, total + 1)
    return verdict, "; ".join(evidence)


def faster_per_epoch(fast: str, slow: str) -> Judge:
    """`fast`'s median training seconds per epoch is below `slow`'s (all runs of the sweep)."""

    def judge(ok: pd.DataFrame) -> tuple[str, str]:
        per_epoch = ok["train_seconds"] / ok["epochs"]
        medians = per_epoch.groupby(ok["model"]).median()
        if fast not in medians or slow not in medians:
            return NOT_RUN, f"no {fast} and {slow} runs"
        verdict = REPRODUCED if medians[fast] < medians[slow] else NOT_REPRODUCED
        ratio = medians[slow] / medians[fast]
        return verdict, (
            f"median s/epoch {fast} {medians[fast]:.2f}, {slow} {medians[slow]:.2f} ({ratio:.2f}x)"
        )

    return judge
