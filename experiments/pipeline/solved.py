"""When a task counts as solved on validation: the papers' success criterion, as a rule that
`trainer.solved_monitor` / `trainer.solved_at` set (`stopping.StopWhenSolved` applies it; the
results page states it). Keras-free, so configs and budgets read it without TensorFlow."""

from __future__ import annotations

MONITORS = ("val_loss", "val_accuracy", "val_mae")  # what `fit` logs on validation


def compiled_metric(classification: bool) -> str:
    """The metric `experiments.pipeline.run.fit` compiles beside the loss: `accuracy` for a
    classifier, `mae` (mean absolute error) otherwise."""
    return "accuracy" if classification else "mae"


def logged(classification: bool) -> tuple[str, str]:
    """The validation logs `fit` writes: `val_loss` and `val_<compiled_metric>`."""
    return ("val_loss", f"val_{compiled_metric(classification)}")


def higher_is_better(monitor: str) -> bool:
    """True for an accuracy, False for a loss or an error."""
    return monitor.endswith("accuracy")


def reached(monitor: str, value: float, threshold: float) -> bool:
    """Whether `value` of `monitor` counts as solved: at or above `threshold` for an accuracy,
    at or below it for a loss or an error."""
    return value >= threshold if higher_is_better(monitor) else value <= threshold


def words(monitor: str, threshold: float) -> str:
    """`"val_loss ≤ 0.001"`: the rule in words, for budgets and logs."""
    return f"{monitor} {'≥' if higher_is_better(monitor) else '≤'} {threshold:g}"
