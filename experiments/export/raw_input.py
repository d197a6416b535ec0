"""The SavedModel endpoints that take raw input: `serve_text` (strings, tokenised in the graph by
the rule and vocabulary of training) and `serve_raw` (features in the table's units, standardised
in the graph). `experiments.export.saved_model` adds them when a run has a `preprocessing.json`.
A run whose
value targets were standardised for training (`"target"` in it) answers in the target's units on
every endpoint that returns outputs, `serve` included."""

from __future__ import annotations

from typing import TYPE_CHECKING

from experiments.export.signatures import OUTPUT_KEY

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

SERVE_TEXT = "serve_text"
SERVE_RAW = "serve_raw"


class RawInput:
    """The `serve_text` / `serve_raw` endpoint of a task's `preprocessing` (`Task.preprocessing`).

    `text(strings)` tokenises `(batch,)` strings in the graph with the ops training ran
    (`data.own.tokenize_tensor`) and pads them as `data.own.encode_padded` did: `(batch, time)`
    int32 ids, time >= 1.
    `features(x, length)` standardises `(batch, time, F)` raw features: `(batch, time, F + 1)`.
    """

    def __init__(self, preprocessing: dict) -> None:
        import tensorflow as tf

        self.prep = preprocessing
        if preprocessing["kind"] == "tokens":
            vocab = preprocessing["vocab"]
            self.table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(
                    tf.constant(vocab[2:], tf.string),
                    tf.range(2, len(vocab), dtype=tf.int32),
                ),
                default_value=1,  # <unk>
            )

    def signature(self) -> list[tf.TensorSpec]:
        import tensorflow as tf

        if self.prep["kind"] == "tokens":
            return [tf.TensorSpec((None,), tf.string, name="text")]
        width = len(self.prep["mean"])
        return [
            tf.TensorSpec((None, None, width), tf.float32, name="features"),
            tf.TensorSpec((None,), tf.int32, name="length"),
        ]

    def text(self, strings: tf.Tensor) -> tf.Tensor:
        """`(batch,)` strings → `(batch, time)` int32 ids."""
        import tensorflow as tf

        from data.own import tokenize_tensor  # the rule training ran: one tokeniser

        prep = self.prep
        pieces = tokenize_tensor(strings, prep["tokens"], prep["lowercase"])
        ids = tf.ragged.map_flat_values(self.table.lookup, pieces)
        if prep["max_len"] is not None:
            ids = (
                ids[:, : prep["max_len"]] if prep["keep"] == "start" else ids[:, -prep["max_len"] :]
            )
        dense = ids.to_tensor(default_value=0)  # (batch, time)
        return tf.pad(dense, [[0, 0], [0, tf.maximum(1 - tf.shape(dense)[1], 0)]])

    def features(self, x: tf.Tensor, length: tf.Tensor) -> tf.Tensor:
        """`(batch, time, F)` raw values and `(batch,)` lengths → `(batch, time, F + 1)`."""
        import tensorflow as tf

        mean = tf.constant(self.prep["mean"], tf.float32)
        std = tf.constant(self.prep["std"], tf.float32)
        present = tf.sequence_mask(length, tf.shape(x)[1], dtype=tf.float32)[..., None]
        return tf.concat([(x - mean) / std * present, present], axis=-1)


def in_target_units(y: tf.Tensor, preprocessing: dict | None) -> tf.Tensor:
    """`y * std + mean` for a run whose value targets were standardised for training
    (`preprocessing["target"]`, `data.table.TableTask`); `y` itself otherwise (classes, and runs
    saved before targets were standardised)."""
    target = (preprocessing or {}).get("target")
    if target is None:
        return y
    return y * target["std"] + target["mean"]


def add_raw_endpoint(
    archive: keras.export.ExportArchive, model: keras.Model, preprocessing: dict
) -> None:
    """Add `serve_text` (token tasks) or `serve_raw` (feature tasks) to `archive`, from the run's
    `Task.preprocessing()`."""
    raw = RawInput(preprocessing)
    if raw.prep["kind"] == "tokens":
        archive.track(raw.table)

        def serve_text(text):
            ids = raw.text(text)
            outputs = model(ids, training=False)
            return {OUTPUT_KEY: in_target_units(outputs, raw.prep), "tokens": ids}

        archive.add_endpoint(SERVE_TEXT, serve_text, input_signature=raw.signature())
    else:

        def serve_raw(features, length):
            outputs = model(raw.features(features, length), training=False)
            return {OUTPUT_KEY: in_target_units(outputs, raw.prep)}

        archive.add_endpoint(SERVE_RAW, serve_raw, input_signature=raw.signature())
