#!/usr/bin/env bash
# Sets up (venv, migrations, demo data) and runs Kadouri on SQLite at http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export DEBUG="${DEBUG:-true}"
PY=.venv/bin/python
$PY manage.py migrate --noinput
$PY manage.py seed_demo
echo "Kadouri CRM: http://127.0.0.1:${PORT:-8000}/"
exec $PY manage.py runserver "127.0.0.1:${PORT:-8000}"
