"""Stop a run once the task counts as solved on validation: the papers' success criterion.

A plateau task (adding, temporal order) must not be stopped on a flat validation loss, which
is where it sits before it learns; the reproductions cap it in updates instead. `StopWhenSolved`
adds the other half of the papers' rule: once the validation log `monitor` reaches `threshold`
(`solved.reached`) the run has what it was trained for, and further updates would only spend
time. The weights of that epoch are tested.

It carries no state between epochs, so a resumed run decides as one that never stopped.
"""

from __future__ import annotations

import keras

from experiments.pipeline import solved


class StopWhenSolved(keras.callbacks.Callback):
    """Stop training at the end of the first epoch whose `monitor` reaches `threshold`.

    Args:
        monitor: one of `solved.MONITORS` (`val_loss`, `val_accuracy`, `val_mae`).
        threshold: the value that counts as solved (`solved.reached`).

    Attributes:
        solved_epoch: the 1-based epoch that reached it, or None.

    Example:
    >>> model.fit(x, y, validation_data=(vx, vy), epochs=15,
    ...           callbacks=[StopWhenSolved("val_loss", 1e-3)])
    """

    def __init__(self, monitor: str, threshold: float) -> None:
        super().__init__()
        if monitor not in solved.MONITORS:
            raise ValueError(
                f"monitor must be one of {', '.join(solved.MONITORS)}; got {monitor!r}"
            )
        self.monitor, self.threshold = monitor, float(threshold)
        self.solved_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            logged = ", ".join(sorted(k for k in logs if k.startswith("val_")))
            raise ValueError(
                f"trainer.solved_monitor={self.monitor!r} is not logged by this task; it logs "
                f"{logged or 'nothing on validation'}"
            )
        if solved.reached(self.monitor, float(logs[self.monitor]), self.threshold):
            self.solved_epoch = epoch + 1
            self.model.stop_training = True
