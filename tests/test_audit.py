"""The audit log: every kind of tampering is detected, concurrent writers never fork the chain."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from gazette.api import create_app
from gazette.app import Gazette
from gazette.audit.chain import GENESIS, entry_hash, verify
from gazette.cli import main


def build_chain(payloads: list[int]) -> list[dict[str, Any]]:
    entries, previous = [], GENESIS
    for index, value in enumerate(payloads, start=1):
        entry = {
            "id": index,
            "seq": index,
            "at": f"2026-01-01T00:00:{index % 60:02d}",
            "workspace": "default",
            "actor_kind": "token",
            "actor_id": "ada",
            "event": "mcp.tool_call",
            "target": "gazette_info",
            "outcome": "ok",
            "payload": {"n": value},
            "prev_hash": previous,
        }
        entry["hash"] = previous = entry_hash(entry)
        entries.append(entry)
    return entries


chains = st.lists(st.integers(), min_size=3, max_size=30).map(build_chain)


@given(chain=chains)
def test_an_untouched_chain_verifies(chain: list[dict[str, Any]]) -> None:
    assert verify(chain) == (len(chain), None)


@given(chain=chains, data=st.data())
def test_a_modified_entry_is_named(chain: list[dict[str, Any]], data: st.DataObject) -> None:
    k = data.draw(st.integers(0, len(chain) - 1))
    field = data.draw(st.sampled_from(["payload", "actor_id", "outcome", "at", "event"]))
    chain[k][field] = {"n": "forged"} if field == "payload" else "forged"
    _, broken = verify(chain)
    assert broken is not None
    assert (broken.id, broken.problem) == (chain[k]["id"], "modified")


@given(chain=chains, data=st.data())
def test_a_deleted_entry_is_found_at_the_next_one(chain: list[dict[str, Any]], data: st.DataObject) -> None:
    k = data.draw(st.integers(0, len(chain) - 2))
    removed = chain.pop(k)
    _, broken = verify(chain)
    assert broken is not None
    assert broken.problem == "deleted"
    assert broken.seq == removed["seq"] + 1


@given(chain=chains, data=st.data())
def test_reordered_entries_are_found(chain: list[dict[str, Any]], data: st.DataObject) -> None:
    k = data.draw(st.integers(0, len(chain) - 2))
    chain[k], chain[k + 1] = chain[k + 1], chain[k]
    _, broken = verify(chain)
    assert broken is not None
    assert broken.problem == "reordered"
    assert broken.seq == chain[k]["seq"]


@given(chain=chains, data=st.data())
def test_an_inserted_entry_with_a_valid_own_hash_is_found(chain: list[dict[str, Any]], data: st.DataObject) -> None:
    k = data.draw(st.integers(1, len(chain) - 1))
    forged = {**chain[k], "payload": {"n": "forged"}, "prev_hash": chain[k - 1]["prev_hash"]}
    forged["hash"] = entry_hash(forged)  # the forger can hash, but cannot relink what follows
    chain[k] = forged
    _, broken = verify(chain)
    assert broken is not None
    assert broken.id == forged["id"]
    assert broken.problem == "inserted"


def test_concurrent_writers_never_fork_the_chain(gz: Gazette) -> None:
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for index in range(25):
                gz.audit.record("test.event", actor_id=f"w{worker}", payload={"i": index})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = gz.audit.verify(gz.local_owner())
    assert result.ok
    assert result.checked == 100


def test_tampering_in_the_database_is_reported_by_audit_verify(
    sqlite_gz: Gazette, capsys: pytest.CaptureFixture[str]
) -> None:
    for index in range(5):
        sqlite_gz.audit.record("test.event", payload={"i": index})
    sqlite_gz.audit.flush()  # the CLI below reads through another Gazette
    with pytest.raises(SystemExit) as intact:
        main(["audit", "verify"])
    assert intact.value.code in (None, 0)
    with sqlite_gz.store.begin() as conn:
        conn.execute(text("UPDATE audit_log SET outcome = 'denied' WHERE seq = 3"))
    with pytest.raises(SystemExit) as broken:
        main(["audit", "verify"])
    assert broken.value.code == 1
    assert "position 3): modified" in capsys.readouterr().err


def test_audit_export_writes_jsonl_in_chain_order(sqlite_gz: Gazette, capsys: pytest.CaptureFixture[str]) -> None:
    for index in range(3):
        sqlite_gz.audit.record("test.event", payload={"i": index})
    sqlite_gz.audit.flush()  # the CLI below reads through another Gazette
    with pytest.raises(SystemExit):
        main(["audit", "export", "--format", "jsonl"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert lines[1]["prev_hash"] == lines[0]["hash"]


def test_refused_and_accepted_calls_are_audited_without_secrets(gz: Gazette) -> None:
    minted = gz.auth.add_token(gz.local_owner(), name="audited")
    with TestClient(create_app(gz)) as client:
        client.get("/v1/info", headers={"X-API-Key": minted.token})
        client.get("/v1/info", headers={"Authorization": "Bearer " + minted.token[:-1] + "x"})
        client.get("/v1/info")
    entries = gz.audit.list_entries(gz.local_owner(), limit=20)
    # Batched appends may interleave differently under load; what matters is that each is there.
    events = sorted((entry.event, entry.outcome) for entry in entries)
    assert events == [
        ("auth.failure", "malformed"),
        ("auth.failure", "missing"),
        ("auth.success", "ok"),
        ("token.created", "ok"),
    ]
    failure = next(entry for entry in entries if entry.outcome == "malformed")
    assert failure.actor_id == minted.info.prefix
    assert minted.token not in json.dumps([entry.model_dump(mode="json") for entry in entries])


@pytest.mark.anyio
async def test_every_mcp_tool_call_is_audited_with_digest_outcome_and_latency(sqlite_gz: Gazette) -> None:
    from mcp import Client

    from gazette.mcp_server import build_mcp_server

    async with Client(build_mcp_server(sqlite_gz, transport="stdio")) as client:
        await client.call_tool("gazette_info", {})
        await client.call_tool("gazette_info", {"workspace": "missing"})
    calls = sqlite_gz.audit.list_entries(sqlite_gz.local_owner(), event="mcp.tool_call")
    assert [(c.target, c.outcome, c.actor_kind) for c in reversed(calls)] == [
        ("gazette_info", "ok", "local"),
        ("gazette_info", "not_found", "local"),
    ]
    assert calls[0].payload["arguments_digest"] != calls[1].payload["arguments_digest"]
    assert calls[0].payload["latency_ms"] >= 0


def test_queued_entries_are_appended_within_the_flush_interval_and_on_close(store_url: str) -> None:
    from gazette.settings import load_settings

    writer = Gazette(load_settings(store={"url": store_url}).settings)
    reader = Gazette(load_settings(store={"url": store_url}).settings)
    writer.audit.record("test.queued")
    deadline = time.monotonic() + 5
    while not reader.audit.list_entries(reader.local_owner(), event="test.queued"):
        assert time.monotonic() < deadline, "the background writer did not append in time"
    writer.audit.record("test.on_close")
    writer.close()
    assert reader.audit.list_entries(reader.local_owner(), event="test.on_close")
    reader.close()


def test_successful_authentications_are_tallied_per_principal_and_surface(sqlite_gz: Gazette) -> None:
    minted = sqlite_gz.auth.add_token(sqlite_gz.local_owner(), name="busy")
    headers = {"authorization": f"Bearer {minted.token}"}
    for _ in range(3):
        sqlite_gz.authenticator.authenticate(headers.get, surface="http")
    sqlite_gz.authenticator.authenticate(headers.get, surface="grpc")
    entries = sqlite_gz.audit.list_entries(sqlite_gz.local_owner(), event="auth.success")
    assert sorted((e.payload["surface"], e.payload["count"]) for e in entries) == [("grpc", 1), ("http", 3)]
    assert sqlite_gz.audit.verify(sqlite_gz.local_owner()).ok
