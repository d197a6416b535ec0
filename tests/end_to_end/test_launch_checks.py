"""Launcher settings and output folders refused in one line before anything exists: Slurm settings
that cannot give a working job (checked against what `sinfo` says, here a stand-in `sinfo` on PATH
with the real command line), and a read-only `hydra.run.dir` / `hydra.sweep.dir` (a real read-only
tmpfs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, TINY

SINFO_OK = "debug* 20000 2\nbig 64000 16\n"


def _fake_sinfo(folder: Path, stdout: str = SINFO_OK, status: int = 0, stderr: str = "") -> Path:
    """A `sinfo` that prints `stdout` (the `%P %m %c` columns) and exits with `status`."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "sinfo"
    script.write_text(
        f"#!/bin/sh\nprintf '%s' '{stdout}'\nprintf '%s' '{stderr}' >&2\nexit {status}\n"
    )
    script.chmod(0o755)
    return folder


def _train(args: list[str], cwd: Path, path_first: Path | None = None):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    if path_first is not None:
        env["PATH"] = f"{path_first}:{env['PATH']}"
    command = [sys.executable, "-m", "experiments.train", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_partitions_read_the_largest_node_and_the_default(tmp_path, monkeypatch):
    from experiments.cli import launchers

    bin_dir = _fake_sinfo(tmp_path / "bin", "debug* 4000 2\ndebug* 8000+ 4\ngpu 64000 1-8\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    found = {p.name: p for p in launchers.partitions()}
    assert found["debug"] == launchers.Partition("debug", True, 8000, 4)
    assert found["gpu"] == launchers.Partition("gpu", False, 64000, 8)


@pytest.mark.parametrize(
    "override, expected",
    [
        (
            "hydra.launcher.cpus_per_task=0",
            "hydra.launcher.cpus_per_task=0: expected an integer >= 1",
        ),
        ("hydra.launcher.mem_gb=0", "hydra.launcher.mem_gb=0: expected a positive number of GB"),
        (
            "hydra.launcher.timeout_min=-5",
            "hydra.launcher.timeout_min=-5: expected an integer >= 1",
        ),
        ("hydra.launcher.timeout_min=2", "hydra.launcher.signal_delay_s=120: the requeue signal"),
        ("hydra.launcher.mem_gb=100000", "partition debug's nodes have at most 19.5312 GB"),
        ("hydra.launcher.cpus_per_task=64", "partition debug's nodes have at most 2 CPUs"),
        ("hydra.launcher.partition=nope", "no such partition; allowed: debug, big"),
    ],
    ids=["cpus0", "mem0", "timeout_negative", "delay_past_limit", "mem_huge", "cpus_huge", "part"],
)
def test_slurm_settings_that_cannot_work_are_one_line_and_no_folder(tmp_path, override, expected):
    bin_dir = _fake_sinfo(tmp_path / "bin")
    sweep = tmp_path / "sweep"
    args = ["-m", "launcher=slurm", override, *TINY, f"hydra.sweep.dir={sweep}"]
    result = _train(args, tmp_path, bin_dir)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert not sweep.exists()


def test_no_reachable_controller_is_one_line(tmp_path):
    stderr = "slurm_load_partitions: Unable to contact slurm controller (connect failure)"
    bin_dir = _fake_sinfo(tmp_path / "bin", "", 1, stderr)
    sweep = tmp_path / "sweep"
    result = _train(["-m", "launcher=slurm", *TINY, f"hydra.sweep.dir={sweep}"], tmp_path, bin_dir)
    assert result.returncode == 2
    assert result.stderr == (
        "error: launcher=slurm: the Slurm controller cannot be reached (`sinfo`: "
        f"{stderr}); start it or run the sweep with launcher=local\n"
    )
    assert not sweep.exists()


def test_settings_a_cluster_can_run_pass_the_check(tmp_path, monkeypatch, compose_cfg):
    from experiments.cli import launchers

    bin_dir = _fake_sinfo(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    config = compose_cfg(["launcher=slurm", "hydra.launcher.partition=big"], hydra=True)
    launchers.check_slurm_settings(config)  # 2 CPUs, 8 GB, 60 min, USR2 120 s before: fits


@pytest.fixture(scope="module")
def read_only_folder(tmp_path_factory) -> Path:
    """A read-only tmpfs (root ignores permission bits, not a read-only mount)."""
    folder = tmp_path_factory.mktemp("readonly")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,ro", "tmpfs", str(folder)])
    if mounted.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("CI runs as root and must be able to mount a read-only tmpfs")
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield folder
    subprocess.run(["umount", str(folder)])


@pytest.mark.parametrize("multirun", [False, True], ids=["run", "sweep"])
def test_a_read_only_output_folder_is_one_line_and_status_2(read_only_folder, tmp_path, multirun):
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    target = read_only_folder / "runs" / "a"
    args = (["-m"] if multirun else []) + [*TINY, f"{key}={target}"]
    result = _train(args, tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr == (
        f"error: {key}={target}: cannot write there (a read-only file system at "
        f"{read_only_folder}); allowed: a folder you can write to\n"
    )
