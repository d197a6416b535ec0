"""What Ctrl-C (or SIGTERM) prints: what is saved, and the command that resumes it."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode


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
    """What the interrupted command was writing, from the config Hydra composed:
    `{"sweep_dir": ...}` once a sweep's folder exists, `{"run_dir": ...}` for a single run, or
    `{}` before either (nothing to resume)."""
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


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, `timeout`, a scheduler cancelling the job): stopped as Ctrl-C stops."""


def terminated(signum: int, frame: Any) -> None:
    raise Terminated
