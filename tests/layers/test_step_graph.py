"""The per-step graph of our loops against Keras's: the structure that decides CPU speed.

Throughput itself is measured by `make bench` (figures, never asserted: machines are noisy). What
can be asserted is the graph TensorFlow runs at every step of `fit`. Two properties were each
measured to cost 15-20% of the LSTM's throughput and are pinned here:

- the weights are read inside the loop body, as Keras's cells read them (captured from outside,
  their gradients are accumulated as loop tensors);
- the LSTM adds its bias after `h U`, as Keras does (folded into `x W` it became one fused
  matmul-and-bias, slower on oneDNN).
"""

from __future__ import annotations

from collections import Counter

import keras
import numpy as np
import pytest
import tensorflow as tf

import layers

PAIRS = {
    "rnn": (layers.SimpleRNN, keras.layers.SimpleRNN),
    "lstm": (layers.LSTM, keras.layers.LSTM),
    "gru": (layers.GRU, keras.layers.GRU),
}
# Bookkeeping that differs for reasons that do not touch the step's maths: Keras stacks every
# step's output even for `return_sequences=False` and passes values through `Identity`; the GRU
# slices its two bias rows by index where Keras splits and squeezes them (reads: their own test).
IGNORED = {"Identity", "Const", "NoOp", "TensorListGetItem", "TensorListSetItem"}
IGNORED |= {"TensorListPushBack", "TensorListPopBack", "Fill"}
IGNORED |= {"ReadVariableOp", "StridedSlice", "Squeeze"}


def _loop_bodies(layer: keras.layers.Layer) -> dict[str, list]:
    """`{"forward": nodes, "backward": nodes}` of the `tf.while_loop` bodies in a gradient step."""
    x = tf.constant(np.zeros((4, 6, 5), "float32"))
    layer(x)

    @tf.function
    def grad(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x, training=True))
        return tape.gradient(loss, layer.trainable_weights)

    library = grad.get_concrete_function(x).graph.as_graph_def().library.function
    bodies = {}
    for function in library:
        name = function.signature.name
        if "while_body" in name and "rewritten" not in name:
            bodies["backward" if "_grad" in name else "forward"] = list(function.node_def)
    assert set(bodies) == {"forward", "backward"}, sorted(f.signature.name for f in library)
    return bodies


def _op_counts(nodes: list) -> Counter:
    return Counter(node.op for node in nodes if node.op not in IGNORED)


@pytest.fixture(scope="module", params=list(PAIRS))
def bodies(request):
    ours_cls, keras_cls = PAIRS[request.param]
    return request.param, _loop_bodies(ours_cls(7)), _loop_bodies(keras_cls(7))


def test_the_step_runs_no_op_more_than_keras(bodies):
    """Per op type, our step (and its gradient) runs at most as many as Keras's."""
    name, ours, theirs = bodies
    for direction in ("forward", "backward"):
        extra = _op_counts(ours[direction]) - _op_counts(theirs[direction])
        assert not extra, (name, direction, extra)


def test_weights_are_read_inside_the_loop_as_in_keras(bodies):
    _, ours, theirs = bodies
    reads = [sum(node.op == "ReadVariableOp" for node in b["forward"]) for b in (ours, theirs)]
    assert reads[0] >= reads[1] > 0  # the GRU reads its bias once for each side


def test_the_lstm_adds_its_bias_after_the_recurrent_matmul():
    """Every `BiasAdd` in the LSTM's step takes the sum `x W + h U`, never a bare `MatMul`."""
    forward = _loop_bodies(layers.LSTM(7))["forward"]
    producers = {node.name: node.op for node in forward}
    bias_inputs = [
        producers.get(node.input[0].split(":")[0]) for node in forward if node.op == "BiasAdd"
    ]
    assert bias_inputs == ["AddV2"]
