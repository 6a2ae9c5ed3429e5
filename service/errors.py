"""Every error response, mapped in one place: an RFC 9457 `application/problem+json` body
whose `exception` names what `tf.gradients` raises for the same mistake."""

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from core import GradientTypeError, GraphError, NoGradientError, ResourceLimitError
from schemas import DecodeError

PROBLEM_JSON = "application/problem+json"

# exception -> (status, title, the builtin exception tf.gradients raises)
CLIENT_ERRORS: dict[type[Exception], tuple[int, str, str]] = {
    ResourceLimitError: (413, "Over the configured limits", "ValueError"),
    NoGradientError: (422, "No gradient defined", "LookupError"),
    GradientTypeError: (422, "Invalid argument type", "TypeError"),
    GraphError: (422, "Invalid argument", "ValueError"),
    DecodeError: (422, "Invalid tensor value", "ValueError"),
}

_DESCRIPTIONS = {
    400: "Malformed request: not JSON, or not shaped as the schema says (ValueError).",
    413: "The body, a tensor or the graph is over the configured limits (ValueError).",
    422: "Invalid arguments or graph (ValueError), an op without a gradient on the path "
         "(LookupError), or a dtype tf.gradients refuses (TypeError).",
    500: "Unexpected server error; the request id finds it in the server log.",
}
_MAX_VALIDATION_ERRORS = 5


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int):
        super().__init__(413, f"The request body is over the limit of {max_bytes} bytes "
                              f"(GRADSERVE_MAX_BODY_BYTES).")


def install(app: FastAPI) -> None:
    for exception in CLIENT_ERRORS:
        app.add_exception_handler(exception, _client_error)
    app.add_exception_handler(RequestValidationError, _malformed)
    app.add_exception_handler(HTTPException, _http_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for error statuses with a Problem body."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {status: {"description": _DESCRIPTIONS[status],
                     "content": {PROBLEM_JSON: {"schema": schema}}} for status in statuses}


def problem(request_id: str | None, status: int, title: str, detail: str,
            exception: str | None = None, node: str | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "exception": exception, "node": node, "request_id": request_id}
    return JSONResponse({k: v for k, v in body.items() if v is not None}, status_code=status,
                        media_type=PROBLEM_JSON, headers=headers)


def internal_error(request_id: str) -> JSONResponse:
    return problem(request_id, 500, "Internal server error",
                   f"An unexpected error occurred; the server log has it under request id "
                   f"{request_id}.")


def _respond(request: Request, status: int, title: str, detail: str,
             exception: str | None = None, node: str | None = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
    headers = dict(headers or {})
    timing = getattr(request.state, "server_timing", None)
    if timing is not None:
        headers["Server-Timing"] = timing.header()
    return problem(getattr(request.state, "request_id", None), status, title, detail,
                   exception, node, headers)


async def _client_error(request: Request, error: Exception) -> JSONResponse:
    status, title, exception = next(entry for cls, entry in CLIENT_ERRORS.items()
                                    if isinstance(error, cls))
    return _respond(request, status, title, str(error), exception, getattr(error, "node", None))


async def _malformed(request: Request, error: RequestValidationError) -> JSONResponse:
    return _respond(request, 400, "Malformed request", _summarize(error.errors()), "ValueError")


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    exception = "ValueError" if isinstance(error, BodyTooLarge) else None
    return _respond(request, error.status_code, HTTPStatus(error.status_code).phrase,
                    str(error.detail), exception, headers=error.headers)


def _summarize(errors: Iterable[dict[str, Any]]) -> str:
    """`where: what` for the first few validation errors, without the (maybe huge) input."""
    errors = list(errors)
    lines = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
             for e in errors[:_MAX_VALIDATION_ERRORS]]
    if len(errors) > _MAX_VALIDATION_ERRORS:
        lines.append(f"and {len(errors) - _MAX_VALIDATION_ERRORS} more")
    return "; ".join(lines)
