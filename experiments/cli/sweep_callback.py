"""The Hydra callback around runs and sweeps (`hydra.callbacks.sweep` in `conf/hydra/default.yaml`).

The command line is checked before Hydra starts (`experiments.cli.preflight`). For a sweep this
callback writes `sweep.json` (its jobs), logs the sweep's hparams, reports one line per finished
job (k/N, overrides, status, primary metric, elapsed, time left), runs the report at the end and
exits with status 1 when a run failed.

Progress lines are appended to the sweep's `progress.log` by whichever process ran the job (this
one, a worker, a Slurm node), tagged with the sweep invocation that launched it, and printed by a
thread of the launching process that follows the file: the same lines on the terminal with every
launcher, and two sweeps into one folder count their own jobs only.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig

from experiments import outputs
from experiments.cli.config import ConfigError
from experiments.cli.preflight import compose_jobs, refuse
from experiments.pipeline.record import SKIPPED, record_failure, run_hparams, summary_line

SWEEP_ENV = "GATELAB_SWEEP"  # this invocation's id, job count, start and folder, for workers


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


def _append_progress(sweep_dir: Path, sweep: dict[str, Any], line: str) -> None:
    """Append `<id> [k/N] <line>  elapsed  left` to the sweep's progress log, k counting this
    invocation's lines; the file lock makes k exact when workers finish at the same time. The
    time left is extrapolated from the jobs trained so far (a skipped one takes no time)."""
    tag = f"{sweep['id']} "
    with open(sweep_dir / outputs.PROGRESS, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        done = [old for old in f if old.startswith(tag)] + [line]
        k, n, elapsed = len(done), sweep["n_jobs"], time.time() - sweep["started"]
        trained = sum(SKIPPED not in old for old in done)
        if trained:
            left = f"~{_clock(elapsed / trained * max(n - k, 0))}"
        else:
            left = "~0:00" if k >= n else "unknown"
        f.write(f"{tag}[{k}/{n}] {line}  elapsed {_clock(elapsed)}  left {left}\n")
        f.flush()
        fcntl.flock(f, fcntl.LOCK_UN)


class _ProgressPrinter(threading.Thread):
    """Prints, as they arrive, the lines of `progress.log` that carry this invocation's tag."""

    def __init__(self, path: Path, tag: str) -> None:
        super().__init__(daemon=True)
        self.path, self.tag = path, f"{tag} "
        self.offset = path.stat().st_size if path.exists() else 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.drain()

    def drain(self) -> None:
        if not self.path.exists():
            return
        with open(self.path) as f:
            f.seek(self.offset)
            text = f.read()
        complete = text[: text.rfind("\n") + 1]
        self.offset += len(complete.encode())
        for line in complete.splitlines():
            if line.startswith(self.tag):
                print(line.removeprefix(self.tag), flush=True)

    def stop(self) -> None:
        self.done.set()
        self.join()
        self.drain()


_PRINTER: list[_ProgressPrinter] = []  # module state: the callback object is pickled to workers


def _settle(config: DictConfig, job_return: JobReturn) -> str:
    """The job's `summary_line`. A job that raised outside `train`, or whose worker died, is
    turned into what `train` makes of a failure: a failed record in its `metrics.json` (unless
    it wrote one) returned as a completed job, so that Hydra's sweeper does not abort the sweep
    on it."""
    if job_return.status != JobStatus.COMPLETED:
        exc = job_return._return_value  # `.return_value` would re-raise it and print to stderr
        error = f"{type(exc).__name__}: {exc}"
        record = outputs.read_metrics(Path(config.hydra.runtime.output_dir))
        if record is None or record.get("status") != "ok":
            record = record_failure(job_return.cfg, error)
        job_return.status, job_return.return_value = JobStatus.COMPLETED, record
    return summary_line(job_return.return_value)


class SweepCallback(Callback):
    """Progress, report and exit status for sweeps."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Write the sweep plan, start printing progress and log the sweep's hparams."""
        try:
            jobs = compose_jobs(config)
        except ConfigError as exc:
            refuse(str(exc))
        hparams, metrics, runs = [], set(), []
        for _, job_cfg, task in jobs:
            hparams.append(run_hparams(job_cfg, task))
            runs.append(outputs.run_name(job_cfg.hydra.job.override_dirname))  # its folder
            metric = task.spec.primary_metric
            metrics |= {"test_loss", f"test_{metric}", f"baseline_{metric}", "train_seconds"}
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        sweep = {"id": f"{os.getpid()}@{socket.gethostname()}", "n_jobs": len(jobs)}
        sweep["dir"] = str(sweep_dir)  # also what Ctrl-C names (`experiments.cli.interrupt`)
        sweep["started"] = time.time()
        os.environ[SWEEP_ENV] = json.dumps(sweep)  # workers start after this and inherit it
        outputs.write_json(sweep_dir / outputs.SWEEP_PLAN, {**sweep, "runs": runs})
        print(f"Sweep: {len(jobs)} runs into {sweep_dir}", flush=True)
        _PRINTER.append(_ProgressPrinter(sweep_dir / outputs.PROGRESS, sweep["id"]))
        _PRINTER[-1].start()
        instantiate(config.logger).log_sweep_start(sweep_dir, _domains(hparams), sorted(metrics))

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        """Append `[k/N] overrides  status  metric  seconds  elapsed  left` to the progress log."""
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep = json.loads(
            os.environ.get(SWEEP_ENV) or (sweep_dir / outputs.SWEEP_PLAN).read_text()
        )
        name = config.hydra.job.override_dirname or config.hydra.job.num
        _append_progress(sweep_dir, sweep, f"{name}  {_settle(config, job_return)}")

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Print the report, add its figure to the sweep's log and the command that opens it in
        TensorBoard (a `make` target: it runs without activating `.venv`), exit 1 if a run
        failed."""
        from experiments.results.report import report  # pandas and matplotlib load only here

        while _PRINTER:
            _PRINTER.pop().stop()
        sweep_dir = Path(config.hydra.sweep.dir)
        result = report(sweep_dir)
        if result.plot is not None:
            figures = {"results/metric_vs_seq_len": result.plot}
            instantiate(config.logger).log_sweep_end(sweep_dir, figures)
        print(f"\nNext: make tensorboard LOGDIR={sweep_dir}", flush=True)  # no .venv needed
        if result.n_failed:
            print(f"error: {result.n_failed} run(s) did not finish ok", file=sys.stderr)
            raise SystemExit(1)
