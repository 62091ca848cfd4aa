# The README's two commands: `make run` and `make test`. Both work from nothing.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
CHROMIUM ?= /usr/bin/chromium
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.reliabench-run
STAMP_TEST := $(VENV)/.reliabench-test

.PHONY: run test chromium lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch goes in first and pinned: an unpinned resolve would pull a multi-GB CUDA build.
$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml $(STAMP_RUN)
	$(BIN)/python -m pip install --quiet -e ".[test,browser,dask]"
	touch $@

# Every suite's quick profile, then the site; a failed cell still gets its site built, and the exit code says so.
run: $(STAMP_RUN)
	@status=0; $(BIN)/reliabench run --profile quick || status=$$?; \
	$(BIN)/reliabench site build && \
	echo "the reliabench command is $(BIN)/reliabench (or run: source $(BIN)/activate)" && exit $$status

# Browser tests drive Debian's chromium; install it where we may, else say how and let them skip.
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  { apt-get update -qq && apt-get install -y -qq chromium; } >/dev/null 2>&1 \
	    || echo "could not install chromium: the browser tests will be skipped"; \
	else \
	  echo "chromium is not at $(CHROMIUM): the browser tests will be skipped (install it: sudo apt-get install chromium)"; \
	fi

test: $(STAMP_TEST) chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

bench: $(STAMP_TEST)
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/attribution.py
	$(BIN)/python benchmarks/site.py
	$(BIN)/python benchmarks/scaling.py
	$(BIN)/python benchmarks/ptq.py
	$(BIN)/python benchmarks/sycophancy.py
	$(BIN)/python benchmarks/sim2real.py
	$(BIN)/python benchmarks/snn.py

clean:
	rm -rf $(VENV) results/*.duckdb* site/ tests/output/
