"""Recurrent layers whose every gate can be traced: `SimpleRNN`, `LSTM`, `GRU` and their cells
(weight-compatible with Keras's), and the cell zoo: the LSTM and GRU variants (options of
`LSTMCell` / `GRUCell`), `MinGRU` and `MinLSTM` on the parallel scan (`linear_scan`), `SLSTM`.

`ours.set_weights(keras_layer.get_weights())` works both ways for SimpleRNN, LSTM and GRU (same
weight names, shapes, creation order and gate layout).
"""

import keras

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        "gatelab's layers need the TensorFlow backend of Keras, got "
        f"KERAS_BACKEND={keras.backend.backend()!r}; set KERAS_BACKEND=tensorflow."
    )

from layers.base import Recurrent  # noqa: E402
from layers.cell import RecurrentCell  # noqa: E402
from layers.gru import GRU, GRUCell  # noqa: E402
from layers.lstm import LSTM, LSTMCell  # noqa: E402
from layers.minimal import MinGRU, MinGRUCell, MinLSTM, MinLSTMCell  # noqa: E402
from layers.scan import ScanRecurrent, linear_scan  # noqa: E402
from layers.simple_rnn import SimpleRNN, SimpleRNNCell  # noqa: E402
from layers.slstm import SLSTM, SLSTMCell  # noqa: E402
from layers.tracing import GateTracer, from_keras, to_gatelab  # noqa: E402

__all__ = [
    "GRU",
    "LSTM",
    "GRUCell",
    "GateTracer",
    "LSTMCell",
    "MinGRU",
    "MinGRUCell",
    "MinLSTM",
    "MinLSTMCell",
    "Recurrent",
    "RecurrentCell",
    "SLSTM",
    "SLSTMCell",
    "ScanRecurrent",
    "SimpleRNN",
    "SimpleRNNCell",
    "from_keras",
    "linear_scan",
    "to_gatelab",
]
