"""docs/RESULTS.md: the reproduction presets' sweeps beside the published numbers.

`python -m experiments.results` (the last step of `make results`) finds the newest sweep of each
preset in `claims.PRESETS` under `outputs/`, tabulates mean ± std over seeds next to the no-memory
baseline, plots it, and judges each claim by the criterion written beside it in `claims.py`.
"""
