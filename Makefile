# The README's two commands: `make run` and `make test`. Both work from nothing.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.reliabench-run
STAMP_TEST := $(VENV)/.reliabench-test

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch goes in first and pinned: an unpinned resolve would pull a multi-GB CUDA build.
$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml $(STAMP_RUN)
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

run: $(STAMP_RUN)
	$(BIN)/reliabench run --profile quick

test: $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

bench: $(STAMP_TEST)
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/attribution.py

clean:
	rm -rf $(VENV) results/*.duckdb* site/
