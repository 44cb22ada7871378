.PHONY: run test bench

run:
	scripts/run.sh

test:
	scripts/test.sh

bench:
	scripts/bootstrap.sh
	.venv/bin/python manage.py bench --settings=kadouri.test_settings
