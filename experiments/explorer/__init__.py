"""The gate explorer: a TensorBoard tab (plugin `gate_explorer`) where one types a sentence and
sees every gate of every recurrent layer, word by word and unit by unit.

- `summary`: the plugin's own summary data, written during `fit` by `GateLogger` (the run's task
  description and the probe's gate values every `logger.every_n_epochs`), and read back.
- `inputs`: typed text or values → model input, with the errors the page shows; predictions.
- `saved`: runs found on disk by their SavedModel's signatures (no summary data needed).
- `models`: the runs' exported SavedModels (`gates` and `serve` signatures), loaded on demand
  and cached with a bound.
- `plugin`: the `TBPlugin` and its HTTP routes; `static/` holds the page (ES module, CSS).

Module-level imports stay light (no TensorFlow): TensorBoard imports the plugin at start-up.
"""
