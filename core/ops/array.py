"""Array ops: shapes, fills, reshapes and broadcasting."""

import numpy as np

from core import build
from core import dtypes as dt
from core.errors import GraphError
from core.ops.common import check_dtype, check_rank, int_values, unary
from core.registry import Attr, defop, gradient, not_differentiable
from core.shapes import broadcast, format_shape, is_fully_defined, num_elements


# -- shape queries: values known statically whenever the input shape is ----------------

def _shape_infer(node):
    x = node.inputs[0]
    return [(node.attrs["out_type"], (None if x.shape is None else len(x.shape),))]


def _shape_static(node):
    shape = node.inputs[0].shape
    if is_fully_defined(shape):
        return [np.asarray(shape, dtype=node.attrs["out_type"])]
    return None


@defop("Shape", inputs=("input",), infer=_shape_infer, static_value=_shape_static,
       attrs={"out_type": Attr("type", dt.INT32)})
def shape(node, x):
    return np.asarray(x.shape, dtype=node.attrs["out_type"])


def _size_static(node):
    n = num_elements(node.inputs[0].shape)
    return None if n is None else [np.asarray(n, dtype=node.attrs["out_type"])]


@defop("Size", inputs=("input",), infer=lambda node: [(node.attrs["out_type"], ())],
       static_value=_size_static, attrs={"out_type": Attr("type", dt.INT32)})
def size(node, x):
    return np.asarray(x.size, dtype=node.attrs["out_type"])


def _rank_static(node):
    shape = node.inputs[0].shape
    return None if shape is None else [np.asarray(len(shape), dtype=np.int32)]


@defop("Rank", inputs=("input",), infer=lambda node: [(dt.INT32, ())], static_value=_rank_static)
def rank(node, x):
    return np.asarray(x.ndim, dtype=np.int32)


# -- fills -------------------------------------------------------------------------------

def _shape_from_tensor(node, t, what="shape"):
    """The shape a 1-D integer tensor describes: fully known when its value is, else of
    known rank when its length is."""
    check_rank(node, t, 1, what=what)
    value = int_values(node, t, what)
    if value is not None:
        if np.any(value < -1):
            raise GraphError(f"node {node.name!r} ({node.op}): invalid {what} "
                             f"{value.tolist()}", node.name)
        return tuple(None if d == -1 else int(d) for d in value)
    if t.shape is not None and t.shape[0] is not None:
        return (None,) * t.shape[0]
    return None


def _fill_infer(node):
    dims, value = node.inputs
    check_rank(node, value, 0, what="value")
    shape = _shape_from_tensor(node, dims, "dims")
    if shape is not None and any(d is not None and d < 0 for d in shape):
        raise GraphError(f"node {node.name!r} (Fill): dims must be non-negative", node.name)
    return [(value.dtype, shape)]


@defop("Fill", inputs=("dims", "value"), infer=_fill_infer)
def fill(node, dims, value):
    """A tensor of shape `dims` filled with the scalar `value`."""
    return np.full(tuple(int(d) for d in dims), value, dtype=value.dtype)


@gradient("Fill")
def _fill_grad(op, grad):
    """Every element came from the one value: its gradient is the sum."""
    return None, build.op("Sum", grad, build.op("Range", *_range_args(grad)))


def _range_args(x):
    return (build.int_constant(x, 0), build.rank(x), build.int_constant(x, 1))


@defop("ZerosLike", inputs=("x",), infer=unary())
def zeros_like(node, x):
    return np.zeros_like(x)


@defop("OnesLike", inputs=("x",), infer=unary())
def ones_like(node, x):
    return np.ones_like(x)


def _range_infer(node):
    start, limit, delta = node.inputs
    for t in node.inputs:
        check_rank(node, t, 0)
    dtype = start.dtype
    values = [t.const_value for t in node.inputs]
    if all(v is not None for v in values):
        s, l, d = (v.item() for v in values)
        if d == 0:
            raise GraphError(f"node {node.name!r} (Range): delta must not be 0", node.name)
        length = max(0, int(np.ceil((l - s) / d)))
        return [(dtype, (length,))]
    return [(dtype, (None,))]


@defop("Range", inputs=("start", "limit", "delta"), infer=_range_infer,
       dtypes=dt.REAL)
def range_(node, start, limit, delta):
    """[start, start + delta, ...) up to limit."""
    if delta == 0:
        raise ValueError("Requires delta != 0")
    return np.arange(start, limit, delta, dtype=start.dtype)


# -- reshaping and broadcasting -----------------------------------------------------------

def _reshape_infer(node):
    x, shape_t = node.inputs
    target = _shape_from_tensor(node, shape_t)
    if target is None:
        return [(x.dtype, None)]
    if sum(d is None for d in target) > 1 and shape_t.const_value is not None:
        raise GraphError(f"node {node.name!r} (Reshape): only one dimension may be -1", node.name)
    n = num_elements(x.shape)
    known = [d for d in target if d is not None]
    product = int(np.prod(known)) if known else 1
    if shape_t.const_value is not None and n is not None:
        if None in target:
            if product == 0 or n % product:
                raise GraphError(f"node {node.name!r} (Reshape): cannot reshape a tensor of "
                                 f"shape {format_shape(x.shape)} into {format_shape(target)}",
                                 node.name)
            target = tuple(n // product if d is None else d for d in target)
        elif product != n:
            raise GraphError(f"node {node.name!r} (Reshape): cannot reshape a tensor with {n} "
                             f"elements into shape {format_shape(target)}", node.name)
    return [(x.dtype, target)]


@defop("Reshape", inputs=("tensor", "shape"), infer=_reshape_infer)
def reshape(node, x, new_shape):
    return x.reshape(tuple(int(d) for d in new_shape))


@gradient("Reshape")
def _reshape_grad(op, grad):
    return build.reshape(grad, build.static_or_dynamic_shape(op.inputs[0])), None


def _broadcast_to_infer(node):
    x, shape_t = node.inputs
    target = _shape_from_tensor(node, shape_t)
    if target is not None and x.shape is not None:
        if len(x.shape) > len(target) or broadcast(x.shape, target, node.name) != target and \
                is_fully_defined(target) and is_fully_defined(x.shape):
            raise GraphError(f"node {node.name!r} (BroadcastTo): cannot broadcast "
                             f"{format_shape(x.shape)} to {format_shape(target)}", node.name)
    return [(x.dtype, target)]


@defop("BroadcastTo", inputs=("input", "shape"), infer=_broadcast_to_infer)
def broadcast_to(node, x, new_shape):
    return np.broadcast_to(x, tuple(int(d) for d in new_shape)).copy()


@gradient("BroadcastTo")
def _broadcast_to_grad(op, grad):
    return build.unbroadcast(grad, op.inputs[0]), None


def _broadcast_gradient_args_infer(node):
    s0, s1 = node.inputs
    for t in (s0, s1):
        check_rank(node, t, 1)
        check_dtype(node, t, dt.INDEX)
    return [(s0.dtype, (None,)), (s0.dtype, (None,))]


@defop("BroadcastGradientArgs", inputs=("s0", "s1"), infer=_broadcast_gradient_args_infer)
def broadcast_gradient_args(node, s0, s1):
    """The axes to sum over to reduce a gradient of the broadcast shape to s0 and to s1:
    every (left-padded) dimension of size 1, none when the shapes are equal."""
    rank = max(len(s0), len(s1))
    a = np.concatenate([np.ones(rank - len(s0), np.int64), s0])
    b = np.concatenate([np.ones(rank - len(s1), np.int64), s1])
    if np.any((a != b) & (a != 1) & (b != 1)):
        raise ValueError(f"Incompatible shapes: {s0.tolist()} vs. {s1.tolist()}")
    equal = np.array_equal(s0, s1)
    r0 = [] if equal else np.flatnonzero(a == 1)
    r1 = [] if equal else np.flatnonzero(b == 1)
    return np.asarray(r0, s0.dtype), np.asarray(r1, s0.dtype)


def _dynamic_stitch_infer(node):
    count = len(node.inputs)
    if count % 2:
        raise GraphError(f"node {node.name!r} (DynamicStitch) takes N indices then N data "
                         f"tensors, got {count} inputs", node.name)
    indices, data = node.inputs[:count // 2], node.inputs[count // 2:]
    for t in indices:
        check_dtype(node, t, frozenset({dt.INT32}), "indices")
    dtype = data[0].dtype
    for t in data:
        if t.dtype != dtype:
            raise GraphError(f"node {node.name!r} (DynamicStitch): data dtypes differ", node.name)
    inner = None
    if indices[0].shape is not None and data[0].shape is not None:
        inner = data[0].shape[len(indices[0].shape):]
    return [(dtype, None if inner is None else (None,) + tuple(inner))]


@defop("DynamicStitch", inputs=("indices", "data*"), infer=_dynamic_stitch_infer)
def dynamic_stitch(node, *arrays):
    """merged[indices[m][i]] = data[m][i], later entries winning."""
    half = len(arrays) // 2
    indices, data = arrays[:half], arrays[half:]
    size = 1 + max((int(i.max()) for i in indices if i.size), default=-1)
    inner = data[0].shape[indices[0].ndim:]
    merged = np.zeros((size,) + inner, dtype=data[0].dtype)
    for index, values in zip(indices, data):
        merged[index.reshape(-1)] = values.reshape((-1,) + inner)
    return merged


not_differentiable("Shape", "Size", "Rank", "ZerosLike", "OnesLike", "Range",
                   "BroadcastGradientArgs")
