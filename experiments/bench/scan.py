"""Training throughput of the parallel-scan cells against our sequential GRU and LSTM.

    python -m experiments.bench.scan [--repeats 3] [--times 100 1000 4000] [--batches 4]

minGRU is compared with our GRU and minLSTM with our LSTM (batch 64, input 64, units 128 by
default): the two models of a pair alternate `--batches` training steps (`train_on_batch`:
forward, backward, Adam) in one process, and the table gives each one's median training
sequences per second and the ratio min / median / max over repeats.
Figures, not assertions (`make bench` prints this after `experiments.bench.layers`).
"""

from __future__ import annotations

import argparse
import platform
import time

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

import layers
from experiments.bench.layers import build_model

PAIRS = {
    "minGRU / GRU": (layers.MinGRU, layers.GRU),
    "minLSTM / LSTM": (layers.MinLSTM, layers.LSTM),
}


def bench_scan_pair(
    name: str, time_steps: int, batch: int, features: int, units: int, batches: int, repeats: int
) -> list[dict]:
    """One row per repeat: training sequences per second of the scan cell and of its baseline."""
    rng = np.random.default_rng(0)
    n = batch * batches
    x = rng.normal(size=(n, time_steps, features)).astype("float32")
    y = rng.normal(size=(n, 1)).astype("float32")
    models = {
        who: build_model(cls, time_steps, features, units)
        for who, cls in zip(("scan", "loop"), PAIRS[name])
    }
    for model in models.values():  # warm-up: tracing and graph building are not measured
        model.train_on_batch(x[:batch], y[:batch])
    rows = []
    for repeat in range(repeats):
        row = {"pair": name, "time": time_steps, "repeat": repeat}
        for who, model in models.items():
            start = time.perf_counter()
            for i in range(0, n, batch):  # per batch: no per-epoch setup of `fit` in the figure
                model.train_on_batch(x[i : i + batch], y[i : i + batch])
            row[who] = n / (time.perf_counter() - start)
        rows.append(row)
    return rows


def summarise(rows: list[dict]) -> pd.DataFrame:
    """Per (pair, time): median seq/s of both, and the ratio scan / loop min / median / max."""
    frame = pd.DataFrame(rows)
    frame["ratio"] = frame["scan"] / frame["loop"]
    table = frame.groupby(["pair", "time"], sort=False).agg(
        train_seq_s_scan=("scan", "median"),
        train_seq_s_loop=("loop", "median"),
        ratio_min=("ratio", "min"),
        ratio_median=("ratio", "median"),
        ratio_max=("ratio", "max"),
    )
    return table.round(2)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--times", type=int, nargs="+", default=[100, 1000, 4000])
    parser.add_argument("--pairs", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--batches", type=int, default=4, help="batches per epoch")
    args = parser.parse_args(argv)
    for key in ("repeats", "batch", "features", "units", "batches"):
        if getattr(args, key) <= 0:
            parser.error(f"--{key} must be a positive integer, got {getattr(args, key)}")
    if any(t <= 0 for t in args.times):
        parser.error(f"--times must be positive integers, got {args.times}")
    threads = tf.config.threading.get_intra_op_parallelism_threads() or "all"
    print(
        f"# {platform.machine()}, {threads} threads, TF {tf.__version__}, "
        f"Keras {keras.__version__}, Python {platform.python_version()}"
    )
    print(f"# batch {args.batch}, input {args.features}, units {args.units}, ", end="")
    print(f"{args.batches} batches/epoch, {args.repeats} repeats; training seq/s")
    rows = []
    for time_steps in args.times:
        for name in args.pairs:
            rows += bench_scan_pair(
                name, time_steps, args.batch, args.features, args.units, args.batches, args.repeats
            )
            keras.backend.clear_session()
    table = summarise(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string())
    return table


if __name__ == "__main__":
    main()
