"""POST /v1/gradients: the request and response bodies, and their core counterparts."""

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictInt, WithJsonSchema
from pydantic_core import to_json

from core import NodeDef
from schemas.common import Feeds, Ref, decode_feeds, decode_graph, decode_refs, encoding_used
from schemas.graph import GraphModel, TensorSpec, encode_graph
from schemas.limits import DecodeLimits
from schemas.tensors import Encoding, TensorValue, decode_tensor, encode_tensor

AGGREGATION_METHODS = ["add_n", "default", "experimental_tree", "experimental_accumulate_n"]
ReturnGraph = bool | Literal["added"]


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
    feeds: Feeds = {}
    return_graph: ReturnGraph = Field(
        False, description="true: also return the graph with the gradient nodes and a "
                           "reference per gradient. Extension: \"added\" returns only the "
                           "nodes the call added, with their `outputs`.")
    encoding: Encoding | None = Field(
        None, description="Extension: the encoding of the returned tensor values. Default: "
                          "b64 if any tensor value in the request is b64, else data.")
    fetches: Ref | list[Ref] = Field(
        [], description="Extension: more tensors of the request graph, evaluated with the "
                        "same feeds and returned in `fetched`.")
    evaluate: bool = Field(
        True, description="Extension: false builds the gradients without computing any "
                          "value (no feeds needed); `gradients` is then left out.")
    indexed_slices: bool = Field(
        False, description="Extension: a gradient that touches only some rows of its x "
                           "(GatherV2 along axis 0) comes back as TensorFlow's IndexedSlices, "
                           "{indices, values, dense_shape}, instead of dense.")


class IndexedSlicesValue(BaseModel):
    """dense[indices[i], ...] += values[i, ...]; rows not indexed are zero."""
    indices: TensorValue
    values: TensorValue
    dense_shape: list[int]


class IndexedSlicesRefs(BaseModel):
    """The tensors of an IndexedSlices gradient in the returned graph."""
    indices: str
    values: str
    dense_shape: str


class GradientResponse(BaseModel):
    """One gradient per x, null exactly where `tf.gradients` returns None."""
    gradients: list[TensorValue | IndexedSlicesValue | None] | None = Field(
        None, description="One per x; left out when `evaluate` is false. With "
                          "`indexed_slices`, a sparse gradient is an IndexedSlicesValue.")
    fetched: list[TensorValue] | None = Field(None, description="Extension: one value per "
                                                                "reference in `fetches`.")
    graph: GraphModel | None = Field(None, description="With `return_graph`: the request "
                                                       "graph plus the gradient nodes (only "
                                                       "the added nodes with \"added\").")
    gradient_refs: list[str | IndexedSlicesRefs | None] | None = Field(
        None, description="With `return_graph`: the tensor (or IndexedSlices tensors) of "
                          "each gradient.")
    outputs: dict[str, list[TensorSpec]] | None = Field(
        None, description="Extension, with `return_graph: \"added\"`: the dtype and static "
                          "shape of each output of each returned node.")


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
    return_graph: ReturnGraph
    fetches: list[str]
    evaluate: bool


def decode_request(request: GradientRequest, limits: DecodeLimits) -> GradientCall:
    grad_ys = None if request.grad_ys is None else [
        decode_tensor(g, f"grad_ys[{i}]", limits.max_tensor_elements)
        if isinstance(g, TensorValue) else g
        for i, g in enumerate(request.grad_ys)]
    decode_refs([g for g in grad_ys or () if isinstance(g, str)], "grad_ys", limits)
    limits.check_length(request.name, "name")
    values = [*request.feeds.values(),
              *(g for g in request.grad_ys or () if isinstance(g, TensorValue))]
    return GradientCall(
        node_defs=decode_graph(request.graph, limits),
        ys=decode_refs(request.ys, "ys", limits),
        xs=decode_refs(request.xs, "xs", limits),
        grad_ys=grad_ys,
        stop_gradients=decode_refs(request.stop_gradients, "stop_gradients", limits),
        feeds=decode_feeds(request.feeds, limits),
        options={"name": request.name, "gate_gradients": request.gate_gradients,
                 "aggregation_method": request.aggregation_method,
                 "unconnected_gradients": request.unconnected_gradients,
                 "indexed_slices": request.indexed_slices},
        encoding=request.encoding or encoding_used(request.graph, values),
        return_graph=request.return_graph,
        fetches=decode_refs(request.fetches, "fetches", limits),
        evaluate=request.evaluate,
    )


def encode_response(gradients: list[np.ndarray | tuple | None] | None, encoding: Encoding,
                    graph: list[NodeDef] | None = None,
                    gradient_refs: list[str | dict | None] | None = None, *,
                    fetched: list[np.ndarray] | None = None,
                    outputs: dict[str, list[dict[str, Any]]] | None = None) -> bytes:
    """The JSON body of a GradientResponse; each part only when given. A gradient given
    as a tuple (values, indices, dense_shape) is IndexedSlices."""
    body: dict[str, Any] = {}
    if gradients is not None:
        body["gradients"] = [_encode_gradient(g, encoding) for g in gradients]
    if fetched is not None:
        body["fetched"] = [encode_tensor(value, encoding) for value in fetched]
    if graph is not None:
        body["graph"] = encode_graph(graph, encoding)
        body["gradient_refs"] = gradient_refs
    if outputs is not None:
        body["outputs"] = outputs
    return to_json(body, inf_nan_mode="strings")


def _encode_gradient(gradient: np.ndarray | tuple | None, encoding: Encoding):
    if gradient is None:
        return None
    if isinstance(gradient, tuple):
        values, indices, dense_shape = gradient
        return {"indices": encode_tensor(indices, encoding),
                "values": encode_tensor(values, encoding),
                "dense_shape": [int(d) for d in dense_shape]}
    return encode_tensor(gradient, encoding)
