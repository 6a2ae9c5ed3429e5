"""POST /v1/run (an extension): Session.run as a service, for runs without gradients."""

from fastapi import APIRouter, Request, Response

import core
from schemas import RunRequest, RunResponse, decode_run_request, encode_run_response
from service.errors import problem_responses
from service.routes.common import check_sizes, parse, request_body, timed_json
from service.settings import Settings, SettingsDep
from service.timing import ServerTiming

router = APIRouter(tags=["run"])


@router.post("/v1/run", operation_id="run", response_model=RunResponse,
             responses=problem_responses(400, 413, 422, 500),
             openapi_extra=request_body("RunRequest"),
             summary="The values of fetches given feeds, as Session.run")
async def run(request: Request, settings: SettingsDep) -> Response:
    return await timed_json(request, settings, _run)


def _run(body: bytes, settings: Settings, timing: ServerTiming) -> bytes:
    with timing.measure("parse"):
        call = decode_run_request(parse(RunRequest, body), settings.max_nodes,
                                  settings.max_tensor_elements)
        graph = core.Graph.from_node_defs(call.node_defs)
        fetches = [graph.tensor(ref) for ref in call.fetches]
        feeds = {graph.tensor(ref): value for ref, value in call.feeds.items()}
    with timing.measure("eval"):
        values = core.evaluate(graph, fetches, feeds)
        check_sizes(values, [f"fetch {ref!r}" for ref in call.fetches],
                    settings.max_tensor_elements)
    with timing.measure("encode"):
        return encode_run_response(values, call.encoding)
