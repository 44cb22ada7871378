#!/usr/bin/env bash
# The house tools: ruff (lint and format check) and the import contracts (.importlinter). Run by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
.venv/bin/lint-imports --no-cache
