"""Client.gradients and Client.run give what tf.gradients and Session.run give: the
examples of the tf.gradients documentation, None decided at once, second order, nested
fetches, and one request for gradients-then-run."""

import collections

import gradserve as gs
import numpy as np
import pytest

POST_GRADIENTS = ("POST", "/v1/gradients")


def values(client, tensors, feeds=None):
    return [None if t is None else client.run(t, feeds) for t in tensors]


def test_partial_derivatives_with_stop_gradients(client):
    a = gs.constant(0.)
    b = 2 * a
    assert values(client, client.gradients(a + b, [a, b], stop_gradients=[a, b])) == [1.0, 1.0]
    assert values(client, client.gradients(a + b, [a, b])) == [3.0, 1.0]


def test_stop_gradient_ops_equal_the_stop_gradients_argument(client):
    a = gs.stop_gradient(gs.constant(0.))
    b = gs.stop_gradient(2 * a)
    assert values(client, client.gradients(a + b, [a, b])) == [1.0, 1.0]


def test_weights_and_biases_example(client):
    ws = gs.constant(0.)
    bs = 2 * ws
    d_cost_dw, d_cost_db = client.gradients(ws + bs, [ws, bs])
    assert client.run((d_cost_dw, d_cost_db)) == (3.0, 1.0)


@pytest.mark.parametrize("mode", ["none", gs.UnconnectedGradients.NONE])
def test_unconnected_gradients_are_none_at_once(client, transport, mode):
    a, b = gs.ones([1, 2]), gs.ones([3, 1])
    client.list_ops()
    transport.requests.clear()
    assert client.gradients([b], [a], unconnected_gradients=mode) == [None]
    assert transport.requests == []


@pytest.mark.parametrize("mode", ["zero", gs.UnconnectedGradients.ZERO])
def test_unconnected_gradients_zero(client, mode):
    a, b = gs.ones([1, 2]), gs.ones([3, 1])
    [zero] = client.gradients([b], [a], unconnected_gradients=mode)
    np.testing.assert_array_equal(client.run(zero), np.zeros((1, 2), np.float32))


def test_integer_tensors_pass_no_gradient(client):
    x = gs.placeholder(gs.float32, [3], name="x")
    i = gs.cast(x, gs.int32)
    assert client.gradients(gs.cast(i, gs.float32) * x, [i]) == [None]
    [dx] = client.gradients(gs.reduce_sum(gs.cast(i, gs.float32) * x), x)
    np.testing.assert_array_equal(client.run(dx, {x: [1.5, 2.5, 3.5]}), [1, 2, 3])


def test_grad_ys_weight_each_y(client):
    x = gs.placeholder(gs.float32, [2], name="x")
    w = gs.constant([3.0, 4.0])
    [dx] = client.gradients([x * x, x * 3.0, x * 5.0], x,
                            grad_ys=[np.float32([1, 10]), w, None])
    np.testing.assert_allclose(client.run(dx, {x: [1, 2]}), [2 + 9 + 5, 40 + 12 + 5])


@pytest.mark.parametrize("method", [None, gs.AggregationMethod.ADD_N,
                                    gs.AggregationMethod.DEFAULT,
                                    gs.AggregationMethod.EXPERIMENTAL_TREE,
                                    gs.AggregationMethod.EXPERIMENTAL_ACCUMULATE_N])
def test_aggregation_methods(client, method):
    x = gs.constant(1.0)
    y = x * 2.0
    z = y
    for _ in range(9):
        z = z + y
    grads = client.gradients(z, [x, y], aggregation_method=method)
    assert client.run(grads) == [20.0, 10.0]


def test_the_aggregation_method_documentation_example(client):
    x = gs.constant(1.0)
    y = x * 2.0
    grads = client.gradients(y + y + y + y, [x, y],
                             aggregation_method=gs.AggregationMethod.EXPERIMENTAL_ACCUMULATE_N)
    assert client.run(grads) == [8.0, 4.0]


def test_dependent_ys_sum_their_gradients(client):
    x = gs.constant(3.0)
    y = x * x
    y2 = (y * y) * (y * y)
    assert values(client, client.gradients([y, y2], x)) == [17502.0]


def test_gate_gradients_and_a_name(client):
    x = gs.placeholder(gs.float32, [2], name="x")
    [dx] = client.gradients(gs.reduce_sum(x * x * x), x, gate_gradients=True, name="grads")
    np.testing.assert_allclose(client.run(dx, {x: [1, 2]}), [3, 12])
    assert dx.name.startswith("grads/")


def test_gradients_then_run_is_one_request(client, transport):
    x = gs.placeholder(gs.float32, [None, 3], name="x")
    w = gs.constant(np.arange(6, dtype=np.float32).reshape(3, 2), name="w")
    loss = gs.reduce_mean(gs.square(gs.nn.relu(x @ w)))
    client.list_ops()  # GET /v1/ops, once per client
    transport.requests.clear()
    grads = client.gradients(loss, [x, w])
    loss_value, (dx, dw) = client.run([loss, grads], {x: np.ones((4, 3))})
    assert transport.requests == [POST_GRADIENTS]
    assert loss_value == pytest.approx(np.mean((np.ones((4, 3)) @ np.arange(6).reshape(3, 2)) ** 2))
    assert dx.shape == (4, 3) and dw.shape == (3, 2)
    client.run(grads, {x: np.ones((2, 3))})  # the gradient nodes are in the graph now
    assert transport.requests == [POST_GRADIENTS, ("POST", "/v1/run")]


def test_a_new_client_asks_for_the_ops_once(client, transport):
    x = gs.placeholder(gs.float32, [], name="x")
    client.run(client.gradients(x * x, x), {x: 3})
    client.run(client.gradients(x * x * x, x), {x: 3})
    assert transport.requests == [("GET", "/v1/ops"), POST_GRADIENTS, POST_GRADIENTS]


def test_nested_fetches_keep_their_structure(client):
    Pair = collections.namedtuple("Pair", "first second")
    x = gs.placeholder(gs.float32, [2], name="x")
    y = x * 3.0
    [dx] = client.gradients(gs.reduce_sum(y), x)
    result = client.run({"y": y, "pair": Pair(dx, [x, (y,)]), "dx": dx}, {x: [1, 2]})
    assert set(result) == {"y", "pair", "dx"} and isinstance(result["pair"], Pair)
    np.testing.assert_array_equal(result["pair"].first, [3, 3])
    np.testing.assert_array_equal(result["pair"].second[1][0], [3, 6])
    assert isinstance(result["pair"].second[1], tuple)


def test_scalars_come_back_as_numpy_scalars(client):
    y = gs.reduce_sum(gs.constant([1.5, 2.0]))
    value = client.run(y)
    assert isinstance(value, np.float32) and value == 3.5


def test_second_order(client, transport):
    x = gs.placeholder(gs.float32, [3], name="x")
    y = gs.reduce_sum(x ** 3)
    [g] = client.gradients(y, x)
    [h] = client.gradients(g, x)  # builds g first: one request
    assert transport.requests[-1] == POST_GRADIENTS and not g.is_pending
    np.testing.assert_allclose(client.run([g, h], {x: [1, 2, -3]}), [[3, 12, 27], [6, 12, -18]])
    assert transport.requests.count(POST_GRADIENTS) == 2


def test_building_on_a_pending_gradient_resolves_it(client, transport):
    x = gs.placeholder(gs.float32, [2], name="x")
    [dx] = client.gradients(gs.reduce_sum(x * x), x)
    assert dx.is_pending and "pending" in repr(dx)
    step = x - 0.1 * dx  # needs dx's node: the service builds it (no values)
    assert not dx.is_pending and dx.name.startswith("gradients/")
    np.testing.assert_allclose(client.run(step, {x: [1, 2]}), [0.8, 1.6])
    assert dx.op.graph is x.graph and dx in dx.op.outputs


def test_pending_gradients_know_their_dtype_and_shape(client):
    x = gs.placeholder(gs.float64, [None, 4], name="x")
    [dx] = client.gradients(gs.reduce_sum(x), x)
    assert dx.dtype == gs.float64 and dx.shape == (None, 4) and dx.is_pending


def test_values_are_not_graph_tensors(client):
    with pytest.raises(RuntimeError, match="graph"):
        client.gradients(np.float32(3), np.float32(2))
    x = gs.placeholder(gs.float32, [], name="x")
    with pytest.raises(RuntimeError, match="placeholder"):
        client.gradients(x * 2, 2.0)


def test_argument_errors_are_raised_at_once(client):
    x = gs.placeholder(gs.float32, [], name="x")
    with pytest.raises(ValueError, match="grad_ys"):
        client.gradients(x, x, grad_ys=[None, None])
    with pytest.raises(ValueError, match="unconnected_gradients"):
        client.gradients(x, x, unconnected_gradients="some")
    with pytest.raises(ValueError, match="aggregation_method"):
        client.gradients(x, x, aggregation_method=7)
    c = gs.placeholder(gs.complex64, [], name="c")
    with pytest.raises(TypeError, match="complex"):
        client.gradients(c * c, c)


def test_an_op_without_gradient_is_a_lookup_error_at_once(client):
    x = gs.placeholder(gs.float32, [2], name="x")
    graph = gs.get_default_graph()
    blocked = graph.create_op("PreventGradient", [x], {"message": "no"}, "blocked",
                              [(x.dtype, x.shape)]).outputs[0]
    with pytest.raises(LookupError, match="blocked") as raised:
        client.gradients(gs.reduce_sum(blocked), x)
    assert isinstance(raised.value, gs.errors.NoGradientError)
    assert raised.value.node == "blocked"
    assert client.gradients(gs.reduce_sum(blocked), x, stop_gradients=[blocked]) == [None]


def test_gradients_inside_a_name_scope(client):
    x = gs.placeholder(gs.float32, [], name="x")
    with gs.name_scope("outer"):
        [dx] = client.gradients(x * x, x)
    assert client.run(dx, {x: 2}) == 4.0
    assert dx.name.startswith("outer/gradients/")
