"""What every task in `data/` provides: splits, a spec for model building, metrics and baselines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Split:
    """One split of a task.

    Attributes:
        x: inputs. Token tasks: `(n, time)` int32 ids, 0 is padding (masked). Feature tasks:
            `(n, time, features)` float32.
        y: targets. `(n,)` int class ids, `(n, 1)` float32 regression targets, or `(n, time)` int
            class ids for per-step tasks.
        positions: per-example positions of interest, each `(n,)` or `(n, k)` int time indices
            (e.g. `"switch"` for context_switch, `"markers"` for adding, `"delimiter"` for copy).
    """

    x: np.ndarray
    y: np.ndarray
    positions: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def mask(self) -> np.ndarray | None:
        """`(n, time)` bool, True where a step is real; None for feature tasks (never padded)."""
        return self.x != 0 if self.x.ndim == 2 else None


@dataclass(frozen=True)
class TaskSpec:
    """How a model must look to solve a task.

    Attributes:
        name: the task's config name (`conf/data/<name>.yaml`).
        seq_len: the difficulty knob the sweeps vary (task-specific meaning; see each task).
        input_kind: `"tokens"` (int ids, fed through an Embedding with `mask_zero=True`) or
            `"features"` (float vectors).
        input_dim: vocabulary size (padding id 0 included) for tokens, feature count otherwise.
        output: `"last"` (one prediction per sequence) or `"sequence"` (one per step).
        n_outputs: number of classes (the model emits logits), or 1 for regression.
        primary_metric: key of `Task.metrics` that the report tabulates (e.g. `"accuracy"`).
        higher_is_better: direction of `primary_metric`.
        vocab: index → token string for token tasks (index 0 is `"<pad>"`), else None.
        labels: output class id → label string for classification tasks whose classes have
            names (foods, symbols, characters), else None. Output ids need not equal input ids.
        padded: feature sequences of different lengths, right-padded with all-zero steps that
            the model masks (`keras.layers.Masking(0.0)`); token tasks mask id 0 anyway.
    """

    name: str
    seq_len: int
    input_kind: str
    input_dim: int
    output: str
    n_outputs: int
    primary_metric: str
    higher_is_better: bool
    vocab: tuple[str, ...] | None = None
    labels: tuple[str, ...] | None = None
    padded: bool = False

    @property
    def is_classification(self) -> bool:
        return self.n_outputs > 1


class Task:
    """Base class of the tasks. Subclasses validate their arguments in `__init__` (before any data
    is generated) and implement `_make_splits`, `metrics` and `baselines`."""

    spec: TaskSpec

    gate_steps: tuple[str, ...] = ()  # the keys of `gate_means`; none by default

    def __init__(self) -> None:
        self._splits: dict[str, Split] | None = None

    def splits(self) -> dict[str, Split]:
        """`{"train", "val", "test"}` → Split, generated once and cached (deterministic in seed)."""
        if self._splits is None:
            self._splits = self._make_splits()
        return self._splits

    def _make_splits(self) -> dict[str, Split]:
        raise NotImplementedError

    def preprocessing(self) -> dict | None:
        """What a served model needs to turn raw input into this task's `x` (saved with the run
        as `preprocessing.json` and built into the SavedModel), or None for generated tasks.

        `{"kind": "tokens", "tokens": "char"|"word", "lowercase", "vocab", "max_len", "keep"}`
        (`data.own.tokenize`'s rule) or `{"kind": "features", "columns", "mean", "std",
        "present_channel", "time_column"}`; value targets add `"target": {"column", "mean",
        "std"}` (see `in_target_units`).
        """
        return None

    def in_target_units(self, y: np.ndarray) -> np.ndarray:
        """Targets or model outputs (any shape) in the target's own units, for tasks that
        rescale their targets for training (`data.table.TableTask`'s value targets); `y` itself
        for every other task."""
        return y

    def step_labels(self, split: str, rows: np.ndarray) -> list[list[str]] | None:
        """A label per time step of examples `rows` of `split` (one list per example) for
        feature tasks whose steps have names (a table's time column), or None: token tasks are
        labelled by their vocabulary, other steps by their number."""
        return None

    def tutorial(self) -> dict[str, Any] | None:
        """What the gate explorer opens a run of this task with, or None (the default: the
        first probe example): `text`, a sentence in the task's own words (in distribution),
        `contrast`, the same sentence that keeps its subject (or None), `hint`, one line on
        what to try next, and `facts`, what the run was trained on that the page shows and
        checks typed sentences against (context_switch: `favourite`, name → food, and
        `filler`, the number of filler words). Plain JSON types only."""
        return None

    def gate_means(self, values: np.ndarray, mask: np.ndarray, split: Split) -> dict[str, float]:
        """Means of one traced gate at the steps this task is about, `{where: mean}` (the
        context switch's `at_but`, `at_and`, ...), for `metrics.json` (`retention_<where>`) and
        TensorBoard (`<task>/<layer>/<gate>_<where>`). Empty (the default) for a task without
        such steps (`gate_steps` lists the keys a task returns); the pipeline and the writer ask
        every task, and never ask which task it is.

        Args:
            values: `(n, time, units)` gate values of the first n examples of `split`.
            mask: `(n, time)` bool, True at real steps.
            split: the examples traced, for their `positions`.
        """
        return {}

    def loss(self):
        """Keras loss: sparse categorical cross-entropy on logits, or mean squared error."""
        import keras

        if self.spec.is_classification:
            return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return keras.losses.MeanSquaredError()

    def metrics(self, y_pred: np.ndarray, split: Split) -> dict[str, float]:
        """Task metrics (numpy, independent of Keras) of model outputs on a split.

        Args:
            y_pred: model outputs: logits `(n, classes)` / `(n, time, classes)`, or `(n, 1)`.
            split: the split the predictions are for.
        Returns: `{metric_name: value}`, including `spec.primary_metric`.
        """
        raise NotImplementedError

    def baselines(self) -> dict[str, float]:
        """No-memory baselines on the test split, `{name: value}`.

        Always has `spec.primary_metric` itself (the strongest no-memory baseline of that metric);
        other baselines as `"<metric>_<kind>"` (e.g. `"accuracy_chance"`), the analytic value
        (where one exists) as `"<metric>_analytic"`."""
        raise NotImplementedError
