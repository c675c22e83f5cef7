"""HTTP mapping of the error tree: `{"error": {"code", "message", "details"}}` for every failure."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gazette import errors
from gazette.logs import get_logger

log = get_logger("gazette.api")

HTTP_STATUS: dict[type[errors.GazetteError], int] = {
    errors.InvalidInputError: 400,
    errors.AuthenticationError: 401,
    errors.PermissionDeniedError: 403,
    errors.NotFoundError: 404,
    errors.ConflictError: 409,
    errors.RateLimitedError: 429,
    errors.JobError: 500,
    errors.ProviderError: 502,
    errors.UnavailableError: 503,
    errors.GazetteError: 500,
}

_STARLETTE_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "permission_denied"}


def status_for(exc: errors.GazetteError) -> int:
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def error_response(exc: errors.GazetteError) -> JSONResponse:
    headers = {}
    if isinstance(exc, errors.RateLimitedError):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return JSONResponse(exc.to_dict(), status_code=status_for(exc), headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.GazetteError)
    async def _gazette_error(_request: Request, exc: errors.GazetteError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        message = "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "invalid request"
        body = errors.InvalidInputError(message, details={"errors": problems}).to_dict()
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STARLETTE_CODES.get(exc.status_code, "http_error")
        body = {"error": {"code": code, "message": str(exc.detail), "details": {}}}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _internal_error(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        body = errors.GazetteError("internal error; see the server log").to_dict()
        return JSONResponse(body, status_code=500)
