"""What a blown-up run is, decided the same way on every CPU.

A run has diverged when its training loss is NaN or infinite after any batch, or when, at the
end of an epoch, its training or validation loss is more than `EXPLOSION_FACTOR` times the loss
of its very first batch (the untrained model's loss: about ln(classes) for a classifier). A
finite but exploded loss is a real case: with a huge learning rate some CPUs' kernels saturate
to ±inf inside the network and end at a loss of ~1e31 instead of NaN.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

EXPLOSION_FACTOR = 100.0


class DivergenceError(RuntimeError):
    """Training diverged; the message says where and how."""


class DivergenceGuard(keras.callbacks.Callback):
    """Stops `fit` at the first sign of divergence and keeps the reason in `reason`."""

    def __init__(self, factor: float = EXPLOSION_FACTOR) -> None:
        super().__init__()
        self.factor = factor
        self.start_loss: float | None = None
        self.reason: str | None = None
        self._epoch = 0

    def get_state(self) -> tuple[dict[str, Any], list[np.ndarray]]:
        return {"start_loss": self.start_loss}, []

    def set_state(self, state: dict[str, Any], arrays: list[np.ndarray]) -> None:
        self.start_loss = state["start_loss"]

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = float((logs or {}).get("loss", math.nan))
        if not math.isfinite(loss):
            self._stop(f"training loss became {loss} in epoch {self._epoch + 1}, batch {batch + 1}")
        elif self.start_loss is None:
            self.start_loss = loss

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key in ("loss", "val_loss"):
            value = (logs or {}).get(key)
            if value is None or self.reason is not None:
                continue
            value = float(value)
            if not math.isfinite(value):
                self._stop(f"{key} became {value} in epoch {epoch + 1}")
            elif self.start_loss and value > self.factor * self.start_loss:
                self._stop(
                    f"{key} {value:.3g} in epoch {epoch + 1} is over {self.factor:g}× the "
                    f"starting loss {self.start_loss:.3g}"
                )

    def _stop(self, reason: str) -> None:
        self.reason = self.reason or reason
        self.model.stop_training = True
