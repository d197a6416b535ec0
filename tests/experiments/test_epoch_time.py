"""The interleaved CPU benchmark: `python -m experiments.bench.epoch_time` writes one row per
model and round to outputs/timing/<preset>.csv, in A B B A order, and the preset's time claim is
then judged from it (not left inconclusive for want of a benchmark)."""

from __future__ import annotations

import math
import re

import pandas as pd

from experiments.results.__main__ import timing
from experiments.results.claims import Runs
from experiments.results.presets import PRESETS
from experiments.results.registry import _code
from experiments.results.stats import INCONCLUSIVE, claim_verdict
from tests.conftest import REPO, run_cli

TINY = ["data.seq_len=6", "data.n_train=64", "data.n_val=16", "data.n_test=16", "model.units=4"]


def test_the_benchmark_writes_the_csv_the_time_claim_is_judged_on(tmp_path):
    out = tmp_path / "outputs"
    args = ["-m", "experiments.bench.epoch_time", "experiment=repro_adding", "model=lstm,gru"]
    proc = run_cli([*args, "--repeats", "4", *TINY, "--outputs", str(out)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = timing(out, "repro_adding")
    assert table is not None and len(table) == 2 * 4
    assert list(table["model"]) == ["lstm", "gru", "gru", "lstm", "lstm", "gru", "gru", "lstm"]
    assert list(table["repeat"]) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert (table["cpu_seconds"] > 0).all() and (table["wall_seconds"] > 0).all()
    assert set(table["seq_len"]) == {6} and set(table["units"]) == {4}
    # the built models' parameters: LSTM 4 u (2 + u) + 4 u, GRU (reset_after) 3 u (2 + u) + 6 u,
    # each plus a head of u + 1
    assert dict(zip(table["model"], table["params"])) == {"lstm": 112 + 5, "gru": 96 + 5}
    assert re.search(r"lstm / gru: [\d.]+ \(95% CI of the paired ratio", proc.stdout)
    adding = next(p for p in PRESETS if p.name == "repro_adding")
    (claim,) = [c for c in adding.claims if "epoch" in c.text]
    ok = pd.DataFrame({"model": ["lstm", "gru"], "axis": [6, 6], "test_mse": [0.1, 0.1]})
    without = claim.rule(Runs(ok))
    assert claim_verdict(without) == INCONCLUSIVE and "no interleaved" in without[0].note
    (part,) = claim.rule(Runs(ok, table))
    assert str(part.n) == "4" and not math.isnan(part.p) and "CPU s/epoch" in part.note


def test_make_results_benchmarks_exactly_the_presets_with_time_claims():
    timed = {
        p.name
        for p in PRESETS
        for c in p.claims
        if any(name.endswith("._cpu_faster") for name in _walk(c.rule.test))
    }
    makefile = (REPO / "Makefile").read_text()
    listed = re.search(r"TIMED_PRESETS := (.*?)\n", makefile).group(1).split()
    assert set(listed) == timed == {"context_switch_seeds", "repro_adding"}
    recipe = makefile.split("\nresults:", 1)[1].split("\n\n", 1)[0]
    assert (
        recipe.index("experiments.train")
        < recipe.index("epoch_time")
        < recipe.index("experiments.results")
    )


def _walk(test) -> set[str]:
    seen: dict[str, str] = {}
    _code(test, seen)
    return set(seen)
