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
from gazette.store import vectors
from gazette.store.tables import repos
from gazette.store.vector_search import VectorSearch

# The fake model's "meaning": words of a concept share a dimension; other words hash into the rest.
CONCEPTS = {"car": 0, "automobile": 0, "vehicle": 0, "invoice": 1, "billing": 1, "refund": 2, "chargeback": 2}
DIMS = 16


def fake_vector(textual: str, dims: int = DIMS) -> list[float]:
    vector = [0.0] * dims
    for word in textual.lower().replace(".", " ").split():
        vector[CONCEPTS.get(word, 3 + zlib.crc32(word.encode()) % (dims - 3))] += 1.0
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
            dims = 8 if payload["model"].startswith("small") else DIMS  # a model of another size
            vectors = [fake_vector(t, dims) for t in texts][: -1 if State.wrong_count else None]
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
    server: str,
    provider: str,
    model: str = "fake-embed",
    *,
    store: str | None = None,
    fusion: str = "convex",
    oversample: int = 4,
) -> Gazette:
    providers = {"openai": {"base_url": f"{server}/v1"}, "ollama": {"url": server}}
    overrides = {"store": {"url": store}} if store else {}
    embeddings = {"provider": provider, "model": model, "fusion": fusion, "oversample": oversample}
    return Gazette(load_settings(providers=providers, embeddings=embeddings, **overrides).settings)


def vector_count(gz: Gazette) -> int:
    """Vectors stored; on SQLite their signs too, and neither table may keep rows of deleted chunks."""
    with gz.store.begin() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM chunk_vectors")).scalar_one())
        if gz.store.backend == "sqlite":
            assert conn.execute(text("SELECT count(*) FROM chunk_vector_signs")).scalar_one() == count
            for table in ("chunk_vectors", "chunk_vector_signs"):
                orphans = f"SELECT count(*) FROM {table} WHERE chunk_id NOT IN (SELECT id FROM chunks)"  # noqa: S608
                assert conn.execute(text(orphans)).scalar_one() == 0
        return count


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
    assert first.index.search(first.local_owner(), "automobile")[0].path == "garage.md"
    first.close()
    smaller = gazette_with(model_server, "openai", "small-model", store=vector_store_url)  # 8 dimensions
    assert smaller.index.search(smaller.local_owner(), "automobile") == []  # 8-dim query, 16-dim vectors
    report = smaller.index.index_repo(smaller.local_owner(), docs, "docs")
    assert (report.indexed, report.unchanged) == (3, 0)
    assert vector_count(smaller) == report.chunks
    assert smaller.index.search(smaller.local_owner(), "automobile")[0].path == "garage.md"
    with smaller.store.begin() as conn:
        assert vectors.dimensions(conn) == 8
    smaller.close()


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


CAR_NOTES = ["The car.", "A vehicle.", "My automobile.", "Car and vehicle.", "One car car."]


def notes_and_cars(root: Path, notes: int) -> Path:
    """`notes` files of made-up words, and five short ones about cars: the only vectors with the car sign."""
    root.mkdir(parents=True)
    for number in range(notes):
        words = " ".join(f"w{(number * 7 + i * 13) % 97}x" for i in range(6))
        (root / f"note{number:03}.md").write_text(f"{words}\n")
    for number, line in enumerate(CAR_NOTES):
        (root / f"car{number}.md").write_text(f"{line}\n")
    return root


def test_dense_search_finds_what_an_exact_scan_finds_when_the_signs_narrow_the_candidates(
    home: Path, tmp_path: Path, model_server: str
) -> None:
    # SQLite's candidate pass; pgvector's HNSW is approximate in its own way (a random graph that
    # can stall among the 120 equally distant notes), so its results are not pinned here.
    from gazette.store.memory import embedding_text

    gz = gazette_with(model_server, "openai", oversample=1)
    gz.index.index_repo(gz.local_owner(), notes_and_cars(tmp_path / "docs", 120), "docs")
    query = fake_vector("automobile vehicle car")
    with gz.store.begin() as conn:
        chunks = conn.execute(text("SELECT id, heading, text FROM chunks")).all()
        # 5 candidates of 125 vectors: only the signs can have picked them.
        narrowed = VectorSearch(oversample=1).nearest(conn, query, limit=5, workspace_id=1)
        scanned = VectorSearch(oversample=0).nearest(conn, query, limit=5, workspace_id=1)
    exact = sorted(
        (1.0 - sum(a * b for a, b in zip(query, fake_vector(embedding_text(c.heading, c.text)), strict=True)), c.id)
        for c in chunks
    )[:5]
    for found in (narrowed, scanned):
        assert {chunk_id for chunk_id, _ in found} == {chunk_id for _, chunk_id in exact}
        assert [distance for _, distance in found] == pytest.approx([distance for distance, _ in exact], abs=1e-6)
    hits = gz.index.search(gz.local_owner(), "automobile vehicle car", k=5)
    exhaustive = gazette_with(model_server, "openai", oversample=0)
    exact_hits = exhaustive.index.search(gz.local_owner(), "automobile vehicle car", k=5)
    assert [(hit.path, hit.score) for hit in hits] == [(hit.path, pytest.approx(hit.score)) for hit in exact_hits]
    assert {hit.path for hit in hits} == {f"car{number}.md" for number in range(5)}
    exhaustive.close()
    gz.close()


def test_a_search_sees_vectors_another_instance_wrote_or_deleted_since_its_last_search(
    vector_store_url: str, tmp_path: Path, model_server: str
) -> None:
    docs = make_docs(tmp_path / "docs")
    writer = gazette_with(model_server, "openai", store=vector_store_url)
    reader = gazette_with(model_server, "openai", store=vector_store_url)
    writer.index.index_repo(writer.local_owner(), docs, "docs")
    assert reader.index.search(reader.local_owner(), "automobile")[0].path == "garage.md"
    (docs / "fleet.md").write_text("# Fleet\nEvery vehicle vehicle vehicle of the company.\n")
    writer.index.index_repo(writer.local_owner(), docs, "docs")
    assert reader.index.search(reader.local_owner(), "automobile")[0].path == "fleet.md"
    (docs / "fleet.md").unlink()
    writer.index.index_repo(writer.local_owner(), docs, "docs")
    assert reader.index.search(reader.local_owner(), "automobile")[0].path == "garage.md"
    assert vector_count(reader) == 3
    writer.close()
    reader.close()


def test_vectors_of_another_workspace_or_repository_never_surface(
    vector_store_url: str, tmp_path: Path, model_server: str
) -> None:
    from sqlalchemy import insert

    from gazette.auth.models import Principal, Role
    from gazette.store.tables import workspaces

    gz = gazette_with(model_server, "openai", store=vector_store_url)
    with gz.store.begin() as conn:
        conn.execute(insert(workspaces).values(slug="other", name="Other"))
    owner = gz.local_owner()
    scopes = frozenset({"memory:read", "memory:write"})
    stranger = Principal(user="eve", workspace="other", role=Role.personal, scopes=scopes, kind="token")
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    (fleet / "fleet.md").write_text("# Fleet\nEvery vehicle vehicle vehicle of the company.\n")
    gz.index.index_repo(stranger, fleet, "fleet")  # nearer to "automobile" than anything of the owner
    gz.index.index_repo(owner, make_docs(tmp_path / "docs"), "docs")
    gz.index.index_repo(owner, notes_and_cars(tmp_path / "cars", 3), "cars")
    assert {hit.repo for hit in gz.index.search(stranger, "automobile", k=20)} == {"fleet"}
    mine = gz.index.search(owner, "automobile", k=20)
    assert {hit.repo for hit in mine} == {"docs", "cars"}
    only_docs = gz.index.search(owner, "automobile", repo="docs", k=20)
    assert only_docs[0].path == "garage.md"
    assert {hit.repo for hit in only_docs} == {"docs"}
    gz.close()


def rewrite_as_vec0(gz: Gazette, size: int) -> None:
    """Store the vectors as an earlier Gazette did: one sqlite-vec vec0 table, rowid = chunk id."""
    with gz.store.begin() as conn:
        stored = conn.exec_driver_sql("SELECT chunk_id, embedding FROM chunk_vectors").all()
        for table in ("chunk_vectors", "chunk_vector_signs", "chunk_vector_state"):
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql(
            f"CREATE VIRTUAL TABLE chunk_vectors USING vec0(embedding float[{size}] distance_metric=cosine)"
        )
        rows = [(chunk_id, embedding[: size * 4]) for chunk_id, embedding in stored]
        rows.append((9999, rows[0][1]))  # vec0 kept vectors of deleted chunks
        conn.exec_driver_sql("INSERT INTO chunk_vectors(rowid, embedding) VALUES (?, ?)", rows)


@pytest.mark.parametrize(("size", "reembedded"), [(DIMS, 0), (8, 3)])
def test_a_store_with_the_earlier_vec0_table_is_moved_to_the_plain_tables_on_first_use(
    home: Path, tmp_path: Path, model_server: str, size: int, reembedded: int
) -> None:
    docs = make_docs(tmp_path / "docs")
    gz = gazette_with(model_server, "openai")
    owner = gz.local_owner()
    gz.index.index_repo(owner, docs, "docs")
    before = [(hit.path, hit.score) for hit in gz.index.search(owner, "automobile")]
    rewrite_as_vec0(gz, size)
    if size != DIMS:
        with gz.store.begin() as conn:  # as if an 8-dimension model had written them
            conn.execute(text("UPDATE repos SET embedding_model = 'openai:small-model'"))
    gz.close()
    upgraded = gazette_with(model_server, "openai")
    hits = upgraded.index.search(owner, "automobile")
    if size == DIMS:
        assert [(hit.path, hit.score) for hit in hits] == [(path, pytest.approx(score)) for path, score in before]
    else:
        assert hits == []  # vectors of another size: found by no query until the next index run
    with upgraded.store.begin() as conn:
        assert "vec0" not in conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'chunk_vectors'").scalar()
        assert vectors.dimensions(conn) == size
    assert vector_count(upgraded) == 3  # the orphan was left behind
    calls = len(State.calls)
    report = upgraded.index.index_repo(owner, docs, "docs")
    assert (report.indexed, report.unchanged) == (reembedded, 3 - reembedded)
    assert sum(count for _, count in State.calls[calls:]) == reembedded
    assert upgraded.index.search(owner, "automobile")[0].path == "garage.md"
    assert vector_count(upgraded) == 3
    upgraded.close()


def test_deleting_files_from_a_store_with_the_earlier_vec0_table_leaves_no_vector_behind(
    home: Path, tmp_path: Path, model_server: str
) -> None:
    docs = make_docs(tmp_path / "docs")
    gz = gazette_with(model_server, "openai")
    gz.index.index_repo(gz.local_owner(), docs, "docs")
    rewrite_as_vec0(gz, DIMS)
    (docs / "notes.md").unlink()
    report = gz.index.index_repo(gz.local_owner(), docs, "docs")  # a deletion only: no vector is written
    assert (report.removed, report.chunks) == (1, 2)
    assert vector_count(gz) == 2
    gz.close()
