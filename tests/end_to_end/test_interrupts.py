"""Interrupts on the real command line: Ctrl-C and SIGTERM end with one line and a command that
resumes; two sweeps into one folder; workers that outlive their launcher; progress lines."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments import outputs
from experiments.cli import tf_logs
from tests.conftest import REPO
from tests.hooks import (
    SMALL,
    as_foreground,
    completed_epochs,
    run_as_user,
    start_up_lines,
)


def test_ctrl_c_stops_with_one_line_and_its_command_resumes(tmp_path):
    """SIGINT mid-training (with GATELAB_TF_LOGS=1: TensorFlow's start-up lines are back): exit
    130, one line naming what is saved and the command; that command resumes and finishes (by
    default without TensorFlow's start-up lines)."""
    run_dir = tmp_path / "run"
    args = ["-m", "experiments.train", *SMALL, "trainer.epochs=60", f"hydra.run.dir={run_dir}"]
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environment |= {"PYTHONPATH": str(REPO), tf_logs.SWITCH: "1"}
    proc = subprocess.Popen(
        [sys.executable, *args], cwd=tmp_path, env=environment, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=as_foreground,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not completed_epochs(run_dir) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # until one checkpoint is complete (`epoch-<n>.tmp` is being written)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-3000:]
    assert start_up_lines(err), err[-3000:]  # GATELAB_TF_LOGS=1 shows TensorFlow's lines
    ours = [line for line in err.splitlines() if not line.startswith(("I0000", "W0000", "E0000"))]
    ours = [line for line in ours if not start_up_lines(line)]
    assert len(ours) == 1 and "Traceback" not in err, err[-3000:]
    assert ours[0].startswith(f"interrupted: the last completed epoch is saved in {run_dir}")
    command = shlex.split(ours[0].split("resume with: ", 1)[1])
    assert command[0] in ("python", sys.executable)  # `python` only where PATH's python is it
    assert command[1:3] == ["-m", "experiments.train"]
    assert not (run_dir / outputs.METRICS).exists()

    resumed = run_as_user(command[1:], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming after epoch" in (run_dir / "train.log").read_text()
    assert json.loads((run_dir / outputs.METRICS).read_text())["epochs"] == 60
    assert resumed.stdout.splitlines()[-1].startswith("ok  test_accuracy=")
    assert not start_up_lines(resumed.stderr), resumed.stderr[-3000:]


def test_two_sweeps_into_one_folder_train_each_run_once(tmp_path):
    """A submitit_local sweep and a local one at the same time into one folder: each run is
    trained once (the other sweep waits, then skips it), each sweep counts its own jobs and
    prints its progress lines on the terminal (submitit's jobs run in other processes)."""
    grid = ["model=rnn,gru", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    both = [
        subprocess.Popen(
            [sys.executable, "-m", "experiments.train", "-m", *SMALL, *grid, f"launcher={name}"],
            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for name in ("submitit_local", "local")
    ]  # fmt: skip
    results = [proc.communicate(timeout=400) for proc in both]
    for proc, (out, err) in zip(both, results):
        assert proc.returncode == 0, err[-3000:]
        progress = re.findall(r"^\[(\d)/(\d)\] ", out, re.MULTILINE)
        assert progress == [("1", "2"), ("2", "2")], out
    lines = "".join(out for out, _ in results)
    assert lines.count("skipped (already ok)") == 2
    assert len(re.findall(r"  ok  test_accuracy=", lines)) == 2
    runs = [path.parent for path in (tmp_path / "sweep").glob(f"*/{outputs.METRICS}")]
    assert len(runs) == 2
    for run in runs:
        assert json.loads((run / outputs.METRICS).read_text())["status"] == "ok"


@pytest.mark.slow
def test_ctrl_c_on_a_parallel_sweep_stops_with_one_line_and_resumes(tmp_path):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while two workers
    train: exit 130 and one line; the printed command finishes the sweep, resuming both runs."""
    sweep_dir = tmp_path / "sweep"
    args = [*SMALL, "trainer.epochs=30", "model=rnn,gru", "launcher=parallel"]
    args = ["-m", "experiments.train", "-m", *args, f"hydra.sweep.dir={sweep_dir}"]
    proc = subprocess.Popen(
        [sys.executable, *args], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
        text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        preexec_fn=as_foreground,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while (
        sum(len(completed_epochs(run)) > 0 for run in sweep_dir.glob("*/")) < 2
        and proc.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-3000:]
    assert err.strip().splitlines() == [err.strip()] and "Traceback" not in err, err
    assert err.startswith("interrupted: finished runs and the last completed epoch of unfinished")
    command = shlex.split(err.split("resume with: ", 1)[1])
    resumed = run_as_user(command[1:], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    logs = "".join(path.read_text() for path in sweep_dir.glob("*/train.log"))
    assert logs.count("resuming after epoch") == 2


SLEEPING_APP = """
import os
import time
from pathlib import Path

import hydra


@hydra.main(version_base="1.3", config_path=None, config_name=None)
def main(cfg):
    Path(f"worker-{os.getpid()}").touch()
    time.sleep(120)


if __name__ == "__main__":
    main()
"""


def running(pid: int) -> bool:
    """True while process `pid` exists and is not a zombie."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG)")
def test_process_pool_workers_end_when_their_launcher_is_killed(tmp_path):
    """SIGKILL to the launching process (no cleanup runs): its workers end too, instead of
    training on unseen while holding their runs' locks. A TensorFlow-free Hydra app whose jobs
    sleep, so that only the launcher is exercised."""
    (tmp_path / "app.py").write_text(SLEEPING_APP)
    args = ["app.py", "-m", "hydra/launcher=process_pool", "+x=1,2", "hydra.sweep.dir=sweep"]
    proc = subprocess.Popen(
        [sys.executable, *args], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("worker-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [int(path.name.removeprefix("worker-")) for path in tmp_path.glob("worker-*")]
    assert len(workers) == 2 and all(map(running, workers))
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while any(map(running, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [pid for pid in workers if running(pid)]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)  # leave nothing behind when the test fails
    assert not alive


def test_sigterm_stops_like_ctrl_c_with_one_line(monkeypatch, capsys):
    """SIGTERM (`kill`, `timeout`, a cancelled job) ends the command line as Ctrl-C does: one
    line, exit status 143; on a parallel sweep the launcher then ends its workers."""
    from experiments import train
    from experiments.cli import preflight

    class UnhandledError(Exception):
        pass

    def unhandled(signum, frame):
        raise UnhandledError

    def terminated_while_checking(argv, config_dir):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)

    monkeypatch.setattr(tf_logs, "filter_startup_lines", lambda: None)
    monkeypatch.setattr(preflight, "check_command_line", terminated_while_checking)
    previous = signal.signal(signal.SIGTERM, unhandled)  # instead of ending pytest
    try:
        with pytest.raises(SystemExit) as stopped:
            train.cli(["model=rnn"])
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert stopped.value.code == 143
    assert capsys.readouterr().err == "interrupted before any run started: nothing to resume\n"


def test_time_left_after_skipped_runs_comes_from_the_trained_ones(tmp_path, monkeypatch):
    """A rerun that skips finished runs: they take no time, so the estimate of what is left
    comes from the runs trained (unknown before the first one), not from all lines so far."""
    from types import SimpleNamespace

    from experiments.cli import sweep_callback as callbacks

    monkeypatch.setattr(callbacks, "time", SimpleNamespace(time=lambda: 1060.0))
    sweep = {"id": "7@host", "n_jobs": 4, "started": 1000.0}
    for line in ["a  skipped (already ok)", "b  skipped (already ok)", "c  ok", "d  ok"]:
        callbacks._append_progress(tmp_path, sweep, line)
    assert (tmp_path / outputs.PROGRESS).read_text().splitlines() == [
        "7@host [1/4] a  skipped (already ok)  elapsed 1:00  left unknown",
        "7@host [2/4] b  skipped (already ok)  elapsed 1:00  left unknown",
        "7@host [3/4] c  ok  elapsed 1:00  left ~1:00",  # one run trained in a minute, one left
        "7@host [4/4] d  ok  elapsed 1:00  left ~0:00",
    ]


def test_the_resume_command_names_the_interpreter_that_ran(monkeypatch, tmp_path):
    """`make sweep` runs `.venv/bin/python`; a plain `python` on PATH may be another one (or
    none), so the printed command names the interpreter unless PATH's `python` is it."""
    from experiments.cli.interrupt import interrupted_message

    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").symlink_to(sys.executable)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "executable", str(venv / "python"))
    where = {"sweep_dir": str(tmp_path / "s")}
    monkeypatch.setenv("PATH", "/nonexistent")
    command = f".venv/bin/python -m experiments.train -m hydra.sweep.dir={tmp_path / 's'}"
    assert interrupted_message(["-m"], where).endswith(f"resume with: {command}")
    monkeypatch.setenv("PATH", str(venv))
    assert "resume with: python -m experiments.train" in interrupted_message(["-m"], where)
