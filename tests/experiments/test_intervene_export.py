"""The SavedModel's `intervene` endpoint: the loaded graph clamps a gate exactly as
`GateTracer.intervene` does in Python, untouched it serves `serve`'s outputs, and it refuses bad
input with a message that says what is allowed."""

from __future__ import annotations

from functools import partial

import keras
import numpy as np
import pytest
import tensorflow as tf

import layers
from data.base import TaskSpec
from experiments.export.intervene import input_name
from experiments.export.saved_model import export_saved_model
from experiments.pipeline.model import build_model

UNITS, VOCABULARY, BATCH, TIME = 4, 11, 3, 7
ATOL = 1e-5


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Two stacked LSTM layers over token ids, fitted for one step, exported; and its tracer."""
    keras.utils.set_random_seed(0)
    spec = TaskSpec(
        name="toy", seq_len=TIME, input_kind="tokens", input_dim=VOCABULARY, output="last",
        n_outputs=3, primary_metric="accuracy", higher_is_better=True,
    )  # fmt: skip
    model = build_model(spec, partial(layers.LSTM, units=UNITS), num_layers=2, embedding_dim=5)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.integers(1, VOCABULARY, (8, TIME)).astype("int32")
    model.fit(x, rng.integers(0, 3, 8), epochs=1, batch_size=8, verbose=0)
    directory = export_saved_model(model, tmp_path_factory.mktemp("intervene") / "saved_model")
    tokens = rng.integers(1, VOCABULARY, (BATCH, TIME)).astype("int32")
    tokens[1, 5:] = 0  # padded, as a shorter sentence is
    return model, layers.GateTracer(model), tf.saved_model.load(str(directory)), tokens


def _untouched(tracer) -> dict:
    """Every trace key with an all-False `where`: the signature needs every pair."""
    nothing = {"where": tf.zeros((1, 1, 1), tf.bool), "value": tf.zeros((1, 1, 1))}
    return {f"{p}/{k}": nothing for p in tracer.names for k in tracer.cells[p].gate_names}


def _forget_at_step(step: int) -> np.ndarray:
    """`(batch, time, 1)` True at `step` of every sentence."""
    where = np.zeros((BATCH, TIME, 1), bool)
    where[:, step] = True
    return where


def test_the_signature_clamps_a_gate_as_the_tracer_does_in_python(exported):
    model, tracer, loaded, tokens = exported
    where = _forget_at_step(2)
    patches = _untouched(tracer)
    patches["lstm_0/forget"] = {"where": tf.constant(where), "value": tf.ones((1, 1, 1))}
    served = loaded.intervene(tf.constant(tokens), patches)
    outputs, traces = tracer.intervene(tokens, {"lstm_0/forget": (where, 1.0)})
    np.testing.assert_allclose(served["outputs"], outputs, atol=ATOL)
    for path, trace in traces.items():
        for key, value in trace.items():
            np.testing.assert_allclose(served[f"{path}/{key}"], value, atol=ATOL, err_msg=key)
    assert np.all(served["lstm_0/forget"].numpy()[:, 2] == 1.0)
    clean = loaded.gates(tf.constant(tokens))
    assert not np.allclose(served["lstm_1/cell"], clean["lstm_1/cell"], atol=1e-4)  # it spread
    assert not np.allclose(served["outputs"], model(tokens), atol=1e-4)
    # the serving form: flat input names, one per key and part
    flat = {input_name(key, part): v for key, pair in patches.items() for part, v in pair.items()}
    by_name = loaded.signatures["intervene"](tokens=tf.constant(tokens), **flat)
    np.testing.assert_allclose(by_name["outputs"], served["outputs"], atol=ATOL)
    assert input_name("rnn_0/forget", "where") == "rnn_0_forget_where"


def test_an_all_false_mask_gives_serves_outputs(exported):
    _, tracer, loaded, tokens = exported
    patches = _untouched(tracer)
    patches["lstm_1/cell"] = {  # full-shape arrays, only False: nothing changes
        "where": tf.zeros((BATCH, TIME, UNITS), tf.bool),
        "value": tf.fill((BATCH, TIME, UNITS), 9.0),
    }
    served = loaded.intervene(tf.constant(tokens), patches)
    serve = loaded.serve(tf.constant(tokens))["outputs"]
    np.testing.assert_allclose(served["outputs"], serve, atol=1e-6)
    gates = loaded.gates(tf.constant(tokens))
    for key, value in gates.items():
        np.testing.assert_allclose(served[key], value, atol=1e-6, err_msg=key)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tokens": [[3, 11, 5, 1, 1, 1, 1]]}, r"token ids must be integers in \[0, 10\]"),
        ({"where": np.ones((1, 1, UNITS + 1), bool)}, r"lstm_0_forget_where.*\(batch, time, 4\)"),
        ({"value": np.ones((2, 1, 1), "float32")}, r"lstm_0_forget_value.*broadcastable"),
        ({"value": np.full((1, 1, 1), np.nan, "float32")}, r"lstm_0_forget_value` must be finite"),
    ],
    ids=["id-outside-vocabulary", "where-units", "value-batch", "value-nan"],
)
def test_a_bad_input_is_refused_with_what_is_allowed(exported, change, message):
    _, tracer, loaded, tokens = exported
    tokens = np.asarray(change.get("tokens", tokens[:1]), "int32")
    patches = _untouched(tracer)
    patches["lstm_0/forget"] = {
        "where": tf.constant(change.get("where", np.ones((1, 1, 1), bool))),
        "value": tf.constant(change.get("value", np.ones((1, 1, 1), "float32"))),
    }
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.intervene(tf.constant(tokens), patches)
