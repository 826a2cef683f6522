# The two commands of the README: `make serve` and `make test`.
# Both create .venv and install the pinned dependencies (requirements.lock) first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

.PHONY: install serve test lint bench profile
install: $(STAMP)

serve: $(STAMP)
	$(BIN)/lightkeeper serve

# Two workers (pytest-xdist), each with its own databases; the browser tests share one worker.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run

# A py-spy flame graph of one endpoint under wrk (BENCH_PROFILE=health|user|projects|spaces|write).
profile: $(STAMP)
	$(BIN)/python -m tests.bench.profile
