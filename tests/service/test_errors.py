"""Every client mistake is a 4xx problem+json naming the exception tf.gradients raises."""

import json

import numpy as np
import pytest

import core
import core.program
from schemas import Problem
from service.settings import Settings
from tests.service.conftest import client_for
from tests.service.wire import const, data, node, placeholder, request

pytestmark = pytest.mark.anyio

SQUARE = [placeholder("x", [2]), node("y", "Square", "x")]
X = {"x": data(np.float32([1, 2]))}


async def problem(client, body=None, *, status: int, exception: str | None,
                  node: str | None = None, content: bytes | None = None) -> dict:
    response = await client.post("/v1/gradients", json=body, content=content)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    Problem.model_validate(problem)
    assert problem["type"] == "about:blank" and problem["status"] == status
    assert problem["title"] and problem["detail"]
    assert problem.get("exception") == exception
    assert problem.get("node") == node
    assert problem["request_id"] == response.headers["X-Request-ID"]
    return problem


@pytest.mark.parametrize("content", [b"{", b"[]", b"", b"\xff", b'{"graph": {"nodes": []}}',
                                     b'{"graph": {"nodes": []}, "ys": 1, "xs": "x"}'])
async def test_malformed_bodies_are_400(client, content):
    found = await problem(client, content=content, status=400, exception="ValueError")
    assert found["title"] == "Malformed request"


async def test_unknown_fields_are_400(client):
    found = await problem(client, request(SQUARE, "y", "x", stop_gradient=["x"]),
                          status=400, exception="ValueError")
    assert "stop_gradient" in found["detail"]


async def test_unknown_op(client):
    body = request([placeholder("x", [2]), node("y", "NoSuchOp", "x")], "y", "x")
    found = await problem(client, body, status=422, exception="ValueError", node="y")
    assert "NoSuchOp" in found["detail"]


async def test_cycle(client):
    body = request([placeholder("x", [2]), node("a", "Mul", "x", "b"), node("b", "Mul", "a", "x")],
                   "b", "x")
    found = await problem(client, body, status=422, exception="ValueError", node="a")
    assert "cycle" in found["detail"]


@pytest.mark.parametrize("field", ["ys", "xs", "stop_gradients", "feeds"])
async def test_unknown_reference(client, field):
    body = request(SQUARE, "y", "x", feeds=X)
    body[field] = {"nope": data(np.float32(1))} if field == "feeds" else ["nope"]
    await problem(client, body, status=422, exception="ValueError", node="nope")


async def test_grad_ys_length_mismatch(client):
    body = request(SQUARE, "y", "x", grad_ys=[None, None], feeds=X)
    found = await problem(client, body, status=422, exception="ValueError")
    assert "grad_ys" in found["detail"]


@pytest.mark.parametrize("option", [{"unconnected_gradients": "some"},
                                    {"aggregation_method": "fastest"},
                                    {"aggregation_method": 7}])
async def test_bad_options(client, option):
    await problem(client, request(SQUARE, "y", "x", feeds=X, **option),
                  status=422, exception="ValueError")


async def test_no_gradient_is_a_lookup_error(client):
    body = request([placeholder("x", [2]), node("q", "PreventGradient", "x"),
                    node("y", "Square", "q")], "y", "x", feeds=X)
    found = await problem(client, body, status=422, exception="LookupError", node="q")
    assert found["title"] == "No gradient defined"


async def test_complex_y_without_grad_ys_is_a_type_error(client):
    body = request([placeholder("c", [], "complex64"), node("y", "Mul", "c", "c")], "y", "c")
    await problem(client, body, status=422, exception="TypeError", node="y")


async def test_unfed_placeholder(client):
    found = await problem(client, request(SQUARE, "y", "x"), status=422, exception="ValueError",
                          node="x")
    assert "feed" in found["detail"]


async def test_feed_of_the_wrong_shape(client):
    body = request(SQUARE, "y", "x", feeds={"x": data(np.float32([1, 2, 3]))})
    await problem(client, body, status=422, exception="ValueError", node="x")


@pytest.mark.parametrize("value, words", [
    ({"dtype": "float32", "shape": [3], "data": [1, 2]}, "needs 3"),
    ({"dtype": "bfloat8", "shape": [2], "data": [1, 2]}, "dtype"),
    ({"dtype": "float32", "shape": [2], "b64": "not base64!"}, "base64"),
    ({"dtype": "float32", "shape": [2], "b64": "AAAA"}, "bytes"),
    ({"dtype": "int32", "shape": [2], "data": [1.5, 2]}, "int32"),
    ({"dtype": "float32", "shape": [2], "data": ["nan", 2]}, "NaN"),
])
async def test_undecodable_feeds_name_the_field(client, value, words):
    found = await problem(client, request(SQUARE, "y", "x", feeds={"x": value}),
                          status=422, exception="ValueError")
    assert "feeds['x']" in found["detail"] and words in found["detail"]


async def test_undecodable_attribute_names_the_node(client):
    body = request([node("c", "Const", value={"dtype": "float32", "shape": [2], "data": [1]})],
                   "c", "c")
    found = await problem(client, body, status=422, exception="ValueError", node="c")
    assert "attribute 'value' of node 'c'" in found["detail"]


async def test_both_data_and_b64_is_malformed(client):
    value = {"dtype": "float32", "shape": [2], "data": [1, 2], "b64": "AAAAAAAAAAA="}
    await problem(client, request(SQUARE, "y", "x", feeds={"x": value}),
                  status=400, exception="ValueError")


async def test_body_over_the_limit_is_413():
    async with client_for(Settings(max_body_bytes=1000)) as client:
        body = request(SQUARE, "y", "x", feeds={"x": data(np.zeros(2, np.float32))})
        small = await client.post("/v1/gradients", json=body)
        assert small.status_code == 200
        big = request(SQUARE, "y", "x", feeds={"x": data(np.zeros(500, np.float32))})
        found = await problem(client, big, status=413, exception="ValueError")
        assert "1000 bytes" in found["detail"]


async def test_a_streamed_body_is_refused_at_the_first_chunk_over_the_limit():
    chunks_read = []

    async def chunks():
        for i in range(10):
            chunks_read.append(i)
            yield b" " * 600

    async with client_for(Settings(max_body_bytes=1000)) as client:
        response = await client.post("/v1/gradients", content=chunks())
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert len(chunks_read) < 10


async def test_tensor_and_graph_over_the_limits_are_413():
    async with client_for(Settings(max_tensor_elements=4, max_nodes=2)) as client:
        big_feed = request(SQUARE, "y", "x", feeds={"x": data(np.zeros(5, np.float32))})
        await problem(client, big_feed, status=413, exception="ValueError")
        three_nodes = request([*SQUARE, const("c", 1.0)], "y", "x", feeds=X)
        await problem(client, three_nodes, status=413, exception="ValueError")


async def test_unexpected_errors_are_500_with_the_request_id(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(core.program, "gradients", fail)
    async with client_for(Settings(), raise_app_exceptions=False) as client:
        found = await problem(client, request(SQUARE, "y", "x", feeds=X),
                              status=500, exception=None)
    assert found["request_id"] in found["detail"] and "a bug" not in found["detail"]


@pytest.mark.parametrize("method, path, status", [("GET", "/v2/nothing", 404),
                                                  ("GET", "/v1/gradients", 405),
                                                  ("DELETE", "/v1/ops", 405)])
async def test_unknown_paths_and_methods_are_problems_too(client, method, path, status):
    response = await client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


@pytest.mark.parametrize("headers", [{"Content-Type": "text/plain"},
                                     {"Content-Type": "application/x-www-form-urlencoded"},
                                     {"Content-Type": "application/json",
                                      "Content-Encoding": "gzip"}])
async def test_bodies_that_are_not_plain_json_are_415(client, headers):
    response = await client.post("/v1/gradients", headers=headers, content=b"{}")
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


async def test_json_media_types_and_no_content_type_are_read(client):
    body = json.dumps(request(SQUARE, "y", "x", feeds=X)).encode()
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json", None):
        headers = {} if content_type is None else {"Content-Type": content_type}
        response = await client.post("/v1/gradients", content=body, headers=headers)
        assert response.request.headers.get("Content-Type") == content_type
        assert response.status_code == 200, content_type
