"""Gradients at the points where an op is not smooth (ties, kinks, zeros), where a
convention decides the value: each checked against the expected value and TensorFlow's."""

import numpy as np
import pytest

import core
from core import build
from tests.core.opcheck import Case, build_case, weighted_loss
from tests.tf_bridge import TFGraph


def gradients_both(op, inputs, attrs=None, loss=None):
    """d loss / d each floating input, ours and TensorFlow's, checked equal; the loss is
    the sum of the op's first output unless `loss(built)` gives another."""
    built = build_case(Case(op, inputs, attrs or {}))
    if loss is None:
        y = built.outputs[0]
        target = build.reduce_sum(y, list(range(len(y.shape))))
    else:
        target = loss(built)
    ours = core.evaluate(built.graph, core.gradients(built.graph, [target], built.xs), built.feeds)
    reference = TFGraph(built.graph)
    theirs = reference.run(reference.gradients([target.name], [x.name for x in built.xs]),
                           {x.name: v for x, v in built.feeds.items()})
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    return ours


@pytest.mark.parametrize("op", ["Max", "Min"])
def test_reduction_ties_split_the_gradient_equally(op):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    if op == "Min":
        x = -x
    (grad,) = gradients_both(op, [x, np.array([1], np.int32)])
    np.testing.assert_allclose(grad, [[0, 0.5, 0.5], [1 / 3] * 3])
    (grad,) = gradients_both(op, [x, np.array([0, 1], np.int32)], {"keep_dims": True})
    np.testing.assert_allclose(grad, [[0, 0.5, 0.5], [0, 0, 0]])


def test_relu_family_at_the_kinks():
    x = np.array([-1.0, 0.0, 2.0, 6.0, 7.0])
    np.testing.assert_array_equal(gradients_both("Relu", [x])[0], [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(gradients_both("Relu6", [x])[0], [0, 0, 1, 0, 0])
    np.testing.assert_allclose(gradients_both("LeakyRelu", [x], {"alpha": 0.25})[0],
                               [0.25, 0.25, 1, 1, 1])


def test_relu_second_derivative_at_zero_is_zero():
    def loss(built):
        (g,) = core.gradients(built.graph, [weighted_loss(built)], built.xs)
        return build.reduce_sum(g * g, [0])
    (grad,) = gradients_both("Relu", [np.array([-1.0, 0.0, 2.0])], loss=loss)
    np.testing.assert_array_equal(grad, [0, 0, 0])


@pytest.mark.parametrize("op", ["Maximum", "Minimum"])
def test_elementwise_ties_go_to_x(op):
    dx, dy = gradients_both(op, [np.array([1.0, 2.0, 5.0]), np.array([1.0, 3.0, 0.0])])
    expected = [1, 0, 1] if op == "Maximum" else [1, 1, 0]
    np.testing.assert_array_equal(dx, expected)
    np.testing.assert_array_equal(dy, 1 - np.array(expected))


def test_abs_at_zero_is_zero():
    (grad,) = gradients_both("Abs", [np.array([-1.5, 0.0, 2.0])])
    np.testing.assert_array_equal(grad, [-1, 0, 1])


def test_euclidean_norm_of_zeros_is_nan():
    (grad,) = gradients_both("EuclideanNorm", [np.zeros((2, 2)), np.array([1], np.int32)])
    assert np.all(np.isnan(grad))


def test_prod_with_zeros_uses_the_product_of_the_others():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0]])
    (grad,) = gradients_both("Prod", [x, np.array([1], np.int32)])
    np.testing.assert_array_equal(grad, [[0, 6, 0], [0, 0, 0]])


def test_prod_second_derivative_at_a_zero_is_tensorflows():
    """TensorFlow's Cumprod gradient divides by x (DivNoNan), so through Prod's gradient
    the second derivative w.r.t. a zero element is 0, not the product of the others."""
    def loss(built):
        (g,) = core.gradients(built.graph, [build.reduce_sum(built.outputs[0], [0])], built.xs)
        return build.reduce_sum(g, [0, 1])
    x = np.array([[2.0, 0.0, 3.0]])
    (hessian_sum,) = gradients_both("Prod", [x, np.array([1], np.int32)], loss=loss)
    np.testing.assert_array_equal(hessian_sum, [[3, 0, 2]])  # exact: [[3, 5, 2]]


def test_softmax_cross_entropy_labels_gradient_ignores_the_backprop_output():
    """d labels = -grad_loss * log_softmax(logits) only: the backprop output's own
    dependence on the labels (d backprop / d labels = -1) is left out, as TensorFlow
    leaves it out."""
    logits, labels = np.array([[0.5, -1.0, 2.0]]), np.array([[0.2, 0.3, 0.5]])

    def both_outputs(built):
        loss, backprop = built.outputs
        return build.reduce_sum(loss, [0]) + build.reduce_sum(backprop, [0, 1])
    _, d_labels = gradients_both("SoftmaxCrossEntropyWithLogits", [logits, labels],
                                 loss=both_outputs)
    shift = logits - logits.max()
    np.testing.assert_allclose(d_labels, np.log(np.exp(shift).sum()) - shift)


TIES = np.array([[1.0, 3.0, 3.0], [3.0, 2.0, 0.0], [1.0, 3.0, 1.0]])  # every window has a tie
WINDOWS_2X2 = {"ksize": (1, 2, 2, 1), "strides": (1, 1, 1, 1), "padding": "VALID"}


def test_max_pool_ties_go_to_the_first_maximum_in_each_window():
    (grad,) = gradients_both("MaxPool", [TIES.reshape(1, 3, 3, 1)], WINDOWS_2X2)
    np.testing.assert_array_equal(grad[0, ..., 0], [[0, 2, 0], [1, 0, 0], [0, 1, 0]])


def test_max_pool_3d_ties_each_get_the_gradient():
    """TensorFlow's MaxPool3DGrad gives each window's gradient to every maximum in it."""
    windows = {"ksize": (1, 1, 2, 2, 1), "strides": (1,) * 5, "padding": "VALID"}
    (grad,) = gradients_both("MaxPool3D", [TIES.reshape(1, 1, 3, 3, 1).astype(np.float32)],
                             windows)
    np.testing.assert_array_equal(grad[0, 0, ..., 0], [[0, 2, 1], [2, 0, 0], [0, 2, 0]])


def test_max_pool_grad_grad_reads_the_first_position_equal_to_orig_output():
    """d MaxPoolGrad / d grad is MaxPoolGradGrad: the first position of each window where
    orig_input equals orig_output, none when none does (here the 9 of orig_output)."""
    g = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    orig_output = np.array([[3.0, 2.0], [9.0, 3.0]]).reshape(1, 2, 2, 1)

    def weighted(built):
        return build.reduce_sum(built.outputs[0] * built.graph.constant(g), [0, 1, 2, 3])
    _, _, d_grad = gradients_both("MaxPoolGrad", [TIES.reshape(1, 3, 3, 1), orig_output,
                                                  np.ones((1, 2, 2, 1))], WINDOWS_2X2, weighted)
    np.testing.assert_array_equal(d_grad[0, ..., 0], [[2, 5], [0, 8]])


def values_both(op, inputs, attrs=None):
    """The op's first output, ours and TensorFlow's, checked equal to rounding (NaN
    matching NaN)."""
    built = build_case(Case(op, inputs, attrs or {}))
    y = built.outputs[0]
    (ours,) = core.evaluate(built.graph, [y], built.feeds)
    reference = TFGraph(built.graph)
    theirs = reference.run(reference.tensor(y.name), {x.name: v for x, v in built.feeds.items()})
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    return ours


@pytest.mark.parametrize("op", ["Round", "Rint"])
def test_rounding_takes_halves_to_even(op):
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.51])
    np.testing.assert_array_equal(values_both(op, [x]), [-2, -2, 0, 0, 2, 2, 3])


@pytest.mark.parametrize("op, y, dx, dy", [
    ("Xlogy", [0.0, 3.0, 3.0], [0, 0, np.log(3)], [0, 0, 2 / 3]),
    ("Xlog1py", [-1.0, 3.0, 3.0], [0, 0, np.log(4)], [0, 0, 2 / 4]),
    ("Xdivy", [0.0, 3.0, 3.0], [0, 0, 1 / 3], [0, 0, -2 / 9]),
])
def test_x_log_y_family_is_zero_at_x_zero_and_so_is_its_x_gradient(op, y, dx, dy):
    """Where x is 0 the value is 0 whatever y is, and so is d/dx (not log y: TensorFlow
    computes it as xlogy([x != 0], y))."""
    x, y = np.array([0.0, 0.0, 2.0]), np.array(y)
    np.testing.assert_array_equal(values_both(op, [x, y])[:2], [0, 0])
    grads = gradients_both(op, [x, y])
    np.testing.assert_allclose(grads[0], dx, rtol=1e-15)
    np.testing.assert_allclose(grads[1], dy, rtol=1e-15)


def test_mul_no_nan_is_zero_where_y_is_zero_even_for_nan_x():
    x, y = np.array([np.nan, np.inf, 1.5]), np.array([0.0, 0.0, 2.0])
    np.testing.assert_array_equal(values_both("MulNoNan", [x, y]), [0, 0, 3])
    dx, dy = gradients_both("MulNoNan", [x, y])
    np.testing.assert_array_equal(dx, [0, 0, 2])
    np.testing.assert_array_equal(dy, x)


def test_clip_by_value_passes_the_gradient_at_the_bounds():
    t = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    dt, dlow, dhigh = gradients_both("ClipByValue", [t, np.array(-0.5), np.array(0.5)])
    np.testing.assert_array_equal(dt, [0, 1, 1, 1, 0])
    assert dlow == 1 and dhigh == 1


def test_clip_by_value_with_crossed_bounds_gives_the_minimum():
    """The value is the lower bound; the gradient goes to each bound t passes."""
    t, low, high = np.array([0.0, 2.0, 5.0]), np.array(3.0), np.array(1.0)
    np.testing.assert_array_equal(values_both("ClipByValue", [t, low, high]), [3, 3, 3])
    dt, dlow, dhigh = gradients_both("ClipByValue", [t, low, high])
    np.testing.assert_array_equal(dt, [0, 0, 0])
    assert dlow == 2 and dhigh == 2


def test_digamma_and_polygamma_at_the_poles():
    x = np.array([0.0, -0.0, -1.0, -2.0, 0.5])
    assert np.all(np.isnan(values_both("Digamma", [x])[:4]))
    orders = np.array([[0.0], [1.0], [2.0], [3.0], [1.5]])
    poles = values_both("Polygamma", [orders, x])[:, :4]
    np.testing.assert_array_equal(np.isinf(poles).all(1), [False, True, False, True, False])
    np.testing.assert_array_equal(np.isnan(poles).all(1), [True, False, True, False, True])


def test_cumulative_logsumexp_exclusive_gradient_through_its_log_zero():
    """The exclusive scan starts at log(0) = -inf; d sum(w exp(out)) / d x_i is
    exp(x_i) times the weights of the outputs after i."""
    x, w = np.array([[0.5, -1.0, 2.0]]), np.array([[1.0, 2.0, 3.0]])

    def loss(built):
        y = built.outputs[0]
        return build.reduce_sum(build.op("Exp", y) * built.graph.constant(w), [0, 1])
    (grad,) = gradients_both("CumulativeLogsumexp", [x, np.array(1, np.int32)],
                             {"exclusive": True}, loss=loss)
    np.testing.assert_allclose(grad, np.exp(x) * [[5, 3, 0]], rtol=1e-12)


@pytest.mark.parametrize("op", ["SegmentMax", "SegmentMin"])
def test_segment_ties_split_the_gradient_equally(op):
    data = np.array([[1.0, 3.0], [3.0, 3.0], [2.0, 0.0], [2.0, 5.0]])
    (grad,) = gradients_both(op, [data if op == "SegmentMax" else -data,
                                  np.array([0, 0, 2, 2], np.int32)])
    np.testing.assert_array_equal(grad, [[0, 0.5], [1, 0.5], [0.5, 0], [0.5, 1]])


@pytest.mark.parametrize("op", ["UnsortedSegmentMax", "UnsortedSegmentMin"])
def test_unsorted_segment_ties_split_the_gradient_equally_negative_ids_get_none(op):
    data = np.array([3.0, 1.0, 3.0, 3.0, 2.0])
    ids, num = np.array([1, 0, 1, -1, 0], np.int32), np.array(3, np.int32)
    (grad,) = gradients_both(op, [data if op == "UnsortedSegmentMax" else -data, ids, num])
    np.testing.assert_array_equal(grad, [0.5, 0, 0.5, 0, 1])


def test_unsorted_segment_prod_second_derivative_at_a_zero_is_tensorflows():
    """d y / d x is y / x away from zeros, whose derivative at the segment's zero is 0 / 0:
    TensorFlow's second derivatives through a segment with one zero are NaN."""
    def loss(built):
        (g,) = core.gradients(built.graph, [build.reduce_sum(built.outputs[0], [0])], built.xs)
        return build.reduce_sum(g, [0])
    x = np.array([2.0, 0.0, 3.0, 4.0, 5.0])
    (hessian_sum,) = gradients_both("UnsortedSegmentProd", [
        x, np.array([0, 0, 0, 1, 1], np.int32), np.array(2, np.int32)], loss=loss)
    assert np.isnan(hessian_sum[:3]).all()
    np.testing.assert_array_equal(hessian_sum[3:], [1, 1])


def top_k_both(x, k, **attrs):
    """TopKV2's values and indices, ours and TensorFlow's."""
    built = build_case(Case("TopKV2", [x, np.array(k, np.int32)], attrs))
    ours = core.evaluate(built.graph, built.outputs, built.feeds)
    reference = TFGraph(built.graph)
    theirs = reference.run([reference.tensor(t.name) for t in built.outputs],
                           {t.name: v for t, v in built.feeds.items()})
    return ours, theirs


TOP_K_TIES = np.array([[1.0, 5.0, 3.0, 5.0, 2.0], [4.0, 4.0, 4.0, 1.0, 0.0]])


def test_top_k_ties_come_in_the_order_of_their_indices():
    (values, indices), theirs = top_k_both(TOP_K_TIES, 3)
    np.testing.assert_array_equal(indices, [[1, 3, 2], [0, 1, 2]])
    np.testing.assert_array_equal(indices, theirs[1])
    np.testing.assert_array_equal(values, theirs[0])

    def weighted(built):
        w = built.graph.constant(np.array([3.0, 2.0, 1.0]))
        return build.reduce_sum(built.outputs[0] * w, [0, 1])
    (grad,) = gradients_both("TopKV2", [TOP_K_TIES, np.array(3, np.int32)], loss=weighted)
    np.testing.assert_array_equal(grad, [[0, 3, 1, 2, 0], [3, 2, 1, 0, 0]])


def test_top_k_unsorted_takes_the_same_entries_as_tensorflow():
    """With sorted=False TensorFlow's order is its own; the entries taken are the same."""
    (values, indices), (tf_values, tf_indices) = top_k_both(TOP_K_TIES, 3, sorted=False)
    np.testing.assert_array_equal(np.sort(indices), np.sort(tf_indices))
    np.testing.assert_array_equal(np.sort(values), np.sort(tf_values))
    (grad,) = gradients_both("TopKV2", [TOP_K_TIES, np.array(3, np.int32)], {"sorted": False})
    np.testing.assert_array_equal(grad, [[0, 1, 1, 1, 0], [1, 1, 1, 0, 0]])


@pytest.mark.parametrize("op", ["SegmentMax", "SegmentMin", "UnsortedSegmentMax",
                                "UnsortedSegmentMin"])
def test_segment_extrema_keep_a_nan_until_a_later_value_replaces_it(op):
    data = np.array([np.nan, 1.0, 1.0, np.nan, 1.0, np.nan, 2.0])
    ids = np.array([0, 0, 1, 1, 2, 2, 2], np.int32)
    inputs = [data, ids] + ([np.array(3, np.int32)] if op.startswith("Unsorted") else [])
    np.testing.assert_array_equal(values_both(op, inputs), [1, np.nan, 2])


def test_sqrt_at_zero_has_an_infinite_gradient():
    (dx,) = gradients_both("Sqrt", [np.array([0.0, 4.0])])
    assert dx[0] == np.inf and dx[1] == 0.25


def test_div_no_nan_at_y_zero_gives_zero_value_and_gradients():
    dx, dy = gradients_both("DivNoNan", [np.array([3.0, 2.0]), np.array([0.0, 4.0])])
    assert dx.tolist() == [0.0, 0.25] and dy.tolist() == [0.0, -0.125]


def test_pow_at_x_zero_and_its_exponent_gradient_for_x_not_positive():
    dx, dy = gradients_both("Pow", [np.array([0.0, -2.0, 3.0]), np.array([2.0, 2.0, 2.0])])
    assert dx.tolist() == [0.0, -4.0, 6.0]
    assert dy[0] == 0.0 and dy[1] == 0.0 and dy[2] == pytest.approx(9 * np.log(3.0))


def test_cumprod_with_a_zero_as_tensorflow():
    # TensorFlow's rule divides by x (DivNoNan): at the zero it gives 0, not the exact 8
    (dx,) = gradients_both("Cumprod", [np.array([2.0, 0.0, 3.0]), np.array(0, np.int32)])
    assert dx.tolist() == [1.0, 0.0, 0.0]
