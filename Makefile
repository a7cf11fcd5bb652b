# The two commands of the README:
#   make run    set up, train the default models if model_artifacts/ lacks them, then serve
#   make test   set up, lint, run the tests
# Everything else is plain `python train.py ...` / `evaluate.py` / `serve.py` inside .venv.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HARDWARE ?= cpu
# more quickstart options, e.g. make run ARGS="--models tagger --no-serve"
ARGS ?=

.PHONY: setup run test lint format clean-logs

setup: $(STAMP)

# pip (not uv/poetry): torch 2.14.1 + torchvision 0.29.1 come from the machine's local wheels.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

run: setup
	$(PY) -m wardrobe.quickstart --hardware $(HARDWARE) $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	$(PY) -m pytest

clean-logs:
	rm -rf logs outputs multirun
