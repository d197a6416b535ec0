"""docs/RESULTS.md: every preset composes and runs in miniature through the real command line,
and `experiments.results` builds a document whose numbers are the sweeps' metrics.json."""

from __future__ import annotations

import json
import math
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from experiments.results.__main__ import build, main
from experiments.results.claims import (
    beats,
    below_baseline,
    gate_low_at_but,
    reaches,
    same_within,
    stays_near_baseline,
)
from experiments.results.document import README_END, README_START, render, update_readme
from experiments.results.presets import PRESETS
from experiments.results.stats import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_RUN,
    REPRODUCED,
    claim_verdict,
)
from tests.conftest import REPO, run_cli

TINY = [
    "launcher=local",
    "logger.every_n_epochs=0",
    "seed=0",
    "trainer.epochs=1",
    "model.units=8",
]
SMALL_SPLITS = ["data.n_train=96", "data.n_val=32", "data.n_test=32"]
# Each preset shrunk to seconds: one seed, two or three models, tiny data (command line wins
# over the preset's sweeper params).
MINIATURES = {
    "context_switch_seeds": ["model=rnn,lstm,gru", "data.seq_len=4,6", *SMALL_SPLITS],
    "repro_keras": ["model=lstm,keras_lstm", "data.seq_len=4", *SMALL_SPLITS],
    "repro_adding": ["model=rnn,lstm", "data.seq_len=6,10", *SMALL_SPLITS],
    "repro_temporal_order": [
        "model=rnn,lstm",
        "data.seq_len=12",
        "data.variant=2bit",
        *SMALL_SPLITS,
    ],
    "repro_digits": ["model=rnn,gru", "data.variant=rows"],
    "repro_copy": ["model=rnn,lstm", "data.seq_len=3", *SMALL_SPLITS],
    "repro_text": ["model=rnn,lstm", "data.seq_len=12", "data.max_train_chars=5000", *SMALL_SPLITS],
    "gate_ablation": [
        "model=lstm,lstm_nfg",
        "data.seq_len=4",
        "trainer.learning_rate=3e-3,3e-2",
        *SMALL_SPLITS,
    ],
    # stage 2: each model at its rate from gate_ablation's miniature above (`outputs/sweeps/...`)
    "gate_ablation_confirm": ["model=lstm,lstm_nfg", "data.seq_len=4", *SMALL_SPLITS],
    "gate_patching": ["model=lstm,gru", "data.seq_len=4", *SMALL_SPLITS],
    "repro_chung": ["model=lstm,gru", "data.seq_len=4", *SMALL_SPLITS],  # units 8: lstm_8, gru_8
}


def test_every_preset_is_in_the_document_and_in_make_results():
    names = [p.name for p in PRESETS]
    assert sorted(names) == sorted(MINIATURES)
    makefile = (REPO / "Makefile").read_text()
    listed = re.search(r"RESULTS_PRESETS := (.*?)\n\n", makefile, re.S).group(1)
    assert listed.replace("\\", " ").split() == names
    for name in names:
        assert (REPO / "conf" / "experiment" / f"{name}.yaml").is_file()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    """Every preset's miniature sweep, two command lines at a time, under one outputs/."""
    root = tmp_path_factory.mktemp("results") / "outputs"

    def sweep(name: str):
        args = [
            "-m",
            "experiments.train",
            f"experiment={name}",
            *TINY,
            *MINIATURES[name],
            f"hydra.sweep.dir={root / 'sweeps' / name}",
        ]
        return name, run_cli(args, cwd=root.parent, timeout=600)

    later = {"gate_ablation_confirm"}  # takes its rates from gate_ablation's finished search
    with ThreadPoolExecutor(2) as pool:
        for name, proc in pool.map(sweep, [name for name in MINIATURES if name not in later]):
            assert proc.returncode == 0, f"{name}: {proc.stderr[-2000:]}"
        for name, proc in pool.map(sweep, later):
            assert proc.returncode == 0, f"{name}: {proc.stderr[-2000:]}"
    return root


@pytest.fixture(scope="module")
def document(outputs) -> tuple[list, str, Path]:
    doc = outputs.parent / "docs" / "RESULTS.md"
    results = build(outputs, doc)
    return results, render(results, doc.parent), doc


def _metrics(sweep_dir: Path) -> pd.DataFrame:
    """The sweep's metrics.json files, read without the code under test."""
    rows = [json.loads(p.read_text()) for p in sweep_dir.glob("*/metrics.json")]
    return pd.DataFrame(rows)


def test_numbers_equal_the_sweeps_metrics(outputs, document):
    results, text, _ = document
    for result in results:
        preset = result.preset
        assert result.sweep is not None, preset.name
        assert result.sweep.path == outputs / "sweeps" / preset.name
        runs = _metrics(result.sweep.path)
        assert (runs["status"] == "ok").all()
        if preset.label_units:
            runs["model"] = runs["model"] + "_" + runs["units"].astype(str)
        if preset.tune:  # one seed: the rate whose run has the best val accuracy at its best epoch
            score = [
                a[int(np.argmin(v))] for a, v in zip(runs.epoch_val_accuracy, runs.epoch_val_loss)
            ]
            runs = runs.assign(score=score).sort_values("score").groupby("model").tail(1)
        n_models = len(MINIATURES[preset.name][0].split("=")[1].split(","))
        axis = "seq_len"
        table = result.numbers[result.numbers["metric"] == preset.metric]
        assert len(table) == len(runs) == n_models * runs[axis].nunique()
        for row in table.itertuples():
            match = runs[runs["model"] == row.model]
            if preset.axis == "seq_len":
                match = match[match["seq_len"] == row.axis]
            assert len(match) == 1 and row.n == 1
            value = float(match[preset.metric].iloc[0])
            assert math.isclose(row.mean, value, rel_tol=1e-12)
            assert f"| {row.model} |" in text and f"{value:.3g} (1)" in text
        assert result.plot is not None and result.plot.stat().st_size > 0


def test_stage_two_trains_each_model_at_its_best_stage_one_rate(outputs):
    """gate_ablation_confirm's learning rate per model is the gate_ablation rate whose run (one
    seed) had the best validation accuracy at its lowest validation loss, read from the files."""
    search = _metrics(outputs / "sweeps" / "gate_ablation")
    score = [a[int(np.argmin(v))] for a, v in zip(search.epoch_val_accuracy, search.epoch_val_loss)]
    best = search.assign(score=score).sort_values("score").groupby("model").tail(1)
    confirm = _metrics(outputs / "sweeps" / "gate_ablation_confirm")
    assert sorted(confirm["model"]) == sorted(best["model"]) == ["lstm", "lstm_nfg"]
    for row in best.itertuples():
        used = confirm.loc[confirm["model"] == row.model, "learning_rate"].tolist()
        assert used == [row.learning_rate]


def test_budgets_name_the_searched_rates_and_the_tuned_ones(document):
    """A run's budget line shows the rates its sweep searched, not that run's one, and stage 2's
    shows where its rates come from."""
    results, text, _ = document
    budgets = {r.preset.name: r.sweep.budget for r in results}
    assert budgets["gate_ablation"].endswith("Adam at 3e-3, 3e-2 (searched)")
    assert budgets["gate_ablation_confirm"].endswith(
        "Adam at each model's best rate in outputs/sweeps/gate_ablation"
    )
    assert budgets["repro_chung"].endswith("Adam at 0.003")


def test_stage_two_refuses_an_unfinished_search(outputs, tmp_path):
    """One line and exit 2, before any folder exists, while a stage-1 run has no metrics."""
    copy = tmp_path / "outputs" / "sweeps" / "gate_ablation"
    shutil.copytree(outputs / "sweeps" / "gate_ablation", copy)
    (next(copy.glob("*/metrics.json"))).unlink()
    args = ["-m", "experiments.train", "experiment=gate_ablation_confirm", *TINY]
    args += [*MINIATURES["gate_ablation_confirm"], f"hydra.sweep.dir={tmp_path / 'stage2'}"]
    proc = run_cli(args, cwd=tmp_path)
    assert proc.returncode == 2 and not (tmp_path / "stage2").exists()
    [line] = proc.stderr.strip().splitlines()
    assert (
        line.startswith("error: ") and "trainer.learning_rate: outputs/sweeps/gate_ablation" in line
    )
    assert "1 of its 4 runs have not finished" in line
    assert "experiment=gate_ablation hydra.sweep.dir=outputs/sweeps/gate_ablation" in line


def test_stage_two_has_stage_one_task_sizes_and_budget():
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        one, two = (
            compose("train", [f"experiment={name}"], return_hydra_config=False)
            for name in ("gate_ablation", "gate_ablation_confirm")
        )
    for key in ("data", "logger", "export", "threads"):
        assert one[key] == two[key], key
    a, b = (OmegaConf.to_container(c.trainer) for c in (one, two))
    a.pop("learning_rate"), b.pop("learning_rate")
    assert a == b


def test_every_claim_is_judged_where_its_models_ran(document):
    results, text, _ = document
    verdicts = {(r.preset.name, v.claim.text): v.verdict for r in results for v in r.verdicts}
    assert set(verdicts.values()) <= {REPRODUCED, INCONCLUSIVE, NOT_REPRODUCED, NOT_RUN}
    assert len(verdicts) == sum(len(p.claims) for p in PRESETS)
    # exactly the claims whose models or axis values the miniatures leave out are not run
    not_run = {key for key, verdict in verdicts.items() if verdict == NOT_RUN}
    assert not_run == {
        ("repro_adding", "The GRU solves it too"),
        ("repro_text", "LSTM ≈ GRU"),
        ("repro_digits", "Pixel by pixel, the gated cells beat the tanh RNN"),
        ("gate_ablation", "Without the output activation the LSTM does worse"),
        ("gate_ablation", "CIFG and peepholes change nothing"),
        ("repro_chung", "At matched parameter counts the GRU reaches the LSTM's accuracy"),
        ("repro_chung", "At equal units the GRU reaches the LSTM's accuracy with fewer parameters"),
        ("repro_copy", "The LSTM beats the baseline at T = 100, the paper's shortest"),
    }
    for (_name, claim), verdict in verdicts.items():
        assert f"| {claim} |" in text and f"**{verdict}**" in text


def test_cli_writes_the_document_and_the_readme_block(outputs, tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_START}\nold\n{README_END}\nrest\n")
    out = tmp_path / "docs" / "RESULTS.md"
    assert main(["--outputs", str(outputs), "--out", str(out), "--readme", str(readme)]) == 0
    assert out.read_text().startswith("# Results")
    block = readme.read_text()
    assert "old" not in block and block.startswith("intro\n") and block.endswith("rest\n")
    assert "[repro_adding](docs/RESULTS.md#repro_adding)" in block
    assert (tmp_path / "docs" / "results" / "repro_adding.png").is_file()


def test_cli_refuses_an_outputs_folder_without_sweeps(tmp_path, capsys):
    (tmp_path / "outputs").mkdir()
    out = tmp_path / "RESULTS.md"
    assert main(["--outputs", str(tmp_path / "outputs"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no sweep of any results preset" in err and "make results" in err
    assert not out.exists()


def test_readme_without_markers_is_left_alone(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    assert not update_readme(readme, [], "RESULTS.md")
    assert readme.read_text() == "no markers\n"


# The judges on hand-made runs: each verdict is reachable and follows the written criterion.


def _runs(values: dict[tuple[str, int], list[float]], metric: str, baseline: float) -> pd.DataFrame:
    rows = [
        {"model": m, "axis": a, "seed": s, metric: v, "baseline_" + metric[5:]: baseline}
        for (m, a), vs in values.items()
        for s, v in enumerate(vs)
    ]
    return pd.DataFrame(rows)


def _verdict(rule, ok) -> str:
    return claim_verdict(rule(ok)) if rule(ok) else NOT_RUN


def test_reaches_holds_only_where_every_length_passes():
    ok = _runs(
        {("lstm", 50): [0.001, 0.002, 0.0015], ("lstm", 200): [0.1, 0.2, 0.15]}, "test_mse", 1 / 6
    )
    assert _verdict(reaches("lstm", "test_mse", 0.01, True, 0.005), ok) == NOT_REPRODUCED
    assert _verdict(reaches("lstm", "test_mse", 0.5, True, 0.005), ok) == REPRODUCED
    assert _verdict(reaches("gru", "test_mse", 0.01, True, 0.005), ok) == NOT_RUN


def test_stays_near_baseline_uses_the_band_per_run():
    ok = _runs({("rnn", 50): [0.01, 0.02], ("rnn", 200): [0.15, 0.16, 0.155]}, "test_mse", 1 / 6)
    judge = stays_near_baseline("rnn", "test_mse", 0.5, True, 0.02, "longest")
    assert _verdict(judge, ok) == REPRODUCED  # 0.155 well above 0.083 at the longest T
    assert _verdict(stays_near_baseline("rnn", "test_mse", 0.5, True, 0.02), ok) == NOT_REPRODUCED
    acc = _runs({("rnn", 80): [0.72, 0.74, 0.73]}, "test_accuracy", 0.5)
    assert _verdict(stays_near_baseline("rnn", "test_accuracy", 0.1, False, 0.05), acc) == (
        NOT_REPRODUCED
    )


def test_beats_and_same_within_use_welch_and_tost():
    ok = _runs(
        {
            ("lstm", 30): [0.9, 0.92, 0.94, 0.91, 0.93],
            ("rnn", 30): [0.5, 0.52, 0.54, 0.51, 0.53],
            ("gru", 30): [0.905, 0.915, 0.925, 0.92, 0.91],
        },
        "test_accuracy",
        0.5,
    )
    assert _verdict(beats(("lstm", "gru"), "rnn", "test_accuracy", False, 0.05), ok) == REPRODUCED
    assert _verdict(beats(("rnn",), "lstm", "test_accuracy", False, 0.05), ok) == NOT_REPRODUCED
    assert _verdict(same_within((("lstm", "gru"),), "test_accuracy", 0.05), ok) == REPRODUCED
    assert _verdict(same_within((("lstm", "rnn"),), "test_accuracy", 0.05), ok) == NOT_REPRODUCED


def test_below_baseline_and_gate_at_but():
    rnn = [0.3, 0.301, 0.299, 0.302, 0.298]  # at the baseline, little seed noise: powered
    ok = _runs({("lstm", 10): [0.05, 0.06, 0.055], ("rnn", 10): rnn}, "test_ce", 0.3)
    assert _verdict(below_baseline(("lstm",), "test_ce", 0.02), ok) == REPRODUCED
    assert _verdict(below_baseline(("lstm", "rnn"), "test_ce", 0.02), ok) == NOT_REPRODUCED
    gates = pd.DataFrame(
        {
            "model": ["lstm"] * 4,
            "retention_at_but": [0.2, 0.3, 0.9, 0.1],
            "retention_at_and": [0.8, 0.9, 0.5, 0.7],
        }
    )
    assert _verdict(gate_low_at_but("lstm", 0.9), gates) == INCONCLUSIVE  # 3 of 4: too few runs
    many = pd.concat([gates] * 5, ignore_index=True)
    many.loc[many.index % 4 == 2, "retention_at_but"] = 0.1  # every run of 20
    assert _verdict(gate_low_at_but("lstm", 0.9), many) == REPRODUCED
    assert _verdict(gate_low_at_but("gru", 0.9), gates) == NOT_RUN


def _fabricated_context_switch(root: Path, started: float) -> None:
    """A context_switch_seeds sweep of three seeds of lstm and gru at one length."""
    sweep = root / "sweeps" / "context_switch_seeds"
    sweep.mkdir(parents=True)
    (sweep / "multirun.yaml").write_text(
        "hydra:\n  runtime:\n    choices:\n      experiment: context_switch_seeds\n"
    )
    accuracy = {"lstm": [0.96, 0.97, 0.95], "gru": [0.97, 0.98, 0.975]}
    for model, values in accuracy.items():
        for seed, value in enumerate(values):
            run = sweep / f"model={model},seed={seed}"
            run.mkdir()
            record = {
                "status": "ok", "model": model, "seed": seed, "seq_len": 30,
                "params": 26728 if model == "lstm" else 20712, "epochs": 10,
                "train_seconds": 30.0, "train_started": started, "test_accuracy": value,
                "baseline_accuracy": 0.5, "baseline_accuracy_chance": 0.125,
                "baseline_accuracy_copy_last": 0.5,
            }  # fmt: skip
            (run / "metrics.json").write_text(json.dumps(record))


def test_the_document_marks_post_hoc_criteria_and_shows_the_tests(tmp_path):
    from experiments.results import registry

    _fabricated_context_switch(tmp_path / "outputs", started=2000.0)
    path = tmp_path / "preregistration.json"
    registry.register(PRESETS, path, now=1000.0)  # every criterion before the runs
    entries = json.loads(path.read_text())
    gru = "context_switch_seeds: The GRU reaches the LSTM's accuracy with fewer parameters"
    entries["claims"][gru][0]["registered"] = 3000.0  # this one after its first run
    path.write_text(json.dumps(entries))
    results = build(tmp_path / "outputs", tmp_path / "docs" / "RESULTS.md", path)
    (cs,) = [r for r in results if r.preset.name == "context_switch_seeds"]
    hoc = {v.claim.text: v.registration.post_hoc for v in cs.verdicts}
    assert (
        hoc[gru.split(": ", 1)[1]] and not hoc["A plain RNN loses the subject across long filler"]
    )
    text = render(results, tmp_path / "docs")
    assert "**post hoc**" in text and "before the runs" in text
    assert "p (Holm)" in text and "copy-last-food" in text and "chance, no memory" in text
    verdict = {v.claim.text: v.verdict for v in cs.verdicts}
    assert verdict[gru.split(": ", 1)[1]] == REPRODUCED  # not 0.02 worse, and smaller
    # the criterion first written keeps its time part, which wall times cannot judge
    original = [v for v in cs.verdicts if "first written" in v.claim.text][0]
    assert "wall times" in original.parts[-1].note


def test_a_sweep_whose_runs_never_finished_is_listed_not_judged(tmp_path):
    """A preset's sweep folder with its plan but no metrics.json (killed before any run)."""
    sweep = tmp_path / "outputs" / "sweeps" / "repro_copy"
    sweep.mkdir(parents=True)
    (sweep / "multirun.yaml").write_text(
        "hydra:\n  runtime:\n    choices:\n      experiment: repro_copy\n"
    )
    (sweep / "sweep.json").write_text(json.dumps({"runs": ["model=rnn", "model=lstm"]}))
    results = build(tmp_path / "outputs", tmp_path / "docs" / "RESULTS.md")
    (copy,) = [r for r in results if r.preset.name == "repro_copy"]
    assert {v.verdict for v in copy.verdicts} == {NOT_RUN}
    text = render(results, tmp_path / "docs")
    assert "none of its 2 runs has finished ok" in text and "`model=lstm`: missing" in text


def test_a_sweep_cut_off_midway_has_provisional_verdicts(tmp_path):
    """Six of the twelve runs its launch planned (sweep.json) finished: every verdict of the
    preset says so, in the document and the README's table; the missing runs are counted past
    the first few; a whole sweep is not provisional."""
    _fabricated_context_switch(tmp_path / "outputs", started=2000.0)
    sweep = tmp_path / "outputs" / "sweeps" / "context_switch_seeds"
    planned = [f"model={m},seed={s}" for m in ("lstm", "gru") for s in range(6)]
    (sweep / "sweep.json").write_text(json.dumps({"runs": planned, "started": 2000.0}))
    results = build(tmp_path / "outputs", tmp_path / "docs" / "RESULTS.md")
    (cs,) = [r for r in results if r.preset.name == "context_switch_seeds"]
    assert cs.sweep.incomplete and len(cs.sweep.missing) == 6
    text = render(results, tmp_path / "docs")
    assert "**Incomplete**: 6 of the 12 planned runs have not finished" in text
    rows = [line for line in text.splitlines() if "(#context_switch_seeds)" in line]
    judged = [row for row in rows if "**not run**" not in row]
    assert judged and all("(provisional: 6 of 12 runs ok)" in row for row in judged)
    assert all("provisional" not in row for row in rows if row not in judged)
    named = [line for line in text.splitlines() if line.endswith(": missing: no metrics.json")]
    assert len(named) == 6  # six missing: all named
    planned += [f"model=rnn,seed={s}" for s in range(6)]
    (sweep / "sweep.json").write_text(json.dumps({"runs": planned, "started": 2000.0}))
    text = render(build(tmp_path / "outputs", tmp_path / "docs" / "RESULTS.md"), tmp_path / "docs")
    assert "- and 4 more runs missing (no metrics.json)" in text
    done = [f"model={m},seed={s}" for m in ("lstm", "gru") for s in range(3)]
    (sweep / "sweep.json").write_text(json.dumps({"runs": done, "started": 2000.0}))
    results = build(tmp_path / "outputs", tmp_path / "docs" / "RESULTS.md")
    assert "provisional" not in render(results, tmp_path / "docs")


def test_the_time_column_is_the_median_processor_seconds_of_the_untraced_epochs():
    """`cpu_s_per_epoch`: epochs that include tracing (the first of each attempt) left out."""
    from experiments.results.sweeps import cpu_per_epoch

    record = {"epoch_cpu_seconds": [9.0, 2.0, 3.0, 7.0, 5.0, 4.0], "traced_epochs": [0, 3]}
    assert cpu_per_epoch(record) == 3.5  # the median of 2, 3, 5, 4
    assert math.isnan(cpu_per_epoch({"epoch_cpu_seconds": [9.0], "traced_epochs": [0]}))
    assert math.isnan(cpu_per_epoch({"status": "missing"}))  # a run that never trained
    assert cpu_per_epoch({"epoch_cpu_seconds": [1.0, 3.0]}) == 2.0  # no tracing recorded


def test_the_document_says_which_verdicts_changed_from_what_and_why(tmp_path):
    """Against the document it replaces: an old-rules document's *partly* and a verdict that
    moved are listed with why; a claim that kept its verdict is not; a rerun that changes
    nothing keeps the list it had."""
    _fabricated_context_switch(tmp_path / "outputs", started=2000.0)
    results = build(tmp_path / "outputs", tmp_path / "docs" / "RESULTS.md")
    (cs,) = [r for r in results if r.preset.name == "context_switch_seeds"]
    now = {v.claim.text: v.verdict for v in cs.verdicts}
    rnn = "A plain RNN loses the subject across long filler"
    gru = "The GRU reaches the LSTM's accuracy with fewer parameters"
    old_rules = "\n".join(
        [
            "| preset | claim | verdict |",
            "| --- | --- | --- |",
            f"| [context_switch_seeds](#context_switch_seeds) | {rnn} | **{now[rnn]}** |",
            f"| [context_switch_seeds](#context_switch_seeds) | {gru} | **partly** |",
        ]
    )
    text = render(results, tmp_path / "docs", old_rules)
    section = text.split("## Verdicts that changed")[1].split("\n#")[0]
    assert f"| context_switch_seeds | {gru} | **partly** | **{now[gru]}** |" in section
    assert "first judged by the current rules" in section
    assert f"| {rnn} |" not in section  # the same verdict before and now
    assert "| a new claim |" in section  # the claims the old document did not have
    again = render(results, tmp_path / "docs", text)  # nothing changed since: the list stays
    assert again.split("## Verdicts that changed")[1].split("\n#")[0] == section
    assert "## Verdicts that changed" not in render(results, tmp_path / "docs")


def test_a_claim_not_run_in_between_is_compared_with_its_last_judged_verdict(tmp_path):
    """A document written while a preset waited to run under new rules shows *not run* and
    lists the verdict before; the next one compares with that verdict, not with *not run*."""
    _fabricated_context_switch(tmp_path / "outputs", started=2000.0)
    results = build(tmp_path / "outputs", tmp_path / "docs" / "RESULTS.md")
    (cs,) = [r for r in results if r.preset.name == "context_switch_seeds"]
    gru = "The GRU reaches the LSTM's accuracy with fewer parameters"
    now = {v.claim.text: v.verdict for v in cs.verdicts}[gru]
    assert now != "not run"
    waiting = "\n".join(
        [
            "| preset | claim | verdict | criterion fixed |",
            "| --- | --- | --- | --- |",
            f"| [context_switch_seeds](#context_switch_seeds) | {gru} | **not run** | before |",
            "",
            "## Verdicts that changed",
            "",
            "| preset | claim | before | now | why |",
            "| --- | --- | --- | --- | --- |",
            f"| context_switch_seeds | {gru} | **partly** | **not run** | not run yet |",
        ]
    )
    section = render(results, tmp_path / "docs", waiting).split("## Verdicts that changed")[1]
    row = f"| context_switch_seeds | {gru} | **partly** | **{now}** | first judged by the current"
    assert row in section
