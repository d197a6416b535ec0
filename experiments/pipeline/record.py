"""What a run's `metrics.json` holds and how a sweep prints it: the run's identity, its one-line
summary, and the record of a run that failed before it could write its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from data.base import Task
from experiments import outputs

SKIPPED = "skipped (already ok)"  # the summary line of a run a rerun does not train again


def run_hparams(cfg: DictConfig, task: Task) -> dict[str, Any]:
    """The hyperparameters that identify a run in reports and TensorBoard's HParams view."""
    return {
        "model": cfg.model.name,
        "data": task.spec.name,
        "seq_len": task.spec.seq_len,
        "seed": cfg.seed,
        "units": cfg.model.units,
        "num_layers": cfg.model.num_layers,
        "dropout": cfg.model.dropout,
        "learning_rate": cfg.trainer.learning_rate,
        "batch_size": cfg.trainer.batch_size,
    }


def summary_line(record: dict[str, Any]) -> str:
    """`ok  test_accuracy=0.953 (best baseline 0.512)  12.3 s`, `skipped (already ok)` or the
    error."""
    if record.get("skipped"):
        return SKIPPED
    if record["status"] != "ok":
        return f"failed  {record.get('error', '')}"
    metric = record["primary_metric"]
    return (
        f"ok  test_{metric}={record[f'test_{metric}']:.4g} "
        f"(best baseline {record[f'baseline_{metric}']:.4g})  {record['train_seconds']:.1f} s"
    )


def failure(exc: BaseException) -> str:
    """One line for `metrics.json`'s `error`: the exception type and its first message line."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:500]


def identity(cfg: DictConfig) -> dict[str, Any]:
    """What a run's record holds before its task exists (used when the task itself fails)."""
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    return {
        "model": cfg.model.get("name"),
        "data": choices.get("data", cfg.data.get("_target_")),
        "seq_len": cfg.data.get("seq_len"),
        "seed": cfg.seed,
    }


def record_failure(cfg: DictConfig, error: str) -> dict[str, Any]:
    """Write and return a failed record for a run that died without writing its own (a killed
    worker): its identity, `status: failed` and `error`."""
    record = {**identity(cfg), "status": "failed", "error": error}
    outputs.write_json(Path(cfg.output_dir) / outputs.METRICS, record)
    return record
