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

import io
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from tensorboard.plugins.histogram import metadata as histogram_metadata
from tensorboard.plugins.hparams import api as hp
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.plugins.image import metadata as image_metadata

from data.base import Task
from data.common import take
from experiments import gate_plots, gates, probe
from experiments.explorer import summary as explorer_summary
from experiments.logger import RunLogger
from experiments.schema import ConfigError
from layers import GateTracer

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
        gate_every_n_epochs: trace the gates after every N-th epoch (histograms, scalars,
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
        gate_every_n_epochs: int | None = 5,
        images_every_n_epochs: int = 0,
        probe_size: int = 8,
        stats_size: int = 256,
        heatmap_examples: int = 3,
    ) -> None:
        _check("gate_every_n_epochs", gate_every_n_epochs, 0, allow_none=True)
        _check("images_every_n_epochs", images_every_n_epochs, 0)
        _check("probe_size", probe_size, 1)
        _check("stats_size", stats_size, 1)
        _check("heatmap_examples", heatmap_examples, 1)
        self.gates, self.gate_logger = None, None
        if gate_every_n_epochs is not None:
            self.gates = GateSettings(
                gate_every_n_epochs,
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


def histogram(tag: str, values: np.ndarray, buckets: int = 30) -> None:
    """`tf.summary.histogram` with the buckets counted by numpy: the same event, read the same
    way by TensorBoard, but milliseconds instead of a `(values, buckets)` one-hot in TensorFlow
    (half a second for six gates of 256 sequences)."""
    values = np.asarray(values).ravel()
    if values.size == 0:
        counts, edges = np.zeros(0), np.zeros(1)
    else:
        low, high = float(values.min()), float(values.max())
        if low == high:
            low, high = low - 0.5, high + 0.5
        counts, edges = np.histogram(values, bins=buckets, range=(low, high))
    tensor = np.stack([edges[:-1], edges[1:], counts.astype(np.float64)], axis=1)  # (buckets, 3)
    tf.summary.write(tag, tensor, metadata=histogram_metadata.create_summary_metadata(None, None))


def image(tag: str, pixels: np.ndarray) -> None:
    """`tf.summary.image` of one `(height, width, 3)` uint8 picture, PNG-encoded by Pillow at
    its fastest compression (the same event; half the encoding time of TensorFlow's default)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    height, width = pixels.shape[:2]
    tensor = np.array([str(width).encode(), str(height).encode(), buffer.getvalue()], object)
    tf.summary.write(tag, tensor, metadata=image_metadata.create_summary_metadata(None, None))


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


def _hparam_value(value: Any) -> bool | int | float | str:
    """A value TensorBoard's hparams accept: numpy scalars unwrapped, anything else a string."""
    if hasattr(value, "item"):
        value = value.item()
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def _hparam(name: str, values: list) -> hp.HParam:
    """An `hp.HParam` whose discrete domain is the values the sweep takes.

    Numbers with a float among them become floats (a domain has one type); a mix of kinds
    (e.g. numbers and strings) gets no domain.
    """
    values = [_hparam_value(v) for v in values]
    kinds = {bool if isinstance(v, bool) else float if _is_number(v) else str for v in values}
    if kinds == {float}:
        values = values if all(isinstance(v, int) for v in values) else [float(v) for v in values]
    elif len(kinds) != 1:
        return hp.HParam(name)
    return hp.HParam(name, hp.Discrete(values))


class GateLogger(keras.callbacks.Callback):
    """Traces every recurrent layer on validation examples and writes what the gates do.

    After every `every_n_epochs`-th epoch (if > 0) and at the end of the run (`finish`, with
    the weights `fit` returned: with early stopping, those of the best epoch), at step = the
    epoch's index like Keras's epoch scalars, into `log_dir`'s own run:

    - histograms `gates/<layer>/<gate>` (real steps of the stats examples, padding excluded);
    - scalars `saturation/<layer>/<gate>_left`, `_right` (mean over units of the fraction of
      steps < 0.1, > 0.9);
    - images `heatmaps/<layer>/<gate>` (units × time for the first probe examples) and
      `saturation/<layer>` (Karpathy et al. 2015): at the end, and every
      `images_every_n_epochs` epochs if that is > 0;
    - for gated cells, the pseudo-gate `retention` (the fraction of the old state each step
      keeps, `layers.RecurrentCell.retention`) among the gates above, `timescale/<layer>`
      (histogram of tau = -1/ln(mean retention) per unit, steps) and scalar
      `timescale/<layer>/median`;
    - context_switch: scalars `context_switch/<layer>/retention_at_but`, `_at_and`,
      `_at_new_subject`, `_elsewhere` for every gated cell, and the same for the cell's raw
      memory gate under its own name (`forget_at_but` for the LSTM, `update_...` for the GRU);
    - text `probe/examples`: input, target and prediction of the probe examples;
    - the gate explorer tab's own data (`experiments.explorer.summary`): the run's description
      and the first probe examples' gates and outputs.

    Keras's built-in layers are traced through gatelab's with their weights copied
    (`layers.GateTracer`).
    """

    def __init__(self, task: Task, log_dir: Path, settings: GateSettings) -> None:
        super().__init__()
        val = task.splits()["val"]
        self.spec = task.spec
        self.log_dir = Path(log_dir)
        self.settings = settings
        self.examples = probe.select(val, settings.probe_size)
        self.stats = take(val, np.arange(min(settings.stats_size, len(val))))
        self._inputs = np.concatenate([self.stats.x, self.examples.x])  # traced together: one call
        self._tracer: GateTracer | None = None
        self._writer = None
        self._last_epoch: int | None = None
        self._logged: dict[int, bool] = {}  # step → whether its pictures were drawn
        self.seconds = {"fit": 0.0, "end": 0.0}  # logging time during `fit` and after it
        self._in_fit = False

    def on_train_begin(self, logs=None) -> None:
        self._tracer = GateTracer(self.model)
        self._writer = tf.summary.create_file_writer(str(self.log_dir))
        self._in_fit = True

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self._last_epoch = epoch
        every, images_every = self.settings.every_n_epochs, self.settings.images_every_n_epochs
        if epoch + 1 >= self.params.get("epochs", math.inf) or self.model.stop_training:
            return  # the last epoch (early stopping decides before us): `finish` logs it
        if every and (epoch + 1) % every == 0:
            self.log(epoch, images=bool(images_every) and (epoch + 1) % images_every == 0)

    def on_train_end(self, logs=None) -> None:
        self._in_fit = False

    def finish(self) -> None:
        """Write the end-of-run summaries, pictures included, at the last epoch's step.

        `TensorBoardLogger.log_run_end` calls it after the test evaluation: the weights are the
        ones `fit` returned, and the predictions reuse the evaluation's predict function.
        """
        if self._last_epoch is not None and not self._logged.get(self._last_epoch):
            self.log(self._last_epoch, images=True)
        self._writer.close()

    def log(self, step: int, images: bool) -> None:
        """Trace the stats and probe examples once and write the gate summaries at `step`:
        statistics and the text summary always, heatmaps and saturation plots if `images`."""
        tic = time.perf_counter()
        traced = self._tracer(self._inputs)
        retention = self._tracer.retention(traced)
        n = len(self.stats)
        stats_mask = probe.full_mask(self.stats.x)
        y_pred = np.asarray(self.model.predict_on_batch(self.examples.x))
        with self._writer.as_default(step=step):
            for layer, layer_gates in traced.items():
                values = {gate: v.numpy() for gate, v in layer_gates.items()}
                if retention[layer] is not None:
                    values[gates.RETENTION] = np.asarray(retention[layer])
                fractions = self._log_statistics(
                    layer, {g: v[:n] for g, v in values.items()}, stats_mask
                )
                if images:
                    self._log_heatmaps(layer, {g: v[n:] for g, v in values.items()}, y_pred)
                if images and fractions:
                    title = f"{layer}: each unit's saturation over {n} validation sequences"
                    image(f"saturation/{layer}", gate_plots.saturation_plot(title, fractions))
            text = probe.examples_table(self.spec, self.examples, y_pred)
            tf.summary.text("probe/examples", text)
            explorer_summary.write_probe(self._tracer, self.spec, self.examples, traced, n, y_pred)
        self._writer.flush()
        self._logged[step] = images
        self.seconds["fit" if self._in_fit else "end"] += time.perf_counter() - tic

    def _log_statistics(
        self, layer: str, values: dict[str, np.ndarray], mask: np.ndarray
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Histograms and scalars of one layer; returns the saturation fractions per gate."""
        for gate, v in values.items():
            histogram(f"gates/{layer}/{gate}", gates.real_steps(v, mask))
        fractions = {g: gates.saturation(v, mask) for g, v in values.items()}
        fractions = {g: f for g, f in fractions.items() if g in gates.SIGMOID_GATES}
        for gate, (left, right) in fractions.items():
            tf.summary.scalar(f"saturation/{layer}/{gate}_left", float(left.mean()))
            tf.summary.scalar(f"saturation/{layer}/{gate}_right", float(right.mean()))
        if gates.RETENTION in values:
            tau = gates.timescales(values[gates.RETENTION], mask)
            histogram(f"timescale/{layer}", tau)
            tf.summary.scalar(f"timescale/{layer}/median", float(np.median(tau)))
            if set(gates.CONTEXT_SWITCH_POSITIONS) <= set(self.stats.positions):
                # `retention_...` for every gated cell; also the raw memory gate by its name.
                memory = self._tracer.cells[layer].retention_gate
                for name in dict.fromkeys(g for g in (gates.RETENTION, memory) if g in values):
                    means = gates.context_switch_means(values[name], mask, self.stats.positions)
                    for where, mean in means.items():
                        tf.summary.scalar(f"context_switch/{layer}/{name}_{where}", mean)
        return fractions

    def _log_heatmaps(self, layer: str, values: dict[str, np.ndarray], y_pred: np.ndarray) -> None:
        """`heatmaps/<layer>/<gate>`: the first `heatmap_examples` probe sequences."""
        mask = probe.full_mask(self.examples.x)
        shown = range(min(self.settings.heatmap_examples, len(self.examples)))
        for gate, v in values.items():
            sequences = []
            for i in shown:
                length = probe.real_length(mask[i])
                tokens = None
                if self.spec.input_kind == "tokens":
                    tokens = probe.token_strings(self.spec, self.examples.x[i, :length])
                sequences.append(
                    gate_plots.TracedSequence(
                        values=v[i, :length].T,
                        caption=probe.caption(self.spec, self.examples, y_pred, i),
                        tokens=tokens,
                        marks=probe.marked_steps(self.examples.positions, i),
                    )
                )
            cell = self._tracer.cells[layer]
            meaning = gates.gate_meaning(gate, cell.retention_gate, cell.retention_keeps_at)
            title = f"{layer} · {gate} ({meaning}) · units × time"
            image(f"heatmaps/{layer}/{gate}", gate_plots.heatmap(title, gate, sequences))
