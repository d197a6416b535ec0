"""Seed statistics of a sweep's ok runs and the verdict vocabulary the criteria use."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

REPRODUCED = "reproduced"
PARTLY = "partly"
NOT_REPRODUCED = "not reproduced"
NOT_RUN = "not run"  # the runs a criterion needs are missing


@dataclass(frozen=True)
class Stat:
    """Mean, sample standard deviation (0 for one run) and number of seeds of one metric."""

    mean: float
    std: float
    n: int

    @property
    def sem(self) -> float:
        """Standard error of the mean."""
        return self.std / math.sqrt(self.n)

    def __str__(self) -> str:
        return f"{self.mean:.3g} ± {self.std:.2g}" if self.n > 1 else f"{self.mean:.3g}"


def stat(ok: pd.DataFrame, metric: str, **where: object) -> Stat | None:
    """`metric` over the ok runs matching `where` (column=value), or None without such runs."""
    rows = ok
    for column, value in where.items():
        rows = rows[rows[column] == value]
    if metric not in rows or rows[metric].dropna().empty:
        return None
    values = rows[metric].dropna().astype(float)
    return Stat(float(values.mean()), float(values.std()) if len(values) > 1 else 0.0, len(values))


def differ(a: Stat, b: Stat) -> bool:
    """True when the means are more than two standard errors of their difference apart."""
    return abs(a.mean - b.mean) > 2 * math.hypot(a.sem, b.sem)


def share_verdict(passed: int, total: int) -> str:
    """All parts pass → reproduced, some → partly, none → not reproduced (nothing → not run)."""
    if total == 0:
        return NOT_RUN
    if passed == total:
        return REPRODUCED
    return PARTLY if passed else NOT_REPRODUCED
