"""GET /v1/health/live and /v1/health/ready, for orchestrators."""

from fastapi import APIRouter, Request

from schemas import Health
from service.errors import WarmingUp, problem_responses

router = APIRouter(prefix="/v1/health", tags=["health"])


@router.get("/live", operation_id="live", response_model=Health,
            summary="The process is up")
async def live() -> Health:
    return Health()


@router.get("/ready", operation_id="ready", response_model=Health,
            responses=problem_responses(503),
            summary="The service takes requests: its kernels are compiled or loaded (503 until "
                    "then)")
async def ready(request: Request) -> Health:
    if request.app.state.warm_up.running:
        raise WarmingUp("this worker is compiling or loading its Numba kernels")
    return Health()
