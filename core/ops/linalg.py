"""Matrix products: MatMul, and BatchMatMul(V2) over (broadcast) batch dimensions."""

import numpy as np

from core import build
from core import dtypes as dt
from core.ops.common import check_rank, error, same_dtype
from core.registry import Attr, defop, gradient
from core.shapes import broadcast, compatible, dims_compatible, format_shape, merge


def _check_inner(node, k_a, k_b, a, b):
    if not dims_compatible(k_a, k_b):
        raise error(node, f"matrix sizes are incompatible: {format_shape(a.shape)} and "
                          f"{format_shape(b.shape)} (inner dimensions {k_a} and {k_b})")


def _matmul_infer(node):
    a, b = node.inputs
    dtype = same_dtype(node, [a, b], dt.NUMERIC)
    check_rank(node, a, 2, what="a")
    check_rank(node, b, 2, what="b")
    (m, k_a), (k_b, n) = _oriented(a.shape or (None, None), node.attrs["transpose_a"]), \
        _oriented(b.shape or (None, None), node.attrs["transpose_b"])
    _check_inner(node, k_a, k_b, a, b)
    return [(dtype, (m, n))]


def _oriented(shape, transposed):
    """The last two dims of a (possibly transposed) matrix operand, as (rows, cols)."""
    rows, cols = shape[-2:]
    return (cols, rows) if transposed else (rows, cols)


@defop("MatMul", inputs=("a", "b"), infer=_matmul_infer, dtypes=dt.NUMERIC,
       attrs={"transpose_a": Attr("bool", False), "transpose_b": Attr("bool", False),
              "grad_a": Attr("bool", False), "grad_b": Attr("bool", False)})
def matmul(node, a, b):
    """op(a) @ op(b), op transposing where transpose_a / transpose_b say."""
    return np.matmul(a.T if node.attrs["transpose_a"] else a,
                     b.T if node.attrs["transpose_b"] else b)


def _product_grads(a, b, grad, ta, tb, product):
    """The gradients of product(a, b, ta, tb) = op(a) op(b), op transposing (or taking the
    adjoint) where ta / tb say, each itself a product:
    d op(a) = grad op(b)^H, d op(b) = op(a)^H grad, arranged to need no explicit transpose."""
    grad_a = product(b, grad, tb, True) if ta else product(grad, b, False, not tb)
    grad_b = product(grad, a, True, ta) if tb else product(a, grad, not ta, False)
    return grad_a, grad_b


@gradient("MatMul")
def _matmul_grad(op, grad):
    a, b = (build.conj(t) for t in op.inputs)
    return _product_grads(a, b, grad, op.attrs["transpose_a"], op.attrs["transpose_b"],
                          build.matmul)


# -- batched -----------------------------------------------------------------------------

BATCH_ATTRS = {"adj_x": Attr("bool", False), "adj_y": Attr("bool", False),
               "grad_x": Attr("bool", False), "grad_y": Attr("bool", False)}


def _batch_matmul_infer(broadcasting: bool):
    def infer(node):
        x, y = node.inputs
        dtype = same_dtype(node, [x, y], dt.NUMERIC)
        for t, what in ((x, "x"), (y, "y")):
            if t.shape is not None and len(t.shape) < 2:
                raise error(node, f"{what} must have rank >= 2, got shape {format_shape(t.shape)}")
        if x.shape is None or y.shape is None:
            return [(dtype, None)]
        if broadcasting:
            batch = broadcast(x.shape[:-2], y.shape[:-2], node.name)
        elif compatible(x.shape[:-2], y.shape[:-2]):
            batch = merge(x.shape[:-2], y.shape[:-2])
        else:
            raise error(node, f"x and y must have the same batch dimensions, got "
                              f"{format_shape(x.shape)} and {format_shape(y.shape)}")
        (m, k_x), (k_y, n) = _oriented(x.shape, node.attrs["adj_x"]), \
            _oriented(y.shape, node.attrs["adj_y"])
        _check_inner(node, k_x, k_y, x, y)
        return [(dtype, batch + (m, n))]
    return infer


def _adjoint(x):
    return np.conj(np.swapaxes(x, -1, -2))


def _batch_matmul(node, x, y):
    """adj(x) @ adj(y) over the batch dimensions, adj the conjugate transpose where
    adj_x / adj_y say."""
    return np.matmul(_adjoint(x) if node.attrs["adj_x"] else x,
                     _adjoint(y) if node.attrs["adj_y"] else y)


def _batch_matmul_v1(node, x, y):
    if x.ndim != y.ndim or x.shape[:-2] != y.shape[:-2]:
        raise ValueError(f"x and y must have the same batch dimensions: {list(x.shape)} vs. "
                         f"{list(y.shape)}")
    return _batch_matmul(node, x, y)


_batch_matmul_v1.__doc__ = _batch_matmul.__doc__ + " The batch dimensions must match."
defop("BatchMatMulV2", inputs=("x", "y"), infer=_batch_matmul_infer(True), attrs=BATCH_ATTRS,
      dtypes=dt.NUMERIC)(_batch_matmul)
defop("BatchMatMul", inputs=("x", "y"), infer=_batch_matmul_infer(False), attrs=BATCH_ATTRS,
      dtypes=dt.NUMERIC)(_batch_matmul_v1)


def _batch_product(x, y, adj_x, adj_y):
    return build.op("BatchMatMulV2", x, y, adj_x=adj_x, adj_y=adj_y)


@gradient("BatchMatMul")
def _batch_matmul_grad(op, grad):
    x, y = op.inputs
    return _product_grads(x, y, grad, op.attrs["adj_x"], op.attrs["adj_y"], _batch_product)


@gradient("BatchMatMulV2")
def _batch_matmul_v2_grad(op, grad):
    """As BatchMatMul's, each gradient then summed over the batch dimensions its input
    was broadcast along (skipped when the batch shapes are known to be equal)."""
    x, y = op.inputs
    grad_x, grad_y = _batch_matmul_grad(op, grad)
    xs, ys = x.shape, y.shape
    if xs is not None and ys is not None and xs[:-2] == ys[:-2] and None not in xs[:-2]:
        return grad_x, grad_y
    return build.unbroadcast(grad_x, x), build.unbroadcast(grad_y, y)
