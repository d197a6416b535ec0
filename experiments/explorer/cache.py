"""The runs' exported SavedModels, loaded when first traced and kept in a bounded cache.

Tracing goes through the SavedModel's `gates` and `serve` signatures
(`experiments.export.saved_model`), so
it needs TensorFlow only and works for every model the suite exports, Keras's built-in layers
included. TensorFlow is imported on the first load, not when TensorBoard imports the plugin.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from experiments.export import signatures as export
from experiments.export.intervene import INTERVENE, input_name

ASSERTION = re.compile(r"assertion failed: \[(.*?)\] \[")


class ModelError(RuntimeError):
    """A SavedModel that does not load or trace: the message says which file and why."""


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


class TracedModel:
    """One loaded SavedModel: `trace(x)` → the model's outputs and every gate.

    Raises `ModelError` when `folder` does not load (missing or corrupt files) or lacks the
    `gates` or `serve` signature.
    """

    def __init__(self, folder: Path) -> None:
        import tensorflow as tf

        try:
            self._saved = tf.saved_model.load(str(folder))
        except Exception as exc:  # a corrupt or foreign file is the run's problem, not a bug
            why = f"{type(exc).__name__}: {_first_line(exc)}"
            raise ModelError(f"{folder} does not load: {why}") from exc
        missing = [s for s in (export.GATES, export.SERVE) if s not in self._saved.signatures]
        if missing:
            names = ", ".join(sorted(self._saved.signatures)) or "none"
            raise ModelError(f"{folder} has no `{'`, `'.join(missing)}` signature (it has {names})")
        self._gates = self._saved.signatures[export.GATES]
        self._serve = self._saved.signatures[export.SERVE]
        self._intervene = self._saved.signatures.get(INTERVENE)  # None: exported before it
        (self._input,) = self._gates.structured_input_signature[1]  # "tokens" / "features"

    def trace(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, dict[str, np.ndarray]]]:
        """Outputs and gates of one example.

        Args:
            x: `(1, time)` int32 token ids or `(1, time, features)` float32 values.
        Returns: `(outputs, gates)`: outputs `(n_outputs,)` or `(time, n_outputs)`; gates
            `{layer: {gate: (time, units)}}` float32.
        Raises: `ValueError` with the model's own message when it refuses `x` (export's checks:
            a token id outside the vocabulary; or a shape it does not take).
        """
        import tensorflow as tf

        x = tf.constant(x)
        try:
            outputs = self._serve(**{self._input: x})[export.OUTPUT_KEY].numpy()[0]
            traced = self._gates(**{self._input: x})
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as exc:
            asserted = ASSERTION.search(str(exc))  # export's `_checked` message, not TF's
            raise ValueError(asserted.group(1) if asserted else _first_line(exc)) from exc
        gates: dict[str, dict[str, np.ndarray]] = {}
        for key, value in traced.items():
            layer, gate = key.rsplit("/", 1)
            gates.setdefault(layer, {})[gate] = value.numpy()[0]
        return outputs, gates

    @property
    def can_intervene(self) -> bool:
        """Whether the SavedModel has the `intervene` signature (exports before it do not)."""
        return self._intervene is not None

    def intervene(
        self, x: np.ndarray, key: str, where: np.ndarray, value: float | np.ndarray
    ) -> tuple[np.ndarray, dict[str, dict[str, np.ndarray]]]:
        """Outputs and gates of one example with the trace key `key` (`"<layer>/<gate>"`) set to
        `value` (a number, or rank 3 like `where`) where `where` (bool, rank 3, broadcastable
        to `(1, time, units)`) is True, every other key left alone; as `trace` returns them.

        Raises: `ValueError` as `trace`, and when the SavedModel has no `intervene` signature.
        """
        import tensorflow as tf

        if self._intervene is None:
            raise ValueError(f"the SavedModel has no `{INTERVENE}` signature: export it again")
        names = set(self._intervene.structured_input_signature[1])
        none = np.zeros((1, 1, 1), bool)
        feed = {
            name: none if name.endswith("_where") else np.zeros((1, 1, 1), np.float32)
            for name in names
            if name != self._input
        }
        feed[input_name(key, "where")] = np.asarray(where, bool)
        feed[input_name(key, "value")] = np.asarray(value, np.float32).reshape(
            np.shape(value) or (1, 1, 1)
        )
        try:
            result = self._intervene(
                **{self._input: tf.constant(x)}, **{k: tf.constant(v) for k, v in feed.items()}
            )
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as exc:
            asserted = ASSERTION.search(str(exc))
            raise ValueError(asserted.group(1) if asserted else _first_line(exc)) from exc
        outputs = result.pop(export.OUTPUT_KEY).numpy()[0]
        gates: dict[str, dict[str, np.ndarray]] = {}
        for name, traced in result.items():
            layer, gate = name.rsplit("/", 1)
            gates.setdefault(layer, {})[gate] = traced.numpy()[0]
        return outputs, gates


class ModelCache:
    """Loaded models by SavedModel folder, the `size` most recently used kept in memory.

    A folder whose `saved_model.pb` changed (the run was trained again) is loaded anew; a load
    that failed is remembered (the page traces on every keystroke) until the file changes.
    """

    def __init__(self, size: int = 2) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(
                "Received an invalid value for argument `size`, expected an integer >= 1, "
                f"got {size!r}."
            )
        self.size = size
        self._models: OrderedDict[tuple[str, int], TracedModel] = OrderedDict()
        self._failed: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()

    def get(self, folder: Path) -> TracedModel:
        """The model in `folder` (a SavedModel with `gates`), loading it if it is not cached;
        `ModelError` when it does not load (now or at the last try on the same file)."""
        try:
            key = (str(folder), (Path(folder) / "saved_model.pb").stat().st_mtime_ns)
        except OSError as exc:
            raise ModelError(f"{folder} has no readable saved_model.pb: {exc.strerror}") from None
        with self._lock:  # one load at a time: two requests for one run must not load it twice
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            if key in self._failed:
                raise ModelError(self._failed[key])
            try:
                model = TracedModel(Path(folder))
            except ModelError as exc:
                if len(self._failed) >= 100:  # bounded: drop the oldest
                    self._failed.pop(next(iter(self._failed)))
                self._failed[key] = str(exc)
                raise
            self._models[key] = model
            while len(self._models) > self.size:
                self._models.popitem(last=False)
            return model

    def __len__(self) -> int:
        return len(self._models)

    def keys(self) -> list[Any]:
        """The cached folders, least recently used first."""
        return [folder for folder, _ in self._models]
