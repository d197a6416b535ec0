"""Test hooks and helpers shared by the run tests: loggers that poison, stop or record a run
(`logger._target_=tests.hooks.<Hook>`), and how a test runs the command line as a user does."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

from experiments import outputs
from experiments.cli import tf_logs
from experiments.tensorboard.logger import RunLogger
from tests.conftest import REPO, TINY

HOOKS = __name__


class PoisonWeights(RunLogger):
    """A test hook
    (`logger._target_=tests.hooks.PoisonWeights`): at the end of epoch
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


class StopAtTrainEnd(RunLogger):
    """Raises KeyboardInterrupt as `fit` ends, before the run records that training ended: every
    epoch is backed up, as after a kill in that window."""

    def callbacks(self, model, task, log_dir):
        def on_train_end(logs=None):
            raise KeyboardInterrupt

        return [keras.callbacks.LambdaCallback(on_train_end=on_train_end)]


def hooked(tiny_cfg, target: str, *overrides: str, **params):
    """The tiny config with the logger replaced by one of this module's hooks."""
    cfg = tiny_cfg(*overrides)
    cfg.logger = {"_target_": f"{HOOKS}.{target}", **params}
    return cfg


class RecordEpochs(RunLogger):
    """Remembers the epochs `fit` runs (class attribute: instances come from instantiate)."""

    seen: list[int] = []

    def callbacks(self, model, task, log_dir):
        RecordEpochs.seen = []
        return [keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: self.seen.append(e))]


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
