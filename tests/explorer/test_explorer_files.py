"""The explorer and the files it reads (issue 23): only regular files inside the logdir, each of
bounded size; a run description of another shape is not listed rather than a 500; values the
model's float32 cannot hold are refused; unknown-run requests cost neither a walk nor a long
answer. The SavedModels are written field by field (no training), so these tests take seconds."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from experiments.bench import explorer as timing
from experiments.explorer import inputs, plugin, saved, summary
from tests.explorer.test_explorer import write_saved_model_pb

SECRET = "outside_token"


def get(client, route: str, **query) -> tuple[int, dict]:
    response = client.get(f"/data/plugin/gate_explorer/{route}", query_string=query)
    return response.status_code, json.loads(response.get_data())


def write_run(folder: Path, vocab: list[str] | None = None) -> None:
    """A SavedModel-only token run, with a `preprocessing.json` when `vocab` is given."""
    write_saved_model_pb(folder, ["rnn_0/forget"])
    if vocab is not None:
        record = {"kind": "tokens", "tokens": "word", "lowercase": True, "vocab": vocab}
        (folder / "preprocessing.json").write_text(json.dumps(record))


def test_json_files_linked_out_of_the_logdir_are_not_read(tmp_path):
    """`metrics.json` and `preprocessing.json` that are links out of the logdir are not read
    (the run is listed untraceable with why); a link within the logdir is read."""
    root, outside = tmp_path / "logdir", tmp_path / "outside"
    outside.mkdir()
    vocab = {"kind": "tokens", "tokens": "word", "vocab": ["<pad>", "<unk>", SECRET]}
    (outside / "preprocessing.json").write_text(json.dumps(vocab))
    (outside / "metrics.json").write_text(json.dumps({"data": SECRET, "seq_len": 7}))
    write_run(root / "linked")
    for name in ("preprocessing.json", "metrics.json"):
        (root / "linked" / name).symlink_to(outside / name)
    write_run(root / "inside", ["<pad>", "<unk>", "hello"])
    write_run(root / "link_inside")
    (root / "link_inside" / "preprocessing.json").symlink_to(root / "inside" / "preprocessing.json")
    client, _ = timing.client(root)
    response = client.get("/data/plugin/gate_explorer/runs")
    assert response.status_code == 200 and SECRET.encode() not in response.get_data()
    runs = {r["run"]: r for r in json.loads(response.get_data())["runs"]}
    assert not runs["linked"]["traceable"]
    assert "preprocessing.json leads out of the logdir" in runs["linked"]["why"]
    assert runs["link_inside"]["traceable"] and runs["link_inside"]["task"]["vocab_size"] == 3
    status, body = get(client, "vocab", run="linked")
    assert status == 400 and SECRET not in json.dumps(body)
    with pytest.raises(saved.SavedModelError, match="leads out of the logdir"):
        saved.read_json(root / "linked", "metrics.json", root.resolve())


def test_a_fifo_or_a_device_as_a_json_file_answers_at_once(tmp_path):
    """A FIFO `metrics.json` (no writer) and `preprocessing.json`, and a link to `/dev/zero`
    placed inside the logdir's reach, neither hang nor read without bound: every route answers
    within seconds (a hang is caught by the 5 s bound, not timed)."""
    root = tmp_path / "logdir"
    write_run(root / "fifo")
    fifos = [root / "fifo" / "metrics.json", root / "fifo" / "preprocessing.json"]
    for fifo in fifos:
        os.mkfifo(fifo)
    write_run(root / "zero")
    (root / "zero" / "metrics.json").symlink_to("/dev/zero")
    client, _ = timing.client(root)
    answers: list = []

    def ask() -> None:
        answers.append(get(client, "runs"))
        answers.append(get(client, "trace", run="nope", text="1"))
        answers.append(get(client, "vocab", run="fifo"))

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(timeout=5)
    try:
        assert not thread.is_alive(), "a FIFO was waited on"
    finally:
        for fifo in fifos:  # release a reader that did block
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
    (status, body), (unknown, _), _ = answers
    assert status == 200 and unknown == 400
    runs = {r["run"]: r for r in body["runs"]}
    assert "preprocessing.json is not a regular file" in runs["fifo"]["why"]
    assert runs["zero"]["data"] is None  # /dev/zero: out of the logdir, not read
    with pytest.raises(saved.SavedModelError, match="not a regular file"):
        saved.read_json(root / "fifo", "metrics.json", root.resolve())


def test_an_oversized_json_file_is_not_read(tmp_path, monkeypatch):
    root = tmp_path / "logdir"
    write_run(root / "big")
    with (root / "big" / "preprocessing.json").open("wb") as file:
        file.truncate(saved.MAX_JSON_BYTES["preprocessing.json"] + 1)  # sparse: no disk used
    with pytest.raises(saved.SavedModelError, match="larger than 67,108,864 bytes"):
        saved.read_json(root / "big", "preprocessing.json", root.resolve())


@pytest.mark.parametrize(
    "description",
    [
        {"version": 1},
        {"version": 1, "task": {}, "layers": {}, "examples": []},
        {"version": 1, "task": [], "layers": {"rnn_0": {"gates": "forget"}}, "examples": []},
        [1, 2],
        "[" * 5000,
    ],
    ids=["version-only", "empty-task", "odd-types", "a-list", "deep-nesting"],
)
def test_a_description_of_another_shape_is_not_one(description):
    raw = description if isinstance(description, str) else json.dumps(description)
    assert summary.parse_description(raw) is None


def test_a_logged_description_of_another_shape_leaves_the_listing_working(tmp_path):
    """`{"version": 1}` logged as a run description: `runs` answers 200 and lists the other
    runs (it answered 500, `KeyError: 'layers'`)."""
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(tmp_path / "odd" / "tb"))
    with writer.as_default():
        metadata = summary._metadata("gate explorer run")
        tf.summary.write(summary.RUN_TAG, json.dumps({"version": 1}), step=0, metadata=metadata)
    writer.close()
    write_run(tmp_path / "fine")
    client, _ = timing.client(tmp_path)
    status, body = get(client, "runs")
    assert status == 200, body
    assert [r["run"] for r in body["runs"]] == ["fine"]
    status, body = get(client, "trace", run="odd/tb", text="1")
    assert status == 400 and body["error"].startswith("unknown run 'odd/tb'")


@pytest.mark.parametrize("raw", ["[[1e300, 1e300]]", "[[1, -4e38]]"])
def test_values_a_float32_cannot_hold_are_refused_naming_them(raw):
    task = {"name": "adding", "input_kind": "features", "input_dim": 2}
    with pytest.raises(inputs.InputError, match=r"`values` holds (1e\+300|-4e\+38) \(step 0"):
        inputs.parse_values(task, raw)
    x = inputs.parse_values(task, "[[3e38, 1]]")  # the largest float32 is about 3.4e38
    assert x.dtype == np.float32 and np.isfinite(x).all()


def test_a_trace_that_overflows_inside_the_model_is_refused_naming_where():
    gates = {"rnn_0": {"forget": np.array([[0.5, np.nan]])}}
    with pytest.raises(inputs.InputError, match="gate rnn_0/forget is nan for this input"):
        inputs.check_finite(np.array([0.1, 0.2]), gates)
    with pytest.raises(inputs.InputError, match="the prediction is inf"):
        inputs.check_finite(np.array([np.inf]), {})
    inputs.check_finite(np.array([1.0]), {"rnn_0": {"forget": np.zeros((2, 3))}})


def test_unknown_runs_neither_walk_the_logdir_each_time_nor_list_every_run(tmp_path, monkeypatch):
    """With many runs, a request for an unknown run reuses the last walk (one walk for a listing
    and the unknown-run requests after it) and names at most `MAX_NAMED` runs, with the count."""
    n = plugin.MAX_NAMED + 15
    for i in range(n):
        write_run(tmp_path / f"run{i:03d}")
    client, gate_plugin = timing.client(tmp_path)
    walks = []
    find = gate_plugin._find_on_disk
    count = lambda logged: walks.append(1) or find(logged)  # noqa: E731
    monkeypatch.setattr(gate_plugin, "_find_on_disk", count)
    assert get(client, "runs")[0] == 200
    for _ in range(5):
        status, body = get(client, "trace", run="nope", text="1")
        assert status == 400
    assert len(walks) == 1
    assert f"… ({n} in all; the `runs` route lists every one)" in body["error"]
    assert body["error"].count("'run") == plugin.MAX_NAMED
    assert len(body["error"]) < 1000
    assert get(client, "trace", run="run007", text="1 2")[0] != 400  # a known run still works
