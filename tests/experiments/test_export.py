"""SavedModel export: served outputs and gates equal the trained model's in a process that cannot
import gatelab, both endpoints are listed, `.keras` round-trips, no cuDNN ops, clear errors."""

from __future__ import annotations

import importlib
import json
import os
import stat
import subprocess
import sys
from functools import partial
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

import layers
from data.base import TaskSpec
from experiments import outputs
from experiments.export.saved_model import export_saved_model, main
from experiments.pipeline.model import build_model
from tests import numpy_rnn
from tests.conftest import REPO, run_cli

TRAIN_SHAPE = (4, 6)  # (batch, time) of the one training step
SERVE_SHAPES = [(2, 5), (7, 17)]  # both differ from TRAIN_SHAPE in batch and in time
SIGMOID_GATES = {"input", "forget", "output", "update", "reset"}

# Runs in a fresh interpreter (`python -I`, cwd outside the repository) in which gatelab's
# packages cannot be imported at all: the SavedModel must need TensorFlow only.
FRESH = r"""
import importlib.abc, json, sys
BLOCKED = {"layers", "data", "experiments"}

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"gatelab's {name} must not be needed", name=name)

sys.meta_path.insert(0, Block())
import numpy as np
import tensorflow as tf

for case in json.loads(sys.argv[1]):
    loaded = tf.saved_model.load(case["dir"])
    assert {"serve", "serving_default", "gates"} <= set(loaded.signatures), loaded.signatures
    data = np.load(case["npz"])
    for b, t in case["shapes"]:
        x = tf.constant(data[f"x_{b}_{t}"])
        served = loaded.serve(x)["outputs"].numpy()
        default = loaded.signatures["serving_default"](**{case["input"]: x})["outputs"].numpy()
        assert np.abs(served - data[f"y_{b}_{t}"]).max() <= 1e-5, (case["dir"], b, t)
        assert np.array_equal(served, default)
        gates = {k: v.numpy() for k, v in loaded.gates(x).items()}
        assert sorted(gates) == case["gate_keys"], sorted(gates)
        for key, value in gates.items():
            assert np.abs(value - data[f"g_{b}_{t}_{key}"]).max() <= 1e-5, (key, b, t)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not leaked, leaked
print("FRESH OK")
"""


def spec(**changes) -> TaskSpec:
    fields = dict(
        name="toy", seq_len=6, input_kind="tokens", input_dim=11, output="last", n_outputs=3,
        primary_metric="accuracy", higher_is_better=True,
    )  # fmt: skip
    return TaskSpec(**(fields | changes))


def sample(task: TaskSpec, batch: int, time: int, rng: np.random.Generator) -> np.ndarray:
    """Inputs as the task's model takes them; token rows are right-padded with id 0."""
    if task.input_kind == "features":
        return rng.normal(size=(batch, time, task.input_dim)).astype("float32")
    x = rng.integers(1, task.input_dim, size=(batch, time)).astype("int32")
    x[0, time // 2 :] = 0
    return x


def trained_run(run_dir: Path, task: TaskSpec, layer, rng: np.random.Generator) -> keras.Model:
    """A model fitted for one step and saved as a finished run (`model.keras`, status ok)."""
    model = build_model(task, layer, num_layers=2, embedding_dim=5)
    model.compile(optimizer="adam", loss="mse")
    x = sample(task, *TRAIN_SHAPE, rng)
    y = np.asarray(model(x))
    model.fit(x, y + 0.1, epochs=1, batch_size=TRAIN_SHAPE[0], verbose=0)
    run_dir.mkdir(parents=True)
    model.save(run_dir / outputs.MODEL)
    outputs.write_json(run_dir / outputs.METRICS, {"status": "ok"})
    return model


def expected(model: keras.Model, task: TaskSpec, path: Path, rng: np.random.Generator) -> None:
    """Inputs, outputs and flattened gates at every `SERVE_SHAPES` entry, into one .npz."""
    tracer = layers.GateTracer(model)
    arrays = {}
    for b, t in SERVE_SHAPES:
        x = sample(task, b, t, rng)
        arrays |= {f"x_{b}_{t}": x, f"y_{b}_{t}": np.asarray(model(x, training=False))}
        for name, trace in tracer(x).items():
            arrays |= {f"g_{b}_{t}_{name}/{gate}": np.asarray(v) for gate, v in trace.items()}
    np.savez(path, **arrays)


def graph_ops(saved_model_dir: Path) -> set[str]:
    """Every op type in the SavedModel's graph and its function library."""
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((saved_model_dir / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0].graph_def
    return {n.op for n in graph.node} | {n.op for f in graph.library.function for n in f.node_def}


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict:
    """Two finished runs, exported through the command line: ours (tokens, 2 LSTM layers) into
    the run, Keras's LSTM (features, per-step output) in TensorFlow Serving's layout."""
    root = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(0)
    umask = os.umask(0o022)  # the permissions test expects what `mkdir` and `open` give under it
    keras.utils.set_random_seed(0)
    ours_task = spec()
    ours = trained_run(root / "ours", ours_task, partial(layers.LSTM, units=4), rng)
    ours_dir = main([str(root / "ours")])
    builtin_task = spec(input_kind="features", input_dim=2, output="sequence", n_outputs=1)
    builtin_layer = partial(keras.layers.LSTM, units=4, use_cudnn=False)
    builtin = trained_run(root / "builtin", builtin_task, builtin_layer, rng)
    serving = ["--serving", "keras_lstm", "--version", "3", "--out", str(root / "serving")]
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    command_line = subprocess.run(
        [sys.executable, "-m", "experiments.export", str(root / "builtin"), *serving],
        cwd=root, env=environment | {"PYTHONPATH": str(REPO)}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    builtin_dir = root / "serving" / "keras_lstm" / "3"
    cases = []
    for name, model, task, sm_dir, input_name in [
        ("ours", ours, ours_task, ours_dir, "tokens"),
        ("builtin", builtin, builtin_task, builtin_dir, "features"),
    ]:
        npz = root / f"{name}.npz"
        expected(model, task, npz, rng)
        keys = sorted(f"lstm_{i}/{g}" for i in (0, 1) for g in layers.LSTMCell.gate_names)
        cases.append(
            dict(dir=str(sm_dir), npz=str(npz), shapes=SERVE_SHAPES, input=input_name,
                 gate_keys=keys)
        )  # fmt: skip
    os.umask(umask)
    models = {"ours": ours, "builtin": builtin}
    return {
        "root": root,
        "ours": ours,
        "models": models,
        "cases": cases,
        "dirs": [ours_dir, builtin_dir],
        "command_line": command_line,
    }


def test_the_command_line_prints_its_one_line_and_no_tensorflow_start_up_lines(exported):
    """`python -m experiments.export RUN --serving NAME --version N --out DIR` as the README
    shows it, in a fresh process: one line on stdout, nothing on stderr (TensorFlow 2.21's
    start-up lines are filtered whatever TF_CPP_MIN_LOG_LEVEL says)."""
    result = exported["command_line"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == f"SavedModel written to {exported['dirs'][1]}\n"
    assert result.stderr == ""


def test_layouts_and_ordinary_permissions(exported):
    root = exported["root"]
    assert exported["dirs"] == [root / "ours" / outputs.SAVED_MODEL, root / "serving/keras_lstm/3"]
    for path in exported["dirs"]:
        assert (path / "saved_model.pb").is_file() and (path / "variables").is_dir()
        # Readable by a serving process running as another user: what umask 022 gives.
        for item in [path, *path.rglob("*")]:
            mode = stat.S_IMODE(item.stat().st_mode)
            assert mode == (0o755 if item.is_dir() else 0o644), (item, oct(mode))
    assert not list(root.glob("**/*.tmp"))


def test_fresh_process_without_gatelab_serves_outputs_and_gates(exported, tmp_path):
    result = subprocess.run(
        [sys.executable, "-I", "-c", FRESH, json.dumps(exported["cases"])],
        cwd=tmp_path,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and "FRESH OK" in result.stdout, result.stderr[-3000:]


def test_saved_model_cli_lists_both_endpoints(exported):
    cli = Path(sys.executable).with_name("saved_model_cli")
    result = subprocess.run(
        [str(cli), "show", "--dir", str(exported["dirs"][0]), "--all"],
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    shown = result.stdout
    for key in ("serve", "serving_default", "gates"):
        assert f"signature_def['{key}']" in shown
    for line in ("inputs['tokens']", "outputs['outputs']", "outputs['lstm_1/forget']"):
        assert line in shown
    assert "shape: (-1, -1)" in shown and "shape: (-1, -1, 4)" in shown


def numpy_model(model: keras.Model, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The model's output and its gates `{"lstm_i/<gate>": (batch, time, units)}`, recomputed in
    numpy from its weights (`tests/numpy_rnn.py`): embedding with padding id 0 masked, two LSTM
    layers, the Dense head on the last (or every) step."""
    if x.ndim == 2:
        mask = x != 0
        h = model.get_layer("embedding").get_weights()[0][x]
    else:
        mask, h = None, x
    gates = {}
    for name in ("lstm_0", "lstm_1"):
        layer = model.get_layer(name)
        sequence, states, trace = numpy_rnn.run("lstm", h, layer.get_weights(), 4, mask)
        gates |= {f"{name}/{gate}": value for gate, value in trace.items()}
        h = sequence if layer.return_sequences else states[0]
    kernel, bias = model.get_layer("head").get_weights()
    return h @ kernel + bias, gates


@pytest.mark.parametrize("case", [0, 1], ids=["ours-tokens", "builtin-features"])
def test_gates_are_activations_of_the_right_shape(exported, case):
    """The SavedModel's own `serve` and `gates` signatures, against a numpy recomputation."""
    loaded = tf.saved_model.load(exported["cases"][case]["dir"])
    model = exported["models"]["ours" if case == 0 else "builtin"]
    task = spec() if case == 0 else spec(input_kind="features", input_dim=2)
    x = sample(task, 3, 9, np.random.default_rng(case))
    outputs_np, gates_np = numpy_model(model, x)
    np.testing.assert_allclose(loaded.serve(tf.constant(x))["outputs"], outputs_np, atol=1e-5)
    gates = {key: value.numpy() for key, value in loaded.gates(tf.constant(x)).items()}
    assert sorted(gates) == sorted(gates_np)
    for key, value in gates.items():
        assert value.shape == (3, 9, 4), key
        np.testing.assert_allclose(value, gates_np[key], atol=1e-5, err_msg=key)
        if key.split("/")[1] in SIGMOID_GATES:
            assert value.min() >= 0.0 and value.max() <= 1.0


@pytest.mark.parametrize("bad_id", [-1, 11, 42])
def test_token_ids_outside_the_vocabulary_are_refused_with_the_range(exported, bad_id):
    loaded = tf.saved_model.load(str(exported["dirs"][0]))
    x = tf.constant([[3, bad_id, 5]], tf.int32)
    for endpoint in (loaded.serve, loaded.gates):
        with pytest.raises(
            tf.errors.InvalidArgumentError, match=r"token ids must be integers in \[0, 10\]"
        ):
            endpoint(x)
    assert loaded.serve(tf.constant([[3, 10, 0]], tf.int32))["outputs"].shape == (1, 3)


@pytest.mark.parametrize("case", [0, 1], ids=["ours-tokens", "builtin-features"])
def test_time_zero_is_refused_alike_by_both_endpoints(exported, case):
    loaded = tf.saved_model.load(exported["cases"][case]["dir"])
    x = tf.zeros((2, 0) if case == 0 else (2, 0, 2), tf.int32 if case == 0 else tf.float32)
    for endpoint in (loaded.serve, loaded.gates):
        with pytest.raises(
            tf.errors.InvalidArgumentError, match=r"at least one step \(time >= 1\)"
        ):
            endpoint(x)


@pytest.mark.parametrize("safe_mode", [True, False])
def test_keras_file_loads_with_identical_outputs(exported, safe_mode):
    model = keras.saving.load_model(exported["root"] / "ours" / outputs.MODEL, safe_mode=safe_mode)
    data = np.load(exported["cases"][0]["npz"])
    for b, t in SERVE_SHAPES:
        x = data[f"x_{b}_{t}"]
        np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(exported["ours"](x)))


def test_no_cudnn_ops_even_when_traced_on_a_gpu(exported, monkeypatch, tmp_path):
    for path in exported["dirs"]:
        assert not [op for op in graph_ops(path) if "Cudnn" in op]
    # Pretend a GPU is present: Keras's LSTM/GRU with use_cudnn="auto" then trace CudnnRNNV3.
    tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")
    monkeypatch.setattr(tf_rnn, "_is_gpu_available", lambda: True)
    task = spec(input_kind="features", input_dim=2)
    model = build_model(task, partial(keras.layers.GRU, units=3), num_layers=1, embedding_dim=0)
    plain = tf.function(model).get_concrete_function(tf.TensorSpec((None, None, 2)))
    plain_ops = {n.op for f in plain.graph.as_graph_def().library.function for n in f.node_def}
    assert "CudnnRNNV3" in plain_ops | {n.op for n in plain.graph.as_graph_def().node}
    path = export_saved_model(model, tmp_path / "sm")
    assert not [op for op in graph_ops(path) if "Cudnn" in op]
    assert model.get_layer("gru_0").use_cudnn == "auto"  # restored after the export


def test_errors_are_one_line_exit_2(exported, tmp_path, capsys):
    failed = tmp_path / "failed"
    outputs.write_json(
        failed / outputs.METRICS, {"status": "failed", "error": "FloatingPointError: NaN"}
    )
    unbuilt = tmp_path / "unbuilt"
    unbuilt.mkdir()
    unfinished = tmp_path / "unfinished"  # model.keras there, metrics.json not written yet
    unfinished.mkdir()
    (unfinished / outputs.MODEL).write_bytes(
        (exported["root"] / "ours" / outputs.MODEL).read_bytes()
    )
    no_model = tmp_path / "no_model"
    outputs.write_json(no_model / outputs.METRICS, {"status": "ok"})
    cases = [
        ([str(failed)], "run failed: FloatingPointError: NaN; nothing to export"),
        ([str(tmp_path / "missing")], f"run directory not found: {tmp_path / 'missing'}"),
        ([str(unbuilt)], f"no readable metrics.json with status ok in {unbuilt}: the run has"),
        ([str(unfinished)], f"no readable metrics.json with status ok in {unfinished}: the run"),
        ([str(no_model)], f"no model.keras in {no_model}: the run has not finished"),
        ([str(unbuilt), "--format", "onnx"], "--format 'onnx' is not supported: Keras converts"),
        ([str(unbuilt), "--serving", "a/b"], "invalid value for argument `model_name`, expected"),
        ([str(unbuilt), "--serving", "m", "--version", "0"], "`version`, expected a positive"),
        ([str(unbuilt), "--version", "abc"], "argument --version: invalid int value: 'abc'"),
        ([str(unbuilt), "--version", "2"], "--version names a folder of --serving NAME's"),
        ([], "the following arguments are required: RUN_DIR"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("python -m experiments.export: error: ") and message in err, err
        assert err.endswith("(see --help)\n") and err.count("\n") == 1, err  # one line, no usage
    assert not (unfinished / outputs.SAVED_MODEL).exists()


def test_the_command_line_reports_a_mistake_in_one_line(tmp_path):
    """The real `python -m experiments.export` (it loads TensorFlow only to export)."""
    result = run_cli(["-m", "experiments.export", str(tmp_path / "nowhere")], cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        f"python -m experiments.export: error: run directory not found: {tmp_path / 'nowhere'} "
        "(see --help)\n"
    )


def test_export_refuses_unbuilt_models_and_foreign_folders(exported, tmp_path):
    unbuilt = keras.Sequential([layers.LSTM(2)])
    with pytest.raises(ValueError, match="is not built"):
        export_saved_model(unbuilt, tmp_path / "sm")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="Refusing to overwrite"):
        export_saved_model(exported["ours"], tmp_path / "notes")
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"


def test_labels_travel_with_the_saved_model(tmp_path):
    """The class names, output index → name, lie in the SavedModel's folder (`outputs.LABELS`)
    for `serve` / `serve_text` users and the explorer; exporting the run again keeps them."""
    rng = np.random.default_rng(0)
    run_dir = tmp_path / "run"
    model = trained_run(run_dir, spec(), partial(layers.LSTM, units=2), rng)
    names = ["pizza", "sushi", "cake"]
    saved = export_saved_model(model, run_dir / outputs.SAVED_MODEL, labels=names)
    assert json.loads((saved / outputs.LABELS).read_text()) == {"labels": names}
    x = sample(spec(), 2, 5, rng)
    served = tf.saved_model.load(str(saved)).signatures["serve"](tokens=tf.constant(x))
    assert served["outputs"].shape == (2, len(names))  # logits by index: the file names them
    main([str(run_dir)])
    assert json.loads((saved / outputs.LABELS).read_text()) == {"labels": names}
    bad = r"argument `labels`, expected one class name per output of model `toy` \(3\)"
    with pytest.raises(ValueError, match=bad):
        export_saved_model(model, tmp_path / "bad", labels=["pizza", "sushi"])
    assert not (tmp_path / "bad").exists()


def test_a_token_model_on_a_float_input_is_refused_with_what_to_do(tmp_path):
    """A person's model without `keras.Input(dtype="int32")` (the explorer sends token ids
    as int32) is refused before anything is written, with how to rebuild it."""
    tokens = keras.Input(shape=(None,))  # float32, Keras's default
    hidden = keras.layers.Embedding(11, 4, mask_zero=True)(tokens)
    model = keras.Model(tokens, keras.layers.Dense(3)(layers.LSTM(2)(hidden)))
    with pytest.raises(ValueError, match=r"reads token ids \(it has an Embedding\) but its input"):
        export_saved_model(model, tmp_path / "sm")
    with pytest.raises(ValueError, match=r'keras.Input\(shape=\(None,\), dtype="int32"'):
        export_saved_model(model, tmp_path / "sm")
    assert not (tmp_path / "sm").exists()
