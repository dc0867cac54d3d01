# The two commands: `make demo` (sample round in, published catalog out) and
# `make test` (the whole suite). Each installs what it needs on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)
ROUND ?= 2563-10
CKAN_SH := catalog/ckan/ckan.sh
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)

.PHONY: install demo test lint browser bench ui stop clean

$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# CKAN: our own local server (catalog/ckan/ckan.sh), unless CKAN_URL and CKAN_API_TOKEN
# point at an existing one. It is left running for you to browse; `make stop` stops it.
demo: install
	$(BIN)/tambon sample --round $(ROUND)
	@if [ -z "$$CKAN_URL" ]; then bash $(CKAN_SH) install && bash $(CKAN_SH) start; fi
	@set -a; if [ -z "$$CKAN_URL" ]; then . "$$(bash $(CKAN_SH) env-file)"; fi; set +a; \
	  $(BIN)/tambon offices sync && \
	  $(BIN)/tambon run --round $(ROUND) && \
	  echo "แคตตาล็อก CKAN / CKAN catalog: $$CKAN_URL/dataset/  (make stop to stop it)" && \
	  $(BIN)/tambon offices logins
	@echo "Dagster UI: make ui  (http://127.0.0.1:3000)"

stop:
	bash $(CKAN_SH) stop

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Headless Chromium (and Thai fonts) for the browser tests, from Debian's packages.
browser:
	@command -v chromium >/dev/null && fc-list | grep -qi tlwg || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-thai-tlwg >/dev/null; }

test: install lint browser
	$(BIN)/pytest

bench: install
	$(BIN)/python -m benchmarks.village_round
	$(BIN)/python -m benchmarks.analyst_query
	$(BIN)/python -m benchmarks.ingest_readers
	$(BIN)/python -m benchmarks.household_round
	$(BIN)/python -m benchmarks.catalog_search
	$(BIN)/python -m benchmarks.datastore_load

# The Dagster UI and its daemon: the new-files sensors, the alert sensors and the monthly schedules
# start on their own. CKAN settings are loaded as `make demo` loads them (the local CKAN's env file,
# unless CKAN_URL is already set), but CKAN is never installed or started here; the first lines say
# whether runs started from the UI publish to CKAN.
ui: install
	@ckan_env="$$(bash $(CKAN_SH) env-file)"; \
	  if [ -z "$$CKAN_URL" ] && [ -f "$$ckan_env" ]; then set -a; . "$$ckan_env"; set +a; fi; \
	  $(BIN)/python -m pipelines.ckan_notice; \
	  echo "Dagster UI: http://127.0.0.1:3000  (เซนเซอร์ไฟล์ใหม่ การแจ้งเตือน และกำหนดการรายเดือนเริ่มทำงานเอง /" \
	    "new-files sensors, alerts and monthly schedules start on their own)"; \
	  exec $(BIN)/dagster dev -m pipelines.definitions -h 127.0.0.1 -p 3000

# Local catalog and local CKAN go together: wiping one alone would make them disagree.
clean: stop
	rm -rf data .dagster "$$(dirname "$$(bash $(CKAN_SH) env-file)")"
