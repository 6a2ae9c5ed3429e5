"""Graphs on the wire and core's NodeDefs.

Attributes pass through as JSON values, except tensor objects (a dict with `dtype` and
`data` or `b64`), which become NumPy arrays; core converts the rest by the op's
attribute kinds. Going back, arrays become tensor objects, dtypes their names and
tuples lists.
"""

from collections.abc import Iterator
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core import NodeDef
from core.graph import Node
from schemas.limits import DecodeLimits
from schemas.tensors import DecodeError, Encoding, TensorValue, decode_tensor, encode_tensor


class NodeModel(BaseModel):
    """A node: a TensorFlow raw op with its inputs (`node`, `node:k`, `^node`) and attributes."""
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Unique; matches [A-Za-z0-9.][A-Za-z0-9_.\\-/]*.")
    op: str = Field(description="A TensorFlow raw op name; GET /v1/ops lists them.")
    inputs: list[str] = []
    attrs: dict[str, Any] = Field({}, description="JSON values; a tensor-valued attribute "
                                                  "is a tensor value object.")


class TensorSpec(BaseModel):
    """The dtype and static shape of a tensor (null dimensions unknown; null shape: unknown rank)."""
    dtype: str
    shape: list[int | None] | None


class GraphModel(BaseModel):
    """An acyclic graph; nodes may come in any order."""
    model_config = ConfigDict(extra="forbid")

    nodes: list[NodeModel]


def is_tensor_value(value: Any) -> bool:
    return isinstance(value, dict) and "dtype" in value and (
        "data" in value or "b64" in value or "binary_data_size" in value)


def to_node_defs(graph: GraphModel, limits: DecodeLimits) -> list[NodeDef]:
    for node in graph.nodes:
        _check_lengths(node, limits)
    return [NodeDef(node.name, node.op, list(node.inputs),
                    {name: _decode_attr(value, node.name, name, limits.max_tensor_elements)
                     for name, value in node.attrs.items()})
            for node in graph.nodes]


def _check_lengths(node: NodeModel, limits: DecodeLimits) -> None:
    limits.check_length(node.name, "a node name")
    limits.check_length(node.op, f"the op of node {node.name!r}", node.name)
    for ref in node.inputs:
        limits.check_length(ref, f"an input reference of node {node.name!r}", node.name)
    for name, value in node.attrs.items():
        limits.check_length(name, f"an attribute name of node {node.name!r}", node.name)
        for text in _strings(value):
            limits.check_length(text, f"a string in attribute {name!r} of node {node.name!r}",
                                node.name)


def _strings(value: Any) -> Iterator[str]:
    """The strings in an attribute value, at any depth, outside tensor values."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict) and not is_tensor_value(item):
            stack.extend(item)
            stack.extend(item.values())


def encode_graph(node_defs: list[NodeDef], encoding: Encoding) -> dict[str, Any]:
    return {"nodes": [{"name": nd.name, "op": nd.op, "inputs": nd.inputs,
                       "attrs": {name: encode_attr(value, encoding)
                                 for name, value in nd.attrs.items()}}
                      for nd in node_defs]}


def encode_outputs(nodes: list[Node]) -> dict[str, list[dict[str, Any]]]:
    """Node name -> a TensorSpec per output."""
    return {node.name: [{"dtype": dtype.name, "shape": None if shape is None else list(shape)}
                        for dtype, shape in zip(node.output_dtypes, node.output_shapes)]
            for node in nodes}


def encode_attr(value: Any, encoding: Encoding) -> Any:
    if isinstance(value, np.ndarray):
        return encode_tensor(value, encoding)
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, (tuple, list)):
        return [encode_attr(item, encoding) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode_attr(value: Any, node: str, attr: str, max_elements: int) -> Any:
    if not is_tensor_value(value):
        return value
    where = f"attribute {attr!r} of node {node!r}"
    try:
        tensor = TensorValue.model_validate(value)
    except ValidationError as error:
        problems = "; ".join(e["msg"] for e in error.errors(include_url=False))
        raise DecodeError(f"{where} is not a valid tensor value: {problems}", node) from None
    return decode_tensor(tensor, where, max_elements, node)
