"""Structured-config schemas: types are checked by OmegaConf when configs compose, ranges by
`validate_config` before a run starts.

The schemas live in Hydra's ConfigStore under `schema/...` (not in a selectable group) and are
pulled into the YAML files with `- /schema/<name>@_here_` in their defaults list.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from data.own import machine_memory
from experiments.pipeline import solved


class ConfigError(ValueError):
    """A bad configuration value; the message names the key, the value and what is allowed."""


def _require(ok: Callable[[Any], bool], key: str, value: Any, allowed: str) -> None:
    """Raise `ConfigError("key=value: expected <allowed>")` unless `ok(value)`; a value not
    given here (`???`: interpolated, checked where its source is) passes."""
    if value != MISSING and not ok(value):
        raise ConfigError(f"{key}={value!r}: expected {allowed}")


def _positive(value: Any) -> bool:
    return value > 0


def _at_least(minimum: int) -> Callable[[Any], bool]:
    return lambda value: value >= minimum


# Every default is `???`: the YAML files are the one place that sets a default (conf/train.yaml,
# conf/trainer/default.yaml, conf/model/<base>.yaml), the schemas give types and ranges only.
@dataclass
class ModelSchema:
    """`conf/model/*.yaml`: a stack of `num_layers` recurrent layers made by `layer(...)`."""

    name: str = MISSING
    units: int = MISSING
    num_layers: int = MISSING
    dropout: float = MISSING
    embedding_dim: int = MISSING
    layer: Any = None

    def __post_init__(self) -> None:
        _require(_positive, "model.units", self.units, "a positive integer")
        _require(_at_least(1), "model.num_layers", self.num_layers, "an integer >= 1")
        _require(lambda v: 0.0 <= v < 1.0, "model.dropout", self.dropout, "0 <= dropout < 1")
        _require(_positive, "model.embedding_dim", self.embedding_dim, "a positive integer")


@dataclass
class TrainerSchema:
    """`conf/trainer/*.yaml`: how `fit` runs; `optimizer` is instantiated per run."""

    epochs: int = MISSING
    batch_size: int = MISSING
    learning_rate: float = MISSING
    clipnorm: float | None = MISSING
    patience: int | None = MISSING
    solved_monitor: str | None = MISSING
    solved_at: float | None = MISSING
    jit_compile: bool = MISSING
    optimizer: Any = None

    def __post_init__(self) -> None:
        _require(_positive, "trainer.epochs", self.epochs, "a positive integer")
        _require(_positive, "trainer.batch_size", self.batch_size, "a positive integer")
        _require(
            lambda v: 0 < v < math.inf,
            "trainer.learning_rate",
            self.learning_rate,
            "a positive finite number",
        )
        _require(
            lambda v: v is None or 0 < v < math.inf,
            "trainer.clipnorm",
            self.clipnorm,
            "a positive finite number or null",
        )
        _require(
            lambda v: v is None or v >= 0,
            "trainer.patience",
            self.patience,
            "an integer >= 0 or null (no early stopping)",
        )
        _require(
            lambda v: v is None or v in solved.MONITORS,
            "trainer.solved_monitor",
            self.solved_monitor,
            f"one of {', '.join(solved.MONITORS)}, or null (never stop as solved)",
        )
        _require(
            lambda v: (
                (v is None) == (self.solved_monitor is None) and (v is None or math.isfinite(v))
            ),
            "trainer.solved_at",
            self.solved_at,
            "a finite number when trainer.solved_monitor is set, null when it is null",
        )
        _require(
            lambda v: v is None or self.patience is None,
            "trainer.solved_monitor",
            self.solved_monitor,
            "null while trainer.patience is set (early stopping restores its best validation "
            "loss weights at the end, not the solved epoch's): set trainer.patience=null",
        )


@dataclass
class ThreadsSchema:
    """TensorFlow CPU threads per job; 0 lets TensorFlow choose."""

    intra_op: int = MISSING
    inter_op: int = MISSING

    def __post_init__(self) -> None:
        _require(_at_least(0), "threads.intra_op", self.intra_op, "an integer >= 0")
        _require(_at_least(0), "threads.inter_op", self.inter_op, "an integer >= 0")


@dataclass
class MeasureSchema:
    """What a run measures on its trained model beyond the task's metrics."""

    patching: bool = MISSING  # the memory gate clamped and patched (experiments.pipeline.patching)


@dataclass
class RunSchema:
    """The primary config `conf/train.yaml`: the groups plus the top-level run settings."""

    seed: int = MISSING
    deterministic: bool = MISSING
    export: bool = MISSING
    output_dir: str = MISSING
    threads: ThreadsSchema = field(default_factory=ThreadsSchema)
    measure: MeasureSchema = field(default_factory=MeasureSchema)
    model: Any = None
    data: Any = None
    trainer: Any = None
    logger: Any = None

    def __post_init__(self) -> None:
        _require(lambda v: 0 <= v < 2**32, "seed", self.seed, "an integer in [0, 2**32 - 1]")


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
    their source is defined, and some resolve only inside a running job. One whose resolver
    refuses its arguments with a `ConfigError` (`gatelab.tuned`: no finished search) is refused
    here, under its key.
    """
    scalars = {}
    for f in dataclasses.fields(schema):
        if f.name not in node:
            continue
        if OmegaConf.is_interpolation(node, f.name):
            _check_resolves(node, f.name)
        elif not OmegaConf.is_config(node[f.name]):
            scalars[f.name] = node[f.name]
    schema(**scalars)


def _check_resolves(node: DictConfig, name: str) -> None:
    """Resolve `node[name]`; a `ConfigError` of its resolver becomes one under the key's name."""
    try:
        node[name]
    except OmegaConfBaseException as exc:
        cause = exc.__cause__ or exc.__context__
        while cause is not None and not isinstance(cause, ConfigError):
            cause = cause.__cause__ or cause.__context__  # OmegaConf re-raises while handling
        if cause is not None:
            raise ConfigError(f"{node._get_full_key(name)}: {cause}") from None


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

    Ranges first (fast), then the task's own argument checks, a memory estimate, then the
    recurrent layer's and the logger's checks (which load TensorFlow).

    Raises:
        ConfigError: a value out of range, or an argument the task, the layer or the logger
            rejects (e.g. `data.seq_len=0`, `model.layer.activation='relux'`), or sizes too
            large for this machine's memory, with a message naming the key and what is allowed.
    """
    check_ranges(cfg, RunSchema)
    check_ranges(cfg.threads, ThreadsSchema)
    check_ranges(cfg.model, ModelSchema)
    check_ranges(cfg.trainer, TrainerSchema)
    task = _instantiate_checked(cfg, "data")
    check_measure(cfg, task)
    check_solved(cfg, task)
    check_memory(cfg, task)
    check_layer(cfg, task)
    _instantiate_checked(cfg, "logger")
    return task


def check_measure(cfg: DictConfig, task: Any) -> None:
    """Refuse a measurement the task cannot take (`measure.patching` needs context_switch).

    Raises:
        ConfigError: naming `measure.<key>`, the task and what is allowed.
    """
    if cfg.measure.patching:
        from experiments.pipeline.patching import check_task  # numpy only until it measures

        try:
            check_task(task)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None


def check_solved(cfg: DictConfig, task: Any) -> None:
    """Refuse a success criterion on a validation log the task's training does not write
    (`val_accuracy` for classification, `val_mae` otherwise; `val_loss` always).

    Raises:
        ConfigError: naming `trainer.solved_monitor`, the task and what it logs.
    """
    monitor = cfg.trainer.solved_monitor
    logged = solved.logged(task.spec.is_classification)
    if monitor is not None and monitor not in logged:
        raise ConfigError(
            f"trainer.solved_monitor={monitor}: this task ({type(task).__name__}) logs "
            f"{', '.join(logged)} on validation"
        )


def check_layer(cfg: DictConfig, task: Any) -> None:
    """Construct the recurrent layers the model would stack
    (`experiments.pipeline.model.check_layers`:
    no build, no weights, TensorFlow's runtime not started), so that an argument the layer
    refuses is refused before the run, in the layer's own words.

    Raises:
        ConfigError: `model.layer.<argument>=<value>: <the layer's message>` where the message
            names one of `model.layer`'s arguments, else `model=<option>: <the message>`; or a
            `model.layer._target_` that cannot be imported.
    """
    from experiments.pipeline.model import (
        check_layers,  # loads Keras: only once the cheap checks pass
    )

    target = cfg.model.layer.get("_target_")
    try:
        factory = instantiate(cfg.model.layer)
    except InstantiationException as exc:
        raise ConfigError(
            f"model.layer._target_={target!r}: cannot be imported; expected a layer class such "
            "as layers.LSTM or keras.layers.LSTM"
        ) from exc
    try:
        check_layers(factory, task.spec, cfg.model.num_layers)
    except (ValueError, TypeError) as exc:
        message = " ".join(str(exc).split())
        raise ConfigError(f"{_layer_argument(cfg, message)}: {message}") from exc


def _mention(key: str, message: str) -> re.Match | None:
    """Where an error `message` names argument `key`: `` `key` ``, `'key'` or `key=`."""
    name = re.escape(key)
    return re.search(rf"`{name}`|'{name}'|\b{name}=", message)


def _layer_argument(cfg: DictConfig, message: str) -> str:
    """`key=value` of the `model.layer` argument that a constructor's `message` names first
    (`` `activation` ``, `'nonsense'`, `use_cudnn=`), else whose text value it quotes (Keras:
    `Could not interpret activation function identifier: relux`); by the key the user sets
    (`model.dropout` for `dropout: ${model.dropout}`); `model=<option>` when there is none."""
    layer = cfg.model.layer
    written = OmegaConf.to_container(layer, resolve=False)
    keys = [key for key in written if not key.startswith("_")]
    by_name = [key for key in keys if _mention(key, message)]
    by_value = [
        key
        for key in keys
        if isinstance(layer[key], str) and re.search(rf"\b{re.escape(layer[key])}\b", message)
    ]
    named = sorted(by_name, key=lambda key: _mention(key, message).start()) or by_value
    if not named:
        option = OmegaConf.select(cfg, "hydra.runtime.choices.model") or cfg.model.get("name")
        return f"model={option}"
    source = re.fullmatch(r"\$\{([\w.]+)\}", str(written[named[0]]))
    return f"{source.group(1) if source else f'model.layer.{named[0]}'}={layer[named[0]]!r}"


def _size(n_bytes: float) -> str:
    """`1.5 TiB`, `23.4 GiB`, ... (binary units)."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    power = min(int(math.log(max(n_bytes, 1.0), 1024)), len(units) - 1)
    return f"{n_bytes / 1024**power:.3g} {units[power]}"


RUNTIME_BYTES = 900 * 2**20  # a process with TensorFlow and Keras loaded and one small run
STEP_BYTES = 12 * 2**10  # per layer and time step in backprop: the while loop's bookkeeping
STEP_TENSORS = 12  # (batch, units) float32 values per layer and step kept for backprop
INPUT_COPIES = 3  # an input value in the padded array, its split's copy and the model's input


def memory_estimate(cfg: DictConfig, task: Any) -> dict[str, float]:
    """A run's peak memory in bytes, by part, calibrated on measured peaks (peak RSS of
    `experiments.train`, lstm / rnn / keras_lstm, 54 to 30,000 steps: the sum stays within 2x
    of the peak): `runtime` (TensorFlow and Keras), `data` (every split, `INPUT_COPIES` float32
    copies of each input value), `weights` (one gate's weights per layer, times 4 for gradients
    and Adam's two moments) and `activations` (one training batch at every step, kept for
    backprop: `STEP_BYTES` of bookkeeping plus `STEP_TENSORS` hidden-state tensors per layer
    and step, and the embedded or raw input). A training step on a long sequence costs memory
    in proportion to its length whatever the batch: one 2,000,000-word text needs about 30 GB.
    """
    spec, units, layers = task.spec, cfg.model.units, cfg.model.num_layers
    sizes = getattr(task, "sizes", {})
    n_examples = sum(sizes.values())
    batch = min(cfg.trainer.batch_size, sizes.get("train") or cfg.trainer.batch_size)
    step_values = 1 if spec.input_kind == "tokens" else spec.input_dim
    features = cfg.model.embedding_dim if spec.input_kind == "tokens" else spec.input_dim
    params = layers * units * (units + max(features, units) + 1) + units * spec.n_outputs
    per_step = layers * (STEP_BYTES + 4.0 * STEP_TENSORS * batch * units) + 4.0 * batch * features
    return {
        "runtime": float(RUNTIME_BYTES),
        "data": 4.0 * INPUT_COPIES * n_examples * spec.seq_len * step_values,
        "weights": 4.0 * 4 * params,
        "activations": per_step * spec.seq_len,
    }


def check_memory(cfg: DictConfig, task: Any) -> None:
    """Refuse a run whose `memory_estimate` exceeds this machine's physical memory (checked
    before anything trains: a run that does not fit would swap or be killed hours later).

    Raises:
        ConfigError: naming the sizes, the estimate and the machine's memory.
    """
    parts = memory_estimate(cfg, task)
    total = sum(parts.values())
    machine = machine_memory()
    if total > machine:
        length = f"data.seq_len={task.spec.seq_len}"
        if task.spec.padded:  # padded to the file's longest sequence
            length = f"data.path's longest sequence ({task.spec.seq_len} steps)"
        sizes = (
            f"{length}, model.units={cfg.model.units}, "
            f"model.num_layers={cfg.model.num_layers}, trainer.batch_size={cfg.trainer.batch_size}"
        )
        detail = ", ".join(f"{name} {_size(value)}" for name, value in parts.items())
        raise ConfigError(
            f"{sizes}: needs at least {_size(total)} of memory ({detail}), more than this "
            f"machine's {_size(machine)}; choose smaller sizes"
            f"{_fitting_length(parts, task, machine)}"
        )


def _fitting_length(parts: dict[str, float], task: Any, machine: float) -> str:
    """`, e.g. data.max_len=N`: the longest sequence that fits (data and activations grow in
    proportion to it) for a task padded to its longest sequence (`data.seq_len` otherwise)."""
    per_step = (parts["data"] + parts["activations"]) / task.spec.seq_len
    fits = int((machine - parts["runtime"] - parts["weights"]) // per_step)
    if fits < 1:
        return ""
    key = "data.max_len" if task.spec.padded else "data.seq_len"
    return f", e.g. {key}={fits}"
