"""The cell zoo: every cell against a numpy recomputation of its equations, the parallel scan
against the step-by-step loop, serialization, SavedModel export, and one real sweep with
TensorBoard gate pictures."""

from __future__ import annotations

import functools
import json
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from hydra.utils import instantiate

import layers
from experiments.export.saved_model import export_saved_model
from experiments.pipeline.model import layer_name
from experiments.tensorboard import images as gate_plots
from experiments.tensorboard.callback import GateTensorBoard
from tests import numpy_zoo
from tests.conftest import TINY, run_cli
from tests.experiments.test_tensorboard import read_events

ATOL = 1e-5  # float32 layers against float64 numpy, and the scan against the loop
UNITS, FEATURES, BATCH, STEPS = 3, 2, 4, 7
P = functools.partial

# conf/model name → (layer class, constructor options, numpy step, expected retention)
ZOO = {
    "lstm_peephole": (layers.LSTM, {"peephole": True}, P(numpy_zoo.lstm_step, peephole=True)),
    "lstm_nig": (layers.LSTM, {"input_gate": False}, P(numpy_zoo.lstm_step, input_gate=False)),
    "lstm_nfg": (layers.LSTM, {"forget_gate": False}, P(numpy_zoo.lstm_step, forget_gate=False)),
    "lstm_nog": (layers.LSTM, {"output_gate": False}, P(numpy_zoo.lstm_step, output_gate=False)),
    "lstm_niaf": (
        layers.LSTM,
        {"input_activation": False},
        P(numpy_zoo.lstm_step, input_activation=False),
    ),
    "lstm_noaf": (
        layers.LSTM,
        {"output_activation": False},
        P(numpy_zoo.lstm_step, output_activation=False),
    ),
    "lstm_cifg": (layers.LSTM, {"coupled_gates": True}, P(numpy_zoo.lstm_step, coupled_gates=True)),
    "lstm_fgr": (
        layers.LSTM,
        {"full_gate_recurrence": True},
        P(numpy_zoo.lstm_step, full_gate_recurrence=True),
    ),
    "gru_nrg": (layers.GRU, {"reset_gate": False}, P(numpy_zoo.gru_variant_step, reset_gate=False)),
    "mgu": (
        layers.GRU,
        {"tied_gates": True, "reset_after": False},
        P(numpy_zoo.gru_variant_step, tied_gates=True, reset_after=False),
    ),
    "gru1": (
        layers.GRU,
        {"gate_inputs": "state_bias"},
        P(numpy_zoo.gru_variant_step, gate_inputs="state_bias"),
    ),
    "gru2": (
        layers.GRU,
        {"gate_inputs": "state"},
        P(numpy_zoo.gru_variant_step, gate_inputs="state"),
    ),
    "gru3": (
        layers.GRU,
        {"gate_inputs": "bias"},
        P(numpy_zoo.gru_variant_step, gate_inputs="bias"),
    ),
    "mingru": (layers.MinGRU, {}, numpy_zoo.mingru_step),
    "minlstm": (layers.MinLSTM, {}, numpy_zoo.minlstm_step),
    "slstm": (layers.SLSTM, {}, numpy_zoo.slstm_step),
}
# What each cell's retention is, from its numpy gates: the fraction of the old state kept.
RETENTION = {
    "lstm_nfg": lambda g: np.ones_like(g["hidden"]),
    "mgu": lambda g: 1 - g["forget"],
    "mingru": lambda g: 1 - g["update"],
    "minlstm": lambda g: g["forget"] / (g["forget"] + g["input"]),
    "slstm": lambda g: g["retention"],  # f n_tm1 / n, traced: `normalizer` is carried when masked
}


def default_retention(name: str):
    return (lambda g: g["forget"]) if name.startswith("lstm") else (lambda g: g["update"])


def build(name: str, seed: int = 0, **layer_kwargs) -> keras.layers.Layer:
    """Zoo layer `name` built on `FEATURES` inputs with random weights (scale 0.5)."""
    cls, options, _ = ZOO[name]
    layer = cls(UNITS, **options, **layer_kwargs)
    layer.build((None, None, FEATURES))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape) for w in layer.get_weights()])
    return layer


def inputs(seed: int = 1, steps: int = STEPS):
    """`(x, mask, initial states)`: a gap in row 0, leading padding in row 1, right padding in
    row 2; positive initial states (sLSTM's normaliser must be)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, steps, FEATURES)).astype("float32")
    mask = np.ones((BATCH, steps), bool)
    mask[0, 2:4] = False
    mask[1, :2] = False
    mask[2, steps - 3 :] = False
    return x, mask


def initial_states(layer, seed: int = 2) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.2, 1.0, (BATCH, UNITS)).astype("float32") for _ in layer.state_size]


def weights_by_name(layer) -> dict[str, np.ndarray]:
    return {w.name: w.numpy().astype("float64") for w in layer.weights}


# ------------------------------------------------------------- the equations, in numpy ----------


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
@pytest.mark.parametrize("name", list(ZOO))
def test_cell_matches_numpy(name, go_backwards):
    """`call` (the scan for minGRU/minLSTM) and `trace` (the loop) against numpy: masks with a
    gap and leading padding, `go_backwards`, initial states, outputs and final states."""
    layer = build(name, return_sequences=True, return_state=True, go_backwards=go_backwards)
    x, mask = inputs()
    h0 = initial_states(layer)
    step = P(ZOO[name][2], w=weights_by_name(layer))
    expected, final, gates = numpy_zoo.run(
        lambda x_t, s: step(x_t, s), x.astype("float64"), h0, mask, go_backwards
    )
    output, *states = layer(x, mask=mask, initial_state=h0)
    np.testing.assert_allclose(output, expected, atol=ATOL)
    for got, want in zip(states, final, strict=True):
        np.testing.assert_allclose(got, want, atol=ATOL)
    traced = layer.trace(x, mask=mask, initial_state=h0)
    assert set(traced) == set(gates) == set(layer.cell.gate_names)
    for gate, values in gates.items():
        np.testing.assert_allclose(traced[gate], values, atol=ATOL, err_msg=gate)


@pytest.mark.parametrize("name", list(ZOO))
def test_retention_is_the_fraction_kept(name):
    """Each cell's `retention` equals its definition on the numpy gates and its declared gate
    and polarity say the same, at real and at masked steps (a gap, leading and right padding).

    At a masked step retention follows the trace's protocol: what the step computed from its
    input and the carried state (then discarded), as every gate; so it lies in [0, 1] there too
    (the sLSTM's `1 - input / normalizer` of a trace did not: the normaliser is carried)."""
    layer = build(name)
    x, mask = inputs()
    step = P(ZOO[name][2], w=weights_by_name(layer))
    h0 = initial_states(layer)
    _, _, gates = numpy_zoo.run(lambda x_t, s: step(x_t, s), x.astype("float64"), h0, mask)
    retention = np.asarray(layer.cell.retention(layer.trace(x, mask=mask, initial_state=h0)))
    want = RETENTION.get(name, default_retention(name))(gates)
    for where, steps in (("real", mask), ("masked", ~mask)):
        np.testing.assert_allclose(retention[steps], want[steps], atol=ATOL, err_msg=where)
        assert np.all((retention[steps] >= 0) & (retention[steps] <= 1)), where
    cell = layer.cell
    if cell.retention_gate is not None and name != "minlstm":
        gate = gates[cell.retention_gate]
        np.testing.assert_allclose(
            retention, gate if cell.retention_keeps_at == 1.0 else 1 - gate, atol=ATOL
        )
    assert layers.SimpleRNNCell(2).retention({"hidden": np.zeros((1, 1, 2))}) is None


# ------------------------------------------------------- parallel scan = sequential step ----------


@pytest.mark.parametrize("zero_output", [False, True], ids=["repeat", "zeros"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
@pytest.mark.parametrize("name", ["mingru", "minlstm"])
def test_scan_equals_keras_rnn_over_the_cell(name, go_backwards, zero_output):
    """The layer's parallel scan and `keras.layers.RNN(cell)` (Keras's own loop over our step)
    give the same outputs, final state and gradients (inputs, initial state, weights)."""
    kwargs = {"return_sequences": True, "return_state": True, "go_backwards": go_backwards}
    layer = build(name, zero_output_for_mask=zero_output, **kwargs)
    loop = keras.layers.RNN(layer.cell, zero_output_for_mask=zero_output, **kwargs)
    x, mask = inputs(steps=40)  # more than two chunks of the scan
    x, h0 = tf.constant(x), tf.constant(initial_states(layer)[0])
    results = []
    for run in (layer, loop):
        with tf.GradientTape() as tape:
            tape.watch([x, h0])
            output, state = run(x, mask=tf.constant(mask), initial_state=[h0])
            loss = tf.reduce_sum(output * np.linspace(-1, 1, UNITS)) + tf.reduce_sum(state**2)
        results.append([output, state, *tape.gradient(loss, [x, h0, *layer.trainable_weights])])
    for got, want in zip(*results, strict=True):
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=ATOL)


@pytest.mark.parametrize("name", ["mingru", "minlstm"])
def test_scan_stays_exact_over_long_sequences(name):
    """T = 1,000 with gates saturated both ways (products of `a` underflow to 0 in some units,
    stay near 1 in others): finite, and equal to the loop `trace` runs."""
    layer = build(name, return_sequences=True)
    kernel, bias = layer.cell.kernel.numpy(), layer.cell.bias.numpy()
    bias[:UNITS] = [-12.0, 0.0, 12.0]  # the first gate block: kept / half / replaced (or reverse)
    layer.cell.bias.assign(bias)
    layer.cell.kernel.assign(kernel * 0.1)
    x, _ = inputs(steps=1000)
    scanned = layer(x).numpy()
    stepped = layer.trace(x)["hidden"].numpy()
    assert np.all(np.isfinite(scanned))
    np.testing.assert_allclose(scanned, stepped, atol=ATOL, rtol=ATOL)


@pytest.mark.parametrize("steps", [7, 40], ids=["one-chunk", "two-chunks"])
def test_scan_compiles_with_xla(steps):
    """`jit_compile=True` (`trainer.jit_compile`) runs the scan, one chunk or several, with
    the loop's numbers (XLA needs every tensor of the chunk scan's loop to keep its shape)."""
    layer = build("mingru", return_sequences=True)
    x, _ = inputs(steps=steps)
    compiled = tf.function(lambda x: layer(x), jit_compile=True)
    np.testing.assert_allclose(compiled(tf.constant(x)), layer.trace(x)["hidden"], atol=ATOL)


def test_minlstm_is_finite_where_both_gates_underflow():
    """Gate pre-activations near -120: σ underflows to exactly 0 in float32 for both gates, yet
    f / (f + i) is well defined. The scan, the loop and their gradients stay finite and equal
    numpy's float64 recurrence."""
    layer = build("minlstm", return_sequences=True)
    bias = layer.cell.bias.numpy()
    bias[: 2 * UNITS] = np.r_[np.full(UNITS, -120.0), np.linspace(-121.0, -119.0, UNITS)]
    layer.cell.bias.assign(bias)
    x, _ = inputs()
    h0 = initial_states(layer)
    step = P(numpy_zoo.minlstm_step, w=weights_by_name(layer))
    expected, _, _ = numpy_zoo.run(lambda x_t, s: step(x_t, s), x.astype("float64"), h0)
    with tf.GradientTape() as tape:
        scanned = layer(x, initial_state=h0)
        loss = tf.reduce_sum(scanned)
    gradients = tape.gradient(loss, layer.trainable_weights)
    np.testing.assert_allclose(scanned, expected, atol=ATOL)
    np.testing.assert_allclose(layer.trace(x, initial_state=h0)["hidden"], expected, atol=ATOL)
    assert all(np.all(np.isfinite(g)) for g in gradients)


@pytest.mark.parametrize("name", ["mingru", "minlstm"])
def test_stateful_scan_continues_where_it_stopped(name):
    """Two stateful calls on halves of a sequence end where one call on the whole one does."""
    whole = build(name, seed=4)
    cls, options, _ = ZOO[name]
    stateful = cls(UNITS, stateful=True, **options)
    stateful.build((BATCH, None, FEATURES))
    stateful.set_weights(whole.get_weights())
    x, _ = inputs()
    stateful(x[:, :3])
    np.testing.assert_allclose(stateful(x[:, 3:]), whole(x), atol=ATOL)


def test_linear_scan_gradient_against_float64_loop():
    """`linear_scan`'s own gradient (a backwards scan) against TensorFlow's gradient of a plain
    loop, in float64, over several chunks, from a nonzero initial state."""
    rng = np.random.default_rng(3)
    a = tf.constant(rng.uniform(0.0, 1.0, (45, 2, 3)))
    b, h0 = tf.constant(rng.normal(size=(45, 2, 3))), tf.constant(rng.normal(size=(2, 3)))
    weights = tf.constant(rng.normal(size=(45, 2, 3)))

    def loop(a, b, h0):
        return tf.scan(lambda h, ab: ab[0] * h + ab[1], (a, b), initializer=h0)

    results = []
    for scan in (layers.linear_scan, loop):
        with tf.GradientTape() as tape:
            tape.watch([a, b, h0])
            h = scan(a, b, h0)
            loss = tf.reduce_sum(weights * h)
        results.append([h, *tape.gradient(loss, [a, b, h0])])
    for got, want in zip(*results, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-12)


# ------------------------------------------------------------- serialization and export ----------


@pytest.fixture(scope="module")
def zoo_model() -> keras.Model:
    """Token ids → embedding (mask_zero) → every zoo cell side by side (`rnn_<name>`, last
    output) → Dense: one model, so one `.keras` file and one SavedModel cover every cell."""
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(10, FEATURES, mask_zero=True, name="embedding")(tokens)
    branches = []
    for i, (name, (cls, options, _)) in enumerate(ZOO.items()):
        branches.append(cls(UNITS, name=f"rnn_{name}", seed=i, **options)(x))
    outputs = keras.layers.Dense(2, name="head")(keras.layers.Concatenate()(branches))
    return keras.Model(tokens, outputs)


def token_batch() -> np.ndarray:
    return np.array([[3, 5, 7, 2, 0, 0], [1, 2, 3, 4, 5, 6], [9, 0, 0, 0, 0, 0]], np.int32)


def test_every_cell_saves_and_loads_with_safe_mode(zoo_model, tmp_path):
    path = tmp_path / "zoo.keras"
    zoo_model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded(token_batch()), zoo_model(token_batch()), atol=1e-6)
    for name, (cls, options, _) in ZOO.items():
        layer = loaded.get_layer(f"rnn_{name}")
        assert type(layer) is cls
        assert {k: layer.get_config()[k] for k in options} == options


def test_every_cell_exports_serve_and_gates(zoo_model, tmp_path):
    """One SavedModel: `serve` equals the model, `gates` holds each cell's own gates, equal to
    its `trace` on the embedded (masked) tokens."""
    export_saved_model(zoo_model, tmp_path / "saved")
    served = tf.saved_model.load(str(tmp_path / "saved"))
    x = token_batch()
    np.testing.assert_allclose(served.serve(x)["outputs"], zoo_model(x), atol=1e-5)
    exported = served.gates(x)
    embedded = zoo_model.get_layer("embedding")(x)
    for name in ZOO:
        layer = zoo_model.get_layer(f"rnn_{name}")
        traced = layer.trace(embedded, mask=x != 0)
        assert {k for k in exported if k.startswith(f"rnn_{name}/")} == {
            f"rnn_{name}/{g}" for g in layer.cell.gate_names
        }
        for gate, values in traced.items():
            np.testing.assert_allclose(exported[f"rnn_{name}/{gate}"], values, atol=1e-5)


TANH_CANDIDATE, LINEAR_CANDIDATE = ("lstm_peephole", "gru_nrg", "slstm"), ("lstm_niaf", "mingru")


def test_candidate_pictures_follow_the_cells_activation(zoo_model, tmp_path, monkeypatch):
    """`GateTensorBoard`'s candidate heatmap names the cell's own candidate activation and is
    coloured on its range: [-1, 1] for tanh, ±the largest magnitude for a linear candidate
    (NIAF, minGRU, minLSTM; small values here, so the old ±max(1, ·) scale would be too wide),
    whose title claims no [-1, 1]."""
    drawn, scales = {}, []
    heatmap, value_range = gate_plots.heatmap, gate_plots.value_range

    def spy_heatmap(title, gate, sequences, cell=None):
        pixels = heatmap(title, gate, sequences, cell)
        values = np.concatenate([s.values.ravel() for s in sequences])
        drawn[title.split(" · ")[0], gate] = (title, values, scales[-1])
        return pixels

    monkeypatch.setattr(gate_plots, "heatmap", spy_heatmap)
    monkeypatch.setattr(
        gate_plots, "value_range", lambda *a: scales.append(value_range(*a)) or scales[-1]
    )
    callback = GateTensorBoard(tmp_path, token_batch())
    callback.set_model(zoo_model)
    callback.on_train_begin()
    callback.log(0, images=True)
    callback.finish()
    for name in TANH_CANDIDATE:
        title, _, scale = drawn[f"rnn_{name}", "candidate"]
        assert "(the new content (tanh), in [-1, 1])" in title and scale == (-1.0, 1.0, "RdBu_r")
    for name in (*LINEAR_CANDIDATE, "minlstm"):
        title, values, scale = drawn[f"rnn_{name}", "candidate"]
        largest = float(np.abs(values).max())
        assert "(the new content (linear), unbounded)" in title and "[-1, 1]" not in title
        assert 0 < largest < 1 and scale == (-largest, largest, "RdBu_r")
    assert drawn["rnn_mingru", "update"][2] == (0.0, 1.0, "viridis")  # gates stay [0, 1]


# ------------------------------------------------------------ the real command line ----------

SWEPT = ("mgu", "mingru", "slstm")  # keeps at 0; parallel scan; extra states and gates


def test_zoo_sweep_trains_and_shows_each_cells_gates(tmp_path):
    """One real sweep over three zoo models: every run ok, `metrics.json` holds the retention,
    and TensorBoard has a heatmap per gate the cell actually has (plus `retention`) and the
    context_switch retention scalars under one name."""
    sweep_dir = tmp_path / "sweep"
    overrides = [o for o in TINY if not o.startswith("logger=")]
    result = run_cli(
        [
            "-m",
            "experiments.train",
            "-m",
            *overrides,
            f"model={','.join(SWEPT)}",
            "logger=tensorboard",
            "logger.every_n_epochs=0",
            "export=false",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in SWEPT:
        (run_dir,) = [p.parent for p in sweep_dir.glob(f"*model={name}*/metrics.json")]
        record = json.loads((run_dir / "metrics.json").read_text())
        assert record["status"] == "ok", record
        retention = [record[f"retention_{w}"] for w in ("at_but", "at_and", "elsewhere")]
        assert all(0.0 <= r <= 1.0 for r in retention)
        cls, options, _ = ZOO[name]
        gate_names = cls(UNITS, **options).cell.gate_names
        events = read_events(run_dir / "tb")
        layer = layer_name(functools.partial(cls), 0)  # named by its class (mgu: gru_0)
        heatmaps = sorted(t for t in events if t.startswith(f"heatmaps/{layer}/"))
        first = list(dict.fromkeys([cls(UNITS, **options).cell.retention_gate, "retention"]))
        shown = [t.split("/")[-1].split("_", 1)[1] for t in heatmaps[: len(first)]]
        assert shown == first  # the memory gate first (the sLSTM's is its retention)
        assert {t.split("/")[-1].split("_", 1)[1] for t in heatmaps} == {*gate_names, "retention"}
        scalars = {t for t in events if t.startswith(f"context_switch/{layer}/retention_")}
        assert len(scalars) == 4


# ---------------------------------------------------------------- configs and errors ----------


@pytest.mark.parametrize("name", list(ZOO))
def test_model_config_builds_the_cell(compose_cfg, name):
    """`model=<name>` composes and builds the layer class with the variant's options."""
    cfg = compose_cfg([f"model={name}"])
    layer = instantiate(cfg.model.layer)(return_sequences=False, name="rnn_0")
    cls, options, _ = ZOO[name]
    assert type(layer) is cls and cfg.model.name == name
    assert {k: getattr(layer.cell, k) for k in options} == options


def test_keras_layers_keep_their_config():
    """Without a variant, our LSTM/GRU configs carry no variant key (they stay Keras's), and a
    variant's config rebuilds the same variant."""
    switches = {key for _, options, _ in ZOO.values() for key in options} - {"reset_after"}
    for layer in (layers.LSTM(2), layers.GRU(2)):
        assert not switches & set(layer.get_config())
    variant = layers.LSTM(2, peephole=True, coupled_gates=True)
    rebuilt = layers.LSTM.from_config(variant.get_config())
    assert rebuilt.cell.peephole and rebuilt.cell.coupled_gates
    assert rebuilt.cell.gate_names == ("input", "forget", "candidate", "output", "cell", "hidden")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: layers.LSTM(2, forget_gate="no"), "`forget_gate`, expected True or False"),
        (lambda: layers.LSTM(2, coupled_gates=True, input_gate=False), "needs `input_gate=True`"),
        (lambda: layers.GRU(2, gate_inputs="x"), "`gate_inputs`, expected one of 'all'"),
        (lambda: layers.GRU(2, tied_gates=True, reset_gate=False), "needs `reset_gate=True`"),
        (
            lambda: layers.MinGRU(2, recurrent_dropout=0.1),
            "`recurrent_dropout`, expected 0 (the default) for MinGRUCell",
        ),
        (lambda: layers.MinLSTM(2, activation="tanh"), "is linear, got 'tanh'"),
        (
            lambda: layers.MinGRU(2, recurrent_regularizer="l2"),
            "`recurrent_regularizer`, expected None (the default) for MinGRUCell",
        ),
        (
            lambda: layers.MinLSTM(2, recurrent_initializer="zeros"),
            "`recurrent_initializer`, expected 'orthogonal' (the default) for MinLSTMCell",
        ),
        (lambda: layers.MinGRU(2, unroll=True), "`unroll`, expected False for MinGRU"),
        (
            lambda: layers.MinLSTM(2, recurrent_activation="relu"),  # 0 / 0: NaN states
            "`recurrent_activation`, expected one of ('sigmoid',) for MinLSTMCell",
        ),
        (
            lambda: layers.MinGRU(2, recurrent_activation="tanh"),  # 1 - z > 1: growing states
            "expected one of ('sigmoid', 'hard_sigmoid') for MinGRUCell",
        ),
        (lambda: layers.SLSTM(2, peephole=True), "passed to SLSTM: {'peephole': True}"),
        (lambda: layers.MinGRU(2, reset_after=True), "passed to MinGRU: {'reset_after': True}"),
        (lambda: layers.MinLSTM(2, units_=1), "passed to MinLSTM: {'units_': 1}"),
    ],
)
def test_bad_variant_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


# A MinGRU's config as gatelab wrote it before the scan cells refused recurrent-kernel arguments
# (`keras.saving.serialize_keras_object(MinGRU(2, return_sequences=True))` at commit 0a6328e^).
OLD_SCAN_CONFIG = json.loads(
    '{"name": "min_gru", "trainable": true, "dtype": {"module": "keras", "class_name": '
    '"DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "units": 2, '
    '"use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name": '
    '"GlorotUniform", "config": {"seed": null, "input_axes": null, "output_axes": null}, '
    '"registered_name": null}, "recurrent_initializer": {"module": "keras.initializers", '
    '"class_name": "Orthogonal", "config": {"seed": null, "gain": 1.0}, "registered_name": '
    'null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", '
    '"config": {}, "registered_name": null}, "kernel_regularizer": null, '
    '"recurrent_regularizer": null, "bias_regularizer": null, "kernel_constraint": null, '
    '"recurrent_constraint": null, "bias_constraint": null, "dropout": 0.0, '
    '"recurrent_dropout": 0.0, "seed": null, "recurrent_activation": "sigmoid", '
    '"return_sequences": true, "return_state": false, "go_backwards": false, "stateful": '
    'false, "unroll": false, "zero_output_for_mask": false, "activity_regularizer": null}'
)


@pytest.mark.parametrize("cls", [layers.MinGRU, layers.MinLSTM])
def test_scan_cells_load_configs_saved_with_recurrent_kernel_defaults(cls):
    """Configs saved before the scan cells refused recurrent-kernel arguments hold their
    defaults (a serialized orthogonal initializer, None, 0, `unroll` False): they still load
    as `.keras` files read them, run, and say nothing of them when saved again."""
    name = cls.__name__
    layer = keras.saving.deserialize_keras_object(
        {
            "module": "layers.minimal",
            "class_name": name,
            "config": OLD_SCAN_CONFIG | {"name": name.lower()},
            "registered_name": f"gatelab>{name}",
        }
    )
    assert type(layer) is cls and layer(inputs()[0]).shape[-1] == 2
    config = layer.get_config()
    assert not {k for k in config if k.startswith("recurrent_")} - {"recurrent_activation"}


def test_scan_cells_take_gate_activations_that_keep_their_range():
    """hard_sigmoid for minGRU's gate, and a function of the user's, are taken and run."""
    x = inputs()[0]
    for layer in (
        layers.MinGRU(UNITS, recurrent_activation="hard_sigmoid"),
        layers.MinLSTM(UNITS, recurrent_activation=lambda z: keras.ops.sigmoid(2 * z)),
    ):
        assert np.all(np.isfinite(layer(x)))
