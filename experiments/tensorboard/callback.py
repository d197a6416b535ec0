"""`GateTensorBoard`: a Keras callback that shows in TensorBoard what the gates of any model do.

Add it to your own `model.fit(...)` beside `keras.callbacks.TensorBoard`; it traces every
recurrent layer of the model (gatelab's, and Keras's built-in `SimpleRNN` / `LSTM` / `GRU`, also
inside `Bidirectional`, `TimeDistributed` or a nested model, through `layers.GateTracer`) on a
probe batch and writes the same gate summaries as the suite's runs (`experiments.tensorboard.writer`
builds on this class):

    model.fit(x, y, epochs=10, callbacks=[GateTensorBoard("logs/gates", probe=x_val[:64])])
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from tensorboard.plugins.histogram import metadata as histogram_metadata
from tensorboard.plugins.image import metadata as image_metadata

from experiments.tensorboard import gate_stats as gates
from experiments.tensorboard import images as gate_plots
from layers import GateTracer
from layers.tracing import check_traceable


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


def log_statistics(
    layer: str, values: Mapping[str, np.ndarray], mask: np.ndarray, cell: Any = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Histograms `gates/<layer>/<gate>`, scalars `saturation/<layer>/<gate>_left` / `_right`
    and, with a `retention` pseudo-gate, `timescale/<layer>` (histogram) and its median.

    Args:
        values: `{gate: (n, time, units)}`; mask: `(n, time)` bool, True at real steps.
        cell: the layer's cell, which says which gates lie in [0, 1] (`RecurrentCell.gate_info`).
    Returns: the saturation fractions `{sigmoid gate: (left, right)}`, `(units,)` each.
    """
    for gate, v in values.items():
        histogram(f"gates/{layer}/{gate}", gates.real_steps(v, mask))
    fractions = {
        g: gates.saturation(v, mask) for g, v in values.items() if gates.in_unit_interval(g, cell)
    }
    for gate, (left, right) in fractions.items():
        tf.summary.scalar(f"saturation/{layer}/{gate}_left", float(left.mean()))
        tf.summary.scalar(f"saturation/{layer}/{gate}_right", float(right.mean()))
    if gates.RETENTION in values:
        tau = gates.timescales(values[gates.RETENTION], mask)
        histogram(f"timescale/{layer}", tau)
        tf.summary.scalar(f"timescale/{layer}/median", float(np.median(tau)))
    return fractions


def _positive_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected an integer >= "
            f"{minimum}, got {value!r}."
        )
    return value


def _rows(inputs) -> int:
    """The number of examples in `inputs` (an array, or a list / dict of arrays)."""
    return len(keras.tree.flatten(inputs)[0])


def _checked_rows(name: str, inputs) -> int:
    """The number of examples in `inputs`, refused unless it is an array or a list / dict of
    arrays with one first axis `n` >= 1 and no empty axis."""
    leaves = [] if inputs is None else keras.tree.flatten(inputs)
    if not leaves or any(len(getattr(leaf, "shape", ())) == 0 for leaf in leaves):
        kinds = ", ".join(sorted({type(leaf).__name__ for leaf in leaves})) or "nothing"
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected an array `(n, time)` "
            f"or `(n, time, features)` (or a list or dict of arrays), got {type(inputs).__name__}"
            f" holding {kinds}; pass numpy arrays (`np.asarray`)."
        )
    shapes = [tuple(leaf.shape) for leaf in leaves]
    if any(0 in shape for shape in shapes) or len({shape[0] for shape in shapes}) > 1:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected at least one example "
            f"and one step (every axis non-empty, one number of examples), got shapes {shapes}."
        )
    return shapes[0][0]


class GateTensorBoard(keras.callbacks.Callback):
    """Traces every recurrent layer on a probe batch and writes what the gates do, for TensorBoard.

    After every `every_n_epochs`-th epoch (if > 0) and at the end of training, at step = the
    epoch's index (like Keras's `epoch_*` scalars), into `log_dir`, per layer (named by its path
    in the model, `layers.GateTracer`: `lstm`, `bidirectional/forward_lstm`, `encoder/gru`):

    - histograms `gates/<layer>/<gate>` over the real (unmasked) steps of the probe;
    - scalars `saturation/<layer>/<gate>_left`, `_right`: mean over units of the fraction of
      steps < 0.1, > 0.9 (Karpathy et al. 2015);
    - for gated cells, the pseudo-gate `retention` among the gates (the fraction of the old
      state each step keeps, `layers.RecurrentCell.retention`), the histogram
      `timescale/<layer>` of tau = -1/ln(mean retention) per unit (steps) and the scalar
      `timescale/<layer>/median`; with `positions`, scalars `retention/<layer>/at_<name>`;
    - images `heatmaps/<layer>/<k>_<gate>` (`heatmap_tag`: the memory gate first; units × time
      of the first `heatmap_examples` sequences, labelled with their tokens) and
      `saturation/<layer>` (a point per unit): at the end, and every `images_every_n_epochs`
      epochs if that is > 0.

    Masks are the ones each layer is called with (an `Embedding(mask_zero=True)`, `Masking`):
    padded steps enter no statistic. Put it after `EarlyStopping(restore_best_weights=True)` in
    `callbacks` so that the end-of-training summaries show the restored weights.

    Args:
        log_dir: folder of the event files.
        probe: model inputs, `(n, time)` token ids or `(n, time, features)` (a list or dict
            of arrays for a model with several inputs), a few dozen to a few hundred examples.
        vocabulary: token strings by id (e.g. `TextVectorization.get_vocabulary()`) to label
            the heatmaps' time axis from `(n, time)` id inputs.
        tokens: a label per step for each heatmap sequence, instead of `vocabulary`.
        positions: `{name: (n,) step index per probe example}`: marked on the heatmaps, and
            the mean retention there is written as `retention/<layer>/at_<name>`.
        every_n_epochs: trace after every N-th epoch; 0: only at the end of training.
        images_every_n_epochs: also draw pictures every N-th traced epoch; 0: only at the end.
        heatmap_examples: sequences per heatmap.
        examples: inputs of the sequences the heatmaps show, traced with the probe (default:
            the first `heatmap_examples` probe examples); `tokens` then label these.
    """

    def __init__(
        self,
        log_dir: str | Path,
        probe,
        vocabulary: Sequence[str] | None = None,
        tokens: Sequence[Sequence[str]] | None = None,
        positions: Mapping[str, np.ndarray] | None = None,
        every_n_epochs: int = 1,
        images_every_n_epochs: int = 0,
        heatmap_examples: int = 3,
        examples=None,
    ) -> None:
        super().__init__()
        self.log_dir = Path(log_dir)
        self.every_n_epochs = _positive_int("every_n_epochs", every_n_epochs, 0)
        self.images_every_n_epochs = _positive_int(
            "images_every_n_epochs", images_every_n_epochs, 0
        )
        _positive_int("heatmap_examples", heatmap_examples, 1)
        self._stats = _checked_rows("probe", probe)
        if examples is None:
            self._inputs, self._shown = probe, range(min(heatmap_examples, self._stats))
        else:
            shown = min(heatmap_examples, _checked_rows("examples", examples))
            self._inputs = keras.tree.map_structure(
                lambda a, b: np.concatenate([np.asarray(a), np.asarray(b)]), probe, examples
            )
            self._shown = range(self._stats, self._stats + shown)
        self._labels = self._check_labels(vocabulary, tokens)
        self.positions = {} if positions is None else self._check_positions(positions)
        self._tracer: GateTracer | None = None
        self._writer = None
        self._last_epoch: int | None = None
        self._logged: dict[int, bool] = {}  # step → whether its pictures were drawn

    def _check_labels(self, vocabulary, tokens) -> list[list[str]] | None:
        """A list of step labels per shown sequence, or None (steps are numbered)."""
        if tokens is not None:
            if len(tokens) < len(self._shown):
                raise ValueError(
                    f"Received {len(tokens)} rows of `tokens`, expected one per heatmap "
                    f"sequence ({len(self._shown)})."
                )
            return [[str(t) for t in row] for row in tokens]
        if vocabulary is None:
            return None
        if isinstance(vocabulary, Mapping) or not isinstance(vocabulary, Sequence | np.ndarray):
            raise ValueError(
                "`vocabulary` must list the token strings by id (e.g. "
                f"`TextVectorization.get_vocabulary()`), got {type(vocabulary).__name__}."
            )
        arrays = [np.asarray(a) for a in keras.tree.flatten(self._inputs)]
        ids = arrays[0][list(self._shown)]
        if len(arrays) > 1 or ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(
                "`vocabulary` labels one `(n, time)` input of integer token ids, got probe inputs "
                f"of shapes {[a.shape for a in arrays]} and dtypes {[str(a.dtype) for a in arrays]}"
                "; pass `tokens` instead."
            )
        if ids.size and (ids.min() < 0 or ids.max() >= len(vocabulary)):
            raise ValueError(
                f"Probe token ids span {ids.min()}..{ids.max()}, outside the `vocabulary` of "
                f"{len(vocabulary)} entries."
            )
        return [[str(vocabulary[i]) for i in row] for row in ids]

    def _check_positions(self, positions: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """`positions` as arrays, each one integer step per probe example (inside the probe's
        time axis, axis 1, when the probe is one array)."""
        checked = {}
        arrays = keras.tree.flatten(self._inputs)
        time = np.shape(arrays[0])[1] if len(arrays) == 1 and np.ndim(arrays[0]) > 1 else None
        for name, steps in positions.items():
            steps = np.asarray(steps)
            if steps.shape != (self._stats,) or not np.issubdtype(steps.dtype, np.integer):
                raise ValueError(
                    f"`positions[{name!r}]` must hold one integer step per probe example, "
                    f"shape ({self._stats},), got shape {steps.shape} and dtype {steps.dtype}."
                )
            if time is not None and (steps.min() < 0 or steps.max() >= time):
                raise ValueError(
                    f"`positions[{name!r}]` holds steps {steps.min()}..{steps.max()}, outside "
                    f"the probe's {time} steps (0..{time - 1})."
                )
            checked[name] = steps
        return checked

    def _check_fits(self) -> None:
        """The probe's arrays against the model's inputs: their number, their rank, from rank 3
        their last axis (features), and their values: numbers for a numeric input, whole
        numbers for an integer one (token ids). Other sizes are not compared: a Sequential
        without `Input` is built with its first batch's, time included.

        Checked once the model knows its inputs: before training, or for a Sequential without
        `Input` (built by its first batch) before the first trace. Dict probes are left to Keras.
        """
        specs = list(self.model.inputs or []) if self.model.built else []
        if not specs or isinstance(self._inputs, Mapping):
            return
        arrays = [np.asarray(array) for array in keras.tree.flatten(self._inputs)]
        wanted = [(tuple(spec.shape), str(spec.dtype)) for spec in specs]
        got = [(array.shape, str(array.dtype)) for array in arrays]
        fits = len(got) == len(wanted) and all(
            _fits(array, shape, dtype) for array, (shape, dtype) in zip(arrays, wanted)
        )
        if not fits:
            raise ValueError(
                f"The probe does not fit the model: probe (shape, dtype) {got}, the model's "
                f"inputs {wanted}. `probe` (and `examples`) must be model inputs with the same "
                "number of axes and features, e.g. `(n, time)` integer token ids for an "
                "`Embedding`, `(n, time, features)` numbers."
            )

    def on_train_begin(self, logs=None) -> None:
        check_traceable(self.model)  # a model it cannot trace fails now, not after an epoch
        self._check_fits()
        self._tracer = None  # made at the first trace: a Sequential without `Input` is built
        self._writer = tf.summary.create_file_writer(str(self.log_dir))

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self._last_epoch = epoch
        every, images_every = self.every_n_epochs, self.images_every_n_epochs
        if epoch + 1 >= self.params.get("epochs", math.inf) or self.model.stop_training:
            return  # the last epoch (early stopping decides before us): `finish` logs it
        if every and (epoch + 1) % every == 0:
            self.log(epoch, images=bool(images_every) and (epoch + 1) % images_every == 0)

    def on_train_end(self, logs=None) -> None:
        self.finish()

    def finish(self) -> None:
        """Write the last epoch's summaries, pictures included, unless written already."""
        if self._last_epoch is not None and not self._logged.get(self._last_epoch):
            self.log(self._last_epoch, images=True)
        self._writer.close()

    def log(self, step: int, images: bool) -> None:
        """Trace the probe once and write the gate summaries at `step`: statistics always,
        heatmaps and saturation plots if `images`."""
        if self._tracer is None:
            self._check_fits()
            self._tracer = GateTracer(self.model)
        traced, masks = self._tracer(self._inputs, return_masks=True)
        retention = self._tracer.retention(traced)
        with self._writer.as_default(step=step):
            for layer, layer_gates in traced.items():
                values = {gate: np.asarray(v) for gate, v in layer_gates.items()}
                if retention[layer] is not None:
                    values[gates.RETENTION] = np.asarray(retention[layer])
                mask = self._mask(masks[layer], values)
                per_example = len(mask) // _rows(self._inputs)  # > 1 inside TimeDistributed
                stats = slice(0, self._stats * per_example)
                stats_values = {g: v[stats] for g, v in values.items()}
                cell = self._tracer.cells[layer]
                fractions = log_statistics(layer, stats_values, mask[stats], cell)
                self._log_layer(layer, stats_values, mask[stats])
                if images:
                    self._log_heatmaps(layer, values, mask, per_example)
                if images and fractions:
                    n = self._stats * per_example
                    title = f"{layer}: each unit's saturation over {n} probe sequences"
                    image(f"saturation/{layer}", gate_plots.saturation_plot(title, fractions))
            self._log_extra(traced)
        self._writer.flush()
        self._logged[step] = images

    @staticmethod
    def _mask(mask, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """The layer's `(rows, time)` bool mask; all True where it was called without one."""
        if mask is not None:
            return np.asarray(mask).astype(bool)
        return np.ones(next(iter(values.values())).shape[:2], dtype=bool)

    def _log_layer(self, layer: str, values: Mapping[str, np.ndarray], mask: np.ndarray) -> None:
        """`retention/<layer>/at_<name>` for each of `positions` (probe rows, gated cells)."""
        if gates.RETENTION not in values or len(mask) != self._stats:
            return
        rows = np.arange(self._stats)
        for name, steps in self.positions.items():
            at = values[gates.RETENTION][rows, steps]  # (n, units)
            tf.summary.scalar(f"retention/{layer}/at_{name}", float(at[mask[rows, steps]].mean()))

    def _log_extra(self, traced: Mapping[str, Mapping[str, tf.Tensor]]) -> None:
        """Summaries beyond the gates' (the suite adds its text table and explorer data)."""

    def _caption(self, i: int) -> str:
        """The line above heatmap sequence `i` (0-based among the shown ones)."""
        return f"probe example {self._shown[i]}"

    def _marks(self, i: int) -> dict[str, list[int]]:
        """Steps to mark on heatmap sequence `i`: `positions` of the probe example shown."""
        row = self._shown[i]
        if row >= self._stats:
            return {}
        return {name: [int(steps[row])] for name, steps in self.positions.items()}

    def _log_heatmaps(
        self, layer: str, values: Mapping[str, np.ndarray], mask: np.ndarray, per_example: int
    ) -> None:
        """`heatmap_tag`s: the shown sequences (rows of the layer's own batch)."""
        labelled = self._labels is not None and per_example == 1
        cell = self._tracer.cells[layer]
        for gate, v in values.items():
            sequences = []
            for i, row in enumerate(self._shown):
                row = row * per_example  # inside TimeDistributed: the example's first step
                length = gates.real_length(mask[row])
                tokens = self._labels[i][:length] if labelled else None
                if tokens is not None and len(tokens) < length:
                    tokens = None  # the layer's time axis is not the input's
                sequences.append(
                    gate_plots.TracedSequence(
                        v[row, :length].T, self._caption(i), tokens, self._marks(i)
                    )
                )
            title = f"{layer} · {gate} ({gates.gate_meaning(gate, cell)}) · units × time"
            tag = heatmap_tag(layer, gate, cell, list(values))
            image(tag, gate_plots.heatmap(title, gate, sequences, cell))


def heatmap_tag(layer: str, gate: str, cell: Any, gates_: Sequence[str]) -> str:
    """`heatmaps/<layer>/<k>_<gate>`, `k` the gate's place among the layer's pictures `gates_`:
    the cell's memory gate first (`retention_gate`: the LSTM's forget, the GRU's update), then
    `retention`, then the others in the order the cell traces them. TensorBoard's Images tab
    sorts tags by name, so the picture that shows remembering and forgetting opens the tab."""
    memory = getattr(cell, "retention_gate", None)
    order = sorted(gates_, key=lambda g: (g != memory, g != gates.RETENTION))
    width = len(str(len(order) - 1))
    return f"heatmaps/{layer}/{order.index(gate):0{width}d}_{gate}"


def _fits(array: np.ndarray, shape: tuple, dtype: str) -> bool:
    """Whether `array` can be a model input of `shape` and `dtype` (see `_check_fits`)."""
    if array.ndim != len(shape) or (len(shape) >= 3 and shape[-1] not in (None, array.shape[-1])):
        return False
    if dtype == "string":
        return True
    if array.dtype.kind not in "biuf":
        return False
    whole = array.dtype.kind != "f" or bool(np.all(np.mod(array, 1) == 0))
    return whole or not dtype.startswith(("int", "uint"))
