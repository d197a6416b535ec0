"""The Hydra callback around runs and sweeps (`hydra.callbacks.sweep` in `conf/hydra/default.yaml`).

- Before anything runs: validates the config of the run, or of every job of a sweep, and exits
  with status 2 and a one-line message on a bad value (Hydra itself rejects unknown keys, unknown
  group options and wrong types while composing).
- A sweep: writes `sweep.json` (its jobs), logs the sweep's hparams, prints one line per finished
  job (k/N, overrides, status, primary metric, elapsed, time left), runs the report at the end
  and exits with status 1 when a run failed.
"""

from __future__ import annotations

import fcntl
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from experiments import outputs
from experiments.schema import ConfigError, validate_config
from experiments.train import run_hparams, summary_line


def _refuse(message: str) -> NoReturn:
    """Print `error: <message>` and exit with status 2 (Hydra turns exceptions raised in
    callbacks into warnings, hence `SystemExit`)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _validated_task(cfg: DictConfig, where: str = "") -> Any:
    """`validate_config(cfg)` (the task), or exit with status 2 and the reason."""
    try:
        return validate_config(cfg)
    except ConfigError as exc:
        _refuse(f"{where + ': ' if where else ''}{exc}")


def sweep_jobs(config: DictConfig) -> list[list[str]]:
    """The override list of every job of the multirun `config`, as Hydra's basic sweeper makes
    them: `hydra.sweeper.params` first, command-line overrides replacing a key they share."""
    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(config.hydra.overrides.task)
    loader = GlobalHydra.instance().config_loader()
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    return BasicSweeper.split_arguments(parsed, max_batch_size=None)[0]


def _domains(rows: Iterable[dict[str, Any]]) -> dict[str, list]:
    """Name → the distinct values it takes across `rows`, in order of appearance."""
    domains: dict[str, list] = {}
    for row in rows:
        for key, value in row.items():
            if value not in domains.setdefault(key, []):
                domains[key].append(value)
    return domains


def _clock(seconds: float) -> str:
    """`m:ss` (or `h:mm:ss`) of a duration."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _count_finished(sweep_dir: Path, line: str) -> int:
    """Append `line` to the sweep's progress log and return how many lines it now has.

    The file lock makes the count exact when parallel workers finish at the same time."""
    with open(sweep_dir / outputs.PROGRESS, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(line + "\n")
        f.flush()
        f.seek(0)
        count = sum(1 for _ in f)
        fcntl.flock(f, fcntl.LOCK_UN)
    return count


def _job_summary(job_return: JobReturn) -> str:
    """The job's `summary_line`, or the error it raised."""
    try:
        return summary_line(job_return.return_value)  # re-raises what the job raised
    except Exception as exc:
        return f"failed  {type(exc).__name__}: {exc}"


class SweepCallback(Callback):
    """Validation before runs; progress, report and exit status for sweeps."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Reject a bad single-run config before Hydra creates the run directory."""
        _validated_task(config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Validate every job, then write the sweep plan and log the sweep's hparams."""
        loader = GlobalHydra.instance().config_loader()
        jobs = sweep_jobs(config)
        hparams, metrics, runs = [], set(), []
        for overrides in jobs:
            where = " ".join(overrides)
            try:
                job_cfg = loader.load_sweep_config(config, list(overrides))
            except (HydraException, OmegaConfBaseException) as exc:
                _refuse(f"{where}: {exc}")
            task = _validated_task(job_cfg, where)
            hparams.append(run_hparams(job_cfg, task))
            runs.append(job_cfg.hydra.job.override_dirname)
            metric = task.spec.primary_metric
            metrics |= {"test_loss", f"test_{metric}", f"baseline_{metric}", "train_seconds"}
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        plan = {"n_jobs": len(jobs), "started": time.time(), "runs": runs}
        outputs.write_json(sweep_dir / outputs.SWEEP_PLAN, plan)
        (sweep_dir / outputs.PROGRESS).write_text("")
        print(f"Sweep: {len(jobs)} runs into {sweep_dir}", flush=True)
        instantiate(config.logger).log_sweep_start(sweep_dir, _domains(hparams), sorted(metrics))

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        """Print `[k/N] overrides  status  metric  seconds  elapsed  left` for a sweep's job."""
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        sweep_dir = Path(config.hydra.sweep.dir)
        plan = json.loads((sweep_dir / outputs.SWEEP_PLAN).read_text())
        name = config.hydra.job.override_dirname or config.hydra.job.num
        line = f"{name}  {_job_summary(job_return)}"
        k, n = _count_finished(sweep_dir, line), plan["n_jobs"]
        elapsed = time.time() - plan["started"]
        left = elapsed / k * (n - k)
        print(f"[{k}/{n}] {line}  elapsed {_clock(elapsed)}  left ~{_clock(left)}", flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Print the report, add its figure to the sweep's log, exit 1 if a run failed."""
        from experiments.report import report  # pandas and matplotlib load only here

        sweep_dir = Path(config.hydra.sweep.dir)
        result = report(sweep_dir)
        if result.plot is not None:
            figures = {"results/metric_vs_seq_len": result.plot}
            instantiate(config.logger).log_sweep_end(sweep_dir, figures)
        print(f"\nNext: tensorboard --logdir {sweep_dir}", flush=True)
        if result.n_failed:
            print(f"error: {result.n_failed} run(s) did not finish ok", file=sys.stderr)
            raise SystemExit(1)
