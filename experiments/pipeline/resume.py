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

import io
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
    trained again), and per epoch: wall seconds, processor seconds of this process
    (`time.process_time`, all threads) and the validation logs (`val_loss`, ...), for learning
    curves. The first epoch of every attempt includes tracing and compiling: `traced` lists
    those epochs so that they can be kept apart. `started`: POSIX time of the first attempt's
    start."""

    def __init__(self) -> None:
        super().__init__()
        self.before = 0.0  # seconds of the attempts before this one
        self._since: float | None = None
        self.started: float | None = None
        self.wall: list[float] = []  # (epochs,) seconds of each completed epoch
        self.cpu: list[float] = []  # (epochs,) processor seconds of each completed epoch
        self.val: dict[str, list[float]] = {}  # "val_loss" → (epochs,)
        self.traced: list[int] = []  # epochs (0-based) that began an attempt
        self._epoch: tuple[float, float] | None = None
        self._new_attempt = False

    def seconds(self) -> float:
        """Training seconds so far, this attempt included."""
        running = 0.0 if self._since is None else time.perf_counter() - self._since
        return self.before + running

    def per_epoch(self) -> dict[str, Any]:
        """metrics.json's view: lists over the completed epochs (seconds; validation logs), the
        first epoch's seconds apart, and which epochs include tracing (`traced_epochs`)."""
        return {
            "train_started": self.started,
            "first_epoch_seconds": self.wall[0] if self.wall else None,
            "first_epoch_cpu_seconds": self.cpu[0] if self.cpu else None,
            "epoch_seconds": self.wall,
            "epoch_cpu_seconds": self.cpu,
            "traced_epochs": self.traced,
            **{f"epoch_{name}": values for name, values in self.val.items()},
        }

    def get_state(self) -> tuple[dict[str, Any], list[np.ndarray]]:
        state = {"seconds": self.seconds(), "started": self.started, "wall": self.wall}
        return state | {"cpu": self.cpu, "val": self.val, "traced": self.traced}, []

    def set_state(self, state: dict[str, Any], arrays: list[np.ndarray]) -> None:
        self.before = state["seconds"]
        self.started = state.get("started")  # absent in checkpoints from before these fields
        self.wall, self.cpu = list(state.get("wall", [])), list(state.get("cpu", []))
        self.val = {name: list(values) for name, values in state.get("val", {}).items()}
        self.traced = list(state.get("traced", []))

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._since, self._new_attempt = time.perf_counter(), True
        if self.started is None:
            self.started = time.time()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._epoch is None:
            return
        wall, cpu = self._epoch
        if self._new_attempt:
            self.traced.append(len(self.wall))
            self._new_attempt = False
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(time.process_time() - cpu)
        for name, value in (logs or {}).items():
            if name.startswith("val_"):
                self.val.setdefault(name, []).append(float(value))

    def on_train_end(self, logs: dict | None = None) -> None:
        self.before, self._since = self.seconds(), None


def write_weights(model: keras.Model, path: Path) -> None:
    """`model.save_weights(path)`, built in memory and written with Python's own file calls: h5py
    writing straight to a full disk crashes the process (a segfault after its errors), whereas
    this raises `OSError` (ENOSPC) and costs the run only. The bytes are `save_weights`'s."""
    try:
        from keras.src.saving import saving_lib

        buffer = io.BytesIO()
        store = saving_lib.H5IOStore(buffer, mode="w")
        saving_lib._save_state(
            model, weights_store=store, assets_store=None, inner_path="", visited_saveables=set()
        )
        store.close()
    except (ImportError, AttributeError, TypeError):  # another Keras: its public call
        model.save_weights(path)
        return
    with open(path, "wb") as file:
        file.write(buffer.getbuffer())


def _write_checkpoint(tmp: Path, write) -> None:
    """Run `write(tmp)` into a fresh `tmp` folder; on a failed write (a full or read-only disk)
    remove what was written and raise `OSError` naming the folder."""
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        write(tmp)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        why = exc.strerror or str(exc)
        raise OSError(exc.errno, f"the backup could not be written to {tmp} ({why})") from exc


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
        arrays: list[np.ndarray] = []
        callbacks = {}
        for name, callback in self.stateful.items():
            state, values = callback.get_state()
            start, arrays = len(arrays), arrays + values
            callbacks[name] = {"state": state, "start": start, "stop": len(arrays)}

        def write(tmp: Path) -> None:
            write_weights(self.model, tmp / WEIGHTS)
            np.savez(tmp / ARRAYS, **{f"a{i}": value for i, value in enumerate(arrays)})
            (tmp / STATE).write_text(json.dumps({"epoch": epoch, "callbacks": callbacks}))

        tmp = self.backup_dir / f"epoch-{epoch}.tmp"
        _write_checkpoint(tmp, write)
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        for older, path in _epoch_dirs(self.backup_dir):
            if older < epoch:
                shutil.rmtree(path, ignore_errors=True)

    def finish(self, epochs: int, seconds: float) -> None:
        """Record that training ended after `epochs` epochs and `seconds` of training, with the
        model's final weights (early stopping's best ones restored); the epoch checkpoints go."""
        final, tmp = self.backup_dir / FINISHED, self.backup_dir / f"{FINISHED}.tmp"

        def write(tmp: Path) -> None:
            write_weights(self.model, tmp / WEIGHTS)
            (tmp / STATE).write_text(json.dumps({"epochs": epochs, "seconds": seconds}))

        _write_checkpoint(tmp, write)
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
