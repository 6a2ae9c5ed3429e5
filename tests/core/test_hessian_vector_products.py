"""Second order through the rules of whole models: Hessian-vector products of the `mlp`
and `cnn` workloads of shared/bench/WORKLOADS.md (at a reduced size), against TensorFlow."""

import numpy as np
import pytest

import core
from core import build
from core.graph import Graph
from tests.core.graphs import placeholder

tf_bridge = pytest.importorskip("tests.tf_bridge")
rng = np.random.default_rng(11)


def dense(g, h, n_in, n_out, i, relu=True):
    w = placeholder(g, "float64", [n_in, n_out], name=f"w{i}")
    b = placeholder(g, "float64", [n_out], name=f"b{i}")
    out = build.op("BiasAdd", build.matmul(h, w), b)
    return (build.op("Relu", out) if relu else out), [w, b]


def loss_of(g, logits, labels):
    loss, _ = build.op_outputs("SoftmaxCrossEntropyWithLogits", logits, labels)
    return build.op("Mean", loss, g.constant(np.array([0], np.int32)))


def mlp():
    g = Graph()
    x = placeholder(g, "float64", [6, 12], name="x")
    labels = g.constant(np.eye(5)[rng.integers(0, 5, 6)])
    h, p1 = dense(g, x, 12, 8, 1)
    h, p2 = dense(g, h, 8, 8, 2)
    logits, p3 = dense(g, h, 8, 5, 3, relu=False)
    return g, x, loss_of(g, logits, labels), p1 + p2 + p3


def cnn():
    g = Graph()
    x = placeholder(g, "float64", [2, 8, 8, 1], name="x")
    labels = g.constant(np.eye(5)[rng.integers(0, 5, 2)])
    params, h = [], x
    for i, (c_in, c_out) in enumerate([(1, 3), (3, 4)]):
        w = placeholder(g, "float64", [3, 3, c_in, c_out], name=f"k{i}")
        b = placeholder(g, "float64", [c_out], name=f"c{i}")
        h = build.op("Conv2D", h, w, strides=[1, 1, 1, 1], padding="SAME")
        h = build.op("Relu", build.op("BiasAdd", h, b))
        h = build.op("MaxPool", h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")
        params += [w, b]
    h = build.reshape(h, [2, 16])
    logits, p = dense(g, h, 16, 5, 9, relu=False)
    return g, x, loss_of(g, logits, labels), params + p


@pytest.mark.parametrize("model", [mlp, cnn])
def test_hessian_vector_product_matches_tensorflow(model):
    g, x, loss, params = model()
    feeds = {t: rng.normal(scale=0.5, size=t.shape) for t in [x] + params}
    vs = [rng.normal(size=p.shape) for p in params]
    reference = tf_bridge.TFGraph(g)

    grads = core.gradients(g, [loss], params)
    inner = None
    for grad, v in zip(grads, vs):
        term = build.reduce_sum(grad * g.constant(v), list(range(len(v.shape))))
        inner = term if inner is None else inner + term
    ours = core.evaluate(g, core.gradients(g, [inner], params), feeds)

    tf = tf_bridge.tf
    with reference.tf_graph.as_default():
        tf_params = [reference.tensor(p.name) for p in params]
        tf_grads = tf.compat.v1.gradients(reference.tensor(loss.name), tf_params)
        tf_inner = tf.add_n([tf.reduce_sum(gr * v) for gr, v in zip(tf_grads, vs)])
        tf_hvp = tf.compat.v1.gradients(tf_inner, tf_params)
    theirs = reference.run(tf_hvp, {t.name: v for t, v in feeds.items()})
    assert any(np.any(h != 0) for h in ours)
    for p, a, b in zip(params, ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=p.name)
