"""The gate explorer's TensorBoard plugin: its tab, its page and its read-only JSON routes.

Routes, under `/data/plugin/gate_explorer/` (errors: status 400, `{"error": "..."}`):

- `runs`: the runs that logged the explorer's data (`summary`), each with its model, data,
  seq_len, layers and gates, task (vocabulary, labels), probe examples, logged steps and whether
  it has an exported SavedModel to trace (`traceable`).
- `trace?run=R&text=...` (token tasks) or `trace?run=R&values=[[...]]` (feature tasks): the
  tokens as read, the prediction and every gate as `(time, units)`, from the run's SavedModel.
- `probe?run=R&layer=L&gate=G`: the gate on the probe examples at every logged step (epoch),
  with the prediction at each step; works without a SavedModel.
- `index.js`, `style.css`: the page (an ES module that TensorBoard's iframe calls `render()` of).

A run is chosen from the listing by name; no request value becomes a file path. The SavedModel
is the one `experiments.train` writes beside the run's `tb/` folder.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.data import provider
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from experiments import outputs
from experiments.explorer import inputs, summary
from experiments.explorer.models import ModelCache

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"/index.js": "text/javascript", "/style.css": "text/css"}
MAX_MODELS = 2  # SavedModels kept loaded at once
DECIMALS = 6  # gate values as sent: float32 holds about 7 significant digits


def _rounded(values: np.ndarray) -> list:
    return np.round(np.asarray(values, dtype=np.float64), DECIMALS).tolist()


class GateExplorerPlugin(base_plugin.TBPlugin):
    """The `gate_explorer` tab: type a sentence (or values), see every gate of every layer."""

    plugin_name = summary.PLUGIN_NAME

    def __init__(self, context: base_plugin.TBContext, max_models: int = MAX_MODELS) -> None:
        self._provider = context.data_provider
        self._logdir = Path(context.logdir) if context.logdir else None
        self.models = ModelCache(max_models)

    def get_plugin_apps(self) -> dict[str, Any]:
        apps = {route: self._static(route) for route in STATIC_FILES}
        return apps | {
            "/runs": self._serve_runs,
            "/trace": self._serve_trace,
            "/probe": self._serve_probe,
        }

    def is_active(self) -> bool:
        return False  # enabled by TensorBoard when a run holds this plugin's summary data

    def frontend_metadata(self) -> base_plugin.FrontendMetadata:
        return base_plugin.FrontendMetadata(es_module_path="/index.js", tab_name="Gate explorer")

    def _static(self, route: str):
        path, content_type = STATIC / route.lstrip("/"), STATIC_FILES[route]

        @wrappers.Request.application
        def serve(request: wrappers.Request) -> wrappers.Response:
            return http_util.Respond(request, path.read_bytes(), content_type)

        return serve

    # -- what the runs logged -------------------------------------------------------------

    def _read(self, request, runs: list[str] | None, tags: list[str], downsample: int) -> dict:
        ctx = plugin_util.context(request.environ)
        return self._provider.read_tensors(
            ctx,
            experiment_id=plugin_util.experiment_id(request.environ),
            plugin_name=summary.PLUGIN_NAME,
            downsample=downsample,
            run_tag_filter=provider.RunTagFilter(runs=runs, tags=tags),
        )

    def runs(self, request: wrappers.Request, only: str | None = None) -> dict[str, dict[str, Any]]:
        """Run name → its listing entry, for every run (or the run `only`) with a readable run
        description."""
        listing = {}
        wanted = None if only is None else [only]
        for run, data in sorted(self._read(request, wanted, [summary.RUN_TAG], 1).items()):
            points = data.get(summary.RUN_TAG, [])
            description = summary.parse_description(points[-1].numpy.item()) if points else None
            if description is not None:
                listing[run] = self._entry(run, description)
        return listing

    def _run_dir(self, run: str) -> Path | None:
        """The run's output folder (the parent of its `tb/`) inside the logdir, or None."""
        if self._logdir is None or Path(run).name != outputs.TENSORBOARD:
            return None
        root = self._logdir.resolve()
        folder = (root / run).resolve().parent
        return folder if folder.is_relative_to(root) else None

    def _entry(self, run: str, description: dict[str, Any]) -> dict[str, Any]:
        folder = self._run_dir(run)
        metrics = (outputs.read_metrics(folder) if folder else None) or {}
        saved = folder is not None and (folder / outputs.SAVED_MODEL / "saved_model.pb").is_file()
        first = next(iter(description["layers"].values()), {})
        return {
            "run": run,
            "model": metrics.get("model") or first.get("cell"),
            "data": metrics.get("data") or description["task"]["name"],
            "seq_len": metrics.get("seq_len", description["task"]["seq_len"]),
            "traceable": saved,
            **description,
        }

    def _run(self, request: wrappers.Request) -> tuple[str, dict[str, Any]]:
        """The listing entry of the request's `run`, or `InputError` naming the runs there are."""
        run = request.args.get("run", "")
        entry = self.runs(request, only=run).get(run)  # one description read, not every run's
        if entry is None:
            listing = self.runs(request)
            known = (
                ", ".join(repr(r) for r in listing) or "none (no run logged the explorer's data)"
            )
            raise inputs.InputError(f"unknown run {run!r}; the runs are: {known}")
        return run, entry

    # -- routes ---------------------------------------------------------------------------

    @staticmethod
    def _respond(request, body: dict[str, Any], code: int = 200) -> wrappers.Response:
        return http_util.Respond(request, body, "application/json", code=code)

    @wrappers.Request.application
    def _serve_runs(self, request: wrappers.Request) -> wrappers.Response:
        return self._respond(
            request, {"runs": list(self.runs(request).values()), "max_steps": inputs.MAX_STEPS}
        )

    @wrappers.Request.application
    def _serve_trace(self, request: wrappers.Request) -> wrappers.Response:
        try:
            return self._respond(request, self.trace(request))
        except inputs.InputError as exc:
            return self._respond(request, {"error": str(exc)}, code=400)

    @wrappers.Request.application
    def _serve_probe(self, request: wrappers.Request) -> wrappers.Response:
        try:
            return self._respond(request, self.probe(request))
        except inputs.InputError as exc:
            return self._respond(request, {"error": str(exc)}, code=400)

    def trace(self, request: wrappers.Request) -> dict[str, Any]:
        """The `trace` route's answer; `InputError` for anything the person can fix."""
        run, entry = self._run(request)
        task, args = entry["task"], request.args
        if ("text" in args) == ("values" in args):
            wanted = "text" if task["input_kind"] == "tokens" else "values"
            raise inputs.InputError(
                f"send exactly one of `text` and `values` (this run reads `{wanted}`)"
            )
        if "text" in args:
            x, tokens = inputs.encode_text(task, args["text"])
        else:
            x = inputs.parse_values(task, args["values"])
            tokens = [str(t) for t in range(x.shape[1])]
        if not entry["traceable"]:
            raise inputs.InputError(
                f"run {run!r} has no exported SavedModel ({outputs.SAVED_MODEL}/ beside its tb/): "
                "only its logged probes can be shown; export it with "
                "`python -m experiments.export RUN_DIR`"
            )
        model = self.models.get(self._run_dir(run) / outputs.SAVED_MODEL)
        tic = time.perf_counter()
        y, gates = model.trace(x)
        seconds = time.perf_counter() - tic
        return {
            "run": run,
            "tokens": tokens,
            "input": x[0].tolist() if task["input_kind"] == "features" else None,
            "prediction": inputs.prediction(task, y),
            "gates": {
                layer: {g: _rounded(v) for g, v in lg.items()} for layer, lg in gates.items()
            },
            "seconds": seconds,
        }

    def probe(self, request: wrappers.Request) -> dict[str, Any]:
        """The `probe` route's answer: one gate of the probe examples at every logged step."""
        run, entry = self._run(request)
        layer, gate = request.args.get("layer", ""), request.args.get("gate", "")
        gates = entry["layers"].get(layer, {}).get("gates", [])
        if gate not in gates:
            choices = "; ".join(
                f"{name}: {', '.join(v['gates'])}" for name, v in entry["layers"].items()
            )
            raise inputs.InputError(f"unknown layer/gate {layer!r}/{gate!r}; the run has {choices}")
        tags = [summary.probe_tag(layer, gate), summary.OUTPUTS_TAG]
        data = self._read(request, [run], tags, 10_000).get(run, {})
        values = {p.step: p.numpy for p in data.get(tags[0], [])}
        predictions = {p.step: p.numpy for p in data.get(tags[1], [])}
        steps = sorted(values)
        examples = entry["examples"]
        return {
            "run": run,
            "steps": steps,
            "values": [
                [_rounded(v[: e["length"]]) for e, v in zip(examples, values[s])] for s in steps
            ],
            "predictions": [self._predictions(entry, predictions.get(s)) for s in steps],
        }

    @staticmethod
    def _predictions(entry: dict[str, Any], outputs: np.ndarray | None) -> list | None:
        """The page's prediction of each probe example from its logged outputs, or None."""
        if outputs is None:
            return None
        sequence = entry["task"]["output"] == "sequence"
        return [
            inputs.prediction(entry["task"], o[: e["length"]] if sequence else o)
            for e, o in zip(entry["examples"], outputs)
        ]
