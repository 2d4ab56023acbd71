# permscope: make demo | make test | make lint | make bench   (see README.md)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
PYTEST_WORKERS ?= 2

.PHONY: demo demo-monitor test lint bench bench-quick bench-simulate bench-simulate-azure bench-simulate-gcp bench-effective bench-collect bench-cloudtrail bench-anomalies bench-remediation bench-autopilot bench-azure-activity bench-scan bench-startup bench-azure bench-gcp bench-web venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# One stamp per set of extras, redone when pyproject.toml changes. The demo's: AWS and the GCP engine (Azure's
# file import needs no extra); live collection from Azure or GCP needs `.[azure]` / `.[gcp]` (make venv).
$(VENV)/.installed-aws: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[aws,gcp-engine]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[aws,azure,gcp,dev,postgres]'
	touch $@ $(VENV)/.installed-aws

venv: $(VENV)/.installed-dev

demo: $(VENV)/.installed-aws
	$(BIN)/permscope demo

# the demo a month back on a one-minute schedule: each run advances it a simulated day (docs/monitoring.md)
demo-monitor: $(VENV)/.installed-aws
	$(BIN)/permscope demo --monitor

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_import.py

bench-quick: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_import.py --quick

bench-simulate: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_simulate.py

bench-simulate-azure: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_simulate_azure.py

bench-simulate-gcp: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_simulate_gcp.py

bench-effective: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_effective.py

bench-collect: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_collect.py

bench-cloudtrail: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_cloudtrail.py

bench-anomalies: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_anomalies.py

bench-remediation: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_remediation_replay.py

bench-autopilot: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_autopilot.py

bench-azure-activity: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_azure_activity.py --array

bench-scan: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_scan.py

bench-startup: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_startup.py

bench-azure: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_estate.py azure

bench-gcp: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_estate.py gcp

bench-web: $(VENV)/.installed-dev
	$(BIN)/python bench/bench_web.py

clean:
	rm -rf bench/out .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
