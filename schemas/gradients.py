"""POST /v1/gradients: the request and response bodies, and their core counterparts."""

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field
from pydantic_core import to_json

from core import NodeDef
from core.program import Program
from schemas.common import Feeds, decode_feeds, encoding_used
from schemas.graph import GraphModel, TensorSpec, encode_graph
from schemas.graphs import GraphRegistration, decode_program
from schemas.limits import DecodeLimits
from schemas.tensors import Encoding, TensorValue, encode_tensor

ReturnGraph = bool | Literal["added"]


class GradientRequest(GraphRegistration):
    """The arguments of `tf.gradients`, with the graph they refer to and the feeds."""
    feeds: Feeds = Field({})
    return_graph: ReturnGraph = Field(
        False, description="true: also return the graph with the gradient nodes and a "
                           "reference per gradient. Extension: \"added\" returns only the "
                           "nodes the call added, with their `outputs`.")
    encoding: Encoding | None = Field(
        None, description="Extension: the encoding of the returned tensor values (binary: a "
                          "binary response). Default: the request's densest, binary, b64 "
                          "or data.")
    evaluate: bool = Field(
        True, description="Extension: false builds the gradients without computing any "
                          "value (no feeds needed); `gradients` is then left out.")


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
    """A gradient request in core's terms: the program, the feeds (arrays) and the options
    of this request."""
    program: Program
    feeds: dict[str, np.ndarray]
    encoding: Encoding
    return_graph: ReturnGraph
    evaluate: bool


def decode_request(request: GradientRequest, limits: DecodeLimits,
                   program: Program | None = None) -> GradientCall:
    """With `program`, the request's program already decoded (found by its program_key)."""
    values = [*request.feeds.values(),
              *(g for g in request.grad_ys or () if isinstance(g, TensorValue))]
    return GradientCall(
        program=decode_program(request, limits) if program is None else program,
        feeds=decode_feeds(request.feeds, limits),
        encoding=request.encoding or encoding_used(request.graph, values),
        return_graph=request.return_graph,
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
