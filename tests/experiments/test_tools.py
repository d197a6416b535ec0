"""The README's other commands, run as a user would type them, at tiny sizes: `python -m data`,
`python -m experiments.bench`, `python -m experiments.bench.gate_overhead` (in this process, through
`runpy`, exactly as `python -m` runs them, to spare a TensorFlow start-up each) and
`python docs/screenshots.py` (TensorBoard and headless Chromium in their own processes)."""

from __future__ import annotations

import os
import re
import runpy
import shutil
import sys

import numpy as np
import pytest
from PIL import Image

from data import ContextSwitchTask
from experiments.train import train
from tests.conftest import REPO, TINY, run_cli

FLOAT = r"(\d+\.\d+)"


def run_module(module: str, args: list[str], capsys, monkeypatch) -> str:
    """`python -m <module> <args>` in this process; its standard output."""
    monkeypatch.setattr(sys, "argv", [module, *args])
    capsys.readouterr()
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    return capsys.readouterr().out


def test_python_m_data_prints_the_generation_cost_of_every_task(capsys, monkeypatch):
    out = run_module("data", ["--seq-len", "12", "--repeats", "1"], capsys, monkeypatch)
    lines = out.splitlines()
    assert lines[0].split() == ["task", "T", "examples", "seconds", "s", "/", "10k"], out
    rows = {line[:22].strip(): line[22:].split() for line in lines[1:]}  # fixed-width columns
    assert sorted(rows) == sorted(
        ["context_switch", "adding", "copy", "temporal_order 2bit", "temporal_order 3bit"]
        + ["digits rows", "digits permuted", "text"]
    ), out
    seq_len, examples, seconds, per_10k = rows["context_switch"]
    default = ContextSwitchTask()
    assert int(seq_len) == 12 and int(examples) == sum(default.sizes.values()) == 5500
    assert float(per_10k) == pytest.approx(float(seconds) * 10_000 / 5500, abs=2e-3)
    assert int(rows["digits rows"][1]) == 1797 and int(rows["digits rows"][0]) == 8


@pytest.mark.parametrize(("feed", "fed"), [("dataset", "a fixed tf.data"), ("arrays", "numpy")])
def test_python_m_experiments_bench_prints_ratios_per_cell(capsys, monkeypatch, feed, fed):
    args = ["--repeats", "2", "--times", "5", "--cells", "GRU", "--batch", "4"]
    args += ["--features", "3", "--units", "4", "--batches", "2", "--builds", "2", "--feed", feed]
    out = run_module("experiments.bench.layers", args, capsys, monkeypatch)
    assert f"# batch 4, input 3, units 4, 2 batches/epoch, 2 builds x 2 repeats, fed {fed}" in out
    per_repeat, best = out.split("# best of the repeats")  # two tables
    rows = re.findall(
        rf"^(GRU)\s+5\s+{FLOAT}\s+{FLOAT}" + rf"\s+{FLOAT}" * 6 + "$", per_repeat, re.M
    )
    # 8 figures, then the training epochs on about one core of each, out of 2 x 2
    one_core = re.findall(r"^GRU\s+5" + rf"\s+{FLOAT}" * 8 + r"\s+(\d+)\s+(\d+)$", best, re.M)
    assert one_core and all(0 <= int(n) <= 4 for n in one_core[0][-2:]), out
    assert [row[0] for row in rows] == ["GRU"], out
    for row in rows:
        numbers = np.array(row[1:], float)
        assert np.all(numbers > 0)
        assert numbers[2] <= numbers[3] <= numbers[4]  # train ratio min <= median <= max
        assert numbers[5] <= numbers[6] <= numbers[7]  # inference ratio min <= median <= max


@pytest.mark.slow  # six training runs with TensorBoard logging: ~20 s on an idle 2-core machine
def test_python_m_experiments_gate_overhead_times_three_arms(capsys, monkeypatch):
    overrides = [o for o in TINY if not o.startswith("logger=")] + ["model=lstm", "export=false"]
    out = run_module(
        "experiments.bench.gate_overhead", ["--repeats", "1", *overrides], capsys, monkeypatch
    )
    rounds = re.findall(
        rf"^\s*(warm-up|round 1): fit s/epoch  none {FLOAT}  scalars {FLOAT}  gates {FLOAT}  "
        rf"\| gate logging {FLOAT} s in fit of {FLOAT} s, {FLOAT} s at the end$",
        out,
        re.M,
    )
    assert [r[0] for r in rounds] == ["warm-up", "round 1"], out
    for _, none, scalars, gates, in_fit, fit, at_end in rounds:
        assert min(float(none), float(scalars), float(gates)) > 0
        # 2 epochs: the gates are logged once, at the end of the run (every 5 epochs in fit)
        assert 0 <= float(in_fit) < float(fit) and float(at_end) > 0
    assert re.search(
        rf"^gate logging during fit: {FLOAT}% \(rounds {FLOAT}%\) of the rest", out, re.M
    )
    assert re.search(rf"^fit time, gates vs loss curves only: x{FLOAT}", out, re.M)


def colours(image: Image.Image) -> int:
    """The number of distinct colours in `image`."""
    return len(np.unique(np.asarray(image).reshape(-1, 3), axis=0))


def test_docs_screenshots_draws_its_three_pictures_from_a_sweep(compose_cfg, tmp_path):
    if shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium (.ci/run does)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sweep = tmp_path / "sweep"
    overrides = [o for o in TINY if not o.startswith("logger=")]
    cfg = compose_cfg(
        [
            *overrides,
            "logger=tensorboard",
            "model=lstm",
            "export=true",  # the gate explorer's picture traces the SavedModel
            f"output_dir={sweep / 'lstm'}",
        ]
    )
    assert train(cfg)["status"] == "ok"
    out = tmp_path / "pictures"
    shipped = sorted((REPO / "docs").glob("*.png"))
    stamps = [p.stat().st_mtime_ns for p in shipped]
    args = [str(sweep), "--run", "lstm", "--out", str(out), "--settle", "8"]
    result = run_cli([str(REPO / "docs" / "screenshots.py"), *args], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    heatmap = Image.open(out / "tensorboard_gate_heatmap.png").convert("RGB")
    hparams = Image.open(out / "tensorboard_hparams.png").convert("RGB")
    explorer = Image.open(out / "gate_explorer.png").convert("RGB")
    assert heatmap.size == (960, 1130) and hparams.size == (1600, 520)
    assert explorer.size == (1300, 1000)
    # TensorBoard's orange bar across the top, and the page's content below it: the heatmaps
    # (many colours), the hparams table (text) and the explorer's coloured words and heatmap.
    assert colours(explorer.crop((0, 300, 1300, 1000))) > 20
    for image in (heatmap, hparams, explorer):
        top = np.asarray(image)[5:40, 300:500].reshape(-1, 3).mean(axis=0)
        assert top[0] > 200 and 80 < top[1] < 170 and top[2] < 60, top
    assert colours(heatmap.crop((340, 250, 960, 1130))) > 500
    assert colours(hparams.crop((320, 130, 1600, 520))) > 20
    assert [p.stat().st_mtime_ns for p in shipped] == stamps  # docs/ left as it was
