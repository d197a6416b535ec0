"""The one place that names, writes and reads a run's output files."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

METRICS = "metrics.json"  # written last: its presence with status "ok" marks a finished run
MODEL = "model.keras"
TENSORBOARD = "tb"
BACKUP = "backup"  # keras.callbacks.BackupAndRestore state while a run trains
SAVED_MODEL = "saved_model"
SWEEP_PLAN = "sweep.json"  # the sweep's jobs, written by the sweep callback before they start
PROGRESS = "progress.log"  # one line per finished job of the current sweep invocation
RESULTS = "results.csv"
PLOT = "metric_vs_seq_len.png"


def _jsonable(value: Any) -> Any:
    """Floats that JSON cannot hold (NaN, ±inf) become None; numpy scalars become Python ones."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write `data` to `path` atomically (temporary file in the same folder, then `os.replace`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {key: _jsonable(value) for key, value in data.items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o644)  # mkstemp makes 0600
    with os.fdopen(fd, "w") as f:
        json.dump(clean, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def read_metrics(run_dir: Path) -> dict[str, Any] | None:
    """The run's `metrics.json`, or None when it is absent or unreadable."""
    try:
        return json.loads((run_dir / METRICS).read_text())
    except (OSError, ValueError):
        return None


def is_complete(run_dir: Path) -> bool:
    """True when the run's `metrics.json` says `status: ok`."""
    metrics = read_metrics(run_dir)
    return metrics is not None and metrics.get("status") == "ok"
