"""GET /v1/ops: every op the service knows, its attributes, dtypes and gradient status."""

from functools import cache

from fastapi import APIRouter

from core import registry
from schemas import OpsResponse, describe_ops
from service.errors import problem_responses
from service.security import ApiKeyRoute

router = APIRouter(tags=["ops"], route_class=ApiKeyRoute)


@router.get("/v1/ops", operation_id="listOps", response_model=OpsResponse,
            responses=problem_responses(401, 403),
            summary="The supported ops and dtypes")
async def list_ops() -> OpsResponse:
    return _ops()


@cache
def _ops() -> OpsResponse:
    return describe_ops(registry.all_ops())
