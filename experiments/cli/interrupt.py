"""What Ctrl-C (or SIGTERM) prints: what is saved, and the command that resumes it; and the
watchdog that ends the process when Python cannot run its signal handler in time."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from experiments.cli.sweep_callback import SWEEP_ENV


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


def where_written() -> dict[str, str]:
    """What the interrupted command was writing: `{"sweep_dir": ...}` once a sweep's folder
    exists (the sweep callback names it in `SWEEP_ENV` for the launching process and its
    workers), `{"run_dir": ...}` inside a single run (Hydra's config while the job runs), or
    `{}` before either (nothing to resume)."""
    sweep = json.loads(os.environ.get(SWEEP_ENV) or "{}")
    if sweep.get("dir") and Path(sweep["dir"]).is_dir():
        return {"sweep_dir": sweep["dir"]}
    if not HydraConfig.initialized():
        return {}
    config = HydraConfig.get()
    if config.mode == RunMode.MULTIRUN:
        folder = str(config.sweep.dir)
        return {"sweep_dir": folder} if Path(folder).is_dir() else {}
    return {"run_dir": str(config.run.dir)}


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


GRACE_S = 5.0  # seconds the watchdog gives Python's own handler before it ends the process


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, `timeout`, a scheduler cancelling the job): stopped as Ctrl-C stops."""


class SignalWatchdog(threading.Thread):
    """Honours Ctrl-C and SIGTERM within `grace_s` seconds at any point of a run.

    Python runs a signal handler only between bytecodes, and one training step of a long
    sequence is a single TensorFlow call that can last minutes. The C-level handler still writes
    the signal's number to the wakeup fd at once (`signal.set_wakeup_fd`); this thread reads it
    and, if Python's handler has not run `grace_s` seconds later, prints the interrupted line and
    ends the process (143 for SIGTERM, 130 for Ctrl-C). What the run saved is kept: the backup
    of its last completed epoch, which the printed command resumes from.

    Args:
        argv: the command line, for the resume command of the printed line.
        grace_s: seconds Python's handler has before the process is ended.
    """

    def __init__(self, argv: list[str], grace_s: float = GRACE_S) -> None:
        super().__init__(daemon=True, name="gatelab-signal-watchdog")
        self.argv, self.grace_s = argv, grace_s
        self.handled = threading.Event()
        self.where: dict[str, str] | None = None  # `where_written()` when the signal came
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._previous: tuple[Any, ...] = ()

    def __enter__(self) -> SignalWatchdog:
        """Install the handlers and the wakeup fd (main thread only), start watching."""
        self._previous = (
            signal.set_wakeup_fd(self._write, warn_on_full_buffer=False),
            signal.signal(signal.SIGTERM, self._on_sigterm),
            signal.signal(signal.SIGINT, self._on_sigint),
        )
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Put back what was there before (a test calls the command line in its own process)."""
        wakeup_fd, sigterm, sigint = self._previous
        signal.set_wakeup_fd(wakeup_fd)
        signal.signal(signal.SIGTERM, sigterm)
        signal.signal(signal.SIGINT, sigint)
        os.close(self._write)  # the thread's read returns b"" and it ends

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        self._handled()
        raise Terminated

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self._handled()
        raise KeyboardInterrupt

    def _handled(self) -> None:
        """Note where the run writes while Hydra still says so (a single run's config is
        reset once the exception leaves the job), and tell the watchdog thread."""
        self.where = where_written()
        self.handled.set()

    def run(self) -> None:
        while data := os.read(self._read, 64):
            received = [s for s in data if s in (signal.SIGINT, signal.SIGTERM)]
            if not received or self.handled.wait(self.grace_s):
                continue
            print(interrupted_message(self.argv, where_written()), file=sys.stderr, flush=True)
            os._exit(143 if received[-1] == signal.SIGTERM else 130)
        os.close(self._read)
