"""Segment reductions: the rows of data combined by segment id. SegmentSum, SegmentMean,
SegmentMax and SegmentMin take sorted 1-D ids (segments 0 .. ids[-1]); the Unsorted ones
take ids of any shape that prefixes data's, drop rows under a negative id and are given
num_segments.

Every kernel is one scatter (core/kernels/segment.py); every gradient gathers the output
gradient back to the rows it came from, as TensorFlow's math_grad.py."""

import numpy as np

from core import build
from core import dtypes as dt
from core.kernels.segment import MAX, MIN, PROD, SUM, scatter
from core.ops.common import check_dtype, check_rank, error, int_values, scalar_value
from core.registry import defop, gradient
from core.shapes import compatible, dims_compatible, format_shape


def _empty_value(op: int, dtype):
    """What a segment without rows starts from: 0, 1, or the lowest (highest) value."""
    if op in (SUM, PROD):
        return int(op == PROD)
    info = np.finfo(dtype) if dtype in dt.FLOATS else np.iinfo(dtype)
    return info.min if op == MAX else info.max


def _reduce(data, ids, num: int, op: int):
    """out[i] = op over the rows data[j...] with ids[j...] = i; ids a prefix of data's shape."""
    inner = data.shape[ids.ndim:]
    empty = _empty_value(op, data.dtype)
    # zeros come from calloc, whose memory fresh from the system is not written until the
    # scatter touches it: a sparse gradient's first dense result faults in its rows only
    out = (np.zeros((num,) + inner, data.dtype) if empty == 0
           else np.full((num,) + inner, empty, data.dtype))
    size = int(np.prod(inner))
    scatter(out.reshape(num, size), ids.reshape(-1), data.reshape(ids.size, size), op)
    return out


# -- sorted segments ---------------------------------------------------------------------

def _segment_count(ids) -> int:
    """ids[-1] + 1; ValueError unless the ids are >= 0 and sorted."""
    if ids.size and ids[0] < 0:
        raise ValueError(f"segment ids must be >= 0, got {ids[0]}")
    if np.any(ids[1:] < ids[:-1]):
        raise ValueError(f"segment ids are not increasing: {ids.tolist()}")
    return int(ids[-1]) + 1 if ids.size else 0


def _segment_infer(allowed):
    def infer(node):
        data, ids = node.inputs
        check_dtype(node, data, allowed, "data")
        check_rank(node, ids, 1, what="segment_ids")
        values = int_values(node, ids, "segment_ids")
        try:
            num = None if values is None else _segment_count(values)
        except ValueError as e:
            raise error(node, str(e)) from None
        if data.shape is None:
            return [(data.dtype, None)]
        if not data.shape or not dims_compatible(data.shape[0], (ids.shape or (None,))[0]):
            raise error(node, f"segment_ids {ids.name!r}, shape {format_shape(ids.shape)}, must "
                              f"hold one id per row of data, shape {format_shape(data.shape)}")
        return [(data.dtype, (num,) + data.shape[1:])]
    return infer


def _sorted_reduce(data, ids, op: int):
    """(the reduction over the sorted segments, the number of rows in each)."""
    if data.ndim == 0 or ids.shape != data.shape[:1]:
        raise ValueError(f"segment_ids of shape {list(ids.shape)} must hold one id per row of "
                         f"data, shape {list(data.shape)}")
    num = _segment_count(ids)
    counts = np.bincount(ids, minlength=num).reshape((num,) + (1,) * (data.ndim - 1))
    return _reduce(data, ids, num, op), counts


SEGMENT = ("data", "segment_ids")


@defop("SegmentSum", inputs=SEGMENT, infer=_segment_infer(dt.NUMERIC), dtypes=dt.NUMERIC)
def segment_sum(node, data, ids):
    """output[i] = sum of the rows data[j] with segment_ids[j] = i (ids sorted)."""
    return _sorted_reduce(data, ids, SUM)[0]


@defop("SegmentMean", inputs=SEGMENT, infer=_segment_infer(dt.NUMERIC), dtypes=dt.NUMERIC)
def segment_mean(node, data, ids):
    """SegmentSum divided by the number of rows in the segment (0 for an empty one);
    integers divide truncating toward zero."""
    total, counts = _sorted_reduce(data, ids, SUM)
    counts = np.maximum(counts, 1)
    if data.dtype in dt.INTEGERS:
        return (np.sign(total) * (np.abs(total) // counts)).astype(data.dtype)
    return (total / counts).astype(data.dtype)


@defop("SegmentMax", inputs=SEGMENT, infer=_segment_infer(dt.REAL), dtypes=dt.REAL)
def segment_max(node, data, ids):
    """output[i] = max of the rows data[j] with segment_ids[j] = i (ids sorted); 0 for an
    empty segment."""
    out, counts = _sorted_reduce(data, ids, MAX)
    return np.where(counts > 0, out, 0)


@defop("SegmentMin", inputs=SEGMENT, infer=_segment_infer(dt.REAL), dtypes=dt.REAL)
def segment_min(node, data, ids):
    """output[i] = min of the rows data[j] with segment_ids[j] = i (ids sorted); 0 for an
    empty segment."""
    out, counts = _sorted_reduce(data, ids, MIN)
    return np.where(counts > 0, out, 0)


def _ids_shape_padded(ids, data):
    """shape(ids) followed by ones up to the rank of data: ids shaped to broadcast against
    data (or a gather by ids)."""
    if ids.shape is not None and data.shape is not None:
        return build.int_vector(ids, build.dims(ids) + [1] * (len(data.shape) - len(ids.shape)))
    extra = build.fill(build.reshape(build.rank(data) - build.rank(ids), [1]),
                       build.int_constant(ids, 1))
    return build.concat([build.shape(ids), extra], 0)


@gradient("SegmentSum")
def _segment_sum_grad(op, grad):
    """Each row gets its segment's gradient: gather(grad, ids)."""
    return build.gather(grad, op.inputs[1]), None


@gradient("SegmentMean")
def _segment_mean_grad(op, grad):
    """gather(grad / count, ids), count the rows of each segment: SegmentSum of ones."""
    data, ids = op.inputs
    count = build.op("SegmentSum", build.ones(_ids_shape_padded(ids, data), grad.dtype), ids)
    return build.gather(grad / count, ids), None


@gradient("SegmentMax", "SegmentMin")
def _segment_min_or_max_grad(op, grad):
    """The gradient goes to the rows equal to their segment's result, split equally among
    ties: where(data == gather(y, ids), gather(grad / count, ids), 0), count the number of
    rows so selected in each segment."""
    data, ids = op.inputs
    selected = build.op("Equal", data, build.gather(op.output(0), ids))
    count = build.op("SegmentSum", build.cast(selected, grad.dtype), ids)
    return build.select(selected, build.gather(grad / count, ids), build.constant(grad, 0)), None


# -- unsorted segments ---------------------------------------------------------------------

def _unsorted_segment_infer(allowed):
    def infer(node):
        data, ids, num_t = node.inputs
        check_dtype(node, data, allowed, "data")
        check_dtype(node, ids, dt.INDEX, "segment_ids")
        check_rank(node, num_t, 0, what="num_segments")
        num = scalar_value(node, num_t, "num_segments")
        if num is not None and num < 0:
            raise error(node, f"num_segments must be >= 0, got {num}")
        if data.shape is None or ids.shape is None:
            return [(data.dtype, None)]
        k = len(ids.shape)
        if len(data.shape) < k or not compatible(data.shape[:k], ids.shape):
            raise error(node, f"segment_ids.shape {format_shape(ids.shape)} must be a prefix of "
                              f"data.shape {format_shape(data.shape)}")
        return [(data.dtype, (num,) + data.shape[k:])]
    return infer


def _unsorted_reduce(data, ids, num, op: int):
    num = int(num)
    if data.shape[:ids.ndim] != ids.shape or np.any(ids >= num):
        raise ValueError(f"segment_ids must be a prefix of data's shape {list(data.shape)} "
                         f"with ids below num_segments = {num}")
    return _reduce(data, ids, num, op)


UNSORTED = ("data", "segment_ids", "num_segments")


@defop("UnsortedSegmentSum", inputs=UNSORTED, infer=_unsorted_segment_infer(dt.NUMERIC),
       dtypes=dt.NUMERIC)
def unsorted_segment_sum(node, data, ids, num):
    """output[i, ...] = sum of data[j..., ...] over the j with segment_ids[j...] = i;
    data under a negative id is dropped."""
    return _unsorted_reduce(data, ids, num, SUM)


@defop("UnsortedSegmentProd", inputs=UNSORTED, infer=_unsorted_segment_infer(dt.NUMERIC),
       dtypes=dt.NUMERIC)
def unsorted_segment_prod(node, data, ids, num):
    """UnsortedSegmentSum with products: 1 for an empty segment."""
    return _unsorted_reduce(data, ids, num, PROD)


@defop("UnsortedSegmentMax", inputs=UNSORTED, infer=_unsorted_segment_infer(dt.REAL),
       dtypes=dt.REAL)
def unsorted_segment_max(node, data, ids, num):
    """UnsortedSegmentSum with maxima: the lowest value of the dtype for an empty segment."""
    return _unsorted_reduce(data, ids, num, MAX)


@defop("UnsortedSegmentMin", inputs=UNSORTED, infer=_unsorted_segment_infer(dt.REAL),
       dtypes=dt.REAL)
def unsorted_segment_min(node, data, ids, num):
    """UnsortedSegmentSum with minima: the highest value of the dtype for an empty segment."""
    return _unsorted_reduce(data, ids, num, MIN)


def _clipped_ids(ids, data):
    """max(ids, 0), and ids >= 0 shaped to broadcast against data (TensorFlow's
    _GatherDropNegatives's parts)."""
    zero = build.constant(ids, 0)
    positive = build.op("GreaterEqual", ids, zero)
    return build.op("Maximum", ids, zero), build.reshape(positive, _ids_shape_padded(ids, data))


def _gather_drop_negatives(params, clipped, positive):
    """gather(params, ids), zero where ids < 0."""
    return build.select(positive, build.gather(params, clipped), build.constant(params, 0))


@gradient("UnsortedSegmentSum")
def _unsorted_segment_sum_grad(op, grad):
    """Each element gets its segment's gradient, zero under a negative id."""
    data, ids, _ = op.inputs
    return _gather_drop_negatives(grad, *_clipped_ids(ids, data)), None, None


@gradient("UnsortedSegmentMax", "UnsortedSegmentMin")
def _unsorted_segment_min_or_max_grad(op, grad):
    """As SegmentMax's, the rows under a negative id getting none:
    where(data == gather(y, ids) and ids >= 0, gather(grad / count, ids), 0)."""
    data, ids, num = op.inputs
    clipped, positive = _clipped_ids(ids, data)
    selected = build.op("LogicalAnd", positive,
                        build.op("Equal", data, build.gather(op.output(0), clipped)))
    count = build.op("UnsortedSegmentSum", build.cast(selected, grad.dtype), ids, num)
    return (build.select(selected, build.gather(grad / count, clipped), build.constant(grad, 0)),
            None, None)


@gradient("UnsortedSegmentProd")
def _unsorted_segment_prod_grad(op, grad):
    """d y_i / d x_j, for x_j in segment i, is the product of the segment's other elements:
    y_i / x_j where x_j != 0; where x_j is the segment's one zero, the product of its
    non-zero elements (UnsortedSegmentProd of where(x == 0, 1, x)); 0 throughout a segment
    with two zeros or more."""
    data, ids, num = op.inputs
    clipped, positive = _clipped_ids(ids, data)
    is_zero = build.op("Equal", data, build.constant(data, 0))
    zeros = build.op("UnsortedSegmentSum", build.cast(is_zero, dt.INT32), ids, num)
    grad = build.select(build.op("Greater", zeros, build.int_constant(zeros, 1)),
                        build.constant(grad, 0), grad)
    non_zero_prod = build.op("UnsortedSegmentProd",
                             build.select(is_zero, build.constant(data, 1), data), ids, num)
    others = build.select(is_zero, build.gather(non_zero_prod, clipped),
                          build.gather(op.output(0), clipped) / data)
    return _gather_drop_negatives(grad, clipped, positive) * others, None, None
