"""Rate limits: rpm moving windows (in process and on Redis), rpd quotas in the store, lockouts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import grpc
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from gazette.api import create_app
from gazette.app import Gazette
from gazette.auth import Principal
from gazette.errors import RateLimitedError
from gazette.grpc_server import GrpcServer
from gazette.grpc_server.protos import gazette_pb2, gazette_pb2_grpc
from gazette.settings import load_settings
from gazette.store.tables import personal_access_tokens
from gazette.store.types import utcnow


def principal_for(gz: Gazette, **limits: int) -> Principal:
    minted = gz.auth.add_token(gz.local_owner(), name="limited", **limits)  # type: ignore[arg-type]
    return gz.auth.authenticate(minted.token)


def race(gz: Gazette, principal: Principal, attempts: int = 50) -> int:
    allowed = 0
    lock = threading.Lock()
    barrier = threading.Barrier(attempts)

    def attempt() -> None:
        nonlocal allowed
        barrier.wait()
        try:
            gz.rate_limits.consume(principal)
        except RateLimitedError:
            return
        with lock:
            allowed += 1

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return allowed


@pytest.fixture
def limited_client(sqlite_gz: Gazette) -> Iterator[tuple[TestClient, str]]:
    token = sqlite_gz.auth.add_token(sqlite_gz.local_owner(), name="three", rpm=3).token
    with TestClient(create_app(sqlite_gz), headers={"X-API-Key": token}) as client:
        yield client, token


def test_every_authenticated_answer_carries_rate_limit_headers(limited_client: tuple[TestClient, str]) -> None:
    client, _ = limited_client
    remaining = []
    for _ in range(3):
        response = client.get("/v1/auth/whoami")
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == "3"
        assert response.headers["ratelimit-policy"] == '"rpm";q=3;w=60'
        assert response.headers["ratelimit"].startswith('"rpm";r=')
        assert int(response.headers["x-ratelimit-reset"]) > 0
        remaining.append(int(response.headers["x-ratelimit-remaining"]))
    assert remaining == [2, 1, 0]


def test_the_rpm_limit_answers_429_with_retry_after_and_the_error_shape(
    limited_client: tuple[TestClient, str], sqlite_gz: Gazette
) -> None:
    client, _ = limited_client
    for _ in range(3):
        client.get("/v1/auth/whoami")
    refused = client.get("/v1/auth/whoami")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining"] == "0"
    [denial] = sqlite_gz.audit.list_entries(sqlite_gz.local_owner(), event="rate_limit.denied")
    assert denial.outcome == "rate_limited"


def test_the_daily_quota_survives_a_restart_and_resets_at_midnight_utc(gz: Gazette, store_url: str) -> None:
    principal = principal_for(gz, rpd=2)
    assert [quota.remaining for quota in gz.rate_limits.consume(principal) if quota.name == "rpd"] == [1]
    gz.rate_limits.consume(principal)
    restarted = Gazette(load_settings(store={"url": store_url}).settings)  # fresh in-process counters
    with pytest.raises(RateLimitedError, match="daily limit of 2") as caught:
        restarted.rate_limits.consume(principal)
    assert caught.value.retry_after <= 86400
    with restarted.store.begin() as conn:
        conn.execute(update(personal_access_tokens).values(requests_day=(utcnow() - timedelta(days=1)).date()))
    restarted.rate_limits.consume(principal)  # a new day
    restarted.close()


def test_racing_requests_never_exceed_the_daily_quota(gz: Gazette) -> None:
    assert race(gz, principal_for(gz, rpd=20)) == 20


def test_racing_requests_never_exceed_rpm_in_process(sqlite_gz: Gazette) -> None:
    assert race(sqlite_gz, principal_for(sqlite_gz, rpm=20)) == 20


@pytest.mark.redis
def test_racing_requests_never_exceed_rpm_on_redis_shared_by_replicas(redis_url: str, home: object) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    settings = load_settings(rate_limit={"url": redis_url}).settings
    first, second = Gazette(settings), Gazette(settings)  # two replicas, one Redis
    principal = principal_for(first, rpm=20)
    assert race(first, principal, attempts=25) + race(second, principal, attempts=25) == 20
    usage = first.rate_limits.usage(first.local_owner())
    assert [(row.rpm_limit, row.rpm_used) for row in usage] == [(20, 20)]
    first.close()
    second.close()


def test_failed_authentications_lock_the_client_out(home: object) -> None:
    gz = Gazette(load_settings(rate_limit={"failed_auth_per_minute": 3}).settings)
    token = gz.auth.add_token(gz.local_owner(), name="good").token
    with TestClient(create_app(gz)) as client:
        for _ in range(3):
            assert client.get("/v1/auth/whoami", headers={"X-API-Key": "gzt_wrong"}).status_code == 401
        locked = client.get("/v1/auth/whoami", headers={"X-API-Key": token})
    assert locked.status_code == 429
    assert "too many failed authentications" in locked.json()["error"]["message"]
    assert int(locked.headers["retry-after"]) >= 1
    assert gz.audit.list_entries(gz.local_owner(), event="auth.locked_out")
    gz.close()


@pytest.mark.anyio
async def test_grpc_answers_resource_exhausted_with_the_retry_delay(sqlite_gz: Gazette) -> None:
    token = sqlite_gz.auth.add_token(sqlite_gz.local_owner(), name="grpc-limited", rpm=1).token
    server = GrpcServer(sqlite_gz, "127.0.0.1", 0)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = gazette_pb2_grpc.GazetteServiceStub(channel)
            await stub.GetInfo(gazette_pb2.GetInfoRequest(), metadata=(("x-api-key", token),))
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.GetInfo(gazette_pb2.GetInfoRequest(), metadata=(("x-api-key", token),))
    finally:
        await server.stop(0)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    trailing = dict(caught.value.trailing_metadata() or ())
    assert 1 <= int(trailing["retry-after"]) <= 60
    assert json.loads(trailing["gazette-error-bin"])["error"]["code"] == "rate_limited"


def test_auth_limits_shows_daily_use_against_the_limit(sqlite_gz: Gazette, capsys: pytest.CaptureFixture[str]) -> None:
    from gazette.cli import main

    principal = principal_for(sqlite_gz, rpd=10)
    for _ in range(4):
        sqlite_gz.rate_limits.consume(principal)
    with pytest.raises(SystemExit):
        main(["auth", "limits", "--json"])
    [row] = json.loads(capsys.readouterr().out)
    assert (row["rpd_limit"], row["rpd_used"], row["rpm_limit"]) == (10, 4, 600)
    with pytest.raises(SystemExit):
        main(["auth", "limits"])
    assert "4/10" in capsys.readouterr().out
