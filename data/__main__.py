"""Prints the generation cost of every task: `python -m data [--seq-len 100] [--repeats 3]`.

Each task is built with its default sizes (seq_len overridden where it has one) and its splits
are generated from scratch; the table gives the best of `repeats` runs, and the cost per 10,000
examples.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from data import (
    AddingTask,
    ContextSwitchTask,
    CopyTask,
    DigitsTask,
    Task,
    TemporalOrderTask,
    TextTask,
)


def candidates(seq_len: int) -> dict[str, Callable[[], Task]]:
    """Label → factory of a fresh task at default sizes."""
    return {
        "context_switch": lambda: ContextSwitchTask(seq_len=seq_len),
        "adding": lambda: AddingTask(seq_len=seq_len),
        "copy": lambda: CopyTask(seq_len=seq_len),
        "temporal_order 2bit": lambda: TemporalOrderTask(seq_len=seq_len, variant="2bit"),
        "temporal_order 3bit": lambda: TemporalOrderTask(seq_len=seq_len, variant="3bit"),
        "digits rows": lambda: DigitsTask(variant="rows"),
        "digits permuted": lambda: DigitsTask(variant="permuted"),
        "text": lambda: TextTask(seq_len=seq_len),
    }


def generation_seconds(make_task: Callable[[], Task], repeats: int) -> tuple[float, int, Task]:
    """Best wall time over `repeats` of building all splits, the example count, the task."""
    best = float("inf")
    for _ in range(repeats):
        task = make_task()
        start = time.perf_counter()
        splits = task.splits()
        best = min(best, time.perf_counter() - start)
    return best, sum(len(s) for s in splits.values()), task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'task':<22}{'T':>6}{'examples':>10}{'seconds':>10}{'s / 10k':>10}")
    for label, make_task in candidates(args.seq_len).items():
        seconds, n, task = generation_seconds(make_task, args.repeats)
        per_10k = seconds * 10_000 / n
        print(f"{label:<22}{task.spec.seq_len:>6}{n:>10}{seconds:>10.3f}{per_10k:>10.3f}")


if __name__ == "__main__":
    main()
