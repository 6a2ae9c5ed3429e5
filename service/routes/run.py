"""POST /v1/run (an extension): Session.run as a service, for runs without gradients. A
program posted again (same graph and fetches) reuses its build (service/programs.py)."""

from functools import partial

from fastapi import APIRouter, Request, Response

from core.program import ProgramCache
from schemas import (
    RunRequest,
    RunResponse,
    decode_run_program,
    decode_run_request,
    encode_run_response,
)
from service import programs
from service.errors import problem_responses
from service.routes.common import parse, request_body, timed_json
from service.security import ApiKeyRoute
from service.settings import Settings
from service.timing import ServerTiming

router = APIRouter(tags=["run"], route_class=ApiKeyRoute)


@router.post("/v1/run", operation_id="run", response_model=RunResponse,
             responses=problem_responses(400, 401, 403, 413, 415, 422, 429, 500, 503),
             openapi_extra=request_body("RunRequest"),
             summary="The values of fetches given feeds, as Session.run")
async def run(request: Request) -> Response:
    return await timed_json(request, request.app.state.settings,
                            partial(_run, programs.cache_of(request)))


def _run(cache: ProgramCache, body: bytes, settings: Settings, timing: ServerTiming) -> bytes:
    with timing.measure("parse"):
        request = parse(RunRequest, body)
        program = programs.posted(cache, request.program_key(),
                                  lambda: decode_run_program(request, settings.decode_limits))
        call = decode_run_request(request, settings.decode_limits, program)
    _, results = programs.compute(cache, program, call.feeds, settings, timing)
    with timing.measure("encode"):
        return encode_run_response(results.fetched, call.encoding)
