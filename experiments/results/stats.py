"""The statistics of the verdicts, all from scipy.stats and statsmodels, and their vocabulary.

A claim is judged in parts (one per axis value, model pair or comparison); each part is a
`Part`: its test's effect with a 95% confidence interval, its raw p-value, the smallest effect
its n detects with 80% power, and the claim's margin (the smallest effect that matters). The
p-values of every part of the document are Holm-adjusted together (`holm`); a part's verdict
(`Part.verdict`) then follows from the adjusted p, the direction and the power:

- significant in the claimed direction → reproduced;
- shown on the wrong side, or not significant although the n detects the margin → not
  reproduced;
- otherwise (the n cannot detect the margin, or a test is impossible) → inconclusive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower, TTestPower
from statsmodels.stats.weightstats import ttost_ind

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
NOT_RUN = "not run"  # the runs a criterion needs are missing
ALPHA = 0.05  # family-wise, over the whole document (Holm)
POWER = 0.8  # the power at which the smallest detectable effect is stated
LEVEL = 0.95  # of every confidence interval

DIFFERENT = "Welch t-test, two-sided"
SAME = "TOST equivalence (Welch)"
EXCEEDS = "one-sample t-test, one-sided"
NOT_WORSE = "Welch t-test, one-sided non-inferiority"
PER_RUN = "sign test over runs (binomial, one-sided)"
FACT = "count, no test"


@dataclass(frozen=True)
class Stat:
    """Mean, sample standard deviation (0 for one run) and number of seeds of one metric."""

    mean: float
    std: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.3g} ± {self.std:.2g}" if self.n > 1 else f"{self.mean:.3g}"


def stat(ok: pd.DataFrame, metric: str, **where: object) -> Stat | None:
    """`metric` over the ok runs matching `where` (column=value), or None without such runs."""
    values = sample(ok, metric, **where)
    if values.size == 0:
        return None
    std = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return Stat(float(values.mean()), std, int(values.size))


def sample(ok: pd.DataFrame, metric: str, **where: object) -> np.ndarray:
    """The values of `metric` (one per run, NaN dropped) of the runs matching `where`."""
    rows = ok
    for column, value in where.items():
        rows = rows[rows[column] == value]
    if metric not in rows:
        return np.array([])
    return rows[metric].dropna().to_numpy(dtype=float)


@dataclass(frozen=True)
class Part:
    """One tested part of a claim. `effect` is oriented so that positive is what the claim
    says (for `SAME`: the plain difference); units are the metric's (a share for `PER_RUN`)."""

    label: str
    test: str
    effect: float
    ci: tuple[float, float]
    p: float | None  # raw; None for a `FACT`, NaN where no test is possible
    detectable: float  # smallest effect its n detects with POWER (inf: none)
    margin: float  # the smallest effect that matters (SAME: the equivalence bound)
    n: str
    note: str = ""
    p_holm: float | None = None

    def verdict(self) -> str:
        """The part's verdict from the adjusted p (see the module docstring)."""
        if self.p is None:
            return REPRODUCED if self.effect > 0 else NOT_REPRODUCED
        p = self.p if self.p_holm is None else self.p_holm
        if math.isnan(p):
            return INCONCLUSIVE
        powered = self.detectable <= self.margin
        if self.test == SAME:
            if p < ALPHA:
                return REPRODUCED
            outside = self.ci[0] > self.margin or self.ci[1] < -self.margin
            return NOT_REPRODUCED if outside or powered else INCONCLUSIVE
        if p < ALPHA:
            return REPRODUCED if self.effect > 0 else NOT_REPRODUCED
        if self.ci[1] < 0:
            return NOT_REPRODUCED
        return NOT_REPRODUCED if powered else INCONCLUSIVE


def _nan_part(label: str, test: str, margin: float, n: str, note: str) -> Part:
    return Part(label, test, math.nan, (math.nan, math.nan), math.nan, math.inf, margin, n, note)


def _pooled_sd(a: np.ndarray, b: np.ndarray) -> float:
    """The pooled standard deviation of Cohen's d (numpy's variances)."""
    dof = a.size + b.size - 2
    return math.sqrt(((a.size - 1) * np.var(a, ddof=1) + (b.size - 1) * np.var(b, ddof=1)) / dof)


def _testable(values: list[np.ndarray], label: str, test: str, margin: float, n: str):
    """None when a t-test can run on `values`, else the inconclusive part saying why."""
    if min(v.size for v in values) < 2:
        return _nan_part(label, test, margin, n, "under two runs: no test")
    if all(np.ptp(v) == 0 for v in values):
        return _nan_part(label, test, margin, n, "no spread between runs: no t-test")
    return None


def different(label: str, better: np.ndarray, worse: np.ndarray, margin: float) -> Part:
    """Claim: `better`'s mean exceeds `worse`'s (pass `-values` where lower is better).

    Welch's t-test (two-sided); effect: the difference of means with Welch's 95% CI; smallest
    detectable: Cohen's d at POWER (statsmodels) times the pooled standard deviation."""
    n = f"{better.size} vs {worse.size}"
    if (part := _testable([better, worse], label, DIFFERENT, margin, n)) is not None:
        return part
    result = sps.ttest_ind(better, worse, equal_var=False)
    ci = result.confidence_interval(LEVEL)
    d = TTestIndPower().solve_power(
        nobs1=better.size, alpha=ALPHA, power=POWER, ratio=worse.size / better.size
    )
    effect = float(better.mean() - worse.mean())
    return Part(
        label, DIFFERENT, effect, (float(ci.low), float(ci.high)), float(result.pvalue),
        float(d) * _pooled_sd(better, worse), margin, n,
    )  # fmt: skip


def same(label: str, a: np.ndarray, b: np.ndarray, margin: float) -> Part:
    """Claim: the means of `a` and `b` differ by less than `margin`.

    Two one-sided Welch tests (statsmodels `ttost_ind`, bounds ±margin); effect: mean(a) −
    mean(b) with Welch's 95% CI; smallest detectable as in `different`."""
    n = f"{a.size} vs {b.size}"
    if (part := _testable([a, b], label, SAME, margin, n)) is not None:
        return part
    p, _, _ = ttost_ind(a, b, -margin, margin, usevar="unequal")
    ci = sps.ttest_ind(a, b, equal_var=False).confidence_interval(LEVEL)
    d = TTestIndPower().solve_power(nobs1=a.size, alpha=ALPHA, power=POWER, ratio=b.size / a.size)
    effect = float(a.mean() - b.mean())
    return Part(
        label, SAME, effect, (float(ci.low), float(ci.high)), float(p),
        float(d) * _pooled_sd(a, b), margin, n,
    )  # fmt: skip


def exceeds(label: str, excess: np.ndarray, margin: float) -> Part:
    """Claim: the mean of `excess` (per run: how far past the claim's threshold, positive when
    past it) is above 0.

    One-sample t-test (alternative "greater"); effect: the mean with its two-sided 95% CI;
    smallest detectable: statsmodels' one-sample d at POWER times the sample std."""
    n = str(excess.size)
    if (part := _testable([excess], label, EXCEEDS, margin, n)) is not None:
        return part
    result = sps.ttest_1samp(excess, 0.0, alternative="greater")
    ci = sps.ttest_1samp(excess, 0.0).confidence_interval(LEVEL)
    d = TTestPower().solve_power(nobs=excess.size, alpha=ALPHA, power=POWER, alternative="larger")
    return Part(
        label, EXCEEDS, float(excess.mean()), (float(ci.low), float(ci.high)),
        float(result.pvalue), float(d) * float(np.std(excess, ddof=1)), margin, n,
    )  # fmt: skip


def not_worse(label: str, a: np.ndarray, b: np.ndarray, margin: float) -> Part:
    """Claim: `a`'s mean is not below `b`'s by `margin` or more (non-inferiority).

    Welch's t-test of `a` against `b − margin`, one-sided; effect: mean(a) − mean(b) + margin
    with Welch's 95% CI; smallest detectable: Cohen's d at POWER (one-sided) times the pooled
    standard deviation."""
    n = f"{a.size} vs {b.size}"
    if (part := _testable([a, b], label, NOT_WORSE, margin, n)) is not None:
        return part
    result = sps.ttest_ind(a, b - margin, equal_var=False, alternative="greater")
    ci = sps.ttest_ind(a, b - margin, equal_var=False).confidence_interval(LEVEL)
    d = TTestIndPower().solve_power(
        nobs1=a.size, alpha=ALPHA, power=POWER, ratio=b.size / a.size, alternative="larger"
    )
    effect = float(a.mean() - b.mean() + margin)
    return Part(
        label, NOT_WORSE, effect, (float(ci.low), float(ci.high)), float(result.pvalue),
        float(d) * _pooled_sd(a, b), margin, n,
    )  # fmt: skip


def smallest_detectable_share(n: int) -> float:
    """The smallest true share of runs showing an effect that a one-sided sign test over `n`
    runs detects with POWER at ALPHA (scipy's binomial distribution)."""
    k = int(sps.binom.isf(ALPHA, n, 0.5)) + 1  # fewest successes with P(X >= k | 1/2) <= ALPHA
    if k > n:
        return math.inf
    return float(optimize.brentq(lambda q: sps.binom.sf(k - 1, n, q) - POWER, 0.5, 1.0))


def per_run(label: str, lower: np.ndarray, higher: np.ndarray, share: float) -> Part:
    """Claim: in (nearly) every run `lower` < `higher` (paired by run); `share`: the share of
    runs the claim expects at least (its margin).

    Sign test (scipy `binomtest`, one-sided, against 1/2); effect: the share of runs with
    Clopper-Pearson 95% CI; the note gives the mean paired difference `higher − lower` with its
    t 95% CI. Smallest detectable: `smallest_detectable_share`."""
    n = len(lower)
    if n == 0:
        return _nan_part(label, PER_RUN, share, "0", "no run")
    diff = higher - lower
    k = int((diff > 0).sum())
    result = sps.binomtest(k, n, 0.5, alternative="greater")
    ci = result.proportion_ci(LEVEL, method="exact")
    note = f"{k} of {n} runs; mean difference {diff.mean():.3g}"
    if n > 1 and np.ptp(diff) > 0:
        low, high = sps.ttest_1samp(diff, 0.0).confidence_interval(LEVEL)
        note += f" [{low:.3g}, {high:.3g}]"
    return Part(
        label, PER_RUN, k / n, (float(ci.low), float(ci.high)), float(result.pvalue),
        smallest_detectable_share(n), share, str(n), note,
    )  # fmt: skip


def fact(label: str, holds: bool, note: str) -> Part:
    """A part that is counted, not tested (e.g. fewer parameters)."""
    return Part(label, FACT, 1.0 if holds else -1.0, (math.nan, math.nan), None, 0.0, 0.0, "", note)


def holm(parts: list[Part]) -> list[Part]:
    """`parts` with `p_holm` set: Holm's step-down adjustment (statsmodels) over every part
    that has a p-value; the others are returned unchanged."""
    tested = [i for i, part in enumerate(parts) if part.p is not None and not math.isnan(part.p)]
    if not tested:
        return list(parts)
    _, adjusted, _, _ = multipletests([parts[i].p for i in tested], alpha=ALPHA, method="holm")
    out = list(parts)
    for i, p in zip(tested, adjusted):
        out[i] = replace(parts[i], p_holm=float(p))
    return out


def claim_verdict(parts: list[Part]) -> str:
    """All parts reproduced → reproduced; any not reproduced → not reproduced; otherwise
    inconclusive (a claim over several parts holds only where each holds)."""
    if not parts:
        return NOT_RUN
    verdicts = [part.verdict() for part in parts]
    if all(v == REPRODUCED for v in verdicts):
        return REPRODUCED
    return NOT_REPRODUCED if NOT_REPRODUCED in verdicts else INCONCLUSIVE
