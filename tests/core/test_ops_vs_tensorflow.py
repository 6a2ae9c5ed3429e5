"""Every op case against TensorFlow: the same graph, values and gradients (first and
second order) computed by tf.gradients in graph mode. Skipped where TensorFlow is absent."""

import numpy as np
import pytest

import core
from tests.core.cases import all_cases
from tests.core.opcheck import build_case, weighted_loss
from tests.tf_bridge import TFGraph, tf

CASES = [c for c in all_cases() if c.tf]


def _assert_close(ours, theirs, case, what):
    if theirs is None or ours is None:
        assert ours is None or not np.any(ours), f"{case} {what}: TensorFlow gives None"
        assert theirs is None or not np.any(theirs), f"{case} {what}: we give None"
        return
    tolerance = 1e-5 if np.asarray(theirs).dtype == np.float64 else 1e-4
    np.testing.assert_allclose(ours, theirs, rtol=tolerance, atol=tolerance,
                               err_msg=f"{case} {what}")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op_matches_tensorflow(case):
    built = build_case(case)
    trainable = case.grad and not case.no_gradient and case.differentiated
    loss = weighted_loss(built) if trainable else None
    reference = TFGraph(built.graph)
    feeds = {x.name: v for x, v in built.feeds.items()}

    ours = core.evaluate(built.graph, built.outputs, built.feeds)
    theirs = reference.run([reference.tensor(t.name) for t in built.outputs], feeds)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.dtype == b.dtype, f"{case} output {i} dtype"
        assert a.shape == b.shape, f"{case} output {i} shape"
        if i not in case.tf_unspecified:
            _assert_close(a, b, case, f"output {i}")
    if not trainable:
        return

    xs = [x.name for x in built.xs]
    our_grads = core.gradients(built.graph, [loss], built.xs)
    tf_grads = reference.gradients([loss.name], xs)
    for x, ours_g, theirs_g in zip(xs, our_grads, tf_grads):
        a = None if ours_g is None else core.evaluate(built.graph, [ours_g], built.feeds)[0]
        b = None if theirs_g is None else reference.run(theirs_g, feeds)
        _assert_close(a, b, case, f"d/d{x}")

    if case.second_order and all(g is not None for g in our_grads) and \
            all(g is not None for g in tf_grads):
        rng = np.random.default_rng(1)
        vs = [rng.uniform(0.5, 1.5, built.feeds[x].shape).astype(x.dtype) for x in built.xs]
        inner = None
        for g, v in zip(our_grads, vs):
            term = core.build.reduce_sum(g * built.graph.constant(v), list(range(v.ndim)))
            inner = term if inner is None else inner + term
        ours2 = core.gradients(built.graph, [inner], built.xs)
        with reference.tf_graph.as_default():
            tf_inner = tf.add_n([tf.reduce_sum(g * v) for g, v in zip(tf_grads, vs)])
            theirs2 = tf.compat.v1.gradients(tf_inner, [reference.tensor(x) for x in xs])
        for x, a_t, b_t in zip(xs, ours2, theirs2):
            a = None if a_t is None else core.evaluate(built.graph, [a_t], built.feeds)[0]
            b = None if b_t is None else reference.run(b_t, feeds)
            _assert_close(a, b, case, f"second order d/d{x}")
