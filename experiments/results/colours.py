"""One colour per model, the same in every plot (the sweep report's, docs/RESULTS.md's): the
LSTM is blue wherever it appears, the GRU orange, the plain RNN grey."""

from __future__ import annotations

import zlib

# conf/model's names: the three of `make sweep`, then their Keras twins and the cell zoo.
MODEL_COLOURS = {
    "rnn": "tab:gray",
    "lstm": "tab:blue",
    "gru": "tab:orange",
    "keras_rnn": "#4d4d4d",
    "keras_lstm": "#0b3d91",
    "keras_gru": "#b35900",
    "slstm": "tab:green",
    "mgu": "tab:red",
    "mingru": "tab:purple",
    "minlstm": "tab:brown",
    "lstm_peephole": "tab:pink",
    "lstm_cifg": "tab:olive",
    "lstm_nfg": "tab:cyan",
    "gru_nrg": "#e6ab02",
}
# Other models (a variant added later, one's own): a fixed colour from their name.
SPARE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#666666", "#17becf")


def model_colour(model: str) -> str:
    """The matplotlib colour of `model` (a `conf/model` name) in every plot: `MODEL_COLOURS`,
    else one of `SPARE` picked by a checksum of the name (stable across runs and machines)."""
    if model in MODEL_COLOURS:
        return MODEL_COLOURS[model]
    return SPARE[zlib.crc32(str(model).encode()) % len(SPARE)]
