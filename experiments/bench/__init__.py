"""Benchmarks that print figures, never assertions: `layers` (our layers against Keras's built-ins:
`python -m experiments.bench`), `scan` (the parallel-scan cells), `gate_overhead` (what gate
logging adds to training) and `explorer` (how fast the gate explorer answers)."""
