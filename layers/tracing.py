"""Gate tracing for whole models, Keras's built-in recurrent layers included."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras.src.backend import get_keras_mask
from keras.src.models.functional import Functional
from keras.src.ops.function import make_node_key

from layers.base import Recurrent
from layers.walk import (
    EQUIVALENT,
    holds_recurrent,
    inner_layers,
    is_recurrent,
    time_distributed,
)

# Keras's built-in layer → ours with the same weights and maths.


def to_gatelab(layer: keras.layers.Layer) -> Recurrent:
    """Our equivalent of a built `keras.layers.SimpleRNN` / `LSTM` / `GRU`, with its weights
    (and, for a stateful layer, its batch size and current states).

    Layers that are already ours are returned as they are.
    """
    if isinstance(layer, Recurrent):
        return layer
    ours = EQUIVALENT.get(type(layer))
    if ours is None:
        allowed = ", ".join(cls.__name__ for cls in EQUIVALENT)
        raise ValueError(
            f"Received an invalid value for argument `layer`, expected a Keras {allowed} layer "
            f"or one of gatelab's, got {type(layer).__name__}."
        )
    if not layer.built:
        raise ValueError(f"Layer `{layer.name}` must be built before it can be converted.")
    clone = ours.from_config({**layer.get_config(), "name": f"{layer.name}_traced"})
    batch = layer.states[0].shape[0] if layer.stateful else None
    clone.build((batch, None, layer.cell.kernel.shape[0]))
    clone.set_weights(layer.get_weights())
    _copy_states(layer, clone)
    return clone


def _copy_states(source: keras.layers.Layer, target: Recurrent) -> None:
    """A stateful layer's carried states, `(batch, units)` each, from `source` into `target`."""
    if source.stateful:
        for variable, value in zip(target.states, source.states, strict=True):
            variable.assign(value)


def from_keras(model: keras.Model) -> keras.Model:
    """A copy of `model` in which every Keras SimpleRNN / LSTM / GRU (also inside
    `Bidirectional`) is ours, with the same name, configuration and weights.

    Keras resolves its own layers before `custom_objects`, so
    `load_model(path, custom_objects={"LSTM": LSTM})` still gives Keras's layer; this swaps
    them after loading: `from_keras(keras.saving.load_model(path))`. The copy is not compiled.
    Sequential and functional models, nested ones too (Keras's `clone_model`); other layers are
    cloned as they are.
    """

    def ours(layer: keras.layers.Layer) -> keras.layers.Layer:
        return EQUIVALENT[type(layer)].from_config(layer.get_config())

    def swap(layer: keras.layers.Layer) -> keras.layers.Layer:
        if type(layer) in EQUIVALENT:
            return ours(layer)
        wrapped = getattr(layer, "forward_layer", None)  # Bidirectional's
        if isinstance(layer, keras.layers.Bidirectional) and type(wrapped) in EQUIVALENT:
            return keras.layers.Bidirectional(
                ours(layer.forward_layer),
                backward_layer=ours(layer.backward_layer),
                merge_mode=layer.merge_mode,
                name=layer.name,
            )
        return layer.__class__.from_config(layer.get_config())

    clone = keras.models.clone_model(model, clone_function=swap, recursive=True)
    clone.set_weights(model.get_weights())
    return clone


def _recurrent_paths(layer: keras.layers.Layer, path: str) -> list[tuple[str, keras.layers.Layer]]:
    """`[(path, recurrent layer)]` inside `layer`, in call order; a path joins names with "/"."""
    if is_recurrent(layer):
        return [(path, layer)]
    prefix = f"{path}/" if path else ""
    return [
        found
        for inner in inner_layers(layer)
        if holds_recurrent(inner)
        for found in _recurrent_paths(inner, prefix + inner.name)
    ]


class _Calls:
    """How a functional model calls its layers that hold a recurrent one, from its inputs.

    One Keras model maps the model's inputs to each such layer's call arguments (`{"x":
    sequences}` plus `"mask"` and `"initial_state"` where it was called with them), so only
    the layers before them run. A layer called twice (shared) is traced at its first call.
    """

    def __init__(self, model: keras.Model):
        self.layers = [layer for layer in model.layers if holds_recurrent(layer)]
        calls = []
        for layer in self.layers:
            node = next(
                node
                for index, node in enumerate(layer._inbound_nodes)
                if make_node_key(layer, index) in model._nodes
            )
            call = {"x": node.arguments.args[0]}
            for key in ("mask", "initial_state"):
                if node.arguments.kwargs.get(key) is not None:
                    call[key] = node.arguments.kwargs[key]
            calls.append(call)
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        self._model = keras.Model(inputs, calls)

    def __call__(self, inputs, mask=None) -> list[tuple[keras.layers.Layer, dict]]:
        """`[(layer, call arguments)]` for the model's `inputs` (with their `mask`, if any)."""
        if mask is None:
            calls = self._model(inputs)
        else:  # a nested model's inputs are tensors; `__call__` would warn that masks are lost
            calls = self._model.call(inputs, mask=mask)
        calls = [calls] if isinstance(calls, dict) else calls
        for call in calls:  # a mask the graph did not record travels on the tensor
            call.setdefault("mask", get_keras_mask(call["x"]))
        return list(zip(self.layers, calls, strict=True))


def _model_kind(model: keras.Model) -> str:
    """Whether `model` is "functional" or "sequential"; a subclassed model (no graph of
    layers to follow) is refused."""
    if isinstance(model, keras.Sequential):
        return "sequential"
    if isinstance(model, Functional):
        return "functional"
    raise ValueError(
        f"Model `{model.name}` ({type(model).__name__}) is subclassed: its layers are called "
        "in Python code that cannot be followed; GateTracer needs a functional or Sequential "
        "model (sub-models of either kind may be nested)."
    )


def _nested_models(layer: keras.layers.Layer, path: str) -> list[tuple[str, keras.Model]]:
    """`[(path, model)]` of the models nested in `layer` (at any depth) that hold a recurrent
    layer."""
    found = []
    for inner in inner_layers(layer):
        inner_path = f"{path}/{inner.name}" if path else inner.name
        if isinstance(inner, keras.Model) and holds_recurrent(inner):
            found.append((inner_path, inner))
        found += _nested_models(inner, inner_path)
    return found


def check_traceable(model: keras.Model) -> None:
    """Raise a `ValueError` that says why, unless `GateTracer` can follow `model`: a functional
    or Sequential model (nested ones of either kind too) with a recurrent layer. Needs no
    weights, so a model can be checked before it is built."""
    for _, nested in [("", model), *_nested_models(model, "")]:
        _model_kind(nested)
    if not holds_recurrent(model):
        raise ValueError(
            f"Model `{model.name}` has no recurrent layer to trace; expected gatelab's or "
            "Keras's SimpleRNN, LSTM or GRU (also inside Bidirectional, TimeDistributed or "
            "a nested model)."
        )


class GateTracer:
    """Traces every recurrent layer of a model on the same inputs.

    Works on models made of our layers and on models made of Keras's built-ins (whose weights
    are copied into an equivalent of ours at every call, so the trace follows training), also
    where they sit inside `Bidirectional` (both directions), `TimeDistributed` or a nested
    functional or Sequential model. Usable eagerly and inside `tf.function`.

    Layers are named by their path: `"lstm"` at the top level, `"bidirectional/forward_lstm"`
    and `"bidirectional/backward_lstm"`, `"time_distributed/lstm"`, `"encoder/lstm"`. A layer
    inside `TimeDistributed` sees `(batch * outer, time, features)` (row `b * outer + j` is
    outer step j of example b), and so do its gates. A backward layer's time index t is the
    step that read `inputs[:, t]`, as with `go_backwards`.

    Example:
    >>> tracer = GateTracer(model)
    >>> gates = tracer(x)            # {layer path: {gate_name: (batch, time, units)}}
    >>> gates["rnn_0"]["forget"].shape
    >>> gates, masks = tracer(x, return_masks=True)   # masks: {layer path: (batch, time) or None}
    """

    def __init__(self, model: keras.Model):
        check_traceable(model)
        found = _recurrent_paths(model, "")
        self.model = model
        self.names = [path for path, _ in found]
        self.layers = [layer for _, layer in found]
        self._tracers = {path: to_gatelab(layer) for path, layer in found}
        # Layer path → the cell that computes its trace (ours, also for Keras's built-ins).
        self.cells = {path: tracer.cell for path, tracer in self._tracers.items()}
        self._calls = {}  # model path → `_Calls` of a functional model
        for path, layer in [("", model), *_nested_models(model, "")]:
            if _model_kind(layer) == "functional":
                self._calls[path] = _Calls(layer)

    def _sync(self) -> None:
        for layer, path in zip(self.layers, self.names, strict=True):
            tracer = self._tracers[path]
            if tracer is not layer:
                for source, target in zip(layer.weights, tracer.weights, strict=True):
                    target.assign(source)
                _copy_states(layer, tracer)  # a stateful layer's trace starts where it stands

    def retention(self, traces: dict[str, dict]) -> dict[str, tf.Tensor | None]:
        """`{layer path: (batch, time, units) retention or None}` of a `__call__` result: the
        fraction of the old state each step keeps (`RecurrentCell.retention`; None: no gate)."""
        return {name: cell.retention(traces[name]) for name, cell in self.cells.items()}

    def __call__(self, inputs, return_masks: bool = False):
        """`inputs` as the model takes them → `{layer path: {gate: (batch, time, units)}}`.

        With `return_masks`, also `{layer path: (batch, time) bool mask the layer was called
        with, or None (every step real)}`.
        """
        self._sync()
        traces, masks = {}, {}
        self._trace_model(self.model, "", inputs, None, traces, masks)
        return (traces, masks) if return_masks else traces

    def intervene(self, inputs, interventions, return_masks: bool = False):
        """The model's outputs and every recurrent layer's trace, with traced values replaced.

        `interventions` maps `"<layer path>/<trace key>"` (a path of `names`, a key of that
        layer's trace: `cells[path].gate_names`) to `(where, value)` as `Recurrent.intervene`
        takes them: `where` bool broadcastable to that layer's `(batch, time, units)`, `value` a
        number or an array broadcastable to it, time in the order of the layer's inputs. The
        whole model runs in inference mode; each recurrent layer runs its step loop with its
        interventions, and every later layer sees its outputs under intervention. A layer
        called more than once (shared) is intervened at every call and traced at its first.

        Args:
            inputs: as the model takes them.
            interventions: `{"<layer path>/<trace key>": (where, value)}`, or None / `{}`.
            return_masks: also return `{layer path: (batch, time) bool mask or None}`.
        Returns:
            `(outputs, traces)` (or `(outputs, traces, masks)`): `outputs` as
            `model(inputs, training=False)` returns them, `traces` as `__call__` returns them
            (`{layer path: {key: (batch, time, units)}}`).

        Example:
        >>> tracer = GateTracer(model)
        >>> clean = tracer(x_clean)
        >>> where = np.arange(x.shape[1])[:, None] == 3           # step 3, every unit
        >>> outputs, traces = tracer.intervene(
        ...     x, {"lstm/forget": (where, clean["lstm"]["forget"])})
        """
        from layers.interventions import ModelRun, split_interventions

        patches = split_interventions(interventions, self.cells)
        self._sync()
        run = ModelRun(self._tracers, patches)
        outputs = run.model(self.model, "", tf.nest.map_structure(tf.convert_to_tensor, inputs))
        return (outputs, run.traces, run.masks) if return_masks else (outputs, run.traces)

    def _trace_model(self, model, path, inputs, mask, traces, masks) -> None:
        """Trace the recurrent layers of `model` (at `path`) called on `inputs` with `mask`."""
        prefix = f"{path}/" if path else ""
        if path in self._calls:
            for layer, call in self._calls[path](inputs, mask):
                self._trace_layer(layer, prefix + layer.name, call, traces, masks)
            return
        # A Sequential may have no graph (built by a call, without `Input`): run it layer by
        # layer, up to its last recurrent layer, as `Sequential.call` does.
        layers = model.layers
        last = max(i for i, layer in enumerate(layers) if holds_recurrent(layer))
        x = tf.convert_to_tensor(inputs)
        for layer in layers[: last + 1]:
            if holds_recurrent(layer):
                self._trace_layer(layer, prefix + layer.name, {"x": x, "mask": mask}, traces, masks)
            if layer is not layers[last]:
                x = self._run(layer, prefix + layer.name, x, mask)
                mask = get_keras_mask(x)

    def _run(self, layer: keras.layers.Layer, path: str, x, mask):
        """`layer(x)` in inference mode, through our copy of a recurrent layer (a stateful
        Keras layer's state must not move)."""
        kwargs = {"mask": mask} if layer._call_has_mask_arg and mask is not None else {}
        if layer._call_has_training_arg:
            kwargs["training"] = False
        return self._tracers.get(path, layer)(x, **kwargs)

    def _trace_layer(self, layer, path: str, call: dict, traces, masks) -> None:
        """Trace `layer` (recurrent, a wrapper or a model) at `path` on its call arguments."""
        x, mask = call["x"], call.get("mask")
        if is_recurrent(layer):
            initial_state = call.get("initial_state")
            traces[path] = self._tracers[path].trace(x, mask=mask, initial_state=initial_state)
            masks[path] = mask
        elif isinstance(layer, keras.layers.Bidirectional):
            states = call.get("initial_state")
            half = None if states is None else len(states) // 2
            for inner, part in (
                (layer.forward_layer, slice(half)),
                (layer.backward_layer, slice(half, None)),
            ):
                inner_call = {"x": x, "mask": mask}
                if states is not None:
                    inner_call["initial_state"] = states[part]
                self._trace_layer(inner, f"{path}/{inner.name}", inner_call, traces, masks)
        elif isinstance(layer, keras.layers.TimeDistributed):
            inner = layer.layer
            self._trace_layer(inner, f"{path}/{inner.name}", time_distributed(call), traces, masks)
        else:
            self._trace_model(layer, path, x, mask, traces, masks)
