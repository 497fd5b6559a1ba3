# deskpilot: `make demo` serves the workspace with demo data, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean soak

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@if [ -n "$$(find $(VENV) -name 'litellm_init.pth' -print -quit)" ]; then \
		echo "DANGER: litellm_init.pth found in $(VENV) (compromised litellm build)"; exit 1; fi
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/deskpilot init
	$(BIN)/deskpilot demo
	$(BIN)/deskpilot serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The full concurrency soak (60 s, 2 servers, 32 clients) on PostgreSQL; CI runs a 12 s version in the suite.
soak: $(STAMP)
	$(BIN)/python scripts/soak.py --seconds $${SOAK_SECONDS:-60}

# Benchmarks B1-B9 at 100,000 tickets (not part of `make test`): SQLite, plus PostgreSQL when
# DESKPILOT_TEST_DATABASE_URL (or DESKPILOT_BENCH_DATABASE_URL) is set. BENCH_ARGS="--only B1,B2 --tickets 20000"
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check core plugin tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info
