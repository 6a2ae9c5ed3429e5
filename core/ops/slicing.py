"""Slicing and its inverses: Slice, StridedSlice, the pads and the gathers.

Each slicing op's gradient is its inverse (Slice <-> Pad, StridedSlice <-> StridedSliceGrad,
MirrorPad <-> MirrorPadGrad, GatherV2 <-> UnsortedSegmentSum of core/ops/segment.py), so
every order of gradient is built from the ops of these two modules.
"""

import numpy as np

from core import build
from core import dtypes as dt
from core.errors import GraphError
from core.graph import Tensor
from core.ops.common import (axis_in, check_dtype, check_rank, error, int_values, same_dtype,
                             scalar_value, shape_value)
from core.registry import Attr, defop, gradient
from core.shapes import compatible, format_shape, is_fully_defined, merge, unknown
from core.sparse import IndexedSlices


def _index_inputs(node, tensors, names) -> list:
    """The build-time values of 1-D index inputs of one dtype (None where unknown)."""
    same_dtype(node, tensors, dt.INDEX)
    for t, name in zip(tensors, names):
        check_rank(node, t, 1, what=name)
    return [int_values(node, t, name) for t, name in zip(tensors, names)]


def _rank_of(x, *vectors):
    """The rank of x, else the length of any of the 1-D `vectors` describing its dimensions."""
    if x.shape is not None:
        return len(x.shape)
    return next((v.shape[0] for v in vectors if v.shape is not None and v.shape[0] is not None),
                None)


# -- Slice ---------------------------------------------------------------------------------

def _slice_sizes(shape, begin, size) -> list:
    """The size of the slice along each dimension (None where unknown; size -1 means up to
    the end); ValueError when begin or size does not fit the dimension."""
    sizes = []
    for d, b, s in zip(shape, begin, size):
        if b is not None and b < 0 or s is not None and s < -1:
            raise ValueError(f"begin {b} must be >= 0 and size {s} >= -1")
        if s == -1:
            s = None if d is None or b is None else d - b
        if d is not None and b is not None and (b > d or s is not None and b + s > d):
            raise ValueError(f"the slice from {b} of size {s} does not fit a dimension of {d}")
        sizes.append(s)
    return sizes


def _slice_infer(node):
    x, begin_t, size_t = node.inputs
    begin, size = _index_inputs(node, [begin_t, size_t], ["begin", "size"])
    rank = _rank_of(x, begin_t, size_t)
    if rank is None:
        return [(x.dtype, None)]
    if any(v is not None and len(v) != rank for v in (begin, size)):
        raise error(node, f"begin and size must have {rank} entries, one per dimension")
    unknowns = [None] * rank
    try:
        sizes = _slice_sizes(x.shape or unknowns, unknowns if begin is None else begin.tolist(),
                             unknowns if size is None else size.tolist())
    except ValueError as e:
        raise error(node, str(e)) from None
    return [(x.dtype, tuple(sizes))]


@defop("Slice", inputs=("input", "begin", "size"), infer=_slice_infer)
def slice_(node, x, begin, size):
    """x[begin[i] : begin[i] + size[i]] along each dimension i."""
    if begin.shape != (x.ndim,) or size.shape != (x.ndim,):
        raise ValueError(f"begin and size must have {x.ndim} entries, one per dimension")
    sizes = _slice_sizes(x.shape, begin.tolist(), size.tolist())
    return x[tuple(slice(b, b + s) for b, s in zip(begin.tolist(), sizes))]


@gradient("Slice")
def _slice_grad(op, grad):
    """Zeros around the gradient back to the input's shape: Pad by begin before and by
    shape(x) - shape(y) - begin after each dimension."""
    x, begin, _ = op.inputs
    y = op.output(0)
    if begin.const_value is not None and is_fully_defined(x.shape) and is_fully_defined(y.shape):
        after = np.subtract(x.shape, y.shape) - begin.const_value
        paddings = build.constant(begin, np.stack([begin.const_value, after], axis=1))
    else:
        after = (build.shape(x, out_type=begin.dtype) - build.shape(y, out_type=begin.dtype)
                 - begin)
        paddings = build.concat([build.reshape(begin, [-1, 1]), build.reshape(after, [-1, 1])], 1)
    return build.op("Pad", grad, paddings), None, None


# -- StridedSlice --------------------------------------------------------------------------

MASKS = {name: Attr("int", 0) for name in
         ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")}
_NEW_AXIS = -1


def _dense_spec(masks, n: int, rank: int):
    """TensorFlow's BuildDenseSpec: the sparse index (or None, inside the ellipsis) that
    slices each of the `rank` input dimensions, and for each output dimension the input
    dimension it comes from (_NEW_AXIS for an inserted one; shrunk dimensions have none)."""
    ellipsis, new_axis = masks["ellipsis_mask"], masks["new_axis_mask"]
    if ellipsis & (ellipsis - 1):
        raise ValueError("Multiple ellipses in slice spec not allowed")
    if not ellipsis & ((1 << n) - 1):
        ellipsis, n = 1 << n, n + 1  # an implicit ellipsis at the end
    at = (ellipsis & -ellipsis).bit_length() - 1
    new_after_ellipsis = sum(new_axis >> i & 1 for i in range(at + 1, n))
    sources, gather = [], []
    for i in range(n):
        if ellipsis >> i & 1:
            stop = min(rank - (n - i) + 1 + new_after_ellipsis, rank)
            gather.extend(range(len(sources), stop))
            sources.extend([None] * (stop - len(sources)))
        elif new_axis >> i & 1:
            gather.append(_NEW_AXIS)
        else:
            if len(sources) == rank:
                raise ValueError("Attempting to slice scalar input." if rank == 0 else
                                 f"Index out of range using input dim {rank}; input has only "
                                 f"{rank} dims")
            if not masks["shrink_axis_mask"] >> i & 1:
                gather.append(len(sources))
            sources.append(i)
    return sources, gather


def _strided_slice_spec(masks, shape, begin, end, strides):
    """TensorFlow's ValidateStridedSliceOp over an input of `shape` (dims may be None;
    begin and end may be None when unknown, strides must be known). Returns the slice of
    each input dimension (None where unknown), the shape those slices take (shrunk
    dimensions as 1) and the output shape; ValueError when the spec is invalid."""
    if any(v is not None and len(v) != len(strides) for v in (begin, end)):
        raise ValueError("Expected begin, end, and strides to be 1D equal size tensors")
    sources, gather = _dense_spec(masks, len(strides), len(shape))
    slices, sizes = [], []
    for dim, (d, i) in enumerate(zip(shape, sources)):
        bit = 0 if i is None else 1 << i
        stride = 1 if i is None else int(strides[i])
        if stride == 0:
            raise ValueError(f"strides[{i}] must be non-zero")
        known = i is None or begin is not None and end is not None
        piece, size = _dimension_slice(
            dim, d, stride, None if i is None or not known else (int(begin[i]), int(end[i])),
            [i is None or bool(masks[m] & bit) for m in ("begin_mask", "end_mask")],
            bool(masks["shrink_axis_mask"] & bit))
        slices.append(piece)
        sizes.append(size)
    return slices, sizes, [1 if g == _NEW_AXIS else sizes[g] for g in gather]


def _dimension_slice(dim, d, stride, bounds, masked, shrink):
    """The slice of one input dimension of size d (None: unknown) and its size (None:
    unknown), from (begin, end) or None when they are unknown."""
    if d is None:
        return None, 1 if shrink else None
    if shrink and stride < 0:
        raise ValueError("only stride 1 allowed on non-range indexing.")
    lo, hi = (0, d) if stride > 0 else (-1, d - 1)
    if bounds is not None and shrink:
        start = bounds[0] + d if bounds[0] < 0 else bounds[0]
        if not 0 <= start < d:
            raise ValueError(f"slice index {bounds[0]} of dimension {dim} out of bounds.")
        bounds = start, start + 1
    elif bounds is not None or all(masked):
        bounds = tuple(((lo, hi)[c] if stride > 0 else (hi, lo)[c]) if masked[c] else
                       min(max(v + d if v < 0 else v, lo), hi)
                       for c, v in enumerate(bounds or (0, 0)))
    elif shrink:
        return None, 1
    else:
        return None, None
    length = bounds[1] - bounds[0]
    size = 0 if length == 0 or (length < 0) != (stride < 0) else -(-abs(length) // abs(stride))
    return _python_slice(*bounds, stride), size


def _python_slice(start: int, stop: int, stride: int) -> slice:
    """The NumPy slice of TensorFlow's canonical bounds, where -1 means 'before 0'."""
    if stride < 0 and start < 0:
        return slice(0, 0)
    return slice(start, None if stop < 0 else stop, stride)


def _spec_or_error(node, shape, begin, end, strides):
    try:
        return _strided_slice_spec(node.attrs, shape, begin, end, strides)
    except ValueError as e:
        raise error(node, str(e)) from None


def _strided_slice_infer(node):
    x = node.inputs[0]
    begin, end, strides = _index_inputs(node, node.inputs[1:], ["begin", "end", "strides"])
    if x.shape is None or strides is None:
        return [(x.dtype, None)]
    return [(x.dtype, tuple(_spec_or_error(node, x.shape, begin, end, strides)[2]))]


@defop("StridedSlice", inputs=("input", "begin", "end", "strides"), infer=_strided_slice_infer,
       attrs=MASKS)
def strided_slice(node, x, begin, end, strides):
    """x[begin:end:strides] as Python indexes it, one (begin, end, stride) per index, with
    bit i of the masks making index i: begin_mask ':end', end_mask 'begin:', ellipsis_mask
    '...', new_axis_mask 'newaxis' and shrink_axis_mask the integer 'begin'."""
    slices, _, final = _strided_slice_spec(node.attrs, x.shape, begin, end, strides)
    return x[tuple(slices)].reshape(final)


@gradient("StridedSlice")
def _strided_slice_grad(op, grad):
    x, begin, end, strides = op.inputs
    shape = build.shape(x, out_type=begin.dtype)
    dx = build.op("StridedSliceGrad", shape, begin, end, strides, grad, **op.attrs)
    return dx, None, None, None


def _strided_slice_grad_infer(node):
    shape_t, dy = node.inputs[0], node.inputs[4]
    begin, end, strides = _index_inputs(node, node.inputs[1:4], ["begin", "end", "strides"])
    same_dtype(node, node.inputs[:4], dt.INDEX)
    shape = shape_value(node, shape_t)
    if is_fully_defined(shape) and strides is not None:
        final = _spec_or_error(node, shape, begin, end, strides)[2]
        if not compatible(dy.shape, tuple(final)):
            raise error(node, f"dy {dy.name!r} has shape {format_shape(dy.shape)}, not the "
                              f"slice's {format_shape(tuple(final))}")
    return [(dy.dtype, shape)]


@defop("StridedSliceGrad", inputs=("shape", "begin", "end", "strides", "dy"),
       infer=_strided_slice_grad_infer, attrs=MASKS)
def strided_slice_grad(node, shape, begin, end, strides, dy):
    """Zeros of `shape` with dy written where StridedSlice(begin, end, strides) reads."""
    slices, sizes, final = _strided_slice_spec(node.attrs, shape.tolist(), begin, end, strides)
    if dy.shape != tuple(final):
        raise ValueError(f"shape of dy was {list(dy.shape)} instead of {final}")
    dx = np.zeros(shape, dtype=dy.dtype)
    dx[tuple(slices)] = dy.reshape(sizes)
    return dx


@gradient("StridedSliceGrad")
def _strided_slice_grad_grad(op, grad):
    _, begin, end, strides, _ = op.inputs
    return None, None, None, None, build.op("StridedSlice", grad, begin, end, strides, **op.attrs)


# -- padding -------------------------------------------------------------------------------

_MIRROR_MODES = {"REFLECT": 1, "SYMMETRIC": 0}  # how far the mirror is from the border


def _mirror_fits(mode: str, d: int, padding, folded: bool) -> bool:
    """Whether [before, after] fits a dimension of size d (the padded one when `folded`):
    REFLECT mirrors at most d - 1 elements, SYMMETRIC at most d."""
    return max(padding) + _MIRROR_MODES[mode] <= d - (sum(padding) if folded else 0)


def _padded_infer(sign=1):
    """Shape rule: each dimension d becomes d + sign * (before + after)."""
    def infer(node):
        x, paddings_t = node.inputs[:2]
        mode = node.attrs.get("mode")
        if mode is not None and mode not in _MIRROR_MODES:
            raise error(node, f"mode must be REFLECT or SYMMETRIC, got {mode!r}")
        if node.op == "PadV2":
            check_rank(node, node.inputs[2], 0, what="constant_values")
            same_dtype(node, [x, node.inputs[2]])
        check_rank(node, paddings_t, 2, what="paddings")
        paddings = int_values(node, paddings_t, "paddings")
        rank = _rank_of(x, paddings_t)
        if paddings is None:
            return [(x.dtype, unknown(rank))]
        if paddings.shape[1] != 2 or rank not in (None, len(paddings)) or np.any(paddings < 0):
            raise error(node, f"paddings {paddings.tolist()} must be [{rank}, 2] non-negative "
                              f"counts")
        shape = x.shape or unknown(len(paddings))
        for d, p in zip(shape, paddings.tolist()):
            if mode and d is not None and not _mirror_fits(mode, d, p, sign < 0):
                raise error(node, f"paddings {p} do not fit a dimension of size {d} in mode {mode}")
        return [(x.dtype, tuple(None if d is None else d + sign * sum(p)
                                for d, p in zip(shape, paddings.tolist())))]
    return infer


def _check_paddings(x, paddings):
    if paddings.shape != (x.ndim, 2) or np.any(paddings < 0):
        raise ValueError(f"paddings {paddings.tolist()} must be [{x.ndim}, 2] non-negative counts")
    return paddings.tolist()


@defop("Pad", inputs=("input", "paddings"), infer=_padded_infer())
def pad(node, x, paddings):
    """x with paddings[i] = [before, after] zeros around dimension i."""
    return np.pad(x, _check_paddings(x, paddings))


@defop("PadV2", inputs=("input", "paddings", "constant_values"), infer=_padded_infer())
def pad_v2(node, x, paddings, value):
    """Pad with constant_values instead of zeros."""
    return np.pad(x, _check_paddings(x, paddings), constant_values=value)


@gradient("Pad", "PadV2")
def _pad_grad(op, grad):
    """The input's part of the gradient: Slice(grad, paddings[:, 0], shape(x)); none for
    constant_values, as TensorFlow."""
    x, paddings = op.inputs[:2]
    if paddings.const_value is not None:
        begin = build.constant(paddings, paddings.const_value[:, 0])
    else:
        begin = build.strided_slice(paddings, [0, 0], [0, 1], begin_mask=1, end_mask=1,
                                    shrink_axis_mask=2)
    x_grad = build.op("Slice", grad, begin, build.shape(x, out_type=paddings.dtype))
    return [x_grad] + [None] * (len(op.inputs) - 1)


def _mirror_paddings(node, x, paddings, folded):
    paddings = _check_paddings(x, paddings)
    for d, p in zip(x.shape, paddings):
        if not _mirror_fits(node.attrs["mode"], d, p, folded):
            raise ValueError(f"paddings {p} do not fit a dimension of size {d}")
    return _MIRROR_MODES[node.attrs["mode"]], paddings


MODE = {"mode": Attr("string")}


@defop("MirrorPad", inputs=("input", "paddings"), infer=_padded_infer(), attrs=MODE)
def mirror_pad(node, x, paddings):
    """x padded with its own mirror image: REFLECT leaves out the border element
    ([1, 2, 3] -> [3, 2, | 1, 2, 3 |, 2, 1]), SYMMETRIC repeats it ([2, 1, | 1, 2, 3 |, 3, 2])."""
    _mirror_paddings(node, x, paddings, folded=False)
    return np.pad(x, paddings.tolist(), mode=node.attrs["mode"].lower())


@defop("MirrorPadGrad", inputs=("input", "paddings"), infer=_padded_infer(-1), attrs=MODE)
def mirror_pad_grad(node, grad, paddings):
    """The gradient of MirrorPad: each padded element's gradient added to the element it
    mirrors, then the padding cut off, one dimension at a time."""
    offset, paddings = _mirror_paddings(node, grad, paddings, folded=True)
    for axis, (before, after) in enumerate(paddings):
        g = np.moveaxis(grad, axis, 0)
        n = g.shape[0] - before - after
        core = g[before:before + n].copy()
        core[offset:offset + before] += g[:before][::-1]
        core[n - offset - after:n - offset] += g[before + n:][::-1]
        grad = np.moveaxis(core, 0, axis)
    return grad


@gradient("MirrorPad")
def _mirror_pad_grad(op, grad):
    return build.op("MirrorPadGrad", grad, op.inputs[1], mode=op.attrs["mode"]), None


@gradient("MirrorPadGrad")
def _mirror_pad_grad_grad(op, grad):
    return build.op("MirrorPad", grad, op.inputs[1], mode=op.attrs["mode"]), None


# -- gathering ---------------------------------------------------------------------------

def _gather_shape(node, params, indices, axis, batch_dims):
    """params[:axis] + indices[batch_dims:] + params[axis + 1:], the batch dimensions
    shared by params and indices; axis may be None (unknown)."""
    p, q = params.shape, indices.shape
    if p is None or q is None:
        return None
    if axis is None:
        return unknown(len(p) + len(q) - 1 - batch_dims)
    axis = axis_in(node, axis, len(p))
    if not 0 <= batch_dims <= min(axis, len(q)):
        raise error(node, f"batch_dims {batch_dims} must be in [0, min(axis {axis}, "
                          f"rank(indices) {len(q)})]")
    if not compatible(p[:batch_dims], q[:batch_dims]):
        raise error(node, f"the batch dimensions of params {format_shape(p)} and indices "
                          f"{format_shape(q)} differ")
    batch = merge(p[:batch_dims], q[:batch_dims])
    return batch + p[batch_dims:axis] + q[batch_dims:] + p[axis + 1:]


def _gather_v2_infer(node):
    params, indices, axis_t = node.inputs
    check_dtype(node, indices, dt.INDEX, "indices")
    check_rank(node, axis_t, 0, what="axis")
    axis = scalar_value(node, axis_t, "axis")
    batch_dims = node.attrs["batch_dims"]
    if batch_dims < 0:
        if indices.shape is None:
            return [(params.dtype, None)]
        batch_dims += len(indices.shape)
    return [(params.dtype, _gather_shape(node, params, indices, axis, batch_dims))]


def _check_indices(indices, n: int):
    bad = (indices < 0) | (indices >= n)
    if np.any(bad):
        raise ValueError(f"indices{np.argwhere(bad)[0].tolist()} = {indices[bad][0]} is not "
                         f"in [0, {n})")


@defop("GatherV2", inputs=("params", "indices", "axis"), infer=_gather_v2_infer,
       attrs={"batch_dims": Attr("int", 0)})
def gather_v2(node, params, indices, axis):
    """The slices params[..., indices, ...] taken along axis; with batch_dims = b, the
    first b dimensions of params and indices are a batch, each gathering on its own."""
    b = node.attrs["batch_dims"]
    b = b + indices.ndim if b < 0 else b
    axis = int(axis) % params.ndim if -params.ndim <= axis < params.ndim else None
    if axis is None or not 0 <= b <= min(axis, indices.ndim) or \
            params.shape[:b] != indices.shape[:b]:
        raise ValueError(f"invalid axis or batch_dims for params {list(params.shape)} and "
                         f"indices {list(indices.shape)}")
    _check_indices(indices, params.shape[axis])
    if b == 0:
        return np.take(params, indices, axis=axis)
    # Index the batch and the axis (moved next to it) together, then put
    # params[b:axis] back before the indices' dimensions.
    extra = indices.ndim - b
    batch = tuple(i.reshape(i.shape + (1,) * extra)
                  for i in np.indices(params.shape[:b], sparse=True))
    taken = np.moveaxis(params, axis, b)[batch + (indices,)]
    between = list(range(b + extra, axis + extra))
    return taken.transpose(list(range(b)) + between + list(range(b, b + extra)) +
                           list(range(axis + extra, taken.ndim)))


def _gather_infer(node):
    params, indices = node.inputs
    check_dtype(node, indices, dt.INDEX, "indices")
    check_rank(node, params, *range(1, 64), what="params")
    return [(params.dtype, _gather_shape(node, params, indices, 0, 0))]


@defop("Gather", inputs=("params", "indices"), infer=_gather_infer,
       attrs={"validate_indices": Attr("bool", True)})
def gather(node, params, indices):
    """GatherV2 along axis 0 (TensorFlow's v1 op)."""
    _check_indices(indices, params.shape[0])
    return np.take(params, indices, axis=0)


def _gather_grad(params, indices, grad, axis, batch_dims: int):
    """The dense gradient TensorFlow's IndexedSlices stand for: each gathered slice's
    gradient summed into the slice it came from, UnsortedSegmentSum(grad, indices, n).

    As TensorFlow's _GatherV2Grad: grad, [p[:axis], indices[b:], p[axis+1:]], is
    reshaped to [p[:axis], m, p[axis+1:]] (m indices per batch) and the axis moved to
    position b, after the batch; the batch is flattened into the segments, each batch's
    indices offset by batch index * n; the sum is shaped and transposed back."""
    b = batch_dims
    if params.shape is not None and not isinstance(axis, Tensor):
        values, inverse, n, batch, inner = _moved_axis_static(params, indices, grad, axis, b)
    else:
        values, inverse, n, batch, inner = _moved_axis_dynamic(params, grad, axis, b)
    ids, segments = indices, n
    if b:
        batch_size = batch[0]
        for d in batch[1:]:
            batch_size = batch_size * d
        ids = build.reshape(indices, build.int_vector(indices, batch + [-1])) + \
            _batch_offsets(indices, batch, batch_size, n)
        values = build.reshape(values, _int_concat(grad, [-1], inner))
        segments = n * batch_size
    summed = build.op("UnsortedSegmentSum", values, build.reshape(ids, [-1]),
                      build.as_int_tensor(grad, segments))
    if b:
        summed = build.reshape(summed, _int_concat(grad, batch + [n], inner))
    if inverse is not None:
        summed = build.transpose(summed, inverse)
    return build.reshape(summed, build.static_or_dynamic_shape(params))


def _moved_axis_static(params, indices, grad, axis: int, b: int):
    """grad as [batch, m, inner] and the permutation back, from the rank and the axis:
    (values, inverse permutation or None, n, batch dims, inner dims), dims ints where static."""
    p = build.dims(params)
    axis %= len(p)
    count = -1 if axis else build.size(indices) if not is_fully_defined(indices.shape) else \
        int(np.prod(indices.shape))
    values = build.reshape(grad, build.int_vector(grad, p[:axis] + [count] + p[axis + 1:]))
    perm = list(range(b)) + [axis] + list(range(b, axis)) + list(range(axis + 1, len(p)))
    if axis != b:
        values = build.transpose(values, perm)
    inverse = None if axis == b else np.argsort(perm)
    return values, inverse, p[axis], p[:b], [p[i] for i in perm[b + 1:]]


def _moved_axis_dynamic(params, grad, axis, b: int):
    """_moved_axis_static with the rank or the axis known only at run time."""
    shape, rank = build.shape(params), build.rank(params)
    axis = build.op("FloorMod", build.cast(build.as_int_tensor(grad, axis), dt.INT32), rank)
    at = build.reshape(axis, [1])
    values = build.reshape(grad, build.concat([
        build.strided_slice(shape, [0], at, [1]), build.int_constant(grad, [-1]),
        build.strided_slice(shape, at + 1, [0], [1], end_mask=1)], 0))

    def span(start, limit):
        return build.op("Range", *(build.as_int_tensor(grad, v) for v in (start, limit, 1)))
    perm = build.concat([span(0, b), at, span(b, axis), span(axis + 1, rank)], 0)
    values = build.transpose(values, perm)
    n = build.strided_slice(shape, at, at + 1, [1], shrink_axis_mask=1)
    batch = [build.strided_slice(shape, [k], [k + 1], shrink_axis_mask=1) for k in range(b)]
    inner = build.strided_slice(build.shape(values), [b + 1], [0], end_mask=1)
    return values, build.op("InvertPermutation", perm), n, batch, inner


def _int_concat(like, *parts):
    """One 1-D int32 tensor of parts that are lists (of ints and scalar tensors) or 1-D tensors."""
    if all(isinstance(part, list) for part in parts):
        return build.int_vector(like, [v for part in parts for v in part])
    return build.concat([part if isinstance(part, Tensor) else build.int_vector(like, part)
                         for part in parts], 0)


def _batch_offsets(indices, batch, batch_size, n):
    """batch index * n for each batch element, shaped [batch, 1] to add to the indices
    reshaped to [batch, -1]: where each batch's segments start once it is flattened."""
    if isinstance(batch_size, int) and isinstance(n, int):
        return build.constant(indices, (np.arange(batch_size) * n).reshape(batch + [1]))
    offsets = build.op("Range", *(build.as_int_tensor(indices, v) for v in (0, batch_size, 1)))
    offsets = build.reshape(offsets * build.as_int_tensor(indices, n),
                            build.int_vector(indices, batch + [1]))
    return build.cast(offsets, indices.dtype)


@gradient("GatherV2")
def _gather_v2_grad(op, grad):
    params, indices, axis = op.inputs
    b = op.attrs["batch_dims"]
    if b < 0:
        if indices.shape is None:
            raise GraphError(f"the gradient of {op.name!r} (GatherV2) with batch_dims < 0 "
                             f"needs the rank of indices; give indices a static shape", op.name)
        b += len(indices.shape)
    if axis.const_value is not None:
        axis = int(axis.const_value)
        if axis == 0 and b == 0:
            return _rows_gradient(params, indices, grad), None, None
    return _gather_grad(params, indices, grad, axis, b), None, None


@gradient("Gather")
def _gather_v1_grad(op, grad):
    params, indices = op.inputs
    return _rows_gradient(params, indices, grad), None


def _rows_gradient(params, indices, grad) -> IndexedSlices:
    """Gathering rows: the gradient is the incoming one as IndexedSlices, one slice per
    index (values reshaped to [N] + params.shape[1:]), as TensorFlow returns it."""
    count = build.size(indices) if not is_fully_defined(indices.shape) else \
        int(np.prod(indices.shape))
    tail = build.dims(params)[1:] if params.shape is not None else None
    if tail is None:
        shape = build.shape(params)
        values_shape = build.concat([build.reshape(build.as_int_tensor(grad, count), [1]),
                                     build.strided_slice(shape, [1], [0], end_mask=1)], 0)
    else:
        values_shape = build.int_vector(grad, [count] + tail)
    values = build.reshape(grad, values_shape)
    return IndexedSlices(values, build.reshape(indices, [-1]), build.shape(params))
