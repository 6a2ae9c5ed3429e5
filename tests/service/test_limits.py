"""The limits of docs/wire-extensions.md: each refuses before the work it bounds is done,
as a problem naming the limit (and the node), counted in gradserve_limit_rejections."""

import re

import numpy as np
import pytest

from service import metrics
from service.settings import Settings
from tests.service.conftest import client_for
from tests.service.wire import const, data, node, placeholder, request

pytestmark = pytest.mark.anyio

SQUARE = [placeholder("x", [None]), node("y", "Square", "x")]


def fill(dims, value_dtype: str = "float32") -> list[dict]:
    return [const("dims", dims, "int32"), const("one", 1.0, value_dtype),
            node("f", "Fill", "dims", "one"), placeholder("x", []), node("y", "Mul", "f", "x")]


def rejections(limit: str) -> float:
    return metrics.LIMIT_REJECTIONS.labels(limit)._value.get()


async def refused(client, body, status: int, limit: str, path: str = "/v1/gradients") -> dict:
    before = rejections(limit)
    response = await client.post(path, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert rejections(limit) == before + 1
    return response.json()


async def test_the_memory_an_evaluation_would_take_is_estimated_before_it_runs(client):
    nodes = fill([10**6, 10**6])
    found = await refused(client, {"graph": {"nodes": nodes}, "fetches": "f"}, 413,
                          "max_eval_bytes", path="/v1/run")
    assert found["node"] == "f" and found["exception"] == "ValueError"
    assert re.search(r"would hold 4000000000\d{3} bytes at once at node 'f' \(Fill\)",
                     found["detail"])
    assert "GRADSERVE_MAX_EVAL_BYTES" in found["detail"]
    gradient = request(nodes, "y", "x", feeds={"x": data(np.float32(2))})
    found = await refused(client, gradient, 413, "max_eval_bytes")
    assert "node" in found


async def test_fed_shapes_make_the_shapes_the_estimate_sees_known():
    nodes = [placeholder("x", [None, None]), node("y", "Square", "x")]
    body = request(nodes, "y", "x", feeds={"x": data(np.zeros((64, 64), np.float32))})
    async with client_for(Settings(max_eval_bytes=1)) as client:
        specialized = await refused(client, body, 413, "max_eval_bytes")
        body["return_graph"] = True  # the returned graph keeps its placeholders' shapes
        symbolic = await refused(client, body, 413, "max_eval_bytes")
    x_bytes = 64 * 64 * 4
    # known shapes: x and x**2 at least; unknown: x and small shape vectors only
    assert estimate(specialized) >= 2 * x_bytes > estimate(symbolic) >= x_bytes
    assert specialized["node"]


def estimate(problem: dict) -> int:
    return int(re.search(r"would hold (\d+) bytes", problem["detail"]).group(1))


async def test_a_size_known_only_at_run_time_is_checked_before_its_node_runs(client):
    nodes = [placeholder("dims", [2], "int32"), const("one", 1.0), node("f", "Fill", "dims", "one"),
             const("axes", [0, 1], "int32"), node("y", "Sum", "f", "axes")]
    body = {"graph": {"nodes": nodes}, "fetches": "y",
            "feeds": {"dims": data(np.int32([10**6, 10**6]))}}
    found = await refused(client, body, 413, "max_eval_bytes", path="/v1/run")
    assert found["node"] == "f" and "at once to 4000000000" in found["detail"]
    body["feeds"] = {"dims": data(np.int32([2, 3]))}
    assert (await client.post("/v1/run", json=body)).json()["fetched"][0]["data"] == [6.0]


@pytest.mark.parametrize("op, shape_input", [("Tile", [10**5, 10**5]),
                                             ("BroadcastTo", [10**6, 10**6]),
                                             ("Reshape", [-1, 10**6])])
async def test_shape_ops_asked_for_huge_outputs_are_refused(client, op, shape_input):
    nodes = [placeholder("x", [1, 1]), const("s", shape_input, "int32"),
             node("big", op, "x", "s"), node("y", "Square", "big")]
    body = request(nodes, "y", "x", feeds={"x": data(np.ones((1, 1), np.float32))})
    response = await client.post("/v1/gradients", json=body)
    assert response.status_code in (413, 422), response.text  # 422: Reshape's sizes disagree
    assert response.headers["content-type"] == "application/problem+json"


async def test_evaluations_past_the_timeout_are_stopped_with_503():
    body = request(SQUARE, "y", "x", feeds={"x": data(np.float32([1, 2]))})
    async with client_for(Settings(eval_timeout_seconds=1e-9, retry_after_seconds=7)) as client:
        found = await refused(client, body, 503, "eval_timeout_seconds")
        response = await client.post("/v1/gradients", json=body)
    assert response.headers["Retry-After"] == "7"
    assert "ran out of time" in found["detail"] and "exception" not in found


async def test_evaluations_over_the_concurrency_limit_are_refused_at_once_with_429():
    app_settings = Settings(max_concurrent_evaluations=1)
    async with client_for(app_settings) as client:
        slots = client._transport.app.state.evaluation_slots
        body = request(SQUARE, "y", "x", feeds={"x": data(np.float32([1, 2]))})
        with slots.take():  # an evaluation is running
            found = await refused(client, body, 429, "max_concurrent_evaluations")
            response = await client.post("/v1/run", json={"graph": {"nodes": SQUARE},
                                                          "fetches": "y",
                                                          "feeds": body["feeds"]})
            assert response.status_code == 429 and response.headers["Retry-After"] == "1"
            assert (await client.get("/v1/health/ready")).status_code == 200
        assert slots.in_use == 0
        assert (await client.post("/v1/gradients", json=body)).status_code == 200
    assert "GRADSERVE_MAX_CONCURRENT_EVALUATIONS" in found["detail"]


@pytest.mark.parametrize("where", ["name", "op", "input", "attr name", "attr string", "ys",
                                   "feeds", "scope"])
async def test_over_long_names_are_refused(where):
    long = "n" * 65
    nodes = [placeholder("x", [2]), node("y", "Square", "x")]
    body = request(nodes, "y", "x", feeds={"x": data(np.float32([1, 2]))})
    if where == "name":
        nodes[1]["name"] = long
    elif where == "op":
        nodes[1]["op"] = long
    elif where == "input":
        nodes[1]["inputs"] = [long]
    elif where == "attr name":
        nodes[1]["attrs"] = {long: 1}
    elif where == "attr string":
        nodes[0]["attrs"]["_note"] = {"deep": [["x", long]]}
    elif where == "ys":
        body["ys"] = [long]
    elif where == "feeds":
        body["feeds"][long] = data(np.float32(1))
    else:
        body["name"] = long
    async with client_for(Settings(max_name_length=64)) as client:
        found = await refused(client, body, 413, "max_name_length")
    assert "65 characters" in found["detail"] and long not in found["detail"]


async def test_b64_longer_than_its_shape_needs_is_refused_without_decoding(client):
    value = {"dtype": "float32", "shape": [2], "b64": "A" * 4_000_000}
    response = await client.post("/v1/gradients", json=request(SQUARE, "y", "x",
                                                                feeds={"x": value}))
    assert response.status_code == 422
    assert "4000000 characters" in response.json()["detail"]


async def test_problem_details_quoting_huge_inputs_are_cut(client):
    body = request(SQUARE, "y", "x", feeds={"x": data(np.float32([1, 2]))})
    body["xs"] = ["q" * 1000] * 50  # refs within the length limit, an error quoting them all
    response = await client.post("/v1/gradients", json=body)
    assert response.status_code == 422 and len(response.json()["detail"]) < 2100
