# Students: `make workbook` (your own copy of the exercises, opened in JupyterLab) and `make check`.
# Every target creates .venv on first use, PyTorch first (scripts/install_torch.py: on Linux without
# an NVIDIA GPU, the CPU-only build; `make workbook TORCH_INDEX=` installs PyPI's default CUDA build).
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
# Parallel kernels for `make check` and the instructor's grader (default: the number of cores).
JOBS ?= 0

.PHONY: workbook check lab test unit run bench release clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) scripts/install_torch.py
	$(PY) -m pip install --progress-bar off -e ".[instructor,mimic]"
	@touch $(STAMP)

# JupyterLab refuses to run as root unless told; containers and JupyterHub images often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)
# Students' JupyterLab: the instructor's nbgrader menus and server pages are switched off.
STUDENT_LAB := JUPYTER_CONFIG_PATH="$(CURDIR)/scripts/jupyter_student" $(BIN)/jupyter lab $(ROOT_FLAG)

workbook: $(STAMP)  ## your copy of the exercises in workbook/ (never overwritten), opened in JupyterLab
	$(PY) -m labutils.instructor workbook
	$(STUDENT_LAB) workbook/

check: $(STAMP)  ## run your workbook headless (FAST mode): passed / failed / not attempted per exercise
	$(PY) -m labutils.instructor check --jobs $(JOBS)

lab: $(STAMP)  ## JupyterLab on the solution notebooks in notebooks/ (self-study, instructors)
	$(STUDENT_LAB) notebooks/

test: $(STAMP)  ## unit tests + every notebook executed by nbval in FAST mode
	LABUTILS_FAST=1 $(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=$(CELL_TIMEOUT) -q --durations=25

unit: $(STAMP)  ## unit tests only (under 30 s)
	$(PY) -m pytest tests -q -m "not slow"

run: $(STAMP)  ## execute every notebook in full mode into build/executed and build/html
	$(PY) scripts/run_notebooks.py

bench: $(STAMP)  ## benchmarks → build/bench.json and build/bench.md
	$(PY) -m benchmarks.run_all

release: $(STAMP)  ## student versions → build/student
	$(PY) -m labutils.instructor release

clean:
	rm -rf build .pytest_cache
