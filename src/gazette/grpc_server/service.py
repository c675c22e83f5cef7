"""`GazetteService`: thin adapters over the capability services."""

from __future__ import annotations

import anyio.to_thread
import grpc

from gazette.app import Gazette
from gazette.auth import Principal
from gazette.grpc_server.errors import rpc
from gazette.grpc_server.protos import gazette_pb2, gazette_pb2_grpc


class GazetteServicer(gazette_pb2_grpc.GazetteServiceServicer):
    def __init__(self, gz: Gazette) -> None:
        self.gz = gz

    @rpc("GetInfo")
    async def GetInfo(  # noqa: N802 - the name is the RPC's
        self, request: gazette_pb2.GetInfoRequest, context: grpc.aio.ServicerContext, principal: Principal
    ) -> gazette_pb2.Info:
        info = await anyio.to_thread.run_sync(self.gz.system.info, principal, request.workspace or None)
        return gazette_pb2.Info(
            name=info.name,
            version=info.version,
            workspace=gazette_pb2.Workspace(slug=info.workspace.slug, name=info.workspace.name),
            store=info.store,
            capabilities=info.capabilities,
        )
