# The README's two commands: `make demo` (set up, run the main job, open the UI) and `make test`; CI runs `make lint test`.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
VENV := .venv
UV := $(TOOLS)/bin/uv
SCALE ?= 0.01
DAYS ?= 90
DEMO_ARGS ?=

.PHONY: setup demo lint test test-e2e services clean
LINT_PATHS := customer360 customer360_tests data_generation benchmarks scripts

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode is compiled once here: with PYTHONDONTWRITEBYTECODE set (as on these machines and in the image) every
# process would otherwise re-compile dagster, dbt-core & co. from source — 7.0 s instead of 3.8 s for each run's
# code-location load (BENCHMARKS.md, "Orchestration overhead").
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode
	$(VENV)/bin/python -m compileall -q customer360 data_generation
	$(VENV)/bin/python scripts/prepare_dbt.py
	touch $@

setup: $(VENV)/.synced

demo: setup
	$(VENV)/bin/customer360 demo --scale $(SCALE) --days $(DAYS) $(DEMO_ARGS)

services:
	bash scripts/test_services.sh

# ruff (pyproject [tool.ruff]) and sqlfluff (.sqlfluff) over the Python and the dbt SQL; the format check runs last so
# that the lint findings are reported first.
lint: setup
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/sqlfluff lint dbt_project/models dbt_project/macros
	$(VENV)/bin/ruff format --check $(LINT_PATHS)

test: setup services
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The end-to-end proof against a running Dagster (webserver + daemon on PostgreSQL, moto S3, headless Chromium).
test-e2e: setup services
	$(VENV)/bin/python -m pytest customer360_tests/e2e $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) data dbt_project/target
