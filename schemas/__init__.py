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
from schemas.run import RunCall, RunRequest, RunResponse, decode_run_request, encode_run_response
from schemas.tensors import (
    BINARY_ALIGNMENT,
    BinaryData,
    DecodeError,
    TensorValue,
    binary_data,
    decode_tensor,
    encode_tensor,
)

__all__ = ["GradientCall", "GradientRequest", "GradientResponse", "decode_request",
           "encode_response", "GraphModel", "NodeModel", "TensorSpec", "encode_outputs",
           "Health", "DecodeLimits", "LimitExceeded", "OpsResponse", "describe_ops", "Problem", "RunCall", "RunRequest",
           "RunResponse", "decode_run_request", "encode_run_response", "DecodeError",
           "TensorValue", "decode_tensor", "encode_tensor", "BINARY_ALIGNMENT", "BinaryData",
           "binary_data", "GraphRegistration", "PreparedCall", "PreparedGradientRequest",
           "RegisteredGraph", "decode_prepared_request", "decode_program", "encode_registered"]
