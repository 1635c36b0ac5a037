# Two commands on a fresh machine (Python >= 3.11):
#   make run    set up .venv and train PC on the embedded digits (under a minute)
#   make test   set up .venv and run lint, format check, type check and the fast tests
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

.PHONY: setup run test test-slow lint bench
setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/plastix

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest -m "not slow" -n 2 -q

test-slow: $(STAMP)
	$(PY) -m pytest -m slow -q

bench: $(STAMP)
	benchmarks/setup_pcx_env.sh .venv-pcx
	$(PY) benchmarks/pc_vs_pcx.py --pcx-python .venv-pcx/bin/python
