"""Tensor values on the wire and their NumPy arrays.

`data` is decoded by NumPy in one call, never element by element through pydantic: a
million floats take tens of milliseconds. Only a list holding strings (the `"NaN"`,
`"Infinity"`, `"-Infinity"` spellings) takes the slow path. Complex values, which JSON
cannot write, are `[real, imag]` pairs in `data` (a documented extension).

Binary tensor values (the binary tensor extension, docs/wire-extensions.md) are raw bytes
after a message's JSON header, at `binary_data_offset`. Decoding reads them in place, as
read-only arrays; encoding keeps each array's own buffer for the response to send as is.
Both go through the `BinaryData` of the message at hand (`binary_data()`).
"""

import base64
import binascii
import hashlib
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, WithJsonSchema, model_validator

from core.dtypes import DTYPES
from schemas.limits import LimitExceeded

Encoding = Literal["data", "b64", "binary"]
# Binary tensor values start at multiples of this (of the binary part and, as headers are
# padded to it, of the whole message), so arrays read in place are aligned.
BINARY_ALIGNMENT = 8

NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

# The kinds of decoded data each kind of dtype takes (bool, int, uint, float, complex).
_CASTS_FROM = {"b": "b", "i": "iu", "u": "iu", "f": "iuf", "c": "iufc"}
_FLOAT64_MAX = sys.float_info.max
_JSON_NAMES = {type(None): "null", dict: "an object"}
_KIND_NAMES = {"b": "bool", "i": "integer", "u": "integer", "f": "floating-point", "c": "complex"}

DtypeName = Annotated[str, WithJsonSchema({"type": "string", "enum": list(DTYPES)})]
Data = Annotated[list[Any], WithJsonSchema({
    "type": "array",
    "description": "All elements, flat and row-major (or nested as `shape`). Non-finite "
                   "floats are the strings \"NaN\", \"Infinity\", \"-Infinity\"; complex "
                   "elements are [real, imag] pairs.",
    "items": {"anyOf": [{"type": "number"}, {"type": "boolean"}, {"enum": list(NON_FINITE)},
                        {"type": "array"}]},
})]


class DecodeError(ValueError):
    """A tensor value that does not decode; `node` is the node it belongs to, if any."""

    def __init__(self, message: str, node: str | None = None):
        super().__init__(message)
        self.node = node


class TensorValue(BaseModel):
    """A tensor: dtype, shape, and its elements as exactly one of `data`, `b64` or binary
    (`binary_data_offset` and `binary_data_size`)."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [
        {"required": ["data"]}, {"required": ["b64"]},
        {"required": ["binary_data_offset", "binary_data_size"]}]})

    dtype: DtypeName
    shape: list[NonNegativeInt]
    data: Data | None = None
    b64: str | None = Field(None, description="The little-endian C-order bytes, base64-encoded.")
    binary_data_offset: NonNegativeInt | None = Field(
        None, description="Extension (binary messages only): where the little-endian C-order "
                          "bytes start in the binary part, after the JSON header.")
    binary_data_size: NonNegativeInt | None = Field(
        None, description="Extension: the number of those bytes (dtype size × elements).")

    @model_validator(mode="after")
    def _one_encoding(self) -> "TensorValue":
        if (self.binary_data_offset is None) != (self.binary_data_size is None):
            raise ValueError("a binary tensor value has both 'binary_data_offset' and "
                             "'binary_data_size'")
        given = [self.data is not None, self.b64 is not None, self.binary_data_size is not None]
        if sum(given) != 1:
            raise ValueError("a tensor value has exactly one of 'data', 'b64' and "
                             "'binary_data_offset' with 'binary_data_size'")
        return self


class BinaryData:
    """The binary part of one message: `received`, the request's bytes after its JSON
    header (None for a JSON request); `chunks`, the response's, each array's own buffer
    with zero padding to BINARY_ALIGNMENT between them."""

    def __init__(self, received: memoryview | None):
        self.received = received
        self.chunks: list[memoryview | bytes] = []
        self.size = 0

    def add(self, array: np.ndarray) -> dict[str, int]:
        """Appends the bytes of `array` (C-contiguous, little-endian); their place."""
        padding = -self.size % BINARY_ALIGNMENT
        if padding:
            self.chunks.append(bytes(padding))
        offset = self.size + padding
        raw = memoryview(array.reshape(-1).view(np.uint8))
        self.chunks.append(raw)
        self.size = offset + raw.nbytes
        return {"binary_data_offset": offset, "binary_data_size": raw.nbytes}


_binary_data: ContextVar[BinaryData] = ContextVar("binary_data")


@contextmanager
def binary_data(received: memoryview | None = None) -> Iterator[BinaryData]:
    """Within: binary tensor values decode from `received`, and encode into the BinaryData
    given."""
    data = BinaryData(received)
    token = _binary_data.set(data)
    try:
        yield data
    finally:
        _binary_data.reset(token)


def decode_tensor(value: TensorValue, where: str, max_elements: int,
                  node: str | None = None) -> np.ndarray:
    """The array `value` holds; DecodeError (naming `where`) when it does not fit its dtype
    and shape, ResourceLimitError when it has more than `max_elements` elements."""
    dtype = DTYPES.get(value.dtype)
    if dtype is None:
        raise DecodeError(f"{where}: unsupported dtype {value.dtype!r}; supported: "
                          f"{', '.join(DTYPES)}", node)
    shape = tuple(value.shape)
    size = math.prod(shape)
    if size > max_elements:
        raise LimitExceeded("max_tensor_elements", f"{where}: {size} elements is over the "
                            f"limit of {max_elements}", node)
    if value.b64 is not None:
        return _from_b64(value.b64, dtype, shape, where, node)
    if value.binary_data_size is not None:
        return _from_binary(value.binary_data_offset, value.binary_data_size, dtype, shape,
                            where, node)
    return _from_data(value.data, dtype, shape, where, node)


def encode_tensor(array: np.ndarray, encoding: Encoding) -> dict[str, Any]:
    """The wire form of `array`. Non-finite floats stay floats here: the JSON writer
    (`inf_nan_mode="strings"`) spells them "NaN", "Infinity", "-Infinity". `binary` adds
    the array to the current message's BinaryData (see `binary_data`)."""
    array = np.asarray(array)
    value: dict[str, Any] = {"dtype": array.dtype.name, "shape": list(array.shape)}
    if encoding in ("b64", "binary"):
        little_endian = np.ascontiguousarray(array, array.dtype.newbyteorder("<"))
        if encoding == "binary":
            value.update(_binary_data.get().add(little_endian))
        else:
            value["b64"] = base64.b64encode(little_endian).decode("ascii")
    elif array.dtype.kind == "c":
        value["data"] = np.stack([array.real, array.imag], axis=-1).reshape(-1, 2).tolist()
    else:
        value["data"] = array.reshape(-1).tolist()
    return value


def _from_b64(text: str, dtype: np.dtype, shape: tuple[int, ...], where: str,
              node: str | None) -> np.ndarray:
    expected = math.prod(shape) * dtype.itemsize
    characters = 4 * -(-expected // 3)
    if len(text) != characters:  # refused before decoding, however long the text
        raise DecodeError(f"{where}: b64 has {len(text)} characters, but the base64 of "
                          f"{_describe(dtype, shape)} ({expected} bytes) has {characters}", node)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise DecodeError(f"{where}: b64 is not valid base64 ({error})", node) from None
    if len(raw) != expected:
        raise DecodeError(f"{where}: b64 holds {len(raw)} bytes, but {_describe(dtype, shape)} "
                          f"needs {expected}", node)
    if dtype.kind == "b":
        return (np.frombuffer(raw, np.uint8) != 0).reshape(shape)
    return np.frombuffer(raw, dtype.newbyteorder("<")).astype(dtype, copy=False).reshape(shape)


def binary_digest(offset: int, size: int) -> str | None:
    """The SHA-256 (hex) of `size` bytes at `offset` of the message's binary part; None when
    there is no binary part or they are not all in it."""
    data = _binary_data.get(None)
    received = None if data is None else data.received
    if received is None or offset + size > len(received):
        return None
    return hashlib.sha256(received[offset:offset + size]).hexdigest()


def _from_binary(offset: int, size: int, dtype: np.dtype, shape: tuple[int, ...], where: str,
                 node: str | None) -> np.ndarray:
    """The array of the bytes at `offset` of the message's binary part, read in place
    (read-only) unless they are unaligned or not native-endian."""
    expected = math.prod(shape) * dtype.itemsize
    if size != expected:
        raise DecodeError(f"{where}: binary_data_size is {size}, but {_describe(dtype, shape)} "
                          f"has {expected} bytes", node)
    received = _binary_data.get().received
    if received is None:
        raise DecodeError(f"{where}: a binary tensor value needs a binary body "
                          f"(Content-Type: application/octet-stream, with its JSON header's "
                          f"length in Inference-Header-Content-Length)", node)
    if offset + size > len(received):
        raise DecodeError(f"{where}: bytes {offset} to {offset + size} are past the end of the "
                          f"binary part ({len(received)} bytes)", node)
    raw = received[offset:offset + size]
    if dtype.kind == "b":
        return (np.frombuffer(raw, np.uint8) != 0).reshape(shape)
    array = np.frombuffer(raw, dtype.newbyteorder("<"))
    if not array.flags.aligned:
        array = array.copy()
    return array.astype(dtype, copy=False).reshape(shape)


def _from_data(data: list, dtype: np.dtype, shape: tuple[int, ...], where: str,
               node: str | None) -> np.ndarray:
    try:
        array = np.array(data)
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise DecodeError(f"{where}: data must be a flat list, or a nested list shaped like "
                          f"`shape`, of numbers", node) from None
    if array.dtype.kind in "OUS":
        array = _with_non_finite(data, where, node)
    if dtype.kind == "c":
        if array.shape[-1:] != (2,):
            raise DecodeError(f"{where}: {dtype.name} elements are [real, imag] pairs", node)
        array = array[..., 0] + 1j * array[..., 1]
    if array.shape != shape:
        if array.ndim != 1 or array.size != math.prod(shape):
            raise DecodeError(f"{where}: data has {array.size} element(s) in shape "
                              f"{list(array.shape)}, but {_describe(dtype, shape)} needs "
                              f"{math.prod(shape)}", node)
        array = array.reshape(shape)
    return _cast(array, dtype, where, node)


def _with_non_finite(data: list, where: str, node: str | None) -> np.ndarray:
    """`data` as float64, reading the strings "NaN", "Infinity" and "-Infinity"."""
    try:
        items = np.array(data, dtype=object)
    except (ValueError, RecursionError):
        items = None
    if items is None or items.dtype != object:
        raise DecodeError(f"{where}: data must be a flat list, or a nested list shaped like "
                          f"`shape`, of numbers", node)
    out = np.empty(items.shape, np.float64)
    flat = out.reshape(-1)
    for i, item in enumerate(items.flat):
        if isinstance(item, str):
            if item not in NON_FINITE:
                raise DecodeError(f"{where}: data[{i}] is the string {item[:40]!r}; the only "
                                  f"strings allowed are {', '.join(map(repr, NON_FINITE))}", node)
            item = NON_FINITE[item]
        elif not isinstance(item, (int, float)):
            raise DecodeError(f"{where}: data[{i}] is {_JSON_NAMES.get(type(item), 'a list')}, "
                              f"not a number", node)
        elif abs(item) > _FLOAT64_MAX:
            raise DecodeError(f"{where}: data[{i}] is out of the range of float64", node)
        flat[i] = item
    return out


def _cast(array: np.ndarray, dtype: np.dtype, where: str, node: str | None) -> np.ndarray:
    """`array` as `dtype`, refusing what TensorFlow refuses: floats to integers, numbers to
    bool and back, and integers out of range."""
    if array.size == 0 or array.dtype == dtype:
        return array.astype(dtype, copy=False)
    if array.dtype.kind not in _CASTS_FROM[dtype.kind]:
        raise DecodeError(f"{where}: data holds {_KIND_NAMES[array.dtype.kind]} values, which "
                          f"are not {dtype.name}", node)
    converted = array.astype(dtype)
    if dtype.kind in "iu" and not np.array_equal(converted, array):
        raise DecodeError(f"{where}: data holds integers out of the range of {dtype.name}", node)
    return converted


def _describe(dtype: np.dtype, shape: tuple[int, ...]) -> str:
    return f"a {dtype.name} tensor of shape {list(shape)}"
