# gatelab — `make help` lists the targets.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv test test-slow lint format bench sweep results tensorboard mutation clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP) ## create .venv and install the project with its dev tools

lint: $(STAMP) ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP) ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint ## lint, then the default test suite (slow tests excluded)
	$(PY) -m pytest -m "not slow"

test-slow: $(STAMP) ## the slow tests only
	$(PY) -m pytest -m slow

bench: $(STAMP) ## throughput of our layers against Keras's built-ins, and of the scan cells (prints ratios)
	$(PY) -m experiments.bench
	$(PY) -m experiments.bench.scan

sweep: $(STAMP) ## the README's sweep: RNN vs LSTM vs GRU on context_switch, then the report
	$(PY) -m experiments.train experiment=context_switch

# docs/RESULTS.md's presets, the tutorial's own claims first, then the cheaper ones; each resumes
# in its fixed folder, so a rerun only trains what is missing. Exit 1 (some runs failed,
# recorded) goes on; bad input (2) or an interrupt stops.
RESULTS_PRESETS := context_switch_seeds repro_keras repro_temporal_order repro_digits repro_text \
	repro_adding repro_copy gate_ablation

results: $(STAMP) ## every reproduction preset (hours on 2 cores; resumes), then docs/RESULTS.md
	@for p in $(RESULTS_PRESETS); do \
		$(PY) -m experiments.train experiment=$$p hydra.sweep.dir=outputs/sweeps/$$p; \
		rc=$$?; [ $$rc -le 1 ] || exit $$rc; \
	done
	$(PY) -m experiments.results

tensorboard: $(STAMP) ## TensorBoard over every run and sweep under outputs/
	$(VENV)/bin/tensorboard --logdir outputs

mutation: $(STAMP) ## mutation testing of data/ and the report with mutmut (minutes; not in `test`)
	$(PY) -m pip install -e ".[mutation]"
	$(VENV)/bin/mutmut run
	$(VENV)/bin/mutmut results

clean: ## remove generated outputs (keeps .venv)
	rm -rf outputs .pytest_cache mutants
