"""Small helpers to build test graphs with the core API, and to run tf.gradients on them
both here and (when installed) in TensorFlow."""

import numpy as np
import pytest

import core
from core.graph import Graph, Tensor


def placeholder(graph: Graph, dtype="float32", shape=None, name="Placeholder") -> Tensor:
    return graph.emit("Placeholder", [], name=name, dtype=dtype, shape=shape).output(0)


def our_gradients(graph: Graph, ys, xs, feeds=None, **options):
    """tf.gradients here: the evaluated gradients, None where TensorFlow gives None."""
    grads = core.gradients(graph, ys, xs, **options)
    fetched = [g for g in grads if g is not None]
    values = iter(core.evaluate(graph, fetched, feeds or {}))
    return [None if g is None else next(values) for g in grads]


def tf_gradients(graph: Graph, ys, xs, feeds=None, grad_ys=None, stop_gradients=None, **options):
    """The same call in TensorFlow on the same graph, or None when TensorFlow is absent."""
    try:
        from tests.tf_bridge import TFGraph
    except pytest.skip.Exception:  # TensorFlow is not installed
        return None
    reference = TFGraph(graph)
    if grad_ys is not None:
        grad_ys = [g if g is None or isinstance(g, np.ndarray) else reference.tensor(g.name)
                   for g in grad_ys]
    if stop_gradients is not None:
        stop_gradients = [reference.tensor(t.name) for t in stop_gradients]
    grads = reference.gradients([y.name for y in ys], [x.name for x in xs], grad_ys=grad_ys,
                                stop_gradients=stop_gradients, **options)
    fetched = [g for g in grads if g is not None]
    values = iter(reference.run(fetched, {t.name: v for t, v in (feeds or {}).items()})
                  if fetched else [])
    return [None if g is None else next(values) for g in grads]


def assert_gradients(graph: Graph, ys, xs, expected, feeds=None, **options):
    """Our gradients equal `expected` (None exactly where expected), and TensorFlow's."""
    reference = tf_gradients(graph, ys, xs, feeds, **options)
    ours = our_gradients(graph, ys, xs, feeds, **options)
    for results, who in ((ours, "gradserve"), (reference, "TensorFlow")):
        if results is None:
            continue
        assert len(results) == len(expected), who
        for got, want in zip(results, expected):
            if want is None:
                assert got is None, f"{who}: expected None, got {got}"
            else:
                assert got is not None, f"{who}: expected {want}, got None"
                np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=who)
    return ours
