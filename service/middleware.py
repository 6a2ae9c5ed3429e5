"""Pure ASGI middleware: the request context (id, last-resort 500) and the body size limit."""

import logging
import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import BodyTooLarge, internal_error

logger = logging.getLogger("service")

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")


class RequestContextMiddleware:
    """Every request gets an id (the client's X-Request-ID, or a new one), echoed on the
    response; an exception nothing else handled becomes a logged 500 problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unexpected error handling request %s %s (request id %s)",
                             scope["method"], scope["path"], request_id)
            if response_started:
                raise
            await internal_error(request_id)(scope, receive, send_with_id)


class BodySizeLimitMiddleware:
    """Refuses a body over `max_bytes` while it streams in: reading it raises BodyTooLarge
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
                raise BodyTooLarge(self.max_bytes)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)
