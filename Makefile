# gatelab — `make help` lists the targets.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv test test-slow lint format bench sweep results tensorboard docs mutation clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[dev,docs]"
	touch $(STAMP)

venv: $(STAMP) ## create .venv and install the project with its dev and docs tools

lint: $(STAMP) ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP) ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Two workers, a test file each at a time (module fixtures stay whole): much of the suite waits on
# TensorFlow's start-up and on subprocesses, which a second worker fills. WORKERS=0: one process.
WORKERS ?= 2

test: lint ## lint, the default test suite (slow tests excluded; WORKERS=2), then the docs site
	$(PY) -m pytest -m "not slow" $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadfile --no-loadscope-reorder)
	@$(MAKE) --no-print-directory docs

test-slow: $(STAMP) ## the slow tests only
	$(PY) -m pytest -m slow

bench: $(STAMP) ## throughput of our layers against Keras's built-ins, and of the scan cells (prints ratios)
	$(PY) -m experiments.bench
	$(PY) -m experiments.bench.scan

sweep: $(STAMP) ## the README's sweep: RNN vs LSTM vs GRU on context_switch, then the report
	$(PY) -m experiments.train experiment=context_switch

# docs/RESULTS.md's presets, the tutorial's own claims first, then the cheaper ones; each resumes
# in its fixed folder, so a rerun only trains what is missing. Exit 1 (some runs failed,
# recorded) goes on; bad input (2) or an interrupt stops. Expected on 2 idle cores: about 3 h 45 min
# in all, the sum of each preset's time on 2026-12-07 (two jobs at a time; docs/notes.md has the
# figures), not one run end to end: where the test suite ran beside a preset, its runs'
# processor seconds halved instead of its wall time. The per-preset figures are in
# conf/experiment/*.yaml.
RESULTS_PRESETS := context_switch_seeds repro_keras repro_temporal_order repro_digits repro_text \
	repro_adding repro_copy gate_ablation gate_ablation_confirm gate_patching repro_chung

# The presets with time claims: CPU seconds per epoch of each of their models, interleaved in one
# process (experiments/bench/epoch_time.py) into outputs/timing/<preset>.csv; sweep times are
# machine load and never judged. The claims compare the GRU with the LSTM.
TIMED_PRESETS := context_switch_seeds repro_adding

results: $(STAMP) ## every reproduction preset (about 3 h 45 min on 2 idle cores; resumes), then docs/RESULTS.md
	@for p in $(RESULTS_PRESETS); do \
		$(PY) -m experiments.train experiment=$$p hydra.sweep.dir=outputs/sweeps/$$p; \
		rc=$$?; [ $$rc -le 1 ] || exit $$rc; \
	done
	@for p in $(TIMED_PRESETS); do \
		$(PY) -m experiments.bench.epoch_time experiment=$$p model=lstm,gru --repeats 6 || exit $$?; \
	done
	$(PY) -m experiments.results

# `make tensorboard LOGDIR=outputs/sweeps/<sweep> PORT=6007 HOST=0.0.0.0`. TensorFlow's start-up
# lines are filtered as for `python -m experiments.train` (GATELAB_TF_LOGS=1 shows them).
LOGDIR ?= outputs
PORT ?= 6006
HOST ?= localhost
TENSORBOARD_MAIN := import experiments.cli.tf_logs as t; t.filter_startup_lines(); import tensorboard.main as m; m.run_main()

tensorboard: $(STAMP) ## TensorBoard and the gate explorer over LOGDIR (outputs) at HOST:PORT (localhost:6006)
	@test -d "$(LOGDIR)" || { echo "error: LOGDIR=$(LOGDIR): no such folder (a sweep folder, or outputs)" >&2; exit 2; }
	@TF_CPP_MIN_LOG_LEVEL=2 $(PY) -c "$(TENSORBOARD_MAIN)" --logdir "$(LOGDIR)" --port "$(PORT)" --host "$(HOST)"

docs: $(STAMP) ## the documentation site (mkdocs.yml, docs/) into site/, strict: a broken link fails
	$(PY) docs/tables.py README.md
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

mutation: $(STAMP) ## mutation testing of data/ and the report with mutmut (minutes; not in `test`)
	$(PY) -m pip install -e ".[mutation]"
	$(VENV)/bin/mutmut run
	$(VENV)/bin/mutmut results

clean: ## remove generated outputs (keeps .venv)
	rm -rf outputs .pytest_cache mutants site
