"""GET /metrics: the Prometheus metrics of every worker process (service/metrics.py)."""

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from service import metrics

router = APIRouter(tags=["metrics"])


@router.get("/metrics", operation_id="metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "The Prometheus text exposition format."}},
            summary="Prometheus metrics: requests, latencies, evaluation time, graph sizes, "
                    "limit rejections")
async def prometheus_metrics() -> Response:
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
