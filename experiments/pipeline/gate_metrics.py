"""What the pipeline measures on a trained model beyond the task's metrics: the memory gate at
the steps the task is about (`Task.gate_means`), traced once per run."""

from __future__ import annotations

import numpy as np

from data.base import Task
from data.common import take
from experiments.tensorboard import probe
from experiments.tensorboard.gate_stats import RETENTION
from layers import GateTracer


def retention_metrics(model, task: Task, size: int = 256) -> dict[str, float]:
    """`retention_<where>` for each step the task is about (`Task.gate_means`: the context
    switch's `at_but`, `at_and`, ...) of the model's first recurrent layer (the one that reads
    the input) on the first `size` validation examples, for `metrics.json`. Empty for a task
    without such steps or a cell without retention (the plain RNN)."""
    if not task.gate_steps:
        return {}
    split = task.splits()["val"]
    split = take(split, np.arange(min(size, len(split))))
    tracer = GateTracer(model)
    first = tracer.names[0]
    retention = tracer.retention(tracer(split.x))[first]
    if retention is None:
        return {}
    means = task.gate_means(np.asarray(retention), probe.full_mask(split.x), split)
    return {f"{RETENTION}_{where}": value for where, value in means.items()}
