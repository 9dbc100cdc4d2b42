# gtmkit — `make demo` runs the main job on bundled data; `make test` runs every check.
# Both create .venv on first use and are fast on later runs (install is skipped while
# pyproject.toml is unchanged).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# Keep Jupyter's state out of the home directory so runs are hermetic.
export JUPYTER_CONFIG_DIR := $(CURDIR)/.venv/jupyter/config
export JUPYTER_DATA_DIR   := $(CURDIR)/.venv/jupyter/data
export JUPYTER_RUNTIME_DIR := $(CURDIR)/.venv/jupyter/runtime
export IPYTHONDIR         := $(CURDIR)/.venv/ipython
export JUPYTER_PLATFORM_DIRS := 1

.DEFAULT_GOAL := help
.PHONY: help install demo report test typecheck notebooks-refresh lint format bench bench-quick samples lab clean

help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (gtmkit)" >/dev/null
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## create .venv and install gtmkit with test extras

demo: $(STAMP) ## engagement report on bundled data: reports/<client>-<date>.html/.pdf/.ipynb (no keys, no network)
	$(BIN)/python -m gtmkit.demo

report: $(STAMP) ## a report notebook as a client report: make report NOTEBOOK=notebooks/05-engagement-report.ipynb ARGS='-p client "Acme"'
	$(BIN)/python -m gtmkit.reports.engagement $(or $(NOTEBOOK),notebooks/05-engagement-report.ipynb) $(ARGS)

test: $(STAMP) ## ruff, mypy, pytest (unit, property, notebooks)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider tests
	$(BIN)/pytest -q -p no:cacheprovider --nbval-lax notebooks

typecheck: $(STAMP) ## mypy: strict on the stable public modules, the rest checked (pyproject.toml)
	$(BIN)/mypy

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP) ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

samples: $(STAMP) ## regenerate data/samples/ from the simulated world
	$(BIN)/python -m gtmkit.sandbox samples --out data/samples

notebooks-refresh: $(STAMP) ## re-store the NBVAL_CHECK_OUTPUT cells after a deliberate change
	$(BIN)/python -m gtmkit.reports refresh notebooks/*.ipynb

bench-quick: $(STAMP) ## every benchmark in --quick mode (under a minute each)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

bench: $(STAMP) ## every benchmark at full size
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lab: $(STAMP) ## open JupyterLab on the notebooks
	$(BIN)/jupyter lab notebooks

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
