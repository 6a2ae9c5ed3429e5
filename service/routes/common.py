"""What the compute routes share: the body read here and parsed in a worker thread (so
parsing, building and evaluating stay off the event loop) while holding one of the
worker's evaluation slots, Server-Timing, size checks."""

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from schemas import LimitExceeded
from service.errors import UnsupportedMediaType
from service.settings import Settings
from service.timing import ServerTiming

Model = TypeVar("Model", bound=BaseModel)


def request_body(schema: str) -> dict[str, Any]:
    """OpenAPI `openapi_extra` for a JSON body the route parses itself."""
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{schema}"}}}}}


async def timed_json(request: Request, settings: Settings,
                     compute: Callable[[bytes, Settings, ServerTiming], bytes]) -> Response:
    """`compute(body, settings, timing)` in a worker thread, as JSON with Server-Timing;
    Overloaded (429) at once when every evaluation slot of this worker is taken."""
    timing = request.state.server_timing = ServerTiming()
    check_json_body(request)
    body = await request.body()
    with request.app.state.evaluation_slots.take():
        content = await run_in_threadpool(compute, body, settings, timing)
    return Response(content, media_type="application/json",
                    headers={"Server-Timing": timing.header()})


def check_json_body(request: Request) -> None:
    """UnsupportedMediaType unless the body is JSON (or of no declared type) and uncompressed."""
    media_type = request.headers.get("content-type", "application/json").split(";")[0]
    media_type = media_type.strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"the body must be JSON (Content-Type: application/json), "
                                   f"not {media_type[:100]!r}")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        raise UnsupportedMediaType(f"Content-Encoding {encoding[:100]!r} is not supported: "
                                   f"send the body uncompressed")


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
