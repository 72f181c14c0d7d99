# 乡味集市 — the two commands are `make demo` and `make test`; see README.md.
SHELL := /bin/bash
# The interpreter the venv is made from: Debian's python3.11 when it is there with its venv module (built
# with profile-guided optimisation and LTO, libpython linked in: about a fifth less CPU a request than a
# default pyenv build; docs/performance.md, "Which Python"), else the first python3.11 or python3 on the PATH.
PYTHON ?= $(shell if /usr/bin/python3.11 -c 'import ensurepip' >/dev/null 2>&1; then echo /usr/bin/python3.11; \
	else command -v python3.11 || command -v python3; fi)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: venv demo demo-data serve test test-walk test-e2e test-all lint format bench bench-peer bench-search bench-routing bench-sales bench-checkout bench-orchard stack clean

# A line per step of the first run, with the time it began (so a slow step shows as a gap).
STEP = @printf '[%s] %s\n' "$$(date +%T)"

$(VENV)/.installed: requirements.txt pyproject.toml
	$(STEP) "Python packages into $(VENV) (pip; a minute or so the first time)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

venv: $(VENV)/.installed

demo-data: venv
	$(STEP) "Database: migrations (SQLite in $${VAR_DIR:-var}/)"
	@$(PY) manage.py migrate --noinput --verbosity 0
	$(STEP) "Demo data: shops, produce, photos, accounts"
	@$(PY) manage.py demo_load

# The demo pays through localstripe (a fake Stripe, a dev tool run as its own process on 127.0.0.1).
STRIPE_PORT ?= 8420
demo: demo-data
	$(STEP) "Demo orders (paid at localstripe), then the server"
	@$(PY) manage.py demo_accounts
	@var="$${VAR_DIR:-var}"; mkdir -p "$$var"; \
	$(PY) devtools/localstripe_server.py --port $(STRIPE_PORT) --data "$$var/localstripe.pickle" \
	  > "$$var/localstripe.log" 2>&1 & stripe_pid=$$!; \
	trap 'kill $$stripe_pid 2>/dev/null' EXIT; trap 'exit 0' INT TERM; \
	for i in $$(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$(STRIPE_PORT)/v1/customers" && break; sleep 0.2; done; \
	export STRIPE_API_BASE=http://127.0.0.1:$(STRIPE_PORT) STRIPE_JS_URL=http://127.0.0.1:$(STRIPE_PORT)/js.stripe.com/v3/; \
	$(PY) manage.py demo_orders; \
	printf '[%s] %s\n' "$$(date +%T)" "乡味集市 serving on http://127.0.0.1:$(PORT)/  (Ctrl-C stops it); test card 4242 4242 4242 4242"; \
	$(PY) manage.py runserver 127.0.0.1:$(PORT) --noreload \
	  || { code=$$?; [ $$code -eq 130 ] || [ $$code -eq 143 ] || exit $$code; }

serve: venv
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# The production topology on 127.0.0.1 (README, "Production topology"): Redis broker :6390 and cache :6391,
# PostgreSQL (DATABASE_URL or marketplace_stack), localstripe :8421, gunicorn :8010, Celery worker and beat,
# the outbox relay; state and logs in var/stack/. Ctrl-C stops it all. `make stack STACK_ARGS="--web-port 8020"`.
# `make stack NODES=2`: nginx on :8010 in front of 2 gunicorns, 2 Celery workers, one beat, pgbouncer in
# transaction mode before PostgreSQL (apt-get install nginx pgbouncer).
STACK_ARGS ?=
NODES ?= 1
stack: venv
	$(PY) devtools/stack.py --nodes $(NODES) $(STACK_ARGS)

# The suite on the embedded default (SQLite, eager Celery). Browser tests and the real-worker test
# need Chromium and Redis: `make test-e2e` and .ci/run run them.
test: venv
	$(PY) -m pytest -m "not e2e and not celery_worker and not walk" -n 2 --durations=10 $(PYTEST_ARGS)

# The hostile-input walk (11,000 requests, about 70 s on two cores): .ci/run runs it with the whole suite on
# PostgreSQL; here on the embedded default.
test-walk: venv
	$(PY) -m pytest -m walk -n 2 $(PYTEST_ARGS)

# The accessibility test runs axe-core (npm) in the pages: installed under var/node/ when missing. Two
# workers, each with its own browser, live server, localstripe and database (2.4 min here, 6 on one).
AXE_VERSION ?= 4.10.3
test-e2e: venv
	@test -f var/node/node_modules/axe-core/axe.min.js || npm install --prefix var/node --no-save --no-audit \
	  --no-fund --silent axe-core@$(AXE_VERSION)
	$(PY) -m pytest -m e2e -n 2 $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) devtools/check_imports.py
	$(VENV)/bin/lint-imports
	$(PY) devtools/check_locks.py
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Storefront benchmark: `make bench` (2,000 products) or `make bench PRODUCTS=100000`: cached, mixed (buyers
# ordering meanwhile), cold (from the database, product cards as kept) and bare (cold, every card drawn),
# each against the ceiling; needs wrk (Debian) and Redis on 127.0.0.1:6379.
PRODUCTS ?= 2000
SEARCH_PRODUCTS ?= 100000
bench: venv
	$(PY) bench/storefront.py --products $(PRODUCTS)
	$(PY) bench/catalogue_change.py --products $(PRODUCTS)
	$(PY) bench/search_relevance.py --products $(SEARCH_PRODUCTS)

# The product, category and search pages beside stock django-oscar 4.2.1 serving the same products (its own
# settings, bench/stock_oscar/), each as a share of its own server's bare view, 3 interleaved rounds:
# `make bench-peer` (stock Oscar's templates cached) or `make bench-peer BENCH_ARGS=--sandbox-templates`.
bench-peer: venv
	$(PY) bench/oscar_peer.py --products $(PRODUCTS) $(BENCH_ARGS)

# Search relevance on the demo catalogue (precision@5, recall@20) and its cost at SEARCH_PRODUCTS products.
bench-search: venv
	$(PY) bench/search_relevance.py --products $(SEARCH_PRODUCTS)

# Routing benchmark (in-process, its own databases: SQLite under var/bench/, then PostgreSQL on 127.0.0.1
# unless ROUTING_PG_URL is empty): `make bench-routing` (10,000 paid shop orders over 50 partners, routed
# in batches of 500) or `make bench-routing ORDERS=50000 ROUTING_BATCH=1000`; see docs/performance.md.
ORDERS ?= 10000
ROUTING_BATCH ?= 500
ROUTING_PG_URL ?= postgres://postgres@127.0.0.1:5432/marketplace_bench_routing
bench-routing: venv
	$(PY) bench/routing.py --orders $(ORDERS) --batch $(ROUTING_BATCH)
	$(if $(ROUTING_PG_URL),$(PY) bench/routing.py --orders $(ORDERS) --batch $(ROUTING_BATCH) --database-url $(ROUTING_PG_URL))

# Orchard sensor ingestion (in-process, readings_ingest against a plain bulk_create of the same rows): SQLite
# under var/bench/orchard/, then PostgreSQL (marketplace_bench_orchard, dropped at the end) unless
# ORCHARD_PG_URL is empty: `make bench-orchard` (200,000 readings) or `make bench-orchard ORCHARD_BATCHES=100`.
ORCHARD_BATCHES ?= 40
ORCHARD_PG_URL ?= postgres://postgres@127.0.0.1:5432/marketplace_bench_orchard
bench-orchard: venv
	$(PY) bench/orchard_ingest.py --batches $(ORCHARD_BATCHES)
	$(if $(ORCHARD_PG_URL),$(PY) bench/orchard_ingest.py --batches $(ORCHARD_BATCHES) --database-url $(ORCHARD_PG_URL))

# Sales review benchmark (PostgreSQL on 127.0.0.1:5432, its own databases marketplace_bench_sales_<lines>,
# dropped at the end): `make bench-sales` (1,000,000 order lines over 200 shops and two years, plus the same
# at a tenth of the lines) or `make bench-sales LINES=100000 SHOPS=50 BENCH_ARGS=--keep`.
LINES ?= 1000000
SHOPS ?= 200
BENCH_ARGS ?=
bench-sales: venv
	$(PY) bench/sales_review.py --lines $(LINES) --shops $(SHOPS) $(BENCH_ARGS)

# Checkout under load: a `make stack` of its own on free ports (state and logs in var/bench/checkout/, its
# own PostgreSQL database marketplace_bench_checkout, dropped at the end) and N buyers browsing, checking out
# and paying at once: `make bench-checkout` (8 buyers, 20 s) or `make bench-checkout BUYERS=16 BENCH_ARGS=--keep`.
BUYERS ?= 8
bench-checkout: venv
	$(PY) bench/checkout.py --buyers $(BUYERS) $(BENCH_ARGS)

# Backups restore (docs/operations.md, "Backups and restores"): pg_dump -Fc of the stack's database
# (DATABASE_URL, else marketplace_stack), restored into a scratch database that is then dropped; every
# table's row count and the last order compared; exits non-zero on any difference.
# `make restore-check RESTORE_ARGS=--wal`: a point-in-time restore (base backup + WAL archive) rehearsed on
# PostgreSQL clusters of its own.
.PHONY: restore-check
RESTORE_ARGS ?=
restore-check: venv
	$(PY) devtools/restore_check.py $(RESTORE_ARGS)

clean:
	rm -rf var/db.sqlite3* var/media var/static var/screenshots var/private var/localstripe.pickle
