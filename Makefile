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

lint: $(STAMP)
	$(BIN)/ruff check core plugin tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info
