"""Every error response, mapped in one place: an RFC 9457 `application/problem+json` body
whose `exception` names what `tf.gradients` raises for the same mistake."""

from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from core import (
    DeadlineExceeded,
    GradientTypeError,
    GraphError,
    NoGradientError,
    ResourceLimitError,
)
from schemas import DecodeError
from service import metrics

PROBLEM_JSON = "application/problem+json"
WWW_AUTHENTICATE = 'Bearer realm="gradserve"'


class MissingApiKey(Exception):
    """An API key is required and the request has none."""


class WrongApiKey(Exception):
    """The request's API key is not one of the configured keys."""


class UnsupportedMediaType(Exception):
    """A body that is not JSON by its Content-Type, or compressed (Content-Encoding)."""


class Overloaded(Exception):
    """Every evaluation slot of this worker process is taken: refused, not queued."""


class UnknownGraph(Exception):
    """No prepared graph of that id in this worker (never registered here, or evicted)."""


class WarmingUp(Exception):
    """The worker has not finished its warm-up (service/warmup.py): not ready yet."""


@dataclass(frozen=True)
class ErrorKind:
    status: int
    title: str
    exception: str | None = None  # the builtin tf.gradients raises for the same mistake
    limit: str | None = None      # the limit refusing it (the error's own `limit` if it has one)
    retry: bool = False           # carries Retry-After (GRADSERVE_RETRY_AFTER_SECONDS)
    challenge: bool = False       # carries WWW-Authenticate


# The one table: exception class -> its problem. A subclass takes its nearest base's entry.
ERRORS: dict[type[Exception], ErrorKind] = {
    ResourceLimitError: ErrorKind(413, "Over the configured limits", "ValueError", limit="memory"),
    NoGradientError: ErrorKind(422, "No gradient defined", "LookupError"),
    GradientTypeError: ErrorKind(422, "Invalid argument type", "TypeError"),
    GraphError: ErrorKind(422, "Invalid argument", "ValueError"),
    DecodeError: ErrorKind(422, "Invalid tensor value", "ValueError"),
    MissingApiKey: ErrorKind(401, "API key required", challenge=True),
    WrongApiKey: ErrorKind(403, "API key not accepted", challenge=True),
    UnsupportedMediaType: ErrorKind(415, "Unsupported media type"),
    UnknownGraph: ErrorKind(404, "Unknown graph id"),
    Overloaded: ErrorKind(429, "Too many evaluations at once", limit="max_concurrent_evaluations",
                          retry=True),
    DeadlineExceeded: ErrorKind(503, "Evaluation timed out", limit="eval_timeout_seconds",
                                retry=True),
    WarmingUp: ErrorKind(503, "Warming up", retry=True),
}

_DESCRIPTIONS = {
    400: "Malformed request: not JSON, or not shaped as the schema says (ValueError).",
    401: "An API key is required (GRADSERVE_API_KEYS is set) and none was given.",
    403: "The API key given is not one of GRADSERVE_API_KEYS.",
    413: "The body, a tensor, a name, the graph or the memory an evaluation needs is over the "
         "configured limits (ValueError).",
    404: "No prepared graph of that id in the worker that answered (it never saw it, or "
         "evicted it): register it again with POST /v1/graphs, which gives the same id.",
    415: "The body is not JSON by its Content-Type, or is compressed (Content-Encoding).",
    422: "Invalid arguments or graph (ValueError), an op without a gradient on the path "
         "(LookupError), or a dtype tf.gradients refuses (TypeError).",
    429: "This worker evaluates GRADSERVE_MAX_CONCURRENT_EVALUATIONS requests already; retry "
         "after Retry-After seconds.",
    500: "Unexpected server error; the request id finds it in the server log.",
    503: "The evaluation ran past GRADSERVE_EVAL_TIMEOUT_SECONDS and was stopped; or, from "
         "/v1/health/ready, the worker is still warming up.",
}
_MAX_VALIDATION_ERRORS = 5
_MAX_DETAIL_CHARACTERS = 2000  # a detail quoting a huge input is cut here


def install(app: FastAPI) -> None:
    for exception in ERRORS:
        app.add_exception_handler(exception, _known_error)
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
    if len(detail) > _MAX_DETAIL_CHARACTERS:
        detail = detail[:_MAX_DETAIL_CHARACTERS] + " [...]"
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


async def _known_error(request: Request, error: Exception) -> JSONResponse:
    kind = next(ERRORS[cls] for cls in type(error).__mro__ if cls in ERRORS)
    limit = getattr(error, "limit", kind.limit)
    if limit is not None:
        metrics.LIMIT_REJECTIONS.labels(limit).inc()
    headers = {}
    if kind.retry:
        headers["Retry-After"] = str(request.app.state.settings.retry_after_seconds)
    if kind.challenge:
        headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return _respond(request, kind.status, kind.title, str(error), kind.exception,
                    getattr(error, "node", None), headers)


async def _malformed(request: Request, error: RequestValidationError) -> JSONResponse:
    return _respond(request, 400, "Malformed request", _summarize(error.errors()), "ValueError")


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    return _respond(request, error.status_code, HTTPStatus(error.status_code).phrase,
                    str(error.detail), headers=error.headers)


def _summarize(errors: Iterable[dict[str, Any]]) -> str:
    """`where: what` for the first few validation errors, without the (maybe huge) input."""
    errors = list(errors)
    lines = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
             for e in errors[:_MAX_VALIDATION_ERRORS]]
    if len(errors) > _MAX_VALIDATION_ERRORS:
        lines.append(f"and {len(errors) - _MAX_VALIDATION_ERRORS} more")
    return "; ".join(lines)
