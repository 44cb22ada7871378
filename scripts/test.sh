#!/usr/bin/env bash
# Sets up and runs the whole suite, browser tests included. DATABASE_URL picks the database (SQLite by default).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/ensure_chromium.sh
export CHROMIUM_PATH="${CHROMIUM_PATH:-$(command -v chromium)}"
.venv/bin/python manage.py makemigrations --check --dry-run --settings=kadouri.test_settings >/dev/null
scripts/lint.sh
exec .venv/bin/pytest "$@"
