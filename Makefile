.PHONY: run test lint format bench soak

run:
	scripts/run.sh

# The production profile on this machine: gunicorn (deploy/gunicorn.conf.py) and the worker, DEBUG off, PostgreSQL
# (DATABASE_URL's, else 127.0.0.1:5432/kadouri; created if missing), collectstatic. docs/deploy.md.
.PHONY: serve
serve:
	scripts/serve.sh $(SERVE_ARGS)

test:
	scripts/test.sh

# ruff (lint, format check) and the import contracts; `make test` runs it first.
lint:
	scripts/lint.sh

format:
	scripts/bootstrap.sh
	.venv/bin/ruff check --fix --quiet .
	.venv/bin/ruff format --quiet .

# Benchmarks print figures; they are not timed tests. The outbound one runs in a throwaway SQLite database
# (its rows are rolled back); the webhook one creates and drops its own database.
BENCH_DB = sqlite:///$(CURDIR)/var/bench.sqlite3
# The harness (loadtest/) sets Django up itself; these settings are the ones it is meant to run with.
LOADTEST = DJANGO_SETTINGS_MODULE=kadouri.test_settings .venv/bin/python -m

bench:
	scripts/bootstrap.sh
	mkdir -p var
	DATABASE_URL=$(BENCH_DB) .venv/bin/python manage.py migrate --noinput -v0 --settings=kadouri.test_settings
	# The emulator plays the sandbox's 10 requests a second: the budget keeps under it, as it would against the sandbox.
	QBO_BUDGET_PER_SECOND=9 DATABASE_URL=$(BENCH_DB) $(LOADTEST) loadtest.bench_outbound
	$(LOADTEST) loadtest.bench_webhooks

# Staff browsing on the production profile (make serve's processes, PostgreSQL): 50 logged-in users, 300 orders,
# p50/p95/p99 and requests per second. BENCH_STAFF_ARGS="--users 20 --duration 60" to change it.
.PHONY: bench-staff
bench-staff:
	scripts/bootstrap.sh
	$(LOADTEST) loadtest.bench_staff $(BENCH_STAFF_ARGS)

# The fault-injection soak, full form (300 orders; PostgreSQL at 127.0.0.1:5432 or DATABASE_URL's server).
# COMPANY picks the emulator's company: idealised (default), automated_tax, multi_currency, auto_numbers.
# It prints figures and exits non-zero on any violation; CI runs the shortened form in tests/soak/.
soak:
	scripts/bootstrap.sh
	$(LOADTEST) loadtest.soak $(if $(COMPANY),--company $(COMPANY)) $(SOAK_ARGS)

# More than one machine: two app servers and two worker clusters on one PostgreSQL and Redis, QuickBooks' limits on,
# one cluster SIGKILLed mid-run (docs/multi-machine.md). Prints figures, exits non-zero on any violation; CI runs it
# in tests/soak/. Options: MM_ARGS="--broker orm --budget redis" (python -m loadtest.multi_machine --help).
.PHONY: multi-machine
multi-machine:
	scripts/bootstrap.sh
	$(LOADTEST) loadtest.multi_machine $(MM_ARGS)
