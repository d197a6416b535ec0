"""The papers' comparisons and budgets in docs/RESULTS.md: GRU and LSTM at matched parameter
counts (counted on the built Keras models), each ablation judged at its own best learning rate
(chosen on validation, shown with every rate), learning curves with a band over seeds, and each
reproduction preset's budget in updates beside the paper's."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from experiments.cli.config import register_schemas
from experiments.results.claims import at_best, beats, best_setting, validation_scores
from experiments.results.document import section
from experiments.results.presets import PRESETS
from experiments.results.stats import FACT, NOT_REPRODUCED, REPRODUCED, claim_verdict
from experiments.results.sweeps import Sweep, configured_budget
from experiments.results.tables import band, evaluate
from tests.conftest import CONF

PRESET = {p.name: p for p in PRESETS}


def _compose(preset: str, *overrides: str):
    register_schemas()
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("train", overrides=[f"experiment={preset}", *overrides, "output_dir=x"],
                       return_hydra_config=True)  # fmt: skip


def test_a_gru_of_74_units_has_the_parameters_of_an_lstm_of_64_in_the_built_models():
    from experiments.pipeline.run import make_model

    swept = _compose("repro_chung").hydra.sweeper.params
    assert str(swept["model.units"]) == "64,74" and str(swept["model"]) == "lstm,gru"
    small = ["data.n_train=8", "data.n_val=8", "data.n_test=8", "data.seq_len=30"]
    counts = {}
    for model, units in (("lstm", 64), ("gru", 74), ("gru", 64)):
        cfg = _compose("repro_chung", f"model={model}", f"model.units={units}", *small)
        counts[f"{model}_{units}"] = make_model(cfg.model, instantiate(cfg.data)).count_params()
    assert abs(counts["gru_74"] / counts["lstm_64"] - 1) < 0.05
    assert counts["gru_64"] / counts["lstm_64"] < 0.8  # equal units is not a matched count
    claims = {c.rule.params.get("model"): c.rule.params for c in PRESET["repro_chung"].claims}
    assert claims["gru_74"]["reference"] == "lstm_64" and claims["gru_74"]["tolerance"] == 0.05
    # the rule's own check, on runs labelled as the results step labels them
    ok = pd.DataFrame(
        {"model": ["gru_74"] * 5 + ["lstm_64"] * 5, "axis": [30] * 10,
         "params": [counts["gru_74"]] * 5 + [counts["lstm_64"]] * 5,
         "test_accuracy": [0.95, 0.96, 0.955, 0.96, 0.95, 0.9, 0.91, 0.905, 0.9, 0.91]}
    )  # fmt: skip
    parts = PRESET["repro_chung"].claims[0].rule(ok)
    fact = parts[-1]
    assert fact.test == FACT and fact.effect > 0 and "% apart" in fact.note
    assert claim_verdict(parts) == REPRODUCED


def test_the_learning_rates_are_five_or_more_and_log_spaced():
    swept = _compose("gate_ablation").hydra.sweeper.params
    rates = [float(r) for r in str(swept["trainer.learning_rate"]).split(",")]
    assert len(rates) >= 5 and rates == sorted(rates)
    assert np.allclose(np.diff(np.log(rates)), math.log(2))
    assert PRESET["gate_ablation"].tune == "learning_rate"


def _ablation_runs() -> pd.DataFrame:
    """lstm and lstm_nfg at three rates, three seeds: lstm is best at 3e-3 on validation,
    lstm_nfg at 1e-3; at 3e-3 lstm_nfg is as good as lstm, at its own best rate it is not."""
    val = {  # mean validation accuracy per (model, rate); test follows validation
        ("lstm", 1e-3): 0.80, ("lstm", 3e-3): 0.95, ("lstm", 1e-2): 0.60,
        ("lstm_nfg", 1e-3): 0.70, ("lstm_nfg", 3e-3): 0.65, ("lstm_nfg", 1e-2): 0.40,
    }  # fmt: skip
    rows = []
    for (model, rate), v in val.items():
        for seed, noise in enumerate((-0.01, 0.0, 0.01)):
            test = v + noise if (model, rate) != ("lstm_nfg", 3e-3) else 0.95 + noise
            rows.append({
                "model": model, "axis": 50, "seed": seed, "learning_rate": rate,
                "test_accuracy": test, "test_accuracy_switch": test, "params": 1,
                "baseline_accuracy": 0.5,
                # the best epoch (lowest val loss) is the second; the last epoch is worse
                "epoch_val_loss": [0.9, 0.3, 0.5], "epoch_val_accuracy": [0.2, v + noise, 0.1],
            })  # fmt: skip
    return pd.DataFrame(rows)


def test_each_variant_is_judged_at_its_best_rate_on_validation():
    ok = _ablation_runs()
    scores = validation_scores(ok, "accuracy")
    assert scores.iloc[0] == pytest.approx(0.79)  # at the lowest val loss, not the last epoch
    best = best_setting(ok, "learning_rate", "accuracy", higher=True)
    chosen = best.groupby("model")["learning_rate"].unique().to_dict()
    assert chosen == {"lstm": [3e-3], "lstm_nfg": [1e-3]} and len(best) == 6
    rule = beats(("lstm",), "lstm_nfg", "test_accuracy_switch", False, 0.05, "longest")
    assert claim_verdict(at_best(rule, "learning_rate", "accuracy")(ok)) == REPRODUCED
    one_rate = ok[ok["learning_rate"] == 3e-3]  # a single shared rate hides the gap
    assert claim_verdict(rule(one_rate)) == NOT_REPRODUCED


def _sweep(ok: pd.DataFrame, preset: str) -> Sweep:
    runs = ok.assign(status="ok", run=[f"r{i}" for i in range(len(ok))], train_seconds=1.0)
    runs = runs.rename(columns={"axis": "seq_len"})
    return Sweep(preset, CONF, runs, 0.0, 1.0, "a budget")


def test_the_document_shows_every_rate_and_the_one_chosen(tmp_path):
    result = evaluate(PRESET["gate_ablation"], _sweep(_ablation_runs(), "gate_ablation"), tmp_path)
    table = result.sensitivity.set_index(["model", "learning_rate"])
    assert table.loc[("lstm", 3e-3), "chosen"] and not table.loc[("lstm", 1e-3), "chosen"]
    assert table.loc[("lstm_nfg", 3e-3), "test"] == pytest.approx(0.95)
    shown = result.numbers[result.numbers["metric"] == "test_accuracy"].set_index("model")
    assert shown.loc["lstm_nfg", "mean"] == pytest.approx(0.70)  # at its chosen rate
    text = "\n".join(section(result, tmp_path))
    assert "Sensitivity to `learning_rate`" in text and "**0.95 / 0.95 (3)**" in text
    assert "| lstm | 50 | 0.8 / 0.8 (3) | **0.95 / 0.95 (3)** | 0.6 / 0.6 (3) | 0.35 |" in text
    assert result.curves.name == "gate_ablation_curves.png" and result.curves.stat().st_size
    assert "gate_ablation_curves.png" in text


def test_learning_curves_average_the_seeds_that_reached_each_epoch():
    epochs, mean, low, high = band([[0.2, 0.5, 0.9], [0.4, 0.7], [0.3, 0.6, 0.8]])
    assert list(epochs) == [1, 2, 3]
    assert mean == pytest.approx([0.3, 0.6, 0.85]) and low == pytest.approx([0.2, 0.5, 0.8])
    assert high == pytest.approx([0.4, 0.7, 0.9])


def test_the_plateau_tasks_are_sized_in_updates_without_patience():
    for name, updates in (("repro_temporal_order", "2,000"), ("repro_adding", "1,875")):
        budget = configured_budget(name)
        assert budget.updates.startswith(f"up to {updates} at batch 32")
        assert "no early stopping" in budget.stopping
        cfg = _compose(name)
        assert cfg.trainer.patience is None
        per_epoch = math.ceil(cfg.data.n_train / cfg.trainer.batch_size)
        assert f"{per_epoch * cfg.trainer.epochs:,}" == updates
    papers = dict(PRESET["repro_temporal_order"].budgets)
    assert any("156 (6a)" in b.model for b in papers.values())
    for name in ("repro_temporal_order", "repro_adding", "repro_copy", "gate_ablation"):
        assert PRESET[name].budgets, name  # the paper's budget beside ours


def test_copy_reaches_the_papers_shortest_length():
    swept = _compose("repro_copy").hydra.sweeper.params
    assert "100" in str(swept["data.seq_len"]).split(",")
    claim = [c for c in PRESET["repro_copy"].claims if "T = 100" in c.text][0]
    assert claim.rule.params["values"] == (100,)


def _write_run(sweep, name: str, epochs: int, patience, rate: float) -> None:
    run = sweep / name
    (run / ".hydra").mkdir(parents=True)
    trainer = {"epochs": epochs, "batch_size": 32, "patience": patience, "learning_rate": rate}
    config = {"data": {"n_train": 4000}, "trainer": trainer, "model": {"units": 64}}
    (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    record = {"status": "ok", "model": "lstm", "seed": 0, "seq_len": 100, "train_seconds": 1.0,
              "test_accuracy": 0.5}  # fmt: skip
    (run / "metrics.json").write_text(json.dumps(record))


def test_runs_kept_from_an_earlier_budget_are_stale_not_judged(tmp_path):
    from experiments.results.sweeps import load_sweep

    sweep = tmp_path / "repro_temporal_order"
    sweep.mkdir()
    launch = {
        "hydra": {"sweeper": {"params": {"seed": "0,1"}},
                  "overrides": {"task": ["trainer.learning_rate=1e-3,3e-3"]}},
        "data": {"n_train": 4000},
        "trainer": {"epochs": 16, "batch_size": 32, "patience": None, "learning_rate": 3e-3},
    }  # fmt: skip
    (sweep / "multirun.yaml").write_text(yaml.safe_dump(launch))
    _write_run(sweep, "seed=0", 16, None, 1e-3)  # a swept rate is no budget change
    _write_run(sweep, "seed=1", 25, 8, 3e-3)  # the preset before its budget changed
    runs = load_sweep("repro_temporal_order", sweep).runs.set_index("run")
    assert runs.loc["seed=0", "status"] == "ok"
    assert runs.loc["seed=1", "status"] == "stale"
    error = runs.loc["seed=1", "error"]
    assert "trainer.epochs 25 (now 16)" in error and "trainer.patience 8 (now None)" in error
    assert "learning_rate" not in error and "remove its folder" in error
