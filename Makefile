.PHONY: run test bench

run:
	scripts/run.sh

test:
	scripts/test.sh

# Benchmarks print figures; they are not timed tests.
bench:
	scripts/bootstrap.sh
	.venv/bin/python manage.py bench_outbound --settings=kadouri.test_settings
	.venv/bin/python manage.py bench_webhooks --settings=kadouri.test_settings
