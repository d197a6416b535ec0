"""A newcomer's first hour, as typed: the line a sweep prints last runs in a fresh shell without
`.venv` on PATH, and `make tensorboard` serves the sweep (with the gate explorer) on the port
and host it is given, with no TensorFlow start-up lines."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from experiments import outputs
from experiments.cli.sweep_callback import SweepCallback
from tests.conftest import REPO

VENV = REPO / ".venv"
# What TensorFlow's C++ runtime prints while it loads (absl's `I0000 00:00:…` prefix included).
TF_NOISE = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:\d\d|absl::InitializeLog|oneDNN|cuda|cuInit|cpu_feature_guard"
    r"|rebuild TensorFlow",
    re.MULTILINE | re.IGNORECASE,
)


def fresh_shell_env() -> dict[str, str]:
    """The environment of a new terminal after the README's install: `.venv` neither activated
    nor on PATH, nothing of the test run's Python settings."""
    path = [
        entry
        for entry in os.environ.get("PATH", "").split(os.pathsep)
        if entry and not Path(entry).resolve().is_relative_to(VENV.resolve())
    ]
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "TF_CPP_MIN_LOG_LEVEL")
        and not key.startswith(("PYTEST", "GATELAB", "_GATELAB"))
    }
    return env | {"PATH": os.pathsep.join(path)}


def stamp_is_current() -> bool:
    """True when `.venv` is installed as the Makefile's install target wants (`make -q`)."""
    result = subprocess.run(
        ["make", "-q", ".venv/.installed"], cwd=REPO, env=fresh_shell_env(), capture_output=True
    )
    return result.returncode == 0


def next_line(sweep_dir: Path, capsys) -> str:
    """The `Next:` line that the end of a sweep prints, from the sweep callback itself (on a
    sweep of one failed run, so that no plot is drawn and no training is needed)."""
    run = sweep_dir / "model=lstm"
    run.mkdir(parents=True)
    failed = {"model": "lstm", "data": "context_switch", "seq_len": 10, "seed": 0}
    failed |= {"status": "failed", "error": "RuntimeError: stopped by the test"}
    (run / outputs.METRICS).write_text(json.dumps(failed))
    config = OmegaConf.create(
        {
            "hydra": {"sweep": {"dir": str(sweep_dir)}},
            "logger": {"_target_": "experiments.tensorboard.logger.RunLogger"},
        }
    )
    capsys.readouterr()
    with pytest.raises(SystemExit):  # a failed run: exit status 1
        SweepCallback().on_multirun_end(config)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Next: ")]
    assert len(lines) == 1, "a sweep must end with one `Next:` line"
    return lines[0].removeprefix("Next: ")


def write_scalar_run(logdir: Path, run: str) -> None:
    """One TensorBoard run with one scalar, written without TensorFlow."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(logdir / run))
    value = summary_pb2.Summary.Value(tag="loss", simple_value=0.5)
    writer.add_event(
        event_pb2.Event(wall_time=time.time(), step=0, summary=summary_pb2.Summary(value=[value]))
    )
    writer.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_the_printed_next_line_serves_the_sweep_without_activating_anything(tmp_path, capsys):
    if not stamp_is_current():
        if os.environ.get("CI"):
            pytest.fail("`make test` installs .venv before the tests; .venv/.installed is stale")
        pytest.skip(".venv is older than pyproject.toml: run `make venv` first")
    sweep_dir = tmp_path / "sweep"
    command = next_line(sweep_dir, capsys)
    write_scalar_run(sweep_dir, "data.seq_len=10,model=lstm")
    port = free_port()
    typed = f"{command} PORT={port}"  # another port than 6006, which may be taken here
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        shell = subprocess.Popen(
            ["bash", "-c", typed],
            cwd=REPO,
            env=fresh_shell_env(),
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # its own process group: make, python and the data server
        )
    try:
        url, runs, plugins = f"http://localhost:{port}", [], {}
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and shell.poll() is None:
            try:
                plugins = get_json(f"{url}/data/plugins_listing")
                runs = get_json(f"{url}/data/runs")
            except OSError:
                pass
            if runs:
                break
            time.sleep(1)
        printed = out.read_text() + err.read_text()
        assert shell.poll() is None, f"`{typed}` exited with {shell.returncode}:\n{printed}"
        assert runs == ["data.seq_len=10,model=lstm"], printed  # it reads the sweep's folder
        assert "gate_explorer" in plugins, sorted(plugins)
        assert f"http://localhost:{port}/" in printed
        assert not TF_NOISE.search(printed), printed
    finally:
        os.killpg(shell.pid, signal.SIGTERM)
        try:
            shell.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(shell.pid, signal.SIGKILL)
            shell.wait()


def test_make_tensorboard_defaults_and_its_refusal():
    """Without arguments `make tensorboard` serves outputs/ at localhost:6006; a LOGDIR that is
    not a folder is refused in one line with exit status 2 before TensorBoard starts."""
    dry = subprocess.run(
        ["make", "-n", "tensorboard"],
        cwd=REPO,
        env=fresh_shell_env(),
        capture_output=True,
        text=True,
    )
    assert dry.returncode == 0, dry.stderr
    assert '--logdir "outputs" --port "6006" --host "localhost"' in dry.stdout
    if not stamp_is_current():
        pytest.skip(".venv is older than pyproject.toml: run `make venv` first")
    missing = subprocess.run(
        ["make", "tensorboard", "LOGDIR=no/such/sweep"],
        cwd=REPO,
        env=fresh_shell_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    assert missing.stderr.splitlines()[0] == (
        "error: LOGDIR=no/such/sweep: no such folder (a sweep folder, or outputs)"
    )
