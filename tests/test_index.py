"""The context engine on a real directory: ingest, skips, incremental re-index, search, read, isolation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gazette.app import Gazette
from gazette.auth import Principal, Role
from gazette.errors import InvalidInputError, JobError, NotFoundError, PermissionDeniedError


def make_repo(root: Path) -> Path:
    files = {
        "README.md": "# Project\nIntro to the payment service.\n\n## Setup\nRun make install.\n",
        "docs/architecture.md": "# Architecture\n## Storage\nWe keep invoices in PostgreSQL.\n",
        "src/payments.py": "import os\n\n\ndef charge_card(amount):\n    return amount\n\n\nclass InvoiceService:\n"
        "    def issue_invoice(self):\n        pass\n",
        "notes.txt": "Plain notes about refunds.\n",
        "guide.rst": "Guide\n=====\n\nIntro.\n\nRefunds\n-------\nHow refunds work.\n",
        "node_modules/lib/index.js": "module.exports = 1\n",
        "build/out.js": "generated\n",
        "secret.log": "ignored by gitignore\n",
        ".gitignore": "*.log\n",
        "src/.gazetteignore": "private/\n",
        "src/private/keys.py": "KEY = 1\n",
        "logo.png": "\x89PNG",
        "package-lock.json": "{}",
    }
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    (root / "big.txt").write_text("x" * 2_000_001)
    (root / "data.bin.txt").write_bytes(b"text\x00with nul")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project")


def test_index_walks_chunks_and_reports_every_skip(gz: Gazette, repo: Path) -> None:
    report = gz.index.index_repo(gz.local_owner(), repo, "project")
    assert report.files == 5
    assert report.indexed == 5
    assert report.skipped == {
        "vendored directory": 1,
        "generated directory": 1,
        "ignored directory": 1,
        "ignored": 1,
        "ignore file": 2,
        "binary": 2,
        "generated": 1,
        "too large": 1,
    }
    assert [error.path for error in report.errors] == ["data.bin.txt"]
    status = gz.index.status(gz.local_owner(), "project")
    assert (status.status, status.files) == ("indexed", 5)
    assert [error.path for error in status.errors] == ["data.bin.txt"]


def test_search_cites_path_lines_and_heading_path(gz: Gazette, repo: Path) -> None:
    gz.index.index_repo(gz.local_owner(), repo, "project")
    [hit, *_] = gz.index.search(gz.local_owner(), "which database keeps the invoices")
    assert (hit.repo, hit.path, hit.heading) == ("project", "docs/architecture.md", "Architecture > Storage")
    assert (hit.start_line, hit.end_line) == (2, 3)
    assert "PostgreSQL" in hit.snippet
    rst = gz.index.search(gz.local_owner(), "how do refunds work", repo="project")
    assert any(h.path == "guide.rst" and h.heading == "Guide > Refunds" for h in rst)


@pytest.mark.parametrize("query", ["InvoiceService", "invoice_service", "invoice service", "issueInvoice"])
def test_identifiers_are_found_whatever_their_case_style(gz: Gazette, repo: Path, query: str) -> None:
    gz.index.index_repo(gz.local_owner(), repo, "project")
    assert gz.index.search(gz.local_owner(), query)[0].path == "src/payments.py"


@pytest.mark.parametrize(
    "query", ['"unbalanced', "refunds*", "-refunds", "NEAR(refunds notes)", "refunds AND OR NOT", "col:umn", "'; DROP"]
)
def test_fts_syntax_in_queries_searches_safely(gz: Gazette, repo: Path, query: str) -> None:
    gz.index.index_repo(gz.local_owner(), repo, "project")
    gz.index.search(gz.local_owner(), query)  # never a syntax error


def test_a_plain_query_does_not_require_every_term(gz: Gazette, repo: Path) -> None:
    gz.index.index_repo(gz.local_owner(), repo, "project")
    assert gz.index.search(gz.local_owner(), "refunds zyzzyva-never-written")


def test_reindex_skips_unchanged_replaces_changed_and_removes_deleted(gz: Gazette, repo: Path) -> None:
    owner = gz.local_owner()
    gz.index.index_repo(owner, repo, "project")
    (repo / "notes.txt").write_text("Notes now about chargebacks.\n")
    (repo / "guide.rst").unlink()
    assert gz.index.status(owner, "project").status == "stale"
    report = gz.index.index_repo(owner, repo, "project")
    assert (report.indexed, report.unchanged, report.removed) == (1, 3, 1)
    assert gz.index.search(owner, "chargebacks")[0].path == "notes.txt"
    assert not [h for h in gz.index.search(owner, "refunds") if h.path in ("notes.txt", "guide.rst")]
    assert gz.index.status(owner, "project").status == "indexed"


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("../outside.txt", InvalidInputError),
        ("/etc/passwd", InvalidInputError),
        ("src/private/keys.py", NotFoundError),
        ("missing.md", NotFoundError),
    ],
)
def test_read_refuses_paths_outside_or_not_indexed(gz: Gazette, repo: Path, path: str, error: type[Exception]) -> None:
    gz.index.index_repo(gz.local_owner(), repo, "project")
    with pytest.raises(error):
        gz.index.read(gz.local_owner(), "project", path)


def test_read_refuses_a_symlink_that_escapes_after_indexing(gz: Gazette, repo: Path, tmp_path: Path) -> None:
    gz.index.index_repo(gz.local_owner(), repo, "project")
    (tmp_path / "outside.txt").write_text("secret")
    (repo / "notes.txt").unlink()
    os.symlink(tmp_path / "outside.txt", repo / "notes.txt")
    with pytest.raises(PermissionDeniedError, match="outside the repository root"):
        gz.index.read(gz.local_owner(), "project", "notes.txt")


def test_read_returns_the_whole_file(gz: Gazette, repo: Path) -> None:
    gz.index.index_repo(gz.local_owner(), repo, "project")
    content = gz.index.read(gz.local_owner(), "project", "./src/payments.py")
    assert content.path == "src/payments.py"
    assert content.content == (repo / "src/payments.py").read_text()


@pytest.mark.parametrize("case", ["missing", "file", "empty"])
def test_nothing_to_index_is_failed_with_a_message_never_success(gz: Gazette, tmp_path: Path, case: str) -> None:
    target = tmp_path / "target"
    if case == "file":
        target.write_text("x")
    elif case == "empty":
        (target / "node_modules").mkdir(parents=True)
    with pytest.raises(JobError) as caught:
        gz.index.index_repo(gz.local_owner(), target, "broken")
    status = gz.index.status(gz.local_owner(), "broken")
    assert status.status == "failed"
    assert status.message == caught.value.message


def test_a_workspace_never_sees_another_workspaces_repositories(gz: Gazette, repo: Path) -> None:
    from sqlalchemy import insert

    from gazette.store.tables import workspaces

    with gz.store.begin() as conn:
        conn.execute(insert(workspaces).values(slug="other", name="Other"))
    gz.index.index_repo(gz.local_owner(), repo, "project")
    stranger = Principal(
        user="eve", workspace="other", role=Role.personal, scopes=frozenset({"memory:read"}), kind="token"
    )
    assert gz.index.list_repos(stranger) == []
    assert gz.index.search(stranger, "invoices") == []
    assert gz.index.status(stranger, "project").status == "unknown"
    with pytest.raises(NotFoundError):
        gz.index.read(stranger, "project", "README.md")


def test_search_needs_memory_read_and_indexing_memory_write(gz: Gazette, repo: Path) -> None:
    reader = Principal(
        user="r", workspace="default", role=Role.personal, scopes=frozenset({"memory:read"}), kind="token"
    )
    with pytest.raises(PermissionDeniedError, match="memory:write"):
        gz.index.index_repo(reader, repo, "project")
    nobody = Principal(user="n", workspace="default", role=Role.personal, scopes=frozenset(), kind="token")
    with pytest.raises(PermissionDeniedError, match="memory:read"):
        gz.index.search(nobody, "x")


def test_remove_forgets_the_repository(gz: Gazette, repo: Path) -> None:
    gz.index.index_repo(gz.local_owner(), repo, "project")
    gz.index.remove_repo(gz.local_owner(), "project")
    assert gz.index.list_repos(gz.local_owner()) == []
    assert gz.index.search(gz.local_owner(), "invoices") == []


def indexed_matches(gz: Gazette, word: str) -> int:
    """Rows of the full-text index itself that match `word`, whatever `chunks` still holds."""
    with gz.store.begin() as conn:
        if gz.store.backend == "sqlite":
            query = "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?"
        else:
            query = "SELECT count(*) FROM chunks WHERE tsv @@ to_tsquery('english', %s)"
        return int(conn.exec_driver_sql(query, (word,)).scalar_one())


@pytest.mark.parametrize("change", ["edited", "deleted", "repository removed"])
def test_removed_or_replaced_content_leaves_nothing_in_the_full_text_index(
    gz: Gazette, tmp_path: Path, change: str
) -> None:
    # A single file: its replacement chunk takes the very id the old chunk had, so a full-text
    # row left behind would attach the old words to the new chunk.
    root = tmp_path / "one"
    root.mkdir()
    (root / "zoo.md").write_text("# Zoo\nThe zebra sleeps.\n")
    owner = gz.local_owner()
    gz.index.index_repo(owner, root, "one")
    assert indexed_matches(gz, "zebra") == 1
    if change == "edited":
        (root / "zoo.md").write_text("# Zoo\nThe giraffe eats.\n")
        gz.index.index_repo(owner, root, "one")
        assert [hit.path for hit in gz.index.search(owner, "giraffe")] == ["zoo.md"]
    elif change == "deleted":
        (root / "zoo.md").unlink()
        (root / "park.md").write_text("# Park\nThe giraffe eats.\n")
        gz.index.index_repo(owner, root, "one")
    else:
        gz.index.remove_repo(owner, "one")
    assert gz.index.search(owner, "zebra") == []
    assert indexed_matches(gz, "zebra") == 0
    assert indexed_matches(gz, "zoo") == (1 if change == "edited" else 0)


def test_chunks_of_another_workspace_crowding_the_best_matches_do_not_hide_ours(gz: Gazette, tmp_path: Path) -> None:
    from sqlalchemy import insert

    from gazette.store.tables import workspaces

    with gz.store.begin() as conn:
        conn.execute(insert(workspaces).values(slug="other", name="Other"))
    crowd = tmp_path / "crowd"
    crowd.mkdir()
    for number in range(60):  # far better matches than ours, all in another workspace
        (crowd / f"n{number}.md").write_text(f"# Invoice {number}\ninvoice invoice invoice\n")
    owner_b = Principal(
        user="b", workspace="other", role=Role.admin, scopes=frozenset({"memory:read", "memory:write"}), kind="token"
    )
    gz.index.index_repo(owner_b, crowd, "crowd")
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "long.md").write_text("# Notes\n" + "unrelated words here " * 40 + "and one invoice.\n")
    gz.index.index_repo(gz.local_owner(), ours, "ours")
    [hit] = gz.index.search(gz.local_owner(), "invoice", k=3)
    assert (hit.repo, hit.path) == ("ours", "long.md")
    assert len(gz.index.search(owner_b, "invoice", k=50)) == 50


def test_very_frequent_terms_do_not_decide_what_matches_while_rarer_ones_remain(store_url: str, tmp_path: Path) -> None:
    from gazette.settings import load_settings

    docs = tmp_path / "docs"
    docs.mkdir()
    for number in range(5):
        (docs / f"common{number}.md").write_text(f"# Page {number}\nThe service handles requests.\n")
    (docs / "rare.md").write_text("# Rare\nThe service rotates credentials nightly.\n")
    pruned = Gazette(load_settings(store={"url": store_url}, index={"common_term_chunks": 3}).settings)
    pruned.index.index_repo(pruned.local_owner(), docs, "docs")
    # "service" is in 6 chunks (> 3): only "credentials" decides what matches.
    assert [hit.path for hit in pruned.index.search(pruned.local_owner(), "service credentials")] == ["rare.md"]
    # A query of common terms only keeps them: it still finds everything.
    assert len(pruned.index.search(pruned.local_owner(), "service requests")) == 6
    pruned.close()
    exact = Gazette(load_settings(store={"url": store_url}, index={"common_term_chunks": 1000}).settings)
    hits = exact.index.search(exact.local_owner(), "service credentials")
    assert hits[0].path == "rare.md"
    assert len(hits) == 6
    exact.close()


def test_frequent_terms_still_score_the_chunks_a_rarer_term_finds(store_url: str, tmp_path: Path) -> None:
    from gazette.settings import load_settings

    docs = tmp_path / "docs"
    docs.mkdir()
    for number in range(5):
        (docs / f"common{number}.md").write_text(f"# Page {number}\nThe service handles requests.\n")
    for number in range(10):
        (docs / f"other{number}.md").write_text(f"# Other {number}\nUnrelated words about gardens.\n")
    (docs / "plain.md").write_text("# Plain\nThe vault rotates credentials for the team nightly.\n")
    (docs / "both.md").write_text("# Both\nThe service rotates credentials for the service nightly.\n")
    pruned = Gazette(load_settings(store={"url": store_url}, index={"common_term_chunks": 3}).settings)
    pruned.index.index_repo(pruned.local_owner(), docs, "docs")
    exact = Gazette(load_settings(store={"url": store_url}, index={"common_term_chunks": 1000}).settings)
    # "service" (6 of 17 chunks) no longer decides which chunks match, but it still ranks them:
    # of two chunks alike but for it, the one saying "service" comes first, scored as in full.
    found = pruned.index.search(pruned.local_owner(), "service credentials")
    assert [hit.path for hit in found] == ["both.md", "plain.md"]
    full = {hit.path: hit.score for hit in exact.index.search(exact.local_owner(), "service credentials")}
    assert len(full) == 7  # the full query also finds the chunks holding only "service"
    assert [hit.score for hit in found] == [pytest.approx(full["both.md"]), pytest.approx(full["plain.md"])]
    pruned.close()
    exact.close()


def test_two_processes_worth_of_writers_index_into_one_sqlite_file_without_clashing(home: Path, tmp_path: Path) -> None:
    import threading

    roots = []
    for name in ("alpha", "beta"):
        root = tmp_path / name
        root.mkdir()
        for number in range(250):  # several batches each, interleaved between the writers
            (root / f"f{number}.md").write_text(f"# {name} {number}\n{name} page number {number}\n")
        roots.append((name, root))
    instances = [Gazette.from_settings(), Gazette.from_settings()]  # two engines, as two processes have
    failures: list[BaseException] = []

    def index(gz: Gazette, name: str, root: Path) -> None:
        try:
            gz.index.index_repo(gz.local_owner(), root, name)
        except BaseException as exc:
            failures.append(exc)

    threads = [
        threading.Thread(target=index, args=(gz, name, root)) for gz, (name, root) in zip(instances, roots, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    gz = instances[0]
    for name in ("alpha", "beta"):
        assert gz.index.status(gz.local_owner(), name).chunks == 250
        assert {hit.repo for hit in gz.index.search(gz.local_owner(), name, k=50)} == {name}
    for instance in instances:
        instance.close()


def test_worker_processes_index_exactly_what_one_process_does(home: Path, tmp_path: Path) -> None:
    from gazette.index.prepare import PARALLEL_MIN_FILES
    from gazette.settings import load_settings

    root = tmp_path / "many"
    for number in range(PARALLEL_MIN_FILES + 50):
        folder = root / f"pkg{number // 50}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod{number}.py").write_text(f"def handle_{number}(request):\n    return RequestHandler{number}()\n")
    (root / "blob.txt").write_bytes(b"\x00binary")
    reports, results = [], []
    for workers in (1, 2):
        gz = Gazette(load_settings(home=str(tmp_path / f"home{workers}"), index={"workers": workers}).settings)
        reports.append(gz.index.index_repo(gz.local_owner(), root, "many"))
        results.append([(hit.path, hit.start_line) for hit in gz.index.search(gz.local_owner(), "request handler 7")])
        (root / "pkg0" / "mod3.py").write_text("def changed():\n    pass\n")
        again = gz.index.index_repo(gz.local_owner(), root, "many")
        assert (again.indexed, again.unchanged) == (1, PARALLEL_MIN_FILES + 49)
        (root / "pkg0" / "mod3.py").write_text("def handle_3(request):\n    return RequestHandler3()\n")
        gz.close()
    one, two = reports
    assert (two.files, two.chunks, two.indexed, two.skipped) == (one.files, one.chunks, one.indexed, one.skipped)
    assert [error.path for error in two.errors] == ["blob.txt"]
    assert results[0] == results[1]
    assert results[0]


def test_workers_hand_back_every_file_in_order_across_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gazette.index import prepare
    from gazette.index.walker import walk

    for number in range(prepare.PARALLEL_MIN_FILES + 30):
        (tmp_path / f"mod{number:03}.py").write_text(f"def handle_{number}(request):\n    return {number}\n")
    work = [(candidate, None) for candidate in walk(tmp_path, max_bytes=10_000).files]
    monkeypatch.setattr(prepare, "_WINDOW", 64)  # 4 windows, each queued before the last is handed out
    parallel = list(prepare.prepare_all(work, workers=2))
    assert len(work) > 3 * prepare._WINDOW
    assert parallel == [prepare.prepare_file(candidate, None) for candidate, _ in work]
