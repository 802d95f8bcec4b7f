# Two commands on a fresh machine: `make demo` and `make test`. Both create the virtualenv
# and data folders themselves. Without make, run the same steps by hand (see README).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: install demo test ui lint bench clean daemon webserver prod-check backup

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
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=25

ui: install
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# Production processes on the PostgreSQL instance (dagster.postgres.yaml), started by the same
# script as the systemd units in deploy/systemd/. Secrets from the environment, or from a file:
#   make daemon ENV_FILE=/etc/sync-platform/sync-platform.env   (template: deploy/sync-platform.env.example)
# Run the daemon once per instance and the webserver beside it (two terminals or two units).
ENV_FILE          ?=
PROD_DAGSTER_HOME ?= $(CURDIR)/data/dagster_home_postgres
PROD_ENV = SYNC_ENV_FILE="$(ENV_FILE)" DAGSTER_HOME="$(PROD_DAGSTER_HOME)"

daemon: install
	$(PROD_ENV) deploy/run.sh daemon

webserver: install
	$(PROD_ENV) deploy/run.sh webserver

prod-check: install
	$(PROD_ENV) deploy/run.sh check

# a consistent copy of the warehouse file, taken while the duckdb_writer pool is paused
BACKUP_DIR ?= $(CURDIR)/data/backups
backup: install
	$(PROD_ENV) deploy/run.sh backup $(BACKUP_DIR)

lint: install
	$(BIN)/ruff check sync_platform sync_platform_tests benchmarks

bench: install
	$(BIN)/python benchmarks/landing_throughput.py

clean:
	rm -rf data .pytest_cache
