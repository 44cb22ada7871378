#!/usr/bin/env bash
# Sets up (venv, .env, migrations, demo data) and runs Kadouri at http://127.0.0.1:$PORT (8000) on SQLite,
# with the QuickBooks emulator at http://127.0.0.1:$QBO_EMULATOR_PORT (8001) and the background worker beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PORT="${PORT:-8000}" QBO_EMULATOR_PORT="${QBO_EMULATOR_PORT:-8001}"
scripts/bootstrap.sh
PY=.venv/bin/python
$PY scripts/dev_env.py .env
mkdir -p var
$PY manage.py migrate --noinput
$PY manage.py seed_demo

pids=()
# Ctrl-C reaches every process of the group; this makes sure the background ones stop too (and waits for them:
# the worker stops within QBO_WORKER_STOP_GRACE_SECONDS, see qbo_integration/management/commands/qbo_worker.py).
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

$PY manage.py qbo_emulator --port "$QBO_EMULATOR_PORT" \
  --webhook-url "http://127.0.0.1:${PORT}/api/quickbooks/webhook" --state-file var/qbo-emulator.json &
pids+=($!)
$PY manage.py qbo_worker &
pids+=($!)
echo "Kadouri CRM: http://127.0.0.1:${PORT}/  ·  QuickBooks emulator: http://127.0.0.1:${QBO_EMULATOR_PORT}/_emulator/"
$PY manage.py runserver --noreload "127.0.0.1:${PORT}"
