"""POST /v1/gradients: results as tf.gradients gives them, encodings, headers, symbolic graphs."""

import base64
import time

import numpy as np
import pytest

from core import registry
from schemas import GradientResponse
from tests.service.wire import array, const, data, node, placeholder, request

pytestmark = pytest.mark.anyio


async def gradients(client, body: dict) -> list:
    response = await client.post("/v1/gradients", json=body)
    assert response.status_code == 200, response.text
    GradientResponse.model_validate(response.json())
    return response.json()["gradients"]


@pytest.mark.skipif(registry.lookup("MatMul") is None, reason="MatMul is not registered yet")
async def test_the_wire_contract_example(client):
    body = request(
        [placeholder("x", [None, 3]),
         node("w", "Const", value={"dtype": "float32", "shape": [3, 1], "data": [1, 2, 3]}),
         node("xw", "MatMul", "x", "w", transpose_b=False),
         node("ax", "Const", value={"dtype": "int32", "shape": [], "data": [0]}),
         node("y", "Sum", "xw", "ax", keep_dims=False)],
        ys=["y"], xs=["x", "w"], grad_ys=None, stop_gradients=[], unconnected_gradients="none",
        aggregation_method=None, gate_gradients=False, name="gradients",
        feeds={"x": {"dtype": "float32", "shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]}})
    dx, dw = await gradients(client, body)
    assert dx == {"dtype": "float32", "shape": [2, 3], "data": [1, 2, 3, 1, 2, 3]}
    assert dw == {"dtype": "float32", "shape": [3, 1], "data": [5, 7, 9]}


async def test_square_gives_two_x(client):
    x = np.array([[1, -2, 3], [0.5, 4, -6]], np.float32)
    body = request([placeholder("x", [None, 3]), node("y", "Square", "x")], "y", "x",
                   feeds={"x": data(x)})
    [dx] = await gradients(client, body)
    np.testing.assert_array_equal(array(dx), 2 * x)


async def test_stop_gradients_as_in_the_tf_gradients_docs(client):
    # a = tf.constant(0.); b = 2 * a; tf.gradients(a + b, [a, b], stop_gradients=[a, b])
    nodes = [const("a", 0.0), const("two", 2.0), node("b", "Mul", "two", "a"),
             node("y", "AddV2", "a", "b")]
    assert [array(g) for g in await gradients(client, request(nodes, "y", ["a", "b"]))] == [3, 1]
    stopped = await gradients(client, request(nodes, "y", ["a", "b"], stop_gradients=["a", "b"]))
    assert [array(g) for g in stopped] == [1, 1]


async def test_unconnected_gradients_as_in_the_tf_gradients_docs(client):
    nodes = [const("a", np.ones((1, 2))), const("b", np.ones((3, 1)))]
    assert await gradients(client, request(nodes, ["b"], ["a"])) == [None]
    [zero] = await gradients(client, request(nodes, ["b"], ["a"], unconnected_gradients="zero"))
    assert zero == {"dtype": "float32", "shape": [1, 2], "data": [0, 0]}


async def test_grad_ys_as_values_references_and_null(client):
    nodes = [placeholder("x", [2]), node("y", "Square", "x"), node("z", "Tanh", "x"),
             const("g", [10, 100])]
    body = request(nodes, ["y", "z", "y"], ["x"], feeds={"x": data(np.float32([1, 2]))},
                   grad_ys=[data(np.float32([1, 1])), None, "g"])
    [dx] = await gradients(client, body)
    x = np.float32([1, 2])
    expected = 2 * x * (1 + np.float32([10, 100])) + (1 - np.tanh(x) ** 2)
    np.testing.assert_allclose(array(dx), expected, rtol=1e-6)


@pytest.mark.parametrize("method", [None, "add_n", "default", "experimental_tree",
                                    "experimental_accumulate_n", 0, 1, 2])
async def test_aggregation_methods(client, method):
    nodes = [placeholder("x", [2]), node("y", "Mul", "x", "x")]
    body = request(nodes, "y", "x", aggregation_method=method,
                   feeds={"x": data(np.float32([3, 4]))})
    assert array((await gradients(client, body))[0]).tolist() == [6, 8]


async def test_return_graph_then_its_gradient_gives_the_second_derivative(client):
    x = np.float32([1, 2, -3])
    nodes = [placeholder("x", [3]), const("three", 3.0), node("y", "Pow", "x", "three")]
    first = await client.post("/v1/gradients", json=request(
        nodes, "y", "x", return_graph=True, feeds={"x": data(x)}))
    assert first.status_code == 200, first.text
    [dx], [ref] = first.json()["gradients"], first.json()["gradient_refs"]
    np.testing.assert_allclose(array(dx), 3 * x ** 2, rtol=1e-6)
    assert ref.startswith("gradients/")

    second = await gradients(client, {"graph": first.json()["graph"], "ys": ref, "xs": "x",
                                      "feeds": {"x": data(x)}})
    np.testing.assert_allclose(array(second[0]), 6 * x, rtol=1e-6)


async def test_return_graph_names_null_for_a_none_gradient(client):
    nodes = [placeholder("x", [2]), const("c", [1, 2]), node("y", "Mul", "x", "x")]
    response = await client.post("/v1/gradients", json=request(
        nodes, "y", ["x", "c"], return_graph=True, feeds={"x": data(np.float32([1, 2]))}))
    assert response.json()["gradient_refs"][1] is None
    assert response.json()["gradients"][1] is None


async def test_all_none_gradients_need_no_feeds(client):
    nodes = [placeholder("x", [2]), const("c", [1, 2]), node("y", "Mul", "x", "x")]
    assert await gradients(client, request(nodes, "y", ["c"])) == [None]


async def test_non_finite_values_are_strings_both_ways(client):
    body = request([placeholder("x", [4]), node("y", "Square", "x")], "y", "x",
                   feeds={"x": {"dtype": "float64", "shape": [4],
                                "data": ["NaN", "Infinity", "-Infinity", 1.5]}})
    [dx] = await gradients(client, body)
    assert dx["data"] == ["NaN", "Infinity", "-Infinity", 3.0]


async def test_nested_data_is_read_as_its_shape(client):
    body = request([placeholder("x", [2, 2]), node("y", "Square", "x")], "y", "x",
                   feeds={"x": {"dtype": "float32", "shape": [2, 2], "data": [[1, 2], [3, 4]]}})
    [dx] = await gradients(client, body)
    assert dx == {"dtype": "float32", "shape": [2, 2], "data": [2, 4, 6, 8]}


def b64(values: np.ndarray) -> dict:
    little_endian = values.astype(values.dtype.newbyteorder("<")).tobytes()
    return {"dtype": values.dtype.name, "shape": list(values.shape),
            "b64": base64.b64encode(little_endian).decode()}


async def test_b64_in_b64_out(client):
    x = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    body = request([placeholder("x", [2, 3]), node("y", "Square", "x")], "y", "x",
                   feeds={"x": b64(x)})
    [dx] = await gradients(client, body)
    assert dx["shape"] == [2, 3] and "data" not in dx
    result = np.frombuffer(base64.b64decode(dx["b64"]), "<f4").reshape(2, 3)
    np.testing.assert_array_equal(result, 2 * x)


@pytest.mark.parametrize("feed, encoding, key", [("data", "b64", "b64"), ("b64", "data", "data")])
async def test_the_encoding_field_overrides(client, feed, encoding, key):
    x = np.float32([1, 2])
    body = request([placeholder("x", [2]), node("y", "Square", "x")], "y", "x",
                   feeds={"x": data(x) if feed == "data" else b64(x)}, encoding=encoding)
    [dx] = await gradients(client, body)
    assert key in dx


async def test_server_timing_and_request_id(client):
    body = request([placeholder("x", []), node("y", "Square", "x")], "y", "x",
                   feeds={"x": data(np.float32(3))})
    response = await client.post("/v1/gradients", json=body, headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    timing = response.headers["Server-Timing"]
    metrics = dict(item.strip().split(";dur=") for item in timing.split(","))
    assert set(metrics) == {"parse", "build", "eval", "encode"}
    assert all(float(ms) >= 0 for ms in metrics.values())
    generated = await client.post("/v1/gradients", json=body)
    assert len(generated.headers["X-Request-ID"]) >= 16


async def test_a_million_floats(client):
    x = np.random.default_rng(0).standard_normal(1_000_000).astype(np.float32)
    body = request([placeholder("x", [None]), node("y", "Square", "x")], "y", "x",
                   feeds={"x": data(x)})
    start = time.perf_counter()
    response = await client.post("/v1/gradients", json=body)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200
    np.testing.assert_array_equal(array(response.json()["gradients"][0]), 2 * x)
    print(f"\n1M floats round trip in process: {elapsed * 1000:.0f} ms; "
          f"Server-Timing: {response.headers['Server-Timing']}")
