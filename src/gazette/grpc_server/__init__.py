"""gRPC surface: GazetteService, the standard health service and server reflection."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gazette.app import Gazette
from gazette.errors import PortInUseError, UnavailableError
from gazette.grpc_server.protos import gazette_pb2, gazette_pb2_grpc
from gazette.grpc_server.service import GazetteServicer
from gazette.net import port_free

SERVICE_NAME = gazette_pb2.DESCRIPTOR.services_by_name["GazetteService"].full_name


class GrpcServer:
    """A started-on-demand grpc.aio server; `port` is the bound port (useful with 0)."""

    def __init__(self, gz: Gazette, host: str, port: int) -> None:
        # SO_REUSEPORT would let two servers share a port silently; we want "port in use".
        self.server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        gazette_pb2_grpc.add_GazetteServiceServicer_to_server(GazetteServicer(gz), self.server)  # type: ignore[no-untyped-call]
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            self.server,
        )
        self.host = host
        self.port = self._bind(host, port)

    def _bind(self, host: str, port: int) -> int:
        hint = "--grpc-port (or GAZETTE_SERVER__GRPC_PORT)"
        if port and not port_free(host, port):
            raise PortInUseError(f"gRPC port {port} on {host} is already in use; choose another with {hint}")
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            bound = self.server.add_insecure_port(address)
        except RuntimeError as exc:
            raise UnavailableError(f"cannot listen for gRPC on {address}: {exc}; choose another with {hint}") from None
        if bound == 0:
            raise UnavailableError(f"cannot listen for gRPC on {address}; choose another with {hint}")
        return int(bound)

    async def start(self) -> None:
        await self.server.start()
        await self._set_serving(health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float = 5.0) -> None:
        await self._set_serving(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.stop(grace)

    async def _set_serving(self, status: int) -> None:
        for service in ("", SERVICE_NAME):
            await self.health.set(service, status)


__all__ = ["SERVICE_NAME", "GrpcServer"]
