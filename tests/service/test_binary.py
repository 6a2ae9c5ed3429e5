"""The binary tensor extension (docs/wire-extensions.md): a JSON header, then raw tensor
bytes at `binary_data_offset`, the header's length in Inference-Header-Content-Length; in
requests (feeds, grad_ys, graph attributes) and responses (`encoding: "binary"`)."""

import json

import numpy as np
import pytest

from core.dtypes import DTYPES
from service.settings import Settings
from tests.service.conftest import client_for
from tests.service.wire import array, data, node, placeholder, request

pytestmark = pytest.mark.anyio

HEADER_LENGTH = "Inference-Header-Content-Length"


def binary_value(array: np.ndarray, offset: int) -> dict:
    return {"dtype": array.dtype.name, "shape": list(array.shape),
            "binary_data_offset": offset, "binary_data_size": array.nbytes}


def binary_body(header: dict, arrays: list[np.ndarray]) -> tuple[bytes, dict[str, str]]:
    """A binary message whose header's binary values point at `arrays`, back to back."""
    text = json.dumps(header).encode()
    return text + b"".join(a.tobytes() for a in arrays), {
        "Content-Type": "application/octet-stream", HEADER_LENGTH: str(len(text))}


def read_message(response) -> tuple[dict, list[np.ndarray]]:
    """The header of a binary response, and the arrays of its tensor values in order."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    length = int(response.headers[HEADER_LENGTH])
    header = json.loads(response.content[:length])
    arrays = []

    def collect(value):
        if isinstance(value, dict) and "binary_data_offset" in value:
            start = length + value["binary_data_offset"]
            raw = response.content[start:start + value["binary_data_size"]]
            arrays.append(np.frombuffer(raw, value["dtype"]).reshape(value["shape"]))
        elif isinstance(value, dict):
            [collect(v) for v in value.values()]
        elif isinstance(value, list):
            [collect(v) for v in value]

    collect(header)
    return header, arrays


def example(dtype: str) -> np.ndarray:
    values = np.arange(-3, 9).reshape(3, 4) % (2 if dtype == "bool" else 7)
    if dtype.startswith("complex"):
        return (values + 0.5j * values[::-1]).astype(dtype)
    return values.astype(dtype)


@pytest.mark.parametrize("dtype", list(DTYPES))
async def test_every_dtype_round_trips_through_binary_requests_and_responses(client, dtype):
    x = example(dtype)
    header = {"graph": {"nodes": [placeholder("x", [3, 4], dtype), node("y", "Identity", "x")]},
              "fetches": ["y"], "feeds": {"x": binary_value(x, 0)}}
    content, headers = binary_body(header, [x])
    body, [y] = read_message(await client.post("/v1/run", content=content, headers=headers))
    assert body["fetched"][0]["dtype"] == dtype and body["fetched"][0]["shape"] == [3, 4]
    np.testing.assert_array_equal(y, x)


async def test_binary_and_json_values_mix_in_one_request(client):
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    w = np.float64([[1.0], [-2.0], [0.5]])
    bias = np.float64([[10.0]])
    grad_y = np.float64([[2.0], [3.0]])
    nodes = [placeholder("x", [None, 3], "float64"), placeholder("w", [3, 1], "float64"),
             node("b", "Const", value=binary_value(bias, 64)),
             node("xw", "MatMul", "x", "w"), node("y", "AddV2", "xw", "b")]
    header = request(nodes, ["y"], ["x", "w"], grad_ys=[binary_value(grad_y, 48)],
                     feeds={"x": binary_value(x, 0), "w": data(w)}, fetches=["y"])
    content, headers = binary_body(header, [x, grad_y, bias])
    _, [dx, dw, y] = read_message(await client.post("/v1/gradients", content=content,
                                                    headers=headers))
    np.testing.assert_allclose(dx, grad_y @ w.T)
    np.testing.assert_allclose(dw, x.T @ grad_y)
    np.testing.assert_allclose(y, x @ w + bias)


@pytest.mark.parametrize(("binary_request", "encoding", "binary_response"), [
    (True, None, True), (True, "data", False), (False, "binary", True), (False, None, False)])
async def test_the_response_is_binary_when_its_encoding_is(client, binary_request, encoding,
                                                          binary_response):
    x = np.float32([1, -2, 3])
    fields = {} if encoding is None else {"encoding": encoding}
    if binary_request:
        content, headers = binary_body(request([placeholder("x", [3]), node("y", "Square", "x")],
                                               "y", "x", feeds={"x": binary_value(x, 0)},
                                               **fields), [x])
        response = await client.post("/v1/gradients", content=content, headers=headers)
    else:
        response = await client.post("/v1/gradients", json=request(
            [placeholder("x", [3]), node("y", "Square", "x")], "y", "x",
            feeds={"x": data(x)}, **fields))
    if binary_response:
        _, [dx] = read_message(response)
    else:
        assert response.headers["content-type"] == "application/json"
        assert HEADER_LENGTH.lower() not in response.headers
        dx = array(response.json()["gradients"][0])
    np.testing.assert_array_equal(dx, 2 * x)


async def test_binary_arrays_are_aligned_in_the_response(client):
    values = [np.float64([1.5]), np.int8([1, 2, 3]), np.float64([-1, 2])]
    nodes = [node(f"c{i}", "Const", value=data(v)) for i, v in enumerate(values)]
    response = await client.post("/v1/run", json={"graph": {"nodes": nodes}, "encoding": "binary",
                                                  "fetches": ["c0", "c1", "c2"]})
    header, arrays = read_message(response)
    assert int(response.headers[HEADER_LENGTH]) % 8 == 0
    assert all(v["binary_data_offset"] % 8 == 0 for v in header["fetched"])
    for got, want in zip(arrays, values, strict=True):
        np.testing.assert_array_equal(got, want)


async def test_megabytes_of_feeds_are_read_in_place_and_differentiated(client):
    x = np.random.default_rng(0).standard_normal(1_000_000).astype(np.float32)
    nodes = [placeholder("x", [None]), node("xx", "Mul", "x", "x"),
             node("axis", "Const", value=data(np.int32([0]))), node("y", "Sum", "xx", "axis")]
    content, headers = binary_body(request(nodes, "y", "x", feeds={"x": binary_value(x, 0)}), [x])
    _, [dx] = read_message(await client.post("/v1/gradients", content=content, headers=headers))
    np.testing.assert_array_equal(dx, 2 * x)


X = np.float32([1, 2, 3])
GRAPH = [placeholder("x", [3]), node("y", "Square", "x")]


@pytest.mark.parametrize(("headers", "content", "status", "message"), [
    ({"Content-Type": "application/octet-stream"}, b"{}", 400,
     "Inference-Header-Content-Length: a binary body needs its JSON header's length"),
    ({"Content-Type": "application/octet-stream", HEADER_LENGTH: "-4"}, b"{}", 400,
     "not '-4'"),
    ({"Content-Type": "application/octet-stream", HEADER_LENGTH: "99"}, b"{}", 400,
     "the header length 99 is over the body's length, 2 bytes"),
    ({"Content-Type": "text/plain", HEADER_LENGTH: "2"}, b"{}", 415, "application/octet-stream"),
])
async def test_malformed_binary_bodies_are_refused(client, headers, content, status, message):
    response = await client.post("/v1/gradients", content=content, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert message in response.json()["detail"]


@pytest.mark.parametrize(("value", "message"), [
    ({"binary_data_offset": 0, "binary_data_size": 8},
     "feeds['x']: binary_data_size is 8, but a float32 tensor of shape [3] has 12 bytes"),
    ({"binary_data_offset": 4, "binary_data_size": 12},
     "feeds['x']: bytes 4 to 16 are past the end of the binary part (12 bytes)"),
])
async def test_binary_values_that_do_not_fit_are_refused(client, value, message):
    header = request(GRAPH, "y", "x", feeds={"x": {"dtype": "float32", "shape": [3], **value}})
    content, headers = binary_body(header, [X])
    response = await client.post("/v1/gradients", content=content, headers=headers)
    assert response.status_code == 422
    assert message in response.json()["detail"]


async def test_a_binary_value_in_a_json_body_is_refused(client):
    response = await client.post("/v1/gradients", json=request(
        GRAPH, "y", "x", feeds={"x": binary_value(X, 0)}))
    assert response.status_code == 422
    assert "feeds['x']: a binary tensor value needs a binary body" in response.json()["detail"]


async def test_a_binary_value_has_both_offset_and_size(client):
    header = request(GRAPH, "y", "x",
                     feeds={"x": {"dtype": "float32", "shape": [3], "binary_data_offset": 0}})
    content, headers = binary_body(header, [X])
    response = await client.post("/v1/gradients", content=content, headers=headers)
    assert response.status_code == 400
    assert "both 'binary_data_offset' and 'binary_data_size'" in response.json()["detail"]


async def test_the_body_size_limit_counts_the_binary_part():
    x = np.zeros(1000, np.float32)
    header = request([placeholder("x", [1000]), node("y", "Square", "x")], "y", "x",
                     feeds={"x": binary_value(x, 0)})
    content, headers = binary_body(header, [x])
    async with client_for(Settings(max_body_bytes=len(content) - 1)) as small:
        response = await small.post("/v1/gradients", content=content, headers=headers)
    assert response.status_code == 413


async def test_prepared_graphs_take_and_give_binary_tensors(client):
    nodes = [placeholder("x", [None]), node("xx", "Mul", "x", "x"),
             node("axis", "Const", value=data(np.int32([0]))), node("y", "Sum", "xx", "axis")]
    registered = await client.post("/v1/graphs", json=request(nodes, "y", "x"))
    assert registered.status_code == 201, registered.text
    x = np.linspace(-1, 1, 5000, dtype=np.float32)
    content, headers = binary_body({"feeds": {"x": binary_value(x, 0)}}, [x])
    response = await client.post(f"/v1/graphs/{registered.json()['id']}/gradients",
                                  content=content, headers=headers)
    _, [dx] = read_message(response)
    np.testing.assert_array_equal(dx, 2 * x)


def in_chunks(content: bytes, size: int):
    async def chunks():
        for start in range(0, len(content), size):
            yield content[start:start + size]
    return chunks()


@pytest.mark.parametrize("declared", [True, False])
async def test_a_binary_body_streamed_in_chunks_is_read_whole(client, declared):
    x = np.linspace(-1, 1, 3000, dtype=np.float32)
    header = request([placeholder("x", [3000]), node("y", "Square", "x")], "y", "x",
                     feeds={"x": binary_value(x, 0)})
    content, headers = binary_body(header, [x])
    if declared:  # else chunked transfer encoding: no Content-Length
        headers["Content-Length"] = str(len(content))
    response = await client.post("/v1/gradients", content=in_chunks(content, 1000),
                                 headers=headers)
    _, [dx] = read_message(response)
    np.testing.assert_array_equal(dx, 2 * x)


async def test_a_streamed_binary_body_over_the_limit_is_refused():
    x = np.zeros(1000, np.float32)
    header = request([placeholder("x", [1000]), node("y", "Square", "x")], "y", "x",
                     feeds={"x": binary_value(x, 0)})
    content, headers = binary_body(header, [x])
    async with client_for(Settings(max_body_bytes=len(content) - 1)) as small:
        response = await small.post("/v1/gradients", content=in_chunks(content, 1000),
                                    headers=headers)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
