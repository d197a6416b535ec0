"""Processor seconds per training epoch of each model of a preset, measured interleaved:
`python -m experiments.bench.epoch_time experiment=<preset> [--repeats 5] [OVERRIDE ...]`.

Builds every model the preset sweeps (`model=` of its `hydra.sweeper.params`) for the same task
at one point of the preset's grid — each other swept key at its last value, e.g. the longest
`data.seq_len` — compiled as `experiments.pipeline.run.fit` compiles it, fed the same fixed
`tf.data` pipeline (`experiments.bench.layers`), in one process on `--threads` threads (1, as a
job of `launcher=parallel` runs). One warm-up epoch per model is not measured (tracing and graph
building); then `--repeats` rounds of one training epoch per model, in A B C, C B A, A B C, ...
order, so that a slow phase of a shared machine hits every model alike. Writes one row per model
and round — `model, repeat, cpu_seconds, wall_seconds, one_core, ...` — to
`<outputs>/timing/<preset>.csv`, which `python -m experiments.results` judges the preset's time
claims on, and prints each model's median with its spread and each pair's paired ratio with a
95% confidence interval (the noise estimate). Overrides narrow the grid (`model=lstm,gru`,
`data.seq_len=200`) or shrink it (`data.n_train=256`), as on `experiments.train`'s command line.
"""

from __future__ import annotations

import argparse
import itertools
import math
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig
from scipy import stats as sps

CONF = Path(__file__).resolve().parents[2] / "conf"
TIMING = "timing"  # <outputs>/timing/<preset>.csv, read by experiments.results
ONE_CORE = 1.25  # processor / wall time under which an epoch counts as run on about one core


def grid(preset: str, overrides: list[str]) -> tuple[list[str], list[str]]:
    """The models of `preset`'s sweep and the overrides of its one timed point: every other
    swept key at its last value, unless `overrides` set it (`model=a,b` narrows the models)."""
    cfg = compose("train", overrides=[f"experiment={preset}"], return_hydra_config=True)
    swept = {
        str(key): [v.strip() for v in str(values).split(",") if v.strip()]
        for key, values in (cfg.hydra.sweeper.params or {}).items()
    }
    given = dict(o.split("=", 1) for o in overrides if "=" in o)
    models = (given.pop("model", None) or ",".join(swept.pop("model", ["lstm"]))).split(",")
    point = {key: values[-1] for key, values in swept.items() if key != "model"}
    point |= {key: value.split(",")[-1] for key, value in given.items()}
    return models, [f"{key}={value}" for key, value in point.items()]


def build(preset: str, model: str, point: list[str], output_dir: str):
    """The compiled model and the task of one model at `point`."""
    from hydra.utils import instantiate

    from experiments.cli.config import validate_config
    from experiments.pipeline.run import make_model

    cfg: DictConfig = compose(
        "train",
        overrides=[f"experiment={preset}", f"model={model}", *point, f"output_dir={output_dir}"],
    )
    task = validate_config(cfg)
    keras_model = make_model(cfg.model, task)
    keras_model.compile(
        optimizer=instantiate(cfg.trainer.optimizer),
        loss=task.loss(),
        metrics=["accuracy"] if task.spec.is_classification else ["mae"],
        jit_compile=cfg.trainer.jit_compile,
    )
    return keras_model, task, cfg


def measure(preset: str, overrides: list[str], repeats: int, threads: int) -> pd.DataFrame:
    """One row per (round, model): processor and wall seconds of one training epoch."""
    import tensorflow as tf

    from experiments.bench.layers import _feeds, _timed

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    models, point = grid(preset, overrides)
    built = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in models:
            model, task, cfg = build(preset, name, point, tmp)
            train = task.splits()["train"]
            feed, _ = _feeds(train.x, train.y, cfg.trainer.batch_size, "dataset")
            model.fit(**feed, epochs=1, verbose=0)  # warm-up: tracing is not measured
            built[name] = (model, feed, task, cfg)
    rows = []
    for repeat in range(repeats):
        for name in models if repeat % 2 == 0 else models[::-1]:
            model, feed, task, cfg = built[name]
            wall, cpu = _timed(lambda m=model, f=feed: m.fit(**f, epochs=1, verbose=0))
            rows.append(
                {
                    "model": name,
                    "repeat": repeat,
                    "cpu_seconds": cpu,
                    "wall_seconds": wall,
                    "one_core": cpu / wall < ONE_CORE,
                    "seq_len": task.spec.seq_len,
                    "units": cfg.model.units,
                    "params": model.count_params(),
                    "sequences": len(task.splits()["train"].x),
                    "batch_size": cfg.trainer.batch_size,
                    "threads": threads,
                }
            )
    return pd.DataFrame(rows)


def noise(table: pd.DataFrame) -> list[str]:
    """Per model: median, min–max and coefficient of variation of the processor seconds; per
    pair: the median ratio and the 95% t-interval of the paired log ratios, as ratios."""
    lines = []
    for model, group in table.groupby("model", sort=False):
        cpu = group["cpu_seconds"].to_numpy(float)
        cv = cpu.std(ddof=1) / cpu.mean() if cpu.size > 1 else math.nan
        lines.append(
            f"{model}: median {np.median(cpu):.4g} CPU s/epoch (min {cpu.min():.4g}, max "
            f"{cpu.max():.4g}, CV {100 * cv:.1f}%, {int(group['one_core'].sum())} of "
            f"{len(cpu)} epochs on about one core)"
        )
    wide = table.pivot_table(index="repeat", columns="model", values="cpu_seconds")
    for a, b in itertools.combinations(table["model"].unique(), 2):
        logs = np.log(wide[a] / wide[b]).dropna().to_numpy(float)
        if logs.size < 2:
            continue
        low, high = sps.t.interval(0.95, logs.size - 1, logs.mean(), sps.sem(logs))
        lines.append(
            f"{a} / {b}: {math.exp(np.median(logs)):.3f} (95% CI of the paired ratio "
            f"{math.exp(low):.3f} to {math.exp(high):.3f}, {logs.size} rounds)"
        )
    return lines


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow threads (default 1)")
    parser.add_argument("--outputs", type=Path, default=Path("outputs"), help="where timing/ goes")
    parser.add_argument("overrides", nargs="+", help="experiment=<preset>, then Hydra overrides")
    args = parser.parse_intermixed_args(argv)
    for name in ("repeats", "threads"):
        if (value := getattr(args, name)) <= 0:
            parser.error(f"--{name} must be a positive integer, got {value}")
    preset = next((o.split("=", 1)[1] for o in args.overrides if o.startswith("experiment=")), "")
    if not preset:
        parser.error("give the preset as experiment=<name> (a file of conf/experiment/)")
    if not (CONF / "experiment" / f"{preset}.yaml").is_file():
        parser.error(f"experiment={preset}: no conf/experiment/{preset}.yaml")
    overrides = [o for o in args.overrides if not o.startswith("experiment=")]
    from experiments.cli.config import register_schemas

    register_schemas()
    started = time.time()
    with initialize_config_dir(str(CONF), version_base="1.3"):
        table = measure(preset, overrides, args.repeats, args.threads)
    path = args.outputs / TIMING / f"{preset}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    first = table.iloc[0]
    print(
        f"# {preset}: {table['model'].nunique()} models, seq_len {first['seq_len']}, "
        f"{first['sequences']} sequences/epoch at batch {first['batch_size']}, "
        f"{args.threads} thread(s), {args.repeats} interleaved rounds after a warm-up epoch; "
        f"{platform.machine()}, {time.time() - started:.0f} s in all"
    )
    print("\n".join(noise(table)))
    print(f"Wrote {path}")
    return table


if __name__ == "__main__":
    main()
