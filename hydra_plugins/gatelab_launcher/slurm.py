"""hydra-submitit-launcher's Slurm launcher, made to wait for a sweep the way a cluster ends jobs.

`launcher=slurm` (`conf/launcher/slurm.yaml`) submits a sweep as one job array, exactly as
`submitit_slurm` does (same settings, same `checkpoint`: a job that gets submitit's signal before
its time limit is requeued, at most `max_num_timeout` times, and its run resumes from its
backup). What differs is the wait for the jobs:

- A job that Slurm ends without a result (out of memory, time limit, node failure, cancelled) is
  not waited for forever: it returns as failed with Slurm's reason, which the sweep's callback
  writes into the run's `metrics.json` `error` and the progress line. submitit alone waits for
  a result file that never comes when the cluster keeps no accounting.
- Job states come from `sacct`, or, on a cluster without accounting (no slurmdbd), from
  `squeue`: submitit's "Bypassing sacct error … status may be inaccurate" on every poll becomes
  one warning per sweep that says what it means.
"""

import functools
import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, filter_overrides
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf, SlurmQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher
from omegaconf import OmegaConf

from hydra_plugins.gatelab_launcher.process_pool import lost_job

log = logging.getLogger(__name__)
POLL_S = 2.0  # seconds between two looks at the jobs
GRACE_S = 10.0  # a job Slurm says has ended may still be writing its result file
# States in which a job may still return (REQUEUED, PREEMPTED: it goes back to the queue).
RUNNING = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD"}
RUNNING |= {"REQUEUE_FED", "RESIZING", "SUSPENDED", "SIGNALING", "STAGE_OUT", "PREEMPTED"}
# What a state, or a line Slurm wrote into the job's stderr, means for the user.
CAUSES = [
    ("out of memory (raise hydra.launcher.mem_gb)", ("OUT_OF_MEMORY", "memory limit", "oom-kill")),
    ("time limit reached (raise hydra.launcher.timeout_min)", ("TIMEOUT", "DUE TO TIME LIMIT")),
    ("node failure", ("NODE_FAIL", "BOOT_FAIL", "DUE TO NODE FAILURE")),
    ("preempted and not requeued", ("DUE TO PREEMPTION",)),
    ("cancelled (scancel)", ("CANCELLED",)),
]


@dataclass
class GatelabSlurmConf(SlurmQueueConf):
    _target_: str = "hydra_plugins.gatelab_launcher.slurm.GatelabSlurmLauncher"


ConfigStore.instance().store(
    group="hydra/launcher", name="gatelab_slurm", node=GatelabSlurmConf, provider="gatelab"
)


class SlurmJobError(RuntimeError):
    """Slurm ended a job without the result of its run."""


class TimeLimitError(RuntimeError):
    """The job reached its time limit once more than `max_num_timeout` allows."""


def _on_time_limit(handler: Any, max_num_timeout: int, signum: int, frame: Any) -> None:
    """submitit's handler of the signal before the time limit (checkpoint, requeue, exit), whose
    `UncompletedJobError` when it gives up is raised as a `TimeLimitError` that says why, so that
    the run's `metrics.json` says so."""
    from submitit.core.utils import UncompletedJobError

    try:
        handler(signum, frame)
    except UncompletedJobError as exc:
        message = (
            f"Slurm time limit reached with all {max_num_timeout} requeue(s) of "
            f"hydra.launcher.max_num_timeout used ({exc}); the run keeps its backup: run the "
            "same command again to resume it"
        )
        raise TimeLimitError(message) from None


def slurm_reason(job_id: str, info: dict[str, str], stderr: str | None) -> str:
    """One line: what ended job `job_id`, from its Slurm `info` (`State`, maybe `Reason`) and the
    lines Slurm wrote into its stderr (`slurmstepd: error: … exceeded memory limit`, `*** JOB …
    CANCELLED AT … DUE TO TIME LIMIT ***`): `Slurm ended job 12_3 (FAILED, NonZeroExitCode): out
    of memory (raise hydra.launcher.mem_gb): slurmstepd: … exceeded memory limit …`."""
    state = info.get("State", "UNKNOWN").split()[0]
    said = [line.strip() for line in (stderr or "").splitlines() if _from_slurm(line)]
    text = " ".join([state, *said])
    cause, marks = next(((c, m) for c, m in CAUSES if any(x in text for x in m)), ("", ()))
    reason = info.get("Reason", "None")
    where = f"{state}, {reason}" if reason not in ("None", "") else state
    telling = [line for line in said if any(mark in line for mark in marks)] or said
    detail = f": {telling[0]}" if telling else ""
    if state == "UNKNOWN":
        cause = "no longer known to Slurm, and no result"
    return f"Slurm ended job {job_id} ({where}): {cause or 'no result'}{detail}"[:480]


def _from_slurm(line: str) -> bool:
    """True for a line that Slurm (not the job) wrote into a job's stderr."""
    return line.startswith(("slurmstepd", "srun: error")) or "*** JOB" in line


class JobStates:
    """Slurm's state of jobs: `sacct` where the cluster keeps accounting, else `squeue` (which
    forgets a job MinJobAge, 300 s by default, after it ends), with one warning per instance."""

    def __init__(self) -> None:
        self.use_sacct = True

    def query(self, job_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """Array task id (`12_3`) → {"State": …, "Reason": …} for the arrays of `job_ids`."""
        arrays = sorted({job_id.split("_")[0] for job_id in job_ids})
        if self.use_sacct:
            command = ["sacct", "-X", "--parsable2", "-o", "JobID,State,Reason"]
            done = subprocess.run(command + ["-j", ",".join(arrays)], capture_output=True)
            if done.returncode == 0:
                return _parse(done.stdout)
            self.use_sacct = False
            log.warning(
                "Bypassing sacct error (%s): this cluster keeps no job accounting (no "
                "slurmdbd), so job states are read from squeue instead; they are accurate "
                "while jobs run and up to MinJobAge (300 s by default) after they end. "
                "Shown once per sweep.",
                done.stderr.decode().strip() or f"exit status {done.returncode}",
            )
        command = ["squeue", "--noheader", "--array", "--states=all", "-o", "%i|%T|%r"]
        try:
            out = subprocess.check_output(command + ["-j", ",".join(arrays)], text=True)
        except (OSError, subprocess.CalledProcessError):
            return {}  # slurmctld busy or restarting: ask again at the next poll
        return _parse("JobID|State|Reason\n" + out)


def _parse(output: bytes | str) -> dict[str, dict[str, str]]:
    """`JobID|State|Reason` lines (a header first) → task id → fields; `12_[4-7]` ranges of
    pending tasks expanded."""
    text = output.decode() if isinstance(output, bytes) else output
    lines = text.splitlines()
    names = lines[0].split("|") if lines else []
    states: dict[str, dict[str, str]] = {}
    for line in lines[1:]:
        fields = dict(zip(names, (value.strip() for value in line.split("|"))))
        job_id = fields.get("JobID", "")
        ranged = re.fullmatch(r"(\d+)_\[(.+?)(%\d+)?\]", job_id)
        if ranged is None:
            states[job_id] = fields
            continue
        for part in ranged.group(2).split(","):
            low, _, high = part.partition("-")
            for task in range(int(low), int(high or low) + 1):
                states[f"{ranged.group(1)}_{task}"] = fields
    return states


class GatelabSlurmLauncher(SlurmLauncher):
    """`submitit_slurm` returning a job Slurm ended as a failed run (see the module docstring)."""

    def __call__(self, *args: Any, **kwargs: Any) -> JobReturn:
        """On the node: the job, with a time limit past the last requeue told in words."""
        usr_sig = getattr(signal, "SIG" + os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2"))
        handler = signal.getsignal(usr_sig)  # installed by submitit before this call
        if callable(handler):
            wrapped = functools.partial(_on_time_limit, handler, self.params["max_num_timeout"])
            signal.signal(usr_sig, wrapped)
        return super().__call__(*args, **kwargs)

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        """Submit the jobs as one array; return their results in order."""
        import submitit

        params = dict(self.params)
        executor = submitit.AutoExecutor(
            cluster="slurm",
            folder=params.pop("submitit_folder"),
            slurm_max_num_timeout=params.pop("max_num_timeout"),
        )
        base = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(
            **{key if key in base else f"slurm_{key}": value for key, value in params.items()}
        )
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        job_params = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            state = Singleton.get_state()
            job_params.append((list(overrides), "hydra.sweep.dir", idx, f"job_id_for_{idx}", state))
        jobs = executor.map_array(self, *zip(*job_params))
        return self._wait(jobs, job_overrides, initial_job_idx)

    def _wait(
        self, jobs: list[Any], job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> list[JobReturn]:
        """Poll until every job has returned or Slurm has ended it without a result."""
        states = JobStates()
        results: dict[int, JobReturn] = {}
        ended_since: dict[int, float] = {}
        while len(results) < len(jobs):
            info = states.query([job.job_id for job in jobs])
            for i, job in enumerate(jobs):
                if i in results:
                    continue
                idx, overrides = initial_job_idx + i, job_overrides[i]
                if job.paths.result_pickle.exists():
                    results[i] = self._returned(job, idx, overrides)
                    continue
                job_info = info.get(job.job_id, {})
                if job_info.get("State", "UNKNOWN").split()[0] in RUNNING:
                    ended_since.pop(i, None)
                    continue
                grace = GRACE_S if job_info else 6 * GRACE_S  # unknown: maybe not listed yet
                if time.time() - ended_since.setdefault(i, time.time()) > grace:
                    error = SlurmJobError(slurm_reason(job.job_id, job_info, job.stderr()))
                    results[i] = lost_job(self.hydra_context, self.config, overrides, idx, error)
            if len(results) < len(jobs):
                time.sleep(POLL_S)
        return [results[i] for i in range(len(jobs))]

    def _returned(self, job: Any, idx: int, overrides: Sequence[str]) -> JobReturn:
        """The job's result; a job that raised outside the run (its result is the traceback)
        returns as failed with the exception's last line."""
        try:
            return job.results()[0]
        except Exception as exc:  # submitit's FailedJobError: a message around the traceback
            trace = str(exc).split("-" * 22)
            lines = (trace[1] if len(trace) > 2 else str(exc)).strip().splitlines()
            error = SlurmJobError(f"job {job.job_id} raised {lines[-1] if lines else exc}")
            return lost_job(self.hydra_context, self.config, overrides, idx, error)
