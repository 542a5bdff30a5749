# Two commands for students: `make lab` and `make test`. Every target creates .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
ifeq ($(OS),Windows_NT)
BIN := $(VENV)/Scripts
else
BIN := $(VENV)/bin
endif
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# Per-cell time limit for the notebook tests (seconds). FAST mode cells take a few seconds.
CELL_TIMEOUT ?= 300

.PHONY: lab test unit run bench release clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --progress-bar off -e ".[instructor,mimic]"
	@touch $(STAMP)

# JupyterLab refuses to run as root unless told; containers and JupyterHub images often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)

lab: $(STAMP)  ## open JupyterLab on the notebooks
	$(BIN)/jupyter lab notebooks/ $(ROOT_FLAG)

test: $(STAMP)  ## unit tests + every notebook executed by nbval in FAST mode
	LABUTILS_FAST=1 $(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=$(CELL_TIMEOUT) -q --durations=25

unit: $(STAMP)  ## unit tests only (under 30 s)
	$(PY) -m pytest tests -q -m "not slow"

run: $(STAMP)  ## execute every notebook in full mode into build/executed and build/html
	$(PY) scripts/run_notebooks.py

bench: $(STAMP)  ## benchmarks → build/bench.json and build/bench.md
	$(PY) benchmarks/run_all.py

release: $(STAMP)  ## student versions → build/student
	$(PY) -m labutils.instructor release

clean:
	rm -rf build .pytest_cache
