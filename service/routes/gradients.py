"""POST /v1/gradients: tf.gradients on a posted graph, evaluated with the posted feeds.

Extensions (docs/wire-extensions.md): `fetches` evaluated in the same pass, `evaluate:
false` to build only, `return_graph: "added"` for just the gradient nodes. A program posted
again (same graph, ys, xs, options) reuses its build (service/programs.py).
"""

from functools import partial

from fastapi import APIRouter, Request, Response

from core.program import ProgramCache
from core.sparse import IndexedSlices
from schemas import (
    GradientRequest,
    GradientResponse,
    decode_program,
    decode_request,
    encode_outputs,
    encode_response,
)
from service import programs
from service.errors import problem_responses
from service.routes.common import parse, request_body, timed_json
from service.security import ApiKeyRoute
from service.settings import Settings
from service.timing import ServerTiming

router = APIRouter(tags=["gradients"], route_class=ApiKeyRoute)


@router.post("/v1/gradients", operation_id="computeGradients", response_model=GradientResponse,
             responses=problem_responses(400, 401, 403, 413, 415, 422, 429, 500, 503),
             openapi_extra=request_body("GradientRequest"),
             summary="The gradients of sum(ys) with respect to each of xs, as tf.gradients")
async def compute_gradients(request: Request) -> Response:
    return await timed_json(request, request.app.state.settings,
                            partial(_compute, programs.cache_of(request)))


def _compute(cache: ProgramCache, body: bytes, settings: Settings, timing: ServerTiming) -> bytes:
    with timing.measure("parse"):
        request = parse(GradientRequest, body)
        program = programs.posted(cache, request.program_key(),
                                  lambda: decode_program(request, settings.decode_limits))
        call = decode_request(request, settings.decode_limits, program)
    # A returned graph is not specialised to the fed shapes: it would carry them.
    build, results = programs.compute(cache, program, call.feeds if call.evaluate else None,
                                      settings, timing, specialize=not call.return_graph)
    with timing.measure("encode"):
        gradients = None if results is None else results.gradients
        fetched = results.fetched if results is not None and program.fetches else None
        if not call.return_graph:
            return encode_response(gradients, call.encoding, fetched=fetched)
        added_only = call.return_graph == "added"
        first = build.graph_size if added_only else 0
        return encode_response(
            gradients, call.encoding, build.graph.to_node_defs()[first:],
            [_refs(g) for g in build.gradients], fetched=fetched,
            outputs=encode_outputs(build.graph.nodes[first:]) if added_only else None)


def _refs(grad) -> str | dict[str, str] | None:
    if isinstance(grad, IndexedSlices):
        return {"indices": grad.indices.name, "values": grad.values.name,
                "dense_shape": grad.dense_shape.name}
    return None if grad is None else grad.name
