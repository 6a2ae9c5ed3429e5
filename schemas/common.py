"""What every request with a graph and feeds shares: references, the graph and feeds in
core's terms, and the encoding of the response."""

from typing import Annotated

import numpy as np
from pydantic import Field

from core import NodeDef, ResourceLimitError
from schemas.graph import GraphModel, is_tensor_value, to_node_defs
from schemas.tensors import Encoding, TensorValue, decode_tensor

Ref = Annotated[str, Field(description="A tensor reference: `node` (output 0) or `node:k`.",
                           examples=["y", "split:1"])]
Feeds = Annotated[dict[Ref, TensorValue], Field(
    description="Tensor reference -> value; every placeholder the results need.")]


def as_list(refs: str | list[str]) -> list[str]:
    return [refs] if isinstance(refs, str) else refs


def decode_graph(graph: GraphModel, max_nodes: int, max_elements: int) -> list[NodeDef]:
    if len(graph.nodes) > max_nodes:
        raise ResourceLimitError(f"the graph has {len(graph.nodes)} nodes, over the limit "
                                 f"of {max_nodes} (GRADSERVE_MAX_NODES)")
    return to_node_defs(graph, max_elements)


def decode_feeds(feeds: dict[str, TensorValue], max_elements: int) -> dict[str, np.ndarray]:
    return {ref: decode_tensor(value, f"feeds[{ref!r}]", max_elements)
            for ref, value in feeds.items()}


def encoding_used(graph: GraphModel, values: list[TensorValue]) -> Encoding:
    """b64 when any tensor value of the request (`values`, graph attributes) is b64."""
    attrs = (a for node in graph.nodes for a in node.attrs.values() if is_tensor_value(a))
    if any(v.b64 is not None for v in values) or any("b64" in a for a in attrs):
        return "b64"
    return "data"
