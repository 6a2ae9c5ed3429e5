"""Matrix products: MatMul, BatchMatMul(V2) over (broadcast) batch dimensions, and Einsum."""

import re

import numpy as np

from core import build
from core import dtypes as dt
from core.ops.common import check_rank, error, same_dtype
from core.ops.reduction import kept_dims_shape
from core.registry import Attr, defop, gradient
from core.shapes import (broadcast, compatible, dims_compatible, format_shape, is_fully_defined,
                         merge)


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


# -- Einsum ------------------------------------------------------------------------------

ELLIPSIS = "..."
EINSUM_DTYPES = dt.FLOATS | dt.COMPLEX | {dt.INT32, dt.INT64}
_SUBSCRIPTS = re.compile(r"[A-Za-z]*(\.\.\.)?[A-Za-z]*")


def _einsum_subscripts(equation: str, count: int) -> tuple[list[str], str]:
    """The input subscripts and the output's of 'x[,y]->z', TensorFlow's form: letters,
    and '...' at most once in each; ValueError for another form."""
    inputs, arrow, output = equation.partition("->")
    subscripts = inputs.split(",")
    if not arrow or len(subscripts) != count or count not in (1, 2) or not all(
            _SUBSCRIPTS.fullmatch(s) for s in subscripts + [output]):
        raise ValueError(f"equation {equation!r} must be 'x->z' or 'x,y->z' for {count} "
                         f"input(s), subscripts of letters and at most one '...' each")
    missing = set(output) - set(inputs) - {"."}
    if missing:
        raise ValueError(f"output labels {sorted(missing)} of equation {equation!r} appear in "
                         f"no input")
    return subscripts, output


def _label_dims(subscripts: str, shape: tuple) -> tuple[list, tuple | None]:
    """The (label, dimension) pairs of an operand of `shape` and the dimensions its '...'
    stands for (None when it has none); ValueError when the rank does not fit."""
    before, ellipsis, after = subscripts.partition(ELLIPSIS)
    batch = len(shape) - len(before) - len(after)
    if batch < 0 or batch and not ellipsis:
        raise ValueError(f"subscripts {subscripts!r} do not fit an operand of rank {len(shape)}")
    end = len(shape) - len(after)
    pairs = list(zip(before, shape)) + list(zip(after, shape[end:]))
    return pairs, tuple(shape[len(before):end]) if ellipsis else None


def _einsum_output_shape(equation: str, shapes: list):
    """The output shape of Einsum on operands of `shapes` (partially known, None for
    unknown rank); ValueError when they do not fit the equation or each other."""
    subscripts, output = _einsum_subscripts(equation, len(shapes))
    dims, batch = {}, ()
    for subs, shape in zip(subscripts, shapes):
        if shape is None:
            batch = None if ELLIPSIS in subs else batch
            continue
        pairs, own_batch = _label_dims(subs, shape)
        for label, d in pairs:
            if not dims_compatible(dims.get(label), d):
                raise ValueError(f"label {label!r} has dimensions {dims[label]} and {d}")
            dims[label] = d if d is not None else dims.get(label)
        if batch is not None and own_batch is not None:
            batch = broadcast(batch, own_batch)
    before, ellipsis, after = output.partition(ELLIPSIS)
    if not ellipsis and batch:
        raise ValueError(f"the output has no '...' for the {len(batch)} broadcast dimension(s)")
    if ellipsis and batch is None:
        return None
    return tuple(dims.get(label) for label in before) + (batch if ellipsis else ()) + \
        tuple(dims.get(label) for label in after)


def _einsum_infer(node):
    dtype = same_dtype(node, node.inputs, EINSUM_DTYPES)
    try:
        shape = _einsum_output_shape(node.attrs["equation"], [t.shape for t in node.inputs])
    except ValueError as e:
        raise error(node, str(e)) from None
    return [(dtype, shape)]


@defop("Einsum", inputs=("inputs*",), infer=_einsum_infer, attrs={"equation": Attr("string")},
       dtypes=EINSUM_DTYPES)
def einsum(node, *xs):
    """Sums of products of the inputs' elements, indexed as the equation's labels say
    ('ij,jk->ik' is a matrix product, 'ii->' a trace, '...' stands for broadcast batch
    dimensions); a label repeated in the output places the values on that diagonal."""
    equation = node.attrs["equation"]
    _einsum_output_shape(equation, [x.shape for x in xs])  # the checks NumPy leaves out
    inputs, output = equation.split("->")
    unique = "".join(dict.fromkeys(output.replace(ELLIPSIS, "."))).replace(".", ELLIPSIS)
    result = np.einsum(f"{inputs}->{unique}", *xs, optimize=len(xs) > 1)
    if unique == output:
        return result
    pairs, batch = _label_dims(unique, result.shape)
    sizes = dict(pairs)
    before, _, after = output.partition(ELLIPSIS)
    out = np.zeros([sizes[c] for c in before] + list(batch or ()) + [sizes[c] for c in after],
                   result.dtype)
    np.einsum(f"{output}->{unique}", out)[...] = result  # a view of out's diagonal
    return out


def _einsum(equation: str, *xs):
    return build.op("Einsum", *xs, equation=equation)


def _label_axis(subscripts: str, label: str) -> int:
    """The axis of the first `label`: from the start before '...', from the end after it."""
    before, _, after = subscripts.partition(ELLIPSIS)
    return before.index(label) if label in before else after.index(label) - len(after)


def _dim(x, axis: int):
    """Dimension `axis` of x: an int when static, else a scalar tensor."""
    if x.shape is not None and x.shape[axis] is not None:
        return x.shape[axis]
    return build.strided_slice(build.shape(x), [axis], [axis + 1], shrink_axis_mask=1)


def _unreduced_grad(grad, grad_subs: str, x, x_subs: str, reduced: list):
    """The gradient of x for 'x_subs->grad_subs', whose `reduced` labels are summed away:
    grad broadcast along them (grad reshaped with 1s there, or, when labels repeat or
    move, put in front and Einsum 'reduced grad_subs->x_subs')."""
    repeated = len(set(x_subs)) + len(set(grad_subs)) < len(x_subs) + len(grad_subs)
    axes = [_label_axis(x_subs, label) for label in reduced]
    if not repeated and "".join(c for c in x_subs if c not in reduced) == grad_subs:
        kept = build.reshape(grad, kept_dims_shape(x, build.int_constant(grad, axes)))
        return build.op("BroadcastTo", kept, build.shape(x))
    grad_shape = build.shape(grad)
    lead = build.int_vector(grad, [_dim(x, axis) for axis in axes])
    ones = build.int_constant(grad, [1] * len(reduced))
    full = build.op("BroadcastTo", build.reshape(grad, build.concat([ones, grad_shape], 0)),
                    build.concat([lead, grad_shape], 0))
    return _einsum(f"{''.join(reduced)}{grad_subs}->{x_subs}", full)


def _einsum_operand_grad(grad, output: str, x, x_subs: str, other=None, other_subs: str = ""):
    """d x for z = einsum('x_subs[,other_subs]->output'): einsum('output[,other_subs]->x_subs')
    of grad (and the other operand), with x's labels found in neither summed back in."""
    reduced = sorted(set(x_subs) - set(output + other_subs + "."))
    kept = "".join(c for c in x_subs if c not in reduced)
    if other is not None:
        grad, output = _einsum(f"{output},{other_subs}->{kept}", grad, other), kept
    if reduced:
        return _unreduced_grad(grad, output, x, x_subs, reduced)
    return grad if output == x_subs else _einsum(f"{output}->{x_subs}", grad)


def _sum_batch_back(grad, x, x_subs: str, y, y_subs: str):
    """grad, like x but with '...' standing for the batch dimensions of x and y broadcast,
    summed over the dimensions x was broadcast along."""
    start, tail = x_subs.index(ELLIPSIS), len(x_subs.partition(ELLIPSIS)[2])
    y_start, y_tail = y_subs.index(ELLIPSIS), len(y_subs.partition(ELLIPSIS)[2])
    if is_fully_defined(x.shape) and is_fully_defined(y.shape):
        xb = x.shape[start:len(x.shape) - tail]
        yb = y.shape[y_start:len(y.shape) - y_tail]
        if xb == yb:
            return grad
        gb = np.broadcast_shapes(xb, yb)
        lead = len(gb) - len(xb)
        axes = list(range(start, start + lead)) + [start + lead + i for i, d in enumerate(xb)
                                                   if d == 1 and gb[lead + i] != 1]
        return build.reshape(build.reduce_sum(grad, axes), x.shape)

    def batch(t, begin, end):
        return build.strided_slice(build.shape(t), [begin], [-end], end_mask=int(not end))
    axes, _ = build.op_outputs("BroadcastGradientArgs", batch(x, start, tail),
                               batch(y, y_start, y_tail))
    return build.reshape(build.reduce_sum(grad, axes + start), build.shape(x))


@gradient("Einsum")
def _einsum_grad(op, grad):
    """As TensorFlow's: for z = einsum('x,y->z'), dx = einsum('z,y->x') and dy =
    einsum('x,z->y') (conjugating x and y), each then broadcast along its labels that
    were summed away and summed over the '...' dimensions it was broadcast along."""
    inputs, output = op.attrs["equation"].split("->")
    if len(op.inputs) == 1:
        return _einsum_operand_grad(grad, output, op.inputs[0], inputs)
    x_subs, y_subs = (s + ELLIPSIS if ELLIPSIS in output and ELLIPSIS not in s else s
                      for s in inputs.split(","))
    x, y = (build.conj(t) for t in op.inputs)
    grad_x = _einsum_operand_grad(grad, output, x, x_subs, y, y_subs)
    grad_y = _einsum_operand_grad(grad, output, y, y_subs, x, x_subs)
    if ELLIPSIS not in output:
        return grad_x, grad_y
    return (_sum_batch_back(grad_x, x, x_subs, y, y_subs),
            _sum_batch_back(grad_y, y, y_subs, x, x_subs))
