"""A Hydra launcher that runs a sweep's jobs in `n_jobs` worker processes and survives their death.

Like hydra-joblib-launcher, each worker imports TensorFlow once and runs job after job. Unlike
joblib's loky backend, where one worker killed by the out-of-memory killer breaks the whole pool
(`TerminatedWorkerError`: the jobs beside it are lost and the rest never start), this launcher
watches every worker on its own: a worker that dies costs only the job it was running, which
returns as failed with the reason (the sweep's callback records it), and a fresh worker takes
the next job.
"""

import copy
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

import cloudpickle
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, configure_log, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict, read_write

log = logging.getLogger(__name__)


@dataclass
class ProcessPoolLauncherConf:
    _target_: str = "hydra_plugins.gatelab_launcher.process_pool.ProcessPoolLauncher"
    n_jobs: int = 2  # worker processes, each running one job at a time


ConfigStore.instance().store(
    group="hydra/launcher", name="process_pool", node=ProcessPoolLauncherConf, provider="gatelab"
)


class WorkerLostError(RuntimeError):
    """The worker process running a job died before returning it (killed, or crashed)."""


def _job_config(
    hydra_context: HydraContext, config: DictConfig, overrides: Sequence[str], idx: int
) -> DictConfig:
    """The job's composed config with its id and number set (as hydra-joblib-launcher does)."""
    sweep_config = hydra_context.config_loader.load_sweep_config(config, list(overrides))
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{idx}"
        sweep_config.hydra.job.num = idx
    HydraConfig.instance().set_config(sweep_config)
    return sweep_config


def _end_with_launcher() -> None:
    """Have the kernel send this worker SIGTERM when the launching process dies (Linux).

    A launcher killed by `kill`, `timeout` or the out-of-memory killer runs no cleanup; without
    this its workers would train on unseen, holding their runs' locks, and fail to return the
    job. A killed worker's run keeps the backup of its last completed epoch."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before prctl
        os._exit(1)


def _serve(conn: Connection) -> None:
    """A worker: receive the sweep's context once, then `(idx, overrides)` jobs until `None`.

    Ctrl-C is the launcher's to handle (it ends the workers; a run keeps its last completed
    epoch's backup), so that a sweep stops with one message rather than one traceback per
    worker. A worker ends with its launcher, however the launcher ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_launcher()
    try:
        hydra_context, config, task_function, singleton_state = cloudpickle.loads(conn.recv_bytes())
        setup_globals()
        Singleton.set_state(singleton_state)
        while (job := cloudpickle.loads(conn.recv_bytes())) is not None:
            idx, overrides = job
            sweep_config = _job_config(hydra_context, config, overrides, idx)
            ret = run_job(
                hydra_context=hydra_context,
                task_function=task_function,
                config=sweep_config,
                job_dir_key="hydra.sweep.dir",
                job_subdir_key="hydra.sweep.subdir",
            )
            conn.send_bytes(cloudpickle.dumps(ret))
    except (EOFError, BrokenPipeError):
        pass  # the launcher went away


class _Worker:
    """One worker process, its pipe, and the job it runs (None: idle)."""

    def __init__(self, context: bytes) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(child,), daemon=True
        )
        self.process.start()
        child.close()
        self.conn.send_bytes(context)
        self.job: tuple[int, Sequence[str]] | None = None

    def give(self, idx: int, overrides: Sequence[str]) -> None:
        self.job = (idx, overrides)
        self.conn.send_bytes(cloudpickle.dumps(self.job))

    def stop(self) -> None:
        if self.process.is_alive() and self.job is None:
            try:
                self.conn.send_bytes(cloudpickle.dumps(None))
            except OSError:
                pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def _death(exitcode: int | None) -> str:
    """Why a worker process ended, in words."""
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " (the out-of-memory killer sends it)" if exitcode == -signal.SIGKILL else ""
        return f"worker process killed by {name}{hint}"
    return f"worker process exited with status {exitcode} before returning the job"


class ProcessPoolLauncher(Launcher):
    """Runs jobs in `n_jobs` spawned worker processes; a dead worker fails only its own job."""

    def __init__(self, n_jobs: int = 2) -> None:
        if n_jobs < 1:
            raise ValueError(f"hydra.launcher.n_jobs={n_jobs}: expected an integer >= 1")
        self.n_jobs = n_jobs
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        """Run every job; return their results in order (a dead worker's job as failed)."""
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        context = cloudpickle.dumps(
            (self.hydra_context, self.config, self.task_function, Singleton.get_state())
        )
        pending = deque((initial_job_idx + i, o) for i, o in enumerate(job_overrides))
        results: dict[int, JobReturn] = {}
        workers: list[_Worker] = []
        try:
            while pending or any(w.job is not None for w in workers):
                for worker in workers:
                    if worker.job is None and pending:
                        worker.give(*pending.popleft())
                while pending and len(workers) < self.n_jobs:
                    workers.append(_Worker(context))
                    workers[-1].give(*pending.popleft())
                self._collect(workers, results)
        except KeyboardInterrupt:
            for worker in workers:
                worker.process.terminate()  # its run keeps the backup of its last whole epoch
            raise
        finally:
            for worker in workers:
                worker.stop()
        return [results[initial_job_idx + i] for i in range(len(job_overrides))]

    def _collect(self, workers: list[_Worker], results: dict[int, JobReturn]) -> None:
        """Wait until a busy worker returns its job or dies; store what happened."""
        busy = [w for w in workers if w.job is not None]
        ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
        for worker in busy:
            idx, overrides = worker.job
            if worker.conn in ready and worker.conn.poll():
                try:
                    results[idx] = cloudpickle.loads(worker.conn.recv_bytes())
                    worker.job = None
                    continue
                except EOFError:
                    pass
            if worker.process.sentinel in ready or not worker.process.is_alive():
                worker.process.join()
                results[idx] = self._lost(idx, overrides, _death(worker.process.exitcode))
                workers.remove(worker)

    def _lost(self, idx: int, overrides: Sequence[str], reason: str) -> JobReturn:
        """The result of a job whose worker died, passed through the job-end callbacks."""
        return lost_job(self.hydra_context, self.config, overrides, idx, WorkerLostError(reason))


def lost_job(
    hydra_context: HydraContext,
    config: DictConfig,
    overrides: Sequence[str],
    idx: int,
    error: BaseException,
) -> JobReturn:
    """A failed result for a job that never returned one (its process died), passed through the
    job-end callbacks as if the job had raised `error` (the sweep's callback records it).
    Also used by the Slurm launcher (`slurm.py`) for a job Slurm ended."""
    config = _job_config(hydra_context, config, overrides, idx)
    output_dir = Path(str(config.hydra.sweep.dir)) / str(config.hydra.sweep.subdir)
    with read_write(config.hydra.runtime), open_dict(config.hydra.runtime):
        config.hydra.runtime.output_dir = str(output_dir.resolve())
    HydraConfig.instance().set_config(config)
    ret = JobReturn(overrides=list(overrides), hydra_cfg=config, status=JobStatus.FAILED)
    ret.cfg = copy.deepcopy(config)
    with read_write(ret.cfg), open_dict(ret.cfg):
        del ret.cfg["hydra"]
    ret.return_value = error
    hydra_context.callbacks.on_job_end(config=config, job_return=ret)
    return ret
