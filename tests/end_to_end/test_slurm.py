"""`launcher=slurm` against a real single-node Slurm
(tests/end_to_end/slurm/cluster.sh starts munge,
slurmctld and slurmd as root, and stops them at the end of the module, failed tests included).

One sweep of 4 tiny runs is submitted as one job array; while it runs, one job is preempted
mid-training (killed, then `scontrol requeue`) and another gets the signal Slurm sends before a
time limit (`--signal=USR2@signal_delay_s`, delivered now with `scancel --signal=USR2`). Both
must resume from their backups and end with the metrics of the same runs trained without
interruption by `launcher=local`. Beside it, a one-run sweep with a 60 MB memory
limit must fail with Slurm's out-of-memory reason in its `metrics.json`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hydra_plugins.gatelab_launcher.slurm import slurm_reason
from tests.conftest import REPO

CLUSTER = REPO / "tests" / "end_to_end" / "slurm" / "cluster.sh"
RUN = [
    "logger=tensorboard",
    "data=context_switch",
    "data.seq_len=5",
    "data.n_train=400",
    "data.n_val=50",
    "data.n_test=50",
    "model.units=8",
    "trainer.epochs=6",
    # Early stopping on, and deciding after the interruptions: at this learning rate the rnn's
    # validation loss is lowest at epoch 3 (data.seed=0) or 2 (data.seed=1), then rises for two
    # epochs, so an uninterrupted run stops at epoch 5 or 4 and restores that epoch's weights.
    # A resumed run does the same only if early stopping's best loss, wait and best weights
    # survived the interruption (with them lost it trains on and ends elsewhere).
    "trainer.patience=2",
    "trainer.learning_rate=0.1",
    "deterministic=true",
    "export=false",
]
SLURM = ["launcher=slurm", "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=2"]
SLURM += ["hydra.launcher.timeout_min=5", "hydra.launcher.max_num_timeout=1"]
# The interrupted runs, and the backup after which each is interrupted (its best epoch).
PREEMPTED, TIMED_OUT = "data.seed=0", "data.seed=1"
INTERRUPTED_AFTER = {PREEMPTED: 3, TIMED_OUT: 2}


def _unavailable() -> str | None:
    """Why a Slurm cluster cannot be started here, or None."""
    if sys.platform != "linux" or not Path("/etc/debian_version").exists():
        return "needs Debian (tests/end_to_end/slurm/cluster.sh uses Debian's slurm-wlm and munge)"
    if os.geteuid() != 0:
        return "needs root (slurmctld and slurmd run as root)"
    missing = [c for c in ("slurmctld", "slurmd", "sbatch", "munged") if shutil.which(c) is None]
    if missing:
        return f"{', '.join(missing)} missing (apt-get install slurm-wlm munge)"
    return None


@pytest.fixture(scope="module")
def slurm_env(tmp_path_factory) -> dict[str, str]:
    """The environment of a process that uses the cluster (SLURM_CONF set)."""
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to start a single-node Slurm (.ci/run): {reason}")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("slurm")
    try:
        subprocess.run([CLUSTER, "start", folder], check=True, timeout=120)
        env = {**os.environ, "SLURM_CONF": str(folder / "slurm.conf")}
        yield {**env, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    finally:
        subprocess.run([CLUSTER, "stop", folder], timeout=120)


def _train(args: list[str], env: dict[str, str], out: Path) -> subprocess.Popen:
    """`python -m experiments.train -m <args>` in the background, its output into `out`."""
    command = [sys.executable, "-m", "experiments.train", "-m", *args]
    with open(out, "w") as log:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def _run_dir(sweep_dir: Path, *overrides: str) -> Path:
    """The run of the sweep whose directory name holds every one of `overrides`."""
    names = json.loads((sweep_dir / "sweep.json").read_text())["runs"]
    (name,) = [n for n in names if all(o in n.split(",") for o in overrides)]
    return sweep_dir / name


def _task(sweep_dir: Path, run_dir: Path) -> str:
    """The Slurm job id of `run_dir`: `<array>_<k>` for the sweep's k-th job, the plain id for
    a sweep of one job (submitit submits it without an array)."""
    index = json.loads((sweep_dir / "sweep.json").read_text())["runs"].index(run_dir.name)
    (script,) = list((sweep_dir / ".submitit").glob("*/*_submission.sh"))  # <id>/…
    array = "#SBATCH --array" in script.read_text()
    return f"{script.parent.name}_{index}" if array else script.parent.name


def _task_pid(job: str, env: dict[str, str]) -> int:
    """The pid of the process that runs `job`'s run (task 0 of its step 0)."""
    raw = subprocess.check_output(["squeue", "-h", "-j", job, "-o", "%A"], env=env, text=True)
    pids = subprocess.check_output(["scontrol", "listpids", raw.strip()], env=env, text=True)
    rows = [row for row in map(str.split, pids.splitlines()[1:]) if row[2:4] == ["0", "0"]]
    (pid,) = [int(row[0]) for row in rows]
    return pid


def _preempt(job: str, env: dict[str, str]) -> None:
    """What a preemption does to `job`, without its grace time: the run's process is killed at
    once (SIGKILL; Slurm's own SIGTERM-then-SIGKILL took seconds on a loaded machine, long enough
    for these tiny runs to finish), and the job goes back to the queue (`scontrol requeue`,
    retried until Slurm has seen it end)."""
    os.kill(_task_pid(job, env), signal.SIGKILL)
    for _ in range(40):
        if subprocess.run(["scontrol", "requeue", job], env=env).returncode == 0:
            return
        time.sleep(0.25)
    raise AssertionError(f"scontrol requeue {job} kept failing")


def _time_limit_signal(job: str, env: dict[str, str]) -> None:
    """The signal Slurm sends the run's process `signal_delay_s` before `job`'s time limit
    (`--signal=USR2@…`), sent to it directly (`scancel --signal=USR2` retried for seconds when
    Slurm answered "Job can not be altered now", and hit the requeued job again)."""
    os.kill(_task_pid(job, env), signal.SIGUSR2)


def _last_backup(run_dir: Path) -> int:
    """The epoch of the run's newest complete backup (0: none)."""
    epochs = [p.name.removeprefix("epoch-") for p in run_dir.glob("backup/epoch-*")]
    return max([int(epoch) for epoch in epochs if epoch.isdigit()], default=0)


def _interrupt_mid_training(root: Path, env: dict[str, str], sweeps: list) -> dict:
    """In the `slurm` sweep, preempt the PREEMPTED run's job and signal the TIMED_OUT run's job
    once each has the backup of epoch INTERRUPTED_AFTER (or the next one: early stopping
    decides after both); in the `limit` sweep, signal its run after its first epoch. Return
    what was interrupted → Slurm job id."""
    targets = {
        PREEMPTED: ("slurm", PREEMPTED, INTERRUPTED_AFTER[PREEMPTED], _preempt),
        TIMED_OUT: ("slurm", TIMED_OUT, INTERRUPTED_AFTER[TIMED_OUT], _time_limit_signal),
        "limit": ("limit", "data.seed=0", 1, _time_limit_signal),
    }
    done = {}
    while len(done) < len(targets) and any(p.poll() is None for p in sweeps):
        time.sleep(0.1)
        for name, (sweep, run, epoch, action) in targets.items():
            sweep_dir = root / sweep
            if name in done or not list((sweep_dir / ".submitit").glob("*/*_submission.sh")):
                continue
            run_dir = _run_dir(sweep_dir, "model=rnn", run)
            if _last_backup(run_dir) >= epoch:
                done[name] = _task(sweep_dir, run_dir)
                action(done[name], env)
    assert len(done) == len(targets), f"the sweeps ended before they were interrupted: {done}"
    return done


@pytest.fixture(scope="module")
def sweeps(slurm_env, tmp_path_factory) -> dict:
    """Runs the four sweeps at once (the Slurm one interrupted twice, the out-of-memory one,
    the one past its last requeue, the local reference) and returns where they wrote, what they
    printed and how often each interrupted job was requeued."""
    root = tmp_path_factory.mktemp("sweeps")
    grid = ["model=rnn,gru", "data.seed=0,1"]
    main = _train(
        [*SLURM, *RUN, *grid, f"hydra.sweep.dir={root / 'slurm'}"], slurm_env, root / "slurm.out"
    )
    oom_args = ["launcher=slurm", "hydra.launcher.mem_gb=null", "model=rnn", "logger=none"]
    oom_args += ["+hydra.launcher.additional_parameters.mem=60M"]
    oom_args += [arg for arg in RUN if not arg.startswith("logger=")]
    oom = _train([*oom_args, f"hydra.sweep.dir={root / 'oom'}"], slurm_env, root / "oom.out")
    limit = [arg for arg in SLURM if "max_num_timeout" not in arg]
    limit += ["hydra.launcher.max_num_timeout=0", "model=rnn", "data.seed=0", "logger=none"]
    limit += [arg for arg in RUN if not arg.startswith("logger=")]
    limit = _train([*limit, f"hydra.sweep.dir={root / 'limit'}"], slurm_env, root / "limit.out")
    local = ["launcher=local", "threads.intra_op=1", "threads.inter_op=1"]
    local = _train(
        [*local, *RUN, "model=rnn", "data.seed=0,1", f"hydra.sweep.dir={root / 'local'}"],
        slurm_env,
        root / "local.out",
    )
    processes = {"slurm": main, "oom": oom, "limit": limit, "local": local}
    try:
        jobs = _interrupt_mid_training(root, slurm_env, list(processes.values()))
        codes = {name: process.wait(timeout=300) for name, process in processes.items()}
    finally:
        for process in processes.values():
            process.kill()
    out = {name: (root / f"{name}.out").read_text() for name in codes}
    restarts = {}
    for name, job in jobs.items():
        show = subprocess.check_output(["scontrol", "show", "job", job], env=slurm_env, text=True)
        restarts[name] = int(re.search(r"Restarts=(\d+)", show).group(1))
    return {"root": root, "codes": codes, "out": out, "jobs": jobs, "restarts": restarts}


# What differs between attempts: times (per epoch too), and which epochs began an attempt.
TIMES = ("train_seconds", "train_started", "first_epoch_seconds", "first_epoch_cpu_seconds")
TIMES += ("epoch_seconds", "epoch_cpu_seconds", "traced_epochs")


def _metrics(run_dir: Path) -> dict:
    """A run's `metrics.json` less its times (`TIMES`), which differ between attempts."""
    record = json.loads((run_dir / "metrics.json").read_text())
    return {key: value for key, value in record.items() if key not in TIMES}


def test_a_slurm_sweep_is_one_job_array_all_ok_with_report_and_tensorboard(sweeps):
    sweep_dir, out = sweeps["root"] / "slurm", sweeps["out"]["slurm"]
    assert sweeps["codes"]["slurm"] == 0, out
    script = (sweep_dir / ".submitit").glob("*/*_submission.sh")
    (script,) = list(script)
    assert re.search(r"^#SBATCH --array=0-3%\d+$", script.read_text(), re.M)  # one array of 4
    assert f"Sweep {sweep_dir}: 4 of 4 runs ok" in out, out
    progress = re.findall(
        r"^\[(\d)/4\] (\S+)  ok  test_accuracy=\S+ \(best baseline 0\.5\)  \S+ s"
        r"  elapsed \d+:\d\d  left ~\d+:\d\d$",
        out,
        re.M,
    )
    assert sorted(k for k, _ in progress) == ["1", "2", "3", "4"], out
    assert len({run for _, run in progress}) == 4, out
    assert (sweep_dir / "results.csv").exists() and (sweep_dir / "metric_vs_seq_len.png").exists()
    assert list(sweep_dir.glob("events.out.tfevents.*")), "the sweep's hparams and figure"
    for run in json.loads((sweep_dir / "sweep.json").read_text())["runs"]:
        assert list((sweep_dir / run / "tb").glob("**/events.out.tfevents.*")), run
    assert f"Next: make tensorboard LOGDIR={sweep_dir}" in out


def test_without_accounting_the_sacct_warning_comes_once_and_says_what_it_means(sweeps):
    for name in ("slurm", "oom", "limit"):
        out = sweeps["out"][name]
        assert out.count("Bypassing sacct error") == 1, out
        assert "keeps no job accounting (no slurmdbd)" in out
        assert "status may be inaccurate" not in out  # submitit's own warning, once per poll


def test_threads_follow_the_cpus_slurm_granted(sweeps):
    log = _run_dir(sweeps["root"] / "slurm", "model=gru", "data.seed=1") / "train.log"
    assert "TensorFlow threads intra_op=1 inter_op=1" in log.read_text()


@pytest.mark.parametrize("run", [PREEMPTED, TIMED_OUT])
def test_an_interrupted_run_resumes_to_the_metrics_of_an_uninterrupted_one(sweeps, run):
    """Killed and requeued (preemption), or given the signal before the time limit: the job is
    requeued once and its run resumes from its backup, early stopping's state included."""
    run_dir = _run_dir(sweeps["root"] / "slurm", "model=rnn", run)
    assert sweeps["codes"]["local"] == 0, sweeps["out"]["local"]
    assert sweeps["restarts"][run] == 1, sweeps["jobs"]
    log = (run_dir / "train.log").read_text()
    resumed = re.search(r"resuming after epoch (\d)", log)
    assert resumed and int(resumed.group(1)) >= INTERRUPTED_AFTER[run], log
    if run == TIMED_OUT:  # submitit checkpointed and requeued it, counting a time-out
        assert "Caught signal SIGUSR2" in log and "this job is timed-out" in log, log
    reference = _metrics(_run_dir(sweeps["root"] / "local", run))
    assert reference["epochs"] == INTERRUPTED_AFTER[run] + 2  # early stopping stopped it
    assert _metrics(run_dir) == reference
    assert reference["status"] == "ok"


def test_a_job_slurm_kills_for_its_memory_fails_with_the_reason_in_metrics_json(sweeps):
    sweep_dir, out = sweeps["root"] / "oom", sweeps["out"]["oom"]
    assert sweeps["codes"]["oom"] == 1, out
    (metrics,) = list(sweep_dir.glob("*/metrics.json"))
    record = json.loads(metrics.read_text())
    assert record["status"] == "failed" and record["model"] == "rnn"
    assert record["error"].startswith("SlurmJobError: Slurm ended job "), record
    assert "out of memory (raise hydra.launcher.mem_gb)" in record["error"], record
    assert re.search(r"exceeded memory limit \(\d+ > 62914560\)", record["error"]), record
    assert re.search(r"^\[1/1\] \S+  failed  SlurmJobError: .* out of memory", out, re.M), out


def test_a_run_past_its_last_requeue_fails_with_the_time_limit_and_keeps_its_backup(sweeps):
    """max_num_timeout=0: the first signal before the time limit ends the run, in words."""
    sweep_dir, out = sweeps["root"] / "limit", sweeps["out"]["limit"]
    assert sweeps["codes"]["limit"] == 1, out
    assert sweeps["restarts"]["limit"] == 0
    (run_dir,) = [path.parent for path in sweep_dir.glob("*/metrics.json")]
    record = json.loads((run_dir / "metrics.json").read_text())
    assert record["status"] == "failed", record
    assert record["error"] == (
        "TimeLimitError: Slurm time limit reached with all 0 requeue(s) of "
        "hydra.launcher.max_num_timeout used (Job not requeued because: timed-out too many "
        "times.); the run keeps its backup: run the same command again to resume it"
    )
    assert _last_backup(run_dir) >= 1
    assert re.search(r"^\[1/1\] \S+  failed  TimeLimitError: Slurm time limit", out, re.M), out


@pytest.mark.parametrize(
    "state, stderr, expected",
    [
        ("OUT_OF_MEMORY", "", "(OUT_OF_MEMORY): out of memory (raise hydra.launcher.mem_gb)"),
        (
            "TIMEOUT",
            "slurmstepd: error: *** JOB 7 ON vm CANCELLED AT 10:00 DUE TO TIME LIMIT ***",
            "(TIMEOUT): time limit reached (raise hydra.launcher.timeout_min): slurmstepd: error: "
            "*** JOB 7 ON vm CANCELLED AT 10:00 DUE TO TIME LIMIT ***",
        ),
        ("NODE_FAIL", "", "(NODE_FAIL): node failure"),
        ("CANCELLED by 0", "", "(CANCELLED): cancelled (scancel)"),
        (
            "FAILED",
            "srun: error: vm: task 0: Killed",
            "(FAILED): no result: srun: error: vm: task 0: Killed",
        ),
    ],
)
def test_slurm_states_are_told_in_words(state, stderr, expected):
    """The job's own lines (a traceback) are left out; Slurm's are kept."""
    reason = slurm_reason("7_1", {"State": state, "Reason": "None"}, stderr + "\nTraceback ...")
    assert reason == f"Slurm ended job 7_1 {expected}"
