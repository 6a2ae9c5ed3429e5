"""The wire format (shared/spec/wire.md): tensor values, graph nodes and references.

Arrays over `B64_MIN_ELEMENTS` elements travel as base64 (`b64`), smaller ones as
`data`; non-finite floats in `data` are the strings "NaN", "Infinity", "-Infinity"."""

from __future__ import annotations

import base64
import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gradserve.framework import Operation

WireValue = dict[str, Any]
WireNode = dict[str, Any]

B64_MIN_ELEMENTS = 1024
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_value(array: np.ndarray, b64_min_elements: int = B64_MIN_ELEMENTS) -> WireValue:
    """A tensor value: `b64` when the array has more than `b64_min_elements` elements."""
    array = np.asarray(array)
    value: WireValue = {"dtype": array.dtype.name, "shape": list(array.shape)}
    if array.size > b64_min_elements:
        little_endian = np.ascontiguousarray(array, array.dtype.newbyteorder("<"))
        value["b64"] = base64.b64encode(little_endian.tobytes()).decode("ascii")
    elif array.dtype.kind == "c":
        value["data"] = [[_json_float(z.real), _json_float(z.imag)] for z in array.reshape(-1)]
    elif array.dtype.kind == "f":
        value["data"] = [_json_float(x) for x in array.reshape(-1).tolist()]
    else:
        value["data"] = array.reshape(-1).tolist()
    return value


def _json_float(x: float) -> float | str:
    if math.isfinite(x):
        return float(x)
    return "NaN" if math.isnan(x) else "Infinity" if x > 0 else "-Infinity"


def decode_value(value: WireValue) -> np.ndarray:
    """The array a tensor value holds (a writable copy)."""
    dtype = np.dtype(value["dtype"])
    shape = tuple(value["shape"])
    if "b64" in value:
        raw = base64.b64decode(value["b64"])
        if dtype.kind == "b":
            return (np.frombuffer(raw, np.uint8) != 0).reshape(shape)
        return np.frombuffer(raw, dtype.newbyteorder("<")).astype(dtype).reshape(shape)
    data = value["data"]
    if _has_strings(data):
        array = np.vectorize(lambda x: _NON_FINITE.get(x, x), otypes=[np.float64])(
            np.array(data, dtype=object))
    else:
        array = np.asarray(data, dtype=np.float64 if dtype.kind == "c" else dtype)
    if dtype.kind == "c":
        array = array[..., 0] + 1j * array[..., 1]
    return array.astype(dtype).reshape(shape)


def _has_strings(data: list[Any]) -> bool:
    return any(isinstance(x, str) or (isinstance(x, list) and _has_strings(x)) for x in data)


def encode_attr(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return encode_value(value)
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, (tuple, list)):
        return [encode_attr(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def encode_node(op: Operation) -> WireNode:
    return {"name": op.name, "op": op.type,
            "inputs": [t._ref for t in op.inputs] + ["^" + c.name for c in op.control_inputs],
            "attrs": {name: encode_attr(value) for name, value in op.attrs.items()}}


def decode_attr(value: Any, kind: str | None) -> Any:
    """A node attribute from the service in the form the client keeps: arrays, dtypes, tuples."""
    if isinstance(value, dict) and "dtype" in value and ("data" in value or "b64" in value):
        return decode_value(value)
    if kind == "type" and isinstance(value, str):
        return np.dtype(value)
    if kind == "list(type)" and isinstance(value, list):
        return tuple(np.dtype(v) for v in value)
    if kind == "shape" and isinstance(value, list):
        return tuple(value)
    return value


def split_ref(ref: str) -> tuple[str, int]:
    """(node name, output index) of a reference `node` or `node:k`."""
    name, _, index = ref.partition(":")
    return name, int(index or 0)
