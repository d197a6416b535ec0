"""Train and evaluate one model on one task: `python -m experiments.train model=lstm data=adding`.

A sweep is a Hydra multirun (`-m model=rnn,lstm,gru data.seq_len=10,50,100`, or a preset:
`experiment=context_switch`); every job writes `metrics.json` last into its own directory.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from data.base import Task
from experiments import outputs, tf_logs
from experiments.runlock import RunLock
from experiments.schema import register_schemas, validate_config

if tf_logs.quiet():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: C++ info lines
log = logging.getLogger(__name__)
CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
SKIPPED = "skipped (already ok)"  # the summary line of a run a rerun does not train again
register_schemas()
# Sweep run folders (`hydra.sweep.subdir`): resolved in every process that runs a job, and each
# imports this module (the launchers pickle `train` by reference).
OmegaConf.register_new_resolver("gatelab.run_name", outputs.run_name, replace=True)


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
    """`ok  test_accuracy=0.953 (baseline 0.512)  12.3 s`, `skipped (already ok)` or the error."""
    if record.get("skipped"):
        return SKIPPED
    if record["status"] != "ok":
        return f"failed  {record.get('error', '')}"
    metric = record["primary_metric"]
    return (
        f"ok  test_{metric}={record[f'test_{metric}']:.4g} "
        f"(baseline {record[f'baseline_{metric}']:.4g})  {record['train_seconds']:.1f} s"
    )


def _is_multirun() -> bool:
    """True inside a job of a Hydra multirun."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _failure(exc: BaseException) -> str:
    """One line for `metrics.json`'s `error`: the exception type and its first message line."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:500]


def _identity(cfg: DictConfig) -> dict[str, Any]:
    """What a run's record holds before its task exists (used when the task itself fails)."""
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    return {
        "model": cfg.model.get("name"),
        "data": choices.get("data", cfg.data.get("_target_")),
        "seq_len": cfg.data.get("seq_len"),
        "seed": cfg.seed,
    }


def _skip_reason(cfg: DictConfig, run_dir: Path) -> str | None:
    """Why the run needs no training (an ok `metrics.json` and every artifact), or None."""
    if not outputs.is_complete(run_dir, export=cfg.export):
        return None
    return f"{run_dir} already has an ok {outputs.METRICS}: skipped"


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train, evaluate and save one run into `cfg.output_dir`; return what `metrics.json` holds.

    A run whose `metrics.json` already says `ok` and whose `model.keras` (and `saved_model/`
    with `export=true`) exist is not trained again (its record comes back with `skipped: True`);
    a failed, unreadable or incomplete one is. The run directory is claimed first
    (`experiments.runlock`): a second process waits for the first instead of training beside it.
    A run that raises (a config value its task or logger refuses included) or diverges is
    recorded with `status: failed` and its `error`, and does not raise: one failing run must not
    sink its sweep. The command line checks the config before any run starts
    (`experiments.preflight`), so bad input never gets this far there.
    """
    run_dir = Path(cfg.output_dir)
    with RunLock(run_dir):
        reason = _skip_reason(cfg, run_dir)
        if reason is not None:
            log.info(reason)
            return {**outputs.read_metrics(run_dir), "skipped": True}
        return _train_claimed(cfg, run_dir)


def _train_claimed(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """`train` once the run directory is this process's."""
    record: dict[str, Any] = _identity(cfg)
    outputs.remove_artifacts(run_dir)  # of an earlier attempt that did not finish ok
    try:
        task = validate_config(cfg)
        hparams = run_hparams(cfg, task)
        record = {
            **hparams,
            "status": "ok",
            "primary_metric": task.spec.primary_metric,
            "higher_is_better": task.spec.higher_is_better,
        }
        from experiments import loop  # TensorFlow loads here, after the config checks

        record |= loop.run(cfg, task, run_dir, hparams, verbose=0 if _is_multirun() else 2)
    except Exception as exc:
        log.exception("run failed")
        record |= {"status": "failed", "error": _failure(exc)}
    outputs.write_json(run_dir / outputs.METRICS, record)
    if record["status"] == "ok":  # only now: a kill before this resumes from the backup
        shutil.rmtree(run_dir / outputs.BACKUP, ignore_errors=True)
    else:  # a failed run trains again on a rerun, never from this attempt's final weights
        shutil.rmtree(run_dir / outputs.BACKUP / outputs.FINISHED, ignore_errors=True)
    return record


def record_failure(cfg: DictConfig, error: str) -> dict[str, Any]:
    """Write and return a failed record for a run that died without writing its own (a killed
    worker): its identity, `status: failed` and `error`."""
    record = {**_identity(cfg), "status": "failed", "error": error}
    outputs.write_json(Path(cfg.output_dir) / outputs.METRICS, record)
    return record


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def main(cfg: DictConfig) -> dict[str, Any]:
    """Command-line entry: one run (a sweep's job); a single run that fails exits with status 1."""
    record = train(cfg)
    if not _is_multirun():
        print(f"{summary_line(record)}  → {cfg.output_dir}", flush=True)
        if record["status"] != "ok":
            raise SystemExit(1)
    return record


def _python() -> str:
    """How to call this interpreter again: `python` when that is the one on PATH, else its path
    (`.venv/bin/python` after `make sweep`, relative when under the current folder)."""
    executable = Path(sys.executable).absolute()
    on_path = shutil.which("python")
    if on_path is not None and Path(on_path).absolute() == executable:
        return "python"
    if executable.is_relative_to(Path.cwd()):
        return str(executable.relative_to(Path.cwd()))
    return str(executable)


def interrupted_message(argv: list[str], where: dict[str, str]) -> str:
    """The one line printed on Ctrl-C: what is saved, and the command that resumes it."""
    if "sweep_dir" in where:
        key, folder = "hydra.sweep.dir", where["sweep_dir"]
        saved = "finished runs and the last completed epoch of unfinished ones are saved"
    elif "run_dir" in where:
        key, folder = "hydra.run.dir", where["run_dir"]
        saved = "the last completed epoch is saved"
    else:
        return "interrupted before any run started: nothing to resume"
    folder = str(Path(folder).resolve())
    kept = [arg for arg in argv if not arg.startswith(("hydra.sweep.dir=", "hydra.run.dir="))]
    command = shlex.join([_python(), "-m", "experiments.train", *kept, f"{key}={folder}"])
    return f"interrupted: {saved} in {folder}; resume with: {command}"


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, `timeout`, a scheduler cancelling the job): stopped as Ctrl-C stops."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated


def cli(argv: list[str]) -> None:
    """`python -m experiments.train <argv>`: check the command line, run it, end Ctrl-C (exit
    status 130) or SIGTERM (143) with one line."""
    from experiments.preflight import check_command_line

    tf_logs.filter_startup_lines()
    signal.signal(signal.SIGTERM, _terminated)
    try:
        check_command_line(argv, CONF_DIR)
        main()
    except KeyboardInterrupt as exc:
        from experiments.callbacks import WHERE

        print(interrupted_message(argv, WHERE), file=sys.stderr, flush=True)
        raise SystemExit(143 if isinstance(exc, Terminated) else 130) from None


if __name__ == "__main__":
    # Through the importable module, so that the launchers pickle `train` by reference instead
    # of copying this `__main__` module's code into every worker.
    from experiments.train import cli

    cli(sys.argv[1:])
