"""TensorBoard logging: gate statistics against loop recomputations, pictures, and the event files
of tiny runs read back (EventAccumulator); slow: a real sweep served by a real TensorBoard."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator
from tensorboard.plugins.hparams import metadata as hparams_metadata

import layers
from data.adding import AddingTask
from data.context_switch import ContextSwitchTask
from experiments.cli.config import ConfigError
from experiments.pipeline.model import build_model
from experiments.pipeline.model import layer_name as layer_name_of
from experiments.tensorboard import gate_stats as gates
from experiments.tensorboard import images as gate_plots
from experiments.tensorboard import probe
from experiments.tensorboard.callback import histogram
from experiments.tensorboard.writer import TensorBoardLogger, trial_id
from tests.conftest import TINY, run_cli

LSTM_GATES = ("input", "forget", "candidate", "output", "cell", "hidden")
GRU_GATES = ("update", "reset", "candidate", "hidden")
SIDES = ("left", "right")
STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


# ---------------------------------------------------------------- statistics (numpy) ----------


def padded_gates(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`(values (4, 6, 3), mask (4, 6))`: random gates, right padding filled with 0.95 (which
    would count as right-saturated if padding leaked into a statistic)."""
    rng = np.random.default_rng(seed)
    values = rng.random((4, 6, 3))
    mask = np.arange(6)[None, :] < np.array([6, 4, 2, 5])[:, None]
    values[~mask] = 0.95
    return values, mask


def test_saturation_counts_real_steps_only():
    values, mask = padded_gates()
    left, right = gates.saturation(values, mask)
    for unit in range(3):
        real = [values[i, t, unit] for i in range(4) for t in range(6) if mask[i, t]]
        assert left[unit] == pytest.approx(np.mean([v < 0.1 for v in real]))
        assert right[unit] == pytest.approx(np.mean([v > 0.9 for v in real]))
    assert np.all(left + right <= 1.0)


def test_timescale_of_a_constant_forget_gate():
    mask = np.ones((2, 5), bool)
    tau = gates.timescales(np.stack([np.full((2, 5), 0.5), np.ones((2, 5))], axis=-1), mask)
    assert tau[0] == pytest.approx(1 / np.log(2))  # 0.5 ** t = exp(-t / tau)
    assert tau[1] == gates.TIMESCALE_CAP  # never forgets


def test_the_context_switch_task_s_gate_means_match_a_loop():
    from data.base import Split
    from data.context_switch import ContextSwitchTask

    values, mask = padded_gates(1)
    positions = {
        "switch": np.array([2, 1, 1, 3]),
        "subject": np.array([3, 0, 0, 4]),
        "is_switch": np.array([1, 0, 1, 0]),
    }
    split = Split(np.zeros((4, 6), "int32"), np.zeros(4, "int32"), positions)
    means = ContextSwitchTask().gate_means(values, mask, split)
    assert tuple(means) == ContextSwitchTask.gate_steps
    switch, subject, flag = positions["switch"], positions["subject"], positions["is_switch"]
    at_but = [values[i, switch[i]].mean() for i in range(4) if flag[i]]
    at_and = [values[i, switch[i]].mean() for i in range(4) if not flag[i]]
    new_subject = [values[i, subject[i]].mean() for i in range(4) if flag[i]]
    other = [
        values[i, t, u]
        for i in range(4)
        for t in range(6)
        for u in range(3)
        if mask[i, t] and t != switch[i]
    ]
    assert means["at_but"] == pytest.approx(np.mean(at_but))
    assert means["at_and"] == pytest.approx(np.mean(at_and))
    assert means["at_new_subject"] == pytest.approx(np.mean(new_subject))
    assert means["elsewhere"] == pytest.approx(np.mean(other))


def test_probe_alternates_switch_and_keep_sentences():
    split = ContextSwitchTask(seq_len=4, n_train=8, n_val=20, n_test=4).splits()["val"]
    chosen = probe.select(split, 6)
    assert list(chosen.positions["is_switch"]) == [1, 0, 1, 0, 1, 0]
    first_switch = int(np.flatnonzero(split.positions["is_switch"] == 1)[0])
    np.testing.assert_array_equal(chosen.x[0], split.x[first_switch])
    adding = AddingTask(seq_len=10, n_train=4, n_val=5, n_test=4).splits()["val"]
    np.testing.assert_array_equal(probe.select(adding, 3).x, adding.x[:3])


def test_each_cell_declares_its_memory_gate():
    """The one place that says which gate keeps the memory: the cell (the writer, the
    explorer and the report read it from there)."""
    assert layers.LSTMCell(2).retention_gate == "forget"
    assert layers.GRUCell(2).retention_gate == "update"
    assert layers.SimpleRNNCell(2).retention_gate is None


def test_histogram_buckets_count_every_value(tmp_path):
    values = np.random.default_rng(0).normal(size=1000)
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default(step=3):
        histogram("h", values)
        histogram("constant", np.full(7, 0.25))
    writer.close()
    events = read_events(tmp_path)
    buckets = events["h"][-1][1]
    assert buckets.shape == (30, 3) and buckets[:, 2].sum() == 1000
    assert buckets[0, 0] == values.min() and buckets[-1, 1] == values.max()
    np.testing.assert_array_equal(buckets[1:, 0], buckets[:-1, 1])
    constant = events["constant"][-1][1]
    assert constant[:, 2].sum() == 7 and constant[0, 0] <= 0.25 <= constant[-1, 1]


# ---------------------------------------------------------------- pictures ---------------------


def test_colorize_maps_the_range_onto_the_colormap_ends():
    lut = gate_plots._lut("viridis")
    colours = gate_plots.colorize(np.array([-1.0, 0.0, 1.0, 2.0]), 0.0, 1.0, "viridis")
    np.testing.assert_array_equal(colours, lut[[0, 0, 255, 255]])


def test_heatmap_shows_the_values_and_the_marks():
    high = gate_plots.TracedSequence(np.ones((4, 5)), "ones", ["a", "b", "c", "d", "e"], {"k": [2]})
    low = gate_plots.TracedSequence(np.zeros((4, 7)), "zeros", None, {})
    image = gate_plots.heatmap("title", "forget", [high, low], layers.LSTMCell(4))
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    pixels = {tuple(p) for p in image.reshape(-1, 3)}
    lut = gate_plots._lut("viridis")
    assert tuple(lut[255]) in pixels and tuple(lut[0]) in pixels  # the ones and the zeros
    assert gate_plots.MARK_COLOURS[0] in pixels  # the mark of key "k"


def test_saturation_plot_has_a_panel_per_gate():
    fractions = {g: (np.array([0.0, 0.2]), np.array([0.9, 0.1])) for g in ("input", "forget")}
    two = gate_plots.saturation_plot("t", fractions)
    one = gate_plots.saturation_plot("t", {"input": fractions["input"]})
    assert two.shape[0] == one.shape[0] and two.shape[1] == 2 * one.shape[1]


def test_examples_table_reads_like_the_task():
    task = ContextSwitchTask(seq_len=4, n_train=8, n_val=6, n_test=4)
    chosen = probe.select(task.splits()["val"], 2)
    logits = np.eye(8)[chosen.y]  # a perfect prediction
    table = probe.examples_table(task.spec, chosen, logits).splitlines()
    assert table[0] == "| # | input | target | prediction |" and len(table) == 4
    food = task.spec.labels[chosen.y[0]]
    assert " but " in table[2] and table[2].endswith(f"| {food} | {food} |")
    assert "\\_\\_\\_" in table[2]  # the blank, escaped for Markdown


# ---------------------------------------------------------------- event files ------------------


def read_events(path: Path) -> dict[str, list[tuple[int, np.ndarray]]]:
    """Tag → `[(step, value)]` of the summaries in one run directory (TF2: all tensors)."""
    accumulator = EventAccumulator(str(path), size_guidance={TENSORS: 0})
    accumulator.Reload()
    return {
        tag: [(e.step, tf.make_ndarray(e.tensor_proto)) for e in accumulator.Tensors(tag)]
        for tag in accumulator.Tags()["tensors"]
    }


def plugin_content(path: Path, tag: str) -> bytes:
    accumulator = EventAccumulator(str(path), size_guidance={TENSORS: 0})
    accumulator.Reload()
    return accumulator.SummaryMetadata(tag).plugin_data.content


def decode(image_event: np.ndarray) -> np.ndarray:
    """An image summary `[width, height, png]` → `(height, width, 3)`; checks the stated size."""
    width, height, png = image_event
    pixels = tf.io.decode_png(png).numpy()
    assert pixels.shape[:2] == (int(height), int(width))
    return pixels


@pytest.fixture(scope="module")
def context_switch() -> ContextSwitchTask:
    return ContextSwitchTask(seq_len=4, n_train=64, n_val=40, n_test=16)


def train_tiny(
    task, layer, tmp_path: Path, num_layers=1, epochs=2, before=(), **logger_args
) -> tuple[keras.Model, Path]:
    """Fit a 4-unit model for `epochs` with the logger's callbacks after the callbacks `before`
    (as `fit` in experiments/pipeline/run.py puts early stopping first), then end the run as
    `experiments.loop.run` does; return `(model, log_dir)`."""
    keras.utils.set_random_seed(0)
    model = build_model(task.spec, functools.partial(layer, units=4), num_layers, 4)
    log_dir = tmp_path / "run" / "tb"
    logger = TensorBoardLogger(**logger_args)
    callbacks = [*before, *logger.callbacks(model, task, log_dir)]
    model.compile(optimizer="adam", loss=task.loss())
    train, val = task.splits()["train"], task.splits()["val"]
    model.fit(
        train.x,
        train.y,
        validation_data=(val.x, val.y),
        epochs=epochs,
        batch_size=32,
        callbacks=callbacks,
        verbose=0,
    )
    logger.log_run_end(model, task, log_dir, {"model": layer.__name__}, {"epochs": epochs})
    return model, log_dir


@pytest.mark.parametrize(
    "layer, num_layers, cell_gates, images_every, image_steps",
    [(layers.LSTM, 1, LSTM_GATES, 1, [0, 1]), (keras.layers.GRU, 2, GRU_GATES, 0, [1])],
    ids=["lstm", "keras_gru_2_layers"],
)
def test_gate_summaries_of_a_run(
    context_switch, tmp_path, layer, num_layers, cell_gates, images_every, image_steps
):
    model, log_dir = train_tiny(
        context_switch,
        layer,
        tmp_path,
        num_layers,
        every_n_epochs=1,
        images_every_n_epochs=images_every,
        probe_size=4,
    )
    events = read_events(log_dir)
    val = context_switch.splits()["val"]
    real_values = val.mask.sum() * 4  # every val example is a stats example; 4 units
    memory = "forget" if "forget" in cell_gates else "update"
    sigmoid = [g for g in cell_gates if g in ("input", "forget", "output", "update", "reset")]
    pictures = [memory, gates.RETENTION, *(g for g in cell_gates if g != memory)]
    for layer_name in [layer_name_of(layer, i) for i in range(num_layers)]:
        heatmap_tags = [f"heatmaps/{layer_name}/{k}_{g}" for k, g in enumerate(pictures)]
        assert sorted(t for t in events if t.startswith(f"heatmaps/{layer_name}/")) == heatmap_tags
        expected = {f"gates/{layer_name}/{g}" for g in cell_gates}
        expected |= {f"saturation/{layer_name}", f"timescale/{layer_name}"}
        expected |= {f"saturation/{layer_name}/{g}_{side}" for g in sigmoid for side in SIDES}
        expected |= {f"context_switch/{layer_name}/{memory}_{w}" for w in ("at_but", "at_and")}
        assert expected <= set(events), expected - set(events)
        for gate in cell_gates:
            series = events[f"gates/{layer_name}/{gate}"]
            assert [step for step, _ in series] == [0, 1]  # every epoch; the end is epoch 1
            buckets = series[-1][1]
            assert buckets[:, 2].sum() == real_values  # padding excluded
            if gate in sigmoid:
                assert 0.0 <= buckets[0, 0] and buckets[-1, 1] <= 1.0
            elif gate != "cell":
                assert -1.0 <= buckets[0, 0] and buckets[-1, 1] <= 1.0
            heatmaps = events[heatmap_tags[pictures.index(gate)]]
            assert [step for step, _ in heatmaps] == image_steps
            assert decode(heatmaps[-1][1]).shape[1] > 50
        for gate in sigmoid:
            left = events[f"saturation/{layer_name}/{gate}_left"][-1][1]
            right = events[f"saturation/{layer_name}/{gate}_right"][-1][1]
            assert 0.0 <= left and 0.0 <= right and left + right <= 1.0
        assert decode(events[f"saturation/{layer_name}"][-1][1]).shape[0] > 100
        means = {
            w: float(events[f"context_switch/{layer_name}/{memory}_{w}"][-1][1])
            for w in ("at_but", "at_and", "at_new_subject", "elsewhere")
        }
        assert all(0.0 <= v <= 1.0 for v in means.values())
    table = events["probe/examples"][-1][1].item().decode()
    assert len(table.splitlines()) == 2 + 4

    # The context_switch scalars written at the end equal a loop over a fresh trace.
    first = layer_name_of(layer, 0)
    traced = layers.GateTracer(model)(val.x)[first][memory].numpy()
    switch, flags = val.positions["switch"], val.positions["is_switch"]
    at_but = np.mean([traced[i, switch[i]].mean() for i in range(len(val)) if flags[i]])
    written = events[f"context_switch/{first}/{memory}_at_but"][-1][1]
    assert written == pytest.approx(at_but, abs=1e-5)


class StopAfter(keras.callbacks.Callback):
    """Stops training after epoch `epoch` as EarlyStopping does (it runs before the logger)."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.stop_training = True


def test_early_stopping_gets_the_final_pictures(context_switch, tmp_path):
    _, log_dir = train_tiny(
        context_switch, layers.GRU, tmp_path, epochs=6, before=[StopAfter(2)], every_n_epochs=1
    )
    events = read_events(log_dir)
    assert [step for step, _ in events["gates/gru_0/update"]] == [0, 1, 2]
    assert [step for step, _ in events["heatmaps/gru_0/0_update"]] == [2]  # the memory gate first


def test_loss_curves_learning_rate_and_speed(context_switch, tmp_path):
    _, log_dir = train_tiny(context_switch, layers.SimpleRNN, tmp_path, every_n_epochs=None)
    train, validation = read_events(log_dir / "train"), read_events(log_dir / "validation")
    for tag in ("epoch_loss", "epoch_learning_rate", "epoch_steps_per_second"):
        assert [step for step, _ in train[tag]] == [0, 1]
    assert train["epoch_learning_rate"][-1][1] == pytest.approx(0.001)
    assert train["epoch_steps_per_second"][-1][1] > 0
    assert [step for step, _ in validation["epoch_loss"]] == [0, 1]
    assert not any(tag.startswith("gates/") for tag in read_events(log_dir))  # gate logging off


def test_feature_task_and_plain_rnn(tmp_path):
    task = AddingTask(seq_len=12, n_train=32, n_val=10, n_test=4)
    _, log_dir = train_tiny(task, layers.SimpleRNN, tmp_path, epochs=1, every_n_epochs=5)
    events = read_events(log_dir)
    assert {"gates/simple_rnn_0/hidden", "heatmaps/simple_rnn_0/0_hidden"} <= set(events)
    assert "probe/examples" in events
    assert not any(t.startswith(("saturation/", "timescale/", "context_switch/")) for t in events)
    assert [step for step, _ in events["gates/simple_rnn_0/hidden"]] == [0]  # only the end
    assert events["gates/simple_rnn_0/hidden"][-1][1][:, 2].sum() == 10 * 12 * 4
    assert "markers at t=" in events["probe/examples"][-1][1].item().decode()


def test_run_end_and_sweep_summaries_for_the_hparams_dashboard(tmp_path):
    logger = TensorBoardLogger()
    sweep_dir, log_dir = tmp_path / "sweep", tmp_path / "sweep" / "model=lstm" / "tb"
    swept = {"model": ["lstm", "gru"], "seq_len": [5, 8], "learning_rate": [0.003], "seed": [0]}
    logger.log_sweep_start(sweep_dir, swept, ["test_loss", "test_accuracy"])
    hparams = {"model": "lstm", "seq_len": np.int64(5), "learning_rate": 0.003, "seed": 0}
    logger.log_run_end(None, None, log_dir, hparams, {"epochs": 3, "test_loss": 0.5, "ok": "x"})
    Image.new("RGB", (40, 30), "red").save(tmp_path / "plot.png")
    logger.log_sweep_end(sweep_dir, {"results/metric_vs_seq_len": tmp_path / "plot.png"})

    experiment = hparams_metadata.parse_experiment_plugin_data(
        plugin_content(sweep_dir, hparams_metadata.EXPERIMENT_TAG)
    )
    infos = {info.name: info for info in experiment.hparam_infos}
    assert set(infos) == set(swept)
    assert [v.string_value for v in infos["model"].domain_discrete.values] == ["gru", "lstm"]
    assert {name for name, info in infos.items() if info.differs} == {"model", "seq_len"}
    metrics = {(m.name.group, m.name.tag) for m in experiment.metric_infos}
    assert {("", "final/test_loss"), ("", "final/params"), ("validation", "epoch_loss")} <= metrics
    image = read_events(sweep_dir)["results/metric_vs_seq_len"]
    assert decode(image[0][1]).shape == (30, 40, 3)

    start = hparams_metadata.parse_session_start_info_plugin_data(
        plugin_content(log_dir, hparams_metadata.SESSION_START_INFO_TAG)
    )
    assert start.hparams["model"].string_value == "lstm"
    assert start.hparams["seq_len"].string_value == "5"  # not 5.000: see the next test
    assert start.group_name == trial_id(log_dir) == "model=lstm @ sweep"
    events = read_events(log_dir)
    assert events["final/test_loss"] == [(3, pytest.approx(0.5))] and "final/ok" not in events


def test_whole_numbers_show_as_whole_numbers_in_hparams(tmp_path):
    """TensorBoard keeps every number as a float and prints five significant digits (seq_len 10
    read 10.000): whole numbers go as their digits, their domain in numeric order; a run's value
    is one of its sweep's domain, so the view's checkboxes filter it."""
    logger = TensorBoardLogger()
    sweep_dir, log_dir = tmp_path / "sweep", tmp_path / "sweep" / "run" / "tb"
    swept = {"seq_len": [80, 10, 5], "dropout": [0, 0.25], "deterministic": [True, False]}
    logger.log_sweep_start(sweep_dir, swept, ["test_loss"])
    hparams = {"seq_len": np.int64(10), "dropout": 0.25, "deterministic": True, "units": 64}
    logger.log_run_end(None, None, log_dir, hparams, {"epochs": 1})
    experiment = hparams_metadata.parse_experiment_plugin_data(
        plugin_content(sweep_dir, hparams_metadata.EXPERIMENT_TAG)
    )
    domains = {
        info.name: [getattr(v, v.WhichOneof("kind")) for v in info.domain_discrete.values]
        for info in experiment.hparam_infos
    }
    assert domains == {
        "seq_len": ["5", "10", "80"],
        "dropout": [0.0, 0.25],  # a float among them: all floats, as a run's 0.0 is
        "deterministic": [False, True],
    }
    start = hparams_metadata.parse_session_start_info_plugin_data(
        plugin_content(log_dir, hparams_metadata.SESSION_START_INFO_TAG)
    )
    shown = {k: getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}
    assert shown == {"seq_len": "10", "dropout": 0.25, "deterministic": True, "units": "64"}
    assert shown["seq_len"] in domains["seq_len"]


@pytest.mark.parametrize(
    "key, value",
    [
        ("every_n_epochs", -1),
        ("probe_size", 0),
        ("stats_size", 2.5),
        ("heatmap_examples", True),
    ],
)
def test_bad_logger_settings_are_refused(key, value):
    with pytest.raises(ConfigError, match=f"logger.{key}="):
        TensorBoardLogger(**{key: value})


# ---------------------------------------------------------------- a real TensorBoard -----------


def get_json(url: str, body: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def start_tensorboard(logdir: Path) -> tuple[subprocess.Popen, str]:
    """A TensorBoard on a free loopback port; returns the process and its base URL."""
    log = logdir.parent / "tensorboard.log"
    with open(log, "w") as stderr:  # TensorBoard prints its address there
        process = subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir)]
            + ["--host", "127.0.0.1", "--port", "0", "--reload_interval", "1"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.time() + 90
    while time.time() < deadline:
        found = re.search(r"at (http://127\.0\.0\.1:\d+/)", log.read_text())
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"TensorBoard did not start:\n{log.read_text()[-2000:]}")


@pytest.mark.slow
def test_tensorboard_serves_a_tiny_sweep(tmp_path):
    sweep_dir = tmp_path / "sweep"
    tiny = [arg for arg in TINY if not arg.startswith("logger=")]
    args = ["-m", "experiments.train", "-m", *tiny, "logger=tensorboard"]
    args += ["logger.every_n_epochs=1", "model=lstm,gru", f"hydra.sweep.dir={sweep_dir}"]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    runs_on_disk = sorted(p.parent.name for p in sweep_dir.glob("*/tb"))
    assert len(runs_on_disk) == 2 and all("model=" in run for run in runs_on_disk)

    process, url = start_tensorboard(sweep_dir)
    try:
        expected_runs = {".", *(f"{r}/tb{s}" for r in runs_on_disk for s in ("", "/train"))}
        deadline = time.time() + 60
        while not expected_runs <= set(get_json(url + "data/runs")) and time.time() < deadline:
            time.sleep(1)
        assert expected_runs <= set(get_json(url + "data/runs"))
        scalars = get_json(url + "data/plugin/scalars/tags")
        histograms = get_json(url + "data/plugin/histograms/tags")
        images = get_json(url + "data/plugin/images/tags")
        for run in runs_on_disk:
            layer = "lstm_0" if "model=lstm" in run else "gru_0"  # named by their cell
            assert {"epoch_loss", "epoch_learning_rate"} <= set(scalars[f"{run}/tb/train"])
            assert "final/test_accuracy" in scalars[f"{run}/tb"]
            assert f"gates/{layer}/hidden" in histograms[f"{run}/tb"]
            assert sorted(images[f"{run}/tb"])[0].startswith(f"heatmaps/{layer}/0_")
        lstm = next(run for run in runs_on_disk if "model=lstm" in run)
        assert "context_switch/lstm_0/forget_at_but" in scalars[f"{lstm}/tb"]
        assert "heatmaps/lstm_0/0_forget" in images[f"{lstm}/tb"]  # the memory gate first
        assert "results/metric_vs_seq_len" in images["."]

        experiment = get_json(url + "data/plugin/hparams/experiment", {"experimentName": ""})
        hparams = {info["name"]: info for info in experiment["hparamInfos"]}
        assert {"model", "data", "seq_len", "units", "num_layers", "dropout"} <= set(hparams)
        assert sorted(hparams["model"]["domainDiscrete"]) == ["gru", "lstm"]
        groups = get_json(
            url + "data/plugin/hparams/session_groups",
            {"experimentName": "", "startIndex": 0, "sliceSize": 10, "allowedStatuses": STATUSES},
        )["sessionGroups"]
        assert sorted(g["hparams"]["model"] for g in groups) == ["gru", "lstm"]
        for group in groups:
            values = {
                (m["name"]["group"], m["name"]["tag"]): m["value"] for m in group["metricValues"]
            }
            assert 0.0 <= values[("", "final/test_accuracy")] <= 1.0
            assert values[("validation", "epoch_loss")] > 0
            assert group["name"].startswith("data.") and group["name"].endswith(" @ sweep")
    finally:
        process.terminate()
        process.wait(timeout=30)
