"""Failures, interrupts and bad input, forced deterministically (never through floating-point
overflow, which differs between CPUs): diverged runs, torn backups, resume with early stopping,
deleted artifacts, garbled records, run locks."""

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

import keras
import numpy as np
import pytest

from experiments import outputs
from experiments.cli import tf_logs
from experiments.pipeline.resume import WEIGHTS
from experiments.results.report import report
from experiments.tensorboard.logger import RunLogger
from experiments.train import train
from tests.conftest import REPO, TINY

HOOKS = __name__


class PoisonWeights(RunLogger):
    """A test hook
    (`logger._target_=tests.experiments.test_robustness.PoisonWeights`): at the end of epoch
    `epoch` (0-based) it sets the output layer's kernel to NaN (`poison: weights_nan`), scales it
    by 1e6 (`weights_huge`: a huge but finite loss), or kills the process with SIGKILL as the
    out-of-memory killer would (`sigkill`); `none` does nothing."""

    def __init__(self, poison: str = "none", epoch: int = 0) -> None:
        self.poison, self.epoch = poison, epoch

    def callbacks(self, model, task, log_dir):
        def on_epoch_end(epoch, logs=None):
            if epoch != self.epoch or self.poison == "none":
                return
            if self.poison == "sigkill":
                os.kill(os.getpid(), signal.SIGKILL)
            kernel = model.get_layer("head").kernel
            factor = {"weights_nan": np.nan, "weights_huge": 1e6}[self.poison]
            kernel.assign(kernel.numpy() * factor)

        return [keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)]


class StopAt(RunLogger):
    """Raises KeyboardInterrupt when epoch `epoch` (0-based) begins: epochs before it are done
    and backed up, as after a kill between two epochs."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def callbacks(self, model, task, log_dir):
        def on_epoch_begin(epoch, logs=None):
            if epoch == self.epoch:
                raise KeyboardInterrupt

        return [keras.callbacks.LambdaCallback(on_epoch_begin=on_epoch_begin)]


def hooked(tiny_cfg, target: str, *overrides: str, **params):
    """The tiny config with the logger replaced by one of this module's hooks."""
    cfg = tiny_cfg(*overrides)
    cfg.logger = {"_target_": f"{HOOKS}.{target}", **params}
    return cfg


def test_a_loss_that_explodes_but_stays_finite_is_recorded_as_failed(tiny_cfg, tmp_path):
    overrides = ["model=gru", "trainer.epochs=3", "export=false"]
    cfg = hooked(tiny_cfg, "PoisonWeights", *overrides, poison="weights_huge")
    record = train(cfg)
    assert record["status"] == "failed"
    assert record["error"].startswith("DivergenceError: loss ")
    assert "over 100× the starting loss" in record["error"]
    assert not (tmp_path / "run" / outputs.BACKUP).exists()  # a rerun starts over, not diverged


def interrupted(tiny_cfg, epoch: int, *overrides: str):
    """Train until epoch `epoch` begins, then stop as a kill would; return the run directory."""
    cfg = hooked(tiny_cfg, "StopAt", *overrides, epoch=epoch)
    with pytest.raises(KeyboardInterrupt):
        train(cfg)
    return cfg


def test_a_torn_backup_means_start_over_with_a_warning(tiny_cfg, tmp_path, caplog):
    interrupted(tiny_cfg, 2, "model=gru", "trainer.epochs=3", "export=false")
    backup = tmp_path / "run" / outputs.BACKUP
    (checkpoint,) = backup.glob("epoch-*")
    assert checkpoint.name == "epoch-2"
    weights = checkpoint / WEIGHTS
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # torn mid-write
    (backup / "training_metadata.json").write_text("")  # Keras's BackupAndRestore layout, empty
    record = train(tiny_cfg("model=gru", "trainer.epochs=3", "export=false"))
    assert record["status"] == "ok" and record["epochs"] == 3
    assert "unreadable" in caplog.text and "starting this run over" in caplog.text


def test_a_kill_while_the_backup_is_written_keeps_the_previous_epoch(
    tiny_cfg, tmp_path, monkeypatch
):
    """Saving epoch 2 dies half way through the weights file: epoch 1 must still resume."""
    from experiments.pipeline import resume

    real_write = resume.write_weights  # what the backup writes the weights with

    def dying_write(model, path):
        real_write(model, path)
        if "epoch-2" in str(path):
            path.write_bytes(path.read_bytes()[:100])
            raise KeyboardInterrupt

    monkeypatch.setattr(resume, "write_weights", dying_write)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_cfg("model=gru", "trainer.epochs=3", "export=false"))
    monkeypatch.undo()
    cfg = hooked(tiny_cfg, "RecordEpochs", "model=gru", "trainer.epochs=3", "export=false")
    record = train(cfg)
    assert record["status"] == "ok"
    assert RecordEpochs.seen == [1, 2]  # resumed after epoch 1, the last complete checkpoint


def test_a_kill_after_training_resumes_without_training_again(tiny_cfg, tmp_path, monkeypatch):
    """Killed while the test split is evaluated: the rerun evaluates the trained weights and
    records the first attempt's epochs and seconds, without a single epoch more."""
    from experiments.pipeline import run as loop

    real_evaluate = loop.evaluate

    def dying_evaluate(*args, **kwargs):
        raise KeyboardInterrupt  # what a kill leaves: no metrics.json

    monkeypatch.setattr(loop, "evaluate", dying_evaluate)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_cfg("model=gru", "trainer.epochs=2", "export=false"))
    finished = json.loads(
        (tmp_path / "run" / outputs.BACKUP / "finished" / "state.json").read_text()
    )
    assert finished["epochs"] == 2
    monkeypatch.setattr(loop, "evaluate", real_evaluate)
    cfg = hooked(tiny_cfg, "RecordEpochs", "model=gru", "trainer.epochs=2", "export=false")
    RecordEpochs.seen = ["not called"]
    record = train(cfg)
    assert record["status"] == "ok" and record["epochs"] == 2
    assert record["train_seconds"] == round(finished["seconds"], 3)
    assert RecordEpochs.seen == []  # fit ran no epoch
    assert not (tmp_path / "run" / outputs.BACKUP).exists()  # gone once metrics.json is written


class RecordEpochs(RunLogger):
    """Remembers the epochs `fit` runs (class attribute: instances come from instantiate)."""

    seen: list[int] = []

    def callbacks(self, model, task, log_dir):
        RecordEpochs.seen = []
        return [keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: self.seen.append(e))]


EARLY = [
    "model=gru",
    "export=false",
    "deterministic=true",
    "trainer.epochs=12",
    "trainer.patience=2",
]
EARLY += ["trainer.learning_rate=0.03"]  # overfits 200 sentences fast: val_loss turns up early


def test_resume_with_early_stopping_equals_an_uninterrupted_run(tiny_cfg, tmp_path):
    whole = train(tiny_cfg(*EARLY))
    assert whole["status"] == "ok"
    assert whole["epochs"] < 12  # early stopping did stop this run
    outputs_dir = tmp_path / "run"
    for path in sorted(outputs_dir.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    interrupted(tiny_cfg, whole["epochs"] - 1, *EARLY)  # stopped one epoch before it stopped
    resumed = train(tiny_cfg(*EARLY))
    assert resumed["epochs"] == whole["epochs"]
    for key in ("test_loss", "test_accuracy"):
        assert resumed[key] == whole[key], key


def test_a_run_with_a_deleted_artifact_is_trained_again(tiny_cfg, tmp_path):
    cfg = tiny_cfg("model=gru", "export=true", "trainer.epochs=1")
    assert train(cfg)["status"] == "ok"
    for artifact in (outputs.MODEL, f"{outputs.SAVED_MODEL}/saved_model.pb"):
        (tmp_path / "run" / artifact).unlink()
        again = train(cfg)
        assert not again.get("skipped"), artifact
        assert again["status"] == "ok" and (tmp_path / "run" / artifact).exists()
    assert train(cfg)["skipped"] is True


def test_a_rerun_trains_a_failed_run_again(tiny_cfg, tmp_path):
    cfg = hooked(tiny_cfg, "PoisonWeights", "model=gru", "export=false", poison="weights_nan")
    assert train(cfg)["status"] == "failed"
    (tmp_path / "run" / outputs.MODEL).write_bytes(b"")  # a run can fail after saving it
    again = train(tiny_cfg("model=gru", "export=false"))
    assert again["status"] == "ok" and not again.get("skipped")


@pytest.mark.parametrize(
    "garbled", ['{"status": "ok", "test_mse": "abc"}', "[1, 2]", '{"status": "ok"', "null"]
)
def test_a_garbled_metrics_json_is_listed_as_unreadable(tmp_path, capsys, garbled):
    good = {"model": "rnn", "data": "adding", "seq_len": 10, "seed": 0, "params": 1, "status": "ok"}
    good |= {"primary_metric": "mse", "higher_is_better": False, "test_mse": 0.1}
    outputs.write_json(tmp_path / "ok_run" / outputs.METRICS, good | {"baseline_mse": 0.16})
    (tmp_path / "bad_run").mkdir()
    (tmp_path / "bad_run" / outputs.METRICS).write_text(garbled)
    result = report(tmp_path)
    printed = capsys.readouterr().out
    assert result.n_failed == 1
    assert "bad_run: unreadable" in printed
    assert "1 of 2 runs ok" in printed and "0.1" in printed


def test_the_run_lock_is_exclusive_and_a_dead_owners_lock_is_taken_over(tmp_path):
    from experiments.pipeline.runlock import RunLock, RunLockedError

    (tmp_path / outputs.LOCK).write_text("pid 999999 on a-host-that-died\n")  # stale
    with RunLock(tmp_path, wait=False) as lock:
        assert f"pid {os.getpid()}" in (tmp_path / outputs.LOCK).read_text()
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()}"):
            RunLock(tmp_path, wait=False).__enter__()
        assert lock.path.exists()
    with RunLock(tmp_path, wait=False):
        pass


def run_as_user(args: list[str], cwd, timeout: float = 300, **env: str):
    """`python <args>` with the environment a user has: none of the test suite's TensorFlow
    log settings (`TF_CPP_MIN_LOG_LEVEL`), plus `env`."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    for key in ("TF_CPP_MIN_LOG_LEVEL", "HYDRA_FULL_ERROR", tf_logs.SWITCH, tf_logs._ACTIVE):
        environment.pop(key, None)
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=environment | env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_up_lines(text: str) -> list[str]:
    """The lines of `text` that are TensorFlow start-up noise."""
    return [line for line in text.splitlines() if re.search(tf_logs.STARTUP_LINES, line)]


SMALL = [o for o in TINY if o != "trainer.epochs=2"] + ["export=false"]


def as_foreground() -> None:
    """In the child before exec: SIGINT's default action, as a terminal's foreground job has it
    (a job started in the background by a non-interactive shell, e.g. a CI runner's, inherits
    SIGINT ignored, and Python then installs no KeyboardInterrupt handler)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def completed_epochs(run_dir: Path) -> list[Path]:
    """The run's complete epoch checkpoints (`backup/epoch-<n>`; the newest replaces the older
    ones, so any number can be the one present)."""
    return [p for p in (run_dir / outputs.BACKUP).glob("epoch-*") if not p.name.endswith(".tmp")]


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


def test_a_run_with_tensorboard_and_export_prints_no_tensorflow_info_lines(tmp_path):
    """The TensorBoard logger gives TensorFlow's Python logger a stderr handler, and every
    SavedModel save logs "Assets written to" at INFO: by default the terminal shows neither."""
    overrides = [o for o in TINY if o not in ("logger=none", "trainer.epochs=2")]
    args = [*overrides, "logger=tensorboard", "trainer.epochs=1", f"hydra.run.dir={tmp_path}"]
    result = run_as_user(["-m", "experiments.train", *args], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / outputs.SAVED_MODEL).is_dir()
    printed = result.stdout + result.stderr
    assert "INFO:tensorflow" not in printed and not start_up_lines(printed), printed[-3000:]


def test_the_layer_check_leaves_thread_counts_settable_and_prints_no_start_up_lines(tmp_path):
    """The command line constructs the run's recurrent layer before Hydra starts (loading
    TensorFlow even with `logger=none`), without starting TensorFlow's runtime: the run still
    sets its thread counts, a valid layer argument trains, and no start-up line is printed."""
    args = [*SMALL, "+model.layer.recurrent_dropout=0.1", "threads.intra_op=1"]
    args += ["threads.inter_op=1", f"hydra.run.dir={tmp_path}"]
    result = run_as_user(["-m", "experiments.train", *args], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert outputs.read_metrics(tmp_path)["status"] == "ok"
    log = (tmp_path / "train.log").read_text()
    assert "TensorFlow threads intra_op=1 inter_op=1" in log and "already started" not in log, log
    assert not start_up_lines(result.stdout + result.stderr), result.stderr[-3000:]


def test_the_memory_check_counts_the_jobs_that_run_at_once(
    compose_cfg, tmp_path, capsys, monkeypatch
):
    """Two jobs that each need 60% of this machine's memory (by the estimate's own numbers, so on
    any machine): one after another they pass, two at once they are refused in one line."""
    from experiments.cli import launchers
    from experiments.cli.config import machine_memory, memory_estimate, validate_config
    from experiments.cli.preflight import check_command_line

    node = launchers.Partition("debug", True, 1 << 20, 64)  # a cluster, for launcher=slurm
    monkeypatch.setattr(launchers, "partitions", lambda: [node])

    sizes = ["logger=none", "data.seq_len=10", "model.units=64"]

    def need(n: int) -> float:  # a batch is at most the training split: both grow together
        cfg = compose_cfg([*sizes, f"trainer.batch_size={n}", f"data.n_train={n}"])
        return sum(memory_estimate(cfg, validate_config(cfg)).values())

    n = int((0.6 * machine_memory() - need(1000)) / (need(2000) - need(1000)) * 1000) + 1000
    sweep = ["-m", *sizes, f"trainer.batch_size={n}", f"data.n_train={n}", "model=rnn,gru"]
    sweep += [f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    for at_once, setting in (
        (["launcher=parallel"], "launcher=parallel, hydra.launcher.n_jobs=2"),
        (["launcher=parallel", "hydra.launcher.n_jobs=3"], "hydra.launcher.n_jobs=3"),
        (["launcher=submitit_local"], "launcher=submitit_local starts every job at once"),
    ):
        with pytest.raises(SystemExit) as exited:
            check_command_line([*sweep, *at_once], REPO / "conf")
        error = capsys.readouterr().err
        assert exited.value.code == 2 and error.count("\n") == 1, error
        assert re.match(r"error: model=(rnn|gru): needs at least .* × 2 jobs at once \(", error)
        assert f"{setting}): " in error and "2 largest jobs together, more than" in error
    for one_at_a_time in (
        ["launcher=local"],
        ["launcher=parallel", "hydra.launcher.n_jobs=1"],
        ["launcher=slurm"],  # each job on its own node: checked alone
    ):
        check_command_line([*sweep, *one_at_a_time], REPO / "conf")  # no SystemExit
    assert not (tmp_path / "sweep").exists()


def test_sweep_run_folders_are_flat_and_names_without_a_slash_unchanged(compose_cfg):
    from omegaconf import OmegaConf

    def folder(*overrides: str) -> str:
        cfg = compose_cfg([*overrides, "logger=none"], hydra=True)
        return OmegaConf.select(cfg, "hydra.sweep.subdir")

    assert folder("data.seq_len=50", "model=gru") == "data.seq_len=50,model=gru"  # resume
    assert folder("data=table", "data.path=../own/x.csv") == "data.path=..%2Fown%2Fx.csv,data=table"
    long = folder("data=table", f"data.path=/{'a' * 300}.csv")
    assert "/" not in long and len(long.encode()) == 255 and long.startswith("data.path=%2Faaa")
    assert long != folder("data=table", f"data.path=/{'a' * 300}.tsv")  # the hash tells them apart
    cut = outputs.run_name(f"data.path={'é' * 200}")  # never inside a two-byte character
    assert len(cut.encode()) <= 255 and cut.startswith("data.path=éé")
    assert outputs.run_name(".hidden=1") == "%2Ehidden=1"
