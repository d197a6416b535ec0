"""The gate_patching measurement (`experiments.pipeline.patching`): on an LSTM whose gates are set
by hand, each clamp and swap moves exactly the answers the maths says; a tiny run with
`measure.patching=true` writes every `patch_*` key; the preset composes."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest

import layers
from data.context_switch import FOOD_IDS, ID, VOCAB, ContextSwitchTask
from experiments.pipeline.model import build_model
from experiments.pipeline.patching import GatePatcher, paired, patching_metrics
from experiments.train import train

KEYS = {
    f"patch_{key}"
    for key in (
        "clean_first_food_switch", "clean_lost_keep", "keep_at_switch", "keep_at_subject",
        "keep_at_filler", "swap_at_switch", "swap_at_subject", "swap_at_filler", "forget_at_and",
        "swap_at_and", "unit_top1_share", "unit_top4_share", "units_for_half", "top_units",
    )
}  # fmt: skip
BIG = 30.0  # a pre-activation that saturates the sigmoid: σ(±30) is 1 or ~1e-13


def hand_set_lstm(task: ContextSwitchTask):
    """One LSTM unit per food, reading one-hot words. Input gate open only at a food, which it
    writes into its unit (the cell remembers the last food seen); at "but" and "and" it writes
    0.5 into every unit. Forget gate 1 except at "but", where it is σ(−30): A's food is swamped by
    the 0.5s and every logit is equal (argmax: food 0). Output gate 1; the head reads unit k as
    food k's logit."""
    n_words, units = len(VOCAB), len(FOOD_IDS)
    model = build_model(task.spec, partial(layers.LSTM, units=units), 1, embedding_dim=n_words)
    kernel = np.zeros((n_words, 4 * units), "float32")  # blocks i, f, c, o
    bias = np.zeros(4 * units, "float32")
    i, f, c, o = (slice(k * units, (k + 1) * units) for k in range(4))
    bias[i], bias[f], bias[o] = -BIG, BIG, BIG
    for k, food in enumerate(FOOD_IDS):
        kernel[food, i] = 2 * BIG
        kernel[food, c.start + k] = 3.0  # tanh(3) ≈ 0.995 in unit k
    for word in ("but", "and"):
        kernel[ID[word], i] = 2 * BIG
        kernel[ID[word], c] = np.arctanh(0.5)
    kernel[ID["but"], f] = -2 * BIG
    model.get_layer("embedding").set_weights([np.eye(n_words, dtype="float32")])
    model.get_layer("lstm_0").set_weights([kernel, np.zeros((units, 4 * units), "float32"), bias])
    model.get_layer("head").set_weights([10 * np.eye(units, dtype="float32"), np.zeros(units)])
    return model


@pytest.fixture(scope="module")
def hand_set():
    task = ContextSwitchTask(seq_len=4, n_train=50, n_val=20, n_test=120, seed=3)
    return task, hand_set_lstm(task)


def test_the_hand_set_lstm_forgets_at_but_and_the_measurement_sees_it(hand_set):
    task, model = hand_set
    test = task.splits()["test"]
    switch = test.positions["is_switch"] == 1
    first = task.favourite[test.x[:, 0] - ID["alice"]]  # A's food
    answers = model.predict(test.x, verbose=0).argmax(-1)
    np.testing.assert_array_equal(answers[~switch], first[~switch])  # "and" keeps A's food
    assert (answers[switch] == 0).all()  # "but" wiped it: every logit equal
    metrics = patching_metrics(model, task)
    assert set(metrics) == KEYS
    zero = np.mean(first[switch] == 0)  # A's food happens to be food 0
    assert metrics["patch_clean_first_food_switch"] == pytest.approx(zero)
    # (a) forget held at 1 at "but": the cell keeps A's food (plus 0.5 everywhere)
    assert metrics["patch_keep_at_switch"] == 1.0
    # after "but" there is nothing left to keep: the control steps change nothing
    assert (
        metrics["patch_keep_at_subject"] == metrics["patch_keep_at_filler"] == pytest.approx(zero)
    )
    # (b) forget held at 0 at "and": A's food is gone unless it is food 0
    lost = np.mean(first[~switch] != 0)
    assert metrics["patch_clean_lost_keep"] == 0.0
    assert metrics["patch_forget_at_and"] == pytest.approx(lost)
    # (c) the "and" sentence's forget gate (1) at "but" keeps A's food; "but"'s (σ(−30)) at
    # "and" drops it; at B and the filler the two sentences' gates are both 1
    assert metrics["patch_swap_at_switch"] == 1.0
    assert metrics["patch_swap_at_and"] == pytest.approx(lost)
    assert (
        metrics["patch_swap_at_subject"] == metrics["patch_swap_at_filler"] == pytest.approx(zero)
    )
    # (e) each sentence's effect is carried by its food's unit alone
    assert 0 < metrics["patch_unit_top1_share"] < metrics["patch_unit_top4_share"] <= 1.0
    assert len(metrics["patch_top_units"]) == 4


def test_pairs_differ_only_in_the_conjunction_and_the_gate_follows_the_word(hand_set):
    task, model = hand_set
    test = task.splits()["test"]
    pair = paired(test.x, test.positions["switch"])
    differs = pair != test.x
    assert (differs.sum(axis=1) == 1).all()
    rows = np.arange(len(pair))
    assert set(pair[rows, test.positions["switch"]]) == {ID["but"], ID["and"]}
    np.testing.assert_array_equal(paired(pair, test.positions["switch"]), test.x)
    patcher = GatePatcher(model)
    assert (patcher.key, patcher.keeps_at) == ("lstm_0/forget", 1.0)
    forget = patcher.gate(test.x)[rows, test.positions["switch"]]  # (n, units)
    np.testing.assert_allclose(
        forget.max(-1), np.where(test.positions["is_switch"], 0, 1), atol=1e-6
    )


def test_a_tiny_run_writes_every_patch_key(tiny_cfg):
    record = train(tiny_cfg("measure.patching=true", "export=false"))
    assert record["status"] == "ok" and KEYS <= set(record)
    for key in KEYS - {"patch_top_units", "patch_unit_top1_share", "patch_unit_top4_share",
                       "patch_units_for_half"}:  # fmt: skip
        assert 0.0 <= record[key] <= 1.0, key


def test_a_cell_without_a_memory_gate_has_nothing_to_patch(hand_set):
    task, _ = hand_set
    rnn = build_model(task.spec, partial(layers.SimpleRNN, units=3), 1, embedding_dim=4)
    assert patching_metrics(rnn, task) == {}


def test_patching_is_refused_before_the_run_on_another_task(tiny_cfg):
    from experiments.cli.config import ConfigError, validate_config

    cfg = tiny_cfg("measure.patching=true", "data=adding")
    with pytest.raises(ConfigError, match=r"measure.patching=true needs data=context_switch"):
        validate_config(cfg)


def _fabricated_gate_patching(root: Path, started: float) -> None:
    """A gate_patching sweep of five seeds of lstm and gru at one length: clamping at "but"
    brings back the first food in 60% (lstm) / 45% (gru) of switch sentences against 5%."""
    sweep = root / "sweeps" / "gate_patching"
    sweep.mkdir(parents=True)
    (sweep / "multirun.yaml").write_text(
        "hydra:\n  runtime:\n    choices:\n      experiment: gate_patching\n"
    )
    rng = np.random.default_rng(0)
    for model, kept in (("lstm", 0.6), ("gru", 0.45)):
        for seed in range(5):
            means = {
                "clean_first_food_switch": 0.05, "keep_at_switch": kept, "keep_at_subject": 0.06,
                "keep_at_filler": 0.05, "swap_at_switch": kept - 0.05, "swap_at_subject": 0.06,
                "swap_at_filler": 0.05, "clean_lost_keep": 0.02, "forget_at_and": 0.7,
                "swap_at_and": 0.6, "unit_top1_share": 0.3, "unit_top4_share": 0.7,
            }  # fmt: skip
            record = {
                "status": "ok", "model": model, "seed": seed, "seq_len": 30, "epochs": 10,
                "train_seconds": 30.0,
                "params": 26728 if model == "lstm" else 20712, "train_started": started,
                "test_accuracy": 0.97, "baseline_accuracy": 0.5, "baseline_accuracy_chance": 0.125,
                "patch_units_for_half": 3, "patch_top_units": [5, 1, 9, 2],
                **{f"patch_{k}": v + float(rng.normal(0, 0.02)) for k, v in means.items()},
            }  # fmt: skip
            run = sweep / f"model={model},seed={seed}"
            run.mkdir()
            (run / "metrics.json").write_text(json.dumps(record))


def test_the_preset_composes_and_its_section_is_in_the_document(tmp_path, compose_cfg):
    from experiments.results import registry
    from experiments.results.__main__ import build
    from experiments.results.document import render
    from experiments.results.presets import GATE_PATCHING, PRESETS
    from experiments.results.stats import REPRODUCED

    cfg = compose_cfg(["experiment=gate_patching"], hydra=True)
    assert cfg.measure.patching and cfg.data._target_.endswith("ContextSwitchTask")
    assert set(cfg.hydra.sweeper.params.model.split(",")) >= {"lstm", "gru"}
    _fabricated_gate_patching(tmp_path / "outputs", started=2000.0)
    path = tmp_path / "preregistration.json"
    registry.register(PRESETS, path, now=1000.0)
    results = build(tmp_path / "outputs", tmp_path / "docs" / "RESULTS.md", path)
    (result,) = [r for r in results if r.preset is GATE_PATCHING]
    verdicts = {v.claim.text: v for v in result.verdicts}
    assert all(not v.registration.post_hoc for v in verdicts.values())
    for claim in GATE_PATCHING.claims:  # every effect in the fabricated runs is large
        assert verdicts[claim.text].verdict == REPRODUCED, claim.text
    units = verdicts["A few units carry the LSTM's forgetting at “but”"]
    assert [p.label for p in units.parts] == ["30: lstm, unit_top4_share"]
    assert units.parts[0].effect == pytest.approx(0.2, abs=0.03)  # 0.7 − 0.5, with its CI
    text = render(results, tmp_path / "docs")
    assert "## Intervening on the memory gate" in text or "Intervening on the memory gate" in text
    assert (
        "patch_keep_at_switch" in text
        and "30: gru, keep_at_switch − clean_first_food_switch" in text
    )


def test_the_patching_claims_are_registered_before_any_run():
    from experiments.results import registry
    from experiments.results.presets import GATE_PATCHING

    entries = registry.load()
    for claim in GATE_PATCHING.claims:
        mine = registry.status(entries.get(registry.key(GATE_PATCHING, claim), []), claim, None)
        assert mine.text.startswith("criterion registered"), claim.text
