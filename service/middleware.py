"""Pure ASGI middleware: the request context (id, access log, metrics, last-resort 500),
the body size limit, and CORS whose refusals are problems too."""

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas import LimitExceeded
from service import metrics
from service.errors import internal_error, problem

logger = logging.getLogger("service")
access_logger = logging.getLogger("service.access")

REQUEST_ID_HEADER = "X-Request-ID"
CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client gone before the response
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")


class RequestContextMiddleware:
    """Every request gets an id (the client's X-Request-ID, or a new one), echoed on the
    response; is counted and timed in the metrics and logged as one line; and an exception
    nothing else handled becomes a logged 500 problem. A client that disconnects is not an
    error: it is logged with status 499."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            status = status or CLIENT_CLOSED_REQUEST
        except Exception:
            logger.exception("unexpected error handling request %s %s (request id %s)",
                             scope["method"], scope["path"], request_id)
            if status is not None:
                raise
            await internal_error(request_id)(scope, receive, send_with_id)
        finally:
            _observe(scope, status or 500, time.perf_counter() - start, request_id)


def _observe(scope: Scope, status: int, seconds: float, request_id: str) -> None:
    route = scope.get("route")
    route = getattr(route, "path", "unmatched")
    metrics.REQUESTS.labels(route, scope["method"], str(status)).inc()
    metrics.REQUEST_SECONDS.labels(route, scope["method"]).observe(seconds)
    client = scope.get("client")
    access_logger.info("%s %s %d", scope["method"], scope["path"], status, extra={
        "method": scope["method"], "path": scope["path"], "status": status,
        "duration_ms": round(seconds * 1000, 3), "request_id": request_id,
        "client": f"{client[0]}:{client[1]}" if client else None})


class BodySizeLimitMiddleware:
    """Refuses a body over `max_bytes` while it streams in: reading it raises LimitExceeded
    at once when Content-Length says so, else at the first chunk over the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = Headers(scope=scope).get("content-length", "")
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise self.too_large()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self.too_large()
            return message

        await self.app(scope, limited_receive, send)

    def too_large(self) -> LimitExceeded:
        return LimitExceeded("max_body_bytes", f"the request body is over the limit of "
                                               f"{self.max_bytes} bytes")


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as a problem (400)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        headers = {k: v for k, v in response.headers.items()
                   if k.lower().startswith("access-control-")}
        return problem(None, response.status_code, "CORS preflight refused",
                       bytes(response.body).decode(), headers=headers)
