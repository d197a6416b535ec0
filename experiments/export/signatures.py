"""What every endpoint of an exported run shares: the signature names, the input spec and the
check of its input (`serve`, `gates`, `intervene` and the raw-input endpoints refuse the same
inputs with the same message)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

SERVE = "serve"
GATES = "gates"
SERVING_DEFAULT = "serving_default"
OUTPUT_KEY = "outputs"


def input_signature(model: keras.Model) -> list[tf.TensorSpec]:
    """One `tf.TensorSpec` for the model's single input, batch and time left unknown.

    `(None, None)` int32 for token models, `(None, None, F)` float32 for feature models; the
    spec carries the input's name (`tokens` / `features`), which becomes the signature's input key.
    """
    import tensorflow as tf

    if not model.built or not getattr(model, "inputs", None):
        raise ValueError(
            f"Model `{model.name}` is not built (it has no inputs yet): build or train it before "
            "exporting."
        )
    if len(model.inputs) != 1:
        raise ValueError(
            f"Model `{model.name}` has {len(model.inputs)} inputs; export expects exactly one "
            "(token ids or features)."
        )
    spec = model.inputs[0]
    if len(spec.shape) < 2:
        raise ValueError(
            f"Model `{model.name}` takes input of shape {tuple(spec.shape)}; expected "
            "(batch, time) or (batch, time, features)."
        )
    name = spec.name.split(":")[0]
    if vocabulary_size(model) is not None and not tf.as_dtype(spec.dtype).is_integer:
        raise ValueError(
            f"Model `{model.name}` reads token ids (it has an Embedding) but its input "
            f"`{name}` is {spec.dtype}, so the `serve` and `gates` endpoints would take floats "
            "and the gate explorer could not send it words. Build the model on "
            '`keras.Input(shape=(None,), dtype="int32", name="tokens")` (retraining is not '
            "needed: rebuild it on that input and copy the weights with `set_weights`), then "
            "export again."
        )
    return [tf.TensorSpec((None, None, *spec.shape[2:]), spec.dtype, name=name)]


def vocabulary_size(model: keras.Model) -> int | None:
    """The number of token ids the model's `Embedding` accepts, or None for a feature model."""
    import keras

    embeddings = [layer for layer in all_layers(model) if isinstance(layer, keras.layers.Embedding)]
    return embeddings[0].input_dim if embeddings else None


def checked(x: tf.Tensor, vocabulary: int | None) -> tf.Tensor:
    """`x` unchanged once it is known to hold at least one step and, for a token model, only
    ids in [0, vocabulary).

    Both endpoints check the same way, so they refuse the same inputs with the same message:
    without it, 0 steps fail inside `serve`'s layers but give empty gates from a one-layer
    `gates`, a negative id wraps around inside the embedding lookup and a too-large one fails
    with a bare `InvalidArgumentError`.
    """
    import tensorflow as tf

    checks = [
        tf.debugging.assert_positive(
            tf.shape(x)[1],
            message="sequences need at least one step (time >= 1); got an input with time 0",
        )
    ]
    if vocabulary is not None:
        message = (
            f"token ids must be integers in [0, {vocabulary - 1}] (0 is padding; the vocabulary "
            f"has {vocabulary} entries)"
        )
        checks += [
            tf.debugging.assert_non_negative(x, message=message),
            tf.debugging.assert_less(x, tf.constant(vocabulary, x.dtype), message=message),
        ]
    with tf.control_dependencies(checks):
        return tf.identity(x)


def all_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):  # a nested model
            yield from all_layers(layer)
