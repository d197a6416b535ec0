"""Interventions on traced values (`Recurrent.intervene`, `trace(interventions=...)`,
`GateTracer.intervene`) against independent numpy recomputations, and the cells' gate
declarations (`RecurrentCell.gate_info`)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from layers import GRU, LSTM, SLSTM, GateTracer, MinGRU, MinLSTM, SimpleRNN, linear_scan
from layers.cell import GateInfo
from tests import numpy_zoo
from tests.numpy_rnn import run_clamped, sigmoid

UNITS, STEPS, BATCH, FEATURES = 4, 6, 2, 3
ATOL = 1e-5
ZOO = {  # name: (layer class, options)
    "lstm": (LSTM, {}),
    "cifg": (LSTM, {"coupled_gates": True}),
    "peephole": (LSTM, {"peephole": True}),
    "nfg": (LSTM, {"forget_gate": False}),
    "nig": (LSTM, {"input_gate": False}),
    "nog": (LSTM, {"output_gate": False}),
    "niaf": (LSTM, {"input_activation": False}),
    "noaf": (LSTM, {"output_activation": False}),
    "fgr": (LSTM, {"full_gate_recurrence": True}),
    "gru": (GRU, {}),
    "gru_reset_before": (GRU, {"reset_after": False}),
    "nrg": (GRU, {"reset_gate": False}),
    "mgu": (GRU, {"tied_gates": True}),
    "gru1": (GRU, {"gate_inputs": "state_bias"}),
    "gru2": (GRU, {"gate_inputs": "state"}),
    "gru3": (GRU, {"gate_inputs": "bias"}),
    "simple_rnn": (SimpleRNN, {}),
    "slstm": (SLSTM, {}),
    "min_gru": (MinGRU, {}),
    "min_lstm": (MinLSTM, {}),
}


def _randomised(layer, seed: int):
    """`layer` built on FEATURES with weights drawn so that every gate moves (peepholes too)."""
    layer.build((None, None, FEATURES))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.6, w.shape).astype("float32") for w in layer.weights])
    return layer


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")


@pytest.fixture(scope="module")
def mask() -> np.ndarray:
    mask = np.ones((BATCH, STEPS), bool)
    mask[1, 4:] = False
    return mask


@pytest.fixture(scope="module")
def lstm():
    return _randomised(LSTM(UNITS, return_sequences=True), 1)


def _at_step(t: int) -> np.ndarray:
    """`(batch, time, 1)` True at step t of example 0 only."""
    where = np.zeros((BATCH, STEPS, 1), bool)
    where[0, t] = True
    return where


def test_an_lstm_with_its_forget_gate_set_to_one_is_the_lstm_without_one(lstm, x):
    outputs, traces = lstm.intervene(x, {"forget": (True, 1.0)})
    kernel, recurrent_kernel, bias = lstm.get_weights()
    keep = np.r_[0:UNITS, 2 * UNITS : 4 * UNITS]  # blocks i, c, o: the NFG layout
    w = {"kernel": kernel[:, keep], "recurrent_kernel": recurrent_kernel[:, keep]}
    w["bias"] = bias[keep]
    step = lambda x_t, s: numpy_zoo.lstm_step(x_t, s, w, forget_gate=False)  # noqa: E731
    expected, _, gates = numpy_zoo.run(step, x, [np.zeros((BATCH, UNITS))] * 2)
    np.testing.assert_allclose(outputs, expected, atol=ATOL)
    np.testing.assert_allclose(traces["cell"], gates["cell"], atol=ATOL)
    np.testing.assert_array_equal(traces["forget"], 1.0)


def test_a_gru_with_its_reset_gate_set_to_one_is_the_gru_without_one(x):
    gru = _randomised(GRU(UNITS, return_sequences=True), 2)
    outputs, traces = gru.intervene(x, {"reset": (True, 1.0)})
    kernel, recurrent_kernel, bias = gru.get_weights()
    h, expected = np.zeros((BATCH, UNITS)), []
    for t in range(STEPS):  # hh = tanh(x W_h + b_h + h U_h + b'_h): nothing reset
        xw, hu = x[:, t] @ kernel + bias[0], h @ recurrent_kernel + bias[1]
        z = sigmoid(xw[:, :UNITS] + hu[:, :UNITS])
        hh = np.tanh(xw[:, 2 * UNITS :] + hu[:, 2 * UNITS :])
        h = z * h + (1 - z) * hh
        expected.append(h)
    np.testing.assert_allclose(outputs, np.stack(expected, 1), atol=ATOL)
    np.testing.assert_array_equal(traces["reset"], 1.0)


@pytest.mark.parametrize("name", ZOO)
def test_patching_an_inputs_own_traces_back_in_changes_nothing(name, x, mask):
    cls, options = ZOO[name]
    layer = _randomised(cls(UNITS, return_sequences=True, **options), 3)
    clean = layer.trace(x, mask=mask)
    outputs, traces = layer.intervene(
        x, {key: (True, value) for key, value in clean.items()}, mask=mask
    )
    np.testing.assert_allclose(outputs, layer(x, mask=mask), atol=ATOL)
    assert set(traces) == set(clean) == set(layer.cell.gate_names)
    for key in clean:
        np.testing.assert_allclose(traces[key], clean[key], atol=ATOL, err_msg=key)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_clamping_one_step_moves_the_later_states_as_numpy_says(lstm, x, mask, go_backwards):
    layer = _randomised(LSTM(UNITS, return_sequences=True, go_backwards=go_backwards), 1)
    initial = [np.full((BATCH, UNITS), 0.3, "float32"), np.full((BATCH, UNITS), -0.2, "float32")]
    clamps = {"input": (_at_step(2), 0.0), "cell": (_at_step(3), 2.0)}
    outputs, traces = layer.intervene(x, clamps, mask=mask, initial_state=initial)
    expected, _, gates = run_clamped(
        "lstm", x, layer.get_weights(), UNITS, clamps, mask, go_backwards, initial
    )
    np.testing.assert_allclose(outputs, expected, atol=ATOL)
    for key in gates:
        np.testing.assert_allclose(traces[key], gates[key], atol=ATOL, err_msg=key)
    clean = layer.trace(x, mask=mask, initial_state=initial)
    later = slice(3, None) if not go_backwards else slice(0, 3)  # steps run after the clamp
    assert not np.allclose(clean["cell"][0, later], traces["cell"][0, later], atol=1e-3)
    np.testing.assert_array_equal(clean["cell"][1], traces["cell"][1])  # example 1 untouched


def test_a_gru_clamped_with_another_inputs_update_gate_follows_numpy(x, mask):
    gru = _randomised(GRU(UNITS, return_sequences=True, go_backwards=True), 4)
    other = gru.trace(x[::-1].copy())["update"]  # another input's traced values
    where = np.arange(STEPS)[:, None] < 3  # (time, 1): the first three steps of the input
    outputs, _ = gru.intervene(x, {"update": (where, other)}, mask=mask)
    clamps = {"update": (where, other.numpy())}
    expected, _, _ = run_clamped("gru", x, gru.get_weights(), UNITS, clamps, mask, True)
    np.testing.assert_allclose(outputs, expected, atol=ATOL)


def test_scan_cells_equal_their_step_under_intervention(x):
    layer = _randomised(MinGRU(UNITS, return_sequences=True), 5)
    where, value = _at_step(1) | _at_step(4), 0.9
    outputs, traces = layer.intervene(x, {"update": (where, value)})
    kernel, bias = layer.get_weights()
    z_pre, hh = np.split(x @ kernel + bias, 2, axis=-1)
    z = np.where(where, value, sigmoid(z_pre))  # (batch, time, units)
    to_time_major = lambda v: tf.constant(np.swapaxes(v, 0, 1), tf.float32)  # noqa: E731
    h = linear_scan(to_time_major(1 - z), to_time_major(z * hh), tf.zeros((BATCH, UNITS)))
    np.testing.assert_allclose(outputs, np.swapaxes(h, 0, 1), atol=ATOL)
    np.testing.assert_allclose(traces["update"], z, atol=ATOL)
    minlstm = _randomised(MinLSTM(UNITS, return_sequences=True), 6)
    clean = minlstm.trace(x)
    same, _ = minlstm.intervene(x, {"forget": (True, clean["forget"])})  # f / (f + i) as written
    np.testing.assert_allclose(same, minlstm(x), atol=ATOL)  # the parallel scan


def test_an_slstm_with_its_retention_set_keeps_that_share_of_the_old_state(x):
    layer = _randomised(SLSTM(UNITS, return_sequences=True), 7)
    _, traces = layer.intervene(x, {"retention": (_at_step(3), 0.25)})
    c, n, g = traces["cell"], traces["normalizer"], traces["candidate"]
    np.testing.assert_allclose(
        c[0, 3] / n[0, 3], 0.25 * c[0, 2] / n[0, 2] + 0.75 * g[0, 3], atol=ATOL
    )


def test_no_intervention_gives_the_trace_of_today_exactly(lstm, x, mask):
    clean = lstm.trace(x, mask=mask)
    outputs, traces = lstm.intervene(x, None, mask=mask)
    untouched = {key: (False, 5.0) for key in lstm.cell.gate_names}
    for result in (traces, lstm.trace(x, mask=mask, interventions=untouched)):
        for key in clean:
            np.testing.assert_array_equal(result[key], clean[key])
    np.testing.assert_array_equal(outputs, lstm(x, mask=mask))  # the same loop as `call`
    weights = lstm.get_weights()
    _, _, gates = run_clamped("lstm", x, weights, UNITS, {}, mask)
    for key in gates:
        np.testing.assert_allclose(clean[key], gates[key], atol=ATOL, err_msg=key)


def test_interventions_run_inside_a_tf_function_with_tensor_masks(lstm, x):
    where = _at_step(2)

    signature = [
        tf.TensorSpec((None, None, FEATURES)),
        tf.TensorSpec((None, None, 1), tf.bool),
        tf.TensorSpec((), tf.float32),
    ]

    @tf.function(input_signature=signature, autograph=False)  # as Keras's export wraps them
    def intervene(inputs, where, value):
        return lstm.intervene(inputs, {"forget": (where, value)})

    outputs, traces = intervene(x, where, tf.constant(0.0))
    eager, _ = lstm.intervene(x, {"forget": (where, 0.0)})
    np.testing.assert_allclose(outputs, eager, atol=ATOL)
    assert traces["forget"][0, 2].numpy().max() == 0.0


@pytest.mark.parametrize(
    ("interventions", "words"),
    [
        ({"reset": (True, 1.0)}, ["'reset'", "'forget'"]),
        ({"forget": (np.ones((3, STEPS, 1), bool), 1.0)}, ["'forget'", "(3, 6, 1)", "(2, 6, 4)"]),
        ({"forget": (True, np.ones((STEPS, 5)))}, ["'forget'", "(6, 5)"]),
        ({"forget": (np.ones((BATCH, STEPS, UNITS)), 1.0)}, ["'forget'", "bool", "float64"]),
        ({"forget": 1.0}, ["'forget'", "(where, value)"]),
    ],
)
def test_a_bad_intervention_is_a_value_error_that_says_what_is_allowed(
    lstm, x, interventions, words
):
    with pytest.raises(ValueError) as error:
        lstm.intervene(x, interventions)
    for word in words:
        assert word in str(error.value)


@pytest.fixture(scope="module")
def stacked():
    """Embedding (masking zeros) → LSTM (sequences) → GRU → Dense, and token inputs."""
    model = keras.Sequential(
        [
            keras.Input((STEPS,), dtype="int32"),
            keras.layers.Embedding(9, FEATURES, mask_zero=True, name="embedding"),
            LSTM(UNITS, return_sequences=True, name="lstm"),
            GRU(3, go_backwards=True, name="gru"),
            keras.layers.Dense(2, name="dense"),
        ]
    )
    tokens = np.random.default_rng(8).integers(1, 9, (BATCH, STEPS))
    tokens[1, 4:] = 0
    return model, tokens


def test_an_intervention_in_a_stacked_model_reaches_the_later_layers(stacked):
    model, tokens = stacked
    tracer = GateTracer(model)
    where = np.zeros((BATCH, STEPS, 1), bool)
    where[:, 1] = True
    outputs, traces, masks = tracer.intervene(
        tokens, {"lstm/hidden": (where, 0.5)}, return_masks=True
    )
    embedded = model.get_layer("embedding")(tokens)
    mask = tokens != 0
    lstm_out, lstm_traces = model.get_layer("lstm").intervene(
        embedded, {"hidden": (where, 0.5)}, mask=mask
    )
    gru_out, gru_traces = model.get_layer("gru").intervene(lstm_out, None, mask=mask)
    np.testing.assert_allclose(outputs, model.get_layer("dense")(gru_out), atol=ATOL)
    np.testing.assert_allclose(traces["gru"]["update"], gru_traces["update"], atol=ATOL)
    np.testing.assert_array_equal(traces["lstm"]["hidden"][:, 1], 0.5)
    np.testing.assert_array_equal(masks["gru"], mask)
    clean_out, clean = tracer.intervene(tokens, {})
    np.testing.assert_allclose(clean_out, model(tokens), atol=ATOL)
    assert not np.allclose(clean["gru"]["update"], traces["gru"]["update"], atol=1e-3)


def test_an_intervention_on_a_keras_lstm_model_follows_numpy(x):
    inputs = keras.Input((STEPS, FEATURES))
    model = keras.Model(inputs, keras.layers.LSTM(UNITS, name="keras_lstm")(inputs))
    model.set_weights([_randomised(LSTM(UNITS), 9).get_weights()][0])
    clamps = {"forget": (_at_step(2), 0.0)}
    outputs, traces = GateTracer(model).intervene(x, {"keras_lstm/forget": clamps["forget"]})
    expected, _, gates = run_clamped("lstm", x, model.get_weights(), UNITS, clamps)
    np.testing.assert_allclose(outputs, expected[:, -1], atol=ATOL)
    np.testing.assert_allclose(traces["keras_lstm"]["cell"], gates["cell"], atol=ATOL)


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("dense/forget", ["'dense'", "'lstm'", "'gru'"]),
        ("gru/forget", ["'gru'", "'forget'", "'update'", "'reset'"]),
        ("forget", ["'forget'", "'lstm'"]),
    ],
)
def test_an_unknown_layer_path_or_gate_is_a_value_error_listing_the_allowed(stacked, key, words):
    model, tokens = stacked
    with pytest.raises(ValueError) as error:
        GateTracer(model).intervene(tokens, {key: (True, 1.0)})
    for word in words:
        assert word in str(error.value)


def test_every_cell_declares_the_meaning_and_range_of_what_it_traces():
    for name, (cls, options) in ZOO.items():
        cell = cls(UNITS, **options).cell
        for key in cell.gate_names:
            info = cell.gate_info(key)
            assert isinstance(info, GateInfo) and info.meaning, (name, key)
    lstm = LSTM(UNITS).cell
    assert lstm.gate_info("forget") == GateInfo("1 keeps the cell, 0 forgets it", (0.0, 1.0))
    assert lstm.gate_info("candidate").bounds == (-1.0, 1.0)
    assert lstm.gate_info("cell").bounds is None
    assert LSTM(UNITS, input_activation=False).cell.gate_info("candidate").bounds is None
    assert MinGRU(UNITS).cell.gate_info("update").meaning.startswith("0 keeps")
    assert GRU(UNITS, tied_gates=True).cell.gate_info("forget").meaning.startswith("0 keeps")
    assert GRU(UNITS).cell.gate_info("update").meaning.startswith("1 keeps")
    assert SLSTM(UNITS).cell.gate_info("normalizer").bounds is None
    assert SLSTM(UNITS).cell.gate_info("retention").bounds == (0.0, 1.0)
    assert SimpleRNN(UNITS, activation="relu").cell.gate_info("hidden").bounds[0] == 0.0
    with pytest.raises(ValueError, match="'reset'.*got 'nope'"):
        GRU(UNITS).cell.gate_info("nope")
