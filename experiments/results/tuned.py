"""Stage 2 of a two-stage design: a model's hyperparameter taken from a finished search.

`gate_ablation` (stage 1) searches each LSTM variant's learning rate over three seeds;
`gate_ablation_confirm` (stage 2) trains the variants again on fresh seeds, each at the rate
that won its stage-1 validation, so that the confirming runs play no part in choosing the rate.
The choice is the one the results make (`claims.best_setting`: the best mean validation score
over seeds, at the epoch early stopping restores). A config asks for it with the
`gatelab.tuned` resolver (registered by `experiments.train`)::

    trainer:
      learning_rate: ${gatelab.tuned:outputs/sweeps/gate_ablation,${model.name}}
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from experiments.results.claims import best_setting
from experiments.results.sweeps import load_sweep, preset_of

HYPER = "learning_rate"
METRIC = "accuracy"  # validation accuracy, as gate_ablation's claims choose their rates


class TunedError(ValueError):
    """The stage-1 sweep cannot give a value: missing, unfinished, or without the model."""


@cache
def tuned(sweep: str, model: str) -> float:
    """`model`'s learning rate with the best mean validation accuracy in the stage-1 `sweep`.

    Args:
        sweep: the stage-1 sweep folder (relative to the working directory, as on the command
            line), every planned run of which has finished.
        model: a model config's `name` that the sweep trained at each rate.

    Returns:
        The winning rate, by the mean over all the model's runs at each rate (its seeds, and
        its sequence lengths if the sweep has several). Raises `TunedError` (one line: what is
        wrong and what to run) where the sweep is missing or unfinished or lacks the model.
    """
    path = Path(sweep)
    where = f"{sweep} (the search this rate comes from)"
    preset = preset_of(path) if path.is_dir() else None
    if preset is None:
        raise TunedError(
            f"{where}: no such sweep; the search runs first (`make results` runs it before the "
            "preset that takes its rates)"
        )
    loaded = load_sweep(preset, path)
    if loaded.incomplete:
        raise TunedError(
            f"{where}: {len(loaded.missing)} of its {len(loaded.runs)} runs have not finished, "
            "and the rate is chosen from the whole search; resume it first: python -m "
            f"experiments.train experiment={preset} hydra.sweep.dir={sweep}"
        )
    ok = loaded.ok.assign(axis=0)  # one choice per model, whatever the sweep's lengths
    runs = ok[ok["model"] == model] if "model" in ok else ok.iloc[0:0]
    if runs.empty or HYPER not in runs:
        trained = ", ".join(sorted(ok["model"].unique())) if "model" in ok else "none"
        raise TunedError(f"{where}: no ok run of model {model}; it trained: {trained}")
    best = best_setting(runs, HYPER, METRIC, higher=True)[HYPER].unique()
    if len(best) != 1:
        raise TunedError(f"{where}: no validation score for {model}'s runs to choose a rate by")
    return float(best[0])
