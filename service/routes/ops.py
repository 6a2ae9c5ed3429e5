"""GET /v1/ops: every op the service knows, its attributes, dtypes and gradient status."""

from functools import cache

from fastapi import APIRouter, Depends

from core import registry
from schemas import OpsResponse, describe_ops
from service.errors import problem_responses
from service.security import require_api_key

router = APIRouter(tags=["ops"], dependencies=[Depends(require_api_key)])


@router.get("/v1/ops", operation_id="listOps", response_model=OpsResponse,
            responses=problem_responses(401, 403),
            summary="The supported ops and dtypes")
async def list_ops() -> OpsResponse:
    return _ops()


@cache
def _ops() -> OpsResponse:
    return describe_ops(registry.all_ops())
