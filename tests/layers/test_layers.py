"""Parity of gatelab's layers with Keras's built-ins, gate traces against numpy, and errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import layers
from tests import numpy_rnn

ATOL = 1e-5
UNITS = 4
FEATURES = 3

# (name, ours, Keras's, constructor kwargs, kind for numpy_rnn)
VARIANTS = [
    ("rnn", layers.SimpleRNN, keras.layers.SimpleRNN, {}, "rnn"),
    ("lstm", layers.LSTM, keras.layers.LSTM, {}, "lstm"),
    ("gru", layers.GRU, keras.layers.GRU, {}, "gru"),
    ("gru_reset_before", layers.GRU, keras.layers.GRU, {"reset_after": False}, "gru"),
    ("lstm_no_bias", layers.LSTM, keras.layers.LSTM, {"use_bias": False}, "lstm"),
    ("gru_no_bias", layers.GRU, keras.layers.GRU, {"use_bias": False}, "gru"),
]
IDS = [v[0] for v in VARIANTS]


def _random_weights(layer: keras.layers.Layer, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.7, size=w.shape).astype("float32") for w in layer.get_weights()]


def _gappy_mask(batch: int, steps: int) -> np.ndarray:
    """A mask with a gap in row 0, row 1 fully masked, right padding in the others."""
    mask = np.ones((batch, steps), bool)
    mask[0, 2:4] = False
    mask[1, :] = False
    mask[2:, steps - 2 :] = False
    return mask


def _pair(ours_cls, keras_cls, kwargs, direction: str, **layer_kwargs):
    """Both layers built on `FEATURES` inputs, sharing weights copied in `direction`."""
    ours = ours_cls(UNITS, **kwargs, **layer_kwargs)
    theirs = keras_cls(UNITS, **kwargs, **layer_kwargs)
    for layer in (ours, theirs):
        layer.build((None, None, FEATURES))
    if direction == "keras_to_ours":
        theirs.set_weights(_random_weights(theirs, 1))
        ours.set_weights(theirs.get_weights())
    else:
        ours.set_weights(_random_weights(ours, 2))
        theirs.set_weights(ours.get_weights())
    return ours, theirs


def _assert_same(a, b) -> None:
    a = a if isinstance(a, (list, tuple)) else [a]
    b = b if isinstance(b, (list, tuple)) else [b]
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=ATOL, rtol=0)


@pytest.mark.parametrize("name,ours_cls,keras_cls,kwargs,kind", VARIANTS, ids=IDS)
def test_weight_layout_matches_keras(name, ours_cls, keras_cls, kwargs, kind):
    ours = ours_cls(UNITS, **kwargs)
    theirs = keras_cls(UNITS, **kwargs)
    for layer in (ours, theirs):
        layer.build((None, None, FEATURES))
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]


@pytest.mark.parametrize("direction", ["keras_to_ours", "ours_to_keras"])
@pytest.mark.parametrize(
    "layer_kwargs",
    [
        {},
        {"return_sequences": True},
        {"return_sequences": True, "return_state": True},
        {"return_sequences": True, "go_backwards": True},
        {"return_state": True, "go_backwards": True},
        {"return_sequences": True, "zero_output_for_mask": True},
    ],
    ids=["last", "seq", "seq_state", "seq_backwards", "state_backwards", "zero_output"],
)
@pytest.mark.parametrize("name,ours_cls,keras_cls,kwargs,kind", VARIANTS, ids=IDS)
def test_parity_with_keras(name, ours_cls, keras_cls, kwargs, kind, layer_kwargs, direction):
    ours, theirs = _pair(ours_cls, keras_cls, kwargs, direction, **layer_kwargs)
    rng = np.random.default_rng(3)
    n_states = 2 if kind == "lstm" else 1
    for batch, steps in [(5, 7), (4, 11), (5, 1)]:  # batch and time change between calls
        x = rng.normal(size=(batch, steps, FEATURES)).astype("float32")
        mask = _gappy_mask(batch, steps)
        init = [rng.normal(size=(batch, UNITS)).astype("float32") for _ in range(n_states)]
        _assert_same(ours(x), theirs(x))
        _assert_same(ours(x, mask=mask), theirs(x, mask=mask))
        _assert_same(ours(x, initial_state=init), theirs(x, initial_state=init))
        _assert_same(
            ours(x, mask=mask, initial_state=init), theirs(x, mask=mask, initial_state=init)
        )


@pytest.mark.parametrize("name,ours_cls,keras_cls,kwargs,kind", VARIANTS[:4], ids=IDS[:4])
def test_stateful_parity(name, ours_cls, keras_cls, kwargs, kind):
    ours = ours_cls(UNITS, stateful=True, return_sequences=True, **kwargs)
    theirs = keras_cls(UNITS, stateful=True, return_sequences=True, **kwargs)
    for layer in (ours, theirs):
        layer.build((3, None, FEATURES))
    theirs.set_weights(_random_weights(theirs, 4))
    ours.set_weights(theirs.get_weights())
    rng = np.random.default_rng(5)
    for steps in (4, 6, 3):
        x = rng.normal(size=(3, steps, FEATURES)).astype("float32")
        _assert_same(ours(x), theirs(x))
    _assert_same([s.numpy() for s in ours.states], [s.numpy() for s in theirs.states])
    ours.reset_state()
    theirs.reset_state()
    x = rng.normal(size=(3, 5, FEATURES)).astype("float32")
    _assert_same(ours(x), theirs(x))


@pytest.mark.parametrize("name,ours_cls,keras_cls,kwargs,kind", VARIANTS[:4], ids=IDS[:4])
def test_cells_inside_keras_rnn(name, ours_cls, keras_cls, kwargs, kind):
    cell_cls = {"rnn": layers.SimpleRNNCell, "lstm": layers.LSTMCell, "gru": layers.GRUCell}[kind]
    ours = keras.layers.RNN(cell_cls(UNITS, **kwargs), return_sequences=True)
    theirs = keras_cls(UNITS, return_sequences=True, **kwargs)
    for layer in (ours, theirs):
        layer.build((None, None, FEATURES))
    theirs.set_weights(_random_weights(theirs, 6))
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(7).normal(size=(4, 6, FEATURES)).astype("float32")
    mask = _gappy_mask(4, 6)
    _assert_same(ours(x, mask=mask), theirs(x, mask=mask))


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
@pytest.mark.parametrize("name,ours_cls,keras_cls,kwargs,kind", VARIANTS, ids=IDS)
def test_trace_matches_numpy(name, ours_cls, keras_cls, kwargs, kind, go_backwards):
    layer = ours_cls(UNITS, go_backwards=go_backwards, return_sequences=True, **kwargs)
    layer.build((None, None, FEATURES))
    layer.set_weights(_random_weights(layer, 8))
    x = np.random.default_rng(9).normal(size=(4, 6, FEATURES)).astype("float32")
    mask = _gappy_mask(4, 6)
    reset_after = kwargs.get("reset_after", True)
    outputs, _, expected = numpy_rnn.run(
        kind, x, layer.get_weights(), UNITS, mask, go_backwards, reset_after
    )
    traced = layer.trace(x, mask=mask)
    assert set(traced) == set(layer.cell.gate_names) == set(expected)
    for gate, values in traced.items():
        assert values.shape == (4, 6, UNITS)
        np.testing.assert_allclose(values.numpy(), expected[gate], atol=ATOL, err_msg=gate)
    np.testing.assert_allclose(layer(x, mask=mask).numpy(), outputs, atol=ATOL)


@pytest.mark.parametrize("name,ours_cls,keras_cls,kwargs,kind", VARIANTS, ids=IDS)
def test_trace_from_an_initial_state_matches_numpy(name, ours_cls, keras_cls, kwargs, kind):
    layer = ours_cls(UNITS, return_sequences=True, **kwargs)
    layer.build((None, None, FEATURES))
    layer.set_weights(_random_weights(layer, 10))
    rng = np.random.default_rng(11)
    x = rng.normal(size=(4, 6, FEATURES)).astype("float32")
    mask = _gappy_mask(4, 6)
    initial = [
        rng.normal(size=(4, UNITS)).astype("float32") for _ in range(2 if kind == "lstm" else 1)
    ]
    outputs, _, expected = numpy_rnn.run(
        kind, x, layer.get_weights(), UNITS, mask, reset_after=kwargs.get("reset_after", True),
        initial_state=initial,
    )  # fmt: skip
    traced = layer.trace(x, mask=mask, initial_state=initial)
    assert set(traced) == set(expected)
    for gate, values in traced.items():
        np.testing.assert_allclose(values.numpy(), expected[gate], atol=ATOL, err_msg=gate)
    # Row 1 is fully masked: it carries its initial state through every step.
    np.testing.assert_allclose(traced["hidden"][1], np.tile(initial[0][1], (6, 1)), atol=ATOL)
    called = layer(x, mask=mask, initial_state=initial).numpy()
    np.testing.assert_allclose(called, outputs, atol=ATOL)


def test_trace_names_and_ranges():
    expected = {
        layers.SimpleRNN: {"hidden"},
        layers.LSTM: {"input", "forget", "candidate", "output", "cell", "hidden"},
        layers.GRU: {"update", "reset", "candidate", "hidden"},
    }
    x = np.random.default_rng(10).normal(size=(2, 5, FEATURES)).astype("float32")
    for cls, names in expected.items():
        traced = cls(UNITS).trace(x)
        assert set(traced) == names
        for gate in names & {"input", "forget", "output", "update", "reset"}:
            values = traced[gate].numpy()
            assert values.min() >= 0.0 and values.max() <= 1.0


def test_trace_inside_tf_function_with_unknown_shapes():
    layer = layers.LSTM(UNITS)
    layer.build((None, None, FEATURES))

    @tf.function(input_signature=[tf.TensorSpec((None, None, FEATURES), tf.float32)])
    def traced(x):
        return layer.trace(x)

    x = np.random.default_rng(11).normal(size=(3, 8, FEATURES)).astype("float32")
    graph_result = traced(x)
    eager_result = layer.trace(x)
    for gate in eager_result:
        np.testing.assert_allclose(graph_result[gate], eager_result[gate], atol=ATOL)


def test_trace_does_not_touch_stateful_state():
    layer = layers.GRU(UNITS, stateful=True)
    layer.build((2, None, FEATURES))
    x = np.random.default_rng(12).normal(size=(2, 4, FEATURES)).astype("float32")
    layer(x)
    before = layer.states[0].numpy().copy()
    layer.trace(x)
    np.testing.assert_array_equal(layer.states[0].numpy(), before)


def test_unit_forget_bias_sets_forget_slice_to_one():
    layer = layers.LSTM(UNITS, bias_initializer="zeros")
    layer.build((None, None, FEATURES))
    bias = layer.get_weights()[2]
    np.testing.assert_array_equal(bias[UNITS : 2 * UNITS], 1.0)
    np.testing.assert_array_equal(np.delete(bias, np.s_[UNITS : 2 * UNITS]), 0.0)


def test_dropout_is_active_in_training_only():
    layer = layers.LSTM(UNITS, dropout=0.5, recurrent_dropout=0.3, seed=1)
    x = np.ones((2, 6, FEATURES), "float32")
    inference = layer(x).numpy()
    np.testing.assert_array_equal(layer(x, training=False).numpy(), inference)
    assert not np.allclose(layer(x, training=True).numpy(), inference)


def test_gradients_match_keras():
    ours, theirs = _pair(layers.LSTM, keras.layers.LSTM, {}, "keras_to_ours")
    x = tf.constant(np.random.default_rng(13).normal(size=(3, 5, FEATURES)).astype("float32"))
    mask = _gappy_mask(3, 5)
    grads = []
    for layer in (ours, theirs):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x, mask=mask) ** 2)
        grads.append(tape.gradient(loss, layer.trainable_weights))
    _assert_same([g.numpy() for g in grads[0]], [g.numpy() for g in grads[1]])


BAD_ARGUMENTS = [
    ({"units": 0}, "`units`.*positive integer, got 0"),
    ({"units": -3}, "`units`.*got -3"),
    ({"units": 4, "dropout": 1.0}, r"`dropout`.*\[0, 1\), got 1.0"),
    ({"units": 4, "recurrent_dropout": -0.1}, r"`recurrent_dropout`.*got -0.1"),
    ({"units": 4, "activation": "nope"}, "`activation`.*got 'nope'"),
]
GATED_ONLY = [({"units": 4, "recurrent_activation": "nope"}, "`recurrent_activation`.*got 'nope'")]


@pytest.mark.parametrize(
    "cls,kwargs,match",
    [(cls, *case) for cls in (layers.SimpleRNN, layers.LSTM, layers.GRU) for case in BAD_ARGUMENTS]
    + [(cls, *case) for cls in (layers.LSTM, layers.GRU) for case in GATED_ONLY],
)
def test_bad_arguments_raise(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
def test_bad_inputs_raise(cls):
    layer = cls(UNITS)
    with pytest.raises(ValueError, match=r"3D|ndim=3"):
        layer(np.zeros((2, FEATURES), "float32"))
    layer(np.zeros((2, 5, FEATURES), "float32"))
    with pytest.raises(ValueError) as error:
        layer(np.zeros((2, 5, FEATURES + 1), "float32"))
    assert str(error.value).endswith(
        f"expected axis -1 of input shape to have value {FEATURES}, but received input with "
        f"shape (2, 5, {FEATURES + 1})"
    )
    with pytest.raises(ValueError, match=rf"{FEATURES} features.*\(2, 5, {FEATURES + 1}\)"):
        layer.trace(np.zeros((2, 5, FEATURES + 1), "float32"))
    with pytest.raises(ValueError, match="3D"):
        layer.trace(np.zeros((5, FEATURES), "float32"))


def test_wrong_number_of_initial_states_raises():
    layer = layers.LSTM(UNITS)
    x = np.zeros((2, 3, FEATURES), "float32")
    with pytest.raises(ValueError, match="expects 2 initial state"):
        layer(x, initial_state=[np.zeros((2, UNITS), "float32")])


def test_gate_tracer_on_builtin_and_ours():
    rng = np.random.default_rng(14)
    x = rng.integers(1, 9, size=(3, 6)).astype("int32")
    x[0, 4:] = 0
    models = {}
    for family, lstm in (("ours", layers.LSTM), ("keras", keras.layers.LSTM)):
        inputs = keras.Input((None,), dtype="int32")
        hidden = keras.layers.Embedding(10, 5, mask_zero=True)(inputs)
        hidden = lstm(UNITS, return_sequences=True, name="rnn_0")(hidden)
        hidden = keras.layers.GRU(UNITS, name="rnn_1")(hidden)
        models[family] = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    models["ours"].set_weights(models["keras"].get_weights())
    traces = {family: layers.GateTracer(model)(x) for family, model in models.items()}
    for layer_name in ("rnn_0", "rnn_1"):
        for gate, values in traces["ours"][layer_name].items():
            assert values.shape == (3, 6, UNITS)
            np.testing.assert_allclose(values, traces["keras"][layer_name][gate], atol=ATOL)
    # Padding keeps the carried state: hidden at steps 4, 5 of row 0 equals step 3's.
    hidden = traces["ours"]["rnn_0"]["hidden"].numpy()
    np.testing.assert_array_equal(hidden[0, 4], hidden[0, 3])
    np.testing.assert_array_equal(hidden[0, 5], hidden[0, 3])


def test_gate_tracer_on_a_stateful_builtin_starts_from_its_state():
    """A stateful Keras GRU: the trace starts from the state the layer carries now, so its last
    hidden state is what the layer's next call returns."""
    gru = keras.layers.GRU(UNITS, stateful=True, name="rnn_0")
    model = keras.Sequential([keras.Input((5, FEATURES), batch_size=3), gru])
    x = np.random.default_rng(18).normal(size=(3, 5, FEATURES)).astype("float32")
    model(x)
    tracer = layers.GateTracer(model)
    model(x)  # the state moves on after the tracer was made
    hidden = tracer(x)["rnn_0"]["hidden"][:, -1]
    np.testing.assert_allclose(hidden, model(x), atol=ATOL)


def test_keras_file_round_trip(tmp_path):
    inputs = keras.Input((None, FEATURES))
    hidden = layers.LSTM(UNITS, return_sequences=True)(inputs)
    hidden = layers.GRU(UNITS, reset_after=False, go_backwards=True)(hidden)
    hidden = keras.layers.Dense(2)(layers.SimpleRNN(UNITS)(keras.layers.Reshape((1, -1))(hidden)))
    model = keras.Model(inputs, hidden)
    x = np.random.default_rng(15).normal(size=(3, 7, FEATURES)).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    for safe_mode in (True, False):
        loaded = keras.saving.load_model(path, safe_mode=safe_mode)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
        assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]


@pytest.mark.filterwarnings("ignore:.*does not support masking:UserWarning")  # nested model
def test_from_keras_swaps_in_ours_after_loading(tmp_path):
    """A model saved with Keras's layers, loaded, then `from_keras`: ours at the same places
    (top level, inside Bidirectional, inside a nested model), same names, weights and outputs,
    unroll kept."""
    inner = keras.Sequential([keras.Input((6, 2 * UNITS)), keras.layers.SimpleRNN(UNITS)])
    model = keras.Sequential(
        [
            keras.Input((6,), dtype="int32"),
            keras.layers.Embedding(10, FEATURES, mask_zero=True),
            keras.layers.Bidirectional(keras.layers.LSTM(UNITS, return_sequences=True)),
            keras.layers.GRU(2 * UNITS, reset_after=False, return_sequences=True, unroll=True),
            inner,
            keras.layers.Dense(2),
        ]
    )
    model.set_weights(_random_weights(model, 16))
    model.save(tmp_path / "keras.keras")
    loaded = keras.saving.load_model(tmp_path / "keras.keras")
    swapped = layers.from_keras(loaded)
    kinds = [type(layer) for layer in swapped.layers]
    assert kinds[2] is layers.GRU and swapped.layers[2].unroll
    assert type(swapped.layers[3].layers[0]) is layers.SimpleRNN  # inside a nested model
    assert type(swapped.layers[1].forward_layer) is type(swapped.layers[1].backward_layer)
    assert type(swapped.layers[1].forward_layer) is layers.LSTM
    assert [layer.name for layer in swapped.layers] == [layer.name for layer in loaded.layers]
    x = np.random.default_rng(17).integers(0, 10, size=(3, 6))
    x[0, 3:] = 0
    np.testing.assert_allclose(swapped(x), loaded(x), atol=ATOL)


def test_saved_model_has_dynamic_shapes_and_no_gpu_ops(tmp_path):
    inputs = keras.Input((None, FEATURES))
    hidden = layers.GRU(UNITS, return_sequences=True)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(layers.LSTM(UNITS)(hidden)))
    export_dir = str(tmp_path / "saved")
    model.export(
        export_dir,
        format="tf_saved_model",
        input_signature=[keras.InputSpec(shape=(None, None, FEATURES), dtype="float32")],
        verbose=False,
    )
    restored = tf.saved_model.load(export_dir)
    rng = np.random.default_rng(16)
    for batch, steps in [(2, 3), (5, 13)]:
        x = rng.normal(size=(batch, steps, FEATURES)).astype("float32")
        np.testing.assert_allclose(restored.serve(x), model(x), atol=ATOL)
    graph = restored.serve.get_concrete_function().graph.as_graph_def()
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops |= {node.op for node in function.node_def}
    assert "While" in ops or "StatelessWhile" in ops
    assert not [op for op in ops if "Cudnn" in op]
