"""Built once with TensorFlow's graph API and once with gradserve's, the same model gets
the same gradients from tf.gradients and from Client.gradients: the same None, the same
values, and gradient tensors under the same names."""

import gradserve as gs
import numpy as np
import pytest

from tests.client.tf_compare import TF, tf

rng = np.random.default_rng(3)
FEEDS = {"x": rng.standard_normal((4, 3)).astype(np.float32),
         "labels": np.array([0, 2, 1, 2], np.int32)}


def mlp(m):
    rng = np.random.default_rng(4)
    x = m.placeholder(m.float32, [None, 3], name="x")
    labels = m.placeholder(m.int32, [None], name="labels")
    w1 = m.constant(rng.standard_normal((3, 5)).astype(np.float32), name="w1")
    b1 = m.constant(np.zeros(5, np.float32), name="b1")
    w2 = m.constant(rng.standard_normal((5, 3)).astype(np.float32), name="w2")
    hidden = m.nn.relu(m.nn.bias_add(x @ w1, b1))
    loss = m.reduce_mean(m.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                        logits=hidden @ w2))
    return [loss], [w1, b1, w2, x, labels], {}


def mixed(m):
    x = m.placeholder(m.float32, [None, 3], name="x")
    frozen = m.stop_gradient(x * 2.0)
    i = m.cast(x, m.int32)
    probs = m.nn.softmax(x)
    y = m.reduce_sum(m.sigmoid(x[:, 1:]) * frozen[:, :2]) + m.reduce_max(m.cast(i, m.float32))
    z = m.reduce_sum(m.nn.softmax_cross_entropy_with_logits(labels=probs, logits=x ** 2))
    return [y, z], [x, frozen, i, probs], {"stop_gradients": [probs]}


def cnn(m):
    rng = np.random.default_rng(5)
    images = m.constant(rng.standard_normal((2, 6, 6, 2)).astype(np.float32), name="images")
    filters = m.constant(rng.standard_normal((3, 3, 2, 4)).astype(np.float32), name="filters")
    conv = m.nn.conv2d(images, filters, strides=1, padding="SAME")
    pooled = m.nn.max_pool2d(m.nn.relu(conv), 2, 2, "VALID")
    logits = m.reshape(pooled, [2, -1]) @ m.constant(rng.standard_normal((36, 3)).astype(np.float32))
    loss = m.reduce_sum(m.nn.softmax_cross_entropy_with_logits(
        labels=m.constant([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]), logits=logits))
    return [loss], [images, filters], {}


def tf_gradients(build):
    graph = tf.Graph()
    with graph.as_default():
        ys, xs, options = build(TF)
        grads = tf.compat.v1.gradients(ys, xs, **options)
        feeds = {graph.get_tensor_by_name(f"{k}:0"): v for k, v in FEEDS.items()
                 if any(op.name == k for op in graph.get_operations())}
        with tf.compat.v1.Session(graph=graph) as session:
            values = session.run([g for g in grads if g is not None], feeds)
    it = iter(values)
    return [None if g is None else (g.name, next(it)) for g in grads]


@pytest.mark.parametrize("build", [mlp, mixed, cnn], ids=["mlp", "mixed", "cnn"])
def test_same_gradients_as_tensorflow(client, build):
    needed = {"cnn": {"Conv2D", "MaxPool"}}.get(build.__name__, set())
    if not needed <= {op["name"] for op in client.list_ops()["ops"]}:
        pytest.skip(f"the service has no {needed} yet")
    expected = tf_gradients(build)
    graph = gs.Graph()
    with graph.as_default():
        ys, xs, options = build(gs)
        grads = client.gradients(ys, xs, **options)
    assert [g is None for g in grads] == [e is None for e in expected]
    feeds = {graph.get_tensor_by_name(f"{k}:0"): v for k, v in FEEDS.items()
             if any(op.name == k for op in graph.get_operations())}
    values = client.run([g for g in grads if g is not None], feeds)
    for grad, value, (name, tf_value) in zip([g for g in grads if g is not None], values,
                                             [e for e in expected if e is not None]):
        assert grad.name == name
        np.testing.assert_allclose(value, tf_value, rtol=1e-5, atol=1e-6)
