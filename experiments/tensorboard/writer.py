"""TensorBoard logging (`logger=tensorboard`): scalars, hparams and gate pictures of runs, sweeps.

What `tensorboard --logdir <sweep dir>` finds (run names are paths relative to the logdir):

    .                        the sweep's hparams configuration; image results/metric_vs_seq_len
    <run>/tb/train           epoch_loss (and compiled metrics), epoch_learning_rate,
                             epoch_steps_per_second (Keras's TensorBoard callback)
    <run>/tb/validation      epoch_loss (and compiled metrics)
    <run>/tb                 the gate summaries of `GateLogger` (every N epochs and at the end),
                             final/<metric> scalars and the run's hparams

`<run>` is the job's directory, Hydra's override string (`data.seq_len=50,model=lstm`). The
HParams dashboard treats each `<run>/tb` as a session: its columns are the sweep's
hyperparameters, the `final/...` scalars of that run and the last `epoch_loss` of its `train` and
`validation` runs. With `--logdir outputs` every run of every sweep is listed (names prefixed
`sweeps/<time>/`), but TensorBoard takes one hparams configuration per logdir: the HParams view
then shows all sessions with one sweep's value checkboxes and metric columns; point TensorBoard
at one sweep to filter its values exactly.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hp
from tensorboard.plugins.hparams import plugin_data_pb2

from data.base import Split, Task
from data.common import take
from experiments.cli.config import ConfigError
from experiments.explorer import summary as explorer_summary
from experiments.tensorboard import gate_stats as gates
from experiments.tensorboard import probe
from experiments.tensorboard.callback import GateTensorBoard
from experiments.tensorboard.logger import RunLogger

FINAL = "final"  # scalar tags `final/<metric>` hold a run's end-of-run numbers
EXTRA_METRICS = ("params", "epochs")  # in the HParams table beside the sweep's own metrics
LAST_EPOCH_LOSSES = {"train": "train loss", "validation": "val loss"}  # Keras run → column title


def _check(name: str, value: Any, minimum: int, allow_none: bool = False) -> None:
    """Raise `ConfigError("logger.<name>=<value>: expected ...")` unless an int >= `minimum`."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        allowed = f"an integer >= {minimum}" + (" or null" if allow_none else "")
        raise ConfigError(f"logger.{name}={value!r}: expected {allowed}")


@dataclass(frozen=True)
class GateSettings:
    """When and on what `GateLogger` traces the gates (see `TensorBoardLogger`)."""

    every_n_epochs: int = 5
    images_every_n_epochs: int = 0
    probe_size: int = 8
    stats_size: int = 256
    heatmap_examples: int = 3


class TensorBoardLogger(RunLogger):
    """Writes every run and sweep for TensorBoard (see the module docstring for the layout).

    Args:
        every_n_epochs: trace the gates after every N-th epoch (histograms, scalars,
            text) and at the end of the run (pictures too); 0: only at the end; None: no gate
            logging at all (loss curves and hparams only).
        images_every_n_epochs: also draw the heatmaps and saturation plots after every N-th
            epoch that is traced; 0: only at the end (drawing is most of the logging time).
        probe_size: validation examples whose input, target and prediction the text summary
            shows; the heatmaps show the first `heatmap_examples` of them.
        stats_size: the first `stats_size` validation examples feed the histograms, saturation
            fractions, timescales and context_switch means (one trace with the probe).
        heatmap_examples: sequences per heatmap image.
    """

    def __init__(
        self,
        every_n_epochs: int | None = 5,
        images_every_n_epochs: int = 0,
        probe_size: int = 8,
        stats_size: int = 256,
        heatmap_examples: int = 3,
    ) -> None:
        _check("every_n_epochs", every_n_epochs, 0, allow_none=True)
        _check("images_every_n_epochs", images_every_n_epochs, 0)
        _check("probe_size", probe_size, 1)
        _check("stats_size", stats_size, 1)
        _check("heatmap_examples", heatmap_examples, 1)
        self.gates, self.gate_logger = None, None
        if every_n_epochs is not None:
            self.gates = GateSettings(
                every_n_epochs,
                images_every_n_epochs,
                probe_size,
                stats_size,
                min(heatmap_examples, probe_size),
            )

    def callbacks(self, model: keras.Model, task: Task, log_dir: Path) -> list:
        """Keras's TensorBoard callback for the loss curves, and `GateLogger` unless disabled."""
        callbacks = [
            keras.callbacks.TensorBoard(
                str(log_dir),
                histogram_freq=0,
                write_graph=False,
                write_steps_per_second=True,
                update_freq="epoch",
            )
        ]
        self.gate_logger = None if self.gates is None else GateLogger(task, log_dir, self.gates)
        return callbacks if self.gate_logger is None else [*callbacks, self.gate_logger]

    def log_run_end(
        self,
        model: keras.Model,
        task: Task,
        log_dir: Path,
        hparams: dict[str, Any],
        metrics: dict[str, Any],
    ) -> None:
        """The last gate summaries (`GateLogger.finish`), then `final/<metric>` scalars (step:
        epochs trained) and the run's hparams, in `log_dir`."""
        if self.gate_logger is not None:
            self.gate_logger.finish()
            self.gate_logger = None
        step = int(metrics.get("epochs", 0))
        writer = tf.summary.create_file_writer(str(log_dir))
        with writer.as_default(step=step):
            for name, value in metrics.items():
                if _is_number(value) and math.isfinite(value):
                    tf.summary.scalar(f"{FINAL}/{name}", float(value))
            hp.hparams(
                {name: _hparam_value(value) for name, value in hparams.items()},
                trial_id=trial_id(log_dir),
            )
        writer.close()

    def log_sweep_start(
        self, sweep_dir: Path, hparams: dict[str, list], metrics: list[str]
    ) -> None:
        """The sweep's hparams configuration at `sweep_dir`: columns of the HParams dashboard."""
        names = sorted(set(metrics) | set(EXTRA_METRICS), key=_column_order)
        columns = [hp.Metric(f"{FINAL}/{name}", display_name=name) for name in names]
        columns += [
            hp.Metric("epoch_loss", group=run, display_name=f"{title} (last epoch)")
            for run, title in LAST_EPOCH_LOSSES.items()
        ]
        config = hp.hparams_config_pb(
            hparams=[_hparam(name, values) for name, values in hparams.items()], metrics=columns
        )
        _mark_swept(config, {name for name, values in hparams.items() if len(values) > 1})
        _integers_in_order(config)
        writer = tf.summary.create_file_writer(str(sweep_dir))
        with writer.as_default():
            tf.summary.experimental.write_raw_pb(config.SerializeToString(), step=0)
        writer.close()

    def log_sweep_end(self, sweep_dir: Path, figures: dict[str, Path]) -> None:
        """Each PNG in `figures` (tag → path) as an image at step 0 of the sweep root's log."""
        writer = tf.summary.create_file_writer(str(sweep_dir))
        with writer.as_default(step=0):
            for tag, path in figures.items():
                image = tf.io.decode_png(tf.io.read_file(str(path)), channels=3)
                tf.summary.image(tag, image[None], max_outputs=1)
        writer.close()


def trial_id(log_dir: Path) -> str:
    """The HParams table's name of the run logging into `<parent>/<run>/tb`: `<run> @ <parent>`.

    The run's own name first (the table cuts long names at the right), like the run selector's
    `data.seq_len=50,model=lstm`; the sweep's directory after it keeps ids unique across the
    sweeps under `outputs/` (TensorBoard would merge sessions sharing an id into one row).
    """
    run_dir = Path(log_dir).resolve().parent
    return f"{run_dir.name} @ {run_dir.parent.name}"


def _mark_swept(config, swept: set[str]) -> None:
    """Set `differs` on the swept hyperparameters of an `hp.hparams_config_pb` summary.

    TensorBoard lists hyperparameters that differ first and shows the first few as columns by
    default; without the flag it would list them all alphabetically (`batch_size` first).
    """
    value = config.value[0]
    data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
    for info in data.experiment.hparam_infos:
        info.differs = info.name in swept
    value.metadata.plugin_data.content = data.SerializeToString()


def _column_order(metric: str) -> tuple[int, str]:
    """Test metrics, baselines, size, the rest: TensorBoard shows the first five at first."""
    prefixes = ("test_", "baseline_", "params")
    rank = next((i for i, prefix in enumerate(prefixes) if metric.startswith(prefix)), 3)
    return rank, metric


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def _hparam_value(value: Any) -> bool | float | str:
    """A value TensorBoard's hparams accept: numpy scalars unwrapped, whole numbers as their
    digits (`"10"`), anything else but a bool or a float as a string.

    TensorBoard keeps every number as a float and its HParams view prints five significant
    digits, so `seq_len=10` would read `10.000` (it has no integer type: tensorboard#1998).
    """
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, (bool, float, str)) else str(value)


def _hparam(name: str, values: list) -> hp.HParam:
    """An `hp.HParam` whose discrete domain is the values the sweep takes.

    Whole numbers are strings (`_hparam_value`), put in numeric order by `log_sweep_start`;
    numbers with a float among them are all floats (a domain has one type, and a run's value
    must be one of its domain's); a mix of kinds (e.g. numbers and strings) gets no domain.
    """
    raw = [v.item() if hasattr(v, "item") else v for v in values]
    if all(_is_number(v) for v in raw) and not all(isinstance(v, int) for v in raw):
        return hp.HParam(name, hp.Discrete([float(v) for v in raw]))
    values = [_hparam_value(v) for v in raw]
    if len({type(v) for v in values}) != 1:
        return hp.HParam(name)
    return hp.HParam(name, hp.Discrete(values))


def _integers_in_order(config) -> None:
    """Put the whole-number string domains of an `hp.hparams_config_pb` summary in numeric
    order (`hp.Discrete` sorts strings: "10" before "5"), as the HParams view lists them."""
    value = config.value[0]
    data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
    for info in data.experiment.hparam_infos:
        strings = [v.string_value for v in info.domain_discrete.values]
        if strings and all(re.fullmatch(r"-?[0-9]+", s) for s in strings):
            info.domain_discrete.Clear()
            for s in sorted(strings, key=int):
                info.domain_discrete.values.add(string_value=s)
    value.metadata.plugin_data.content = data.SerializeToString()


class GateLogger(GateTensorBoard):
    """The suite's `GateTensorBoard`: traces every recurrent layer on validation examples.

    Writes everything `GateTensorBoard` does (`gates/`, `saturation/`, `timescale/`,
    `heatmaps/` of each layer) into `log_dir`'s own run: the statistics over the first
    `stats_size` validation examples, the heatmaps of the first `heatmap_examples` probe examples
    (`experiments.tensorboard.probe.select`: switch and keep sentences alternate), labelled with the
    task's
    tokens (or `Task.step_labels`: a table's time column), positions of interest and target vs
    prediction (in the target's own units: `Task.in_target_units`). The end-of-run summaries are
    written by `finish` (with the weights `fit` returned: with early stopping, those of the best
    epoch), after the test evaluation. It adds:

    - the task's gate means (`Task.gate_means`), e.g. context_switch's scalars
      `context_switch/<layer>/retention_at_but`, `_at_and`, `_at_new_subject`, `_elsewhere` for
      every gated cell, and the same for the cell's raw memory gate under its own name
      (`forget_at_but` for the LSTM, `update_...` for the GRU);
    - text `probe/examples`: input, target and prediction of the probe examples;
    - the gate explorer tab's own data (`experiments.explorer.summary`): the run's description
      and the first probe examples' gates and outputs.
    """

    def __init__(self, task: Task, log_dir: Path, settings: GateSettings) -> None:
        val = task.splits()["val"]
        self._task, self.spec, self._in_target_units = task, task.spec, task.in_target_units
        shown = probe.probe_indices(val, settings.probe_size)
        examples = take(val, shown)  # targets and predictions shown in the target's own units
        self.examples = Split(examples.x, task.in_target_units(examples.y), examples.positions)
        self.stats = take(val, np.arange(min(settings.stats_size, len(val))))
        self._step_labels = tokens = task.step_labels("val", shown)  # a table's time column
        if self.spec.input_kind == "tokens":
            tokens = [probe.token_strings(self.spec, row) for row in self.examples.x]
        super().__init__(
            log_dir,
            self.stats.x,
            tokens=tokens,
            every_n_epochs=settings.every_n_epochs,
            images_every_n_epochs=settings.images_every_n_epochs,
            heatmap_examples=settings.heatmap_examples,
            examples=self.examples.x,  # traced together with the statistics' examples
        )
        self._y_pred = None
        self.seconds = {"fit": 0.0, "end": 0.0}  # logging time during `fit` and after it
        self._in_fit = False

    def on_train_begin(self, logs=None) -> None:
        super().on_train_begin(logs)
        self._in_fit = True

    def on_train_end(self, logs=None) -> None:
        self._in_fit = False  # `TensorBoardLogger.log_run_end` calls `finish`

    def log(self, step: int, images: bool) -> None:
        tic = time.perf_counter()
        y_pred = np.asarray(self.model.predict_on_batch(self.examples.x))
        self._y_pred = self._in_target_units(y_pred)
        super().log(step, images)
        self.seconds["fit" if self._in_fit else "end"] += time.perf_counter() - tic

    def _log_layer(self, layer: str, values: dict[str, np.ndarray], mask: np.ndarray) -> None:
        """The task's gate means (`Task.gate_means`: context_switch's `at_but`, ...) of
        `retention` for every gated cell, and of the cell's raw memory gate by its name."""
        if gates.RETENTION not in values or not self._task.gate_steps:
            return
        memory = self._tracer.cells[layer].retention_gate
        for name in dict.fromkeys(g for g in (gates.RETENTION, memory) if g in values):
            means = self._task.gate_means(values[name], mask, self.stats)
            for where, mean in means.items():
                tf.summary.scalar(f"{self.spec.name}/{layer}/{name}_{where}", mean)

    def _log_extra(self, traced) -> None:
        tf.summary.text(
            "probe/examples", probe.examples_table(self.spec, self.examples, self._y_pred)
        )
        n, y_pred = len(self.stats), self._y_pred
        explorer_summary.write_probe(
            self._tracer,
            self.spec,
            self.examples,
            traced,
            n,
            y_pred,
            self._step_labels,
            self._task.tutorial(),  # the sentence the explorer opens with, and its facts
        )

    def _caption(self, i: int) -> str:
        return probe.caption(self.spec, self.examples, self._y_pred, i)

    def _marks(self, i: int) -> dict[str, list[int]]:
        return probe.marked_steps(self.examples.positions, i)
