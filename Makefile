# Two commands on a fresh machine: `make demo` and `make test`. Both create the virtualenv
# and data folders themselves. Without make, run the same steps by hand (see README).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: install demo test ui lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)
	mkdir -p data $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: install
	$(BIN)/sync-platform demo

test: install
	$(BIN)/pytest -q

ui: install
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

lint: install
	$(BIN)/ruff check sync_platform sync_platform_tests benchmarks

bench: install
	$(BIN)/python benchmarks/landing_throughput.py

clean:
	rm -rf data .pytest_cache
