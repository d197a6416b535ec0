"""The gate writer, laid out like a TensorBoard plugin: `logger` (the interface a run talks to),
`writer` (the suite's `TensorBoardLogger`: scalars, hparams, gates of each run and sweep),
`callback` (`GateTensorBoard`, the Keras callback that writes the gate summaries of any model),
`gate_stats` (the numbers: saturation, timescales, means at a task's positions), `images` (the
heatmaps and saturation plots) and `probe` (which examples are shown, and how they are labelled).
The gate explorer tab that reads some of these summaries lives in `experiments.explorer`."""
