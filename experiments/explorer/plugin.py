"""The gate explorer's TensorBoard plugin: its tab, its page and its read-only JSON routes.

Routes, under `/data/plugin/gate_explorer/` (errors: `{"error": "..."}`, status 400 for what the
person can fix, 503 for a run whose SavedModel does not load):

- `runs`: every run to explore: those that logged the explorer's data (`summary`), then every
  folder under the logdir with an exported SavedModel that has the `gates` signature, or one
  that cannot be read at all (truncated, garbage; `saved`), each with its model, data, seq_len,
  layers and gates, task (input kind, output, vocabulary size, and the task's `tutorial`: the
  sentence the page opens with, a hint, the facts it was trained on), one example input,
  whether it can be traced (`traceable`, else `why`) and whether it has a logged probe
  (`probe`); and `default`, the run the page opens on (`default_run`: the LSTM at the shortest
  length). No vocabulary: `vocab` serves it a page at a time.
- `trace?run=R&text=...` (token tasks) or `trace?run=R&values=[[...]]` (feature tasks): the
  tokens as read, the prediction and every gate as `(time, units)`, from the run's SavedModel,
  and `notes`: where the sentence leaves what the run was trained on (`inputs.notes`).
- `intervene?run=R&text=...&layer=L&gate=G&step=T&value=0|1` (optionally `&unit=U`): the gate
  clamped to 0 or 1 at step T (every unit, or unit U), through the SavedModel's `intervene`
  signature: the prediction `before` and `after`, and per layer and traced key the largest
  absolute change at every step and the first step it exceeds 1e-6 (`changes`).
  `value=patch&source=...` (a second input, read as `text` or `values` are) patches instead:
  the gate at step T takes its value at the same step T of the second input (activation
  patching; `source` gives its `tokens` and the words read as `<unk>` in `unknown`, `patched`
  the values put in). A SavedModel exported before `intervene` existed is refused (400).
- `probe?run=R&layer=L&gate=G`: the probe examples and the gate on them at every logged step
  (epoch), with the prediction at each step; works without a SavedModel.
- `vocab?run=R&start=0&count=300`: the run's typeable tokens from `start`, at most 300.
- `index.js`, `style.css`: the page (an ES module that TensorBoard's iframe calls `render()` of).

A run is chosen from the listing by name; no request value becomes a file path, and a
SavedModel is read only inside the logdir (`saved.saved_model_file`). The SavedModel is the one
`experiments.train` writes beside the run's `tb/` folder.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.data import provider
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from experiments import outputs
from experiments.explorer import inputs, saved, summary
from experiments.explorer.cache import ModelCache, ModelError, TracedModel

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"/index.js": "text/javascript", "/style.css": "text/css"}
MAX_MODELS = 2  # SavedModels kept loaded at once
DECIMALS = 6  # gate values as sent: float32 holds about 7 significant digits
ACTIVE_SECONDS = 60  # how long `is_active`'s look for SavedModels on disk is reused
DISK_SECONDS = 10  # how long a request for one run reuses the last walk of the logdir
MAX_NAMED = 20  # runs an unknown-run message names (the `runs` route lists them all)
RULE = ("tokens", "lowercase")
CLAMPS = ("0", "1")  # the values `intervene` clamps a gate to
PATCH = "patch"  # `value=patch`: the gate's own value in a second input (`source`)
CHANGED = 1e-6  # a larger absolute change counts as changed
NO_SAVED_MODEL = (  # the page labels a run "no SavedModel" by this opening (docs/screenshots.py)
    f"no exported SavedModel ({outputs.SAVED_MODEL}/ beside its tb/): only its logged probe can "
    "be shown; export it with `python -m experiments.export RUN_DIR`"
)
NO_RUNS = (
    "no run logged the explorer's data and no folder holds an exported "
    f"{outputs.SAVED_MODEL}/ with the `gates` signature"
)


def default_run(listing: list[dict[str, Any]]) -> str | None:
    """The run the page opens on: where the tutorial is, the LSTM (our `lstm`, else any LSTM)
    at the shortest length among the traceable runs, those that logged a tutorial sentence
    first; else the first traceable run, else the first run; None without runs."""
    if not listing:
        return None

    def rank(entry: dict[str, Any]) -> tuple:
        model = str(entry.get("model") or "").lower()
        seq_len = entry.get("seq_len")
        return (
            not entry["traceable"],
            entry["task"].get("tutorial") is None,
            (model != "lstm", "lstm" not in model),
            seq_len if isinstance(seq_len, int) else float("inf"),
        )

    return min(listing, key=rank)["run"]  # min keeps the listing's order among equals


def _index(text: str | None, name: str, count: int) -> int:
    """`text` read as an index in `[0, count)`; `InputError` naming `name` otherwise."""
    try:
        index = int(text or "")
    except ValueError:
        index = -1
    if not 0 <= index < count:
        raise inputs.InputError(
            f"`{name}` must be a whole number in [0, {count - 1}]; got {text!r}"
        )
    return index


def _read(
    task: dict[str, Any], text: str | None = None, values: str | None = None
) -> tuple[np.ndarray, list[str], list[str]]:
    """`(x, tokens, unknown)` of one input, `text` for a token task or `values` (JSON rows) for
    a feature task: `x` `(1, time)` int32 or `(1, time, features)` float32, the tokens as read
    (step numbers for features) and the words read as `<unk>`."""
    if text is not None:
        return inputs.encode_text(task, text)
    x = inputs.parse_values(task, values)
    return x, [str(t) for t in range(x.shape[1])], []


@contextlib.contextmanager
def _refusal(run: str, what: str = "the input") -> Iterator[None]:
    """Turn the model's `ValueError` (export's checks) into an `InputError` naming `run` and
    `what` it refused."""
    try:
        yield
    except ValueError as exc:
        raise inputs.InputError(f"run {run!r}: the model refused {what}: {exc}") from None


def _rounded(values: np.ndarray) -> list:
    return np.round(np.asarray(values, dtype=np.float64), DECIMALS).tolist()


class GateExplorerPlugin(base_plugin.TBPlugin):
    """The `gate_explorer` tab: type a sentence (or values), see every gate of every layer."""

    plugin_name = summary.PLUGIN_NAME

    def __init__(self, context: base_plugin.TBContext, max_models: int = MAX_MODELS) -> None:
        self._provider = context.data_provider
        self._logdir = Path(context.logdir) if context.logdir else None
        self.models = ModelCache(max_models)
        self._on_disk: dict[str, Path] = {}  # run name → folder, found by the last walk
        self._walked = -DISK_SECONDS  # when (time.monotonic) the last walk began
        self._walk_lock = threading.Lock()  # parallel requests share one walk
        self._active: tuple[float, bool] = (-ACTIVE_SECONDS, False)

    def get_plugin_apps(self) -> dict[str, Any]:
        apps = {route: self._static(route) for route in STATIC_FILES}
        return apps | {
            "/runs": self._serve_runs,
            "/trace": self._serve_trace,
            "/intervene": self._serve_intervene,
            "/probe": self._serve_probe,
            "/vocab": self._serve_vocab,
        }

    def is_active(self) -> bool:
        """True when a folder under the logdir holds an exported SavedModel (TensorBoard enables
        the tab anyway when a run holds this plugin's summary data). Runs on every plugin
        listing: the walk stops at the first SavedModel and is reused for a minute."""
        checked, active = self._active
        if self._logdir is not None and time.monotonic() - checked > ACTIVE_SECONDS:
            active = next(saved.run_folders(self._logdir), None) is not None
            self._active = (time.monotonic(), active)
        return active

    def frontend_metadata(self) -> base_plugin.FrontendMetadata:
        return base_plugin.FrontendMetadata(es_module_path="/index.js", tab_name="Gate explorer")

    def _static(self, route: str):
        path, content_type = STATIC / route.lstrip("/"), STATIC_FILES[route]

        @wrappers.Request.application
        def serve(request: wrappers.Request) -> wrappers.Response:
            return http_util.Respond(request, path.read_bytes(), content_type)

        return serve

    # -- the runs: those that logged the plugin's data, and SavedModels found on disk -------

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
        """Run name → its full entry (the page gets `public(entry)`), for every run (or the run
        `only`): those with a readable run description, then folders under the logdir with an
        exported SavedModel (`saved`) that none of them is, named by their path in the logdir."""
        listing = {}
        wanted = None if only is None else [only]
        for run, data in sorted(self._read(request, wanted, [summary.RUN_TAG], 1).items()):
            points = data.get(summary.RUN_TAG, [])
            description = summary.parse_description(points[-1].numpy.item()) if points else None
            if description is not None:
                listing[run] = self._entry(run, self._run_dir(run), description)
        if only is not None and only in listing:
            return listing
        if only is None or only not in self._on_disk:  # the page lists runs before it asks
            self._walk({e["folder"] for e in listing.values()}, fresh=only is None)
        root = self._logdir.resolve() if self._logdir is not None else None
        for run, folder in self._on_disk.items():
            if (only is None or run == only) and run not in listing:
                try:
                    listing[run] = self._entry(run, folder, saved.describe(folder, root))
                except saved.ForeignSavedModelError:
                    continue  # changed since it was found: not one of ours any more
                except saved.SavedModelError as exc:  # listed, with why
                    description = saved.unusable(folder, root)
                    listing[run] = self._entry(run, folder, description, str(exc))
        return listing

    def _walk(self, logged: set[Path | None], fresh: bool) -> None:
        """Find the runs on disk again (`_find_on_disk`): always for the listing (`fresh`), at
        most every `DISK_SECONDS` for a request naming a run that the last walk did not find, so
        that requests for unknown runs do not walk a logdir of thousands of runs each; requests
        that arrive during a walk wait for it and use it."""
        began = time.monotonic()
        with self._walk_lock:
            if self._walked >= began or (not fresh and began - self._walked < DISK_SECONDS):
                return  # walked while this request waited, or recently enough
            self._walked = time.monotonic()
            self._on_disk = self._find_on_disk(logged)

    def _find_on_disk(self, logged: set[Path | None]) -> dict[str, Path]:
        """Run name → folder of every folder under the logdir with a SavedModel that has the
        `gates` signature or cannot be read at all (listed with why), less those of runs that
        logged the plugin's data."""
        if self._logdir is None:
            return {}
        root, found = self._logdir.resolve(), {}
        for folder in saved.run_folders(root):
            folder = folder.resolve()
            if folder in logged or not folder.is_relative_to(root):
                continue
            try:
                saved.interface(folder / outputs.SAVED_MODEL / saved.PB)
            except saved.ForeignSavedModelError:
                continue  # some other model's SavedModel: not listed
            except saved.SavedModelError:
                pass  # truncated or garbage: listed, with why
            found[folder.relative_to(root).as_posix()] = folder
        return found

    def _run_dir(self, run: str) -> Path | None:
        """The output folder (the parent of its `tb/`) of a run that logged the plugin's data,
        inside the logdir, or None."""
        if self._logdir is None or Path(run).name != outputs.TENSORBOARD:
            return None
        root = self._logdir.resolve()
        folder = (root / run).resolve().parent
        return folder if folder.is_relative_to(root) else None

    def _entry(
        self, run: str, folder: Path | None, description: dict[str, Any], why: str | None = None
    ) -> dict[str, Any]:
        """A run's full entry: its description, and from its folder whether its SavedModel can be
        traced (else `why` not; given when reading it for the description failed already), its
        tokenisation rule and its metrics' model, data, seq_len."""
        root = self._logdir.resolve() if self._logdir is not None else None
        metrics = saved.metrics(folder, root) if folder else {}
        rule = None
        if why is None and (folder is None or not saved.saved_model_file(folder, root)):
            why = NO_SAVED_MODEL
        if why is None:
            try:
                saved.interface(folder / outputs.SAVED_MODEL / saved.PB)
                rule = saved.rule(folder, root) if description["task"]["vocab"] else None
            except saved.SavedModelError as exc:
                why = str(exc)
        first = next(iter(description["layers"].values()), {})
        return {
            "run": run,
            "model": metrics.get("model") or first.get("cell"),
            "data": metrics.get("data") or description["task"]["name"],
            "seq_len": metrics.get("seq_len", description["task"]["seq_len"]),
            "traceable": why is None,
            "why": why,
            "probe": bool(description["examples"]),
            "folder": folder,
            "task": description["task"] | {"rule": rule and {k: rule[k] for k in RULE}},
            "layers": description["layers"],
            "examples": description["examples"],
        }

    @staticmethod
    def public(entry: dict[str, Any]) -> dict[str, Any]:
        """What the page gets of a run to start with: no vocabulary or labels (`vocab` and
        `trace` serve those), one example input (`text` or `values`, and its `marks`)."""
        task = entry["task"]
        kept = {k: v for k, v in task.items() if k not in ("vocab", "labels", "rule")}
        example = entry["examples"][0] if entry["examples"] else {}
        return {k: v for k, v in entry.items() if k not in ("folder", "examples", "task")} | {
            "task": kept | {"vocab_size": None if task["vocab"] is None else len(task["vocab"])},
            "example": {k: v for k, v in example.items() if k in ("text", "values", "marks")},
        }

    def _run(self, request: wrappers.Request) -> tuple[str, dict[str, Any]]:
        """The entry of the request's `run`, or `InputError` naming (some of) the runs there are:
        by name only, from the logged series' names and the last walk of the logdir, no
        description read."""
        run = request.args.get("run", "")
        entry = self.runs(request, only=run).get(run)  # one description read, not every run's
        if entry is None:
            ctx = plugin_util.context(request.environ)
            logged = self._provider.list_tensors(
                ctx,
                experiment_id=plugin_util.experiment_id(request.environ),
                plugin_name=summary.PLUGIN_NAME,
                run_tag_filter=provider.RunTagFilter(tags=[summary.RUN_TAG]),
            )
            names = sorted(set(logged) | set(self._on_disk))
            known = ", ".join(repr(r) for r in names[:MAX_NAMED]) or f"none ({NO_RUNS})"
            if len(names) > MAX_NAMED:
                known += f", … ({len(names):,} in all; the `runs` route lists every one)"
            raise inputs.InputError(f"unknown run {run!r}; the runs are: {known}")
        return run, entry

    def _model(self, run: str, entry: dict[str, Any]):
        """The run's loaded SavedModel; `InputError` when it has none, `ModelError` (naming the
        run) when it does not load."""
        if entry["why"] == NO_SAVED_MODEL:
            raise inputs.InputError(f"run {run!r} has {NO_SAVED_MODEL}")
        try:
            if entry["why"] is not None:
                raise ModelError(entry["why"])
            return self.models.get(entry["folder"] / outputs.SAVED_MODEL)
        except ModelError as exc:
            raise ModelError(f"run {run!r} cannot be traced: {exc}") from None

    # -- routes ---------------------------------------------------------------------------

    @staticmethod
    def _respond(request, body: dict[str, Any], code: int = 200) -> wrappers.Response:
        return http_util.Respond(request, body, "application/json", code=code)

    def _answer(self, request: wrappers.Request, route) -> wrappers.Response:
        """`route(request)` as JSON; what the person can fix → 400, a run whose SavedModel does
        not load → 503, each as `{"error": ...}`."""
        try:
            return self._respond(request, route(request))
        except inputs.InputError as exc:
            return self._respond(request, {"error": str(exc)}, code=400)
        except ModelError as exc:
            return self._respond(request, {"error": str(exc)}, code=503)

    @wrappers.Request.application
    def _serve_runs(self, request: wrappers.Request) -> wrappers.Response:
        listing = [self.public(entry) for entry in self.runs(request).values()]
        body = {"runs": listing, "default": default_run(listing), "max_steps": inputs.MAX_STEPS}
        return self._respond(request, body)

    @wrappers.Request.application
    def _serve_trace(self, request: wrappers.Request) -> wrappers.Response:
        return self._answer(request, self.trace)

    @wrappers.Request.application
    def _serve_intervene(self, request: wrappers.Request) -> wrappers.Response:
        return self._answer(request, self.intervene)

    @wrappers.Request.application
    def _serve_probe(self, request: wrappers.Request) -> wrappers.Response:
        return self._answer(request, self.probe)

    @wrappers.Request.application
    def _serve_vocab(self, request: wrappers.Request) -> wrappers.Response:
        return self._answer(request, self.vocab)

    def vocab(self, request: wrappers.Request) -> dict[str, Any]:
        """The `vocab` route's answer: a page of the run's typeable tokens."""
        run, entry = self._run(request)
        args = request.args
        page = inputs.vocabulary(
            entry["task"], args.get("start", "0"), args.get("count", str(inputs.MAX_LISTED))
        )
        return {"run": run, **page}

    def _input(self, request: wrappers.Request) -> tuple:
        """`(run, entry, task, x, tokens, unknown)` of a `trace` or `intervene` request: its run
        and its input (`text` or `values`) read as the run's model takes it."""
        run, entry = self._run(request)
        if not entry["traceable"]:
            self._model(run, entry)  # raises why, before the input is read by a task it lacks
        task, args = entry["task"], request.args
        if ("text" in args) == ("values" in args):
            wanted = "text" if task["input_kind"] == "tokens" else "values"
            raise inputs.InputError(
                f"send exactly one of `text` and `values` (this run reads `{wanted}`)"
            )
        x, tokens, unknown = _read(task, args.get("text"), args.get("values"))
        return run, entry, task, x, tokens, unknown

    def trace(self, request: wrappers.Request) -> dict[str, Any]:
        """The `trace` route's answer; `InputError` for anything the person can fix."""
        run, entry, task, x, tokens, unknown = self._input(request)
        model = self._model(run, entry)
        tic = time.perf_counter()
        with _refusal(run):
            y, gates = model.trace(x)
        seconds = time.perf_counter() - tic
        inputs.check_finite(y, gates)
        return {
            "run": run,
            "tokens": tokens,
            "unknown": unknown,
            "input": x[0].tolist() if task["input_kind"] == "features" else None,
            "prediction": inputs.prediction(task, y),
            "notes": inputs.notes(task, tokens),
            "gates": {
                layer: {g: _rounded(v) for g, v in lg.items()} for layer, lg in gates.items()
            },
            "seconds": seconds,
        }

    def intervene(self, request: wrappers.Request) -> dict[str, Any]:
        """The `intervene` route's answer: the prediction before and after clamping one gate
        (`layer`, `gate`) to `value` (0 or 1; or `patch`: its value in the input `source`) at
        one `step` (at every unit, or at `unit`), and per layer and traced key the largest
        absolute change over the units at every step (`largest`) and the first step where it
        exceeds `CHANGED` (`from`, None: unchanged)."""
        run, entry, task, x, tokens, unknown = self._input(request)
        model = self._model(run, entry)
        args = request.args
        with _refusal(run):
            before_y, before = model.trace(x)
        layer, gate = args.get("layer", ""), args.get("gate", "")
        if gate not in before.get(layer, {}):
            choices = "; ".join(f"{name}: {', '.join(lg)}" for name, lg in before.items())
            raise inputs.InputError(f"unknown layer/gate {layer!r}/{gate!r}; the run has {choices}")
        time_steps, units = before[layer][gate].shape
        step = _index(args.get("step"), "step", time_steps)
        unit = None if args.get("unit", "") == "" else _index(args["unit"], "unit", units)
        value = args.get("value", "")
        if value not in (*CLAMPS, PATCH):
            raise inputs.InputError(
                f"`value` must be one of {', '.join(CLAMPS)}, {PATCH}; got {value!r}"
            )
        where = np.zeros((1, time_steps, 1 if unit is None else units), bool)
        where[0, step, 0 if unit is None else unit] = True
        source, patched = None, None
        if not model.can_intervene:
            raise inputs.InputError(
                f"run {run!r}: its SavedModel has no `intervene` signature (exported before "
                f"it existed): export it again with `python -m experiments.export RUN_DIR`"
            )
        if value == PATCH:
            source, new = self._source(run, model, task, args, (layer, gate), step, time_steps)
            patched = new[0, step] if unit is None else new[0, step, unit : unit + 1]
        with _refusal(run):
            after_y, after = model.intervene(
                x, f"{layer}/{gate}", where, new if value == PATCH else float(value)
            )
        inputs.check_finite(after_y, after)
        changes: dict[str, dict[str, Any]] = {}
        for name, lg in before.items():
            for key, was in lg.items():
                largest = np.abs(after[name][key] - was).max(axis=1)
                changed = np.flatnonzero(largest > CHANGED)
                changes.setdefault(name, {})[key] = {
                    "largest": _rounded(largest),
                    "from": int(changed[0]) if changed.size else None,
                }
        return {
            "run": run,
            "tokens": tokens,
            "unknown": unknown,
            "clamp": {"layer": layer, "gate": gate, "step": step, "unit": unit, "value": value},
            "source": source,
            "patched": None if patched is None else _rounded(patched),
            "before": inputs.prediction(task, before_y),
            "after": inputs.prediction(task, after_y),
            "changes": changes,
        }

    @staticmethod
    def _source(
        run: str,
        model: TracedModel,
        task: dict[str, Any],
        args: Any,
        key: tuple[str, str],
        step: int,
        time_steps: int,
    ) -> tuple[dict[str, list[str]], np.ndarray]:
        """`(source, values)` of a patch: the second input `source` as read (`tokens`, and the
        words read as `<unk>` in `unknown`), and `(1, time_steps, units)` float32 holding its
        `key` (layer, gate) at `step` (zeros elsewhere: the `where` selects step `step` only)."""
        if not args.get("source", "").strip():
            raise inputs.InputError(
                f"`value={PATCH}` needs `source`, the second input whose gate value is patched in"
            )
        kind = "text" if task["input_kind"] == "tokens" else "values"
        try:
            x, tokens, unknown = _read(task, **{kind: args["source"]})
        except inputs.InputError as exc:
            raise inputs.InputError(f"`source` (the second input): {exc}") from None
        with _refusal(run, "`source`"):
            _, traced = model.trace(x)
        values = traced[key[0]][key[1]]  # (time of source, units)
        if step >= len(values):
            raise inputs.InputError(
                f"`source` has {len(values)} steps; patching step {step} needs at least {step + 1}"
            )
        new = np.zeros((1, time_steps, values.shape[1]), np.float32)
        new[0, step] = values[step]
        return {"tokens": tokens, "unknown": unknown}, new

    def probe(self, request: wrappers.Request) -> dict[str, Any]:
        """The `probe` route's answer: one gate of the probe examples at every logged step."""
        run, entry = self._run(request)
        if not entry["probe"]:
            raise inputs.InputError(
                f"run {run!r} has no logged probe: only runs trained with the explorer's "
                "GateLogger (logger=tensorboard, logger.every_n_epochs not null) have one"
            )
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
            "examples": examples,
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
