"""Orchestration: train, report, export, bench. Run as `python -m experiments.<name>`.

`from experiments import GateTensorBoard`: the Keras callback that logs the gates of your own
model to TensorBoard (`experiments.tensorboard.callback`; imported on first use, so that the
command-line modules do not pay for TensorFlow before they need it).
"""


def __getattr__(name: str):
    if name == "GateTensorBoard":
        from experiments.tensorboard.callback import GateTensorBoard

        return GateTensorBoard
    raise AttributeError(f"module 'experiments' has no attribute {name!r}")


__all__ = ["GateTensorBoard"]
