"""What the compute routes share: the body read here and parsed in a worker thread (so
parsing, building and evaluating stay off the event loop; a small body, cheaper than the
hop, is computed on the loop) while holding one of the worker's evaluation slots, Server-Timing, size checks, and the transport: a JSON body, or
a binary one (docs/wire-extensions.md), a JSON header then raw tensor bytes, its length
in Inference-Header-Content-Length. The routes see only the JSON; the tensor values find
their bytes through `schemas.binary_data`."""

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from schemas import BINARY_ALIGNMENT, BinaryData, LimitExceeded, binary_data
from service import limits
from service.errors import UnsupportedMediaType
from service.settings import Settings
from service.timing import ServerTiming

Model = TypeVar("Model", bound=BaseModel)

BINARY_MEDIA_TYPE = "application/octet-stream"
HEADER_LENGTH = "Inference-Header-Content-Length"
_BINARY_MESSAGE = (
    f"The binary tensor extension: the JSON document (the header; its length in bytes in the "
    f"`{HEADER_LENGTH}` HTTP header), then the raw bytes its binary tensor values point to "
    f"with `binary_data_offset` and `binary_data_size` (little-endian, C order, counted from "
    f"the end of the header).")


def request_body(schema: str) -> dict[str, Any]:
    """OpenAPI `openapi_extra` for a body the route parses itself: JSON, or binary; and the
    binary form of the response."""
    json_schema = {"schema": {"$ref": f"#/components/schemas/{schema}"}}
    binary = {"schema": {"type": "string", "format": "binary", "description": _BINARY_MESSAGE}}
    return {
        "parameters": [{
            "name": HEADER_LENGTH, "in": "header", "required": False,
            "schema": {"type": "integer", "minimum": 0},
            "description": f"Binary bodies only ({BINARY_MEDIA_TYPE}): the length of the JSON "
                           f"header in bytes."}],
        "requestBody": {"required": True, "content": {
            "application/json": json_schema, BINARY_MEDIA_TYPE: binary}},
        "responses": {"200": {
            "headers": {HEADER_LENGTH: {"schema": {"type": "integer"}, "description":
                                        "Binary responses (`encoding` binary) only: the "
                                        "length of the JSON header."}},
            "content": {BINARY_MEDIA_TYPE: binary}}},
    }


async def timed_json(request: Request, settings: Settings,
                     compute: Callable[[bytes, Settings, ServerTiming], bytes]) -> Response:
    """`compute(header, settings, timing)` in a worker thread (on the event loop for a small
    body), with Server-Timing, as JSON, or as a binary message when the response has binary
    tensor values; Overloaded (429) at once when every evaluation slot of this worker is
    taken. `header` is the JSON of the body; a binary body's tensor bytes are read in place
    while `compute` runs."""
    request.state.server_timing = ServerTiming()
    header_length = check_body_type(request)
    body = await request.body() if header_length is None else await read_body(request)
    header, received = split_body(body, header_length)
    with request.app.state.evaluation_slots.take():
        content, sent = None, None
        # A small body is computed on the event loop: the hop to a worker thread and back
        # costs more than such a request (GRADSERVE_INLINE_BODY_BYTES; docs/operations.md),
        # unless its work turns out large (service/limits.py): then it starts over.
        if len(body) <= settings.inline_body_bytes:
            try:
                content, sent = _on_event_loop(compute, header, received, settings,
                                               request.state.server_timing)
            except limits.LeaveEventLoop:
                request.state.server_timing = ServerTiming()
        if content is None:
            content, sent = await run_in_threadpool(_compute_message, compute, header, received,
                                                    settings, request.state.server_timing)
    timing = request.state.server_timing
    headers = {"Server-Timing": timing.header()}
    if not sent.chunks:
        return Response(content, media_type="application/json", headers=headers)
    return BinaryResponse(content, sent, headers)


def _on_event_loop(*args: Any) -> tuple[bytes, BinaryData]:
    token = limits.on_event_loop.set(True)
    try:
        return _compute_message(*args)
    finally:
        limits.on_event_loop.reset(token)


def _compute_message(compute: Callable[[bytes, Settings, ServerTiming], bytes], header: bytes,
                     received: memoryview | None, settings: Settings,
                     timing: ServerTiming) -> tuple[bytes, BinaryData]:
    with binary_data(received) as data:
        return compute(header, settings, timing), data


class BinaryResponse(Response):
    """A binary message: the JSON header, padded with spaces to BINARY_ALIGNMENT, then the
    tensor bytes, sent from the arrays' own buffers (no copy into one body)."""
    media_type = BINARY_MEDIA_TYPE

    def __init__(self, header: bytes, data: BinaryData, headers: dict[str, str]):
        header += b" " * (-len(header) % BINARY_ALIGNMENT)
        self.chunks = [header, *data.chunks]
        super().__init__(headers={**headers, HEADER_LENGTH: str(len(header)),
                                  "Content-Length": str(len(header) + data.size)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        for chunk in self.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def check_body_type(request: Request) -> int | None:
    """The JSON header's length for a binary body, None for a JSON one; UnsupportedMediaType
    for any other type, or a compressed body."""
    media_type = request.headers.get("content-type", "application/json").split(";")[0]
    media_type = media_type.strip().lower()
    is_json = media_type == "application/json" or media_type.endswith("+json")
    if media_type != BINARY_MEDIA_TYPE and not is_json:
        raise UnsupportedMediaType(f"the body must be JSON (Content-Type: application/json) or "
                                   f"binary ({BINARY_MEDIA_TYPE}, with {HEADER_LENGTH}), not "
                                   f"{media_type[:100]!r}")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        raise UnsupportedMediaType(f"Content-Encoding {encoding[:100]!r} is not supported: "
                                   f"send the body uncompressed")
    header_length = request.headers.get(HEADER_LENGTH)
    if header_length is None and is_json:
        return None
    if not (header_length or "").isdecimal() or len(header_length) > 20:
        raise _malformed_header(f"a binary body needs its JSON header's length in bytes here, "
                                f"not {(header_length or '')[:40]!r}")
    return int(header_length)


async def read_body(request: Request) -> bytearray:
    """The body, copied from the ASGI messages as they come into one buffer of its
    Content-Length (Starlette's `request.body()` keeps the messages, then joins them: a second
    copy of a large body). The buffer is made after the first message is received: the body
    size limit (service/middleware.py) refuses a declared oversize body there."""
    message = await request.receive()
    declared = request.headers.get("content-length", "")
    body = bytearray(int(declared) if declared.isdecimal() else 0)
    size = 0
    while True:
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        body[size:size + len(chunk)] = chunk  # in place while it fits, else grows the buffer
        size += len(chunk)
        if not message.get("more_body", False):
            del body[size:]
            return body
        message = await request.receive()


def split_body(body: bytes | bytearray, header_length: int | None
               ) -> tuple[bytes, memoryview | None]:
    """The JSON header and the binary part, read-only (None for a JSON body)."""
    if header_length is None:
        return bytes(body), None
    if header_length > len(body):
        raise _malformed_header(f"the header length {header_length} is over the body's length, "
                                f"{len(body)} bytes")
    view = memoryview(body).toreadonly()
    return bytes(view[:header_length]), view[header_length:]


def _malformed_header(message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("header", HEADER_LENGTH), "msg": message,
                                    "type": "value_error"}])


def parse(model: type[Model], body: bytes) -> Model:
    """The body as `model`; a RequestValidationError (400) when it is not."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False, include_input=False)) from None


def check_sizes(values: list[np.ndarray | None], labels: list[str], max_elements: int) -> None:
    """LimitExceeded naming the first value (by its label) over the element limit."""
    for label, value in zip(labels, values, strict=True):
        if value is not None and value.size > max_elements:
            raise LimitExceeded("max_tensor_elements", f"{label} has {value.size} elements, "
                                                       f"over the limit of {max_elements}")
