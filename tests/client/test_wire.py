"""Tensor values on the wire: large arrays as b64 or binary, small ones as data, every dtype
both ways, non-finite floats as strings."""

import json

import gradserve as gs
import httpx
import numpy as np
import pytest
from gradserve.wire import (
    B64_MIN_ELEMENTS,
    HEADER_LENGTH,
    decode_message,
    decode_value,
    encode_message,
    encode_value,
)

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
    with gs.Client(server_url, transport=httpx.MockTransport(record), encoding="b64") as client:
        [dx] = client.gradients(gs.reduce_sum(gs.sin(x)) + gs.reduce_sum(small), x)
        np.testing.assert_array_equal(client.run(dx, {x: feed, small: [1, 2, 3]}), np.cos(feed))
    feeds = bodies[-1]["feeds"]
    assert "b64" in feeds["x"] and feeds["small"]["data"] == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_messages_round_trip(dtype):
    big = (np.arange(B64_MIN_ELEMENTS + 3) % 5 - 2).astype(dtype)
    small = np.arange(3).astype(dtype)
    chunks, headers = encode_message({"feeds": {"big": big, "small": small}, "n": 1}, "binary")
    content = b"".join(chunks)
    assert headers["Content-Type"] == "application/octet-stream"
    assert int(headers["Content-Length"]) == len(content)
    assert int(headers[HEADER_LENGTH]) % 8 == 0
    body = decode_message(content, headers)
    assert body["n"] == 1 and "data" in body["feeds"]["small"]
    assert body["feeds"]["big"]["binary_data_size"] == big.nbytes
    for name, array in [("big", big), ("small", small)]:
        decoded = decode_value(body["feeds"][name])
        assert decoded.dtype == array.dtype and decoded.flags.writeable
        np.testing.assert_array_equal(decoded, array)


def test_megabytes_travel_as_binary_both_ways(server_url):
    kinds = []

    def record(request: httpx.Request) -> httpx.Response:
        response = httpx.HTTPTransport().handle_request(request)
        kinds.append((request.headers.get("content-type"), response.headers["content-type"]))
        return response

    x = gs.placeholder(gs.float32, [None], name="x")
    small = gs.placeholder(gs.float32, [3], name="small")
    feed = np.random.default_rng(0).standard_normal(1_000_000).astype(np.float32)
    with gs.Client(server_url, transport=httpx.MockTransport(record)) as client:
        [dx, dsmall] = client.gradients(gs.reduce_sum(x * x) + gs.reduce_sum(small), [x, small])
        got_dx, got_dsmall = client.run([dx, dsmall], {x: feed, small: [1, 2, 3]})
    np.testing.assert_array_equal(got_dx, 2 * feed)
    np.testing.assert_array_equal(got_dsmall, [1, 1, 1])
    assert kinds[-1] == ("application/octet-stream", "application/octet-stream")


@pytest.mark.anyio
async def test_the_async_client_sends_binary_too(async_client):
    x = gs.placeholder(gs.float64, [None], name="x")
    feed = np.linspace(-1, 1, 50_000)
    [dx] = await async_client.gradients(gs.reduce_sum(gs.sin(x)), x)
    np.testing.assert_allclose(await async_client.run(dx, {x: feed}), np.cos(feed))


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
