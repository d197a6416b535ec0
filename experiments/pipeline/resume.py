"""Resume a run killed mid-training: a backup that cannot be torn, carrying early stopping too.

`RunBackup` replaces `keras.callbacks.BackupAndRestore`. After every epoch it writes a complete
checkpoint into `backup/epoch-<n>.tmp/` and renames it to `backup/epoch-<n>/` (a rename is
atomic), so a kill at any moment leaves the previous checkpoint whole. A checkpoint holds the
model's weights with the optimizer's state, the epoch, and the state of the callbacks whose
decisions depend on earlier epochs (early stopping: best loss, best weights, wait, best epoch;
the divergence guard: the starting loss), so a resumed run takes the same decisions as one that
never stopped, and the training seconds of the attempts before.

When `fit` has ended, `finish` writes `backup/finished/` (the final weights, the epochs and
the seconds): a run killed while it is evaluated or saved resumes there without training again.
The backup is deleted only once the run's `metrics.json` is written (`experiments.train`).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any, Protocol

import keras
import numpy as np

from experiments.outputs import FINISHED

log = logging.getLogger(__name__)
WEIGHTS = "model.weights.h5"  # model weights and optimizer variables (`Model.save_weights`)
STATE = "state.json"  # {"epoch": n, "callbacks": {name: state}}, written after the weights
ARRAYS = "arrays.npz"  # the callbacks' array state, e.g. early stopping's best weights


class BackupUnreadableError(RuntimeError):
    """The backup folder holds no checkpoint that can be loaded into this model."""


class Stateful(Protocol):
    """A callback whose state must survive a resume."""

    def get_state(self) -> tuple[dict[str, Any], list[np.ndarray]]:
        """JSON-able scalars and a list of arrays."""

    def set_state(self, state: dict[str, Any], arrays: list[np.ndarray]) -> None:
        """Take back what `get_state` returned."""


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """`keras.callbacks.EarlyStopping` whose best loss, best weights, wait count and best epoch
    can be saved and restored (Keras resets them in `on_train_begin`)."""

    _pending: tuple[dict[str, Any], list[np.ndarray]] | None = None

    def get_state(self) -> tuple[dict[str, Any], list[np.ndarray]]:
        best = None if self.best is None else float(self.best)
        state = {"wait": self.wait, "best": best, "best_epoch": self.best_epoch}
        state["has_best_weights"] = self.best_weights is not None
        return state, list(self.best_weights or [])

    def set_state(self, state: dict[str, Any], arrays: list[np.ndarray]) -> None:
        self._pending = (state, arrays)

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        if self._pending is not None:
            state, arrays = self._pending
            self.wait, self.best = state["wait"], state["best"]
            self.best_epoch = state["best_epoch"]
            self.best_weights = arrays if state["has_best_weights"] else None
            self._pending = None


class TrainingClock(keras.callbacks.Callback):
    """Seconds spent in `fit`, summed over the attempts of a resumed run (the checkpoint carries
    the sum up to its epoch; the part of an epoch a kill interrupted is not counted, it is
    trained again)."""

    def __init__(self) -> None:
        super().__init__()
        self.before = 0.0  # seconds of the attempts before this one
        self._since: float | None = None

    def seconds(self) -> float:
        """Training seconds so far, this attempt included."""
        running = 0.0 if self._since is None else time.perf_counter() - self._since
        return self.before + running

    def get_state(self) -> tuple[dict[str, Any], list[np.ndarray]]:
        return {"seconds": self.seconds()}, []

    def set_state(self, state: dict[str, Any], arrays: list[np.ndarray]) -> None:
        self.before = state["seconds"]

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._since = time.perf_counter()

    def on_train_end(self, logs: dict | None = None) -> None:
        self.before, self._since = self.seconds(), None


def _epoch_dirs(backup_dir: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints `(epoch, folder)`, newest first."""
    found = []
    for path in backup_dir.glob("epoch-*"):
        number = path.name.removeprefix("epoch-")
        if path.is_dir() and number.isdigit():
            found.append((int(number), path))
    return sorted(found, reverse=True)


class RunBackup(keras.callbacks.Callback):
    """Saves a checkpoint after every epoch (see the module docstring); `finish` marks training
    done. Put it last in the callback list, after those whose state it saves.

    Args:
        backup_dir: the run's `backup/` folder.
        stateful: name → callback whose state goes into every checkpoint.
    """

    def __init__(self, backup_dir: Path, stateful: dict[str, Stateful]) -> None:
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.stateful = stateful

    def restore(self, model: keras.Model) -> int:
        """Load the newest checkpoint into the compiled `model` and the stateful callbacks.

        Returns:
            The number of epochs the checkpoint completed (0: no backup, start from scratch).

        Raises:
            BackupUnreadableError: the folder exists but holds no loadable checkpoint; the model and
                its optimizer are left as they were before the attempt.
        """
        if not self.backup_dir.exists():
            return 0
        checkpoints = _epoch_dirs(self.backup_dir)
        if not checkpoints:
            raise BackupUnreadableError(f"{self.backup_dir} holds no complete checkpoint")
        epoch, folder = checkpoints[0]
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        variables = list(model.variables) + list(model.optimizer.variables)
        before = [variable.numpy() for variable in variables]
        try:
            state = json.loads((folder / STATE).read_text())
            with np.load(folder / ARRAYS) as npz:
                arrays = [npz[f"a{i}"] for i in range(len(npz.files))]
            model.load_weights(folder / WEIGHTS)
            for name, callback in self.stateful.items():
                saved = state["callbacks"][name]
                callback.set_state(saved["state"], arrays[saved["start"] : saved["stop"]])
        except Exception as exc:
            for variable, value in zip(variables, before):
                variable.assign(value)
            reason = f"{folder} is unreadable ({type(exc).__name__}: {exc})"
            raise BackupUnreadableError(reason) from exc
        return epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.save(epoch + 1)

    def save(self, epoch: int) -> None:
        """Write the checkpoint after `epoch` completed epochs, then drop the older ones."""
        final = self.backup_dir / f"epoch-{epoch}"
        tmp = self.backup_dir / f"epoch-{epoch}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self.model.save_weights(tmp / WEIGHTS)
        arrays: list[np.ndarray] = []
        callbacks = {}
        for name, callback in self.stateful.items():
            state, values = callback.get_state()
            start, arrays = len(arrays), arrays + values
            callbacks[name] = {"state": state, "start": start, "stop": len(arrays)}
        np.savez(tmp / ARRAYS, **{f"a{i}": value for i, value in enumerate(arrays)})
        (tmp / STATE).write_text(json.dumps({"epoch": epoch, "callbacks": callbacks}))
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        for older, path in _epoch_dirs(self.backup_dir):
            if older < epoch:
                shutil.rmtree(path, ignore_errors=True)

    def finish(self, epochs: int, seconds: float) -> None:
        """Record that training ended after `epochs` epochs and `seconds` of training, with the
        model's final weights (early stopping's best ones restored); the epoch checkpoints go."""
        final, tmp = self.backup_dir / FINISHED, self.backup_dir / f"{FINISHED}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self.model.save_weights(tmp / WEIGHTS)
        (tmp / STATE).write_text(json.dumps({"epochs": epochs, "seconds": seconds}))
        tmp.rename(final)
        for _, path in _epoch_dirs(self.backup_dir):
            shutil.rmtree(path, ignore_errors=True)

    def restore_finished(self, model: keras.Model) -> tuple[int, float] | None:
        """Load the weights of a training that had ended; its (epochs, seconds), or None when
        there is no readable `finished/` (then the epoch checkpoints, if any, are used)."""
        folder = self.backup_dir / FINISHED
        if not folder.is_dir():
            return None
        try:
            state = json.loads((folder / STATE).read_text())
            model.load_weights(folder / WEIGHTS)
            return int(state["epochs"]), float(state["seconds"])
        except Exception as exc:  # torn or foreign: train again
            log.warning(
                "%s is unreadable (%s: %s): training again", folder, type(exc).__name__, exc
            )
            shutil.rmtree(folder, ignore_errors=True)
            return None
