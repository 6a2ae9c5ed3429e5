"""POST /v1/run (an extension): Session.run as a service, the values of tensors of a graph."""

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from core.program import Program
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
from schemas.tensors import Encoding, TensorValue, encode_tensor


class RunRequest(BaseModel):
    """A graph, the tensors to evaluate and the feeds, as `Session.run(fetches, feed_dict)`."""
    model_config = ConfigDict(extra="forbid")

    graph: GraphModel
    fetches: Ref | list[Ref]
    feeds: Feeds = {}
    encoding: Encoding | None = Field(
        None, description="The encoding of the returned values (binary: a binary response). "
                          "Default: the request's densest, binary, b64 or data.")

    def program_key(self) -> bytes | None:
        """The key of this run's program (schemas.common.program_key)."""
        return program_key(self, {"graph", "fetches"})


class RunResponse(BaseModel):
    """One value per fetch."""
    fetched: list[TensorValue]


@dataclass
class RunCall:
    program: Program  # no gradients, just the fetches
    feeds: dict[str, np.ndarray]
    encoding: Encoding


def decode_run_program(request: RunRequest, limits: DecodeLimits) -> Program:
    return Program(decode_graph(request.graph, limits),
                   fetches=decode_refs(request.fetches, "fetches", limits))


def decode_run_request(request: RunRequest, limits: DecodeLimits,
                       program: Program | None = None) -> RunCall:
    """With `program`, the run's program already decoded (found by its program_key)."""
    return RunCall(program=decode_run_program(request, limits) if program is None else program,
                   feeds=decode_feeds(request.feeds, limits),
                   encoding=request.encoding or encoding_used(request.graph,
                                                              list(request.feeds.values())))


def encode_run_response(values: list[np.ndarray], encoding: Encoding) -> bytes:
    return to_json({"fetched": [encode_tensor(v, encoding) for v in values]},
                   inf_nan_mode="strings")
