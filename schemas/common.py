"""What every request with a graph and feeds shares: references, the graph and feeds in
core's terms, and the encoding of the response."""

import hashlib
from typing import Annotated

import numpy as np
from pydantic import BaseModel, Field
from pydantic_core import to_json

from core import NodeDef
from schemas.graph import GraphModel, is_tensor_value, to_node_defs
from schemas.limits import DecodeLimits, LimitExceeded
from schemas.tensors import Encoding, TensorValue, binary_digest, decode_tensor

Ref = Annotated[str, Field(description="A tensor reference: `node` (output 0) or `node:k`.",
                           examples=["y", "split:1"])]
Feeds = Annotated[dict[Ref, TensorValue], Field(
    description="Tensor reference -> value; every placeholder the results need.")]


def decode_graph(graph: GraphModel, limits: DecodeLimits) -> list[NodeDef]:
    if len(graph.nodes) > limits.max_nodes:
        raise LimitExceeded("max_nodes", f"the graph has {len(graph.nodes)} nodes, over the "
                            f"limit of {limits.max_nodes}")
    return to_node_defs(graph, limits)


def decode_refs(refs: str | list[str], what: str, limits: DecodeLimits) -> list[str]:
    """`refs` as a list, each checked against the name length limit."""
    refs = [refs] if isinstance(refs, str) else refs
    for ref in refs:
        limits.check_length(ref, f"a reference in {what}")
    return refs


def program_key(request: BaseModel, program_fields: set[str]) -> bytes | None:
    """A key for the program `request` posts, found before decoding it: the SHA-256 of its
    `program_fields` as validated (a JSON object naming them, every value as given: floats
    exact, NaN apart from infinity; a binary tensor value by the digest of its bytes, not
    their place in the message). Requests with the same key post the same program. None
    when a binary value's bytes are not all in the message (decoding then says so)."""
    program = request.model_dump(include=program_fields)
    values = [*(a for node in program["graph"]["nodes"] for a in node["attrs"].values()),
              *(program.get("grad_ys") or ())]
    for value in values:
        if is_tensor_value(value) and value.get("binary_data_size") is not None:
            digest = binary_digest(value["binary_data_offset"] or 0, value["binary_data_size"])
            if digest is None:
                return None
            value["binary_data_offset"] = digest
    return hashlib.sha256(to_json(program, inf_nan_mode="constants")).digest()


def decode_feeds(feeds: dict[str, TensorValue], limits: DecodeLimits) -> dict[str, np.ndarray]:
    decode_refs(list(feeds), "feeds", limits)
    return {ref: decode_tensor(value, f"feeds[{ref!r}]", limits.max_tensor_elements)
            for ref, value in feeds.items()}


def encoding_used(graph: GraphModel, values: list[TensorValue]) -> Encoding:
    """The request's densest encoding: binary when any tensor value of the request (`values`,
    graph attributes) is binary, else b64 when any is b64, else data."""
    attrs = [a for node in graph.nodes for a in node.attrs.values() if is_tensor_value(a)]
    if (any(v.binary_data_size is not None for v in values)
            or any("binary_data_size" in a for a in attrs)):
        return "binary"
    if any(v.b64 is not None for v in values) or any("b64" in a for a in attrs):
        return "b64"
    return "data"
