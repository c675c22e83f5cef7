"""gRPC: GazetteService, the standard health service and reflection, over a real channel."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gazette.app import Gazette
from gazette.errors import PortInUseError
from gazette.grpc_server import SERVICE_NAME, GrpcServer
from gazette.grpc_server.protos import gazette_pb2, gazette_pb2_grpc
from gazette.net import bind_tcp


@pytest.fixture
def token(sqlite_gz: Gazette) -> str:
    return sqlite_gz.auth.add_token(sqlite_gz.local_owner(), name="grpc", scopes=["memory:read"]).token


@pytest.fixture
async def channel(sqlite_gz: Gazette) -> AsyncIterator[grpc.aio.Channel]:
    server = GrpcServer(sqlite_gz, "127.0.0.1", 0)
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as chan:
        yield chan
    await server.stop(0)


@pytest.mark.anyio
async def test_health_check_answers_serving(channel: grpc.aio.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", SERVICE_NAME):
        response = await stub.Check(health_pb2.HealthCheckRequest(service=service))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.anyio
async def test_reflection_lists_the_services(channel: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def requests() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    names = set()
    async for response in stub.ServerReflectionInfo(requests()):
        names |= {service.name for service in response.list_services_response.service}
    assert {"gazette.v1.GazetteService", "grpc.health.v1.Health"} <= names


@pytest.mark.anyio
async def test_get_info_returns_the_workspace_and_a_request_id(channel: grpc.aio.Channel, token: str) -> None:
    call = gazette_pb2_grpc.GazetteServiceStub(channel).GetInfo(
        gazette_pb2.GetInfoRequest(), metadata=(("x-request-id", "grpc-test-1"), ("x-api-key", token))
    )
    info = await call
    assert info.workspace.slug == "default"
    assert info.store == "sqlite"
    assert ("x-request-id", "grpc-test-1") in tuple(await call.initial_metadata())


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("metadata", "reason"),
    [((), "missing"), ((("authorization", "Bearer gzt_bad"),), "malformed")],
)
async def test_get_info_without_a_valid_credential_is_unauthenticated(
    channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...], reason: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gazette_pb2_grpc.GazetteServiceStub(channel).GetInfo(gazette_pb2.GetInfoRequest(), metadata=metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    error = json.loads(dict(caught.value.trailing_metadata() or ())["gazette-error-bin"])
    assert error["error"]["details"]["reason"] == reason


@pytest.mark.anyio
async def test_a_taken_grpc_port_is_reported_with_the_flag(sqlite_gz: Gazette) -> None:
    taken = bind_tcp("127.0.0.1", 0, hint="")
    try:
        with pytest.raises(PortInUseError, match="--grpc-port"):
            GrpcServer(sqlite_gz, "127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()


@pytest.mark.anyio
async def test_grpc_calls_are_audited(channel: grpc.aio.Channel, token: str, sqlite_gz: Gazette) -> None:
    await gazette_pb2_grpc.GazetteServiceStub(channel).GetInfo(
        gazette_pb2.GetInfoRequest(), metadata=(("x-api-key", token),)
    )
    [call] = sqlite_gz.audit.list_entries(sqlite_gz.local_owner(), event="grpc.call")
    assert (call.target, call.outcome, call.actor_kind) == ("GetInfo", "ok", "token")
    [success] = sqlite_gz.audit.list_entries(sqlite_gz.local_owner(), event="auth.success")
    assert success.payload["surface"] == "grpc"
