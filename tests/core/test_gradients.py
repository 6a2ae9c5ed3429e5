"""tf.gradients semantics: the examples of its documentation, every option and every
error, each checked against the expected value and against TensorFlow on the same graph."""

import numpy as np
import pytest

import core
from core import build
from core.graph import Graph
from tests.core.graphs import assert_gradients, our_gradients, placeholder, tf_gradients


def test_partial_derivatives_with_stop_gradients():
    g = Graph()
    a = g.constant(0.0)
    b = 2.0 * a
    assert_gradients(g, [a + b], [a, b], [3.0, 1.0])
    assert_gradients(g, [a + b], [a, b], [1.0, 1.0], stop_gradients=[a, b])


def test_stop_gradient_op_equals_stop_gradients_argument():
    g = Graph()
    a = build.op("StopGradient", g.constant(0.0))
    b = build.op("StopGradient", 2.0 * a)
    assert_gradients(g, [a + b], [a, b], [1.0, 1.0])


def test_stop_gradients_and_stop_gradient_op_combined():
    g = Graph()
    x = placeholder(g, shape=[])
    a = x * 3.0
    b = build.op("StopGradient", a * a)
    y = a * b + a
    feeds = {x: np.float32(2.0)}
    # b is constant: dy/dx = 3b + 3 = 111; with a stopped too, x is cut off from y
    assert_gradients(g, [y], [x], [111.0], feeds)
    assert_gradients(g, [y], [x, a], [None, 37.0], feeds, stop_gradients=[a])


@pytest.mark.parametrize("mode, expected", [("none", [None]), ("zero", [np.zeros((1, 2))])])
def test_unconnected_gradients(mode, expected):
    g = Graph()
    a = build.op("OnesLike", g.constant(np.zeros((1, 2), np.float32)))
    b = build.op("OnesLike", g.constant(np.zeros((3, 1), np.float32)))
    assert_gradients(g, [b], [a], expected, unconnected_gradients=mode)


def test_integer_tensors_are_constant():
    g = Graph()
    x = placeholder(g, shape=[3])
    rounded = build.cast(build.cast(x, "int32"), "float32")
    y = build.reduce_sum(x * rounded + x, [0])
    feeds = {x: np.array([1.5, 2.5, -1.0], np.float32)}
    assert_gradients(g, [y], [x], [np.array([2.0, 3.0, 0.0])], feeds)
    i = placeholder(g, "int32", [3], name="i")
    z = build.reduce_sum(build.cast(i, "float32") * x, [0])
    assert_gradients(g, [z], [i], [None], {**feeds, i: np.array([1, 2, 3], np.int32)})


def test_grad_ys_weight_each_y():
    g = Graph()
    x = placeholder(g, shape=[2])
    y1, y2 = x * x, x * 3.0
    feeds = {x: np.array([1.0, 2.0], np.float32)}
    weights = [np.array([1.0, 10.0], np.float32), np.array([2.0, 2.0], np.float32)]
    # 2x * w1 + 3 * w2
    assert_gradients(g, [y1, y2], [x], [np.array([8.0, 46.0])], feeds, grad_ys=weights)


def test_grad_ys_as_graph_tensor_and_default_mix():
    g = Graph()
    x = placeholder(g, shape=[2])
    w = g.constant(np.array([3.0, 4.0], np.float32))
    feeds = {x: np.array([1.0, 2.0], np.float32)}
    assert_gradients(g, [x * x, x * 5.0], [x], [np.array([11.0, 21.0])], feeds, grad_ys=[w, None])


def test_dependent_ys_sum_their_gradients():
    g = Graph()
    x = g.constant(3.0)
    y = x * x
    y2 = (y * y) * (y * y)
    assert_gradients(g, [y, y2], [x], [17502.0])


def test_duplicate_ys_add_up():
    g = Graph()
    x = placeholder(g, shape=[])
    y = x * x
    assert_gradients(g, [y, y], [x], [12.0], {x: np.float32(3.0)})


def test_x_that_is_also_a_y_gets_its_grad_y():
    g = Graph()
    x = placeholder(g, shape=[2])
    feeds = {x: np.array([1.0, 2.0], np.float32)}
    assert_gradients(g, [x], [x], [np.ones(2)], feeds)
    assert_gradients(g, [x], [x], [np.array([5.0, 6.0])], feeds,
                     grad_ys=[np.array([5.0, 6.0], np.float32)])


@pytest.mark.parametrize("method", [None, "add_n", "default", "experimental_tree",
                                    "experimental_accumulate_n", 0, 1, 2])
def test_aggregation_methods(method):
    g = Graph()
    x = g.constant(1.0)
    y = x * 2.0
    z = y
    for _ in range(9):
        z = z + y
    options = {} if method is None else {"aggregation_method": method}
    expected = [20.0, 10.0]
    if isinstance(method, str):  # TensorFlow takes only its integer codes
        assert our_gradients(g, [z], [x, y], aggregation_method=method) == pytest.approx(expected)
    else:
        assert_gradients(g, [z], [x, y], expected, **options)


def test_tree_aggregation_names_sums_under_the_node():
    g = Graph()
    x = placeholder(g, shape=[])
    y = x + x + x
    core.gradients(g, [y], [x], aggregation_method="experimental_tree")
    names = [n.name for n in g.nodes]
    assert "gradients/x_gradient_sum/AddN" in names or any("_gradient_sum/AddN" in n for n in names)


def test_gate_gradients_gives_same_values_through_control_dependencies():
    g = Graph()
    x = placeholder(g, shape=[2], name="x")
    w = placeholder(g, shape=[2], name="w")
    y = x * w
    feeds = {x: np.array([1.0, 2.0], np.float32), w: np.array([3.0, 4.0], np.float32)}
    assert_gradients(g, [y], [x, w], [np.array([3.0, 4.0]), np.array([1.0, 2.0])], feeds,
                     gate_gradients=True)
    names = [n.name for n in g.nodes]
    assert any(n.endswith("_grad/tuple/group_deps") for n in names)
    assert any(n.endswith("_grad/tuple/control_dependency_1") for n in names)


def test_gradient_nodes_are_named_as_tensorflow_names_them():
    g = Graph()
    x = placeholder(g, shape=[2], name="x")
    y = build.op("Tanh", x, name="y")
    (grad,) = core.gradients(g, [y], [x])
    assert grad.name == "gradients/y_grad/TanhGrad"
    names = {n.name for n in g.nodes}
    assert {"gradients/Shape", "gradients/grad_ys_0", "gradients/grad_ys_0/Const"} <= names
    (again,) = core.gradients(g, [y], [x])
    assert again.name == "gradients_1/y_grad/TanhGrad"
    (named,) = core.gradients(g, [y], [x], name="my_grads")
    assert named.name == "my_grads/y_grad/TanhGrad"
    z = y + y
    (summed,) = core.gradients(g, [z], [x])
    assert any(n.name == "gradients_2/AddN" for n in g.nodes)


def test_gradient_names_match_tensorflow():
    tf_bridge = pytest.importorskip("tests.tf_bridge")
    g = Graph()
    x = placeholder(g, shape=[2], name="x")
    y = build.op("Tanh", x * x, name="y")
    reference = tf_bridge.TFGraph(g)
    ours = core.gradients(g, [y], [x])
    theirs = reference.gradients(["y"], ["x"])
    assert ours[0].name + ":0" == theirs[0].name


def test_multi_output_op_gets_zeros_for_its_unused_outputs():
    g = Graph()
    x = placeholder(g, shape=[2], name="x")
    first, second = build.op_outputs("IdentityN", x, x * 2.0)
    feeds = {x: np.array([1.0, 2.0], np.float32)}
    assert_gradients(g, [first * 3.0], [x], [np.array([3.0, 3.0])], feeds)
    assert_gradients(g, [second], [x], [np.array([2.0, 2.0])], feeds)


def test_prevent_gradient_raises_lookup_error():
    g = Graph()
    x = placeholder(g, shape=[2], name="x")
    q = build.op("PreventGradient", x, name="q", message="no second derivative here")
    with pytest.raises(LookupError, match=r"No gradient defined for operation 'q' \(op type: "
                                          r"PreventGradient\)") as error:
        core.gradients(g, [q * q], [x])
    assert error.value.node == "q"


def test_op_without_a_rule_between_xs_and_ys_raises_lookup_error(monkeypatch):
    g = Graph()
    x = placeholder(g, shape=[2], name="x")
    y = build.op("Sin", x, name="s")
    monkeypatch.setattr(core.registry.lookup("Sin"), "grad", None)
    with pytest.raises(LookupError, match="op type: Sin"):
        core.gradients(g, [y], [x])


def test_not_differentiable_op_passes_no_gradient():
    g = Graph()
    x = placeholder(g, shape=[2], name="x")
    y = build.op("Floor", x) + x
    assert_gradients(g, [y], [x], [np.ones(2)], {x: np.array([1.5, 2.5], np.float32)})


@pytest.mark.parametrize("options, error", [
    ({"grad_ys": [None, None]}, "Length mismatch. Passed 2 grad_ys for 1 ys"),
    ({"unconnected_gradients": "zeros"}, "Unknown value for unconnected_gradients"),
    ({"aggregation_method": "fastest"}, "Invalid `aggregation_method`"),
    ({"aggregation_method": 3}, "Invalid `aggregation_method`"),
    ({"name": "a b/../"}, "is not a valid scope name"),
])
def test_invalid_arguments_raise_value_error(options, error):
    g = Graph()
    x = placeholder(g, shape=[2])
    with pytest.raises(ValueError, match=error):
        core.gradients(g, [x * x], [x], **options)


def test_grad_y_of_the_wrong_shape_is_a_value_error():
    g = Graph()
    x = placeholder(g, shape=[2])
    with pytest.raises(ValueError, match="grad_ys\\[0\\] has shape \\[3\\]"):
        core.gradients(g, [x * x], [x], grad_ys=[np.ones(3, np.float32)])


def test_complex_y_without_grad_ys_is_a_type_error():
    g = Graph()
    z = placeholder(g, "complex64", [2], name="z")
    with pytest.raises(TypeError, match="Gradients of complex tensors"):
        core.gradients(g, [z], [z])


def test_boolean_grad_y_for_a_float_y_is_a_type_error():
    g = Graph()
    x = placeholder(g, shape=[2])
    with pytest.raises(TypeError, match="must be real or integer"):
        core.gradients(g, [x * x], [x], grad_ys=[np.array([True, False])])


def test_a_long_chain_differentiates_without_recursion():
    g = Graph()
    x = placeholder(g, "float64", shape=[], name="x")
    h = x
    for _ in range(100_000):
        h = build.op("Identity", h)
    (grad,) = core.gradients(g, [h], [x])
    assert core.evaluate(g, [grad], {x: np.float64(1.0)})[0] == 1.0


def test_results_match_tensorflow_for_a_mixed_graph():
    g = Graph()
    x = placeholder(g, "float64", shape=[None, 3], name="x")
    w = placeholder(g, "float64", shape=[3], name="w")
    h = build.op("Tanh", x * w) + build.op("Sigmoid", x)
    y = build.reduce_sum(h * h, [0, 1])
    rng = np.random.default_rng(0)
    feeds = {x: rng.normal(size=(4, 3)), w: rng.normal(size=3)}
    ours = our_gradients(g, [y], [x, w], feeds)
    theirs = tf_gradients(g, [y], [x, w], feeds)
    if theirs is None:
        pytest.skip("TensorFlow is not installed")
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10)
