"""The examples of the tf.gradients documentation over HTTP, with TensorFlow's values,
and the Hessian of x^T A x (A + A^T) through a returned graph sent back."""

import numpy as np
import pytest

from tests.service.wire import array, const, data, node, placeholder, request

pytestmark = pytest.mark.anyio


async def post(client, body):
    response = await client.post("/v1/gradients", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_dependent_ys_add_up(client):
    # x = 3; y = x^2; y2 = (y^2)^2 -> dy/dx + dy2/dx = 6 + 8 x^7 = 17502
    nodes = [const("x", 3.0), node("y", "Mul", "x", "x"), node("y_sq", "Mul", "y", "y"),
             node("y2", "Mul", "y_sq", "y_sq")]
    [dx] = (await post(client, request(nodes, ["y", "y2"], ["x"])))["gradients"]
    assert array(dx) == 17502


@pytest.mark.parametrize("method", [None, "add_n", "experimental_tree",
                                    "experimental_accumulate_n", 0, 1, 2])
async def test_aggregation_methods_sum_ten_uses(client, method):
    # y = 2x; z = y + y + ... + y (10 times) -> [dz/dx, dz/dy] = [20, 10]
    nodes = [const("x", 1.0), const("two", 2.0), node("y", "Mul", "two", "x"),
             node("z1", "AddV2", "y", "y")]
    for i in range(2, 10):
        nodes.append(node(f"z{i}", "AddV2", f"z{i - 1}", "y"))
    body = request(nodes, "z9", ["x", "y"], aggregation_method=method)
    assert [array(g) for g in (await post(client, body))["gradients"]] == [20, 10]


async def test_stop_gradient_op_equals_the_stop_gradients_argument(client):
    nodes = [const("c", 0.0), node("a", "StopGradient", "c"), const("two", 2.0),
             node("b0", "Mul", "two", "a"), node("b", "StopGradient", "b0"),
             node("y", "AddV2", "a", "b")]
    assert [array(g) for g in (await post(client, request(nodes, "y", ["a", "b"])))["gradients"]] == [1, 1]


async def test_integer_path_carries_no_gradient(client):
    nodes = [placeholder("x", [3]), node("i", "Cast", "x", DstT="int32"),
             node("f", "Cast", "i", DstT="float32"), node("y", "Mul", "f", "x")]
    body = request(nodes, "y", "x", feeds={"x": data(np.float32([1.5, 2.5, -1]))})
    [dx] = (await post(client, body))["gradients"]
    assert array(dx).tolist() == [1, 2, -1]  # only through the float path: d(f x)/dx = f


async def test_hessian_of_a_quadratic_form_through_the_returned_graph(client):
    a = np.array([[1, 2, 0], [0, 3, -1], [4, 0, 5]], np.float64)
    x = np.array([[0.5], [-1.0], [2.0]])
    nodes = [placeholder("x", [3, 1], "float64"), const("A", a, "float64"),
             node("xA", "MatMul", "x", "A", transpose_a=True), node("f", "MatMul", "xA", "x")]
    first = await post(client, request(nodes, "f", "x", return_graph=True,
                                       feeds={"x": data(x)}))
    np.testing.assert_allclose(array(first["gradients"][0]), (a + a.T) @ x)
    [grad_ref] = first["gradient_refs"]
    rows = []
    for i in range(3):
        e = np.zeros((3, 1))
        e[i] = 1
        second = await post(client, {"graph": first["graph"], "ys": grad_ref, "xs": "x",
                                     "grad_ys": [data(e)], "feeds": {"x": data(x)}})
        rows.append(array(second["gradients"][0]).reshape(-1))
    np.testing.assert_allclose(np.stack(rows), a + a.T)
