"""Indexing by coordinates and by value: GatherNd and its inverses the scatters (ScatterNd,
TensorScatterUpdate, TensorScatterAdd), OneHot, Where and TopKV2.

An index vector, the last axis of `indices` of length K, addresses an element (K = rank)
or a slice (K < rank) of a tensor; the tensor is handled as a matrix with one row per
index vector (its first K dimensions flattened)."""

import numpy as np

from core import build
from core import dtypes as dt
from core.kernels.segment import SUM, scatter
from core.ops.common import check_dtype, check_rank, error, same_dtype, scalar_value, shape_value
from core.registry import Attr, defop, gradient, not_differentiable
from core.shapes import compatible, format_shape
from core.sparse import IndexedSlices

POLICY = {"bad_indices_policy": Attr("string", "")}


def _ignores_bad_indices(node) -> bool:
    policy = node.attrs["bad_indices_policy"]
    if policy not in ("", "DEFAULT", "ERROR", "IGNORE"):
        raise error(node, f"bad_indices_policy must be DEFAULT, ERROR or IGNORE, got {policy!r}")
    return policy == "IGNORE"


def _matrix(x, k: int):
    """x as a matrix: one row per index into its first k dimensions."""
    return x.reshape(int(np.prod(x.shape[:k])), int(np.prod(x.shape[k:])))


def _rows(indices, shape, ignore: bool):
    """The row of the matrix of an array of `shape` each index vector picks; -1 for one
    outside `shape` when `ignore`, else ValueError."""
    if indices.ndim == 0 or indices.shape[-1] > len(shape):
        raise ValueError(f"indices of shape {list(indices.shape)} must be at least a vector, "
                         f"its last dimension at most the rank of {list(shape)}")
    k = indices.shape[-1]
    vectors = indices.reshape(int(np.prod(indices.shape[:-1])), k).astype(np.int64)
    dims = np.asarray(shape[:k], np.int64)
    bad = np.any((vectors < 0) | (vectors >= dims), axis=1)
    if np.any(bad) and not ignore:
        i = int(np.argmax(bad))
        raise ValueError(f"indices[{i}] = {vectors[i].tolist()} does not index into shape "
                         f"{list(shape)}")
    strides = np.array([np.prod(dims[j + 1:]) for j in range(k)], np.int64)
    return np.where(bad, -1, vectors @ strides)


def _index_depth(node, indices, rank):
    """K, the length of the index vectors (None when unknown); GraphError if over `rank`."""
    check_dtype(node, indices, dt.INDEX, "indices")
    if indices.shape is not None and not indices.shape:
        raise error(node, f"indices {indices.name!r} must be at least a vector")
    k = None if indices.shape is None else indices.shape[-1]
    if k is not None and rank is not None and k > rank:
        raise error(node, f"index vectors of length {k} (the last dimension of indices "
                          f"{indices.name!r}) cannot index a tensor of rank {rank}")
    return k


# -- GatherNd and the scatters -------------------------------------------------------------

def _gather_nd_infer(node):
    params, indices = node.inputs
    _ignores_bad_indices(node)
    if params.shape is not None and not params.shape:
        raise error(node, f"params {params.name!r} must be at least a vector")
    k = _index_depth(node, indices, None if params.shape is None else len(params.shape))
    if k is None or params.shape is None:
        return [(params.dtype, None)]
    return [(params.dtype, indices.shape[:-1] + params.shape[k:])]


@defop("GatherNd", inputs=("params", "indices"), infer=_gather_nd_infer, attrs=POLICY)
def gather_nd(node, params, indices):
    """output[i...] = params[indices[i...]]: the element or slice of params each index
    vector addresses; zeros for one outside params when bad_indices_policy is IGNORE."""
    if params.ndim == 0:
        raise ValueError("params must be at least a vector")
    rows = _rows(indices, params.shape, _ignores_bad_indices(node))
    k = indices.shape[-1]
    table = _matrix(params, k)
    out = np.zeros((rows.size, table.shape[1]), params.dtype)
    found = rows >= 0
    out[found] = table[rows[found]]
    return out.reshape(indices.shape[:-1] + params.shape[k:])


def _scatter_infer(node, indices, updates, shape):
    """Shape rule of the scatters: updates shaped indices.shape[:-1] + shape[K:]."""
    _ignores_bad_indices(node)
    k = _index_depth(node, indices, None if shape is None else len(shape))
    if k is not None and shape is not None and updates.shape is not None:
        expected = indices.shape[:-1] + shape[k:]
        if not compatible(updates.shape, expected):
            raise error(node, f"updates {updates.name!r} has shape {format_shape(updates.shape)}, "
                              f"not indices.shape[:-1] + shape[K:] = {format_shape(expected)}")
    return [(updates.dtype, shape)]


def _scatter_into(node, out, indices, updates, op: int | None):
    """out at the index vectors combined with updates by `op`, or set to them (None)."""
    rows = _rows(indices, out.shape, _ignores_bad_indices(node))
    k = indices.shape[-1]
    if updates.shape != indices.shape[:-1] + out.shape[k:]:
        raise ValueError(f"updates of shape {list(updates.shape)} do not match indices "
                         f"{list(indices.shape)} into shape {list(out.shape)}")
    table = _matrix(out, k)
    values = updates.reshape(rows.size, table.shape[1])
    if op is None:
        found = rows >= 0
        table[rows[found]] = values[found]
    else:
        scatter(table, rows, values, op)
    return out


def _scatter_nd_infer(node):
    indices, updates, shape_t = node.inputs
    same_dtype(node, [indices, shape_t], dt.INDEX)
    shape = shape_value(node, shape_t)
    if shape is not None and any(d is not None and d < 0 for d in shape):
        raise error(node, f"shape must be non-negative, got {format_shape(shape)}")
    return _scatter_infer(node, indices, updates, shape)


@defop("ScatterNd", inputs=("indices", "updates", "shape"), infer=_scatter_nd_infer,
       attrs=POLICY)
def scatter_nd(node, indices, updates, shape):
    """Zeros of `shape` with each updates[i...] added where indices[i...] points (repeated
    indices add up); an index outside shape is skipped when bad_indices_policy is IGNORE."""
    out = np.zeros(tuple(int(d) for d in shape), updates.dtype)
    return _scatter_into(node, out, indices, updates, SUM)


def _tensor_scatter_infer(node):
    tensor, indices, updates = node.inputs
    same_dtype(node, [tensor, updates])
    return _scatter_infer(node, indices, updates, tensor.shape)


@defop("TensorScatterUpdate", inputs=("tensor", "indices", "updates"),
       infer=_tensor_scatter_infer, attrs=POLICY)
def tensor_scatter_update(node, tensor, indices, updates):
    """tensor with updates[i...] written where indices[i...] points (of repeated indices,
    the last wins)."""
    return _scatter_into(node, tensor.copy(), indices, updates, None)


@defop("TensorScatterAdd", inputs=("tensor", "indices", "updates"),
       infer=_tensor_scatter_infer, attrs=POLICY)
def tensor_scatter_add(node, tensor, indices, updates):
    """tensor with updates[i...] added where indices[i...] points."""
    return _scatter_into(node, tensor.copy(), indices, updates, SUM)


@gradient("GatherNd")
def _gather_nd_grad(op, grad):
    """Each picked element's gradient added back where it came from: ScatterNd; as
    IndexedSlices when indices is [N, 1] (picking rows), as TensorFlow."""
    params, indices = op.inputs
    shape = build.shape(params, out_type=indices.dtype)
    if indices.shape is not None and len(indices.shape) == 2 and indices.shape[1] == 1:
        return IndexedSlices(grad, build.reshape(indices, [-1]), shape), None
    return build.op("ScatterNd", indices, grad, shape, **op.attrs), None


# TensorFlow's rules below leave bad_indices_policy out, so that under IGNORE they fail on
# the indices the op ignored; passed on, it gives the same gradients wherever they succeed.

@gradient("ScatterNd")
def _scatter_nd_grad(op, grad):
    return None, build.op("GatherNd", grad, op.inputs[0], **op.attrs), None


@gradient("TensorScatterUpdate")
def _tensor_scatter_update_grad(op, grad):
    """The overwritten elements get none of the gradient, the updates theirs."""
    _, indices, updates = op.inputs
    tensor_grad = build.op("TensorScatterUpdate", grad, indices, build.zeros_like(updates),
                           **op.attrs)
    return tensor_grad, None, build.op("GatherNd", grad, indices, **op.attrs)


@gradient("TensorScatterAdd")
def _tensor_scatter_add_grad(op, grad):
    return grad, None, build.op("GatherNd", grad, op.inputs[1], **op.attrs)


# -- OneHot and Where ------------------------------------------------------------------------

_ONE_HOT_INDICES = frozenset(np.dtype(n) for n in ("uint8", "int8", "int32", "int64"))


def _one_hot_infer(node):
    indices, depth_t, on, off = node.inputs
    check_dtype(node, indices, _ONE_HOT_INDICES, "indices")
    for t, what in ((depth_t, "depth"), (on, "on_value"), (off, "off_value")):
        check_rank(node, t, 0, what=what)
    dtype = same_dtype(node, [on, off])
    depth = scalar_value(node, depth_t, "depth")
    if depth is not None and depth < 0:
        raise error(node, f"depth must be non-negative, got {depth}")
    if indices.shape is None:
        return [(dtype, None)]
    rank, axis = len(indices.shape), node.attrs["axis"]
    if not -1 <= axis <= rank:
        raise error(node, f"axis must be -1 or in [0, {rank}], got {axis}")
    axis = rank if axis == -1 else axis
    return [(dtype, indices.shape[:axis] + (depth,) + indices.shape[axis:])]


@defop("OneHot", inputs=("indices", "depth", "on_value", "off_value"), infer=_one_hot_infer,
       attrs={"axis": Attr("int", -1)})
def one_hot(node, indices, depth, on, off):
    """A new axis of size depth at `axis` (-1: last), holding on_value at each index and
    off_value elsewhere; an index outside [0, depth) gives off_value throughout."""
    axis = node.attrs["axis"]
    if int(depth) < 0 or not -1 <= axis <= indices.ndim:
        raise ValueError(f"depth {int(depth)} must be >= 0 and axis {axis} in [-1, {indices.ndim}]")
    axis %= indices.ndim + 1
    positions = np.arange(int(depth)).reshape((-1,) + (1,) * (indices.ndim - axis))
    return np.where(np.expand_dims(indices, axis) == positions, on, off)


@defop("Where", inputs=("input",),
       infer=lambda node: [(dt.INT64, (None, None if node.inputs[0].shape is None else
                                        len(node.inputs[0].shape)))])
def where(node, x):
    """The coordinates of the true (non-zero) elements of x, one row each, in row-major order."""
    return np.argwhere(x).astype(np.int64)


not_differentiable("OneHot", "Where")


# -- TopKV2 ------------------------------------------------------------------------------------

def _top_k_infer(node):
    x, k_t = node.inputs
    check_dtype(node, x, dt.REAL)
    check_rank(node, k_t, 0, what="k")
    index_type = node.attrs["index_type"]
    if index_type not in dt.INDEX:
        raise error(node, f"index_type must be int32 or int64, got {index_type.name}")
    k = scalar_value(node, k_t, "k")
    if k is not None and k < 0:
        raise error(node, f"k must be non-negative, got {k}")
    if x.shape is None:
        return [(x.dtype, None), (index_type, None)]
    if not x.shape or None not in (k, x.shape[-1]) and x.shape[-1] < k:
        raise error(node, f"input {x.name!r}, shape {format_shape(x.shape)}, must have at "
                          f"least k = {k} entries in its last dimension")
    shape = x.shape[:-1] + (k,)
    return [(x.dtype, shape), (index_type, shape)]


@defop("TopKV2", inputs=("input", "k"), infer=_top_k_infer, dtypes=dt.REAL,
       attrs={"sorted": Attr("bool", True), "index_type": Attr("type", dt.INT32)})
def top_k_v2(node, x, k):
    """The k largest entries along the last dimension, largest first, equal ones in the order
    of their indices, and those indices (sorted=False allows any order; this one is kept)."""
    k = int(k)
    if x.ndim == 0 or not 0 <= k <= x.shape[-1]:
        raise ValueError(f"input of shape {list(x.shape)} must have at least k = {k} entries "
                         f"in its last dimension")
    # A stable ascending sort of the reversed rows, reversed: descending, ties by index.
    n = x.shape[-1]
    indices = (n - 1 - np.argsort(x[..., ::-1], axis=-1, kind="stable")[..., ::-1])[..., :k]
    return np.take_along_axis(x, indices, -1), indices.astype(node.attrs["index_type"])


@gradient("TopKV2")
def _top_k_grad(op, grad, _):
    """Each value's gradient goes back where it was taken from: ScatterNd of grad at the
    flat positions row * n + index (n the last dimension of x), reshaped to x's shape."""
    x, k = op.inputs
    indices = op.output(1)
    shape = build.shape(x, out_type=indices.dtype)
    n = build.strided_slice(shape, [-1], [0], shrink_axis_mask=1)
    size = build.op("Prod", shape, build.int_constant(shape, 0))
    offsets = build.op("Range", build.constant(shape, 0), size, n)
    by_row = build.reshape(indices, build.stack([build.constant(indices, -1),
                                                 build.cast(k, indices.dtype)]))
    positions = build.reshape(by_row + build.reshape(offsets, [-1, 1]), [-1, 1])
    flat = build.op("ScatterNd", positions, build.reshape(grad, [-1]), build.reshape(size, [1]))
    return build.reshape(flat, shape), None
