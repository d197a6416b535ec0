"""Shared helpers for the experiment tests: compose the real configs, shrunk to seconds."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from experiments.cli.config import register_schemas

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"

# The slowest test files, slowest first (seconds of one serial `pytest --durations=0` while other
# work ran, 2026-12-07: 340, 305, 194, 135, 123, then 111 down to 71). `make test` gives whole
# files to two workers in collection order (`--dist loadfile --no-loadscope-reorder`), so the
# longest start first and the rest fill in behind them; a file not listed keeps its place after
# them. A stale list costs time, never a result.
SLOWEST_FIRST = (
    "tests/experiments/test_results.py",  # every preset in miniature through the command line
    "tests/experiments/test_train.py",
    "tests/end_to_end/test_slurm.py",
    "tests/end_to_end/test_interrupts.py",
    "tests/end_to_end/test_command_line.py",
    "tests/layers/test_zoo.py",
    "tests/data/test_own_data.py",
    "tests/layers/test_layers.py",
    "tests/experiments/test_tools.py",
    "tests/experiments/test_resume.py",
    "tests/experiments/test_export.py",
    "tests/experiments/test_config.py",
    "tests/layers/test_dropin.py",
    "tests/explorer/test_explorer.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the files of `SLOWEST_FIRST` first, in that order (a stable sort: each file's own
    tests keep their order, and the other files theirs)."""
    rank = {path: i for i, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


# A context_switch run of a few seconds: 200 training sentences, 5 filler words, 2 epochs.
TINY = [
    "logger=none",
    "data=context_switch",
    "data.seq_len=5",
    "data.n_train=200",
    "data.n_val=50",
    "data.n_test=50",
    "model.units=8",
    "trainer.epochs=2",
    "trainer.patience=null",
]


@pytest.fixture
def compose_cfg() -> Callable[..., DictConfig]:
    """`compose_cfg(overrides, hydra=False)`: `conf/train.yaml` composed with `overrides`.

    Without `hydra`, the `hydra` node is dropped, as Hydra does before calling the task."""
    register_schemas()

    def _compose(overrides: list[str], hydra: bool = False) -> DictConfig:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose("train", overrides=overrides, return_hydra_config=hydra)

    return _compose


@pytest.fixture
def tiny_cfg(compose_cfg, tmp_path) -> Callable[..., DictConfig]:
    """`tiny_cfg(*overrides)`: the TINY run writing into `tmp_path / "run"`."""

    def _tiny(*overrides: str) -> DictConfig:
        return compose_cfg([*TINY, f"output_dir={tmp_path / 'run'}", *overrides])

    return _tiny


def run_cli(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python <args>` from `cwd` with the repository importable; capture the output."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
