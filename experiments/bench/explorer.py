"""How fast the gate explorer answers: `python -m experiments.bench.explorer LOGDIR [--run R]`.

Builds TensorBoard's WSGI app with the plugin over LOGDIR (as `tensorboard --logdir LOGDIR` would,
without the server), then times the `runs` listing (and gives its size) and, for one token run,
the first `trace` (it loads the SavedModel) and `--repeats` `trace` requests of a `--tokens`-word
input drawn from the run's vocabulary (its first `inputs.MAX_LISTED` entries, from the `vocab`
route), each the whole route (parse, trace, JSON encoding). Prints seconds: the listing, the
load, then median and max.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from experiments.explorer import inputs


def client(logdir: Path, **plugin_kwargs):
    """A werkzeug client of TensorBoard's app with only the gate explorer over `logdir`, and the
    plugin (`GateExplorerPlugin(context, **plugin_kwargs)`)."""
    from tensorboard.backend import application
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from werkzeug import test, wrappers

    from experiments.explorer.plugin import GateExplorerPlugin

    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    provider = data_provider.MultiplexerDataProvider(mux, str(logdir))
    context = base_plugin.TBContext(logdir=str(logdir), data_provider=provider)
    plugin = GateExplorerPlugin(context, **plugin_kwargs)
    app = application.TensorBoardWSGI([plugin], data_provider=provider)
    return test.Client(app, wrappers.Response), plugin


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logdir", type=Path)
    parser.add_argument("--run", help="run name (default: the first traceable token run)")
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    app, _ = client(args.logdir)
    tic = time.perf_counter()
    listing = app.get("/data/plugin/gate_explorer/runs")
    listed_in, runs = time.perf_counter() - tic, listing.json["runs"]
    tokens = [r for r in runs if r["traceable"] and r["task"]["vocab_size"]]
    run = next((r for r in tokens if args.run in (None, r["run"])), None)
    if run is None:
        where = f"{args.run or ''} under {args.logdir}"
        parser.error(f"no traceable token run with a vocabulary {where}")
    query = {"run": run["run"], "count": inputs.MAX_LISTED}
    listed = app.get("/data/plugin/gate_explorer/vocab", query_string=query).json["tokens"]
    vocab = [t for t in listed if t not in inputs.VISIBLE.values()]
    rng = np.random.default_rng(0)
    separator = "" if run["task"]["characters"] else " "

    def trace() -> float:
        text = separator.join(rng.choice(vocab, args.tokens))
        tic = time.perf_counter()
        query = {"run": run["run"], "text": text}
        response = app.get("/data/plugin/gate_explorer/trace", query_string=query)
        assert response.status_code == 200, response.json
        return time.perf_counter() - tic

    load = trace()
    seconds = [trace() for _ in range(args.repeats)]
    size = len(listing.get_data())
    print(f"runs: {len(runs)} listed in {listed_in:.3f} s, {size} bytes (uncompressed)")
    print(f"run {run['run']} ({run['model']}): {args.tokens} tokens")
    print(f"first trace (loads the SavedModel): {load:.2f} s")
    median, worst = statistics.median(seconds), max(seconds)
    print(f"trace after load, {args.repeats} requests: median {median:.3f} s, max {worst:.3f} s")


if __name__ == "__main__":
    main()
