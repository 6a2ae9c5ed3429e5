"""Table-driven checks of every op: shape rule against kernel, gradient against central
differences (first and second order), and the same op in TensorFlow.

A `Case` is one op applied to concrete inputs. Floating inputs become placeholders
(the xs); other inputs become constants, so shape rules can read axes and shapes."""

from dataclasses import dataclass, field

import numpy as np
import pytest

import core
from core import build
from core import dtypes as dt
from core.graph import Graph, NodeDef, Tensor
from core.shapes import compatible


@dataclass
class Case:
    op: str
    inputs: list
    attrs: dict = field(default_factory=dict)
    id: str = ""
    wrt: tuple | None = None        # inputs to differentiate; default: every floating input
    grad: bool = True               # check the first-order gradient numerically
    second_order: bool = True       # and the second-order one
    no_gradient: bool = False       # no gradient flows through the op: tf.gradients gives None
    tf: bool = True                 # compare values and gradients with TensorFlow
    loss_outputs: tuple | None = None  # outputs in the loss; default: every trainable one
    tf_unspecified: tuple = ()      # outputs TensorFlow leaves uninitialised: not compared
    rtol: float = 1e-4
    atol: float = 1e-6

    def __post_init__(self):
        self.inputs = [np.asarray(v) for v in self.inputs]

    @property
    def differentiated(self) -> tuple:
        if self.wrt is not None:
            return self.wrt
        return tuple(i for i, v in enumerate(self.inputs) if v.dtype in dt.FLOATS | dt.COMPLEX)

    def __str__(self):
        return f"{self.op}-{self.id}" if self.id else self.op


@dataclass
class Built:
    graph: Graph
    xs: list[Tensor]                  # the differentiated inputs' placeholders
    feeds: dict[Tensor, np.ndarray]
    outputs: list[Tensor]
    loss_outputs: tuple | None = None


def i32(value) -> np.ndarray:
    return np.array(value, np.int32)


def i64(value) -> np.ndarray:
    return np.array(value, np.int64)


def build_case(case: Case, unknown_dims: bool = False, unknown_ranks: bool = False) -> Built:
    """The case as a graph: placeholders x0, x1, ... for the differentiated inputs, constants
    c0, c1, ... for the rest, and the op as node `y`. With `unknown_dims` the placeholders
    know only their rank, so shape rules and gradient rules take their run-time paths; with
    `unknown_ranks` every input is a placeholder of unknown shape (the constants fed too)."""
    defs, refs = [], []
    for i, value in enumerate(case.inputs):
        if i in case.differentiated or unknown_ranks:
            name = f"x{i}" if i in case.differentiated else f"c{i}"
            shape = None if unknown_ranks else [None] * value.ndim if unknown_dims else \
                list(value.shape)
            defs.append(NodeDef(name, "Placeholder", [],
                                {"dtype": value.dtype.name, "shape": shape}))
        else:
            defs.append(NodeDef(f"c{i}", "Const", [], {"value": value}))
        refs.append(f"x{i}" if i in case.differentiated else f"c{i}")
    defs.append(NodeDef("y", case.op, refs, dict(case.attrs)))
    graph = Graph.from_node_defs(defs)
    feeds = {graph.tensor(ref): value for ref, value in zip(refs, case.inputs)
             if graph.tensor(ref).node.op == "Placeholder"}
    xs = [graph.tensor(f"x{i}") for i in case.differentiated]
    return Built(graph, xs, feeds, graph.node("y").outputs, case.loss_outputs)


def check_forward(case: Case, unknown_dims: bool = False,
                  unknown_ranks: bool = False) -> list[np.ndarray]:
    """Evaluates the op; its outputs must have the dtypes and shapes the shape rule inferred."""
    built = build_case(case, unknown_dims, unknown_ranks)
    values = core.evaluate(built.graph, built.outputs, built.feeds)
    for t, value in zip(built.outputs, values):
        assert value.dtype == t.dtype, f"{case} output {t.index}: {value.dtype} != inferred {t.dtype}"
        assert compatible(value.shape, t.shape), \
            f"{case} output {t.index}: shape {value.shape} != inferred {t.shape}"
    return values


def weighted_loss(built: Built, seed: int = 0) -> Tensor:
    """sum_k sum(w_k * output_k) over the trainable outputs, with fixed random weights,
    so every output element gets its own weight."""
    rng = np.random.default_rng(seed)
    values = core.evaluate(built.graph, built.outputs, built.feeds)
    terms = []
    for i, (t, value) in enumerate(zip(built.outputs, values)):
        if dt.is_trainable(t.dtype) and (built.loss_outputs is None or i in built.loss_outputs):
            w = built.graph.constant(rng.uniform(0.5, 1.5, value.shape).astype(t.dtype))
            terms.append(build.reduce_sum(t * w, list(range(value.ndim))))
    assert terms, "the op has no trainable output"
    loss = terms[0]
    for term in terms[1:]:
        loss = loss + term
    return loss


def numerical_gradient(f, x: np.ndarray, eps: float) -> np.ndarray:
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = grad.reshape(-1)
    for i in range(x.size):
        plus, minus = x.copy(), x.copy()
        plus.reshape(-1)[i] += eps
        minus.reshape(-1)[i] -= eps
        flat[i] = (float(f(plus)) - float(f(minus))) / (2 * eps)
    return grad


def _eps(dtype) -> float:
    return {np.dtype("float64"): 1e-6, np.dtype("float32"): 1e-3}.get(np.dtype(dtype), 1e-2)


def _check_against_numerical(built: Built, target: Tensor, grads, case: Case, order: str):
    for x, grad in zip(built.xs, grads):
        def f(value, x=x):
            return core.evaluate(built.graph, [target], {**built.feeds, x: value})[0]
        expected = numerical_gradient(f, built.feeds[x], _eps(x.dtype))
        if grad is None:
            actual = np.zeros_like(expected)
        else:
            actual = core.evaluate(built.graph, [grad], built.feeds)[0]
            assert actual.shape == built.feeds[x].shape, f"{case} {order} d/d{x.name}: shape"
            assert actual.dtype == x.dtype, f"{case} {order} d/d{x.name}: dtype {actual.dtype}"
        tolerance = dict(rtol=case.rtol, atol=case.atol) if x.dtype == np.float64 else \
            dict(rtol=max(case.rtol, 2e-2), atol=max(case.atol, 2e-2))
        np.testing.assert_allclose(actual, expected, err_msg=f"{case} {order} d/d{x.name}",
                                   **tolerance)


def check_gradients(case: Case, unknown_dims: bool = False, unknown_ranks: bool = False) -> None:
    """First (and second) order gradients of the weighted loss against central differences."""
    built = build_case(case, unknown_dims, unknown_ranks)
    if case.no_gradient:
        grads = core.gradients(built.graph, built.outputs[:1], built.xs)
        assert grads == [None] * len(built.xs), f"{case}: expected no gradient, got {grads}"
        return
    loss = weighted_loss(built)
    grads = core.gradients(built.graph, [loss], built.xs)
    _check_against_numerical(built, loss, grads, case, "first order")
    if not case.second_order:
        return
    rng = np.random.default_rng(1)
    terms = [build.reduce_sum(g * built.graph.constant(
                 rng.uniform(0.5, 1.5, built.feeds[x].shape).astype(x.dtype)),
                 list(range(built.feeds[x].ndim)))
             for g, x in zip(grads, built.xs) if g is not None]
    if not terms:
        return
    inner = terms[0]
    for term in terms[1:]:
        inner = inner + term
    second = core.gradients(built.graph, [inner], built.xs)
    _check_against_numerical(built, inner, second, case, "second order")


def check_shapes_as_tensorflow(case: Case, unknown_dims: bool = False,
                               unknown_ranks: bool = False) -> None:
    """Our inferred output shapes agree with TensorFlow's and are at least as specific."""
    from tests.tf_bridge import TFGraph
    built = build_case(case, unknown_dims, unknown_ranks)
    reference = TFGraph(built.graph)
    for t in built.outputs:
        theirs = reference.tensor(t.name).shape
        theirs = None if theirs.rank is None else tuple(theirs.as_list())
        assert compatible(t.shape, theirs), f"{case} output {t.index}: {t.shape} vs {theirs}"
        if theirs is not None:
            assert t.shape is not None and all(
                a is not None for a, b in zip(t.shape, theirs) if b is not None), \
                f"{case} output {t.index}: {t.shape} less specific than TensorFlow's {theirs}"


# (unknown_dims, unknown_ranks) for the checks that take both: every shape known, every
# dimension unknown, every rank unknown
SHAPE_MODES = pytest.mark.parametrize("mode", [(False, False), (True, False), (False, True)],
                                      ids=["static", "dynamic", "unknown_ranks"])


def check_values_with_unknown_ranks(case: Case) -> None:
    """With every input a placeholder of unknown shape (the constants fed too), the op
    computes the same values."""
    expected = check_forward(case)
    for a, b in zip(check_forward(case, unknown_ranks=True), expected):
        np.testing.assert_array_equal(a, b)


def check_unknown_ranks(case: Case) -> None:
    """The same values with every rank unknown, and gradients (where the case checks them)
    that still agree with central differences."""
    check_values_with_unknown_ranks(case)
    if case.grad and case.differentiated:
        check_gradients(case, unknown_ranks=True)


def check_invalid_inputs_name_the_node(case: Case) -> None:
    """Building the case fails with a GraphError that names the op's node."""
    with pytest.raises(core.GraphError) as info:
        build_case(case)
    assert info.value.node == "y" and "'y'" in str(info.value)


def check_run_time_error_names_the_node(case: Case, match: str | None = None) -> None:
    """With every rank unknown, so that only the kernel sees the inputs, evaluating the case
    fails with a GraphError (matching `match`) that names the op's node."""
    with pytest.raises(core.GraphError, match=match) as info:
        check_forward(case, unknown_ranks=True)
    assert info.value.node == "y"
