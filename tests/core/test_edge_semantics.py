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
