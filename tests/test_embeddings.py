"""Embeddings and hybrid search, against a local server speaking the OpenAI and Ollama wire formats."""

from __future__ import annotations

import http.server
import json
import math
import threading
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import select, text

from gazette.app import Gazette
from gazette.errors import ConfigError, ProviderError, StoreUnavailableError
from gazette.settings import load_settings
from gazette.store.tables import repos

# The fake model's "meaning": words of a concept share a dimension; other words hash into the rest.
CONCEPTS = {"car": 0, "automobile": 0, "vehicle": 0, "invoice": 1, "billing": 1, "refund": 2, "chargeback": 2}
DIMS = 16


def fake_vector(textual: str) -> list[float]:
    vector = [0.0] * DIMS
    for word in textual.lower().replace(".", " ").split():
        vector[CONCEPTS.get(word, 3 + zlib.crc32(word.encode()) % (DIMS - 3))] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


class State:
    calls: ClassVar[list[tuple[str, int]]] = []
    fail_with: int | None = None
    wrong_count = False


@pytest.fixture
def model_server() -> Iterator[str]:
    State.calls, State.fail_with, State.wrong_count = [], None, False

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            texts = payload["input"] if isinstance(payload["input"], list) else [payload["input"]]
            State.calls.append((self.path, len(texts)))
            if State.fail_with:
                self.send_response(State.fail_with)
                self.end_headers()
                return
            vectors = [fake_vector(t) for t in texts][: -1 if State.wrong_count else None]
            if self.path == "/v1/embeddings":
                body = {
                    "object": "list",
                    "model": payload["model"],
                    "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
                }
            elif self.path == "/api/embed":
                body = {"model": payload["model"], "embeddings": vectors}
            else:
                self.send_response(404)
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def make_docs(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "garage.md").write_text("# Garage\nWe park the car in the garage every night.\n")
    (root / "billing.md").write_text("# Billing\nEach invoice is sent on the first day of the month.\n")
    (root / "notes.md").write_text("# Notes\nThe weather was mild and the garden grew.\n")
    return root


def gazette_with(
    server: str, provider: str, model: str = "fake-embed", *, store: str | None = None, fusion: str = "convex"
) -> Gazette:
    providers = {"openai": {"base_url": f"{server}/v1"}, "ollama": {"url": server}}
    overrides = {"store": {"url": store}} if store else {}
    embeddings = {"provider": provider, "model": model, "fusion": fusion}
    return Gazette(load_settings(providers=providers, embeddings=embeddings, **overrides).settings)


def vector_count(gz: Gazette) -> int:
    with gz.store.begin() as conn:
        return int(conn.execute(text("SELECT count(*) FROM chunk_vectors")).scalar_one())


@pytest.mark.parametrize(("provider", "fusion"), [("openai", "convex"), ("ollama", "convex"), ("openai", "rrf")])
def test_hybrid_search_finds_by_meaning_what_words_alone_miss(
    vector_store_url: str, tmp_path: Path, model_server: str, provider: str, fusion: str
) -> None:
    gz = gazette_with(model_server, provider, store=vector_store_url, fusion=fusion)
    report = gz.index.index_repo(gz.local_owner(), make_docs(tmp_path / "docs"), "docs")
    assert vector_count(gz) == report.chunks
    with gz.store.begin() as conn:
        assert conn.execute(select(repos.c.embedding_model)).scalar_one() == f"{provider}:fake-embed"
    [best, *_] = gz.index.search(gz.local_owner(), "automobile")  # the word is in no document
    assert best.path == "garage.md"
    assert gz.index.search(gz.local_owner(), "invoice billing")[0].path == "billing.md"
    gz.close()


def test_changing_the_model_reembeds_everything(vector_store_url: str, tmp_path: Path, model_server: str) -> None:
    docs = make_docs(tmp_path / "docs")
    first = gazette_with(model_server, "openai", "model-a", store=vector_store_url)
    first.index.index_repo(first.local_owner(), docs, "docs")
    first.close()
    second = gazette_with(model_server, "openai", "model-b", store=vector_store_url)
    report = second.index.index_repo(second.local_owner(), docs, "docs")
    assert (report.indexed, report.unchanged) == (3, 0)
    assert vector_count(second) == report.chunks
    again = second.index.index_repo(second.local_owner(), docs, "docs")
    assert (again.indexed, again.unchanged) == (0, 3)
    second.close()


def test_vectors_follow_changed_deleted_and_removed_files(
    vector_store_url: str, tmp_path: Path, model_server: str
) -> None:
    docs = make_docs(tmp_path / "docs")
    gz = gazette_with(model_server, "openai", store=vector_store_url)
    gz.index.index_repo(gz.local_owner(), docs, "docs")
    (docs / "notes.md").unlink()
    (docs / "garage.md").write_text("# Garage\nThe vehicle stays outside now.\nA second line.\n")
    report = gz.index.index_repo(gz.local_owner(), docs, "docs")
    assert vector_count(gz) == report.chunks
    gz.index.remove_repo(gz.local_owner(), "docs")
    assert vector_count(gz) == 0
    gz.close()


@pytest.mark.parametrize(
    ("status", "message"), [(500, "answered 500"), (404, "does not know the model"), (401, "refused the credentials")]
)
def test_a_failing_embedding_server_fails_the_index_with_a_clear_message(
    home: Path, tmp_path: Path, model_server: str, status: int, message: str
) -> None:
    State.fail_with = status
    gz = gazette_with(model_server, "openai")
    with pytest.raises(ProviderError, match=message):
        gz.index.index_repo(gz.local_owner(), make_docs(tmp_path / "docs"), "docs")
    state = gz.index.status(gz.local_owner(), "docs")
    assert state.status == "failed"
    assert message in (state.message or "")
    gz.close()


def test_a_wrong_number_of_vectors_is_a_provider_error(home: Path, tmp_path: Path, model_server: str) -> None:
    State.wrong_count = True
    gz = gazette_with(model_server, "ollama")
    with pytest.raises(ProviderError, match="vectors for"):
        gz.index.index_repo(gz.local_owner(), make_docs(tmp_path / "docs"), "docs")
    gz.close()


def test_an_unreachable_or_unknown_provider_is_explained(home: Path, tmp_path: Path) -> None:
    down = gazette_with("http://127.0.0.1:9", "openai")
    with pytest.raises(ProviderError, match="unreachable"):
        down.index.index_repo(down.local_owner(), make_docs(tmp_path / "docs"), "docs")
    down.close()
    unknown = Gazette(load_settings(embeddings={"provider": "magic"}).settings)
    with pytest.raises(ConfigError, match="unknown embedding provider 'magic'"):
        unknown.index.search(unknown.local_owner(), "x")
    unknown.close()
    unconfigured = Gazette(load_settings(embeddings={"provider": "ollama"}).settings)
    with pytest.raises(ConfigError, match="needs GAZETTE_PROVIDERS__OLLAMA__URL"):
        unconfigured.index.search(unconfigured.local_owner(), "x")
    unconfigured.close()


def test_vectors_of_another_workspace_never_surface(vector_store_url: str, tmp_path: Path, model_server: str) -> None:
    from sqlalchemy import insert

    from gazette.auth.models import Principal, Role
    from gazette.store.tables import workspaces

    gz = gazette_with(model_server, "openai", store=vector_store_url)
    with gz.store.begin() as conn:
        conn.execute(insert(workspaces).values(slug="other", name="Other"))
    gz.index.index_repo(gz.local_owner(), make_docs(tmp_path / "docs"), "docs")
    stranger = Principal(
        user="eve", workspace="other", role=Role.personal, scopes=frozenset({"memory:read"}), kind="token"
    )
    assert gz.index.search(stranger, "automobile") == []  # the nearest vectors belong to "default"
    gz.close()


def test_a_model_of_another_size_replaces_the_vector_table(
    vector_store_url: str, tmp_path: Path, model_server: str
) -> None:
    docs = make_docs(tmp_path / "docs")
    first = gazette_with(model_server, "openai", "model-a", store=vector_store_url)
    first.index.index_repo(first.local_owner(), docs, "docs")
    with first.store.begin() as conn:
        conn.execute(text("DROP TABLE chunk_vectors"))  # as if an 8-dimension model had written it
        if first.store.backend == "sqlite":
            conn.exec_driver_sql("CREATE VIRTUAL TABLE chunk_vectors USING vec0(embedding float[8])")
        else:
            conn.exec_driver_sql("CREATE TABLE chunk_vectors (chunk_id bigint PRIMARY KEY, embedding vector(8))")
    assert first.index.search(first.local_owner(), "automobile") == []  # a 16-dim query skips 8-dim vectors
    first.close()
    second = gazette_with(model_server, "openai", "model-a", store=vector_store_url)
    with second.store.begin() as conn:
        conn.execute(text("UPDATE repos SET embedding_model = NULL"))
    report = second.index.index_repo(second.local_owner(), docs, "docs")
    assert report.indexed == 3
    assert vector_count(second) == report.chunks
    assert second.index.search(second.local_owner(), "automobile")[0].path == "garage.md"
    second.close()


@pytest.mark.postgres
def test_postgresql_without_pgvector_searches_with_bm25_and_doctor_says_so(
    postgres_url: str, tmp_path: Path, model_server: str
) -> None:
    gz = gazette_with(model_server, "openai", store=postgres_url)
    with gz.store.begin() as conn:
        if conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first():
            pytest.skip("this PostgreSQL has pgvector; the fallback cannot be observed here")
    report = gz.index.index_repo(gz.local_owner(), make_docs(tmp_path / "docs"), "docs")
    assert report.indexed == 3
    assert State.calls == []  # nothing embedded that could not be stored
    assert gz.index.search(gz.local_owner(), "invoice")[0].path == "billing.md"
    [check] = [check for check in gz.doctor.run().checks if check.name == "pgvector"]
    assert check.status == "warn"
    assert "install pgvector" in check.detail
    gz.close()


@pytest.mark.postgres
def test_doctor_reports_pgvector_where_it_exists(pgvector_url: str) -> None:
    gz = Gazette(load_settings(store={"url": pgvector_url}).settings)
    [check] = [check for check in gz.doctor.run().checks if check.name == "pgvector"]
    assert check.status == "ok"
    gz.close()


@pytest.mark.postgres
def test_a_role_that_may_not_enable_pgvector_gets_told_how(
    pgvector_admin: str, tmp_path: Path, model_server: str
) -> None:
    import psycopg

    name = f"gazette_role_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pgvector_admin, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{name}" LOGIN')
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
    url = pgvector_admin.replace("postgres:@", f"{name}@", 1).replace("/postgres?", f"/{name}?", 1)
    gz = gazette_with(model_server, "openai", store=url)
    try:
        with pytest.raises(StoreUnavailableError, match="run `CREATE EXTENSION vector` as a superuser"):
            gz.index.index_repo(gz.local_owner(), make_docs(tmp_path / "docs"), "docs")
        assert gz.index.status(gz.local_owner(), "docs").status == "failed"
    finally:
        gz.close()
        with psycopg.connect(pgvector_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def test_convex_fusion_ranks_a_chunk_both_rankings_like_above_one_only_words_match(
    home: Path, tmp_path: Path, model_server: str
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    # "billing" matches one word of the query in both; only the first is also near in meaning.
    (docs / "invoices.md").write_text("# Invoices\nBilling runs monthly; every invoice is billing.\n")
    (docs / "words.md").write_text("# Words\nThe billing word appears here twice: billing billing zebra.\n")
    gz = gazette_with(model_server, "openai", fusion="convex")
    gz.index.index_repo(gz.local_owner(), docs, "docs")
    hits = gz.index.search(gz.local_owner(), "billing invoice")
    assert [hit.path for hit in hits][:2] == ["invoices.md", "words.md"]
    assert hits[0].score == pytest.approx(1.0)  # best in both normalised lists (RRF would give ~2/61)
    assert 0.0 <= hits[-1].score <= hits[0].score
    gz.close()
