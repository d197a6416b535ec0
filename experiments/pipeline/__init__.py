"""One run, from config to files: `run` (seed, build, fit, evaluate, save), `model` (the Keras model
a config describes), `record` (what a run's `metrics.json` holds and says), `resume` (the backup a
killed run resumes from), `divergence` (stops a run whose loss explodes) and `runlock` (one
process per run folder)."""
