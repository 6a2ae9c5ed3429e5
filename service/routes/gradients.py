"""POST /v1/gradients: tf.gradients on a posted graph, evaluated with the posted feeds.

The body is read here and parsed in a worker thread (pydantic's JSON parser, far faster
than json.loads plus validation), so parsing, building and evaluating all stay off the
event loop and `parse` in Server-Timing covers body to graph.
"""

import numpy as np
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

import core
from schemas import GradientRequest, GradientResponse, decode_request, encode_response
from service.errors import problem_responses
from service.settings import Settings, SettingsDep
from service.timing import ServerTiming

router = APIRouter(tags=["gradients"])

_REQUEST_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/GradientRequest"}}}}}


@router.post("/v1/gradients", operation_id="computeGradients", response_model=GradientResponse,
             responses=problem_responses(400, 413, 422, 500), openapi_extra=_REQUEST_BODY,
             summary="The gradients of sum(ys) with respect to each of xs, as tf.gradients")
async def compute_gradients(request: Request, settings: SettingsDep) -> Response:
    timing = request.state.server_timing = ServerTiming()
    body = await request.body()
    content = await run_in_threadpool(_compute, body, settings, timing)
    return Response(content, media_type="application/json",
                    headers={"Server-Timing": timing.header()})


def _compute(body: bytes, settings: Settings, timing: ServerTiming) -> bytes:
    with timing.measure("parse"):
        try:
            request = GradientRequest.model_validate_json(body)
        except ValidationError as error:
            raise RequestValidationError(
                error.errors(include_url=False, include_input=False)) from None
        call = decode_request(request, settings.max_nodes, settings.max_tensor_elements)
        graph = core.Graph.from_node_defs(call.node_defs)
        ys, xs, stop_gradients = ([graph.tensor(ref) for ref in refs]
                                  for refs in (call.ys, call.xs, call.stop_gradients))
        grad_ys = None if call.grad_ys is None else [
            graph.tensor(g) if isinstance(g, str) else g for g in call.grad_ys]
        feeds = {graph.tensor(ref): value for ref, value in call.feeds.items()}
    with timing.measure("build"):
        grads = core.gradients(graph, ys, xs, grad_ys, stop_gradients=stop_gradients,
                               **call.options)
    with timing.measure("eval"):
        fetches = [g for g in grads if g is not None]
        values = iter(core.evaluate(graph, fetches, feeds) if fetches else ())
        results = [None if g is None else next(values) for g in grads]
        _check_sizes(results, call.xs, settings.max_tensor_elements)
    with timing.measure("encode"):
        if not call.return_graph:
            return encode_response(results, call.encoding)
        return encode_response(results, call.encoding, graph.to_node_defs(),
                               [None if g is None else g.name for g in grads])


def _check_sizes(results: list[np.ndarray | None], xs: list[str], max_elements: int) -> None:
    for x, value in zip(xs, results, strict=True):
        if value is not None and value.size > max_elements:
            raise core.ResourceLimitError(
                f"the gradient for {x!r} has {value.size} elements, over the limit of "
                f"{max_elements} (GRADSERVE_MAX_TENSOR_ELEMENTS)")
