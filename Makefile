# smsseg — every target creates or refreshes .venv by itself.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo
DEMO_CUSTOMERS ?= 20000
SEED ?= 42

.DEFAULT_GOAL := help
.PHONY: help install browser demo test test-newest test-oldest lint bench clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@touch $(STAMP)

install: $(STAMP) ## Create or refresh .venv with smsseg and its dev tools

demo: $(STAMP) ## Run the main job on a generated dataset (DuckDB, local MLflow store)
	$(BIN)/smsseg demo --out $(DEMO_DIR) --customers $(DEMO_CUSTOMERS) --seed $(SEED)
	$(BIN)/smsseg flows --data $(DEMO_DIR)/data --as-of 2026-01-01 --window 24h \
		--scores $(DEMO_DIR)/scores.parquet --plan $(DEMO_DIR)/plan --out $(DEMO_DIR)/flows
	$(BIN)/smsseg flows backtest --data $(DEMO_DIR)/data --from 2025-10-03 --to 2026-01-01 \
		--out $(DEMO_DIR)/flows-backtest
	$(BIN)/smsseg report $(DEMO_DIR)

# The report's browser test drives the OS Chromium (Playwright cannot download its own build
# here); installed once, only when no Chromium is on PATH and SMSSEG_CHROMIUM names none.
browser: ## Install Chromium for the report's browser test when missing (Debian, root)
	@if [ -n "$$SMSSEG_CHROMIUM" ] || command -v chromium >/dev/null 2>&1 \
		|| command -v chromium-browser >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "install Chromium (e.g. apt-get install chromium) or set SMSSEG_CHROMIUM" >&2; \
		exit 1; fi

# Two pytest workers on two cores: one OpenMP thread each, or LightGBM's spinning threads fight
# over the cores and training runs 20-40x slower. The docstring examples of src/ run too
# (pyfunc_model.py is MLflow's models-from-code entry point: importing it registers a model).
XDIST := -n 2 --dist loadgroup
DOCTESTS := --doctest-modules src/smsseg --ignore=src/smsseg/tracking/pyfunc_model.py

# `make test` runs the suite on two environments (issue #16): the newest versions (.venv) and
# the oldest supported ones (.venv-oldest, constraints-oldest.txt: pandas 2.2, numpy 2.0,
# pyarrow 17, duckdb 1.4, pyspark 4.0, ... as Databricks and the managed Spark runtimes ship).
test: test-newest test-oldest ## Run the suite on the newest and the oldest supported versions

test-newest: $(STAMP) browser ## The suite, the docstring examples and the notebooks on .venv
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest $(XDIST) tests $(DOCTESTS)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --nbmake notebooks

# On the oldest versions every test and docstring example runs, except two that exercise no
# library behaviour of their own: the notebooks (their steps are the tests' code paths, shown)
# and the report's browser test (Chromium drawing the HTML; the report's data, tables and
# figures are tested by the rest of tests/report on both environments).
OLDEST := .venv-oldest
OLDEST_STAMP := $(OLDEST)/.installed
$(OLDEST_STAMP): pyproject.toml constraints-oldest.txt
	@test -x $(OLDEST)/bin/python || $(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet -c constraints-oldest.txt -e '.[dev,spark]'
	@touch $(OLDEST_STAMP)

test-oldest: $(OLDEST_STAMP) ## The suite on the oldest supported versions (pandas 2.2, ...)
	OMP_NUM_THREADS=1 $(OLDEST)/bin/python -m pytest $(XDIST) tests $(DOCTESTS) \
		--ignore=tests/report/test_browser.py

lint: $(STAMP) ## Check style with ruff
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP) ## Run the benchmarks (by hand; results go to benchmarks/results/)
	$(BIN)/python benchmarks/run_all.py

clean: ## Remove generated data, models and the MLflow store (keeps .venv)
	rm -rf $(DEMO_DIR) models/* experiments/* && touch models/.gitkeep experiments/.gitkeep
