"""Throughput of gatelab's layers against Keras's built-ins, measured side by side.

    python -m experiments.bench [--repeats 5] [--times 25 100 400] [--quick]

For each cell type and sequence length, builds the same model twice (ours, built-in, same
weights), then alternates them: one whole `fit` epoch (training throughput) and one `predict`
pass (inference throughput) per repeat, in sequences per second. Prints ours / built-in ratios
with min / median / max over repeats, then a second table: the best of the repeats of each
(the run least disturbed by other processes) and the ratio of the processor time each used
(`time.process_time`, all threads: what a shared machine disturbs least). Figures, not
assertions: machines are noisy.
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

CUDNN_CELLS = ("LSTM", "GRU")  # the layers that take `use_cudnn`
PAIRS = {
    "SimpleRNN": (layers.SimpleRNN, keras.layers.SimpleRNN),
    "LSTM": (layers.LSTM, keras.layers.LSTM),
    "GRU": (layers.GRU, keras.layers.GRU),
}


def build_model(
    layer_cls, time_steps: int, features: int, units: int, masked: bool = False, **kwargs
) -> keras.Model:
    """`(batch, time, features)` → [Masking(0)] → recurrent layer (`kwargs`) → Dense(1);
    compiled with Adam / MSE."""
    inputs = keras.Input((time_steps, features))
    x = keras.layers.Masking(0.0)(inputs) if masked else inputs
    outputs = keras.layers.Dense(1)(layer_cls(units, **kwargs)(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", jit_compile=False)
    return model


def _timed(run) -> tuple[float, float]:
    """`(wall seconds, processor seconds of this process)` that `run()` took."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_pair(
    name: str,
    time_steps: int,
    batch: int,
    features: int,
    units: int,
    batches: int,
    repeats: int,
    use_cudnn: str | bool = "auto",
    masked: bool = False,
) -> list[dict]:
    """Alternate ours and the built-in; one row per repeat with both throughputs (seq/s) and
    processor seconds. `masked`: sequences right-padded with zeros to lengths drawn from
    [time / 2, time], and a `Masking` layer in front."""
    ours_cls, keras_cls = PAIRS[name]
    rng = np.random.default_rng(0)
    n = batch * batches
    x = rng.normal(size=(n, time_steps, features)).astype("float32")
    y = rng.normal(size=(n, 1)).astype("float32")
    if masked:
        lengths = rng.integers(time_steps // 2, time_steps + 1, size=n)
        x[np.arange(time_steps)[None, :] >= lengths[:, None]] = 0.0
    kwargs = {"masked": masked}
    if name in CUDNN_CELLS:
        kwargs["use_cudnn"] = use_cudnn
    models = {"ours": build_model(ours_cls, time_steps, features, units, **kwargs)}
    models["keras"] = build_model(keras_cls, time_steps, features, units, **kwargs)
    models["ours"].set_weights(models["keras"].get_weights())
    for model in models.values():  # warm-up: tracing and graph building are not measured
        model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)
        model.predict(x[:batch], batch_size=batch, verbose=0)
    rows = []
    for repeat in range(repeats):
        row = {"cell": name, "time": time_steps, "repeat": repeat}
        for who, model in models.items():
            runs = {
                "train": lambda m=model: m.fit(x, y, batch_size=batch, epochs=1, verbose=0),
                "infer": lambda m=model: m.predict(x, batch_size=batch, verbose=0),
            }
            for kind, run in runs.items():
                wall, cpu = _timed(run)
                row[f"{kind}_{who}"], row[f"{kind}_cpu_{who}"] = n / wall, cpu
        rows.append(row)
    return rows


def summarise(rows: list[dict]) -> pd.DataFrame:
    """Ratios ours / built-in with min / median / max over repeats, per (cell, time)."""
    frame = pd.DataFrame(rows)
    frame["train_ratio"] = frame["train_ours"] / frame["train_keras"]
    frame["infer_ratio"] = frame["infer_ours"] / frame["infer_keras"]
    table = frame.groupby(["cell", "time"], sort=False).agg(
        train_seq_s_ours=("train_ours", "median"),
        train_seq_s_keras=("train_keras", "median"),
        train_ratio_min=("train_ratio", "min"),
        train_ratio_median=("train_ratio", "median"),
        train_ratio_max=("train_ratio", "max"),
        infer_ratio_min=("infer_ratio", "min"),
        infer_ratio_median=("infer_ratio", "median"),
        infer_ratio_max=("infer_ratio", "max"),
    )
    return table.round(2)


def summarise_best(rows: list[dict]) -> pd.DataFrame:
    """Best-of-repeats throughput (seq/s) and ratios ours / built-in, and the ratio of median
    processor time built-in / ours (> 1: ours uses less), per (cell, time)."""
    frame = pd.DataFrame(rows)
    table = frame.groupby(["cell", "time"], sort=False).agg(
        train_best_ours=("train_ours", "max"),
        train_best_keras=("train_keras", "max"),
        infer_best_ours=("infer_ours", "max"),
        infer_best_keras=("infer_keras", "max"),
        train_cpu_ours=("train_cpu_ours", "median"),
        train_cpu_keras=("train_cpu_keras", "median"),
        infer_cpu_ours=("infer_cpu_ours", "median"),
        infer_cpu_keras=("infer_cpu_keras", "median"),
    )
    for kind in ("train", "infer"):
        table[f"{kind}_best_ratio"] = table[f"{kind}_best_ours"] / table[f"{kind}_best_keras"]
        table[f"{kind}_cpu_ratio"] = table[f"{kind}_cpu_keras"] / table[f"{kind}_cpu_ours"]
    columns = ["train_best_ours", "train_best_keras", "train_best_ratio", "train_cpu_ratio"]
    columns += ["infer_best_ours", "infer_best_keras", "infer_best_ratio", "infer_cpu_ratio"]
    return table[columns].round(2)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--times", type=int, nargs="+", default=[25, 100, 400])
    parser.add_argument("--cells", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--batches", type=int, default=8, help="batches per epoch")
    parser.add_argument(
        "--use-cudnn",
        choices=["auto", "false"],
        default="auto",
        help="LSTM/GRU on both sides: cuDNN where it applies (a GPU), or always the loop",
    )
    parser.add_argument(
        "--masked", action="store_true", help="right-padded sequences behind a Masking layer"
    )
    args = parser.parse_args(argv)
    for name, value in (("repeats", args.repeats), ("batch", args.batch), ("units", args.units)):
        if value <= 0:
            parser.error(f"--{name} must be a positive integer, got {value}")
    threads = tf.config.threading.get_intra_op_parallelism_threads() or "all"
    gpus = [gpu.name for gpu in tf.config.list_physical_devices("GPU")] or ["no GPU"]
    use_cudnn = "auto" if args.use_cudnn == "auto" else False
    print(
        f"# {platform.machine()}, {threads} threads, {', '.join(gpus)} (LSTM/GRU use_cudnn="
        f"{use_cudnn!r}), TF {tf.__version__}, Keras {keras.__version__}, "
        f"Python {platform.python_version()}"
    )
    print(f"# batch {args.batch}, input {args.features}, units {args.units}, ", end="")
    print(f"{args.batches} batches/epoch, {args.repeats} repeats", end="")
    print(", right-padded behind Masking" if args.masked else "")
    rows = []
    for time_steps in args.times:
        for name in args.cells:
            sizes = (args.batch, args.features, args.units, args.batches, args.repeats)
            rows += bench_pair(name, time_steps, *sizes, use_cudnn=use_cudnn, masked=args.masked)
            keras.backend.clear_session()
    table = summarise(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string())
        print("# best of the repeats (seq/s) and processor-time ratios built-in / ours")
        print(summarise_best(rows).to_string())
    return table


if __name__ == "__main__":
    main()
