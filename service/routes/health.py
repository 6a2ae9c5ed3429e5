"""GET /v1/health/live and /v1/health/ready, for orchestrators."""

from fastapi import APIRouter

from schemas import Health

router = APIRouter(prefix="/v1/health", tags=["health"])


@router.get("/live", operation_id="live", response_model=Health,
            summary="The process is up")
async def live() -> Health:
    return Health()


@router.get("/ready", operation_id="ready", response_model=Health,
            summary="The service takes requests: the op registry is loaded when the app is")
async def ready() -> Health:
    return Health()
