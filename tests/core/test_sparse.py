"""IndexedSlices: the gradient of a gather along axis 0 touches only the gathered rows,
is aggregated without densifying, and is made dense once, as TensorFlow does."""

import numpy as np
import pytest

import core
from core import build
from core.graph import Graph
from core.sparse import IndexedSlices
from tests.core.graphs import placeholder

rng = np.random.default_rng(3)
PARAMS = rng.normal(size=(6, 4))
FIRST = np.array([0, 2, 2, 5], np.int32)
SECOND = np.array([[1, 2], [2, 0]], np.int32)


def two_gathers():
    g = Graph()
    params = placeholder(g, "float64", [6, 4], name="params")
    axis = g.constant(np.int32(0))
    a = build.op("GatherV2", params, g.constant(FIRST), axis)
    b = build.op("GatherV2", params, g.constant(SECOND), axis)
    loss = build.reduce_sum(a * a, [0, 1]) + build.reduce_sum(b * 3.0, [0, 1, 2])
    return g, params, loss


def dense_expected():
    expected = np.zeros_like(PARAMS)
    np.add.at(expected, FIRST, 2 * PARAMS[FIRST])
    np.add.at(expected, SECOND.reshape(-1), 3.0)
    return expected


def test_sparse_gradient_concatenates_contributions():
    g, params, loss = two_gathers()
    (grad,) = core.gradients(g, [loss], [params], indexed_slices=True)
    assert isinstance(grad, IndexedSlices)
    values, indices, dense_shape = core.evaluate(
        g, [grad.values, grad.indices, grad.dense_shape], {params: PARAMS})
    assert values.shape == (8, 4) and indices.tolist() == FIRST.tolist() + SECOND.reshape(-1).tolist()
    assert dense_shape.tolist() == [6, 4]
    dense = np.zeros_like(PARAMS)
    np.add.at(dense, indices, values)
    np.testing.assert_allclose(dense, dense_expected())


def test_dense_gradient_is_scattered_once():
    g, params, loss = two_gathers()
    before = len(g)
    (grad,) = core.gradients(g, [loss], [params])
    added = [n.op for n in g.nodes[before:]]
    assert added.count("UnsortedSegmentSum") == 1
    np.testing.assert_allclose(core.evaluate(g, [grad], {params: PARAMS})[0], dense_expected())


def test_sparse_and_dense_contributions_add_up():
    g = Graph()
    params = placeholder(g, "float64", [6, 4], name="params")
    gathered = build.op("GatherV2", params, g.constant(FIRST), g.constant(np.int32(0)))
    loss = build.reduce_sum(gathered, [0, 1]) + build.reduce_sum(params * params, [0, 1])
    (grad,) = core.gradients(g, [loss], [params], indexed_slices=True)
    assert not isinstance(grad, IndexedSlices)
    expected = 2 * PARAMS
    np.add.at(expected, FIRST, 1.0)
    np.testing.assert_allclose(core.evaluate(g, [grad], {params: PARAMS})[0], expected)


def test_sparse_gradient_matches_tensorflow():
    tf_bridge = pytest.importorskip("tests.tf_bridge")
    g, params, loss = two_gathers()
    reference = tf_bridge.TFGraph(g)
    with reference.tf_graph.as_default():
        (theirs,) = tf_bridge.tf.compat.v1.gradients(reference.tensor(loss.name),
                                                     [reference.tensor("params")])
    assert isinstance(theirs, tf_bridge.tf.IndexedSlices)
    their_values, their_indices = reference.run([theirs.values, theirs.indices],
                                                {"params": PARAMS})
    (ours,) = core.gradients(g, [loss], [params], indexed_slices=True)
    values, indices = core.evaluate(g, [ours.values, ours.indices], {params: PARAMS})
    np.testing.assert_array_equal(indices, their_indices)
    np.testing.assert_allclose(values, their_values)
