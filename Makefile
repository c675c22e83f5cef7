# Two commands do all the set-up (see README): `make run` and `make test`.
.PHONY: run test install install-dev proto bench lock

run: install  ## install and start `gazette serve` on the embedded SQLite store
	.venv/bin/gazette serve

test: install-dev  ## install dev dependencies and run lint, types and the full test suite
	sh scripts/test.sh

install:
	sh scripts/bootstrap.sh

install-dev:
	sh scripts/bootstrap.sh --dev

proto: install-dev  ## regenerate gRPC code after editing src/gazette/grpc_server/protos/gazette.proto
	.venv/bin/python -m grpc_tools.protoc -Isrc --python_out=src --pyi_out=src --grpc_python_out=src \
		src/gazette/grpc_server/protos/gazette.proto

bench: install-dev  ## measured figures for docs/benchmarks.md (not part of the test suite)
	.venv/bin/python benchmarks/cli_startup.py

lock:
	.tools/bin/uv lock
