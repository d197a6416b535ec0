"""Find each preset's newest sweep and load its runs (pandas only; no TensorFlow)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from experiments import outputs
from experiments.pipeline import solved
from experiments.results.claims import Budget
from experiments.results.report import load_runs

CONF = Path(__file__).resolve().parents[2] / "conf"


@dataclass(frozen=True)
class Sweep:
    """One preset's sweep: its folder, one row per run (ok or not), and when it ran."""

    preset: str
    path: Path
    runs: pd.DataFrame  # report.load_runs columns plus `variant` (None for tasks without one)
    first_start: float  # POSIX seconds: the earliest of the runs' training starts and the plan's
    last_finish: float  # POSIX seconds: the newest metrics.json
    budget: str  # the training budget of the runs, in words (from a run's .hydra/config.yaml)

    @property
    def missing(self) -> pd.DataFrame:
        """The planned runs with no `metrics.json`: not started yet, or cut off (a rerun of the
        sweep's command resumes them)."""
        return self.runs[self.runs["status"] == "missing"]

    @property
    def incomplete(self) -> bool:
        """True while some planned run has not finished (`missing`)."""
        return not self.missing.empty

    @property
    def ok(self) -> pd.DataFrame:
        """The runs whose status is ok."""
        return self.runs[self.runs["status"] == "ok"]


def preset_of(sweep_dir: Path) -> str | None:
    """The `experiment=` choice recorded in a sweep's `multirun.yaml`, or None."""
    try:
        config = yaml.safe_load((sweep_dir / "multirun.yaml").read_text())
        return config["hydra"]["runtime"]["choices"].get("experiment")
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return None


def newest_sweeps(root: Path, presets: list[str]) -> dict[str, Path]:
    """For each of `presets`, the sweep under `root` whose `multirun.yaml` was written last."""
    found: dict[str, Path] = {}
    marks = sorted(root.glob("**/multirun.yaml"), key=lambda p: p.stat().st_mtime)
    for mark in marks:  # oldest first, so the newest wins
        preset = preset_of(mark.parent)
        if preset in presets:
            found[preset] = mark.parent
    return found


def _variant(run_dir: Path) -> str | None:
    """The run's `data.variant=` override (digits, temporal_order), from Hydra's record."""
    try:
        overrides = yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return None
    for item in overrides or []:
        key, _, value = str(item).partition("=")
        if key == "data.variant":
            return value
    return None


def budget(run_dir: Path, searched_rates: str | None = None) -> str:
    """`4,000 training sequences, up to 20 epochs = 1,260 updates (early stopping, patience 8),
    64 units, batch 64, Adam at 0.003`; with `searched_rates` (the sweep's own values, e.g.
    `7.5e-4,1.5e-3`), the rate is those, not this run's one."""
    try:
        config = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
        data, trainer, model = config["data"], config["trainer"], config["model"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return "unknown (no readable .hydra/config.yaml)"
    n_train, epochs, batch = data.get("n_train"), trainer["epochs"], trainer["batch_size"]
    sequences = f"{n_train:,} training sequences" if n_train else "the task's training split"
    updates = f" = {epochs * math.ceil(n_train / batch):,} updates" if n_train else ""
    patience, solved = trainer.get("patience"), _solved(trainer)
    stopping = (
        f" (early stopping, patience {patience}{solved})"
        if patience
        else (f" (no early stopping{solved})")
    )
    return (
        f"{sequences}, up to {epochs} epochs{updates}{stopping}, {model['units']} units, "
        f"batch {batch}, Adam at {_rate(searched_rates or trainer['learning_rate'])}"
    )


def _rate(value: object) -> str:
    """A learning rate as a budget states it; one a finished search chooses
    (`${gatelab.tuned:<sweep>,...}`, stage 2 of a two-stage design) in words."""
    tuned = re.fullmatch(r"\$\{gatelab\.tuned:([^,]+),.*\}", str(value))
    if tuned:
        return f"each model's best rate in {tuned.group(1)}"
    rates = str(value).split(",")
    return f"{', '.join(rates)} (searched)" if len(rates) > 1 else str(value)


def configured_budget(preset: str, conf: Path = CONF) -> Budget | None:
    """The budget `conf/experiment/<preset>.yaml` gives one run (composed with Hydra, as
    `experiments.train` would); None when it does not compose."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from experiments.cli.config import register_schemas

    register_schemas()
    try:
        with initialize_config_dir(str(conf.resolve()), version_base="1.3"):
            cfg = compose("train", overrides=[f"experiment={preset}"], return_hydra_config=True)
    except Exception:  # noqa: BLE001 - a preset that does not compose shows no budget
        return None
    data, trainer = cfg.data, cfg.trainer
    swept = OmegaConf.to_container(cfg.hydra.sweeper.params or {})
    units = str(swept.get("model.units", cfg.model.units)).replace(",", ", ")
    # unresolved: `gatelab.tuned` reads a finished search, which need not exist here
    unresolved = OmegaConf.to_container(trainer)["learning_rate"]
    rates = _rate(swept.get("trainer.learning_rate", unresolved))
    n_train = data.get("n_train")
    per_epoch = math.ceil(n_train / trainer.batch_size) if n_train else None
    seen = (
        f"{n_train * trainer.epochs:,} ({n_train:,} × {trainer.epochs} epochs)" if n_train else "-"
    )
    updates = f"{per_epoch * trainer.epochs:,}" if per_epoch else f"{trainer.epochs} epochs"
    stopping = (
        f"a cap of {trainer.epochs} epochs, early stopping on validation loss (patience "
        f"{trainer.patience}, best weights)"
        if trainer.patience is not None
        else f"a cap of {trainer.epochs} epochs, no early stopping (the final weights)"
    ) + _solved(trainer)
    return Budget(
        f"up to {seen}",
        f"up to {updates} at batch {trainer.batch_size}, Adam at {rates}",
        f"{units} units",
        stopping,
    )


def _solved(trainer: dict) -> str:
    """`"; stops once solved: val_loss ≤ 0.001"`, or "" without a success criterion."""
    monitor = trainer.get("solved_monitor")
    return f"; stops once solved: {solved.words(monitor, trainer['solved_at'])}" if monitor else ""


def _plan_start(sweep_dir: Path) -> list[float]:
    """The start time recorded in the sweep's `sweep.json` (its latest launch), if any."""
    try:
        return [float(json.loads((sweep_dir / outputs.SWEEP_PLAN).read_text())["started"])]
    except (OSError, ValueError, KeyError, TypeError):
        return []


BUDGET_KEYS = ("data.n_train", "trainer.epochs", "trainer.batch_size", "trainer.patience",
               "trainer.learning_rate", "trainer.solved_monitor", "trainer.solved_at")  # fmt: skip


def _budget_of(config: dict, keys: tuple[str, ...]) -> dict[str, object]:
    values = {}
    for key in keys:
        group, _, name = key.partition(".")
        values[key] = (config.get(group) or {}).get(name)
    return values


CPU_PER_EPOCH = "cpu_s_per_epoch"  # the results tables' time column (see `cpu_per_epoch`)


def cpu_per_epoch(record: dict) -> float:
    """Median processor seconds of a run's epochs that include no tracing (metrics.json's
    `epoch_cpu_seconds` without its `traced_epochs`); NaN for a run without them. A sweep's
    description of its runs: time claims are judged on an interleaved benchmark instead."""
    cpu = record.get("epoch_cpu_seconds")
    if not isinstance(cpu, list) or not cpu:
        return math.nan
    traced = set(record.get("traced_epochs") or [])
    steady = [seconds for i, seconds in enumerate(cpu) if i not in traced]
    return float(pd.Series(steady).median()) if steady else math.nan


def stale(sweep_dir: Path, run: str) -> str | None:
    """Why an ok run was trained with another budget than the sweep's latest launch (its
    `multirun.yaml`; a key the launch sweeps is not compared), or None. A rerun skips a run
    that is already ok, so a preset whose budget changed keeps such runs until they are removed."""
    try:
        launch = yaml.safe_load((sweep_dir / "multirun.yaml").read_text())
        config = yaml.safe_load((sweep_dir / run / ".hydra" / "config.yaml").read_text())
        keys = tuple(k for k in BUDGET_KEYS if k not in _swept(launch["hydra"]))
        now, then = _budget_of(launch, keys), _budget_of(config, keys)
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return None
    changed = [f"{k} {then[k]} (now {now[k]})" for k in keys if then[k] != now[k]]
    if not changed:
        return None
    return "trained with another budget than the sweep's latest launch: " + ", ".join(changed)


def _swept(launch: dict) -> dict[str, str]:
    """The keys a launch's `hydra` node (from its `multirun.yaml`) sweeps, with their values as
    written (`"7.5e-4,1.5e-3"`): the preset's sweeper params, then command-line lists.

    Raises:
        KeyError, TypeError, AttributeError: not a launch Hydra wrote.
    """
    params = (launch.get("sweeper") or {}).get("params") or {}
    swept = {key: str(value) for key, value in params.items()}
    for override in launch["overrides"]["task"]:
        key, _, value = override.partition("=")
        if "," in value:
            swept[key] = value
    return swept


def _searched_rates(sweep_dir: Path) -> str | None:
    """The learning rates the sweep's latest launch searches (`"3e-3,3e-2"`), or None."""
    try:
        launch = yaml.safe_load((sweep_dir / "multirun.yaml").read_text())["hydra"]
        return _swept(launch).get("trainer.learning_rate")
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return None


def load_sweep(preset: str, sweep_dir: Path) -> Sweep:
    """Every run of `sweep_dir` with its variant, and the span of time the runs took; an ok run
    trained with another budget than the latest launch is `status: stale` (see `stale`)."""
    runs = load_runs(sweep_dir)
    if runs.empty:
        runs = pd.DataFrame({"run": [], "status": []})
    if "error" not in runs:
        runs["error"] = None
    for i in runs.index[runs["status"] == "ok"]:
        if (why := stale(sweep_dir, runs.at[i, "run"])) is not None:
            runs.loc[i, ["status", "error"]] = ["stale", why + "; remove its folder to retrain it"]
    runs["variant"] = [_variant(sweep_dir / run) for run in runs["run"]]
    runs[CPU_PER_EPOCH] = [cpu_per_epoch(row) for row in runs.to_dict("records")]
    starts, finishes = _plan_start(sweep_dir), []
    for row in runs[runs["status"] == "ok"].itertuples():
        finish = (sweep_dir / row.run / outputs.METRICS).stat().st_mtime
        finishes.append(finish)
        starts.append(finish - float(row.train_seconds))
        started = getattr(row, "train_started", None)
        if started is not None and started == started:  # NaN for runs from before the clock
            starts.append(float(started))
    ok = runs[runs["status"] == "ok"]
    return Sweep(
        preset=preset,
        path=sweep_dir,
        runs=runs,
        first_start=min(starts, default=0.0),
        last_finish=max(finishes, default=0.0),
        budget=budget(sweep_dir / ok["run"].iloc[0], _searched_rates(sweep_dir))
        if not ok.empty
        else "no ok run",
    )
