"""Tensor values on the wire: large arrays as b64, small ones as data, every dtype both
ways, non-finite floats as strings."""

import json

import gradserve as gs
import httpx
import numpy as np
import pytest
from gradserve.wire import B64_MIN_ELEMENTS, decode_value, encode_value

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
          "uint32", "uint64", "bool", "complex64", "complex128"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [6, B64_MIN_ELEMENTS + 1])
def test_round_trip(dtype, size):
    array = (np.arange(size) % 5 - 2).astype(dtype)
    wire = json.loads(json.dumps(encode_value(array), allow_nan=False))
    assert ("b64" in wire) == (size > B64_MIN_ELEMENTS)
    decoded = decode_value(wire)
    assert decoded.dtype == array.dtype and decoded.flags.writeable
    np.testing.assert_array_equal(decoded, array)


def test_non_finite_floats_are_strings():
    array = np.array([np.nan, np.inf, -np.inf, 1.5], np.float32)
    wire = encode_value(array)
    assert wire["data"] == ["NaN", "Infinity", "-Infinity", 1.5]
    np.testing.assert_array_equal(decode_value(wire), array)
    np.testing.assert_array_equal(decode_value(encode_value(array.astype(np.complex64))),
                                  array.astype(np.complex64))


def test_large_feeds_travel_as_b64_and_come_back_exactly(server_url):
    bodies = []

    def record(request: httpx.Request) -> httpx.Response:
        if request.content:
            bodies.append(json.loads(request.content))
        return httpx.HTTPTransport().handle_request(request)

    x = gs.placeholder(gs.float64, [None], name="x")
    small = gs.placeholder(gs.float64, [3], name="small")
    feed = np.random.default_rng(0).standard_normal(5000)
    with gs.Client(server_url, transport=httpx.MockTransport(record)) as client:
        [dx] = client.gradients(gs.reduce_sum(gs.sin(x)) + gs.reduce_sum(small), x)
        np.testing.assert_array_equal(client.run(dx, {x: feed, small: [1, 2, 3]}), np.cos(feed))
    feeds = bodies[-1]["feeds"]
    assert "b64" in feeds["x"] and feeds["small"]["data"] == [1.0, 2.0, 3.0]


def test_graphs_are_sent_pruned_to_what_the_request_needs(client, transport):
    bodies = []
    x = gs.placeholder(gs.float32, [], name="x")
    unused = gs.placeholder(gs.float32, [], name="unused")
    gs.constant(np.zeros(100_000, np.float32), name="big")
    y = x * 2.0
    request = transport.handle_request

    def record(req):
        bodies.append(json.loads(req.content))
        return request(req)

    transport.handle_request = record
    assert client.run(y, {x: 3.0, unused: 1.0}) == 6.0
    assert [n["name"] for n in bodies[0]["graph"]["nodes"]] == ["x", "mul/y", "mul"]
    assert set(bodies[0]["feeds"]) == {"x"}
