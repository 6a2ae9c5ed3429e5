"""The wire format (shared/spec/wire.md): tensor values, graph nodes and references.

Arrays over `B64_MIN_ELEMENTS` elements travel as base64 (`b64`), or as raw bytes in a
binary message (the binary tensor extension, docs/wire-extensions.md), smaller ones as
`data`; non-finite floats in `data` are the strings "NaN", "Infinity", "-Infinity"."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from gradserve.framework import Operation

WireValue = dict[str, Any]
WireNode = dict[str, Any]

B64_MIN_ELEMENTS = 1024
Encoding = Literal["binary", "b64"]
BINARY_MEDIA_TYPE = "application/octet-stream"
HEADER_LENGTH = "Inference-Header-Content-Length"
BINARY_ALIGNMENT = 8  # binary tensor values start at multiples of this, as the service's do
# A binary body goes out in memoryview chunks of at most this: handed one large bytes,
# httpcore re-slices the rest of it after every socket send, copying it over and over.
CHUNK_BYTES = 2**20
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


def encode_message(body: dict[str, Any], encoding: Encoding
                   ) -> tuple[bytes | list[bytes | memoryview], dict[str, str]]:
    """The HTTP content and headers of a request body whose tensor values may be arrays.
    Arrays over B64_MIN_ELEMENTS elements make it a binary message with encoding "binary"
    (chunks read from the arrays' own buffers), else JSON with `encode_value`."""
    parts: list[bytes | memoryview] = []
    size = 0

    def tensor_value(array: Any) -> WireValue:
        nonlocal size
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{type(array).__name__} is not JSON serializable")
        if encoding != "binary" or array.size <= B64_MIN_ELEMENTS:
            return encode_value(array)
        padding = -size % BINARY_ALIGNMENT
        if padding:
            parts.append(bytes(padding))
        little_endian = np.ascontiguousarray(array, array.dtype.newbyteorder("<"))
        raw = memoryview(little_endian.reshape(-1).view(np.uint8))
        parts.append(raw)
        offset, size = size + padding, size + padding + raw.nbytes
        return {"dtype": array.dtype.name, "shape": list(array.shape),
                "binary_data_offset": offset, "binary_data_size": raw.nbytes}

    header = json.dumps(body, allow_nan=False, separators=(",", ":"),
                        default=tensor_value).encode()
    if not parts:
        return header, {"Content-Type": "application/json"}
    header += b" " * (-len(header) % BINARY_ALIGNMENT)
    chunks = [header, *(part[i:i + CHUNK_BYTES] for part in parts
                        for i in range(0, len(part), CHUNK_BYTES))]
    return chunks, {"Content-Type": BINARY_MEDIA_TYPE, HEADER_LENGTH: str(len(header)),
                    "Content-Length": str(len(header) + size)}


def decode_message(content: bytes, headers: Mapping[str, str]) -> Any:
    """The JSON of a response; in a binary message, each binary tensor value gets its bytes
    under "binary" (for `decode_value`)."""
    header_length = headers.get(HEADER_LENGTH)
    if header_length is None:
        return json.loads(content)
    header_length = int(header_length)
    binary = memoryview(content)[header_length:]

    def with_bytes(value: dict[str, Any]) -> dict[str, Any]:
        offset = value.get("binary_data_offset")
        if offset is not None:
            value["binary"] = binary[offset:offset + value["binary_data_size"]]
        return value

    return json.loads(content[:header_length], object_hook=with_bytes)


def _json_float(x: float) -> float | str:
    if math.isfinite(x):
        return float(x)
    return "NaN" if math.isnan(x) else "Infinity" if x > 0 else "-Infinity"


def decode_value(value: WireValue) -> np.ndarray:
    """The array a tensor value holds (a writable copy)."""
    dtype = np.dtype(value["dtype"])
    shape = tuple(value["shape"])
    if "b64" in value or "binary" in value:
        raw = value["binary"] if "binary" in value else base64.b64decode(value["b64"])
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
    if isinstance(value, dict) and "dtype" in value and (
            "data" in value or "b64" in value or "binary" in value):
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
