"""Every op case against TensorFlow: the same graph, values and gradients (first and
second order) computed by tf.gradients in graph mode. Skipped where TensorFlow is absent."""

import numpy as np
import pytest

import core
from tests.core.cases import all_cases
from tests.core.opcheck import build_case, weighted_loss
from tests.tf_bridge import TFGraph, gradient_pairs

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

    for pair in gradient_pairs(built, loss, reference, case.second_order):
        _assert_close(pair.ours, pair.theirs, case, str(pair))
