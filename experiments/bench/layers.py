"""Throughput of gatelab's layers against Keras's built-ins, measured side by side.

    python -m experiments.bench [--repeats 3] [--builds 4] [--times 25 100 400] [--feed dataset]

For each cell type and sequence length, builds the same model twice (ours, built-in, same
weights), then alternates them: one whole `fit` epoch (training throughput) and one `predict`
pass (inference throughput) per repeat, in sequences per second; `--builds` times over, the
build order flipped each time (a freshly built model can run some 20% slower than its twin for
its whole life, whichever layer it holds). Prints ours / built-in ratios with min / median / max
over all repeats, then a second table: the best repeat of each (the one least disturbed by
other processes), the ratio of the processor time each used (`time.process_time`, all threads:
what a shared machine disturbs least), and how many training epochs of each ran on about one
core (processor / wall time under 1.25). Figures, not assertions: machines are noisy.

`--feed dataset` (the default) feeds both models the same fixed `tf.data` pipeline (batched
arrays, tf.data's autotuning off). With `--feed arrays` `fit` and `predict` take the numpy arrays,
as in most programs; Keras then builds an autotuned pipeline, and on a 2-core machine some of
its epochs run on one core at half the throughput, at random, for either layer: that measures
the pipeline's luck more than the layers.
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

ONE_CORE = 1.25  # processor / wall time under which an epoch counts as run on about one core
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
    feed: str = "dataset",
    keras_first: bool = False,
) -> list[dict]:
    """Alternate ours and the built-in; one row per repeat with both throughputs (seq/s) and
    processor seconds. `masked`: sequences right-padded with zeros to lengths drawn from
    [time / 2, time], and a `Masking` layer in front. `feed`: "dataset" or "arrays" (see the
    module's docstring). `keras_first`: build (and run) the built-in's model first."""
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
    order = {"ours": ours_cls, "keras": keras_cls}
    if keras_first:
        order = dict(reversed(order.items()))
    models = {
        who: build_model(cls, time_steps, features, units, **kwargs) for who, cls in order.items()
    }
    models["ours"].set_weights(models["keras"].get_weights())
    train_data, infer_data = _feeds(x, y, batch, feed)
    warm_train, warm_infer = _feeds(x[:batch], y[:batch], batch, feed)  # same input signature
    for model in models.values():  # warm-up: tracing and graph building are not measured
        model.fit(**warm_train, epochs=1, verbose=0)
        model.predict(**warm_infer, verbose=0)
    rows = []
    for repeat in range(repeats):
        row = {"cell": name, "time": time_steps, "repeat": repeat}
        for who, model in models.items():
            runs = {
                "train": lambda m=model: m.fit(**train_data, epochs=1, verbose=0),
                "infer": lambda m=model: m.predict(**infer_data, verbose=0),
            }
            for kind, run in runs.items():
                wall, cpu = _timed(run)
                row[f"{kind}_{who}"], row[f"{kind}_cpu_{who}"] = n / wall, cpu
                row[f"{kind}_one_core_{who}"] = cpu / wall < ONE_CORE
        rows.append(row)
    return rows


def _feeds(x: np.ndarray, y: np.ndarray, batch: int, feed: str) -> tuple[dict, dict]:
    """Keyword arguments of `fit` and of `predict` for `feed` ("dataset" or "arrays")."""
    if feed == "arrays":
        return {"x": x, "y": y, "batch_size": batch}, {"x": x, "batch_size": batch}
    options = tf.data.Options()
    options.autotune.enabled = False
    pairs = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).with_options(options)
    inputs = tf.data.Dataset.from_tensor_slices(x).batch(batch).with_options(options)
    return {"x": pairs, "shuffle": False}, {"x": inputs}  # fit cannot shuffle a dataset


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
    processor time built-in / ours (> 1: ours uses less), and the training epochs of each that ran
    on about one core, per (cell, time)."""
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
        train_one_core_ours=("train_one_core_ours", "sum"),
        train_one_core_keras=("train_one_core_keras", "sum"),
    )
    for kind in ("train", "infer"):
        table[f"{kind}_best_ratio"] = table[f"{kind}_best_ours"] / table[f"{kind}_best_keras"]
        table[f"{kind}_cpu_ratio"] = table[f"{kind}_cpu_keras"] / table[f"{kind}_cpu_ours"]
    columns = ["train_best_ours", "train_best_keras", "train_best_ratio", "train_cpu_ratio"]
    columns += ["infer_best_ours", "infer_best_keras", "infer_best_ratio", "infer_cpu_ratio"]
    columns += ["train_one_core_ours", "train_one_core_keras"]
    return table[columns].round(2)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeats per build")
    parser.add_argument(
        "--builds",
        type=int,
        default=4,
        help="model pairs built per cell, in flipped order (a build's speed is partly luck)",
    )
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
    parser.add_argument(
        "--feed",
        choices=["dataset", "arrays"],
        default="dataset",
        help="a fixed tf.data pipeline for both models, or numpy arrays (Keras's autotuned one)",
    )
    args = parser.parse_args(argv)
    for name in ("repeats", "builds", "batch", "units"):
        if (value := getattr(args, name)) <= 0:
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
    print(f"{args.batches} batches/epoch, {args.builds} builds x {args.repeats} repeats, ", end="")
    print(f"fed {'a fixed tf.data pipeline' if args.feed == 'dataset' else 'numpy arrays'}", end="")
    print(", right-padded behind Masking" if args.masked else "")
    rows = []
    for time_steps in args.times:
        for name in args.cells:
            sizes = (args.batch, args.features, args.units, args.batches, args.repeats)
            for build in range(args.builds):
                rows += bench_pair(
                    name,
                    time_steps,
                    *sizes,
                    use_cudnn=use_cudnn,
                    masked=args.masked,
                    feed=args.feed,
                    keras_first=build % 2 == 1,
                )
                keras.backend.clear_session()
    table = summarise(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string())
        print("# best of the repeats (seq/s) and processor-time ratios built-in / ours")
        print(summarise_best(rows).to_string())
    return table


if __name__ == "__main__":
    main()
