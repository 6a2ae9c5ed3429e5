"""The wire: pydantic models of what clients send and get (shared/spec/wire.md), and their
conversion to and from core's NodeDefs and NumPy arrays."""

from schemas.gradients import (
    GradientCall,
    GradientRequest,
    GradientResponse,
    decode_request,
    encode_response,
)
from schemas.graph import GraphModel, NodeModel, TensorSpec, encode_outputs
from schemas.graphs import (
    GraphRegistration,
    PreparedCall,
    PreparedGradientRequest,
    RegisteredGraph,
    decode_prepared_request,
    decode_program,
    encode_registered,
)
from schemas.health import Health
from schemas.limits import DecodeLimits, LimitExceeded
from schemas.ops import OpsResponse, describe_ops
from schemas.problem import Problem
from schemas.run import (
    RunCall,
    RunRequest,
    RunResponse,
    decode_run_program,
    decode_run_request,
    encode_run_response,
)
from schemas.tensors import (
    BINARY_ALIGNMENT,
    BinaryData,
    DecodeError,
    TensorValue,
    binary_data,
    decode_tensor,
    encode_tensor,
)

__all__ = [
    "BINARY_ALIGNMENT",
    "BinaryData",
    "DecodeError",
    "DecodeLimits",
    "GradientCall",
    "GradientRequest",
    "GradientResponse",
    "GraphModel",
    "GraphRegistration",
    "Health",
    "LimitExceeded",
    "NodeModel",
    "OpsResponse",
    "PreparedCall",
    "PreparedGradientRequest",
    "Problem",
    "RegisteredGraph",
    "RunCall",
    "RunRequest",
    "RunResponse",
    "TensorSpec",
    "TensorValue",
    "binary_data",
    "decode_prepared_request",
    "decode_program",
    "decode_request",
    "decode_run_program",
    "decode_run_request",
    "decode_tensor",
    "describe_ops",
    "encode_outputs",
    "encode_registered",
    "encode_response",
    "encode_run_response",
    "encode_tensor",
]
