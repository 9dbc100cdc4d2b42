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
# `make lab LAB_PORT=8890` when 8888 is taken.
LAB_PORT ?= 8888
# The git filter that keeps committed notebooks free of outputs (.gitattributes applies it to
# *.ipynb): nbstripout, keeping the outputs nbval compares (the NBVAL_CHECK_OUTPUT cells; see
# gtmkit/gitfilter.py). The path is relative on purpose: git runs a filter from the top of the
# work tree, so each clone or worktree uses its own .venv.
NBFILTER := $(VENV)/bin/python -m gtmkit.gitfilter

.DEFAULT_GOAL := help
.PHONY: help install git-filters demo report test typecheck notebooks-clean notebooks-refresh lint format bench bench-quick samples lab clean

help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[test]"
	@# the display name the committed notebooks carry: JupyterLab rewrites it on save otherwise
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) git-filters ## create .venv, install gtmkit with test extras, the git filter

git-filters: $(STAMP) ## install the nbstripout git filter: notebooks are committed without outputs
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git config filter.nbstripout.clean '$(NBFILTER)' && \
	  git config filter.nbstripout.smudge cat && \
	  git config filter.nbstripout.required true && \
	  git config diff.ipynb.textconv '$(NBFILTER) -t' && \
	  echo "git filter installed: notebooks are committed without outputs (see .gitattributes)"; \
	else \
	  echo "not a git work tree: the nbstripout git filter is not installed"; \
	fi

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

notebooks-clean: $(STAMP) ## strip outputs from notebooks/ as the git filter does (checked cells kept)
	$(NBFILTER) notebooks/*.ipynb

notebooks-refresh: $(STAMP) ## re-store the NBVAL_CHECK_OUTPUT cells after a deliberate change
	$(BIN)/python -m gtmkit.reports refresh notebooks/*.ipynb
	$(NBFILTER) notebooks/*.ipynb

bench-quick: $(STAMP) ## every benchmark in --quick mode (under a minute each)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

bench: $(STAMP) ## every benchmark at full size
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lab: $(STAMP) git-filters ## JupyterLab on the notebooks: loopback, with a token, as root or not
	$(BIN)/python -m gtmkit lab notebooks --port $(LAB_PORT)

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
