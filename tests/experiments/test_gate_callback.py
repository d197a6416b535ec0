"""Your own model: `GateTensorBoard` in a plain user script (the README's, in a fresh process) and
on nested models, and `GateTracer` inside `Bidirectional`, `TimeDistributed` and sub-models
against an independent numpy recomputation of Keras's equations."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest

import layers
from experiments.tensorboard.callback import GateTensorBoard
from tests import numpy_rnn
from tests.conftest import REPO, run_cli
from tests.experiments.test_tensorboard import LSTM_GATES, decode, read_events

ATOL = 1e-5


def heatmap(events: dict, layer: str, gate: str) -> list:
    """The series of `layer`'s heatmap of `gate`, tagged `heatmaps/<layer>/<k>_<gate>`."""
    (tag,) = [t for t in events if re.fullmatch(rf"heatmaps/{re.escape(layer)}/\d+_{gate}", t)]
    return events[tag]


def readme_example() -> str:
    """The Python block of the README's "Your own model" section."""
    section = (REPO / "README.md").read_text().split("## Your own model", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_the_readme_script_logs_a_keras_lstm_in_a_fresh_process(tmp_path):
    """A user's script (no config of the suite) trains Keras's own LSTM with the callback."""
    script = tmp_path / "train_mine.py"
    script.write_text(readme_example())
    result = run_cli([script.name], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    events = read_events(tmp_path / "logs" / "gates")
    epochs = int(re.search(r"epochs=(\d+)", readme_example()).group(1))
    for gate in (*LSTM_GATES, "retention"):
        series = events[f"gates/lstm/{gate}"]
        assert [step for step, _ in series] == list(range(epochs))
        assert series[-1][1][:, 2].sum() == 64 * 12 * 32  # probe rows × steps × units
        assert [step for step, _ in heatmap(events, "lstm", gate)] == [epochs - 1]
    assert "heatmaps/lstm/0_forget" in events  # the memory gate's picture first in the tab
    for side in ("left", "right"):
        assert 0.0 <= events[f"saturation/lstm/forget_{side}"][-1][1] <= 1.0
    # An LSTM keeps its cell with the forget gate: retention is the forget gate, bucket by bucket.
    np.testing.assert_array_equal(
        events["gates/lstm/retention"][-1][1], events["gates/lstm/forget"][-1][1]
    )
    assert events["timescale/lstm/median"][-1][1] > 0
    assert decode(events["saturation/lstm"][-1][1]).shape[0] > 100
    assert (tmp_path / "logs" / "train").is_dir()  # Keras's own callback beside it


def padded_tokens(seed: int, shape=(4, 7)) -> np.ndarray:
    """Token ids in 1..9 with right padding (0) of different lengths, one full row."""
    x = np.random.default_rng(seed).integers(1, 10, size=shape).astype("int32")
    for row, length in enumerate([shape[1], 5, 3, 6][: shape[0]]):
        x[row, length:] = 0
    return x


def numpy_gates(kind: str, layer, x, mask=None, initial_state=None) -> dict[str, np.ndarray]:
    """Keras's equations in numpy on the layer's own weights: `{gate: (batch, time, units)}`."""
    _, _, gates = numpy_rnn.run(
        kind,
        np.asarray(x, np.float64),
        [np.asarray(w, np.float64) for w in layer.get_weights()],
        layer.units,
        mask=None if mask is None else np.asarray(mask),
        go_backwards=layer.go_backwards,
        initial_state=initial_state,
    )
    return gates


def assert_gates(traced: dict, expected: dict) -> None:
    assert set(traced) == set(expected)
    for gate, values in expected.items():
        np.testing.assert_allclose(np.asarray(traced[gate]), values, atol=ATOL, err_msg=gate)


def test_bidirectional_both_directions_and_an_initial_state_match_numpy():
    tokens = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(10, 4, mask_zero=True, name="embedding")(tokens)
    encoder = keras.layers.LSTM(3, return_state=True, name="encoder")
    _, h, c = encoder(embedded)
    both = keras.layers.Bidirectional(
        keras.layers.LSTM(3, return_sequences=True, name="lstm"), name="bi"
    )
    sequences = both(embedded, initial_state=[h, c, c, h])  # forward [h, c], backward [c, h]
    model = keras.Model(tokens, keras.layers.Dense(2)(sequences))
    x = padded_tokens(0)
    mask = x != 0
    tracer = layers.GateTracer(model)
    assert tracer.names == ["encoder", "bi/forward_lstm", "bi/backward_lstm"]
    traced, masks = tracer(x, return_masks=True)
    e = model.get_layer("embedding")(x).numpy()
    h, c = (np.asarray(v) for v in encoder(e, mask=mask)[1:])
    assert_gates(traced["encoder"], numpy_gates("lstm", encoder, e, mask))
    forward, backward = both.forward_layer, both.backward_layer
    assert backward.go_backwards
    assert_gates(traced["bi/forward_lstm"], numpy_gates("lstm", forward, e, mask, [h, c]))
    assert_gates(traced["bi/backward_lstm"], numpy_gates("lstm", backward, e, mask, [c, h]))
    for name in tracer.names:
        np.testing.assert_array_equal(masks[name], mask)


def test_time_distributed_traces_every_outer_step_as_a_row():
    inputs = keras.Input((3, 5, 2))
    inner = keras.layers.GRU(4, return_sequences=True, name="gru")
    model = keras.Model(inputs, keras.layers.TimeDistributed(inner, name="td")(inputs))
    x = np.random.default_rng(1).normal(size=(2, 3, 5, 2)).astype("float32")
    traced, masks = layers.GateTracer(model)(x, return_masks=True)
    rows = x.reshape(6, 5, 2)  # row b * 3 + j: outer step j of example b
    assert_gates(traced["td/gru"], numpy_gates("gru", inner, rows))
    assert masks["td/gru"] is None
    hidden = np.asarray(traced["td/gru"]["hidden"]).reshape(2, 3, 5, 4)
    np.testing.assert_allclose(hidden, model(x), atol=ATOL)


def test_nested_models_and_a_sequential_without_input_match_numpy():
    """Ours in a functional sub-model that gets the mask from outside, and Keras's GRU after
    Keras's SimpleRNN in a Sequential built by calling it (no graph: run layer by layer)."""
    inner_inputs = keras.Input((None, 4))
    lstm = layers.LSTM(3, return_sequences=True, name="lstm")
    encoder = keras.Model(inner_inputs, lstm(inner_inputs), name="encoder")
    rnn = keras.layers.SimpleRNN(5, return_sequences=True, name="rnn")
    gru = keras.layers.GRU(2, return_sequences=True, name="gru")
    stack = keras.Sequential([rnn, gru], name="stack")
    tokens = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(10, 4, mask_zero=True, name="embedding")(tokens)
    outer = keras.Model(tokens, encoder(embedded))
    x = padded_tokens(2)
    mask = x != 0
    e = outer.get_layer("embedding")(x).numpy()
    traced = layers.GateTracer(outer)(x)["encoder/lstm"]
    assert_gates(traced, numpy_gates("lstm", lstm, e, mask))
    np.testing.assert_allclose(traced["hidden"], outer(x), atol=ATOL)  # Keras masks inside too

    plain = keras.Sequential([keras.layers.Embedding(10, 4, mask_zero=True), stack])
    plain(x)  # built by a call, as `fit` does: no `Input`, no graph
    e = plain.layers[0](x).numpy()
    traced = layers.GateTracer(plain)(x)
    assert sorted(traced) == ["stack/gru", "stack/rnn"]
    assert_gates(traced["stack/rnn"], numpy_gates("rnn", rnn, e, mask))
    h = np.asarray(rnn(e, mask=mask))
    assert_gates(traced["stack/gru"], numpy_gates("gru", gru, h, mask))


def test_a_subclassed_model_or_one_without_recurrent_layer_is_refused_with_the_reason():
    class Mine(keras.Model):
        def __init__(self):
            super().__init__()
            self.lstm = keras.layers.LSTM(2)

        def call(self, x):
            return self.lstm(x)

    model = Mine()
    x = np.zeros((2, 3, 2), "float32")
    model(x)
    with pytest.raises(ValueError, match="subclassed.*functional or Sequential"):
        layers.GateTracer(model)
    model.compile("sgd", "mse")
    callback = GateTensorBoard("logs", probe=x, every_n_epochs=0)
    with pytest.raises(ValueError, match="subclassed"):  # before the first epoch
        model.fit(x, np.zeros((2, 2)), epochs=1, callbacks=[callback], verbose=0)
    assert not model.optimizer.iterations.numpy()
    dense = keras.Sequential([keras.Input((3, 2)), keras.layers.Flatten(), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="no recurrent layer to trace"):
        layers.GateTracer(dense)


def test_the_callback_on_a_two_input_model_with_ours_and_wrappers(tmp_path):
    """Bidirectional(our GRU) on padded tokens and TimeDistributed(Keras's LSTM) on features:
    padding is left out of every count, and the retention scalar at a given step is numpy's."""
    tokens = keras.Input((None,), dtype="int32")
    features = keras.Input((2, 5, 3))
    embedded = keras.layers.Embedding(10, 4, mask_zero=True, name="embedding")(tokens)
    # Named, because an unnamed layer's name counts the layers made before it in the process.
    bi = keras.layers.Bidirectional(layers.GRU(4, return_sequences=True, name="gru"), name="bi")
    pooled = keras.layers.GlobalAveragePooling1D()(bi(embedded))
    td = keras.layers.TimeDistributed(keras.layers.LSTM(3, name="lstm"), name="td")
    joined = keras.layers.Concatenate()([pooled, keras.layers.Flatten()(td(features))])
    model = keras.Model([tokens, features], keras.layers.Dense(2)(joined))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(3)
    x = [padded_tokens(3, (16, 7)), rng.normal(size=(16, 2, 5, 3)).astype("float32")]
    x[0][4:, 4:] = 0
    first = np.zeros(16, int)  # every row's first word
    callback = GateTensorBoard(tmp_path, probe=x, positions={"first": first}, heatmap_examples=2)
    model.fit(x, rng.integers(0, 2, 16), epochs=2, batch_size=8, callbacks=[callback], verbose=0)

    events = read_events(tmp_path)
    real = int((x[0] != 0).sum())
    for direction in ("forward_gru", "backward_gru"):
        for gate in ("update", "reset", "candidate", "hidden", "retention"):
            series = events[f"gates/bi/{direction}/{gate}"]
            assert [s for s, _ in series] == [0, 1] and series[-1][1][:, 2].sum() == real * 4
            assert heatmap(events, f"bi/{direction}", gate)
    assert events["gates/td/lstm/forget"][-1][1][:, 2].sum() == 16 * 2 * 5 * 3
    assert decode(heatmap(events, "td/lstm", "forget")[-1][1]).shape[1] > 50

    gru = bi.forward_layer
    e = model.get_layer("embedding")(x[0]).numpy()
    update = numpy_gates("gru", gru, e, x[0] != 0)["update"]  # Keras's GRU keeps at z → 1
    written = events["retention/bi/forward_gru/at_first"][-1][1]
    assert written == pytest.approx(update[:, 0].mean(), abs=ATOL)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"every_n_epochs": -1}, "`every_n_epochs`, expected an integer >= 0, got -1"),
        ({"heatmap_examples": 0}, "`heatmap_examples`, expected an integer >= 1, got 0"),
        ({"tokens": [["a"]]}, "1 rows of `tokens`, expected one per heatmap sequence \\(3\\)"),
        ({"vocabulary": ["<pad>", "a"]}, "ids span 0..9, outside the `vocabulary` of 2"),
        ({"vocabulary": {"the": 1, "cat": 2}}, "must list the token strings by id .* got dict"),
        ({"positions": {"but": np.zeros(3, int)}}, "one integer step per probe example"),
        ({"positions": {"but": np.array([0, 1, 7, 2])}}, "steps 0..7, outside the probe's 7 steps"),
        ({"positions": {"but": np.array([0, -1, 2, 2])}}, "steps -1..2, outside the probe's 7"),
        ({"probe": np.zeros((4, 7, 2))}, "labels one `\\(n, time\\)` input of integer token"),
        (
            {"probe": [padded_tokens(4), np.zeros((4, 2))], "vocabulary": list("abcdefghij")},
            "one `\\(n, time\\)` input .* shapes \\[\\(4, 7\\), \\(4, 2\\)\\]",
        ),
        (
            {"probe": np.zeros((0, 7), "int32")},
            "at least one example .* got shapes \\[\\(0, 7\\)\\]",
        ),
        (
            {"probe": np.zeros((4, 0), "int32")},
            "at least one example .* got shapes \\[\\(4, 0\\)\\]",
        ),
        ({"probe": [[1, 2], [3, 4]]}, "`probe`, expected an array .* got list holding int"),
        ({"probe": None}, "`probe`, expected an array .* got NoneType"),
        ({"examples": np.zeros((2, 0), "int32")}, "`examples`, expected at least one example"),
    ],
)
def test_bad_arguments_are_refused_with_what_is_allowed(kwargs, message):
    kwargs = {"probe": padded_tokens(4), **kwargs}
    if getattr(kwargs["probe"], "ndim", 2) == 3:
        kwargs["vocabulary"] = ["a"]
    with pytest.raises(ValueError, match=message):
        GateTensorBoard("logs", **kwargs)


def test_a_probe_that_does_not_fit_the_model_is_refused_before_it_is_traced(tmp_path):
    """With `Input`, before the first epoch; a Sequential without `Input` (built by its first
    batch, whose time length is no rule) at its first trace, not deep inside a traced layer."""
    tokens = keras.Input((None,), dtype="int32")
    features = keras.Input((None, 3))
    lstm = keras.layers.LSTM(2)
    two = keras.Model(
        [tokens, features], lstm(features) + lstm(keras.layers.Embedding(10, 3)(tokens))
    )
    two.compile("sgd", "mse")
    x = [padded_tokens(5), np.zeros((4, 5, 3), "float32")]
    for probe, shown in [
        ([x[0], x[1][..., :2]], r"\(\(4, 5, 2\), 'float32'\)\], the model's inputs \["),
        ([x[0]], r"\[\(\(4, 7\), 'int32'\)\], the model's inputs"),
        ([x[1], x[0]], r"\[\(\(4, 5, 3\), 'float32'\), \(\(4, 7\), 'int32'\)\]"),
        ([x[0] + 0.5, x[1]], r"\[\(\(4, 7\), 'float64'\), "),  # token ids must be whole
        ([x[0].astype(str), x[1]], r"\[\(\(4, 7\), '<U"),
    ]:
        callback = GateTensorBoard(tmp_path, probe=probe)
        with pytest.raises(ValueError, match=r"The probe does not fit the model: .*" + shown):
            two.fit(x, np.zeros((4, 2)), callbacks=[callback], verbose=0)
    assert not two.optimizer.iterations.numpy()

    plain = keras.Sequential([keras.layers.Embedding(10, 4), keras.layers.LSTM(2, name="lstm")])
    plain.compile("sgd", "mse")
    y = np.zeros((4, 2))
    callback = GateTensorBoard(tmp_path, probe=np.zeros((4, 7, 3), "float32"))
    with pytest.raises(ValueError, match=r"probe \(shape, dtype\) \[\(\(4, 7, 3\), 'float32'\)\]"):
        plain.fit(x[0], y, epochs=2, callbacks=[callback], verbose=0)
    longer = padded_tokens(6, (4, 11))  # another time length than the batches': allowed
    plain.fit(x[0], y, callbacks=[GateTensorBoard(tmp_path / "ok", probe=longer)], verbose=0)
    assert read_events(tmp_path / "ok")["gates/lstm/forget"][-1][1][:, 2].sum() == 4 * 11 * 2
