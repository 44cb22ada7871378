#!/usr/bin/env bash
# `make serve`: the production profile on this machine — gunicorn with deploy/gunicorn.conf.py and the worker, DEBUG
# off, PostgreSQL (created if missing, migrated), static files collected. scripts/serve.py says what it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python scripts/serve.py "$@"
