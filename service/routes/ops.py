"""GET /v1/ops: every op the service knows, its attributes, dtypes and gradient status."""

from functools import cache

from fastapi import APIRouter

from core import registry
from schemas import OpsResponse, describe_ops

router = APIRouter(tags=["ops"])


@router.get("/v1/ops", operation_id="listOps", response_model=OpsResponse,
            summary="The supported ops and dtypes")
async def list_ops() -> OpsResponse:
    return _ops()


@cache
def _ops() -> OpsResponse:
    return describe_ops(registry.all_ops())
