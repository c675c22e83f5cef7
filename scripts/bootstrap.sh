#!/bin/sh
# Create .venv with the locked dependencies (uv.lock). Needs only python3 >= 3.11.
#   sh scripts/bootstrap.sh          runtime (every backend: PostgreSQL, Redis, ...)
#   sh scripts/bootstrap.sh --dev    plus the test and lint tools
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
UV_VERSION=0.13.8

if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "error: Gazette needs Python >= 3.11; '$PY' is $("$PY" -V 2>&1 || echo missing). Set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
# uv lives in its own small venv so that syncing .venv never removes it.
if ! .tools/bin/uv --version 2>/dev/null | grep -q "^uv $UV_VERSION"; then
  echo "Installing uv $UV_VERSION into .tools/ ..." >&2
  "$PY" -m venv .tools
  .tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
export UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=.venv
if [ "${1:-}" = "--dev" ]; then group="--group=dev"; else group="--no-dev"; fi
echo "Syncing .venv from uv.lock ($group) ..." >&2
# Byte-compile once: some environments set PYTHONDONTWRITEBYTECODE, which would make every start slow.
.tools/bin/uv sync --frozen --extra all "$group" --compile-bytecode --python "$PY" --quiet
