"""What gate logging adds to training time:
`python -m experiments.bench.gate_overhead [OVERRIDE ...]`.

Trains the same run (`conf/train.yaml` with the given overrides) three ways — `logger=none`,
`logger=tensorboard` with gate logging off (`logger.every_n_epochs=null`: loss curves and
hparams only) and `logger=tensorboard` as configured — rotating their order every round so that
background load hits all alike. Prints the fit seconds per epoch of each arm, and the time
spent inside the gate logging — during `fit`, and in all with the end-of-run summaries that
`log_run_end` writes after the test evaluation — as a fraction of the rest of `fit` (steadier
on a busy machine than the ratio of two runs' times, also printed). Overrides of `logger.*`
apply to the two TensorBoard arms only (before the arm's own: `scalars` keeps gate logging
off). Example (the README's), and `make sweep`'s longest LSTM run logging gates every epoch:

    python -m experiments.bench.gate_overhead --repeats 3 model=lstm data.seq_len=30 \
        trainer.epochs=10
    python -m experiments.bench.gate_overhead --repeats 2 experiment=context_switch \
        model=lstm data.seq_len=80 logger.every_n_epochs=1
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir

from experiments.cli.config import register_schemas, validate_config
from experiments.pipeline import run as loop
from experiments.pipeline.record import run_hparams
from experiments.tensorboard.writer import GateLogger, TensorBoardLogger

CONF = Path(__file__).resolve().parents[2] / "conf"
TIMED = f"logger._target_={__name__}.TimedTensorBoardLogger"
ARMS = {
    "none": ["logger=none"],
    "scalars": ["logger=tensorboard", TIMED, "logger.every_n_epochs=null"],
    "gates": ["logger=tensorboard", TIMED],
}


class TimedTensorBoardLogger(TensorBoardLogger):
    """`TensorBoardLogger` that keeps its last `GateLogger` (for its `seconds`)."""

    last: GateLogger | None = None

    def callbacks(self, model, task, log_dir):
        callbacks = super().callbacks(model, task, log_dir)
        gate_loggers = [c for c in callbacks if isinstance(c, GateLogger)]
        TimedTensorBoardLogger.last = gate_loggers[0] if gate_loggers else None
        return callbacks


def timed_run(overrides: list[str], arm: str, output_dir: Path) -> dict[str, float]:
    """One fresh run of `arm`: `fit` seconds per epoch, and the seconds of gate logging during
    `fit` and after it (the end-of-run summaries), per run."""
    logger = [o for o in overrides if o.startswith("logger.")]
    common = [o for o in overrides if o not in logger]
    arm_overrides = [ARMS[arm][0], *(logger if arm != "none" else []), *ARMS[arm][1:]]
    cfg = compose("train", overrides=[*common, *arm_overrides, f"output_dir={output_dir}"])
    task = validate_config(cfg)
    TimedTensorBoardLogger.last = None
    result = loop.run(cfg, task, output_dir, run_hparams(cfg, task), verbose=0)
    gate_logger = TimedTensorBoardLogger.last
    seconds = gate_logger.seconds if gate_logger is not None else {"fit": 0.0, "end": 0.0}
    return {
        "per_epoch": result["train_seconds"] / result["epochs"],
        "fit": result["train_seconds"],
        "gates_in_fit": seconds["fit"],
        "gates_at_end": seconds["end"],
    }


def _summary(values: list[float], percent: bool = False) -> str:
    """`median (round, round, ...)`."""
    show = (lambda v: f"{100 * v:.1f}%") if percent else (lambda v: f"x{v:.3f}")
    return f"{show(statistics.median(values))} (rounds {', '.join(show(v) for v in values)})"


def main(argv: list[str] | None = None) -> None:
    """Command line: `--repeats N` timed rounds (after one warm-up round), Hydra overrides."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model=gru")
    args = parser.parse_args(argv)
    register_schemas()
    arms = list(ARMS)
    rounds: list[dict[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp, initialize_config_dir(str(CONF), version_base="1.3"):
        for round_ in range(args.repeats + 1):
            order = arms[round_ % len(arms) :] + arms[: round_ % len(arms)]
            row = {
                arm: timed_run(args.overrides, arm, Path(tmp, f"{round_}-{arm}")) for arm in order
            }
            gates = row["gates"]
            print(
                f"{'warm-up' if round_ == 0 else f'round {round_}':>8}: fit s/epoch  "
                + "  ".join(f"{arm} {row[arm]['per_epoch']:.3f}" for arm in arms)
                + f"  | gate logging {gates['gates_in_fit']:.2f} s in fit of "
                f"{gates['fit']:.1f} s, {gates['gates_at_end']:.2f} s at the end",
                flush=True,
            )
            if round_:
                rounds.append(row)
    rest = [r["gates"]["fit"] - r["gates"]["gates_in_fit"] for r in rounds]
    in_fit = [r["gates"]["gates_in_fit"] / f for r, f in zip(rounds, rest)]
    in_all = [
        (r["gates"]["gates_in_fit"] + r["gates"]["gates_at_end"]) / f for r, f in zip(rounds, rest)
    ]
    ratios = [r["gates"]["per_epoch"] / r["scalars"]["per_epoch"] for r in rounds]
    curves = [r["scalars"]["per_epoch"] / r["none"]["per_epoch"] for r in rounds]
    print(f"gate logging during fit: {_summary(in_fit, percent=True)} of the rest of fit")
    print(f"gate logging in all (fit + end of run): {_summary(in_all, percent=True)} of it")
    print(f"fit time, gates vs loss curves only: {_summary(ratios)}")
    print(f"fit time, loss curves and hparams vs logger=none: {_summary(curves)}")


if __name__ == "__main__":
    main()
