"""POST /v1/gradients: tf.gradients on a posted graph, evaluated with the posted feeds.

Extensions (docs/wire-extensions.md): `fetches` evaluated in the same pass, `evaluate:
false` to build only, `return_graph: "added"` for just the gradient nodes.
"""

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request, Response

import core
from core.sparse import IndexedSlices
from schemas import (
    GradientRequest,
    GradientResponse,
    decode_request,
    encode_outputs,
    encode_response,
)
from service import limits
from service.errors import problem_responses
from service.routes.common import check_sizes, parse, request_body, timed_json
from service.security import require_api_key
from service.settings import Settings, SettingsDep
from service.timing import ServerTiming

router = APIRouter(tags=["gradients"], dependencies=[Depends(require_api_key)])


@router.post("/v1/gradients", operation_id="computeGradients", response_model=GradientResponse,
             responses=problem_responses(400, 401, 403, 413, 415, 422, 429, 500, 503),
             openapi_extra=request_body("GradientRequest"),
             summary="The gradients of sum(ys) with respect to each of xs, as tf.gradients")
async def compute_gradients(request: Request, settings: SettingsDep) -> Response:
    return await timed_json(request, settings, _compute)


def _compute(body: bytes, settings: Settings, timing: ServerTiming) -> bytes:
    with timing.measure("parse"):
        call = decode_request(parse(GradientRequest, body), settings.decode_limits)
        specialize = call.evaluate and not call.return_graph
        graph = limits.import_graph(call.node_defs, call.feeds if specialize else None)
        ys, xs, stop_gradients, fetches = ([graph.tensor(ref) for ref in refs] for refs in (
            call.ys, call.xs, call.stop_gradients, call.fetches))
        grad_ys = None if call.grad_ys is None else [
            graph.tensor(g) if isinstance(g, str) else g for g in call.grad_ys]
        feeds = {graph.tensor(ref): value for ref, value in call.feeds.items()}
        request_size = len(graph)
    with timing.measure("build"):
        grads = core.gradients(graph, ys, xs, grad_ys, stop_gradients=stop_gradients,
                               **call.options)
    results = fetched = None
    if call.evaluate:
        with timing.measure("eval"):
            wanted = [t for g in grads for t in _tensors(g)] + fetches
            values = iter(limits.evaluate(graph, wanted, feeds, settings) if wanted else ())
            results = [_value(g, values) for g in grads]
            fetched = list(values)
            check_sizes([r[0] if isinstance(r, tuple) else r for r in results],
                        [f"the gradient for {x!r}" for x in call.xs],
                        settings.max_tensor_elements)
            check_sizes(fetched, [f"fetch {ref!r}" for ref in call.fetches],
                        settings.max_tensor_elements)
    with timing.measure("encode"):
        fetched = fetched if call.fetches else None
        if not call.return_graph:
            return encode_response(results, call.encoding, fetched=fetched)
        added_only = call.return_graph == "added"
        first = request_size if added_only else 0
        return encode_response(
            results, call.encoding, graph.to_node_defs()[first:],
            [_refs(g) for g in grads], fetched=fetched,
            outputs=encode_outputs(graph.nodes[first:]) if added_only else None)


def _tensors(grad: core.Tensor | IndexedSlices | None) -> list[core.Tensor]:
    """The tensors to evaluate for one gradient."""
    if grad is None:
        return []
    if isinstance(grad, IndexedSlices):
        return [grad.values, grad.indices, grad.dense_shape]
    return [grad]


def _value(grad, values: Iterator):
    """One gradient's value: an array, (values, indices, dense_shape), or None."""
    taken = tuple(next(values) for _ in _tensors(grad))
    return None if not taken else taken if isinstance(grad, IndexedSlices) else taken[0]


def _refs(grad) -> str | dict[str, str] | None:
    if isinstance(grad, IndexedSlices):
        return {"indices": grad.indices.name, "values": grad.values.name,
                "dense_shape": grad.dense_shape.name}
    return None if grad is None else grad.name
