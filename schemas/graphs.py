"""Prepared graphs (an extension): POST /v1/graphs registers a program (a GradientRequest
without its feeds) under its content id; POST /v1/graphs/{id}/gradients evaluates it with
new feeds."""

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictInt, WithJsonSchema
from pydantic_core import to_json

from core.program import Build, Program
from core.sparse import IndexedSlices
from schemas.common import (
    Feeds,
    Ref,
    decode_feeds,
    decode_graph,
    decode_refs,
    encoding_used,
    program_key,
)
from schemas.graph import GraphModel
from schemas.limits import DecodeLimits
from schemas.tensors import Encoding, TensorValue, decode_tensor

AGGREGATION_METHODS = ["add_n", "default", "experimental_tree", "experimental_accumulate_n"]
GradientKind = Literal["dense", "indexed_slices"]


class GraphRegistration(BaseModel):
    """A program: the arguments of `tf.gradients` with the graph they refer to, and more
    tensors to fetch; its content id is the same on every replica."""
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
    fetches: Ref | list[Ref] = Field(
        [], description="Extension: more tensors of the request graph, evaluated with the "
                        "same feeds and returned in `fetched`.")
    indexed_slices: bool = Field(
        False, description="Extension: a gradient that touches only some rows of its x "
                           "(GatherV2 along axis 0) comes back as TensorFlow's IndexedSlices, "
                           "{indices, values, dense_shape}, instead of dense.")

    def program_key(self) -> bytes | None:
        """The key of this program (schemas.common.program_key), a GradientRequest's too."""
        return program_key(self, set(GraphRegistration.model_fields))


class RegisteredGraph(BaseModel):
    """The id to evaluate the program by, and what its gradients are."""
    id: str = Field(description="The SHA-256 (hex) of the program's canonical form: the same "
                                "program has the same id on every replica.")
    xs: list[str]
    gradients: list[GradientKind | None] = Field(
        description="One per x: null exactly where `tf.gradients` returns None.")
    fetches: list[str]


class PreparedGradientRequest(BaseModel):
    """The feeds of one evaluation of a registered program."""
    model_config = ConfigDict(extra="forbid")

    feeds: Feeds = {}
    encoding: Encoding | None = Field(
        None, description="The encoding of the returned tensor values. Default: the feeds' "
                          "densest, binary, b64 or data.")


@dataclass
class PreparedCall:
    feeds: dict[str, np.ndarray]
    encoding: Encoding


def decode_program(request: GraphRegistration, limits: DecodeLimits) -> Program:
    """The program of a registration (or of a GradientRequest)."""
    grad_ys = None if request.grad_ys is None else [
        decode_tensor(g, f"grad_ys[{i}]", limits.max_tensor_elements)
        if isinstance(g, TensorValue) else g
        for i, g in enumerate(request.grad_ys)]
    decode_refs([g for g in grad_ys or () if isinstance(g, str)], "grad_ys", limits)
    limits.check_length(request.name, "name")
    return Program(
        node_defs=decode_graph(request.graph, limits),
        ys=decode_refs(request.ys, "ys", limits),
        xs=decode_refs(request.xs, "xs", limits),
        grad_ys=grad_ys,
        stop_gradients=decode_refs(request.stop_gradients, "stop_gradients", limits),
        options={"name": request.name, "gate_gradients": request.gate_gradients,
                 "aggregation_method": request.aggregation_method,
                 "unconnected_gradients": request.unconnected_gradients,
                 "indexed_slices": request.indexed_slices},
        fetches=decode_refs(request.fetches, "fetches", limits))


def decode_prepared_request(request: PreparedGradientRequest,
                            limits: DecodeLimits) -> PreparedCall:
    return PreparedCall(decode_feeds(request.feeds, limits), request.encoding or encoding_used(
        GraphModel(nodes=[]), list(request.feeds.values())))


def encode_registered(program: Program, build: Build) -> bytes:
    """The JSON body of a RegisteredGraph, from the program's symbolic build."""
    kinds = [None if g is None else "indexed_slices" if isinstance(g, IndexedSlices) else "dense"
             for g in build.gradients]
    return to_json({"id": program.id, "xs": program.xs, "gradients": kinds,
                    "fetches": program.fetches})
