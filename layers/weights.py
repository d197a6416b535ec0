"""Weight creation shared by every cell: `RecurrentCell.build` (kernels of equal width) and the
cells whose kernels differ in width (the GRU variants, the minimal cells)."""

from __future__ import annotations

from typing import Any

import keras


def add_cell_weights(
    cell: Any,
    input_shape: tuple,
    kernel_width: int,
    recurrent_width: int,
    bias_shape: tuple[int, ...] | None,
    bias_initializer: Any = None,
) -> None:
    """Create `kernel (input_dim, kernel_width)`, `recurrent_kernel (units, recurrent_width)`
    (none if 0) and `bias bias_shape` (none if None or `use_bias=False`), in that order, with
    the cell's initializers, regularizers and constraints, then mark the cell built."""
    input_dim = input_shape[-1]
    if input_dim is None:
        raise ValueError(
            f"The last dimension of the input to `{cell.name}` (features) must be known, "
            f"got input shape {tuple(input_shape)}."
        )
    cell.kernel = cell.add_weight(
        shape=(input_dim, kernel_width),
        name="kernel",
        initializer=cell.kernel_initializer,
        regularizer=cell.kernel_regularizer,
        constraint=cell.kernel_constraint,
    )
    cell.recurrent_kernel = None
    if recurrent_width:
        cell.recurrent_kernel = cell.add_weight(
            shape=(cell.units, recurrent_width),
            name="recurrent_kernel",
            initializer=cell.recurrent_initializer,
            regularizer=cell.recurrent_regularizer,
            constraint=cell.recurrent_constraint,
        )
    cell.bias = None
    if cell.use_bias and bias_shape is not None:
        cell.bias = cell.add_weight(
            shape=bias_shape,
            name="bias",
            initializer=bias_initializer or cell.bias_initializer,
            regularizer=cell.bias_regularizer,
            constraint=cell.bias_constraint,
        )
    keras.layers.Layer.build(cell, input_shape)
