"""gRPC mapping of the error tree: a status code, the message, and the error shape in trailing metadata."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio.to_thread
import grpc

from gazette import errors
from gazette.auth import Principal
from gazette.logs import REQUEST_ID_HEADER, get_logger, logged_call

log = get_logger("gazette.grpc")

ERROR_METADATA_KEY = "gazette-error-bin"
RETRY_AFTER_KEY = "retry-after"

GRPC_STATUS: dict[type[errors.GazetteError], grpc.StatusCode] = {
    errors.InvalidInputError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.AuthenticationError: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDeniedError: grpc.StatusCode.PERMISSION_DENIED,
    errors.NotFoundError: grpc.StatusCode.NOT_FOUND,
    errors.ConflictError: grpc.StatusCode.ALREADY_EXISTS,
    errors.RateLimitedError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.UnavailableError: grpc.StatusCode.UNAVAILABLE,
    errors.ProviderError: grpc.StatusCode.UNAVAILABLE,
    errors.JobError: grpc.StatusCode.ABORTED,
    errors.GazetteError: grpc.StatusCode.INTERNAL,
}


def status_for(exc: errors.GazetteError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in GRPC_STATUS:
            return GRPC_STATUS[cls]
    return grpc.StatusCode.INTERNAL


Req = TypeVar("Req")
Resp = TypeVar("Resp")
Handler = Callable[[Any, Req, grpc.aio.ServicerContext, Principal], Awaitable[Resp]]
Servicer = Callable[[Any, Req, grpc.aio.ServicerContext], Awaitable[Resp]]


def rpc(name: str) -> Callable[[Handler[Req, Resp]], Servicer[Req, Resp]]:
    """Wrap a servicer method: request id in and out, authentication from metadata, a log line,
    `GazetteError` mapped to a status. The method receives the caller's `Principal`.

    The servicer must have a `gz` attribute (the `Gazette`).
    """

    def decorate(fn: Handler[Req, Resp]) -> Servicer[Req, Resp]:
        @functools.wraps(fn)
        async def wrapper(self: Any, request: Req, context: grpc.aio.ServicerContext) -> Resp:
            metadata = {key.lower(): value for key, value in (context.invocation_metadata() or ())}
            incoming = metadata.get(REQUEST_ID_HEADER)
            started = time.perf_counter()
            principal: Principal | None = None
            with logged_call(
                log, "grpc call", request_id=incoming if isinstance(incoming, str) else None, method=name
            ) as call:
                await context.send_initial_metadata(((REQUEST_ID_HEADER, call.request_id),))
                try:
                    caller: Principal = await anyio.to_thread.run_sync(
                        functools.partial(
                            self.gz.authenticator.authenticate,
                            lambda key: _text(metadata.get(key)),
                            surface="grpc",
                            client=_peer_host(context.peer()),
                        )
                    )
                    principal = caller
                    await anyio.to_thread.run_sync(self.gz.rate_limits.consume, caller)
                    return await fn(self, request, context, caller)
                except errors.GazetteError as exc:
                    call.outcome = exc.code
                    trailing: list[tuple[str, str | bytes]] = [(ERROR_METADATA_KEY, json.dumps(exc.to_dict()).encode())]
                    if isinstance(exc, errors.RateLimitedError):
                        trailing.append((RETRY_AFTER_KEY, str(max(1, round(exc.retry_after)))))
                    context.set_trailing_metadata(tuple(trailing))
                    await context.abort(status_for(exc), exc.message)
                    raise  # unreachable: abort raises
                finally:
                    if principal is not None:  # failed authentications are audited by the authenticator
                        await anyio.to_thread.run_sync(
                            functools.partial(
                                self.gz.audit.record,
                                "grpc.call",
                                principal=principal,
                                target=name,
                                outcome=call.outcome,
                                payload={"latency_ms": round((time.perf_counter() - started) * 1000, 2)},
                            )
                        )

        return wrapper

    return decorate


def _peer_host(peer: str | None) -> str | None:
    """`ipv4:127.0.0.1:5000` / `ipv6:[::1]:5000` -> the address alone."""
    if not peer or ":" not in peer:
        return None
    address = peer.split(":", 1)[1]
    return address.rsplit(":", 1)[0].strip("[]")


def _text(value: str | bytes | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
