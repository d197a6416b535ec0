"""SavedModel export: `saved_model` (the `serve` and `gates` signatures of a run;
`python -m experiments.export RUN`) and `raw_input` (the `serve_text` / `serve_raw` signatures
that take words or raw feature rows)."""
