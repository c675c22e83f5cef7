#!/bin/sh
# The whole suite: lint, format check, strict types, tests with coverage.
set -eu
cd "$(dirname "$0")/.."
echo "== ruff check" && .venv/bin/ruff check .
echo "== ruff format --check" && .venv/bin/ruff format --check .
echo "== mypy --strict src" && .venv/bin/mypy
echo "== pytest" && .venv/bin/pytest --cov=gazette --cov-report=term "$@"
