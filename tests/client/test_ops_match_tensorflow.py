"""Each function emits what TensorFlow's Python API emits in graph mode: the same raw ops
with the same names, inputs and attributes (type attributes that follow from the inputs,
and attributes left at TensorFlow's defaults, may be left out)."""

import numpy as np
import pytest

from tests.client.tf_compare import gs_nodes, same_attrs, tf_nodes


def ph(m, shape=(2, 3), dtype="float32", name="x"):
    return m.placeholder(getattr(m, dtype), shape, name=name)


def ints(m, shape=(2,), name="i"):
    return m.placeholder(m.int32, shape, name=name)


def scoped(m):
    x = ph(m)
    with m.name_scope("layer"):
        y = x * 2.0
        with m.name_scope("inner"):
            z = y + 1
    with m.name_scope("layer"):
        m.identity(z, name="out")
    m.identity(z, name="out")
    m.identity(z, name="out")
    with m.name_scope("Mul"):
        pass
    return x * x


CASES = {
    "operators": lambda m: [ph(m) + 1.0, ph(m) * ph(m), ph(m) - 2, ph(m) / 3, ph(m) // 3,
                            ph(m) % 3, ph(m) ** 2, -ph(m), abs(ph(m)), 1 + ph(m), 2 * ph(m),
                            2.0 / ph(m), 3 - ph(m), 2 ** ph(m)],
    "comparisons": lambda m: [ph(m) < 1, ph(m) <= ph(m), ph(m) > 0.5, ph(m) >= 1, 1 < ph(m)],
    "int_truediv": lambda m: ints(m) / ints(m),
    "int8_truediv": lambda m: ph(m, dtype="int8") / 2,
    "matmul": lambda m: [ph(m, (2, 3)) @ ph(m, (3, 4)),
                         m.matmul(ph(m, (2, 3)), ph(m, (4, 3)), transpose_b=True),
                         m.matmul(ph(m, (5, 2, 3)), ph(m, (5, 3, 4)), transpose_a=False),
                         m.matmul(ph(m, (5, 3, 2)), ph(m, (5, 3, 4)), transpose_a=True),
                         m.matmul(ph(m, None), ph(m, (3, 4))),
                         np.ones((4, 2), np.float32) @ ph(m, (2, 3))],
    "reductions": lambda m: [m.reduce_sum(ph(m)), m.reduce_sum(ph(m), 1),
                             m.reduce_sum(ph(m), [0, 1], keepdims=True),
                             m.reduce_mean(ph(m, None)), m.reduce_max(ph(m), axis=-1),
                             m.reduce_min(ph(m)), m.reduce_prod(ph(m), 0),
                             m.reduce_mean(ph(m, ())), m.reduce_euclidean_norm(ph(m), 1),
                             m.reduce_any(ph(m) > 0), m.reduce_all(ph(m) > 0, 0)],
    "constants": lambda m: [m.constant(1.0), m.constant(1), m.constant([1, 2]),
                            m.constant(np.float64(1)), m.constant(np.array([1., 2.])),
                            m.constant(True), m.constant(3, dtype=m.float32),
                            m.constant(2.0, shape=[2, 2]), m.constant([[1.5, 2]], name="c"),
                            m.constant(2**40), m.constant(np.arange(3000, dtype=np.float32))],
    "unary": lambda m: [f(ph(m)) for f in (
        m.exp, m.math.log, m.sin, m.cos, m.tanh, m.sigmoid, m.sqrt, m.square, m.abs,
        m.stop_gradient, m.identity, m.math.negative, m.math.reciprocal, m.math.rsqrt,
        m.math.log1p, m.sign, m.floor, m.nn.relu, m.nn.softmax, m.nn.log_softmax,
        m.nn.softplus, m.nn.elu, m.nn.selu, m.nn.relu6, m.nn.softsign, m.nn.leaky_relu,
        m.nn.l2_loss, m.nn.sigmoid, m.nn.tanh)],
    "binary": lambda m: [m.maximum(ph(m), 0.), m.minimum(ph(m), ph(m)), m.pow(ph(m), 3.0),
                         m.add(ph(m), 1.0), m.subtract(ph(m), 1.0), m.multiply(ph(m), ph(m)),
                         m.divide(ph(m), 2.0), m.math.truediv(ph(m), 2.0),
                         m.math.floordiv(ph(m), 2.0), m.math.floormod(ph(m), 2.0),
                         m.math.squared_difference(ph(m), ph(m)),
                         m.math.divide_no_nan(ph(m), ph(m)), m.equal(ph(m), 1.0),
                         m.not_equal(ph(m), ph(m)), m.greater(ph(m), 0.0),
                         m.clip_by_value(ph(m), 0.0, 1.0)],
    "shape_ops": lambda m: [m.cast(ph(m), m.int32), m.cast(ph(m), m.float32),
                            m.cast(ph(m), m.int32), m.reshape(ph(m), [3, 2]),
                            m.reshape(ph(m), [-1]), m.transpose(ph(m)),
                            m.transpose(ph(m), [1, 0]), m.transpose(ph(m, None)),
                            m.expand_dims(ph(m), 1), m.squeeze(ph(m, (1, 3))),
                            m.squeeze(ph(m, (1, 3, 1)), [2]), m.shape(ph(m)),
                            m.shape(ph(m, (None, 3))), m.size(ph(m)), m.size(ph(m, None)),
                            m.rank(ph(m)), m.rank(ph(m, None)),
                            m.broadcast_to(ph(m, (3,)), [2, 3]), m.tile(ph(m), [2, 1]),
                            m.reverse(ph(m), [0])],
    "joining": lambda m: [m.concat([ph(m), ph(m)], 0), m.concat([ph(m)], 1),
                          m.stack([ph(m), ph(m)]), m.stack([ph(m), ph(m)], axis=1),
                          m.stack([1, 2]), m.stack([ints(m, ()), 2]),
                          m.unstack(ph(m)), m.unstack(ph(m), axis=1),
                          m.split(ph(m, (4, 6)), 2), m.split(ph(m, (4, 6)), [1, 5], axis=1),
                          m.add_n([ph(m), ph(m), ph(m)]), m.add_n([ph(m)])],
    "selection": lambda m: [m.gather(ph(m, (4, 3)), [1, 2]),
                            m.gather(ph(m, (4, 3)), ints(m), axis=1),
                            m.where(ph(m) < 0, ph(m), ph(m)), m.fill([2, 3], 1.0),
                            m.slice(ph(m), [0, 1], [2, -1]), m.pad(ph(m), [[1, 0], [0, 2]]),
                            m.pad(ph(m), [[1, 0], [0, 2]], constant_values=1.5),
                            m.pad(ph(m), [[1, 0], [0, 2]], mode="REFLECT"),
                            m.argmax(ph(m), 1), m.argmin(ph(m), output_type=m.int32),
                            m.math.cumsum(ph(m), 1), m.math.cumprod(ph(m), exclusive=True),
                            m.range(5), m.range(1, 10, 2), m.range(ints(m, ())),
                            m.placeholder_with_default(m.constant([1.0, 2.0]), [2])],
    "zeros_ones": lambda m: [m.zeros_like(ph(m)), m.ones_like(ph(m)), m.zeros_like(ph(m, None)),
                             m.ones_like(ph(m, (None, 3))), m.zeros_like(ph(m, (40, 30))),
                             m.ones_like(ph(m), dtype=m.int32),
                             m.zeros_like(ph(m, (None, 3)), dtype=m.int32),
                             m.zeros([2, 2]), m.ones([50, 40], m.int32)],
    "indexing": lambda m: [(x := ph(m, (4, 5, 6)))[1], x[1:3], x[:, 2], x[..., 1],
                           x[None, 1:, ::-1], x[-1, ..., None, :2], x[::2], x[ints(m, ())],
                           x[ints(m, ()), 1:], x[-2:, ..., ints(m, ())]],
    "scopes": scoped,
    "gradients_named": lambda m: m.identity(ph(m), name="gradients"),
    "nn": lambda m: [m.nn.bias_add(ph(m), ph(m, (3,), name="b")),
                     m.nn.bias_add(ph(m, (1, 3, 4, 4)), ph(m, (3,)), data_format="NCHW"),
                     m.nn.leaky_relu(ph(m), alpha=0.1)],
    "softmax_xent": lambda m: m.nn.softmax_cross_entropy_with_logits(labels=ph(m), logits=ph(m)),
    "softmax_xent_partial": lambda m: m.nn.softmax_cross_entropy_with_logits(
        labels=ph(m, (None, 3)), logits=ph(m, (None, 3))),
    "softmax_xent_rank3": lambda m: m.nn.softmax_cross_entropy_with_logits(
        labels=ph(m, (2, 4, 3)), logits=ph(m, (2, 4, 3))),
    "sparse_xent": lambda m: m.nn.sparse_softmax_cross_entropy_with_logits(
        labels=ints(m), logits=ph(m)),
    "sparse_xent_unknown_batch": lambda m: m.nn.sparse_softmax_cross_entropy_with_logits(
        labels=ints(m, (None,)), logits=ph(m, (None, 3)), name="loss"),
    "sparse_xent_rank3": lambda m: m.nn.sparse_softmax_cross_entropy_with_logits(
        labels=ints(m, (2, 4)), logits=ph(m, (2, 4, 3))),
    "sigmoid_xent": lambda m: [m.nn.sigmoid_cross_entropy_with_logits(labels=ph(m), logits=ph(m)),
                               m.nn.sigmoid_cross_entropy_with_logits(
                                   labels=ph(m, (None, 3)), logits=ph(m, (None, 3)))],
    "conv_pool": lambda m: [m.nn.conv2d(ph(m, (1, 5, 5, 2)), ph(m, (3, 3, 2, 4)), strides=1,
                                        padding="SAME"),
                            m.nn.conv2d(ph(m, (1, 9, 9, 2)), ph(m, (3, 3, 2, 4)), strides=[2, 2],
                                        padding="VALID", dilations=2),
                            m.nn.max_pool2d(ph(m, (1, 4, 4, 2)), 2, 2, "VALID")],
}


@pytest.mark.parametrize("build", CASES.values(), ids=CASES.keys())
def test_emits_the_ops_tensorflow_emits(build):
    theirs, ours = tf_nodes(build), gs_nodes(build)
    assert [n[:3] for n in ours] == [n[:3] for n in theirs]
    for mine, tf_node in zip(ours, theirs):
        assert same_attrs(mine[3], tf_node[3]), (mine, tf_node)
