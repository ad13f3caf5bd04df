# widget-server: `make run` serves the demo, `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
FLASK := $(BIN)/flask --app widget_server

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Embedded default: SQLite in instance/, in-process job queue, simulator provider.
# Production web processes: gunicorn -c deploy/gunicorn.conf.py wsgi:app (gthread workers,
# so a live status stream holds one thread rather than a whole worker; see the README).
run: export WIDGET_SERVER_ENV ?= development
run: $(STAMP) catalogues
	$(FLASK) db upgrade
	$(FLASK) demo --origin http://$(HOST):$(PORT) --origin http://localhost:$(PORT)
	$(FLASK) serve --host $(HOST) --port $(PORT)

# With WIDGET_SERVER_TEST_POSTGRES set (CI sets it), the suite runs twice: first on the
# embedded default (SQLite, limits in memory; the variable is hidden from that pass), then
# every test that touches the stores (marked `stores`, `postgres` or `redis`) again on
# PostgreSQL, one fresh database per test, with rate-limit state in Redis
# (WIDGET_SERVER_TEST_REDIS, default database 11 of the local server).
TEST_REDIS ?= redis://127.0.0.1:6379/11
test: $(STAMP) catalogues
	@if [ -z "$$WIDGET_SERVER_TEST_POSTGRES" ]; then \
		$(BIN)/pytest; \
	else \
		echo "== embedded default: SQLite, limits in memory =="; \
		env -u WIDGET_SERVER_TEST_POSTGRES -u WIDGET_SERVER_TEST_REDIS \
			$(BIN)/pytest -m "not postgres" && \
		echo "== again on PostgreSQL, limits in Redis ==" && \
		WIDGET_SERVER_TEST_REDIS="$${WIDGET_SERVER_TEST_REDIS:-$(TEST_REDIS)}" \
		$(BIN)/pytest -p no:cacheprovider -m "(stores or postgres or redis) and not browser" \
			--ignore=tests/providers; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check widget_server tests benchmarks wsgi.py
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/widget_size.py
	$(BIN)/python benchmarks/widget_main_thread.py
	$(BIN)/python benchmarks/submit_to_originate.py
	$(BIN)/python benchmarks/submission_cpu.py
	$(BIN)/python benchmarks/throughput.py --runs 3
	$(BIN)/python benchmarks/mixed_flood.py --runs 3
	$(BIN)/python benchmarks/limit_keys.py
	$(BIN)/python benchmarks/live_streams.py
	$(BIN)/python benchmarks/dashboard_pages.py
	$(BIN)/python benchmarks/analytics_page.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache

# Message catalogues: `make messages` extracts the marked texts and updates every .po;
# compiled .mo files are committed, and rebuilt here whenever a .po changes.
CATALOGUES := $(wildcard translations/*/LC_MESSAGES/messages.po)
.PHONY: messages
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -k N_ -k Reason --no-location \
		--sort-output --project widget-server --version 1 --copyright-holder widget-server \
		-o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching
	$(MAKE) catalogues

.PHONY: catalogues
catalogues: $(CATALOGUES:.po=.mo)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@
