"""POST /v1/run (an extension): Session.run as a service, for runs without gradients."""

from fastapi import APIRouter, Depends, Request, Response

from schemas import RunRequest, RunResponse, decode_run_request, encode_run_response
from service import limits
from service.errors import problem_responses
from service.routes.common import check_sizes, parse, request_body, timed_json
from service.security import require_api_key
from service.settings import Settings, SettingsDep
from service.timing import ServerTiming

router = APIRouter(tags=["run"], dependencies=[Depends(require_api_key)])


@router.post("/v1/run", operation_id="run", response_model=RunResponse,
             responses=problem_responses(400, 401, 403, 413, 415, 422, 429, 500, 503),
             openapi_extra=request_body("RunRequest"),
             summary="The values of fetches given feeds, as Session.run")
async def run(request: Request, settings: SettingsDep) -> Response:
    return await timed_json(request, settings, _run)


def _run(body: bytes, settings: Settings, timing: ServerTiming) -> bytes:
    with timing.measure("parse"):
        call = decode_run_request(parse(RunRequest, body), settings.decode_limits)
        graph = limits.import_graph(call.node_defs, call.feeds)
        fetches = [graph.tensor(ref) for ref in call.fetches]
        feeds = {graph.tensor(ref): value for ref, value in call.feeds.items()}
    with timing.measure("eval"):
        values = limits.evaluate(graph, fetches, feeds, settings)
        check_sizes(values, [f"fetch {ref!r}" for ref in call.fetches],
                    settings.max_tensor_elements)
    with timing.measure("encode"):
        return encode_run_response(values, call.encoding)
