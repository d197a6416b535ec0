"""Structured-config schemas: types are checked by OmegaConf when configs compose, ranges by
`validate_config` before a run starts.

The schemas live in Hydra's ConfigStore under `schema/...` (not in a selectable group) and are
pulled into the YAML files with `- /schema/<name>@_here_` in their defaults list.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf


class ConfigError(ValueError):
    """A bad configuration value; the message names the key, the value and what is allowed."""


def _require(ok: bool, key: str, value: Any, allowed: str) -> None:
    """Raise `ConfigError("key=value: expected <allowed>")` unless `ok`."""
    if not ok:
        raise ConfigError(f"{key}={value!r}: expected {allowed}")


@dataclass
class ModelSchema:
    """`conf/model/*.yaml`: a stack of `num_layers` recurrent layers made by `layer(...)`."""

    name: str = "???"
    units: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    embedding_dim: int = 32
    layer: Any = None

    def __post_init__(self) -> None:
        _require(self.units > 0, "model.units", self.units, "a positive integer")
        _require(self.num_layers >= 1, "model.num_layers", self.num_layers, "an integer >= 1")
        _require(0.0 <= self.dropout < 1.0, "model.dropout", self.dropout, "0 <= dropout < 1")
        _require(
            self.embedding_dim > 0, "model.embedding_dim", self.embedding_dim, "a positive integer"
        )


@dataclass
class TrainerSchema:
    """`conf/trainer/*.yaml`: how `fit` runs; `optimizer` is instantiated per run."""

    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 3e-3
    clipnorm: float | None = 1.0
    patience: int | None = None
    jit_compile: bool = False
    optimizer: Any = None

    def __post_init__(self) -> None:
        _require(self.epochs > 0, "trainer.epochs", self.epochs, "a positive integer")
        _require(self.batch_size > 0, "trainer.batch_size", self.batch_size, "a positive integer")
        _require(
            self.learning_rate > 0,
            "trainer.learning_rate",
            self.learning_rate,
            "a positive number",
        )
        _require(
            self.clipnorm is None or self.clipnorm > 0,
            "trainer.clipnorm",
            self.clipnorm,
            "a positive number or null",
        )
        _require(
            self.patience is None or self.patience >= 0,
            "trainer.patience",
            self.patience,
            "an integer >= 0 or null (no early stopping)",
        )


@dataclass
class ThreadsSchema:
    """TensorFlow CPU threads per job; 0 lets TensorFlow choose."""

    intra_op: int = 0
    inter_op: int = 0

    def __post_init__(self) -> None:
        _require(self.intra_op >= 0, "threads.intra_op", self.intra_op, "an integer >= 0")
        _require(self.inter_op >= 0, "threads.inter_op", self.inter_op, "an integer >= 0")


@dataclass
class RunSchema:
    """The primary config `conf/train.yaml`: the groups plus the top-level run settings."""

    seed: int = 0
    deterministic: bool = False
    export: bool = False
    output_dir: str = "???"
    threads: ThreadsSchema = field(default_factory=ThreadsSchema)
    model: Any = None
    data: Any = None
    trainer: Any = None
    logger: Any = None

    def __post_init__(self) -> None:
        _require(self.seed >= 0, "seed", self.seed, "an integer >= 0")


SCHEMAS: dict[str, type] = {
    "run": RunSchema,
    "model": ModelSchema,
    "trainer": TrainerSchema,
}


def register_schemas() -> None:
    """Store every schema as `schema/<name>` in Hydra's ConfigStore (idempotent)."""
    store = ConfigStore.instance()
    for name, schema in SCHEMAS.items():
        store.store(group="schema", name=name, node=schema)


def check_ranges(node: DictConfig, schema: type) -> None:
    """Build `schema` from the scalar keys of a composed `node`, running its `__post_init__`.

    Interpolated values (e.g. `${hydra:runtime.output_dir}`) are skipped: they are checked where
    their source is defined, and some resolve only inside a running job.
    """
    scalars = {
        f.name: node[f.name]
        for f in dataclasses.fields(schema)
        if f.name in node
        and not OmegaConf.is_interpolation(node, f.name)
        and not OmegaConf.is_config(node[f.name])
    }
    schema(**scalars)


def _instantiate_checked(cfg: DictConfig, group: str) -> Any:
    """`instantiate(cfg[group])`, a `ValueError`/`TypeError` of the constructor turned into a
    `ConfigError` that names the group's option (`data=context_switch: ...`)."""
    try:
        return instantiate(cfg[group])
    except Exception as exc:  # instantiate wraps the constructor's error in InstantiationException
        cause = exc.__cause__ or exc
        if not isinstance(cause, ValueError | TypeError):
            raise
        choice = OmegaConf.select(cfg, f"hydra.runtime.choices.{group}")
        raise ConfigError(f"{group}={choice or cfg[group].get('_target_')}: {cause}") from exc


def validate_config(cfg: DictConfig) -> Any:
    """Check a composed run config before anything trains; return the instantiated task.

    Ranges first (fast), then the task's own argument checks, then the logger's (which may load
    TensorFlow).

    Raises:
        ConfigError: a value out of range, or an argument the task or logger rejects (e.g.
            `data.seq_len=0`), with a message naming the key and what is allowed.
    """
    check_ranges(cfg, RunSchema)
    check_ranges(cfg.threads, ThreadsSchema)
    check_ranges(cfg.model, ModelSchema)
    check_ranges(cfg.trainer, TrainerSchema)
    task = _instantiate_checked(cfg, "data")
    _instantiate_checked(cfg, "logger")
    return task
