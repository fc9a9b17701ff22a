# obsgen: `make dashboards` builds everything locally with no server; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out
# Unchanged pyproject.toml => no reinstall; the stamp records the last install.
STAMP      := $(VENV)/.installed
DEV_STAMP  := $(VENV)/.installed-dev

.PHONY: dashboards build validate push diff test lint bench demo clean

dashboards: build

build: $(STAMP)
	$(BIN)/obsgen build --out $(OUT)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $@

validate: $(STAMP)
	$(BIN)/obsgen validate

# Grafana's HTTP API: GRAFANA_URL and GRAFANA_TOKEN from the environment;
# `make push ARGS=--dry-run`, `make diff ARGS=--exit-code`.
push: $(STAMP)
	$(BIN)/obsgen push $(ARGS)

diff: $(STAMP)
	$(BIN)/obsgen diff $(ARGS)

test: $(DEV_STAMP)
	@scripts/ensure-prometheus.sh
	$(BIN)/python -m pytest -q -rs

lint: $(DEV_STAMP)
	$(BIN)/ruff check generator dashboards alerts tests bench
	$(BIN)/ruff format --check generator dashboards alerts tests bench
	$(BIN)/mypy
	# dashboards/ and alerts/ both hold inference.py and fleet.py: one mypy run each.
	$(BIN)/mypy dashboards
	$(BIN)/mypy alerts
	MYPYPATH=bench:tests $(BIN)/mypy bench

# `make demo SCENARIO=xid-error PORT=9091`: Prometheus on the synthetic fleet until Ctrl-C.
demo: $(STAMP)
	$(BIN)/obsgen demo $(if $(SCENARIO),--scenario $(SCENARIO)) $(if $(PORT),--port $(PORT))

# `make bench BENCH="build scale"` runs only those (build scale validate push query).
bench: $(STAMP)
	@scripts/ensure-prometheus.sh
	$(BIN)/python bench/run.py $(BENCH)

clean:
	@# Push backups under $(OUT)/backups hold people's edits: never deleted here.
	find $(OUT) -mindepth 1 -maxdepth 1 ! -name backups -exec rm -rf {} + 2>/dev/null || true
	rm -rf .pytest_cache .mypy_cache .ruff_cache
