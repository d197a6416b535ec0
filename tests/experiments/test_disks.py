"""Full and read-only disks (issue 23): a full disk while the backup is written fails the run
(recorded, with why) instead of crashing the process, and `export --out` on a read-only disk
answers one line with status 2; a bad `preprocessing.json` or a garbage `model.keras` at export
is named. The disks are real: tmpfs mounts (root only; skipped where the kernel forbids them)."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import pytest

from experiments import outputs
from experiments.export import saved_model as export
from experiments.pipeline.resume import write_weights
from tests.conftest import REPO, TINY, run_cli


@contextlib.contextmanager
def tmpfs(folder: Path, size: str = "40k", read_only: bool = False) -> Iterator[Path]:
    """A real small (or read-only) disk mounted at `folder` for the block."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_weights_written_in_memory_are_save_weights_own(tmp_path):
    model = keras.Sequential([keras.Input((None, 2)), keras.layers.LSTM(3)])
    write_weights(model, tmp_path / "a.weights.h5")
    other = keras.Sequential([keras.Input((None, 2)), keras.layers.LSTM(3)])
    other.load_weights(tmp_path / "a.weights.h5")
    for mine, theirs in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_a_full_disk_while_the_backup_is_written_fails_the_run_not_the_process(tmp_path):
    """The run folder on a 64 kB disk: Hydra's files fit, the first checkpoint does not. h5py
    crashed the process (exit 139, a sweep's other runs lost with it); now the run is recorded
    failed with why (the partial checkpoint removed, so that `metrics.json` fits)."""
    with tmpfs(tmp_path / "run", size="64k") as run_dir:
        result = run_cli(
            ["-m", "experiments.train", *TINY, "export=false", f"hydra.run.dir={run_dir}"],
            cwd=REPO,
        )
        record = outputs.read_metrics(run_dir)
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert record["status"] == "failed", record
    assert "the backup could not be written" in record["error"], record["error"]
    assert "No space left on device" in record["error"], record["error"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("disks") / "run"
    result = run_cli(
        ["-m", "experiments.train", *TINY, "export=false", f"hydra.run.dir={run_dir}"], cwd=REPO
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return run_dir


def test_export_out_on_a_read_only_disk_is_one_line_and_status_2(finished_run, tmp_path):
    with tmpfs(tmp_path / "ro", read_only=True) as folder:
        result = run_cli(
            ["-m", "experiments.export", str(finished_run), "--out", str(folder / "sm")], cwd=REPO
        )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(f"python -m experiments.export: error: --out {folder / 'sm'}: ")
    assert (
        "Read-only file system" in lines[0] and "allowed: a folder on a writable disk" in lines[0]
    )


def test_a_bad_preprocessing_json_at_export_names_the_file(tmp_path):
    (tmp_path / outputs.PREPROCESSING).write_text('{"kind": "tokens", "vocab": [')
    with pytest.raises(ValueError) as caught:
        export.load_preprocessing(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / outputs.PREPROCESSING}: not readable JSON (")
    (tmp_path / outputs.PREPROCESSING).write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a run's preprocessing"):
        export.load_preprocessing(tmp_path)


def test_a_garbage_model_keras_is_said_to_be_no_keras_file(tmp_path):
    (tmp_path / outputs.METRICS).write_text(json.dumps({"status": "ok"}))
    (tmp_path / outputs.MODEL).write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ValueError) as caught:
        export.load_run_model(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / outputs.MODEL} is not a Keras file")
