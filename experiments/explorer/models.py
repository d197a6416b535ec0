"""The runs' exported SavedModels, loaded when first traced and kept in a bounded cache.

Tracing goes through the SavedModel's `gates` and `serve` signatures (`experiments.export`), so
it needs TensorFlow only and works for every model the suite exports, Keras's built-in layers
included. TensorFlow is imported on the first load, not when TensorBoard imports the plugin.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from experiments import export


class TracedModel:
    """One loaded SavedModel: `trace(x)` → the model's outputs and every gate."""

    def __init__(self, folder: Path) -> None:
        import tensorflow as tf

        self._saved = tf.saved_model.load(str(folder))
        self._gates = self._saved.signatures[export.GATES]
        self._serve = self._saved.signatures[export.SERVE]
        (self._input,) = self._gates.structured_input_signature[1]  # "tokens" / "features"

    def trace(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, dict[str, np.ndarray]]]:
        """Outputs and gates of one example.

        Args:
            x: `(1, time)` int32 token ids or `(1, time, features)` float32 values.
        Returns: `(outputs, gates)`: outputs `(n_outputs,)` or `(time, n_outputs)`; gates
            `{layer: {gate: (time, units)}}` float32.
        """
        import tensorflow as tf

        x = tf.constant(x)
        outputs = self._serve(**{self._input: x})[export.OUTPUT_KEY].numpy()[0]
        gates: dict[str, dict[str, np.ndarray]] = {}
        for key, value in self._gates(**{self._input: x}).items():
            layer, gate = key.rsplit("/", 1)
            gates.setdefault(layer, {})[gate] = value.numpy()[0]
        return outputs, gates


class ModelCache:
    """Loaded models by SavedModel folder, the `size` most recently used kept in memory.

    A folder whose `saved_model.pb` changed (the run was trained again) is loaded anew.
    """

    def __init__(self, size: int = 2) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(
                "Received an invalid value for argument `size`, expected an integer >= 1, "
                f"got {size!r}."
            )
        self.size = size
        self._models: OrderedDict[tuple[str, int], TracedModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, folder: Path) -> TracedModel:
        """The model in `folder` (a SavedModel with `gates`), loading it if it is not cached."""
        key = (str(folder), (Path(folder) / "saved_model.pb").stat().st_mtime_ns)
        with self._lock:  # one load at a time: two requests for one run must not load it twice
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            model = TracedModel(Path(folder))
            self._models[key] = model
            while len(self._models) > self.size:
                self._models.popitem(last=False)
            return model

    def __len__(self) -> int:
        return len(self._models)

    def keys(self) -> list[Any]:
        """The cached folders, least recently used first."""
        return [folder for folder, _ in self._models]
