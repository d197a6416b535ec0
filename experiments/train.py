"""Train and evaluate one model on one task: `python -m experiments.train model=lstm data=adding`.

A sweep is a Hydra multirun (`-m model=rnn,lstm,gru data.seq_len=10,50,100`, or a preset:
`experiment=context_switch`); every job writes `metrics.json` last into its own directory.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from experiments import outputs
from experiments.cli import tf_logs
from experiments.cli.config import ConfigError, register_schemas, validate_config
from experiments.cli.interrupt import (
    SignalWatchdog,
    Terminated,
    interrupted_message,
    where_written,
)
from experiments.pipeline.record import failure, identity, run_hparams, summary_line
from experiments.pipeline.runlock import RunLock

if tf_logs.quiet():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: C++ info lines
log = logging.getLogger(__name__)
CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
register_schemas()
# Sweep run folders (`hydra.sweep.subdir`): resolved in every process that runs a job, and each
# imports this module (the launchers pickle `train` by reference).
OmegaConf.register_new_resolver("gatelab.run_name", outputs.run_name, replace=True)


def _tuned(sweep: str, model: str) -> float:
    """`experiments.results.tuned.tuned`, imported when a config asks for it (pandas and scipy
    are not every run's start-up cost); its refusal is the command line's (exit 2, one line)."""
    from experiments.results.tuned import TunedError, tuned

    try:
        return tuned(sweep, model)
    except TunedError as exc:
        raise ConfigError(str(exc)) from None


# A rate chosen by a finished search (stage 2 of a two-stage design: `gate_ablation_confirm`).
OmegaConf.register_new_resolver("gatelab.tuned", _tuned, replace=True)


def _is_multirun() -> bool:
    """True inside a job of a Hydra multirun."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


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
    (`experiments.pipeline.runlock`): a second process waits for the first instead of training
    beside it.
    A run that raises (a config value its task or logger refuses included) or diverges is
    recorded with `status: failed` and its `error`, and does not raise: one failing run must not
    sink its sweep. The command line checks the config before any run starts
    (`experiments.cli.preflight`), so bad input never gets this far there.
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
    record: dict[str, Any] = identity(cfg)
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
        from experiments.pipeline.run import run  # TensorFlow loads here, after the checks

        record |= run(cfg, task, run_dir, hparams, verbose=0 if _is_multirun() else 2)
    except Exception as exc:
        log.exception("run failed")
        record |= {"status": "failed", "error": failure(exc)}
    outputs.write_json(run_dir / outputs.METRICS, record)
    if record["status"] == "ok":  # only now: a kill before this resumes from the backup
        shutil.rmtree(run_dir / outputs.BACKUP, ignore_errors=True)
    else:  # a failed run trains again on a rerun, never from this attempt's final weights
        shutil.rmtree(run_dir / outputs.BACKUP / outputs.FINISHED, ignore_errors=True)
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


def cli(argv: list[str]) -> None:
    """`python -m experiments.train <argv>`: check the command line, run it, end Ctrl-C (exit
    status 130) or SIGTERM (143) with one line."""
    from experiments.cli.preflight import check_command_line

    tf_logs.filter_startup_lines()
    with SignalWatchdog(argv) as watchdog:
        try:
            check_command_line(argv, CONF_DIR)
            main()
        except KeyboardInterrupt as exc:
            where = watchdog.where if watchdog.where is not None else where_written()
            print(interrupted_message(argv, where), file=sys.stderr, flush=True)
            raise SystemExit(143 if isinstance(exc, Terminated) else 130) from None


if __name__ == "__main__":
    # Through the importable module, so that the launchers pickle `train` by reference instead
    # of copying this `__main__` module's code into every worker.
    from experiments.train import cli

    cli(sys.argv[1:])
