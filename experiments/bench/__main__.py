"""`python -m experiments.bench`: our layers against Keras's built-ins
(`experiments.bench.layers`)."""

from experiments.bench.layers import main

main()
