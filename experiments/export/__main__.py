"""`python -m experiments.export RUN [--out DIR]`: (re-)export a run's SavedModel."""

import logging
import sys

from experiments.cli import tf_logs
from experiments.export.saved_model import main

tf_logs.filter_startup_lines()
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
main()
