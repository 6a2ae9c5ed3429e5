"""The wire: pydantic models of what clients send and get (shared/spec/wire.md), and their
conversion to and from core's NodeDefs and NumPy arrays."""

from schemas.gradients import (
    GradientCall,
    GradientRequest,
    GradientResponse,
    decode_request,
    encode_response,
)
from schemas.graph import GraphModel, NodeModel
from schemas.health import Health
from schemas.ops import OpsResponse, describe_ops
from schemas.problem import Problem
from schemas.tensors import DecodeError, TensorValue, decode_tensor, encode_tensor

__all__ = ["GradientCall", "GradientRequest", "GradientResponse", "decode_request",
           "encode_response", "GraphModel", "NodeModel", "Health", "OpsResponse", "describe_ops",
           "Problem", "DecodeError", "TensorValue", "decode_tensor", "encode_tensor"]
