"""The command line around `experiments.train`: `config` (the schemas and checks of every config
value, memory estimates), `preflight` (bad input refused in one line before Hydra starts),
`sweep_callback` (the Hydra callback that prints a sweep's progress and report), `interrupt`
(what Ctrl-C prints) and `tf_logs` (TensorFlow's start-up noise filtered)."""
