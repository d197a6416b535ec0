"""How an intervention reaches a step: `Patch`, what a cell's `step` calls on each value it
computes, and `prepare_patches`, which checks a layer's `interventions` and lays them out in
time-major order for the loop.

An intervention `{key: (where, value)}` replaces the traced value `key` by `value` where `where`
is True; the step carries on with the replaced value, so the states, the output and every later
gate follow. Without interventions a cell's step calls `NO_PATCH`, which returns its argument:
the graph of `call` is the same as without the feature.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tensorflow as tf


class Patch:
    """The interventions of one step: `patch(name, value)` → `value` replaced where asked.

    Args:
        values: `{key: (where (batch, units) bool, value (batch, units))}` for this step.
    """

    def __init__(self, values: Mapping[str, tuple[tf.Tensor, tf.Tensor]]):
        self.values = dict(values)

    def __call__(self, name: str, value: tf.Tensor) -> tf.Tensor:
        """`value` `(batch, units)`, with the intervention on `name` applied if there is one."""
        if name not in self.values:
            return value
        where, replacement = self.values[name]
        return tf.where(where, replacement, value)

    def __contains__(self, name: str) -> bool:
        return name in self.values


NO_PATCH = Patch({})


def _check_shape(key: str, what: str, shape: tf.TensorShape, target: tuple) -> None:
    """A `ValueError` unless `shape` broadcasts to `target` `(batch, time, units)` (None:
    unknown, checked when the graph runs)."""
    dims = shape.as_list() if shape.rank is not None else None
    fits = dims is not None and len(dims) <= 3
    if fits:
        for have, want in zip(reversed(dims), reversed(target)):
            if have not in (None, 1) and want is not None and have != want:
                fits = False
    if not fits:
        raise ValueError(
            f"Received an invalid {what} for the intervention on {key!r}: expected a shape that "
            f"broadcasts to (batch, time, units) = {tuple(target)} (e.g. (batch, time, 1), "
            f"(time, units), a scalar), got shape "
            f"{tuple(dims) if dims is not None else 'of unknown rank'}."
        )


def prepare_patches(
    interventions: Mapping[str, Any] | None,
    allowed: tuple[str, ...],
    target: tuple[Any, Any, int],
    dynamic_shape: tf.Tensor,
    dtype: tf.DType,
    go_backwards: bool = False,
) -> dict[str, tuple[tf.Tensor, tf.Tensor]]:
    """Check `interventions` and lay them out for the loop.

    Args:
        interventions: `{key: (where, value)}` or None. `key` one of `allowed`; `where` bool,
            broadcastable to `(batch, time, units)`; `value` a number or an array broadcastable
            to it. Time runs in the order of the inputs.
        allowed: the keys the layer's trace returns.
        target: the static `(batch, time, units)`, None where unknown.
        dynamic_shape: `(3,)` int32, the same shape as it runs.
        dtype: the compute dtype of the values.
        go_backwards: whether the loop runs from the last step (the patches are reversed).
    Returns:
        `{key: (where (time, batch, units) bool, value (time, batch, units))}` in processing
        order; `{}` without interventions.
    """
    if not interventions:
        return {}
    if not isinstance(interventions, Mapping):
        raise ValueError(
            "Received an invalid value for argument `interventions`, expected a mapping "
            f"{{trace key: (where, value)}}, got {type(interventions).__name__}."
        )
    patches = {}
    for key, item in interventions.items():
        if key not in allowed:
            raise ValueError(
                f"Received an unknown intervention key {key!r}; expected one of the keys this "
                f"layer's trace returns: {', '.join(map(repr, allowed))}."
            )
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(
                f"Received an invalid intervention on {key!r}: expected a pair (where, value), "
                f"got {item!r}."
            )
        where, value = tf.convert_to_tensor(item[0]), tf.convert_to_tensor(item[1])
        if where.dtype != tf.bool:
            raise ValueError(
                f"Received an invalid `where` for the intervention on {key!r}: expected a bool "
                f"mask, got dtype {where.dtype.name}."
            )
        if not (value.dtype.is_floating or value.dtype.is_integer):
            raise ValueError(
                f"Received an invalid value for the intervention on {key!r}: expected numbers, "
                f"got dtype {value.dtype.name}."
            )
        _check_shape(key, "`where`", where.shape, target)
        _check_shape(key, "value", value.shape, target)
        laid_out = []
        for tensor in (where, tf.cast(value, dtype)):
            tensor = tf.transpose(tf.broadcast_to(tensor, dynamic_shape), [1, 0, 2])
            laid_out.append(tf.reverse(tensor, [0]) if go_backwards else tensor)
        patches[key] = tuple(laid_out)
    return patches
