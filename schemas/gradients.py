"""POST /v1/gradients: the request and response bodies, and their core counterparts."""

from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictInt, WithJsonSchema
from pydantic_core import to_json

from core import NodeDef, ResourceLimitError
from schemas.graph import GraphModel, encode_graph, is_tensor_value, to_node_defs
from schemas.tensors import Encoding, TensorValue, decode_tensor, encode_tensor

Ref = Annotated[str, Field(description="A tensor reference: `node` (output 0) or `node:k`.",
                           examples=["y", "split:1"])]
AGGREGATION_METHODS = ["add_n", "default", "experimental_tree", "experimental_accumulate_n"]


class GradientRequest(BaseModel):
    """The arguments of `tf.gradients`, with the graph they refer to and the feeds."""
    model_config = ConfigDict(extra="forbid")

    graph: GraphModel
    ys: Ref | list[Ref]
    xs: Ref | list[Ref]
    grad_ys: list[TensorValue | Ref | None] | None = Field(
        None, description="As long as `ys`: a value, a reference, or null (ones like that y).")
    stop_gradients: Ref | list[Ref] = []
    unconnected_gradients: Annotated[str, WithJsonSchema(
        {"type": "string", "enum": ["none", "zero"]})] = "none"
    aggregation_method: Annotated[str | StrictInt | None, WithJsonSchema(
        {"anyOf": [{"type": "string", "enum": AGGREGATION_METHODS},
                   {"type": "integer", "enum": [0, 1, 2]}, {"type": "null"}]})] = None
    gate_gradients: bool = False
    name: str = "gradients"
    feeds: dict[Ref, TensorValue] = Field({}, description="Tensor reference -> value; every "
                                                          "placeholder the gradients need.")
    return_graph: bool = Field(False, description="Also return the graph with the gradient "
                                                  "nodes and a reference per gradient.")
    encoding: Encoding | None = Field(
        None, description="Extension: the encoding of the returned tensor values. Default: "
                          "b64 if any tensor value in the request is b64, else data.")


class GradientResponse(BaseModel):
    """One gradient per x, null exactly where `tf.gradients` returns None."""
    gradients: list[TensorValue | None]
    graph: GraphModel | None = Field(None, description="With `return_graph`: the request "
                                                       "graph plus the gradient nodes.")
    gradient_refs: list[str | None] | None = Field(None, description="With `return_graph`: "
                                                                     "the tensor of each gradient.")


@dataclass
class GradientCall:
    """A gradient request in core's terms: NodeDefs, tensor references and arrays."""
    node_defs: list[NodeDef]
    ys: list[str]
    xs: list[str]
    grad_ys: list[np.ndarray | str | None] | None
    stop_gradients: list[str]
    feeds: dict[str, np.ndarray]
    options: dict[str, Any]  # the remaining keyword arguments of core.gradients
    encoding: Encoding
    return_graph: bool


def decode_request(request: GradientRequest, max_nodes: int, max_elements: int) -> GradientCall:
    if len(request.graph.nodes) > max_nodes:
        raise ResourceLimitError(f"the graph has {len(request.graph.nodes)} nodes, over the limit "
                                 f"of {max_nodes} (GRADSERVE_MAX_NODES)")
    grad_ys = None if request.grad_ys is None else [
        decode_tensor(g, f"grad_ys[{i}]", max_elements) if isinstance(g, TensorValue) else g
        for i, g in enumerate(request.grad_ys)]
    return GradientCall(
        node_defs=to_node_defs(request.graph, max_elements),
        ys=_as_list(request.ys),
        xs=_as_list(request.xs),
        grad_ys=grad_ys,
        stop_gradients=_as_list(request.stop_gradients),
        feeds={ref: decode_tensor(value, f"feeds[{ref!r}]", max_elements)
               for ref, value in request.feeds.items()},
        options={"name": request.name, "gate_gradients": request.gate_gradients,
                 "aggregation_method": request.aggregation_method,
                 "unconnected_gradients": request.unconnected_gradients},
        encoding=request.encoding or _encoding_used(request),
        return_graph=request.return_graph,
    )


def encode_response(gradients: list[np.ndarray | None], encoding: Encoding,
                    graph: list[NodeDef] | None = None,
                    gradient_refs: list[str | None] | None = None) -> bytes:
    """The JSON body of a GradientResponse (graph and refs only when given)."""
    body: dict[str, Any] = {"gradients": [None if g is None else encode_tensor(g, encoding)
                                          for g in gradients]}
    if graph is not None:
        body["graph"] = encode_graph(graph, encoding)
        body["gradient_refs"] = gradient_refs
    return to_json(body, inf_nan_mode="strings")


def _as_list(refs: str | list[str]) -> list[str]:
    return [refs] if isinstance(refs, str) else refs


def _encoding_used(request: GradientRequest) -> Encoding:
    """b64 when any tensor value of the request is b64, else data."""
    values = [*request.feeds.values(), *(g for g in request.grad_ys or ()
                                         if isinstance(g, TensorValue))]
    attrs = (a for node in request.graph.nodes for a in node.attrs.values() if is_tensor_value(a))
    if any(v.b64 is not None for v in values) or any("b64" in a for a in attrs):
        return "b64"
    return "data"
