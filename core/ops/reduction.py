"""Reductions over axes given as a tensor, as TensorFlow's Sum, Mean, Max, ..., the
arg-reductions and the cumulative scans."""

import numpy as np

from core import build
from core import dtypes as dt
from core.ops.common import axes_values, axis_in, check_dtype, check_rank, error, \
    reduced_shape, scalar_value
from core.registry import Attr, defop, gradient
from core.shapes import is_fully_defined

KEEP_DIMS = {"keep_dims": Attr("bool", False)}


def _reduction_infer(allowed):
    def infer(node):
        x, axes_t = node.inputs
        check_dtype(node, x, allowed)
        check_rank(node, axes_t, 0, 1, what="reduction_indices")
        rank = None if x.shape is None else len(x.shape)
        axes = axes_values(node, axes_t, rank)
        return [(x.dtype, reduced_shape(x.shape, axes, node.attrs["keep_dims"]))]
    return infer


def _axes_tuple(x: np.ndarray, axes: np.ndarray) -> tuple:
    """The axes normalized; ValueError for one out of range or given twice, as TensorFlow."""
    rank = max(x.ndim, 1)
    axes = [int(a) for a in axes.reshape(-1)]
    if any(not -rank <= a < rank for a in axes):
        raise ValueError(f"Invalid reduction dimension {axes} for input with {x.ndim} dimensions")
    normalized = [a % rank for a in axes]
    if len(set(normalized)) < len(normalized):
        raise ValueError(f"Axes contains duplicate dimension: {axes}")
    return tuple(normalized) if x.ndim else ()


def _reduction(name: str, fn, allowed, doc: str = ""):
    """Registers a reduction computed by `fn(x, axes, keepdims)`."""
    def kernel(node, x, axes):
        return fn(x, _axes_tuple(x, axes), node.attrs["keep_dims"])
    kernel.__doc__ = doc
    return defop(name, inputs=("input", "reduction_indices"), infer=_reduction_infer(allowed),
                 attrs=KEEP_DIMS, dtypes=allowed)(kernel)


def _mean(x, axes, keepdims):
    """The mean; for integers the sum divided with truncation toward zero, as TensorFlow."""
    if x.dtype not in dt.INTEGERS:
        return np.mean(x, axes, dtype=x.dtype, keepdims=keepdims)
    total = np.sum(x, axes, dtype=x.dtype, keepdims=keepdims)
    count = max(int(np.prod([x.shape[a] for a in axes])), 1)
    return np.where(total < 0, -(-total // count), total // count).astype(x.dtype)


def _limit(dtype, highest: bool):
    """The identity of Min (highest) or Max (lowest): what an empty reduction gives."""
    if dtype in dt.FLOATS:
        return np.inf if highest else -np.inf
    info = np.iinfo(dtype)
    return info.max if highest else info.min


_reduction("Sum", lambda x, a, k: np.sum(x, a, dtype=x.dtype, keepdims=k), dt.NUMERIC)
_reduction("Mean", _mean, dt.NUMERIC)
_reduction("Prod", lambda x, a, k: np.prod(x, a, dtype=x.dtype, keepdims=k), dt.NUMERIC)
_reduction("Max", lambda x, a, k: np.max(x, a, keepdims=k, initial=_limit(x.dtype, False)),
           dt.REAL)
_reduction("Min", lambda x, a, k: np.min(x, a, keepdims=k, initial=_limit(x.dtype, True)),
           dt.REAL)
_reduction("EuclideanNorm", lambda x, a, k: np.sqrt(
    np.sum(x * np.conj(x), a, dtype=x.dtype, keepdims=k)).astype(x.dtype), dt.NUMERIC,
    doc="sqrt(sum(x * conj(x)))")
_reduction("All", lambda x, a, k: np.all(x, a, keepdims=k), dt.BOOL)
_reduction("Any", lambda x, a, k: np.any(x, a, keepdims=k), dt.BOOL)


def kept_dims_shape(x, axes_t):
    """The shape of x with the reduced axes set to 1: a static tuple when shape and axes
    are known, else computed at run time (TensorFlow's reduced_shape)."""
    rank = None if x.shape is None else len(x.shape)
    axes = None if rank is None else axes_values(axes_t.node, axes_t, rank)
    if axes is not None and all(d is not None for d in x.shape):
        return tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    return build.reduced_shape(build.shape(x), axes_t)


@gradient("Sum")
def _sum_grad(op, grad):
    """Every input element contributes once: the gradient broadcast back over the axes."""
    x, axes_t = op.inputs
    kept = build.reshape(grad, kept_dims_shape(x, axes_t))
    return build.op("BroadcastTo", kept, build.shape(x)), None


@gradient("Mean")
def _mean_grad(op, grad):
    """The Sum gradient divided by the number of elements reduced into each output: static
    when both shapes are known, size(x) // max(size(y), 1) at run time otherwise."""
    x, y = op.inputs[0], op.output(0)
    sum_grad = _sum_grad(op, grad)[0]
    if is_fully_defined(x.shape) and is_fully_defined(y.shape):
        factor = build.constant(sum_grad, np.prod(x.shape) // max(np.prod(y.shape), 1))
    else:
        one = build.int_constant(x, 1)
        count = build.op("FloorDiv", build.size(x), build.op("Maximum", build.size(y), one))
        factor = build.cast(count, sum_grad.dtype)
    return sum_grad / factor, None


@gradient("Max", "Min")
def _min_or_max_grad(op, grad):
    """The gradient goes to the elements equal to the result, split equally among ties:
    grad * [x == y] / sum([x == y])."""
    x, axes_t = op.inputs
    y = op.output(0)
    if op.attrs["keep_dims"]:
        kept = build.shape(y)
    else:
        kept = kept_dims_shape(x, axes_t)
        y, grad = build.reshape(y, kept), build.reshape(grad, kept)
    indicators = build.cast(build.op("Equal", y, x), grad.dtype)
    count = build.reshape(build.reduce_sum(indicators, axes_t), kept)
    return indicators / count * grad, None


@gradient("Prod")
def _prod_grad(op, grad):
    """d prod(x) / d x_i = the product of the other reduced elements, computed without
    division so that zeros are handled, as TensorFlow: the reduced axes are transposed to
    the front and flattened into one, and there the exclusive Cumprods from either end
    are multiplied."""
    x, axes_t = op.inputs
    input_shape = build.shape(x)
    if not op.attrs["keep_dims"]:
        grad = build.reshape(grad, kept_dims_shape(x, axes_t))
    grad = build.op("BroadcastTo", grad, input_shape)
    perm, reduced_num, other_num = _reduced_first(x, axes_t)
    permuted = build.transpose(x, perm)
    reshaped = build.reshape(permuted, build.stack([reduced_num, other_num]))
    axis = build.int_constant(x, 0)
    left = build.op("Cumprod", reshaped, axis, exclusive=True)
    right = build.op("Cumprod", reshaped, axis, exclusive=True, reverse=True)
    others = build.reshape(build.conj(left) * build.conj(right), build.shape(permuted))
    out = grad * build.transpose(others, build.op("InvertPermutation", perm))
    return build.reshape(out, input_shape), None


def _reduced_first(x, axes_t):
    """The permutation putting the reduced axes first (in the order given), the rest after
    in order, and the element counts of the two groups, as int32 tensors (constants when
    the rank and axes are known). Its inverse is built directly: axis i goes to position
    j if it is the j-th reduced axis, else to n_reduced + (the unreduced axes before i)."""
    shape, rank = build.shape(x), build.rank(x)
    zero, one = build.int_constant(x, 0), build.int_constant(x, 1)
    reduced = build.cast(build.reshape(axes_t, [-1]), dt.INT32)
    reduced = build.op("FloorMod", reduced + rank, rank)
    n_reduced = build.size(reduced)
    positions = build.op("Range", zero, rank, one)
    is_reduced = build.op("DynamicStitch", positions, reduced, build.zeros_like(positions),
                          build.ones_like(reduced))
    before = build.op("Cumsum", is_reduced, zero, exclusive=True)
    inverse = build.op("DynamicStitch", positions, reduced, n_reduced + positions - before,
                       build.op("Range", zero, n_reduced, one))
    mask = build.op("Equal", is_reduced, one)
    ones = build.ones_like(shape)
    reduced_num = build.op("Prod", build.select(mask, shape, ones), zero)
    other_num = build.op("Prod", build.select(mask, ones, shape), zero)
    return build.op("InvertPermutation", inverse), reduced_num, other_num


@gradient("EuclideanNorm")
def _euclidean_norm_grad(op, grad):
    """d |x| = x / |x| dx, written x / (|x| / grad) as TensorFlow (NaN where |x| = 0)."""
    x, axes_t = op.inputs
    y = op.output(0)
    if not op.attrs["keep_dims"]:
        kept = kept_dims_shape(x, axes_t)
        y, grad = build.reshape(y, kept), build.reshape(grad, kept)
    return x / (y / grad), None


# -- arg-reductions ---------------------------------------------------------------------

OUTPUT_INDEX = frozenset(dt.DTYPES[n] for n in ("int16", "uint16", "int32", "int64"))


def _arg_infer(node):
    x, axis_t = node.inputs
    check_dtype(node, x, dt.REAL | dt.BOOL)
    check_rank(node, axis_t, 0, what="dimension")
    if node.attrs["output_type"] not in OUTPUT_INDEX:
        raise error(node, "output_type must be one of int16, uint16, int32, int64")
    axis = scalar_value(node, axis_t, "dimension")
    shape = x.shape
    if shape is not None:
        if axis is None:
            shape = (None,) * max(len(shape) - 1, 0)
        else:
            axis = axis_in(node, axis, len(shape), "dimension")
            shape = shape[:axis] + shape[axis + 1:]
    return [(node.attrs["output_type"], shape)]


def _arg_reduction(name: str, fn):
    def kernel(node, x, axis):
        if not -x.ndim <= axis < x.ndim:
            raise ValueError(f"Expected dimension in the range [{-x.ndim}, {x.ndim}), but "
                             f"got {axis}")
        if x.shape[axis] == 0:
            raise ValueError(f"Reduction axis {axis} is empty in shape {list(x.shape)}")
        return fn(x, axis=int(axis)).astype(node.attrs["output_type"])
    kernel.__doc__ = f"The index of the first {name[3:].lower()}imum along `dimension`."
    defop(name, inputs=("input", "dimension"), infer=_arg_infer, dtypes=dt.REAL | dt.BOOL,
          attrs={"output_type": Attr("type", dt.INT64)})(kernel)


_arg_reduction("ArgMax", np.argmax)
_arg_reduction("ArgMin", np.argmin)


@gradient("ArgMax", "ArgMin")
def _arg_grad(op, grad):
    """An index has no gradient (TensorFlow registers this rule rather than
    NotDifferentiable)."""
    return None, None


# -- cumulative scans -------------------------------------------------------------------

SCAN_ATTRS = {"exclusive": Attr("bool", False), "reverse": Attr("bool", False)}


def _scan_infer(allowed):
    def infer(node):
        x, axis_t = node.inputs
        check_dtype(node, x, allowed)
        check_rank(node, axis_t, 0, what="axis")
        axis = scalar_value(node, axis_t, "axis")
        if axis is not None and x.shape is not None:
            axis_in(node, axis, len(x.shape))
        return [(x.dtype, x.shape)]
    return infer


def _scan(name: str, fn, identity, what: str, allowed=dt.NUMERIC):
    def kernel(node, x, axis):
        if not -x.ndim <= axis < x.ndim:
            raise ValueError(f"Expected scan axis in the range [{-x.ndim}, {x.ndim}), but "
                             f"got {axis}")
        y = np.moveaxis(x, int(axis), 0)
        if node.attrs["reverse"]:
            y = y[::-1]
        out = fn(y, axis=0, dtype=x.dtype)
        if node.attrs["exclusive"]:
            out = np.concatenate([np.full_like(out[:1], identity), out[:-1]])
        if node.attrs["reverse"]:
            out = out[::-1]
        return np.ascontiguousarray(np.moveaxis(out, 0, int(axis)))
    kernel.__doc__ = (f"The running {what} along `axis`; `exclusive` leaves out the current "
                      f"element, `reverse` runs from the end.")
    defop(name, inputs=("x", "axis"), infer=_scan_infer(allowed), attrs=SCAN_ATTRS,
          dtypes=allowed)(kernel)


_scan("Cumsum", np.cumsum, 0, "sum")
_scan("Cumprod", np.cumprod, 1, "product")
_scan("CumulativeLogsumexp", np.logaddexp.accumulate, -np.inf, "log(sum(exp))", dt.FLOATS)


def _cumsum(x, axis, exclusive, reverse):
    return build.op("Cumsum", x, axis, exclusive=exclusive, reverse=reverse)


@gradient("Cumsum")
def _cumsum_grad(op, grad):
    """Each input feeds the outputs after it: the same scan run the other way."""
    return _cumsum(grad, op.inputs[1], op.attrs["exclusive"], not op.attrs["reverse"]), None


@gradient("Cumprod")
def _cumprod_grad(op, grad):
    """d x_i = sum_{j >= i} grad_j * out_j / x_i: a reversed Cumsum of grad * out,
    divided by x with 0 / 0 = 0 (DivNoNan), as TensorFlow."""
    x, axis = op.inputs
    out = _cumsum(op.output(0) * grad, axis, op.attrs["exclusive"], not op.attrs["reverse"])
    return build.op("DivNoNan", out, x), None


@gradient("CumulativeLogsumexp")
def _cumulative_logsumexp_grad(op, grad):
    """d x_i = sum over the outputs j that x_i feeds of grad_j exp(x_i - out_j), summed in
    log space as TensorFlow: exp(x + the scan run the other way of log(grad) - out), for
    the positive and the negative part of grad apart (the log of 0 taken as the lowest
    finite value)."""
    x, axis = op.inputs
    out = op.output(0)
    zero, lowest = build.constant(grad, 0), build.constant(grad, np.finfo(grad.dtype).min)

    def part(mask, magnitude):
        log_grad = build.select(mask, build.op("Log", magnitude), lowest)
        scan = build.op("CumulativeLogsumexp", log_grad - out, axis,
                        exclusive=op.attrs["exclusive"], reverse=not op.attrs["reverse"])
        return build.op("Exp", scan + x)
    positive = part(build.op("Greater", grad, zero), grad)
    return positive - part(build.op("Less", grad, zero), -grad), None
