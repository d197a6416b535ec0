"""The gate explorer TensorBoard plugin (`experiments/explorer/`): its routes on real tiny trained
runs (a werkzeug test client), and its tab in a real TensorBoard driven by headless Chromium."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import inspect
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from tensorboard import default, program

from data.base import Split
from data.context_switch import ID, NAMES, ContextSwitchTask
from data.text import TextTask
from data.text import encode as text_encode
from experiments.bench import explorer as timing
from experiments.cli.config import register_schemas
from experiments.explorer import cache as models
from experiments.explorer import inputs, saved, summary
from experiments.explorer.cache import ModelCache, TracedModel
from experiments.explorer.plugin import STATIC, GateExplorerPlugin, default_run
from experiments.tensorboard import gate_stats, probe
from experiments.train import train
from layers import GateTracer
from tests.conftest import CONF, TINY

SENTENCE = "alice likes pizza but bob likes ___"  # the tutorial's sentence, in the task's words
LSTM_RUN, ADDING_RUN = "lstm/tb", "adding/tb"
OLD_RUN = "old"  # the LSTM's SavedModel alone: a run without the plugin's data (or one's own model)
BASE = [o for o in TINY if not o.startswith("logger=")] + [
    "logger=tensorboard",
    "logger.every_n_epochs=1",
]
RUNS = {
    "lstm": ["model=lstm"],
    # A feature task, with Keras's built-in GRU (two layers): traced through the SavedModel.
    # One epoch: only the LSTM's logged epochs are compared.
    "adding": [
        *["data=adding", "data.seq_len=12", "model=keras_gru", "model.num_layers=2"],
        "trainer.epochs=1",
    ],
}


@pytest.fixture(scope="module")
def logdir(tmp_path_factory) -> Path:
    """A logdir with two tiny runs trained by `experiments.train.train` (the LSTM for 2 epochs,
    the GRUs for 1), and `old/saved_model/`, a copy of the LSTM's SavedModel with nothing else."""
    root = tmp_path_factory.mktemp("explorer")
    register_schemas()
    for name, overrides in RUNS.items():
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("train", overrides=[*BASE, *overrides, f"output_dir={root / name}"])
        assert train(cfg)["status"] == "ok"
    shutil.copytree(root / "lstm" / "saved_model", root / OLD_RUN / "saved_model")
    return root


@pytest.fixture(scope="module")
def client(logdir):
    return timing.client(logdir)[0]


def get(client, route: str, **query) -> tuple[int, dict]:
    response = client.get(f"/data/plugin/gate_explorer/{route}", query_string=query)
    assert response.headers["Content-Type"].startswith("application/json")
    return response.status_code, json.loads(response.get_data())


@functools.cache
def load(logdir: Path, run: str) -> keras.Model:
    return keras.saving.load_model(logdir / run / "model.keras")


def test_the_installed_entry_point_gives_a_tab(client):
    assert GateExplorerPlugin in default.get_dynamic_plugins()
    listing = json.loads(client.get("/data/plugins_listing").get_data())["gate_explorer"]
    assert listing["enabled"] and listing["tab_name"] == "Gate explorer"
    assert listing["loading_mechanism"]["module_path"].endswith("/gate_explorer/index.js")
    page = client.get("/data/plugin_entry.html", query_string={"name": "gate_explorer"})
    assert page.status_code == 200 and b'import("./index.js")' in page.get_data()
    script = client.get("/data/plugin/gate_explorer/index.js")
    assert script.status_code == 200 and script.headers["Content-Type"].startswith(
        "text/javascript"
    )
    assert client.get("/data/plugin/gate_explorer/static/../plugin.py").status_code == 404


def test_the_page_renders_text_only_and_loads_nothing_from_outside():
    for path in STATIC.iterdir():
        source = path.read_text()
        for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "://"):
            assert forbidden not in source, (path.name, forbidden)


def test_runs_lists_every_run_with_layers_and_gates_but_no_vocabulary(client, logdir):
    status, body = get(client, "runs")
    assert status == 200 and body["max_steps"] == inputs.MAX_STEPS
    runs = {r["run"]: r for r in body["runs"]}
    assert list(runs) == [ADDING_RUN, LSTM_RUN, OLD_RUN]
    lstm, adding, old = runs[LSTM_RUN], runs[ADDING_RUN], runs[OLD_RUN]
    assert (lstm["model"], lstm["data"], lstm["seq_len"]) == ("lstm", "context_switch", 5)
    assert (adding["model"], adding["data"], adding["seq_len"]) == ("keras_gru", "adding", 12)
    for run, entry in runs.items():
        traced = GateTracer(load(logdir, "adding" if run == ADDING_RUN else "lstm"))
        gates = {layer: sorted(v["gates"]) for layer, v in entry["layers"].items()}
        x = np.ones((1, 3, 2), np.float32) if run == ADDING_RUN else np.ones((1, 3), np.int32)
        assert gates == {layer: sorted(g) for layer, g in traced(x).items()}
        assert entry["traceable"] and entry["why"] is None
        assert {"vocab", "labels"}.isdisjoint(entry["task"]) and "examples" not in entry
    assert (
        lstm["layers"]["lstm_0"]["memory_gate"]
        == old["layers"]["lstm_0"]["memory_gate"]
        == "forget"
    )
    assert lstm["task"]["vocab_size"] == len(load_spec().vocab) and lstm["probe"]
    assert lstm["example"]["text"].split()[lstm["example"]["marks"]["switch"][0]] in ("but", "and")
    assert (old["probe"], old["task"]["vocab_size"], old["task"]["input_kind"]) == (
        False,
        None,
        "tokens",
    )
    assert (old["task"]["output"], old["task"]["n_outputs"]) == ("last", load_spec().n_outputs)
    assert (adding["task"]["input_dim"], adding["task"]["output"]) == (2, "last")
    status, body = get(client, "vocab", run=LSTM_RUN, start=3, count=5)
    assert status == 200 and body["tokens"] == list(load_spec().vocab[4:9])
    assert body["total"] == len(load_spec().vocab) - 1  # typeable: padding left out
    for query in [{"count": inputs.MAX_LISTED + 1}, {"start": "-1"}, {"count": "x"}]:
        status, body = get(client, "vocab", run=LSTM_RUN, **query)
        assert status == 400 and f"`count` one in [1, {inputs.MAX_LISTED}]" in body["error"]
    status, body = get(client, "vocab", run=OLD_RUN)
    assert status == 400 and "has no vocabulary to list" in body["error"]


def test_trace_of_a_sentence_equals_the_layers_trace(client, logdir):
    status, body = get(client, "trace", run=LSTM_RUN, text=SENTENCE)
    assert status == 200, body
    words = SENTENCE.split()
    assert body["tokens"] == words
    model = load(logdir, "lstm")
    x = np.array([[ID[w] for w in words]], np.int32)
    expected = GateTracer(model)(x)
    assert set(body["gates"]) == set(expected)
    for layer, gates in expected.items():
        assert set(body["gates"][layer]) == set(gates)
        for gate, value in gates.items():
            got = np.asarray(body["gates"][layer][gate])
            assert got.shape == (len(words), 8)
            np.testing.assert_allclose(got, value.numpy()[0], atol=2e-6, err_msg=gate)
    logits = np.asarray(model(x, training=False))[0]
    probabilities = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    top = body["prediction"]["top"]
    assert len(top) == inputs.TOP_CLASSES
    assert top[0]["label"] == summary.target_label(load_spec(), np.argmax(probabilities))
    np.testing.assert_allclose(top[0]["probability"], probabilities.max(), rtol=1e-5)


def test_intervene_clamps_a_gate_at_one_step_as_the_tracer_does(client, logdir):
    words, step = SENTENCE.split(), 2
    query = {"run": LSTM_RUN, "text": SENTENCE, "layer": "lstm_0", "gate": "forget"}
    status, body = get(client, "intervene", **query, step=step, value=0)
    assert status == 200, body
    model = load(logdir, "lstm")
    x = np.array([[ID[w] for w in words]], np.int32)
    where = (np.arange(len(words)) == step)[None, :, None]
    logits, _ = GateTracer(model).intervene(x, {"lstm_0/forget": (where, 0.0)})
    for prediction, expected in [
        (body["before"], model(x, training=False)),
        (body["after"], logits),
    ]:
        expected = np.asarray(expected)[0]
        probabilities = np.exp(expected - expected.max()) / np.exp(expected - expected.max()).sum()
        top = prediction["top"][0]
        assert top["label"] == summary.target_label(load_spec(), np.argmax(probabilities))
        np.testing.assert_allclose(top["probability"], probabilities.max(), rtol=1e-5)
    changes = body["changes"]["lstm_0"]
    assert changes["forget"]["from"] == step and changes["cell"]["from"] == step
    for key, change in changes.items():
        assert change["from"] is None or change["from"] >= step, key
        assert max(change["largest"][:step], default=0) == 0, key
    assert any(c["from"] is not None and c["from"] > step for c in changes.values())
    status, body = get(client, "intervene", **query, step=step, unit=3, value=1)
    assert status == 200 and body["clamp"]["unit"] == 3
    assert body["changes"]["lstm_0"]["forget"]["from"] == step
    for bad, expected in [
        (
            {"step": len(words), "value": 1},
            f"`step` must be a whole number in [0, {len(words) - 1}]",
        ),
        ({"step": "x", "value": 1}, "`step` must be a whole number"),
        ({"step": 1, "value": "0.5"}, "`value` must be one of 0, 1, patch; got '0.5'"),
        ({"step": 1, "value": 1, "unit": 8}, "`unit` must be a whole number in [0, 7]"),
        ({"step": 1, "value": 1, "gate": "nope"}, "unknown layer/gate 'lstm_0'/'nope'"),
    ]:
        status, body = get(client, "intervene", **(query | bad))
        assert status == 400 and set(body) == {"error"} and expected in body["error"], body


def test_intervene_patches_a_gate_from_a_second_sentence_as_the_tracer_does(client, logdir):
    """`value=patch`: the gate at the switch word takes its value in the "and" sentence; a
    sentence patched with its own values is unchanged (to the last bit of what is sent)."""
    words, step = SENTENCE.split(), SENTENCE.split().index("but")
    other = SENTENCE.replace("but", "and")
    query = {"run": LSTM_RUN, "text": SENTENCE, "layer": "lstm_0", "gate": "forget", "step": step}
    tracer = GateTracer(load(logdir, "lstm"))
    x = np.array([[ID[w] for w in words]], np.int32)
    source = np.array([[ID[w] for w in other.split()]], np.int32)
    donor = tracer(source)["lstm_0"]["forget"].numpy()  # (1, time, units)
    where = (np.arange(len(words)) == step)[None, :, None]
    expected, _ = tracer.intervene(x, {"lstm_0/forget": (where, donor)})
    expected = np.asarray(expected)[0]
    status, body = get(client, "intervene", **query, value="patch", source=other)
    assert status == 200, body
    assert body["source"] == {"tokens": other.split(), "unknown": []}
    assert body["clamp"]["value"] == "patch"
    np.testing.assert_allclose(body["patched"], donor[0, step], atol=2e-6)
    probabilities = np.exp(expected - expected.max()) / np.exp(expected - expected.max()).sum()
    top = body["after"]["top"][0]
    assert top["label"] == summary.target_label(load_spec(), np.argmax(probabilities))
    np.testing.assert_allclose(top["probability"], probabilities.max(), rtol=1e-5)
    assert body["changes"]["lstm_0"]["forget"]["from"] == step
    status, body = get(client, "intervene", **query, value="patch", source=SENTENCE)
    assert status == 200 and body["before"] == body["after"], body
    assert all(c["from"] is None for c in body["changes"]["lstm_0"].values())
    status, body = get(client, "intervene", **query, unit=3, value="patch", source=other)
    assert status == 200 and len(body["patched"]) == 1
    np.testing.assert_allclose(body["patched"][0], donor[0, step, 3], atol=2e-6)
    for bad, expected_error in [
        ({}, "`value=patch` needs `source`"),
        ({"source": "alice likes"}, "`source` has 2 steps; patching step 3 needs at least 4"),
        ({"source": " ".join(["alice"] * 1001)}, "`source` (the second input): the input has"),
    ]:
        status, body = get(client, "intervene", **(query | {"value": "patch"} | bad))
        assert status == 400 and expected_error in body["error"], body


def load_spec():
    return ContextSwitchTask(seq_len=5, n_train=200, n_val=50, n_test=50).spec


def test_trace_of_values_on_a_feature_task_with_keras_layers(client, logdir):
    rng = np.random.default_rng(0)
    values = np.stack([rng.random(9), np.eye(9)[2] + np.eye(9)[6]], axis=1).astype(np.float32)
    status, body = get(client, "trace", run=ADDING_RUN, values=json.dumps(values.tolist()))
    assert status == 200, body
    model = load(logdir, "adding")
    expected = GateTracer(model)(values[None])
    assert len(expected) == 2 and set(body["gates"]) == set(expected)
    for layer, gates in expected.items():
        for gate, value in gates.items():
            got = np.asarray(body["gates"][layer][gate])
            np.testing.assert_allclose(got, value.numpy()[0], atol=2e-6, err_msg=f"{layer}/{gate}")
    predicted = float(np.asarray(model(values[None], training=False))[0, 0])
    np.testing.assert_allclose(body["prediction"]["value"], predicted, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(body["input"], values, rtol=1e-6)


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"run": "nope/tb", "text": SENTENCE}, "unknown run 'nope/tb'; the runs are: "),
        ({"run": "../lstm", "text": SENTENCE}, "unknown run '../lstm'"),
        (
            {"run": LSTM_RUN, "text": "alice likes pizzza but robert likes ___"},
            "not in the run's vocabulary: 'pizzza', 'robert'. Allowed words: ___ likes",
        ),
        ({"run": LSTM_RUN, "text": "  \n "}, "the input is empty: type at least one word"),
        (
            {"run": LSTM_RUN, "text": " ".join(["alice"] * (inputs.MAX_STEPS + 1))},
            f"the input has {inputs.MAX_STEPS + 1} words; at most {inputs.MAX_STEPS} are allowed",
        ),
        ({"run": LSTM_RUN}, "send exactly one of `text` and `values` (this run reads `text`)"),
        ({"run": LSTM_RUN, "values": "[[1, 2]]"}, "reads text, not values"),
        ({"run": ADDING_RUN, "text": "1 2"}, "reads features, not text: send `values`"),
        ({"run": ADDING_RUN, "values": "[[1, 2"}, "`values` is not a JSON array of shape"),
        ({"run": ADDING_RUN, "values": "[" * 5000}, "`values` is not a JSON array of shape"),
        ({"run": ADDING_RUN, "values": "[[1, 2, 3]]"}, "`values` has shape (1, 3); expected"),
        ({"run": ADDING_RUN, "values": "[]"}, "the input is empty: type at least one step"),
        ({"run": ADDING_RUN, "values": "[[1, NaN]]"}, "NaN or infinity"),
        (
            {"run": ADDING_RUN, "values": json.dumps([[0, 0]] * (inputs.MAX_STEPS + 1))},
            f"the input has {inputs.MAX_STEPS + 1} steps; at most {inputs.MAX_STEPS}",
        ),
    ],
    ids=lambda v: None if isinstance(v, dict) else v[:25],
)
def test_bad_requests_get_400_with_what_was_wrong(client, query, expected):
    status, body = get(client, "trace", **query)
    assert status == 400 and set(body) == {"error"}
    assert expected in body["error"], body["error"]
    if "unknown run" in expected:
        assert f"'{LSTM_RUN}'" in body["error"] and f"'{ADDING_RUN}'" in body["error"]


def test_a_request_reads_only_its_own_runs_description(client, monkeypatch):
    """A `trace` or `probe` costs the same however many runs the logdir holds."""
    parsed = []
    parse = summary.parse_description
    monkeypatch.setattr(summary, "parse_description", lambda raw: parsed.append(raw) or parse(raw))
    assert get(client, "trace", run=LSTM_RUN, text="alice")[0] == 200
    assert get(client, "probe", run=ADDING_RUN, layer="gru_1", gate="reset")[0] == 200
    assert len(parsed) == 2
    assert get(client, "trace", run="nope/tb", text="alice")[0] == 400
    assert len(parsed) == 2  # an unknown run: the runs are named by name, no description read


def test_probe_holds_the_logged_epochs_and_the_last_equals_the_trained_model(client, logdir):
    status, body = get(client, "probe", run=LSTM_RUN, layer="lstm_0", gate="forget")
    assert status == 200, body
    assert body["steps"] == [0, 1]  # every_n_epochs=1, two epochs
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[*BASE, *RUNS["lstm"]])
    examples = probe.select(instantiate(cfg.data).splits()["val"], 8)
    traced = GateTracer(load(logdir, "lstm"))(examples.x)["lstm_0"]["forget"].numpy()
    lengths = [gate_stats.real_length(row) for row in probe.full_mask(examples.x)]
    last = body["values"][-1]
    assert len(last) == summary.PROBE_EXAMPLES
    for i, values in enumerate(last):
        np.testing.assert_allclose(np.asarray(values), traced[i, : lengths[i]], atol=2e-6)
    assert not np.allclose(body["values"][0][0], last[0], atol=1e-4)  # training changed it
    assert body["predictions"][-1][0]["top"][0]["label"] in load_spec().labels
    status, body = get(client, "probe", run=LSTM_RUN, layer="lstm_0", gate="update")
    assert (
        status == 400
        and "unknown layer/gate 'lstm_0'/'update'; the run has lstm_0: " in body["error"]
    )


def test_a_run_without_a_saved_model_still_shows_its_logged_probe(logdir, tmp_path):
    shutil.copytree(logdir / "lstm" / "tb", tmp_path / "lstm" / "tb")
    client, _ = timing.client(tmp_path)
    status, body = get(client, "runs")
    assert [(r["run"], r["traceable"]) for r in body["runs"]] == [(LSTM_RUN, False)]
    status, body = get(client, "trace", run=LSTM_RUN, text=SENTENCE)
    assert status == 400 and "has no exported SavedModel" in body["error"]
    status, body = get(client, "probe", run=LSTM_RUN, layer="lstm_0", gate="input")
    assert status == 200 and body["steps"] == [0, 1]


def sentence_gates(logdir: Path, words: list[str]) -> dict:
    """`GateTracer`'s gates of the trained LSTM on `words` (context_switch's ids)."""
    x = np.array([[ID[w] for w in words]], np.int32)
    return {k: v.numpy()[0] for k, v in GateTracer(load(logdir, "lstm"))(x)["lstm_0"].items()}


def test_a_saved_model_alone_is_traced_from_token_ids_and_has_no_probe(client, logdir):
    words = SENTENCE.split()
    ids = " ".join(str(ID[w]) for w in words)
    status, body = get(client, "trace", run=OLD_RUN, text=ids)
    assert status == 200, body
    assert body["tokens"] == ids.split() and body["unknown"] == []
    best = body["prediction"]["top"][0]["label"]  # the labels travel with the SavedModel
    assert best in load_spec().labels, best
    for gate, value in sentence_gates(logdir, words).items():
        np.testing.assert_allclose(body["gates"]["lstm_0"][gate], value, atol=2e-6, err_msg=gate)
    status, body = get(client, "trace", run=OLD_RUN, text="7 likes 8")
    assert status == 400 and "not token ids: 'likes'. This run has no vocabulary" in body["error"]
    status, body = get(client, "trace", run=OLD_RUN, text="7 2 999")
    assert status == 400 and body["error"].startswith(
        f"run '{OLD_RUN}': the model refused the input: "
    )
    assert f"token ids must be integers in [0, {len(load_spec().vocab) - 1}]" in body["error"]
    status, body = get(client, "probe", run=OLD_RUN, layer="lstm_0", gate="forget")
    assert status == 400 and f"run '{OLD_RUN}' has no logged probe" in body["error"]


def test_a_runs_own_tokenisation_and_unknown_words_are_read_as_training_did(logdir, tmp_path):
    """`preprocessing.json` (one's own data) gives the vocabulary and the rule: lower-cased
    words, and `<unk>` (id 1) for words outside the vocabulary; a run with no plugin data, alone
    in a logdir, still enables the tab."""
    shutil.copytree(logdir / "lstm" / "saved_model", tmp_path / "own" / "saved_model")
    vocab = ["<pad>", "<unk>", *load_spec().vocab[2:]]  # id 1 ("___") becomes <unk>
    rule = {"kind": "tokens", "tokens": "word", "lowercase": True, "vocab": vocab}
    (tmp_path / "own" / "preprocessing.json").write_text(json.dumps(rule))
    client, _ = timing.client(tmp_path)
    assert json.loads(client.get("/data/plugins_listing").get_data())["gate_explorer"]["enabled"]
    status, body = get(client, "trace", run="own", text="Alice LIKES pizza but Bob likes xyz")
    assert status == 200, body
    assert body["tokens"] == [*SENTENCE.split()[:-1], "<unk>"] and body["unknown"] == ["xyz"]
    for gate, value in sentence_gates(logdir, SENTENCE.split()).items():
        np.testing.assert_allclose(body["gates"]["lstm_0"][gate], value, atol=2e-6, err_msg=gate)
    status, body = get(client, "runs")
    assert body["runs"][0]["task"]["vocab_size"] == len(vocab)


def test_a_saved_model_that_does_not_load_answers_503_and_the_others_still_work(
    logdir, tmp_path, monkeypatch
):
    shutil.copytree(logdir / "lstm", tmp_path / "logged", ignore=shutil.ignore_patterns("*.keras"))
    (tmp_path / "logged" / "saved_model" / "saved_model.pb").write_bytes(b"\x12garbage")
    shutil.copytree(logdir / "lstm" / "saved_model", tmp_path / "broken" / "saved_model")
    (tmp_path / "broken" / "saved_model" / "variables" / "variables.index").unlink()
    shutil.copytree(logdir / "adding" / "saved_model", tmp_path / "fine" / "saved_model")
    client, _ = timing.client(tmp_path)
    loads = []
    monkeypatch.setattr(models, "TracedModel", lambda f: loads.append(f) or TracedModel(f))
    status, body = get(client, "runs")
    runs = {r["run"]: r for r in body["runs"]}
    assert status == 200 and list(runs) == ["logged/tb", "broken", "fine"]
    assert not runs["logged/tb"]["traceable"] and "is not a SavedModel" in runs["logged/tb"]["why"]
    assert runs["broken"]["traceable"]  # its signatures read; its variables are gone
    status, body = get(client, "trace", run="logged/tb", text=SENTENCE)
    assert status == 503 and body["error"].startswith("run 'logged/tb' cannot be traced: ")
    assert "saved_model.pb is not a SavedModel" in body["error"]
    for _ in range(2):  # the failed load is remembered, not tried again on every keystroke
        status, body = get(client, "trace", run="broken", text="1 2")
        assert status == 503 and body["error"].startswith("run 'broken' cannot be traced: ")
        assert "saved_model does not load: " in body["error"]
    assert loads == [tmp_path.resolve() / "broken" / "saved_model"]
    assert get(client, "trace", run="fine", values="[[0.5, 1]]")[0] == 200
    status, body = get(client, "probe", run="logged/tb", layer="lstm_0", gate="forget")
    assert status == 200 and body["steps"] == [0, 1]


def test_only_savedmodels_with_the_gates_signature_are_listed(tmp_path):
    from tensorboard.compat.proto import meta_graph_pb2

    meta = meta_graph_pb2.MetaGraphDef()
    meta.signature_def["serve"].inputs["tokens"].dtype = 3
    pb = tmp_path / "other" / "saved_model" / "saved_model.pb"
    pb.parent.mkdir(parents=True)
    body = meta.SerializeToString()  # SavedModel: {1: version, 2: MetaGraphDef}
    pb.write_bytes(b"\x08\x01\x12" + bytes([len(body)]) + body)
    with pytest.raises(saved.SavedModelError, match="has no `gates` signature \\(it has serve\\)"):
        saved.interface(pb)
    assert list(saved.run_folders(tmp_path)) == [tmp_path / "other"]
    client, _ = timing.client(tmp_path)
    status, body = get(client, "runs")
    assert status == 200 and body["runs"] == []


def write_saved_model_pb(
    folder: Path, gates: list[str], inputs_: int = 1, dtype: int = saved.DT_INT32
) -> Path:
    """`folder/saved_model/saved_model.pb` with export's signatures and nothing else: `gates`
    (`inputs_` `(batch, time)` inputs of `dtype`, int32 by default, the float outputs `gates`)
    and `serve` (`outputs` `(batch, 3)`)."""
    from tensorflow.core.protobuf import saved_model_pb2

    model = saved_model_pb2.SavedModel(saved_model_schema_version=1)
    signatures = model.meta_graphs.add().signature_def
    for name in ("gates", "serve"):
        for key in ("tokens", "extra")[:inputs_]:
            signatures[name].inputs[key].dtype = dtype
            signatures[name].inputs[key].tensor_shape.dim.add(size=-1)
            signatures[name].inputs[key].tensor_shape.dim.add(size=-1)
    for gate in gates:
        signatures["gates"].outputs[gate].dtype = 1
    signatures["serve"].outputs["outputs"].tensor_shape.dim.add(size=-1)
    signatures["serve"].outputs["outputs"].tensor_shape.dim.add(size=3)
    pb = folder / "saved_model" / "saved_model.pb"
    pb.parent.mkdir(parents=True)
    pb.write_bytes(model.SerializeToString())
    return pb


def test_a_truncated_or_garbage_saved_model_is_listed_with_why_and_never_a_500(tmp_path):
    """Nothing in a SavedModel file breaks the listing: every truncation of one, a run of 0xff
    bytes (no number: refused at protobuf's 10-byte limit, not read for seconds), a `gates`
    signature without an input. An unreadable one is listed with why (its trace: 503)."""
    pb = write_saved_model_pb(tmp_path / "fine", ["rnn_0/forget"])
    raw = pb.read_bytes()
    for end in range(len(raw)):
        pb.write_bytes(raw[:end])
        with pytest.raises(saved.SavedModelError, match="is not a SavedModel"):
            saved.interface(pb)
    pb.write_bytes(raw)
    garbage = tmp_path / "garbage" / "saved_model" / "saved_model.pb"
    garbage.parent.mkdir(parents=True)
    garbage.write_bytes(b"\xff" * 5000)
    with pytest.raises(saved.SavedModelError, match="a number longer than 10 bytes"):
        saved.interface(garbage)
    fields = b"\x08\x00" * (saved.MAX_FIELDS + 1)  # a meta graph of tiny fields, not read on
    (tmp_path / "fields.pb").write_bytes(b"\x12" + varint(len(fields)) + fields)
    with pytest.raises(saved.SavedModelError, match=f"more than {saved.MAX_FIELDS} fields"):
        saved.interface(tmp_path / "fields.pb")
    write_saved_model_pb(tmp_path / "no_input", ["rnn_0/forget"], inputs_=0)
    write_saved_model_pb(tmp_path / "bad_vocab", ["rnn_0/forget"])
    (tmp_path / "bad_vocab" / "preprocessing.json").write_text('{"kind": "tokens", "vocab": 3}')
    with pytest.raises(saved.ForeignSavedModelError, match="signatures are not export's"):
        saved.interface(tmp_path / "no_input" / "saved_model" / "saved_model.pb")
    client, _ = timing.client(tmp_path)
    status, body = get(client, "runs")
    assert status == 200, body
    runs = {r["run"]: r for r in body["runs"]}
    assert list(runs) == ["bad_vocab", "fine", "garbage"]  # `no_input`: some other model's
    assert not runs["bad_vocab"]["traceable"]
    assert runs["bad_vocab"]["why"].endswith("preprocessing.json: `vocab` is not a list of strings")
    assert runs["fine"]["traceable"] and not runs["garbage"]["traceable"]
    assert (
        runs["garbage"]["why"] == f"{garbage} is not a SavedModel (a number longer than 10 bytes)"
    )
    assert runs["garbage"]["layers"] == {} and runs["garbage"]["task"]["input_kind"] is None
    status, body = get(client, "trace", run="garbage", text="1 2")
    assert status == 503 and body["error"].startswith("run 'garbage' cannot be traced: ")


def varint(n: int) -> bytes:
    """Protobuf's encoding of a whole number >= 0."""
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n >> 7 else 0))
        n >>= 7
        if not n:
            return bytes(out)


def test_only_the_signatures_of_a_large_saved_model_are_read(tmp_path):
    """The graph is skipped by its length: a SavedModel with a 256 MiB graph (a sparse file) is
    read in kilobytes, not loaded whole."""
    import tracemalloc

    from tensorflow.core.protobuf import saved_model_pb2

    pb = write_saved_model_pb(tmp_path / "big", ["rnn_0/forget"])
    saved.interface(pb)  # imports done before memory is traced
    meta = saved_model_pb2.SavedModel.FromString(pb.read_bytes()).meta_graphs[0]
    meta = meta.SerializeToString()
    graph = 256 << 20
    graph_field = b"\x12" + varint(graph)  # MetaGraphDef field 2: `graph_def`
    with pb.open("wb") as file:
        file.write(b"\x08\x01\x12" + varint(len(meta) + len(graph_field) + graph) + meta)
        file.write(graph_field)
        file.truncate(file.tell() + graph)
    tracemalloc.start()
    try:
        layers = saved.interface(pb)["layers"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert layers == {"rnn_0": ["forget"]} and peak < 1 << 20, peak


def test_the_walk_stays_inside_the_logdir_at_any_depth(tmp_path):
    """Links are not followed (a loop, a folder or a SavedModel outside the logdir), and a tree
    deeper than Python's recursion limit (lowered here: a tree deeper than the usual 1,000
    would break pytest's own recursive clean-up of old temporary folders) is walked to its
    bottom."""
    root, outside = tmp_path / "logdir", tmp_path / "outside"
    write_saved_model_pb(outside / "run", ["rnn_0/forget"])
    root.mkdir()
    (root / "loop").symlink_to(root)
    (root / "linked_run").symlink_to(outside / "run")
    (root / "linked_model").mkdir()
    (root / "linked_model" / "saved_model").symlink_to(outside / "run" / "saved_model")
    deep = root.joinpath(*["d"] * 300)
    write_saved_model_pb(deep, ["rnn_0/forget"])
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 150)
    try:
        found = list(saved.run_folders(root))
    finally:
        sys.setrecursionlimit(limit)
    assert found == [deep]
    assert list(saved.run_folders(root, limit=300)) == []  # 300 folders visited at most


def test_a_saved_model_alone_opens_on_the_gate_the_logged_run_would(tmp_path):
    """The sLSTM's memory gate is its traced `retention` (`SLSTMCell.retention_gate`), and its
    gates come in the cell's order, as a logged sLSTM run lists them."""
    from layers.slstm import SLSTMCell

    names = list(SLSTMCell.gate_names)
    write_saved_model_pb(tmp_path / "slstm", [f"rnn_0/{g}" for g in reversed(names)])
    layer = saved.describe(tmp_path / "slstm", tmp_path.resolve())["layers"]["rnn_0"]
    assert layer["gates"] == names and layer["memory_gate"] == SLSTMCell.retention_gate


def test_token_ids_an_int32_cannot_hold_are_refused_not_a_500(client):
    for typed in ("3 4 2147483648", "3 " + "9" * 5000):
        status, body = get(client, "trace", run=OLD_RUN, text=typed)
        assert status == 400 and "whole numbers in [0, 2147483647]" in body["error"], body


def test_loaded_models_are_cached_with_a_bound(logdir):
    client, plugin = timing.client(logdir, max_models=1)
    assert get(client, "trace", run=LSTM_RUN, text="alice")[0] == 200
    first = plugin.models.get(logdir / "lstm" / "saved_model")
    assert get(client, "trace", run=LSTM_RUN, text="bob")[0] == 200
    assert plugin.models.get(logdir / "lstm" / "saved_model") is first  # reused, not reloaded
    assert get(client, "trace", run=ADDING_RUN, values="[[0.5, 1]]")[0] == 200
    assert len(plugin.models) == 1 and plugin.models.keys() == [
        str(logdir / "adding" / "saved_model")
    ]
    with pytest.raises(ValueError, match="argument `size`, expected an integer >= 1, got 0"):
        ModelCache(0)


def test_the_timing_command_times_traces_after_the_load(logdir, capsys):
    timing.main([str(logdir), "--tokens", "30", "--repeats", "2"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("runs: 3 listed in ") and out[0].endswith(" bytes (uncompressed)")
    assert out[1] == f"run {LSTM_RUN} (lstm): 30 tokens", out
    assert out[2].startswith("first trace (loads the SavedModel): ") and out[2].endswith(" s")
    assert out[3].startswith("trace after load, 2 requests: median "), out


def test_a_character_task_reads_every_character_and_a_word_task_lists_the_unknown_ones():
    spec = TextTask(seq_len=20).spec
    examples = Split(np.full((1, 3), 5, np.int32), np.zeros((1, 3), np.int32))
    task = summary.run_description(spec, {}, {}, examples)["task"]
    assert task["characters"]
    x, tokens, unknown = inputs.encode_text(task, "if x:\n  y")
    assert unknown == []
    np.testing.assert_array_equal(x[0], text_encode("if x:\n  y"))
    assert tokens == ["i", "f", "␣", "x", ":", "⏎", "␣", "␣", "y"]
    x, tokens, unknown = inputs.encode_text(task, "café €é")  # as training reads them: <unk>
    np.testing.assert_array_equal(x[0], text_encode("café €é"))
    assert tokens == ["c", "a", "f", "<unk>", "␣", "<unk>", "<unk>"] and unknown == ["é", "€"]

    words = {"name": "table", "input_kind": "tokens", "characters": False}
    words["vocab"] = ["<pad>", "<eos>", *(f"w{i}" for i in range(1000))]  # no <unk>: refused
    with pytest.raises(inputs.InputError) as refused:
        inputs.encode_text(words, "w1 w2000")
    listed = str(refused.value).split("Allowed words: ")[1]
    first = " ".join(f"w{i}" for i in range(inputs.MAX_LISTED))
    assert listed.split(" … ") == [first, f"(1000 in all; the first {inputs.MAX_LISTED} listed)"]


def browser_or_skip() -> None:
    """Skip without Debian's chromium or the playwright package; under CI (.ci/run installs
    both) fail instead."""
    missing = [
        name
        for name, found in [
            ("Debian's chromium (apt-get install chromium)", shutil.which("chromium")),
            ("playwright (the dev extra)", importlib.util.find_spec("playwright")),
        ]
        if not found
    ]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide {' and '.join(missing)} (.ci/run does)")
        pytest.skip(f"needs {' and '.join(missing)}")


@contextlib.contextmanager
def tensorboard_here(logdir: Path) -> Iterator[str]:
    """The `tensorboard` program with every installed plugin over `logdir`, launched in this
    process (TensorFlow is imported already: seconds less than a new process), its URL.

    `launch()` keeps no handle on the server it starts; the public `server_class` argument (the
    factory `TensorBoard` serves with) records it here, so that it is shut down at the end. Its
    Python loader reads the logdir once before serving; `tests/experiments/test_tools.py` opens
    the tab in a `tensorboard` process with the default loader (the Rust data server).
    """
    servers: list[program.WerkzeugServer] = []

    def serve(app, flags) -> program.WerkzeugServer:
        servers.append(program.WerkzeugServer(app, flags))
        return servers[-1]

    board = program.TensorBoard(plugins=default.get_plugins(), server_class=serve)
    board.configure(
        argv=[None, "--logdir", str(logdir), "--host", "127.0.0.1", "--port", "0"]
        + ["--load_fast", "false", "--reload_interval", "0", "--reload_task", "blocking"]
    )
    url = board.launch()
    try:
        yield url
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_the_tab_in_a_real_browser_shows_the_gates_of_the_tutorials_sentence(logdir):
    browser_or_skip()
    from playwright.sync_api import expect, sync_playwright

    from docs.screenshots import launch

    words = SENTENCE.split()
    model = load(logdir, "lstm")
    forget = GateTracer(model)(np.array([[ID[w] for w in words]], np.int32))["lstm_0"]["forget"]
    forget = forget.numpy()[0]  # (time, units)
    best = load_spec().labels[int(np.argmax(model(np.array([[ID[w] for w in words]]))))]
    with tensorboard_here(logdir) as url, sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(f"{url}#gate_explorer")
        frame = page.frame_locator("iframe")
        expect(frame.locator("#strip .token").first).to_be_visible(timeout=60_000)
        frame.locator("#run").select_option(LSTM_RUN)
        expect(frame.locator("#gate")).to_have_value("forget")
        frame.locator("#input").fill(SENTENCE)
        frame.locator("#trace").click()
        expect(frame.locator("#strip .word")).to_have_text(words)
        frame.locator("#units").fill("3")
        frame.locator("#units").press("Enter")
        expect(frame.locator("#strip .value")).to_have_text([f"{v:.3f}" for v in forget[:, 3]])
        shown = [
            float(v)
            for v in frame.locator("#strip .token").evaluate_all(
                "cells => cells.map(c => c.dataset.value)"
            )
        ]
        np.testing.assert_allclose(shown, forget[:, 3], atol=2e-6)
        expect(frame.locator("#prediction .best")).to_have_attribute("data-label", best)
        frame.locator("#reload").click()  # what was typed stays
        expect(frame.locator("#input")).to_have_value(SENTENCE)
        expect(frame.locator("#strip .word")).to_have_text(words)
        first = frame.locator("#strip .token").first.bounding_box()
        canvas = frame.locator("#heatmap").bounding_box()  # its column 0 is under the first word
        frame.locator("#heatmap").hover(position={"x": first["x"] - canvas["x"] + 2, "y": 1})
        readout = frame.locator("#readout").inner_text()
        assert readout.startswith("unit 3, t=0 “alice”: "), readout
        assert abs(float(readout.split(": ")[1]) - forget[0, 3]) < 2e-6
        frame.locator("#heatmap").click(position={"x": first["x"] - canvas["x"] + 2, "y": 1})
        expect(frame.locator("#intervention .clamp")).to_contain_text("clamped to 0 at t=0")
        expect(frame.locator("#before-after")).to_contain_text(f"prediction {best} ")
        expect(frame.locator("#before-after")).to_contain_text(" → ")
        frame.locator("#clamp-value").select_option("patch")  # from the "and" sentence
        expect(frame.locator("#patch-source")).to_have_value(SENTENCE.replace("but", "and"))
        frame.locator("#heatmap").click(position={"x": first["x"] - canvas["x"] + 2, "y": 1})
        expect(frame.locator("#intervention .clamp")).to_contain_text(
            "patched at t=0 “alice” from t=0 “alice”"
        )  # both sentences open alike, so nothing changes
        expect(frame.locator("#intervention")).to_contain_text("no gate or state changed")
        but = frame.locator("#strip .token").nth(words.index("but")).bounding_box()
        frame.locator("#heatmap").click(position={"x": but["x"] - canvas["x"] + 2, "y": 1})
        expect(frame.locator("#intervention .clamp")).to_contain_text(
            f"patched at t={words.index('but')} “but” from t={words.index('but')} “and”"
        )  # the textarea's sentence, not the traced one
        expect(frame.locator('#intervention .changed[data-key="lstm_0/forget"]')).to_contain_text(
            f"from t={words.index('but')} “but”"
        )
        expect(frame.locator("#epoch")).to_have_attribute("max", "1")
        expect(frame.locator("#epoch-label")).to_contain_text("step 1 (epoch 2)")
        frame.locator("#epoch").fill("0")
        expect(frame.locator("#epoch-label")).to_contain_text("step 0 (epoch 1)")
        expect(frame.locator("#probe-strip .token")).not_to_have_count(0)
        frame.locator("#run").select_option(OLD_RUN)  # a SavedModel alone: no slider
        expect(frame.locator("#epoch")).to_be_disabled()
        expect(frame.locator("#probe-info")).to_contain_text("This run has no logged probe")
        expect(frame.locator("#probe-strip .token")).to_have_count(0)
        frame.locator("#input").fill(" ".join(str(ID[w]) for w in words))
        frame.locator("#trace").click()
        expect(frame.locator("#strip .word")).to_have_text([str(ID[w]) for w in words])
        browser.close()


# ---------------------------------------------------------------- where the tutorial is ------

TUTORIAL = ["data.seq_len=4", "data.n_train=2000", "data.n_val=200", "data.n_test=200"]
TUTORIAL += ["model=lstm", "model.units=16", "trainer.epochs=6", "logger.every_n_epochs=0"]


def tiny_task(**changes) -> ContextSwitchTask:
    return ContextSwitchTask(
        **({"seq_len": 5, "n_train": 200, "n_val": 50, "n_test": 50} | changes)
    )


@pytest.fixture(scope="module")
def tutorial_logdir(tmp_path_factory, logdir) -> Path:
    """A logdir where the tutorial's claim holds: `trained/`, an LSTM trained until it answers
    context_switch (seed 0; the forget gate near 0.01 at "but" and 0.96 at "and", also for
    seeds 1-3), at 4 filler words, the shortest length here; `tiny/`, a copy of the module's
    2-epoch LSTM at 5 (a second LSTM run the page must not open on); `adding/`, the GRUs."""
    root = tmp_path_factory.mktemp("tutorial")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[*BASE, *TUTORIAL, f"output_dir={root / 'trained'}"])
    assert train(cfg)["status"] == "ok"
    shutil.copytree(logdir / "lstm", root / "tiny")
    shutil.copytree(logdir / "adding", root / "adding")
    return root


def test_the_listing_opens_on_the_lstm_at_the_shortest_length(client):
    status, body = get(client, "runs")
    assert status == 200 and body["default"] == LSTM_RUN
    runs = [
        {"run": f"{model}@{n}", "model": model, "seq_len": n, "traceable": True, "task": task}
        for model, n, task in [
            ("gru", 10, {"tutorial": {}}),
            ("lstm", 80, {"tutorial": {}}),
            ("lstm", 10, {"tutorial": {}}),
            ("rnn", 10, {"tutorial": {}}),
            ("keras_lstm", 5, {"tutorial": {}}),
            ("lstm", 5, {}),  # no tutorial sentence logged (a SavedModel alone)
        ]
    ]
    assert default_run(runs) == "lstm@10"
    runs[2]["traceable"] = False
    assert default_run(runs) == "lstm@80"  # our LSTM, the tutorial's, before Keras's
    runs[1]["traceable"] = False
    assert default_run(runs) == "keras_lstm@5"  # an LSTM still, before the GRU
    assert default_run([]) is None


def test_a_run_lists_its_tutorial_sentence_favourites_and_filler(client):
    _, body = get(client, "runs")
    lstm = next(r for r in body["runs"] if r["run"] == LSTM_RUN)
    task = tiny_task()
    tutorial = lstm["task"]["tutorial"]
    assert tutorial == task.tutorial()
    favourite = {name: task.spec.labels[task.favourite[i]] for i, name in enumerate(NAMES)}
    assert tutorial["facts"] == {"favourite": favourite, "filler": 5}
    words = tutorial["text"].split()
    assert words[:5] == ["alice", "likes", favourite["alice"], "but", "bob"]
    assert len(words) == 5 + 5 + 2 and words[-2:] == ["likes", "___"]
    assert next(r for r in body["runs"] if r["run"] == ADDING_RUN)["task"]["tutorial"] is None
    status, vocab = get(client, "vocab", run=LSTM_RUN, start=0, count=300)
    assert status == 200 and set(words) <= set(vocab["tokens"])


@pytest.mark.parametrize(
    "change, note",
    [
        (None, None),
        ("contrast", None),
        ("food", "alice's favourite food is {alice} in this run (the table): it never saw"),
        ("fewer", '3 words between "but bob" and "likes": this run was trained with exactly 5'),
        ("more", '7 words between "and" and "likes": this run was trained with exactly 5'),
        ("no switch", 'no "but <name>" or "and" before "likes ___"'),
    ],
)
def test_a_sentence_outside_the_training_gets_a_note(client, change, note):
    tutorial = tiny_task().tutorial()
    favourite = tutorial["facts"]["favourite"]
    words = tutorial["text"].split()
    other = next(f for f in favourite.values() if f != favourite["alice"])
    text = {
        None: tutorial["text"],
        "contrast": tutorial["contrast"],
        "food": " ".join([*words[:2], other, *words[3:]]),
        "fewer": " ".join([*words[:5], *words[5:8], "likes", "___"]),
        "more": tutorial["contrast"].replace(" also ", " very long also "),
        "no switch": f"alice likes {favourite['alice']} likes ___",
    }[change]
    status, body = get(client, "trace", run=LSTM_RUN, text=text)
    assert status == 200, body
    if note is None:
        assert body["notes"] == []
    else:
        assert len(body["notes"]) == 1 and note.format(**favourite) in body["notes"][0]


def test_a_description_with_a_malformed_tutorial_is_not_listed():
    spec = tiny_task().spec
    examples = Split(np.full((1, 3), 5, np.int32), np.zeros(1, np.int32))
    good = summary.run_description(spec, {}, {}, examples, tutorial=tiny_task().tutorial())
    assert summary.parse_description(json.dumps(good)) == good
    for bad in ({"text": 3}, {"text": "a", "facts": {"filler": "5"}}, {"text": "a", "facts": []}):
        good["task"]["tutorial"] = bad
        assert summary.parse_description(json.dumps(good)) is None, bad


def chips_and_ticks(frame) -> tuple[list, list, dict]:
    """The word chips' and the heatmap's x-axis ticks' boxes, and the heatmap's box."""
    chips = frame.locator("#strip .token").evaluate_all(
        "cs => cs.map(c => { const b = c.getBoundingClientRect(); return [b.left, b.right]; })"
    )
    ticks = frame.locator("#heatmap-x .tick").evaluate_all(
        "ts => ts.map(t => { const b = t.getBoundingClientRect();"
        " return [Number(t.dataset.step), (b.left + b.right) / 2]; })"
    )
    return chips, ticks, frame.locator("#heatmap").bounding_box()


def test_the_page_opens_on_the_tutorials_sentence_and_the_forget_gate_drops_at_but(
    tutorial_logdir,
):
    """The page's own default sentence, typed: the right food, and the LSTM's forget gate (mean
    of its units) at "but" below its value at "and" in the sentence that keeps its subject."""
    browser_or_skip()
    from playwright.sync_api import expect, sync_playwright

    from docs.screenshots import launch

    tutorial = ContextSwitchTask(seq_len=4, n_train=2000, n_val=200, n_test=200).tutorial()
    favourite = tutorial["facts"]["favourite"]
    with tensorboard_here(tutorial_logdir) as url, sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(f"{url}#gate_explorer")
        frame = page.frame_locator("iframe")
        expect(frame.locator("#strip .token").first).to_be_visible(timeout=60_000)
        expect(frame.locator("#run")).to_have_value("trained/tb")  # not tiny/ (5 words) or GRUs
        expect(frame.locator("#layer")).to_have_value("lstm_0")
        expect(frame.locator("#gate")).to_have_value("forget")
        expect(frame.locator("#next")).to_have_text(tutorial["hint"])
        expect(frame.locator("#favourites td")).to_have_text([*favourite, *favourite.values()])
        expect(frame.locator("#vocab-list")).to_contain_text("alice bob")
        default = frame.locator("#input").input_value()
        assert default == tutorial["text"]

        def forget_at(text: str, word: str) -> float:
            frame.locator("#input").fill(text)
            frame.locator("#trace").click()
            expect(frame.locator("#strip .word")).to_have_text(text.split())
            values = frame.locator("#strip .token").evaluate_all(
                "cs => cs.map(c => Number(c.dataset.value))"
            )
            return values[text.split().index(word)]

        at_but = forget_at(default, "but")
        expect(frame.locator("#prediction .best")).to_have_attribute("data-label", favourite["bob"])
        expect(frame.locator("#notes .note")).to_have_count(0)
        expect(frame.locator("#heatmap-x .tick").last).to_be_visible()  # laid out (not 0 wide)
        chips, ticks, heatmap = chips_and_ticks(frame)
        assert ticks and all(chips[t][0] < centre < chips[t][1] for t, centre in ticks), ticks
        assert abs(heatmap["x"] + heatmap["width"] - chips[-1][1]) <= 3  # as wide as the chips
        at_and = forget_at(tutorial["contrast"], "and")
        expect(frame.locator("#prediction .best")).to_have_attribute(
            "data-label", favourite["alice"]
        )
        assert at_but < 0.5 < at_and, (at_but, at_and)

        frame.locator("#input").fill(default.replace(" but bob ", " but bob very "))
        expect(frame.locator("#notes .note")).to_contain_text(
            "Outside what this run was trained on: 5 words between"
        )
        frame.locator("#input").fill("alice likes pizzza")  # an error clears the old answer
        expect(frame.locator("#error")).to_contain_text("not in the run's vocabulary: 'pizzza'")
        expect(frame.locator("#strip .token")).to_have_count(0)
        expect(frame.locator("#prediction")).to_be_empty()
        expect(frame.locator("#notes")).to_be_empty()
        frame.locator("#input").fill(default)
        expect(frame.locator("#strip .token")).to_have_count(len(default.split()))
        frame.locator("#run").select_option("tiny/tb")  # what was typed stays
        expect(frame.locator("#input")).to_have_value(default)
        expect(frame.locator("#notes .note")).to_contain_text("exactly 5 filler words")
        browser.close()


def test_a_token_model_exported_with_a_float_input_is_listed_with_why(tmp_path):
    """A SavedModel with export's signatures whose `(batch, time)` input is float32 (a
    person's model without `keras.Input(dtype="int32")`, exported before export refused it)
    is listed with what to do, not silently absent."""
    write_saved_model_pb(tmp_path / "own", ["lstm_0/forget"], dtype=saved.DT_FLOAT)
    client, _ = timing.client(tmp_path)
    status, body = get(client, "runs")
    assert status == 200 and [r["run"] for r in body["runs"]] == ["own"]
    (own,) = body["runs"]
    assert not own["traceable"] and "its input `tokens` is float32 (batch, time)" in own["why"]
    assert 'keras.Input(shape=(None,), dtype="int32")' in own["why"]
    status, body = get(client, "trace", run="own", text="1 2")
    assert status == 503 and "is float32" in body["error"]
