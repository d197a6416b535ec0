"""Drop-in for Keras: every argument, config, dtype and error of Keras's own layers, and cuDNN.

Each test puts one of our layers beside Keras's `SimpleRNN` / `LSTM` / `GRU` built the same way
and compares what a Keras user sees: outputs, states, weights, configs, dtypes, error types and
messages. cuDNN dispatch is checked on a CPU by letting Keras's backend believe a GPU is present
and comparing the graphs both layers trace; the tests that run cuDNN need a GPU and skip without.
"""

from __future__ import annotations

import functools
import importlib

import keras
import numpy as np
import pytest
import tensorflow as tf

import layers
from layers import cudnn

UNITS = 3
FEATURES = 2
PAIRS = [
    (layers.SimpleRNN, keras.layers.SimpleRNN),
    (layers.LSTM, keras.layers.LSTM),
    (layers.GRU, keras.layers.GRU),
]
IDS = ["rnn", "lstm", "gru"]
GATED = PAIRS[1:]
HAS_GPU = bool(tf.config.list_physical_devices("GPU"))


def _pair(ours_cls, keras_cls, input_shape=(None, None, FEATURES), **kwargs):
    """Both layers with `kwargs`, built, Keras's random weights copied into ours."""
    ours, theirs = ours_cls(UNITS, **kwargs), keras_cls(UNITS, **kwargs)
    for layer in (ours, theirs):
        layer.build(input_shape)
    rng = np.random.default_rng(0)
    theirs.set_weights([rng.normal(scale=0.5, size=w.shape) for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _assert_close(ours, theirs, atol: float = 1e-5) -> None:
    ours, theirs = _as_list(ours), _as_list(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(np.asarray(a, "float32"), np.asarray(b, "float32"), atol=atol)


def _raised(fn) -> Exception:
    with pytest.raises(Exception) as info:
        fn()
    return info.value


def _graph_ops(fn, *specs) -> set[str]:
    """Every op type `tf.function(fn)` traces for `specs`, nested functions included."""
    graph = tf.function(fn).get_concrete_function(*specs).graph.as_graph_def()
    return {n.op for n in graph.node} | {n.op for f in graph.library.function for n in f.node_def}


def _keras_args(keras_cls) -> dict:
    """A value away from the default for every argument of Keras's layer that has one."""
    args = {
        "activation": "relu",
        "use_bias": False,
        "kernel_initializer": "he_normal",
        "recurrent_initializer": "glorot_uniform",
        "bias_initializer": "ones",
        "kernel_regularizer": "l2",
        "recurrent_regularizer": "l1",
        "bias_regularizer": "l2",
        "activity_regularizer": "l1",
        "kernel_constraint": "non_neg",
        "recurrent_constraint": "unit_norm",
        "bias_constraint": "max_norm",
        "dropout": 0.25,
        "recurrent_dropout": 0.5,
        "seed": 7,
        "return_sequences": True,
        "return_state": True,
        "go_backwards": True,
        "stateful": True,
        "unroll": True,
        "zero_output_for_mask": True,
        "trainable": False,
        "dtype": "float64",
        "name": "renamed",
    }
    if keras_cls is not keras.layers.SimpleRNN:
        args |= {"recurrent_activation": "hard_sigmoid", "use_cudnn": False, "implementation": 1}
    if keras_cls is keras.layers.LSTM:
        args["unit_forget_bias"] = False
    if keras_cls is keras.layers.GRU:
        args["reset_after"] = False
    return args


@pytest.mark.parametrize("ours_cls,keras_cls", PAIRS, ids=IDS)
def test_configs_load_both_ways(ours_cls, keras_cls):
    for kwargs in ({}, _keras_args(keras_cls)):
        theirs = keras_cls(UNITS, **kwargs)
        ours = ours_cls.from_config(theirs.get_config())
        ours_config, keras_config = ours.get_config(), theirs.get_config()
        assert {k: ours_config[k] for k in keras_config} == keras_config
        extra = set(ours_config) - set(keras_config)  # what Keras leaves out of its config
        assert extra <= {"seed", "implementation", "use_cudnn"}
        back = keras_cls.from_config(ours_cls(UNITS, **kwargs).get_config()).get_config()
        assert back == {**keras_config, "name": back["name"]}


@pytest.mark.parametrize("implementation", [0, 1, 2])
@pytest.mark.parametrize("ours_cls,keras_cls", GATED, ids=IDS[1:])
def test_implementation_is_accepted_and_kept(ours_cls, keras_cls, implementation):
    config = keras_cls(UNITS).get_config() | {"implementation": implementation}
    assert ours_cls.from_config(config).get_config()["implementation"] == implementation
    assert keras_cls.from_config(config).cell.implementation == implementation
    cell = getattr(layers, keras_cls.__name__ + "Cell")(UNITS, implementation=implementation)
    keras_cell = getattr(keras.layers, keras_cls.__name__ + "Cell")
    assert keras_cell.from_config(cell.get_config()).implementation == implementation
    # Keras's cells switch to implementation 1 with recurrent dropout; ours say the same.
    assert ours_cls(UNITS, recurrent_dropout=0.5).cell.implementation == 1


@pytest.mark.parametrize("ours_cls,keras_cls", PAIRS, ids=IDS)
def test_unknown_arguments_fail_as_in_keras(ours_cls, keras_cls):
    extra = [{"foo": 1}, {"use_cudnn": "sometimes"}]
    if keras_cls is keras.layers.SimpleRNN:
        extra += [{"use_cudnn": True}, {"implementation": 1}]
    classes = (ours_cls, keras_cls)
    for kwargs in extra:
        ours, theirs = [_raised(functools.partial(c, UNITS, **kwargs)) for c in classes]
        assert type(ours) is type(theirs) is ValueError
        if "foo" in kwargs or keras_cls is keras.layers.SimpleRNN:
            assert str(ours) == str(theirs)
        else:
            assert "use_cudnn" in str(ours) and "sometimes" in str(ours)
    ours_cell = _raised(lambda: layers.SimpleRNNCell(UNITS, implementation=1))
    keras_cell = _raised(lambda: keras.layers.SimpleRNNCell(UNITS, implementation=1))
    assert str(ours_cell) == str(keras_cell)


@pytest.mark.parametrize("layer_kwargs", [{}, {"return_sequences": True, "go_backwards": True}])
@pytest.mark.parametrize("ours_cls,keras_cls", PAIRS, ids=IDS)
def test_unroll_gives_the_loop_and_keras_numbers(ours_cls, keras_cls, layer_kwargs):
    ours, theirs = _pair(ours_cls, keras_cls, unroll=True, return_state=True, **layer_kwargs)
    looped = ours_cls.from_config(ours.get_config() | {"unroll": False})
    looped.build((None, None, FEATURES))
    looped.set_weights(ours.get_weights())
    x = np.random.default_rng(1).normal(size=(4, 5, FEATURES)).astype("float32")
    mask = np.ones((4, 5), bool)
    mask[0, 1:3] = False
    mask[1, 3:] = False
    mask[2, :] = False
    for kwargs in ({}, {"mask": mask}):
        _assert_close(ours(x, **kwargs), looped(x, **kwargs), atol=1e-6)
        _assert_close(ours(x, **kwargs), theirs(x, **kwargs))
    unrolled = _graph_ops(ours, tf.TensorSpec((4, 5, FEATURES)))
    assert "While" not in unrolled and "StatelessWhile" not in unrolled


@pytest.mark.parametrize("unroll", [False, True])
def test_gradients_match_keras_in_a_graph(unroll):
    time = 4 if unroll else None  # a time axis known only at run time, as in `fit`
    spec = tf.TensorSpec((None, time, FEATURES))
    kwargs = {"return_sequences": True, "go_backwards": True, "unroll": unroll}
    x = tf.constant(np.random.default_rng(5).normal(size=(3, 4, FEATURES)).astype("float32"))
    mask = tf.constant(np.array([[1, 1, 0, 1], [1, 1, 1, 0], [0, 0, 0, 0]], bool))
    grads = []
    for layer in _pair(layers.LSTM, keras.layers.LSTM, **kwargs):

        @tf.function(input_signature=[spec, tf.TensorSpec((None, time), tf.bool)])
        def gradient(x, mask, layer=layer):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(layer(x, mask=mask) ** 2)
            return tape.gradient(loss, layer.trainable_weights)

        grads.append(gradient(x, mask))
    _assert_close(grads[0], grads[1])


@pytest.mark.parametrize("ours_cls,keras_cls", PAIRS, ids=IDS)
def test_stateful_batch_mismatch_fails_as_in_keras(ours_cls, keras_cls):
    pair = _pair(ours_cls, keras_cls, input_shape=(2, None, FEATURES), stateful=True)
    x = np.zeros((3, 4, FEATURES), "float32")
    errors = [_raised(lambda lay=lay: lay(x)) for lay in pair]
    assert [type(e) for e in errors] == [ValueError, ValueError]
    assert "Expected batch size: 2\n- Received batch size: 3" in str(errors[0])
    assert "Expected batch size: 2\n- Received batch size: 3" in str(errors[1])


@pytest.mark.parametrize("ours_cls,keras_cls", PAIRS, ids=IDS)
def test_inside_keras_bidirectional(ours_cls, keras_cls):
    wrapped = [
        keras.layers.Bidirectional(cls(UNITS, return_sequences=True))
        for cls in (ours_cls, keras_cls)
    ]
    for layer in wrapped:
        layer.build((None, None, FEATURES))
    wrapped[0].set_weights(wrapped[1].get_weights())
    assert wrapped[0].backward_layer.go_backwards
    x = np.random.default_rng(6).normal(size=(2, 5, FEATURES)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    _assert_close(wrapped[0](x, mask=mask), wrapped[1](x, mask=mask))


def _bidirectional_model(layer_cls, seed: int) -> keras.Model:
    """`(batch, 5, FEATURES)` → Bidirectional(layer, sequences) → Dense(1), random weights."""
    model = keras.Sequential(
        [
            keras.Input((5, FEATURES)),
            keras.layers.Bidirectional(layer_cls(UNITS, return_sequences=True), name="bi"),
            keras.layers.Dense(1, name="head"),
        ]
    )
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.5, size=w.shape) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("ours_cls,keras_cls", PAIRS, ids=IDS)
def test_weight_files_load_both_ways(ours_cls, keras_cls, tmp_path):
    """A `.weights.h5` file written by a model with Keras's layer loads into the same model with
    ours, and the reverse: the weights are found by the same paths, in the same layout."""
    x = np.random.default_rng(7).normal(size=(2, 5, FEATURES)).astype("float32")
    for source_cls, target_cls in ((keras_cls, ours_cls), (ours_cls, keras_cls)):
        source, target = _bidirectional_model(source_cls, 1), _bidirectional_model(target_cls, 2)
        path = tmp_path / f"{source_cls.__module__}.weights.h5"
        source.save_weights(path)
        target.load_weights(path)
        _assert_close(target.predict(x, verbose=0), source.predict(x, verbose=0))


@pytest.mark.parametrize("ours_cls", [ours for ours, _ in PAIRS], ids=IDS)
def test_legacy_h5_json_and_clone_keep_our_layer(ours_cls, tmp_path):
    """Keras's other ways to copy a model: the legacy `.h5` file, `to_json` /
    `model_from_json` and `clone_model` give back our layer with the same outputs."""
    model = _bidirectional_model(ours_cls, 3)
    x = np.random.default_rng(8).normal(size=(2, 5, FEATURES)).astype("float32")
    model.save(tmp_path / "model.h5")
    copies = {
        "h5": keras.models.load_model(tmp_path / "model.h5"),
        "json": keras.models.model_from_json(model.to_json()),
        "clone": keras.models.clone_model(model),
    }
    for how, copy in copies.items():
        if how != "h5":  # the architecture only
            copy.set_weights(model.get_weights())
        assert type(copy.get_layer("bi").forward_layer) is ours_cls, how
        _assert_close(copy.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("ours_cls,keras_cls", PAIRS, ids=IDS)
def test_tensorflow_lite_conversion_gives_keras_numbers(ours_cls, keras_cls):
    """A model with our layer converts to TensorFlow Lite with built-in ops only, as one with
    Keras's does, and the interpreter gives Keras's layer's outputs."""
    x = np.random.default_rng(9).normal(size=(1, 5, FEATURES)).astype("float32")
    models = [
        keras.Sequential(
            [keras.Input((5, FEATURES), batch_size=1), cls(UNITS), keras.layers.Dense(1)]
        )
        for cls in (ours_cls, keras_cls)
    ]
    models[0].set_weights(models[1].get_weights())
    converter = tf.lite.TFLiteConverter.from_keras_model(models[0])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = tf.lite.Interpreter(model_content=converter.convert())
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    converted = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    _assert_close(converted, models[1].predict(x, verbose=0))


@pytest.mark.parametrize("ours_cls,keras_cls", PAIRS, ids=IDS)
def test_unroll_without_static_time_fails_as_in_keras(ours_cls, keras_cls):
    spec = tf.TensorSpec((None, None, FEATURES))
    ours, theirs = _pair(ours_cls, keras_cls, unroll=True)
    errors = [_raised(lambda lay=lay: _graph_ops(lay, spec)) for lay in (ours, theirs)]
    assert [type(e) for e in errors] == [ValueError, ValueError]
    assert all("Cannot unroll a RNN if the time dimension is undefined" in str(e) for e in errors)


@pytest.mark.parametrize("ours_cls,keras_cls", PAIRS, ids=IDS)
def test_numeric_inputs_are_cast_as_keras_casts_them(ours_cls, keras_cls):
    ours, theirs = _pair(ours_cls, keras_cls, return_state=True)
    x = np.array([[[101, 202], [303, 404]], [[-1, 0], [7, 3]]]) / 100
    for dtype in ("int64", "int32", "uint8", "bool", "float16", "float64"):
        values = (x * 100).astype(dtype) if dtype.startswith(("int", "uint")) else x.astype(dtype)
        _assert_close(ours(values), theirs(values))
    cell_cls = getattr(layers, keras_cls.__name__ + "Cell")
    ours_rnn = keras.layers.RNN(cell_cls(UNITS))
    keras_rnn = keras.layers.RNN(getattr(keras.layers, keras_cls.__name__ + "Cell")(UNITS))
    ours_rnn.build((None, None, FEATURES))
    keras_rnn.build((None, None, FEATURES))
    ours_rnn.set_weights(keras_rnn.get_weights())
    _assert_close(ours_rnn(x.astype("int64")), keras_rnn(x.astype("int64")))


@pytest.mark.parametrize("policy,atol", [("mixed_float16", 2e-3), ("mixed_bfloat16", 2e-2)])
@pytest.mark.parametrize("ours_cls,keras_cls", PAIRS, ids=IDS)
def test_mixed_precision_dtypes_match_keras(ours_cls, keras_cls, policy, atol):
    kwargs = {"return_sequences": True, "return_state": True, "dtype": policy}
    ours, theirs = _pair(ours_cls, keras_cls, **kwargs)
    assert [w.dtype for w in ours.weights] == [w.dtype for w in theirs.weights]
    x = np.random.default_rng(2).normal(size=(2, 4, FEATURES))
    init = [tf.ones((2, UNITS), tf.float64)] * len(_as_list(theirs.cell.state_size))
    _assert_close(ours(x), theirs(x), atol=atol)
    _assert_close(ours(x, initial_state=init), theirs(x, initial_state=init), atol=atol)
    gates = ours.trace(x.astype("int32"), initial_state=init)
    assert {str(v.dtype.name) for v in gates.values()} == {ours.compute_dtype}
    ours_stateful, keras_stateful = _pair(
        ours_cls, keras_cls, input_shape=(2, None, FEATURES), stateful=True, dtype=policy
    )
    _assert_close(ours_stateful(x), keras_stateful(x), atol=atol)
    assert [s.dtype for s in ours_stateful.states] == [s.dtype for s in keras_stateful.states]


@pytest.mark.parametrize("ours_cls,keras_cls", PAIRS, ids=IDS)
def test_activity_regularizer_and_seed(ours_cls, keras_cls):
    ours, theirs = _pair(ours_cls, keras_cls, activity_regularizer="l2", return_state=True)
    x = np.random.default_rng(3).normal(size=(2, 4, FEATURES)).astype("float32")
    # Keras's L2 activity loss per output, divided by the batch size.
    expected = [0.01 * np.sum(np.square(y)) / 2 for y in _as_list(ours(x))]
    np.testing.assert_allclose([float(v) for v in ours.losses], expected, rtol=1e-6)
    theirs(x)
    if keras_cls is keras.layers.SimpleRNN:  # Keras's SimpleRNN drops the argument (3.15)
        assert theirs.losses == []
    else:
        _assert_close(ours.losses, theirs.losses)
    outputs = []
    for seed in (5, 5, 6):
        layer = ours_cls(UNITS, dropout=0.5, seed=seed)
        layer.build((None, None, FEATURES))
        layer.set_weights(ours.get_weights())
        outputs.append(np.asarray(layer(x, training=True)))
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert np.abs(outputs[0] - outputs[2]).max() > 1e-4


def _train_with_dropout(layer, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Three SGD steps in training mode, each after an inference call; the training outputs and
    the weights after them."""
    optimizer = keras.optimizers.SGD(0.5)
    outputs = []
    for _ in range(3):
        layer(x)  # inference: Keras's layers draw (and drop) their dropout masks here too
        with tf.GradientTape() as tape:
            output = layer(x, training=True)
            loss = tf.reduce_mean(tf.square(output - y))
        optimizer.apply(tape.gradient(loss, layer.trainable_weights), layer.trainable_weights)
        outputs.append(np.asarray(output))
    return outputs + [np.asarray(w) for w in layer.trainable_weights]


def _dropout_cases(keras_cls) -> list[dict]:
    cases = [
        {"dropout": 0.5},
        {"recurrent_dropout": 0.5},
        {"dropout": 0.3, "recurrent_dropout": 0.4},
    ]
    if keras_cls is not keras.layers.SimpleRNN:  # implementation=1: one mask per gate
        cases.append({"dropout": 0.5, "implementation": 1, "use_cudnn": False})
    if keras_cls is keras.layers.GRU:
        cases.append({"dropout": 0.3, "recurrent_dropout": 0.4, "reset_after": False})
    return cases


@pytest.mark.parametrize("ours_cls,keras_cls", PAIRS, ids=IDS)
def test_training_with_dropout_gives_keras_numbers(ours_cls, keras_cls):
    """Same `seed`, same dropout masks as Keras's layer, call after call (Keras draws them in
    inference too, and one per gate with `implementation=1`): the same training."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=(4, 5, FEATURES)).astype("float32")
    y = rng.normal(size=(4, UNITS)).astype("float32")
    for kwargs in _dropout_cases(keras_cls):
        ours, theirs = _pair(ours_cls, keras_cls, seed=11, **kwargs)
        initial = theirs.get_weights()
        expected = _train_with_dropout(theirs, x, y)
        _assert_close(_train_with_dropout(ours, x, y), expected)
        if "implementation" in kwargs:
            # Keras's layer with use_cudnn="auto" fails here (its cuDNN path cannot apply a
            # mask per gate: a shape error); ours runs the loop: Keras's use_cudnn=False numbers.
            auto = ours_cls.from_config(ours.get_config() | {"use_cudnn": "auto"})
            auto.build((None, None, FEATURES))
            auto.set_weights(initial)
            _assert_close(_train_with_dropout(auto, x, y), expected)
    # The cells inside `keras.layers.RNN`, which draws the masks through the cell.
    name = keras_cls.__name__ + "Cell"
    cell_kwargs = {"seed": 11, "dropout": 0.3, "recurrent_dropout": 0.4}
    ours, theirs = (
        keras.layers.RNN(getattr(m, name)(UNITS, **cell_kwargs)) for m in (layers, keras.layers)
    )
    for layer in (ours, theirs):
        layer.build((None, None, FEATURES))
    ours.set_weights(theirs.get_weights())
    _assert_close(_train_with_dropout(ours, x, y), _train_with_dropout(theirs, x, y))


def test_fit_with_dropout_gives_keras_numbers():
    """The same in `fit` (compiled steps, validation between epochs) for the LSTM with both
    dropouts."""
    rng = np.random.default_rng(9)
    x = rng.normal(size=(8, 5, FEATURES)).astype("float32")
    y = rng.normal(size=(8, UNITS)).astype("float32")
    weights = []
    for layer in _pair(layers.LSTM, keras.layers.LSTM, seed=4, dropout=0.3, recurrent_dropout=0.4):
        model = keras.Sequential([keras.Input((5, FEATURES)), layer])
        model.compile(keras.optimizers.SGD(0.5), "mse")
        model.fit(x, y, batch_size=4, epochs=2, validation_data=(x, y), shuffle=False, verbose=0)
        weights.append(model.get_weights())
    _assert_close(*weights)


@pytest.mark.parametrize("ours_cls,keras_cls", PAIRS, ids=IDS)
def test_zero_timesteps(ours_cls, keras_cls):
    ours, theirs = _pair(ours_cls, keras_cls, return_sequences=True, go_backwards=True)
    empty = np.zeros((2, 0, FEATURES), "float32")
    errors = [_raised(lambda lay=lay: lay(empty)) for lay in (ours, theirs)]
    assert [type(e) for e in errors] == [tf.errors.InvalidArgumentError] * 2
    assert "0 timesteps" in str(errors[0])
    for gates in (ours.trace(empty), ours.trace(empty, mask=np.zeros((2, 0), bool))):
        assert list(gates) == list(ours.cell.gate_names)
        assert all(v.shape == (2, 0, UNITS) for v in gates.values())
    spec = tf.TensorSpec((None, None, FEATURES))  # as in a SavedModel: time known only at run
    trace = tf.function(ours.trace).get_concrete_function(spec)
    assert all(v.shape == (2, 0, UNITS) for v in trace(tf.constant(empty)).values())
    x = np.random.default_rng(4).normal(size=(2, 3, FEATURES)).astype("float32")
    hidden = trace(tf.constant(x))["hidden"][:, ::-1]  # trace runs in input order
    np.testing.assert_allclose(hidden, ours(x), atol=1e-6)
    call = tf.function(ours).get_concrete_function(spec)
    with pytest.raises(tf.errors.InvalidArgumentError, match="0 timesteps"):
        call(tf.constant(empty))


def _dispatch_cases(ours_cls, keras_cls) -> list[tuple[dict, bool]]:
    """(layer arguments, call in training) covering each condition Keras checks for cuDNN."""
    cases = [
        ({}, False),
        ({"return_sequences": True, "go_backwards": True, "dropout": 0.5}, True),
        ({"recurrent_dropout": 0.5}, True),
        ({"recurrent_dropout": 0.5}, False),
        ({"activation": "relu"}, False),
        ({"recurrent_activation": "hard_sigmoid"}, False),
        ({"use_bias": False}, False),
        ({"unroll": True}, False),
        ({"use_cudnn": False}, False),
    ]
    if keras_cls is keras.layers.GRU:
        cases.append(({"reset_after": False}, False))
    return cases


def _call_masked(layer, x, m, training):
    return layer(x, mask=m, training=training)


@pytest.fixture
def fake_gpu(monkeypatch):
    """Keras's backend believes a GPU is present, so graphs trace `CudnnRNNV3` where it would."""
    tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")
    monkeypatch.setattr(tf_rnn, "_is_gpu_available", lambda: True)


@pytest.mark.parametrize("ours_cls,keras_cls", GATED, ids=IDS[1:])
def test_cudnn_is_taken_exactly_where_keras_takes_it(ours_cls, keras_cls, fake_gpu):
    spec = (tf.TensorSpec((2, 5, FEATURES)), tf.TensorSpec((2, 5), tf.bool))
    for kwargs, training in _dispatch_cases(ours_cls, keras_cls):
        fused = []
        for layer in _pair(ours_cls, keras_cls, **kwargs):
            call = functools.partial(_call_masked, layer, training=training)
            ops = _graph_ops(call, *spec)
            fused.append("CudnnRNNV3" in ops)
        assert fused[0] == fused[1], kwargs
        assert fused[0] == (kwargs in ({}, _dispatch_cases(ours_cls, keras_cls)[1][0])), kwargs
        ours = ours_cls(UNITS, **kwargs)
        assert ours.supports_jit == keras_cls(UNITS, **kwargs).supports_jit
    ours = _pair(ours_cls, keras_cls)[0]
    assert "CudnnRNNV3" not in _graph_ops(ours.trace, spec[0])


@pytest.mark.parametrize("ours_cls,keras_cls", GATED, ids=IDS[1:])
def test_use_cudnn_true_fails_as_in_keras(ours_cls, keras_cls):
    x = np.ones((1, 2, FEATURES), "float32")
    # No GPU here; recurrent dropout anywhere (with input dropout too: one mask per gate).
    for kwargs in ({}, {"recurrent_dropout": 0.5}, {"dropout": 0.5, "recurrent_dropout": 0.5}):
        pair = _pair(ours_cls, keras_cls, use_cudnn=True, **kwargs)
        errors = [_raised(lambda lay=lay: lay(x, training=True)) for lay in pair]
        assert [type(e) for e in errors] == [ValueError, ValueError]
        assert cudnn.NOT_SUPPORTED in str(errors[0]) and cudnn.NOT_SUPPORTED in str(errors[1])


def _training_outputs(cls, use_cudnn) -> list[np.ndarray]:
    """Two training calls of a seeded layer with input dropout, on fixed weights and inputs."""
    x = np.random.default_rng(7).normal(size=(2, 4, FEATURES)).astype("float32")
    layer = cls(UNITS, dropout=0.5, seed=3, use_cudnn=use_cudnn)
    layer.build((None, None, FEATURES))
    layer.set_weights([np.full(w.shape, 0.3) for w in layer.get_weights()])
    return [np.asarray(layer(x, training=True)) for _ in range(2)]


def test_use_cudnn_auto_on_a_cpu_draws_the_loops_dropout():
    auto, loop = (_training_outputs(layers.LSTM, use_cudnn) for use_cudnn in ("auto", False))
    np.testing.assert_array_equal(auto, loop)


def test_cudnn_fallback_to_the_loop_draws_the_loops_dropout(fake_gpu, monkeypatch):
    """Where the backend answers `NotImplementedError` (cuDNN cannot be placed), the loop runs
    with the dropout mask of a `use_cudnn=False` layer of the same seed: one draw per call."""

    def not_placeable(*_):
        raise NotImplementedError

    monkeypatch.setattr(cudnn, "_run_kernel", not_placeable)
    auto, loop = (_training_outputs(layers.GRU, use_cudnn) for use_cudnn in ("auto", False))
    np.testing.assert_array_equal(auto, loop)


def test_variants_never_take_cudnn(fake_gpu):
    variants = [(layers.LSTM, {"forget_gate": False}), (layers.GRU, {"reset_gate": False})]
    spec = tf.TensorSpec((2, 5, FEATURES))
    checked = 0
    for cls, kwargs in variants:
        try:
            layer = cls(UNITS, **kwargs)
        except ValueError:  # a cell without that variant has nothing to check
            continue
        assert "CudnnRNNV3" not in _graph_ops(layer, spec)
        with pytest.raises(ValueError, match="use_cudnn=True was specified"):
            _graph_ops(cls(UNITS, use_cudnn=True, **kwargs), spec)
        checked += 1
    plain = layers.LSTM(UNITS)
    assert "CudnnRNNV3" in _graph_ops(plain, spec)
    if not checked:
        pytest.skip("no cell variants in layers/ yet")


def test_export_of_our_layers_has_no_cudnn_ops(fake_gpu, tmp_path):
    from data.base import TaskSpec
    from experiments.export.saved_model import export_saved_model
    from experiments.pipeline.model import build_model
    from tests.experiments.test_export import graph_ops

    task = TaskSpec(
        name="toy", seq_len=6, input_kind="features", input_dim=FEATURES, output="last",
        n_outputs=1, primary_metric="mae", higher_is_better=False,
    )  # fmt: skip
    for cls in (layers.LSTM, layers.GRU):
        model = build_model(task, functools.partial(cls, units=UNITS), 1, 0)
        spec = tf.TensorSpec((None, None, FEATURES))
        assert "CudnnRNNV3" in _graph_ops(model, spec)
        path = export_saved_model(model, tmp_path / cls.__name__)
        assert not [op for op in graph_ops(path) if "Cudnn" in op]
        assert model.get_layer(f"{cls.__name__.lower()}_0").use_cudnn == "auto"


@pytest.mark.skipif(not HAS_GPU, reason="cuDNN needs a GPU")
@pytest.mark.parametrize("ours_cls,keras_cls", GATED, ids=IDS[1:])
def test_cudnn_call_matches_the_loop_and_keras_on_a_gpu(ours_cls, keras_cls):
    kwargs = {"return_sequences": True, "return_state": True}
    ours, theirs = _pair(ours_cls, keras_cls, **kwargs)
    looped = ours_cls(UNITS, use_cudnn=False, **kwargs)
    looped.build((None, None, FEATURES))
    looped.set_weights(ours.get_weights())
    x = np.random.default_rng(4).normal(size=(4, 6, FEATURES)).astype("float32")
    mask = np.arange(6)[None, :] < np.array([6, 4, 2, 1])[:, None]  # right-padded
    call = tf.function(lambda x, m: ours(x, mask=m))
    assert "CudnnRNNV3" in _graph_ops(call, tf.TensorSpec(x.shape), tf.TensorSpec(mask.shape))
    _assert_close(ours(x, mask=mask), theirs(x, mask=mask), atol=1e-5)
    _assert_close(ours(x)[1:], looped(x)[1:], atol=1e-3)  # cuDNN zeroes padded outputs
    np.testing.assert_allclose(ours.trace(x)["hidden"], ours(x)[0], atol=1e-3)
