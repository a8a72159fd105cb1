# The two commands: `make demo` and `make test`. Both create .venv on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/attpd demo $(if $(QUICK),--quick,) --workdir $(or $(WORKDIR),attpd-work)

# two pytest-xdist workers, a test file each at a time (a file's fixtures are built once): SKHASH, MLflow,
# subprocesses and data preparation are single-threaded, so one worker leaves a core idle most of the time.
# (Files, not xdist_group marks: `--dist loadgroup` ignores its groups under pytest 9.2, pytest-xdist#1386.)
# WORKERS=0 runs the tests in this process (for a debugger).
WORKERS ?= 2
XDIST = $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadfile)

test: $(STAMP)
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# the tests that need no real training, no SKHASH run, no CLI subprocess and no demo (a developer's loop)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(XDIST) $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) attpd-work mlflow.db mlruns
