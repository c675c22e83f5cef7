# syntax=docker/dockerfile:1
#
# Gazette: one process serving HTTP (API, MCP at /mcp) on 4444 and gRPC on 50051.
#
#   docker build -t gazette .
#   docker run --rm -p 127.0.0.1:4444:4444 -p 127.0.0.1:50051:50051 -v gazette-data:/data gazette
#
# Two stages: `build` resolves the locked dependencies (with the `all` extra: PostgreSQL and
# Redis support) into /opt/venv with uv; `runtime` is a clean slim image holding only that
# virtualenv, run as an unprivileged user.

############################################################################### build
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1

RUN pip install uv==0.13.8

WORKDIR /src

# Dependencies first, from the lock file alone: this layer is reused until uv.lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra all --compile-bytecode --no-install-project

# Then the project itself. --no-editable installs it into /opt/venv as a regular package
# (an editable install would point at /src, which the runtime stage does not have).
COPY src/ ./src/
RUN uv sync --frozen --no-dev --extra all --compile-bytecode --no-editable

############################################################################### runtime
FROM python:3.11-slim AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GAZETTE_HOME=/data

RUN groupadd --system --gid 10001 gazette \
    && useradd --system --uid 10001 --gid gazette --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin gazette \
    && mkdir -p /data \
    && chown gazette:gazette /data

# Owned by root, so the running process cannot modify its own code.
COPY --from=build /opt/venv /opt/venv

WORKDIR /data
# The data directory (SQLite database, config.toml, logs): ownership above is kept when
# Docker initialises a new named volume from it.
VOLUME ["/data"]

USER gazette

EXPOSE 4444 50051

# No curl in slim images: the standard library makes the request.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('GAZETTE_SERVER__PORT') or '4444'; sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["gazette"]
# Bind all interfaces inside the container; publish ports on the host to choose who can reach them.
CMD ["serve", "--host", "0.0.0.0"]
