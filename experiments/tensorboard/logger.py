"""The run-logger interface that `train` talks to; `conf/logger/*.yaml` picks the implementation."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class RunLogger:
    """A logger that logs nothing (`logger=none`); `TensorBoardLogger` overrides every method.

    `train` calls, in order: `callbacks` once before `fit`, `log_run_end` once after the test
    evaluation. The sweep callback calls `log_sweep_start` once per multirun and
    `log_sweep_end` once after the report.
    """

    def callbacks(self, model: Any, task: Any, log_dir: Path) -> list:
        """Keras callbacks to add to `fit` for one run writing under `log_dir`."""
        return []

    def log_run_end(
        self,
        model: Any,
        task: Any,
        log_dir: Path,
        hparams: dict[str, Any],
        metrics: dict[str, Any],
    ) -> None:
        """Final summaries of one run: its hparams and final metrics, last gate pictures."""

    def log_sweep_start(
        self, sweep_dir: Path, hparams: dict[str, list], metrics: list[str]
    ) -> None:
        """Write the sweep-wide hparams configuration once at the sweep root.

        Args:
            sweep_dir: the multirun directory.
            hparams: hyperparameter name → the values the sweep takes.
            metrics: names of the final metrics every run reports.
        """

    def log_sweep_end(self, sweep_dir: Path, figures: dict[str, Path]) -> None:
        """Add the report's figures (PNG paths by tag) to the sweep root's log."""
