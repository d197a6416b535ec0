"""The verdicts' statistics equal scipy's and statsmodels' on the same numbers and known analytic
values; an under-powered comparison is inconclusive; time is never judged from wall times; a
criterion changed after its first run is post hoc; the training clock survives a resume."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.weightstats import ttost_ind

from experiments.results import registry, stats
from experiments.results.claims import Claim, Preset, Rule, Runs, beats, faster_per_epoch
from experiments.results.stats import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED

A = np.array([0.81, 0.78, 0.86, 0.90, 0.84])
B = np.array([0.70, 0.75, 0.73, 0.69, 0.77])


def test_welch_part_is_scipys_welch_test():
    part = stats.different("x", A, B, margin=0.05)
    ref = sps.ttest_ind(A, B, equal_var=False)
    assert part.p == pytest.approx(ref.pvalue, rel=1e-12)
    assert part.ci == pytest.approx(tuple(ref.confidence_interval(0.95)), rel=1e-12)
    # analytic: Welch's t from the sample variances
    se = math.sqrt(A.var(ddof=1) / 5 + B.var(ddof=1) / 5)
    assert part.effect / se == pytest.approx(ref.statistic, rel=1e-12)
    assert part.effect == pytest.approx(A.mean() - B.mean())
    assert part.verdict() == REPRODUCED


def test_smallest_detectable_effect_is_statsmodels_power_and_the_normal_limit():
    part = stats.different("x", A, B, margin=0.05)
    d = TTestIndPower().solve_power(nobs1=5, alpha=0.05, power=0.8, ratio=1.0)
    pooled = math.sqrt((A.var(ddof=1) + B.var(ddof=1)) / 2)
    assert part.detectable == pytest.approx(d * pooled, rel=1e-9)
    rng = np.random.default_rng(0)
    big_a, big_b = rng.normal(0, 1, 400), rng.normal(0, 1, 400)
    big = stats.different("x", big_a, big_b, margin=1.0)
    normal = (sps.norm.ppf(0.975) + sps.norm.ppf(0.8)) * math.sqrt(2 / 400)
    pooled = math.sqrt((big_a.var(ddof=1) + big_b.var(ddof=1)) / 2)
    assert big.detectable / pooled == pytest.approx(normal, rel=0.01)


def test_tost_part_is_statsmodels_ttost_and_the_larger_one_sided_p():
    part = stats.same("x", A, A + 0.01, margin=0.05)
    p, _, _ = ttost_ind(A, A + 0.01, -0.05, 0.05, usevar="unequal")
    assert part.p == pytest.approx(p, rel=1e-12)
    lower = sps.ttest_ind(A + 0.05, A + 0.01, equal_var=False, alternative="greater").pvalue
    upper = sps.ttest_ind(A - 0.05, A + 0.01, equal_var=False, alternative="less").pvalue
    assert part.p == pytest.approx(max(lower, upper), rel=1e-9)
    assert part.verdict() == INCONCLUSIVE  # seed noise too wide for ±0.05 at five runs
    tight = np.array([0.800, 0.805, 0.795, 0.802, 0.798])
    assert stats.same("x", tight, tight + 0.01, margin=0.05).verdict() == REPRODUCED
    assert stats.same("x", A, B, margin=0.02).verdict() == NOT_REPRODUCED  # CI beyond ±0.02


def test_sign_test_is_scipys_binomtest_and_the_binomial_tail():
    lower, higher = np.zeros(15), np.r_[np.ones(10), -np.ones(5)]
    part = stats.per_run("x", lower, higher, share=0.9)
    tail = sum(math.comb(15, k) for k in range(10, 16)) / 2**15
    assert part.p == pytest.approx(tail, rel=1e-12) == pytest.approx(0.1509, abs=1e-4)
    assert part.p == pytest.approx(sps.binomtest(10, 15, alternative="greater").pvalue)
    assert part.effect == pytest.approx(10 / 15)
    assert part.detectable <= 0.9  # 15 runs detect 90% with power 0.8
    assert part.verdict() == NOT_REPRODUCED  # the "10 of 15 runs" coin flip
    # five runs need all five (p = 1/32); power q^5 = 0.8 gives the smallest detectable share
    assert stats.smallest_detectable_share(5) == pytest.approx(0.8 ** (1 / 5), rel=1e-9)
    five = stats.per_run("x", np.zeros(5), np.r_[np.ones(4), -1.0], share=0.9)
    assert five.verdict() == INCONCLUSIVE


def test_one_sample_part_is_scipys_one_sided_test():
    excess = np.array([0.02, 0.05, 0.01, 0.04])
    part = stats.exceeds("x", excess, margin=0.01)
    assert part.p == pytest.approx(sps.ttest_1samp(excess, 0, alternative="greater").pvalue)
    assert part.p == pytest.approx(sps.ttest_1samp(excess, 0).pvalue / 2)


def test_holm_is_statsmodels_and_the_step_down_by_hand():
    parts = [
        stats.exceeds(str(i), np.array([1.0, 2.0, 3.0]) + s, 1.0)
        for i, s in enumerate([0, -1, -1.5])
    ]
    parts.append(stats.fact("fewer parameters", True, ""))
    adjusted = stats.holm(parts)
    raw = [p.p for p in parts[:3]]
    assert [p.p_holm for p in adjusted[:3]] == pytest.approx(
        list(multipletests(raw, method="holm")[1])
    )
    assert adjusted[3].p_holm is None
    by_hand = stats.holm([stats.replace(parts[0], p=p) for p in (0.01, 0.04, 0.03)])
    assert [p.p_holm for p in by_hand] == pytest.approx([0.03, 0.06, 0.06])


def _two_models(better: np.ndarray, worse: np.ndarray) -> pd.DataFrame:
    rows = [{"model": "lstm", "axis": 50, "test_accuracy": v} for v in better]
    rows += [{"model": "lstm_noaf", "axis": 50, "test_accuracy": v} for v in worse]
    return pd.DataFrame(rows)


def test_an_underpowered_difference_is_inconclusive_and_a_powered_one_is_not():
    # the NOAF case: a small drop at three seeds with seed noise far above the margin
    ok = _two_models(np.array([0.80, 0.70, 0.77]), np.array([0.74, 0.70, 0.72]))
    (part,) = beats(("lstm",), "lstm_noaf", "test_accuracy", False, 0.05)(ok)
    assert part.p > 0.05 and part.detectable > 0.05
    assert stats.claim_verdict([part]) == INCONCLUSIVE
    rng = np.random.default_rng(1)
    same = rng.normal(0.75, 0.01, 30)
    (powered,) = beats(("lstm",), "lstm_noaf", "test_accuracy", False, 0.05)(
        _two_models(same, rng.normal(0.75, 0.01, 30))
    )
    assert powered.detectable < 0.05 and powered.verdict() == NOT_REPRODUCED


def test_a_time_claim_is_not_judged_from_wall_times():
    ok = pd.DataFrame(
        {"model": ["gru"] * 3 + ["lstm"] * 3, "train_seconds": [10.0, 11, 9, 60, 66, 58],
         "epochs": [10] * 6, "axis": [100] * 6}
    )  # fmt: skip
    rule = faster_per_epoch("gru", "lstm", 0.03)
    parts = rule(Runs(ok))
    assert stats.claim_verdict(parts) == INCONCLUSIVE and "wall times" in parts[0].note
    cpu = [1.00, 1.02, 0.99, 1.01, 1.00]
    timing = pd.DataFrame(
        {"model": ["gru"] * 5 + ["lstm"] * 5, "repeat": list(range(5)) * 2,
         "cpu_seconds": [r * c for r, c in zip([0.93, 0.94, 0.92, 0.95, 0.93], cpu)] + cpu}
    )  # fmt: skip
    assert stats.claim_verdict(rule(Runs(ok, timing))) == REPRODUCED


def _criterion_v1(runs: Runs, margin: float) -> list:
    """A criterion."""
    return [stats.exceeds("x", runs.ok["v"].to_numpy() - 0.5, margin)]


def _criterion_v1_reworded(runs: Runs, margin: float) -> list:
    """The same criterion, other words."""
    return [stats.exceeds("x", runs.ok["v"].to_numpy() - 0.5, margin)]  # a comment


def _criterion_v2(runs: Runs, margin: float) -> list:
    return [stats.exceeds("x", runs.ok["v"].to_numpy() - 0.6, margin)]


def _claim(test, margin: float = 0.1) -> Claim:
    return Claim("v is above 0.5", "a test", "mean v > 0.5", Rule(test, {"margin": margin}))


def test_fingerprints_follow_code_and_parameters_not_wording():
    fp = registry.fingerprint
    v1 = fp(_claim(_criterion_v1))
    assert v1 != fp(_claim(_criterion_v2))  # code
    assert v1 != fp(_claim(_criterion_v1, 0.2))  # parameter
    assert v1 == fp(_claim(_criterion_v1))
    # docstrings and comments are not in the syntax tree the fingerprint hashes; names are
    tree = registry._canonical(_criterion_v1_reworded).replace("_reworded", "")
    assert tree == registry._canonical(_criterion_v1)
    assert fp(_claim(_criterion_v1_reworded)) != v1


def test_a_criterion_changed_after_its_first_run_is_post_hoc(tmp_path):
    path = tmp_path / "preregistration.json"
    preset = Preset("p", "P", "task", "test_v", "seq_len", (), (_claim(_criterion_v1),))
    assert registry.register((preset,), path, now=1000.0) == ["p: v is above 0.5"]
    entries = registry.load(path)["p: v is above 0.5"]
    before = registry.status(entries, preset.claims[0], first_run=2000.0)
    assert not before.post_hoc and "before the first run" in before.text
    changed = Preset("p", "P", "task", "test_v", "seq_len", (), (_claim(_criterion_v1, 0.3),))
    assert registry.register((changed,), path, now=3000.0) == ["p: v is above 0.5"]
    entries = registry.load(path)["p: v is above 0.5"]
    after = registry.status(entries, changed.claims[0], first_run=2000.0)
    assert (
        after.post_hoc and "after the first run" in after.text and "earlier criterion" in after.text
    )
    unregistered = registry.status([], preset.claims[0], first_run=2000.0)
    assert unregistered.post_hoc and "not registered" in unregistered.text
    assert not registry.status([], preset.claims[0], first_run=None).post_hoc


def test_the_committed_registry_covers_every_current_criterion():
    from experiments.results.presets import PRESETS

    claims = registry.load()
    for preset in PRESETS:
        for claim in preset.claims:
            prints = [e["fingerprint"] for e in claims.get(registry.key(preset, claim), [])]
            assert registry.fingerprint(claim) in prints, registry.key(preset, claim)
    gru = claims["context_switch_seeds: The GRU reaches the LSTM's accuracy with fewer parameters"]
    assert [e["origin"][:11] for e in gru[:2]] == ["git 06c1ebb", "git 774dd13"]


def test_the_training_clock_keeps_its_epochs_across_a_resume(monkeypatch):
    from experiments.pipeline.resume import TrainingClock

    clock = TrainingClock()
    clock.on_train_begin()
    for epoch in range(2):
        clock.on_epoch_begin(epoch)
        clock.on_epoch_end(epoch, {"loss": 1.0, "val_loss": 0.5 - 0.1 * epoch})
    state, arrays = clock.get_state()
    json.dumps(state)  # a checkpoint's state.json holds it
    resumed = TrainingClock()
    resumed.set_state(state, arrays)
    resumed.on_train_begin()
    resumed.on_epoch_begin(2)
    resumed.on_epoch_end(2, {"val_loss": 0.2})
    resumed.on_train_end()
    record = resumed.per_epoch()
    assert record["train_started"] == clock.started
    assert len(record["epoch_seconds"]) == len(record["epoch_cpu_seconds"]) == 3
    assert record["traced_epochs"] == [0, 2]  # each attempt's first epoch traces
    assert record["epoch_val_loss"] == pytest.approx([0.5, 0.4, 0.2])
    assert record["first_epoch_seconds"] == record["epoch_seconds"][0]
    assert all(s >= 0 for s in record["epoch_cpu_seconds"])


def test_context_switch_names_its_baselines_by_the_memory_they_need():
    from data.context_switch import ContextSwitchTask

    task = ContextSwitchTask(seq_len=10, n_train=400, n_val=100, n_test=200, seed=0)
    base = task.baselines()
    assert base["accuracy_chance"] == 1 / 8
    assert base["accuracy_no_memory"] == max(base["accuracy_chance"], base["accuracy_majority"])
    assert base["accuracy_no_memory"] < 0.2
    assert base["accuracy_copy_last"] == pytest.approx(0.5, abs=0.01)
    assert base["accuracy"] == max(base["accuracy_copy_last"], base["accuracy_no_memory"])
