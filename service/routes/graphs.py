"""Prepared graphs (an extension): POST /v1/graphs registers a program under its content
id, built once; POST /v1/graphs/{id}/gradients evaluates it with new feeds. A worker that
does not have the id (another replica, or evicted) answers 404: the client registers again,
and gets the same id. No sticky sessions needed."""

from functools import partial

from fastapi import APIRouter, Path, Request, Response

from core.program import ProgramCache
from schemas import (
    GradientResponse,
    GraphRegistration,
    PreparedGradientRequest,
    RegisteredGraph,
    decode_prepared_request,
    decode_program,
    encode_registered,
    encode_response,
)
from service import programs
from service.errors import UnknownGraph, problem_responses
from service.routes.common import parse, request_body, timed_json
from service.security import ApiKeyRoute
from service.settings import Settings
from service.timing import ServerTiming

router = APIRouter(prefix="/v1/graphs", tags=["graphs"], route_class=ApiKeyRoute)
GraphId = Path(description="The id POST /v1/graphs gave.")


@router.post("", operation_id="registerGraph", response_model=RegisteredGraph,
             status_code=201,
             responses={200: {"description": "Already registered with this worker.",
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/RegisteredGraph"}}}},
                        **problem_responses(400, 401, 403, 413, 415, 422, 429, 500)},
             openapi_extra={key: value for key, value in request_body("GraphRegistration").items()
                            if key != "responses"},  # its responses hold no tensor values
             summary="Registers a program (a gradients request without feeds) under its "
                     "content id, building it once")
async def register_graph(request: Request) -> Response:
    cache = programs.cache_of(request)
    known: set[str] = set()
    response = await timed_json(request, request.app.state.settings,
                                partial(_register, cache, known))
    response.status_code = 200 if known else 201
    return response


@router.post("/{graph_id}/gradients", operation_id="computePreparedGradients",
             response_model=GradientResponse,
             responses=problem_responses(400, 401, 403, 404, 413, 415, 422, 429, 500, 503),
             openapi_extra=request_body("PreparedGradientRequest"),
             summary="The gradients and fetches of a registered program, given new feeds")
async def compute_prepared_gradients(request: Request, graph_id: str = GraphId) -> Response:
    return await timed_json(request, request.app.state.settings,
                            partial(_evaluate, programs.cache_of(request), graph_id))


@router.delete("/{graph_id}", operation_id="deleteGraph", status_code=204,
               responses=problem_responses(401, 403, 404),
               summary="Forgets a registered program in the worker that answers")
async def delete_graph(request: Request, graph_id: str = GraphId) -> Response:
    if not programs.cache_of(request).remove(graph_id):
        raise UnknownGraph(f"this worker has no prepared graph {graph_id[:100]!r}")
    return Response(status_code=204)


def _register(cache: ProgramCache, known: set[str], body: bytes, settings: Settings,
              timing: ServerTiming) -> bytes:
    """Notes the id in `known` when the program was registered already."""
    with timing.measure("parse"):
        request = parse(GraphRegistration, body)
        program = programs.posted(cache, request.program_key(),
                                  lambda: decode_program(request, settings.decode_limits))
        if program.id in cache:
            known.add(program.id)
    build, _ = programs.compute(cache, program, None, settings, timing)
    with timing.measure("encode"):
        return encode_registered(program, build)


def _evaluate(cache: ProgramCache, graph_id: str, body: bytes, settings: Settings,
              timing: ServerTiming) -> bytes:
    with timing.measure("parse"):
        call = decode_prepared_request(parse(PreparedGradientRequest, body),
                                       settings.decode_limits)
        program = programs.registered(cache, graph_id)
    _, results = programs.compute(cache, program, call.feeds, settings, timing)
    with timing.measure("encode"):
        return encode_response(results.gradients, call.encoding,
                               fetched=results.fetched if program.fetches else None)
