"""Tensor values <-> NumPy arrays: every dtype both ways, the strict casts, and speed."""

import json
import time

import numpy as np
import pytest

from core import ResourceLimitError
from core.dtypes import DTYPES
from schemas import (
    DecodeError,
    TensorValue,
    binary_data,
    decode_tensor,
    encode_response,
    encode_tensor,
)

LIMIT = 2**26


def decode(**value) -> np.ndarray:
    return decode_tensor(TensorValue(**value), "value", LIMIT)


def sample(dtype: np.dtype) -> np.ndarray:
    values = np.arange(-3, 3).reshape(2, 3)
    if dtype.kind == "b":
        return values > 0
    if dtype.kind == "u":
        return (values + 3).astype(dtype)
    if dtype.kind == "c":
        return (values + 0.5j * values).astype(dtype)
    return (values / (4 if dtype.kind == "f" else 1)).astype(dtype)


@pytest.mark.parametrize("encoding", ["data", "b64", "binary"])
@pytest.mark.parametrize("dtype", DTYPES.values(), ids=str)
def test_round_trip(dtype, encoding):
    array = sample(dtype)
    with binary_data() as sent:
        wire = json.loads(json.dumps(encode_tensor(array, encoding)))
    with binary_data(memoryview(b"".join(sent.chunks))):
        decoded = decode(**wire)
    assert decoded.dtype == dtype and decoded.shape == (2, 3)
    np.testing.assert_array_equal(decoded, array)


def test_binary_values_are_sent_and_read_in_place():
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    with binary_data() as sent:
        value = encode_tensor(array, "binary")
    assert value == {"dtype": "float32", "shape": [3, 4], "binary_data_offset": 0,
                     "binary_data_size": 48}
    [chunk] = sent.chunks
    assert np.shares_memory(np.frombuffer(chunk, np.float32), array)
    body = bytearray(b"\0" * 8 + array.tobytes())
    with binary_data(memoryview(body)):
        decoded = decode(**{**value, "binary_data_offset": 8})
    assert np.shares_memory(decoded, np.frombuffer(body, np.uint8))
    np.testing.assert_array_equal(decoded, array)


def test_b64_is_little_endian_c_order():
    value = encode_tensor(np.float32([[1, 2], [3, 4]]), "b64")
    assert value == {"dtype": "float32", "shape": [2, 2], "b64": "AACAPwAAAEAAAEBAAACAQA=="}
    np.testing.assert_array_equal(decode(**value), [[1, 2], [3, 4]])


def test_non_finite_floats_are_strings_both_ways():
    array = decode(dtype="float32", shape=[4], data=["NaN", "Infinity", "-Infinity", 2])
    np.testing.assert_array_equal(array, np.float32([np.nan, np.inf, -np.inf, 2]))
    body = json.loads(encode_response([array, None], "data"))
    assert body == {"gradients": [{"dtype": "float32", "shape": [4],
                                   "data": ["NaN", "Infinity", "-Infinity", 2.0]}, None]}


def test_nested_data_and_scalars():
    np.testing.assert_array_equal(decode(dtype="int32", shape=[2, 2], data=[[1, 2], [3, 4]]),
                                  [[1, 2], [3, 4]])
    assert decode(dtype="float64", shape=[], data=[2.5]).shape == ()
    assert decode(dtype="float32", shape=[0, 3], data=[]).shape == (0, 3)


def test_complex_elements_are_pairs():
    np.testing.assert_array_equal(decode(dtype="complex64", shape=[2], data=[[1, 2], [3, "NaN"]]),
                                  np.complex64([1 + 2j, complex(3, np.nan)]))


@pytest.mark.parametrize("value, words", [
    ({"dtype": "int32", "shape": [2], "data": [1.5, 2]}, "floating-point values"),
    ({"dtype": "uint8", "shape": [2], "data": [-1, 300]}, "out of the range of uint8"),
    ({"dtype": "bool", "shape": [2], "data": [1, 0]}, "not bool"),
    ({"dtype": "float32", "shape": [2], "data": [True, False]}, "not float32"),
    ({"dtype": "float32", "shape": [3], "data": [1, 2]}, "needs 3"),
    ({"dtype": "float32", "shape": [2, 2], "data": [[1, 2, 3, 4]]}, "needs 4"),
    ({"dtype": "float32", "shape": [2], "data": [[1], [2, 3]]}, "nested list"),
    ({"dtype": "float32", "shape": [2], "data": [None, 1]}, "null"),
    ({"dtype": "float32", "shape": [2], "data": ["inf", 1]}, "'inf'"),
    ({"dtype": "complex64", "shape": [2], "data": [1, 2, 3]}, "[real, imag] pairs"),
    ({"dtype": "bfloat8", "shape": [2], "data": [1, 2]}, "unsupported dtype"),
    ({"dtype": "float32", "shape": [2], "b64": "@@@@@@@@@@@@"}, "not valid base64"),
    ({"dtype": "float32", "shape": [2], "b64": "AAAA"}, "has 4 characters, but .* has 12"),
    ({"dtype": "float32", "shape": [2], "b64": "AAAAAAAAAAAA"}, "holds 9 bytes"),
])
def test_decode_errors_say_what_is_wrong(value, words):
    with pytest.raises(DecodeError, match="value: .*" + words.replace("[", r"\[")):
        decode(**value)


def test_element_limit():
    with pytest.raises(ResourceLimitError):
        decode_tensor(TensorValue(dtype="float32", shape=[2**40, 2**40], b64=""), "value", LIMIT)


def test_a_million_floats_parse_and_decode():
    body = json.dumps({"dtype": "float32", "shape": [1_000_000],
                       "data": np.random.default_rng(0).random(1_000_000).tolist()})
    start = time.perf_counter()
    array = decode_tensor(TensorValue.model_validate_json(body), "value", LIMIT)
    elapsed = time.perf_counter() - start
    assert array.shape == (1_000_000,) and array.dtype == np.float32
    print(f"\n1M floats: parse + decode {elapsed * 1000:.0f} ms")
