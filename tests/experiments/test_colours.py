"""One colour per model in every plot (`experiments.results.colours`)."""

from __future__ import annotations

import matplotlib.axes
import pandas as pd

from experiments.results import report
from experiments.results.colours import MODEL_COLOURS, model_colour


def test_a_model_has_one_colour_in_every_panel_whatever_the_others(tmp_path, monkeypatch):
    """matplotlib's colour cycle would give the LSTM the first colour where it comes first and
    the second where the GRU precedes it; every model keeps its own instead."""
    drawn = []
    errorbar = matplotlib.axes.Axes.errorbar

    def spy(self, *args, **kwargs):
        drawn.append((kwargs["label"], kwargs.get("color")))
        return errorbar(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "errorbar", spy)
    rows = [
        (data, model, seq_len)
        for data, models in [("adding", ["gru", "lstm"]), ("context_switch", ["lstm", "rnn"])]
        for model in models
        for seq_len in (10, 30)
    ]
    runs = pd.DataFrame(
        [
            {"data": d, "model": m, "seq_len": n, "seed": 0, "primary_metric": "accuracy"}
            | {"test_accuracy": 0.9, "baseline_accuracy": 0.5}
            for d, m, n in rows
        ]
    )
    report.plot_runs(runs, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 0
    assert drawn == [
        ("gru", "tab:orange"),
        ("lstm", "tab:blue"),
        ("lstm", "tab:blue"),
        ("rnn", "tab:gray"),
    ]


def test_every_model_gets_a_fixed_colour_and_the_sweeps_three_differ():
    assert len({model_colour(m) for m in ("rnn", "lstm", "gru")}) == 3
    assert len(set(MODEL_COLOURS.values())) == len(MODEL_COLOURS)
    assert model_colour("my_cell") == model_colour("my_cell")  # from its name, not its order
