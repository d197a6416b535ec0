"""Keras's own tests of its recurrent layers, run against ours.

Keras ships the tests of `keras.layers.LSTM`, `GRU`, `SimpleRNN`, `Bidirectional` and
`StackedRNNCells` inside the installed package (`keras/src/layers/rnn/*_test.py`), and one of
`Masking` saves and loads an LSTM behind it (`keras/src/layers/core/masking_test.py`). Each file
is loaded here from there, under a new module name, and its name `layers` (the module those files
import with `from keras.src import layers`) is replaced by `KERAS_LAYERS_WITH_OURS`: Keras's
layers, except that `LSTM, GRU, SimpleRNN, LSTMCell, GRUCell, SimpleRNNCell` are gatelab's. The
test classes are subclassed below so that pytest collects every one of their test methods, run
unchanged against our classes. Nothing of Keras's code is copied into this repository.

A Keras test that never touches our classes proves nothing about them, so:
- only test methods whose source names one of the six classes are kept: all of those of
  `lstm_test.py`, `gru_test.py`, `simple_rnn_test.py` and `bidirectional_test.py`, 3 of the 7 of
  `stacked_rnn_cells_test.py` (the 4 left stack only its own test cells) and 1 of the 3 of
  `masking_test.py`; `rnn_test.py`, `dropout_rnn_cell_test.py` and `time_distributed_test.py`
  use none of them and are not loaded;
- each kept test fails if it finished without looking one of the six up in the namespace.

Two tests are expected to fail (`XFAIL`, strict: they must fail), both for one reason: Keras's
`Bidirectional` asks `isinstance(layer, keras.layers.LSTM)` (`GRU`) in its private
`_can_attempt_fused_lstm` (`_gru`), and ours are not subclasses of Keras's classes. Nothing a
user sees differs: on the TensorFlow backend, the only one gatelab runs on,
`backend.bidirectional_lstm` / `bidirectional_gru` raise `NotImplementedError` and Keras's
`Bidirectional` runs its two layers one after the other for its own layers too
(`test_fused_*_matches_unfused` pass).
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import re
import types
from pathlib import Path

import keras.src
import keras.src.layers
import pytest

import layers as gatelab_layers

OURS = ("LSTM", "GRU", "SimpleRNN", "LSTMCell", "GRUCell", "SimpleRNNCell")
KERAS_SRC = Path(keras.src.__file__).parent
_NAMES_OURS = re.compile(r"\blayers\.(" + "|".join(OURS) + r")\b")


class _KerasLayersWithOurs(types.ModuleType):
    """`keras.src.layers`, except for the six classes in `OURS`, which are gatelab's.

    `looked_up` collects the names of ours that were read, so that a test can be shown to have
    used them.
    """

    def __init__(self) -> None:
        super().__init__("keras_layers_with_gatelab")
        self.looked_up: set[str] = set()

    def __getattr__(self, name: str):
        if name in OURS:
            self.looked_up.add(name)
            return getattr(gatelab_layers, name)
        return getattr(keras.src.layers, name)


KERAS_LAYERS_WITH_OURS = _KerasLayersWithOurs()


def _load_keras_test_module(path: str) -> types.ModuleType:
    """Keras's installed `keras/src/<path>`, as module `keras_suite.<file name>`, with its global
    `layers` bound to `KERAS_LAYERS_WITH_OURS`."""
    name = f"keras_suite.{Path(path).stem}"
    spec = importlib.util.spec_from_file_location(name, KERAS_SRC / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.layers = KERAS_LAYERS_WITH_OURS
    return module


def _must_use_ours(method):
    """`method`, failing if it returns without having looked up one of our classes."""

    @functools.wraps(method)
    def test(self, *args, **kwargs):
        KERAS_LAYERS_WITH_OURS.looked_up.clear()
        method(self, *args, **kwargs)
        assert KERAS_LAYERS_WITH_OURS.looked_up, (
            f"Keras's {method.__name__} ran without one of gatelab's {', '.join(OURS)}"
        )

    return test


NOT_A_KERAS_SUBCLASS = (
    "Keras's Bidirectional takes its fused path only for isinstance(layer, keras.layers.{}); "
    "ours is not a subclass (on TensorFlow that path raises NotImplementedError and falls back "
    "to the two layers for Keras's own layer too: same outputs)"
)


def _keras_suite(path: str, class_name: str, name: str, xfail: dict | None = None) -> type:
    """A subclass of Keras's TestCase `class_name` in `keras/src/<path>`, named `name`, keeping its
    test methods that name one of our classes (the others are set to None: not collected).
    `xfail` maps test names to the reason they must fail (strict)."""
    keras_case = getattr(_load_keras_test_module(path), class_name)
    xfail = xfail or {}
    methods = {}
    for attr in dir(keras_case):
        if attr.startswith("test"):
            method = getattr(keras_case, attr)
            uses_ours = _NAMES_OURS.search(inspect.getsource(method))
            methods[attr] = _must_use_ours(method) if uses_ours else None
            if attr in xfail:
                methods[attr] = pytest.mark.xfail(strict=True, reason=xfail[attr])(methods[attr])
    assert set(xfail) <= {k for k, v in methods.items() if v}, "xfail names no kept test"
    assert any(methods.values()), f"no test of Keras's {path} uses our classes"
    return type(name, (keras_case,), {**methods, "__module__": __name__})


RNN_TESTS = "layers/rnn/"
TestKerasLSTM = _keras_suite(RNN_TESTS + "lstm_test.py", "LSTMTest", "TestKerasLSTM")
TestKerasGRU = _keras_suite(RNN_TESTS + "gru_test.py", "GRUTest", "TestKerasGRU")
TestKerasSimpleRNN = _keras_suite(
    RNN_TESTS + "simple_rnn_test.py", "SimpleRNNTest", "TestKerasSimpleRNN"
)
TestKerasBidirectional = _keras_suite(
    RNN_TESTS + "bidirectional_test.py",
    "SimpleRNNTest",
    "TestKerasBidirectional",
    xfail={
        "test_fused_lstm_eligibility": NOT_A_KERAS_SUBCLASS.format("LSTM"),
        "test_fused_gru_eligibility": NOT_A_KERAS_SUBCLASS.format("GRU"),
    },
)
TestKerasStackedRNNCells = _keras_suite(
    RNN_TESTS + "stacked_rnn_cells_test.py", "StackedRNNTest", "TestKerasStackedRNNCells"
)
TestKerasMasking = _keras_suite("layers/core/masking_test.py", "MaskingTest", "TestKerasMasking")
