"""A new cell with new gate names needs code in `layers/` (and a `conf/model/` file) only: a toy
cell defined here, with a gate no other cell has (`leak`), is run by the real pipeline and shows
up in TensorBoard (its gate's histograms, saturation, heatmap and the task's scalars by its name),
in the run's `metrics.json` (the retention at the task's steps, which the report tabulates) and
in the gate explorer's description of the exported run."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from experiments import outputs
from experiments.train import train
from layers.base import Recurrent, make_cell, split_layer_kwargs
from layers.cell import GATE_MEANINGS, RecurrentCell
from layers.patches import NO_PATCH
from tests.experiments.test_tensorboard import read_events

LEAK_MEANING = "1 leaks nothing: keeps the old state"


@keras.saving.register_keras_serializable(package="toy")
class LeakyCell(RecurrentCell):
    """h = leak * h_tm1 + (1 - leak) * tanh(candidate): a leaky integrator with a learned leak."""

    gate_count = 2
    gate_names = ("leak", "candidate", "hidden")
    retention_gate = "leak"
    gate_meanings = {**GATE_MEANINGS, "leak": LEAK_MEANING}

    def step(self, x_proj, states, params, recurrent_mask=None, patch=NO_PATCH):
        h_tm1 = states[0]
        z = x_proj + tf.matmul(h_tm1, params["recurrent_kernel"])
        leak_in, candidate_in = tf.split(z, 2, axis=-1)
        leak = patch("leak", tf.sigmoid(leak_in))
        candidate = patch("candidate", self.activation(candidate_in))
        h = patch("hidden", leak * h_tm1 + (1.0 - leak) * candidate)
        return h, [h], {"leak": leak, "candidate": candidate, "hidden": h}

    def gate_bounds(self, name):
        return (0.0, 1.0) if name == "leak" else super().gate_bounds(name)


@keras.saving.register_keras_serializable(package="toy")
class Leaky(Recurrent):
    """The layer of `LeakyCell`."""

    def __init__(self, units: int, **kwargs):
        layer_kwargs, cell_kwargs = split_layer_kwargs(kwargs)
        cell = make_cell(type(self), LeakyCell, units, "leaky_cell", cell_kwargs)
        super().__init__(cell, **layer_kwargs)


@pytest.fixture(scope="module")
def leaky_run(tmp_path_factory):
    from hydra import compose, initialize_config_dir

    from experiments.cli.config import register_schemas
    from tests.conftest import CONF, TINY

    register_schemas()
    run_dir = tmp_path_factory.mktemp("leaky")
    overrides = [o for o in TINY if o != "logger=none"] + [
        "logger=tensorboard",
        "logger.every_n_epochs=1",
        "model=rnn",
        "model.name=leaky",
        f"model.layer._target_={__name__}.Leaky",
        f"output_dir={run_dir}",
    ]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    record = train(cfg)
    assert record["status"] == "ok", record
    return run_dir, record


def test_the_new_gate_is_in_tensorboard_with_its_cells_meaning(leaky_run):
    run_dir, _ = leaky_run
    events = read_events(run_dir / outputs.TENSORBOARD)
    layer = next(tag.split("/")[1] for tag in events if tag.startswith("gates/"))
    expected = {f"gates/{layer}/leak", f"saturation/{layer}/leak_left"}
    assert expected <= set(events), expected - set(events)
    heatmaps = [tag for tag in events if tag.startswith(f"heatmaps/{layer}/")]
    assert any(tag.endswith("leak") for tag in heatmaps), heatmaps
    assert f"context_switch/{layer}/leak_at_but" in events  # the memory gate by its own name
    buckets = events[f"gates/{layer}/leak"][-1][1]
    assert 0.0 <= buckets[0, 0] and buckets[-1, 1] <= 1.0


def test_the_new_cells_retention_reaches_metrics_json(leaky_run):
    run_dir, record = leaky_run
    saved = json.loads((run_dir / outputs.METRICS).read_text())
    for where in ("at_but", "at_and", "at_new_subject", "elsewhere"):
        assert np.isfinite(saved[f"retention_{where}"]), where
    assert saved["retention_at_but"] == record["retention_at_but"]


def test_the_explorer_describes_the_new_cell_from_what_export_wrote(leaky_run):
    from experiments.explorer import saved

    run_dir, _ = leaky_run
    description = saved.describe(run_dir, run_dir.parent)
    (layer,) = description["layers"].values()
    assert layer["gates"] == ["leak", "candidate", "hidden"]  # the cell's order
    assert layer["memory_gate"] == "leak" and layer["cell"] == "LeakyCell"
