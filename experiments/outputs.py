"""The one place that names, writes and reads a run's output files."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

METRICS = "metrics.json"  # written last: its presence with status "ok" marks a finished run
MODEL = "model.keras"
TENSORBOARD = "tb"
BACKUP = "backup"  # the last completed epoch's checkpoint while a run trains (resume.py)
FINISHED = "finished"  # inside BACKUP: the weights, epochs and seconds once `fit` has ended
SAVED_MODEL = "saved_model"
# Inside SAVED_MODEL, written by the exporter for the explorer: each layer's gates in its cell's
# order, the cell's memory gate and what each gate means (TF Serving ignores assets.extra/).
GATES_DESCRIPTION = "assets.extra/gatelab_gates.json"
# Inside SAVED_MODEL: `{"labels": [...]}`, output index → class name, for `serve` / `serve_text`
# users and the explorer (a SavedModel's `outputs` are logits by index).
LABELS = "assets.extra/labels.json"
PREPROCESSING = "preprocessing.json"  # vocabulary or feature statistics of a run on your own data
SWEEP_PLAN = "sweep.json"  # the sweep's jobs, written by the sweep callback before they start
PROGRESS = "progress.log"  # one line per finished job, tagged with the sweep that launched it
RESULTS = "results.csv"
PLOT = "metric_vs_seq_len.png"
LOCK = "run.lock"  # held (flock) by the process training the run; names its pid and host
NAME_BYTES = 255  # the longest folder name Linux and macOS file systems take
NUMBERS = ("seq_len", "seed", "params", "epochs", "train_seconds")  # plus test_*, baseline_*


def run_name(overrides: str) -> str:
    """A sweep run's folder name from Hydra's `override_dirname` (`data.seq_len=50,model=lstm`,
    unchanged), made one flat visible folder: `/` becomes `%2F` (a `data.path` with folders),
    a leading `.` becomes `%2E`, and a name over 255 bytes keeps its first 238 and ends in `~`
    and a hash of the whole (the `gatelab.run_name` resolver of `conf/hydra/default.yaml`)."""
    name = overrides.replace("/", "%2F")
    if name.startswith("."):
        name = "%2E" + name[1:]
    raw = name.encode()
    if len(raw) > NAME_BYTES:
        digest = hashlib.sha256(raw).hexdigest()[:16]
        name = raw[: NAME_BYTES - 17].decode("utf-8", "ignore") + "~" + digest
    return name


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
    """The run's `metrics.json`, or None when it is absent or not a JSON object."""
    try:
        record = json.loads((run_dir / METRICS).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def record_problem(record: Any) -> str | None:
    """Why a `metrics.json` cannot be used (not an object, an unknown status, a number field
    that is not a number), or None when it can."""
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    if record.get("status") not in ("ok", "failed"):
        return f"status {record.get('status')!r} is not ok/failed"
    for key, value in record.items():
        numeric = key in NUMBERS or key.startswith(("test_", "baseline_"))
        if numeric and value is not None and not isinstance(value, int | float):
            return f"{key} is {value!r}, not a number"
    return None


def missing_artifacts(run_dir: Path, export: bool) -> list[str]:
    """The files a finished run must have that `run_dir` lacks."""
    needed = [MODEL] + ([f"{SAVED_MODEL}/saved_model.pb"] if export else [])
    return [name for name in needed if not (run_dir / name).exists()]


def remove_artifacts(run_dir: Path) -> None:
    """Delete `model.keras` and `saved_model/`, e.g. before a run is trained again."""
    (run_dir / MODEL).unlink(missing_ok=True)
    shutil.rmtree(run_dir / SAVED_MODEL, ignore_errors=True)


def is_complete(run_dir: Path, export: bool) -> bool:
    """True when the run's `metrics.json` is readable and says `ok`, and its artifacts exist."""
    metrics = read_metrics(run_dir)
    return (
        record_problem(metrics) is None
        and metrics["status"] == "ok"
        and not missing_artifacts(run_dir, export)
    )
