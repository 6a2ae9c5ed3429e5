"""Array ops: shapes, fills, reshapes and broadcasting, transposes, joining and splitting,
tiling and reversing."""

import numpy as np

from core import build
from core import dtypes as dt
from core.errors import GraphError
from core.ops.common import (axis_in, check_dtype, check_rank, error, int_values, same_dtype,
                             scalar_value, shape_value, unary)
from core.registry import Attr, defop, gradient, not_differentiable
from core.shapes import (Shape, broadcast, compatible, format_shape, is_fully_defined, merge,
                         num_elements, unknown)


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

def _fill_infer(node):
    dims, value = node.inputs
    check_rank(node, value, 0, what="value")
    shape = shape_value(node, dims, "dims")
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
    target = shape_value(node, shape_t)
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
    target = shape_value(node, shape_t)
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


def _broadcast_args_infer(node):
    s0, s1 = node.inputs
    dtype = same_dtype(node, [s0, s1], dt.INDEX)
    for t in (s0, s1):
        check_rank(node, t, 1)
    lengths = [None if t.shape is None else t.shape[0] for t in (s0, s1)]
    return [(dtype, (None if None in lengths else max(lengths),))]


@defop("BroadcastArgs", inputs=("s0", "s1"), infer=_broadcast_args_infer, dtypes=dt.INDEX)
def broadcast_args(node, s0, s1):
    """The shape that shapes s0 and s1 broadcast to."""
    try:
        return np.asarray(np.broadcast_shapes(tuple(s0.tolist()), tuple(s1.tolist())), s0.dtype)
    except ValueError:
        raise ValueError(f"Incompatible shapes: {s0.tolist()} vs. {s1.tolist()}") from None


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
                   "BroadcastGradientArgs", "BroadcastArgs")


# -- transposes, inserted and removed axes -----------------------------------------------

def _is_permutation(perm, rank: int | None) -> bool:
    return sorted(int(p) for p in perm) == list(range(len(perm))) and rank in (None, len(perm))


def _transpose_infer(node):
    x, perm_t = node.inputs
    check_rank(node, perm_t, 1, what="perm")
    perm = int_values(node, perm_t, "perm")
    rank = None if x.shape is None else len(x.shape)
    if perm is None:
        return [(x.dtype, unknown(rank if perm_t.shape is None else perm_t.shape[0]))]
    if not _is_permutation(perm, rank):
        raise error(node, f"perm {perm.tolist()} is not a permutation of the dimensions of "
                          f"{x.name!r}, shape {format_shape(x.shape)}")
    return [(x.dtype, unknown(len(perm)) if x.shape is None else tuple(x.shape[p] for p in perm))]


@defop("Transpose", inputs=("x", "perm"), infer=_transpose_infer)
def transpose(node, x, perm):
    """y[i_perm[0], ..., i_perm[n-1]] = x[i_0, ..., i_n-1]: dimension k of y is perm[k] of x."""
    if not _is_permutation(perm, x.ndim):
        raise ValueError(f"perm {perm.tolist()} is not a permutation of {x.ndim} dimensions")
    return np.transpose(x, perm)


@gradient("Transpose")
def _transpose_grad(op, grad):
    """Transposed back by the inverse permutation."""
    perm = op.inputs[1]
    if perm.const_value is not None:
        return build.transpose(grad, np.argsort(perm.const_value)), None
    return build.transpose(grad, build.op("InvertPermutation", perm)), None


def _invert_permutation_infer(node):
    (x,) = node.inputs
    check_rank(node, x, 1)
    return [(check_dtype(node, x, dt.INDEX), (None,) if x.shape is None else x.shape)]


@defop("InvertPermutation", inputs=("x",), infer=_invert_permutation_infer, dtypes=dt.INDEX)
def invert_permutation(node, x):
    """y[x[i]] = i."""
    if not _is_permutation(x, None):
        raise ValueError(f"{x.tolist()} is not a permutation of 0, ..., {x.size - 1}")
    y = np.empty_like(x)
    y[x] = np.arange(x.size, dtype=x.dtype)
    return y


def _expand_dims_infer(node):
    x, dim_t = node.inputs
    dim = scalar_value(node, dim_t, "dim")
    if x.shape is None or dim is None:
        return [(x.dtype, None if x.shape is None else unknown(len(x.shape) + 1))]
    dim = axis_in(node, dim, len(x.shape) + 1, "dim")
    return [(x.dtype, x.shape[:dim] + (1,) + x.shape[dim:])]


@defop("ExpandDims", inputs=("input", "dim"), infer=_expand_dims_infer)
def expand_dims(node, x, dim):
    """x with a dimension of size 1 inserted at dim (-rank-1 <= dim <= rank)."""
    (axis,) = dim.reshape(-1)
    return np.expand_dims(x, int(axis))


def _squeeze_infer(node):
    (x,) = node.inputs
    if x.shape is None:
        return [(x.dtype, None)]
    axes = {axis_in(node, a, len(x.shape), "squeeze dim") for a in node.attrs["squeeze_dims"]}
    if not axes:
        if None in x.shape:  # an unknown dimension may be 1
            return [(x.dtype, None)]
        axes = {i for i, d in enumerate(x.shape) if d == 1}
    for a in sorted(axes):
        if x.shape[a] not in (1, None):
            raise error(node, f"cannot squeeze dimension {a} of {x.name!r}, shape "
                              f"{format_shape(x.shape)}: it is not 1")
    return [(x.dtype, tuple(d for i, d in enumerate(x.shape) if i not in axes))]


@defop("Squeeze", inputs=("input",), infer=_squeeze_infer,
       attrs={"squeeze_dims": Attr("list(int)", ())})
def squeeze(node, x):
    """x without the dimensions of size 1 listed in squeeze_dims (all of them if none are)."""
    return np.squeeze(x, axis=node.attrs["squeeze_dims"] or None)


@gradient("ExpandDims", "Squeeze")
def _reshaped_grad(op, grad):
    """The gradient reshaped back to the input's shape."""
    x = op.inputs[0]
    return [build.reshape(grad, build.static_or_dynamic_shape(x))] + [None] * (len(op.inputs) - 1)


# -- joining and splitting -----------------------------------------------------------------

def _common_shape(node, tensors) -> Shape:
    shape = tensors[0].shape
    for t in tensors[1:]:
        if not compatible(shape, t.shape):
            raise error(node, f"input {t.name!r} has shape {format_shape(t.shape)}, not "
                              f"compatible with {format_shape(shape)}")
        shape = merge(shape, t.shape)
    return shape


def _concat_infer(axis_first: bool):
    """Shape rule of ConcatV2 (values..., axis) and Concat (concat_dim, values...)."""
    def infer(node):
        values = node.inputs[1:] if axis_first else node.inputs[:-1]
        dtype = same_dtype(node, values)
        if len(values) < 2:
            raise error(node, "takes at least two values to concatenate")
        axis = scalar_value(node, node.inputs[0 if axis_first else -1], "axis")
        shapes = [v.shape for v in values if v.shape is not None]
        if not shapes:
            return [(dtype, None)]
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise error(node, "all values must have the same rank")
        if axis is None:
            return [(dtype, unknown(rank))]
        axis = axis_in(node, axis, rank)
        sizes = [s[axis] for s in shapes]
        total = None if None in sizes or len(shapes) < len(values) else sum(sizes)
        rest = [s[:axis] + (0,) + s[axis + 1:] for s in shapes]
        common = rest[0]
        for r in rest[1:]:
            if not compatible(common, r):
                raise error(node, f"values differ in a dimension other than axis {axis}")
            common = merge(common, r)
        return [(dtype, common[:axis] + (total,) + common[axis + 1:])]
    return infer


@defop("ConcatV2", inputs=("values*", "axis"), infer=_concat_infer(axis_first=False))
def concat_v2(node, *arrays):
    """The values joined along axis; all other dimensions must match."""
    return np.concatenate(arrays[:-1], axis=int(arrays[-1]))


@defop("Concat", inputs=("concat_dim", "values*"), infer=_concat_infer(axis_first=True))
def concat(node, axis, *values):
    """ConcatV2 with the axis first (TensorFlow's v1 op)."""
    return np.concatenate(values, axis=int(axis))


def _concat_grads(grad, values, axis_t):
    """Each value's part of grad along the axis: SplitV at static sizes when every value's
    size along the axis is known, else ConcatOffset + Slice at run time (as TensorFlow)."""
    rank = next((len(v.shape) for v in values if v.shape is not None), None)
    axis = axis_t.const_value
    if rank is not None and axis is not None:
        axis = int(axis) % rank
        sizes = [None if v.shape is None else v.shape[axis] for v in values]
        if None not in sizes:
            return build.op_outputs("SplitV", grad, build.int_constant(grad, sizes),
                                    build.int_constant(grad, axis), num_split=len(values))
        axis_t = build.int_constant(grad, axis)
    else:
        axis_t = build.op("FloorMod", build.cast(axis_t, dt.INT32), build.rank(values[0]))
    shapes = [build.shape(v) for v in values]
    offsets = build.op_outputs("ConcatOffset", axis_t, *shapes)
    return [build.op("Slice", grad, offset, s) for offset, s in zip(offsets, shapes)]


@gradient("ConcatV2")
def _concat_v2_grad(op, grad):
    return _concat_grads(grad, op.inputs[:-1], op.inputs[-1]) + [None]


@gradient("Concat")
def _concat_grad(op, grad):
    return [None] + _concat_grads(grad, op.inputs[1:], op.inputs[0])


def _concat_offset_infer(node):
    axis_t, shapes = node.inputs[0], node.inputs[1:]
    check_dtype(node, axis_t, frozenset({dt.INT32}), "concat_dim")
    check_rank(node, axis_t, 0, what="concat_dim")
    dtype = same_dtype(node, shapes, dt.INDEX)
    if len(shapes) < 2:
        raise error(node, "takes at least two shapes")
    for s in shapes:
        check_rank(node, s, 1, what="shape")
    shape = _common_shape(node, shapes)
    return [(dtype, shape or (None,))] * len(shapes)


@defop("ConcatOffset", inputs=("concat_dim", "shape*"), infer=_concat_offset_infer,
       dtypes=dt.INDEX)
def concat_offset(node, axis, *shapes):
    """Where each input starts in the concatenation of inputs of these shapes: zero
    except along concat_dim, where it is the sum of the sizes before it."""
    shapes = np.stack(shapes)
    axis = int(axis)
    if not 0 <= axis < shapes.shape[1]:
        raise ValueError(f"Concat dim is out of range: {axis} vs. {shapes.shape[1]}")
    others = np.delete(shapes, axis, axis=1)
    if np.any(others != others[0]):
        raise ValueError(f"shapes {shapes.tolist()} differ in a dimension other than {axis}")
    offsets = np.zeros_like(shapes)
    offsets[:, axis] = np.cumsum(shapes[:, axis]) - shapes[:, axis]
    return tuple(offsets)


def _pack_infer(node):
    dtype = same_dtype(node, node.inputs)
    shape = _common_shape(node, node.inputs)
    if shape is None:
        return [(dtype, None)]
    axis = axis_in(node, node.attrs["axis"], len(shape) + 1)
    return [(dtype, shape[:axis] + (len(node.inputs),) + shape[axis:])]


@defop("Pack", inputs=("values*",), infer=_pack_infer, attrs={"axis": Attr("int", 0)})
def pack(node, *values):
    """The values, of one shape, stacked along a new dimension at axis."""
    return np.stack(values, axis=node.attrs["axis"])


def _unpack_infer(node):
    (x,) = node.inputs
    num, axis = node.attrs["num"], node.attrs["axis"]
    if x.shape is None:
        return [(x.dtype, None)] * num
    axis = axis_in(node, axis, len(x.shape))
    if x.shape[axis] not in (None, num):
        raise error(node, f"dimension {axis} of {x.name!r} has size {x.shape[axis]}, "
                          f"not num = {num}")
    return [(x.dtype, x.shape[:axis] + x.shape[axis + 1:])] * num


@defop("Unpack", inputs=("value",), infer=_unpack_infer,
       attrs={"num": Attr("int"), "axis": Attr("int", 0)})
def unpack(node, x):
    """The num slices of x along axis, each without that dimension."""
    axis = node.attrs["axis"]
    if x.shape[axis] != node.attrs["num"]:
        raise ValueError(f"input dimension {axis} has size {x.shape[axis]}, not num")
    return tuple(np.moveaxis(x, axis, 0))


@gradient("Pack")
def _pack_grad(op, grad):
    return build.op_outputs("Unpack", grad, num=len(op.inputs), axis=op.attrs["axis"])


@gradient("Unpack")
def _unpack_grad(op, *grads):
    return build.stack(grads, axis=op.attrs["axis"])


def _split_shapes(node, x, axis_t, sizes):
    """The output shapes of splitting x along axis_t into pieces of `sizes` (None when
    unknown, a function of the dimension otherwise)."""
    num = node.attrs["num_split"]
    if num < 1:
        raise error(node, f"num_split must be at least 1, got {num}")
    axis = scalar_value(node, axis_t, "split_dim")
    if x.shape is None or axis is None:
        return [(x.dtype, None if x.shape is None else unknown(len(x.shape)))] * num
    axis = axis_in(node, axis, len(x.shape), "split_dim")
    try:
        pieces = sizes(x.shape[axis])
    except ValueError as e:
        raise error(node, str(e)) from None
    return [(x.dtype, x.shape[:axis] + (d,) + x.shape[axis + 1:]) for d in pieces]


def _split_infer(node):
    axis_t, x = node.inputs
    check_dtype(node, axis_t, frozenset({dt.INT32}), "split_dim")
    num = node.attrs["num_split"]

    def sizes(dim):
        if dim is not None and dim % num:
            raise ValueError(f"dimension of size {dim} cannot be split into {num} equal parts")
        return [None if dim is None else dim // num] * num
    return _split_shapes(node, x, axis_t, sizes)


@defop("Split", inputs=("split_dim", "value"), infer=_split_infer,
       attrs={"num_split": Attr("int")})
def split(node, axis, x):
    """x cut along split_dim into num_split equal parts."""
    return tuple(np.split(x, node.attrs["num_split"], axis=int(axis)))


def _split_v_sizes(sizes, dim, num):
    """size_splits with its one -1 resolved (None while `dim` is unknown)."""
    sizes = [int(s) for s in sizes]
    if len(sizes) != num or any(s < -1 for s in sizes) or sizes.count(-1) > 1:
        raise ValueError(f"size_splits {sizes} must be {num} sizes, at most one of them -1")
    if dim is None:
        return [None if s == -1 else s for s in sizes]
    if -1 in sizes:
        sizes[sizes.index(-1)] = dim - sum(s for s in sizes if s != -1)
    if min(sizes, default=0) < 0 or sum(sizes) != dim:
        raise ValueError(f"size_splits {sizes} do not add up to the dimension size {dim}")
    return sizes


def _split_v_infer(node):
    x, sizes_t, axis_t = node.inputs
    check_dtype(node, axis_t, frozenset({dt.INT32}), "split_dim")
    check_rank(node, sizes_t, 1, what="size_splits")
    sizes = int_values(node, sizes_t, "size_splits")
    num = node.attrs["num_split"]
    if sizes is None:
        return _split_shapes(node, x, axis_t, lambda dim: [None] * num)
    return _split_shapes(node, x, axis_t, lambda dim: _split_v_sizes(sizes, dim, num))


@defop("SplitV", inputs=("value", "size_splits", "split_dim"), infer=_split_v_infer,
       attrs={"num_split": Attr("int")})
def split_v(node, x, sizes, axis):
    """x cut along split_dim into pieces of the sizes in size_splits (one may be -1: the rest)."""
    axis = int(axis)
    sizes = _split_v_sizes(sizes, x.shape[axis], node.attrs["num_split"])
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


@gradient("Split")
def _split_grad(op, *grads):
    return None, build.concat(grads, op.inputs[0])


@gradient("SplitV")
def _split_v_grad(op, *grads):
    return build.concat(grads, op.inputs[2]), None, None


not_differentiable("InvertPermutation", "ConcatOffset")


# -- tiling and reversing ------------------------------------------------------------------

def _tile_infer(node):
    x, multiples_t = node.inputs
    check_rank(node, multiples_t, 1, what="multiples")
    multiples = int_values(node, multiples_t, "multiples")
    rank = len(x.shape) if x.shape is not None else (multiples_t.shape or (None,))[0]
    if multiples is None:
        return [(x.dtype, unknown(rank))]
    if rank not in (None, len(multiples)) or np.any(multiples < 0):
        raise error(node, f"multiples {multiples.tolist()} must be {rank} non-negative counts")
    shape = x.shape or unknown(len(multiples))
    return [(x.dtype, tuple(0 if m == 0 else None if d is None else d * int(m)
                            for d, m in zip(shape, multiples)))]


@defop("Tile", inputs=("input", "multiples"), infer=_tile_infer)
def tile(node, x, multiples):
    """x repeated multiples[i] times along each dimension i."""
    if multiples.shape != (x.ndim,) or np.any(multiples < 0):
        raise ValueError(f"multiples {multiples.tolist()} must be {x.ndim} non-negative counts")
    return np.tile(x, multiples)


@gradient("Tile")
def _tile_grad(op, grad):
    """The tiles summed: grad reshaped to [m0, d0, m1, d1, ...] and reduced over the
    axes of the multiples (0, 2, 4, ...)."""
    x, multiples = op.inputs
    if x.shape is None:
        pairs = build.stack([multiples, build.shape(x, out_type=multiples.dtype)])
        split_shape = build.reshape(build.transpose(pairs, [1, 0]), [-1])
        axes = build.op("Range", build.int_constant(x, 0), build.size(split_shape),
                        build.int_constant(x, 2))
    else:
        rank = len(x.shape)
        if multiples.const_value is not None:
            counts = [int(m) for m in multiples.const_value]
        else:
            multiples = build.cast(multiples, dt.INT32)
            counts = [build.strided_slice(multiples, [i], [i + 1], shrink_axis_mask=1)
                      for i in range(rank)]
        split_shape = build.int_vector(grad, [v for pair in zip(counts, build.dims(x))
                                              for v in pair])
        axes = list(range(0, 2 * rank, 2))
    return build.reduce_sum(build.reshape(grad, split_shape), axes), None


def _reverse_axes(axes, rank: int) -> tuple:
    """The axes to reverse, made non-negative; ValueError when out of range or repeated."""
    normalized = [int(a) % rank if -rank <= a < rank else None for a in axes]
    if None in normalized or len(set(normalized)) < len(normalized):
        raise ValueError(f"axes {list(axes)} must be distinct and in [{-rank}, {rank})")
    return tuple(normalized)


def _reverse_infer(node):
    x, axis_t = node.inputs
    check_rank(node, axis_t, 1, what="axis")
    axes = int_values(node, axis_t, "axis")
    if axes is not None and x.shape is not None:
        try:
            _reverse_axes(axes.tolist(), len(x.shape))
        except ValueError as e:
            raise error(node, str(e)) from None
    return [(x.dtype, x.shape)]


@defop("ReverseV2", inputs=("tensor", "axis"), infer=_reverse_infer)
def reverse_v2(node, x, axes):
    """x with the order of its elements reversed along each of the axes."""
    return np.flip(x, axis=_reverse_axes(axes.tolist(), x.ndim))


@gradient("ReverseV2")
def _reverse_v2_grad(op, grad):
    return build.op("ReverseV2", grad, op.inputs[1]), None
