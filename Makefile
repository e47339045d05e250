# The two commands in the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_ENV := SECRET_KEY=test-only-secret DEBUG=false DATABASE_URL=

.PHONY: run test test-client lint format install install-dev bench clean

$(BIN)/activate:
	$(PYTHON) -c 'import sys; sys.exit("orderstate needs Python 3.11+") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# orderstate depends on the client's distribution (client/); installing orderstate
# copies it into the venv, so it is then installed again as editable: a change
# under client/ is live at once.
$(VENV)/.installed: $(BIN)/activate pyproject.toml client/pyproject.toml
	$(PY) -m pip install --quiet -e .
	$(PY) -m pip install --quiet --no-deps -e ./client
	touch $@

# The dev install includes the Kotak SDK so its adapter is tested through the real SDK.
$(VENV)/.installed-dev: $(BIN)/activate pyproject.toml client/pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev,kotak]'
	$(PY) -m pip install --quiet --no-deps -e ./client
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# A random key for this checkout only (git-ignored), made once: manage.py finds it
# when neither SECRET_KEY nor SECRET_KEY_FILE is set, so later commands (createsuperuser,
# shell, check_state) work without DEBUG. Production sets SECRET_KEY or SECRET_KEY_FILE.
var/secret_key:
	@mkdir -p var
	@umask 077 && $(PY) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

run: install var/secret_key
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py demo_data
	DEBUG=true $(PY) manage.py demo_login --host $(HOST) --port $(PORT)
	@mkdir -p var
	@echo "  paper order feed (orders move live), logging to var/paper-feed.log"
	@echo "  paper-broker sync every 30 s as the backstop, logging to var/paper-sync.log"
	@echo "  notification deliverer (idle until something is subscribed), logging to var/notify.log"
	DEBUG=true $(PY) manage.py stream_orders --broker paper \
		>> var/paper-feed.log 2>&1 & feed=$$!; \
	DEBUG=true $(PY) manage.py sync_broker --broker paper --loop --interval 30 \
		>> var/paper-sync.log 2>&1 & sync=$$!; \
	DEBUG=true $(PY) manage.py deliver_notifications --loop >> var/notify.log 2>&1 & notify=$$!; \
	trap 'kill $$feed $$sync $$notify 2>/dev/null' EXIT INT TERM; \
	DEBUG=true $(PY) manage.py runserver $(HOST):$(PORT)

# Production mode on this machine: DEBUG off, static files from whitenoise, gunicorn.
# SECRET_KEY comes from the environment, or else from var/secret_key (see above).
.PHONY: serve
serve: install var/secret_key
	@export DEBUG=false; \
	$(PY) manage.py collectstatic --noinput --verbosity 0 && \
	$(PY) manage.py migrate --noinput && \
	exec $(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The suite runs on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set.
test: lint test-client
	$(TEST_ENV) $(BIN)/pytest
	@if [ -n "$(TEST_DATABASE_URL)" ]; then \
		echo "== again on PostgreSQL ($(TEST_DATABASE_URL))"; \
		SECRET_KEY=test-only-secret DEBUG=false DATABASE_URL="$(TEST_DATABASE_URL)" \
			$(BIN)/pytest -m "not browser"; \
	fi

# The client's distribution installed alone (httpx, no Django, no server) in a
# throwaway venv, running its own tests (client/tests) against that install.
test-client:
	@venv=$$(mktemp -d) && trap 'rm -rf "$$venv"' EXIT && \
	$(PYTHON) -m venv "$$venv" && \
	"$$venv/bin/python" -m pip install --quiet --upgrade pip && \
	"$$venv/bin/python" -m pip install --quiet './client[test]' && \
	"$$venv/bin/python" -c 'import importlib.util as u, orderstate_client as c; \
		assert u.find_spec("django") is None, "django is installed beside the client"; \
		print("== client alone:", c.__file__)' && \
	cd client && "$$venv/bin/pytest" -q

# Benchmarks print figures next to baselines measured in the same run; no assertions.
# One summary table at the end (tests/bench/run.py). BENCH_DATABASE_URL names the
# PostgreSQL server for the PostgreSQL rows (the API load needs one).
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
bench: install-dev
	SECRET_KEY=bench-only-secret DEBUG=false BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) \
		$(PY) tests/bench/run.py

# API load + sync loop + dashboard poller on 127.0.0.1 for LOADTEST_SECONDS (60), then
# invariant checks; exits non-zero when one fails.
LOADTEST_SECONDS ?= 60
.PHONY: loadtest
loadtest: install-dev
	SECRET_KEY=bench-only-secret DEBUG=false BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) \
		LOADTEST_SECONDS=$(LOADTEST_SECONDS) $(PY) tests/bench/loadtest.py

clean:
	rm -rf $(VENV) db.sqlite3* test_db*.sqlite3* staticfiles
