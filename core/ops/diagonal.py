"""Diagonals and bands: Diag and DiagPart, the batched MatrixDiagV3, MatrixDiagPartV3 and
MatrixSetDiagV3, and MatrixBandPart.

Diagonal d of an M x N matrix holds the elements (m, n) with n - m = d. The V3 ops handle
the diagonals k = (lo, hi) at once, packed as [..., hi - lo + 1, max_len] (row hi - d
holding diagonal d; without that axis when lo = hi), a diagonal shorter than max_len
padded on the side `align` says: "RIGHT_LEFT" aligns the diagonals above the main one
(d >= 0) to the right, those below (d <= 0) to the left; likewise LEFT_RIGHT, LEFT_LEFT
and RIGHT_RIGHT."""

import numpy as np

from core import build
from core import dtypes as dt
from core.ops.common import check_rank, error, int_values, same_dtype, scalar_value
from core.registry import Attr, defop, gradient
from core.shapes import compatible, format_shape, is_fully_defined, merge

ALIGN = {"align": Attr("string", "RIGHT_LEFT")}
_ALIGNS = ("RIGHT_LEFT", "LEFT_RIGHT", "LEFT_LEFT", "RIGHT_RIGHT")


# -- Diag and DiagPart -----------------------------------------------------------------------

def _diag_infer(node):
    (x,) = node.inputs
    if x.shape is not None and not x.shape:
        raise error(node, f"diagonal {x.name!r} must be at least a vector")
    return [(x.dtype, None if x.shape is None else x.shape + x.shape)]


@defop("Diag", inputs=("diagonal",), infer=_diag_infer)
def diag(node, x):
    """output[i1, ..., ik, i1, ..., ik] = diagonal[i1, ..., ik], zero elsewhere."""
    if x.ndim == 0:
        raise ValueError("diagonal must be at least a vector")
    out = np.zeros((x.size, x.size), x.dtype)
    np.fill_diagonal(out, x.reshape(-1))
    return out.reshape(x.shape + x.shape)


def _diag_part_infer(node):
    (x,) = node.inputs
    if x.shape is None:
        return [(x.dtype, None)]
    half = len(x.shape) // 2
    if len(x.shape) % 2 or not compatible(x.shape[:half], x.shape[half:]):
        raise error(node, f"input {x.name!r} must have shape [d1, ..., dk, d1, ..., dk], got "
                          f"{format_shape(x.shape)}")
    return [(x.dtype, merge(x.shape[:half], x.shape[half:]))]


@defop("DiagPart", inputs=("input",), infer=_diag_part_infer)
def diag_part(node, x):
    """output[i1, ..., ik] = input[i1, ..., ik, i1, ..., ik] (the inverse of Diag)."""
    half = x.shape[:x.ndim // 2]
    if x.ndim % 2 or x.shape[x.ndim // 2:] != half:
        raise ValueError(f"input must have shape [d1, ..., dk, d1, ..., dk], got {list(x.shape)}")
    n = int(np.prod(half))
    return x.reshape(n, n).diagonal().reshape(half)


@gradient("Diag")
def _diag_grad(op, grad):
    return build.op("DiagPart", grad)


@gradient("DiagPart")
def _diag_part_grad(op, grad):
    return build.op("Diag", grad)


# -- packed diagonals ------------------------------------------------------------------------

def _diagonal_range(k) -> tuple[int, int]:
    """(lo, hi) from k, a scalar or a pair; ValueError unless lo <= hi."""
    k = np.asarray(k).reshape(-1)
    if k.size not in (1, 2) or k[0] > k[-1]:
        raise ValueError(f"k must be one diagonal index or a pair lo <= hi, got {k.tolist()}")
    return int(k[0]), int(k[-1])


def _k_value(node, k_t):
    """(lo, hi) when k is known while building, else None."""
    check_rank(node, k_t, 0, 1, what="k")
    k = int_values(node, k_t, "k")
    try:
        return None if k is None else _diagonal_range(k)
    except ValueError as e:
        raise error(node, str(e)) from None


def _max_len(rows: int, cols: int, lo: int, hi: int) -> int:
    """The length of the longest diagonal among lo..hi of a rows x cols matrix."""
    return min(rows + min(hi, 0), cols - max(lo, 0))


def _check_in_matrix(rows: int, cols: int, lo: int, hi: int):
    for d in (lo, hi):
        if not (-rows < d < cols or d == 0):
            raise ValueError(f"diagonal {d} is out of bounds: it must be between {-rows} and "
                             f"{cols} for a {rows} x {cols} matrix")


def _positions(rows: int, cols: int, lo: int, hi: int, align: str):
    """For every element (m, n) on diagonals lo..hi of a rows x cols matrix: m, n, and where
    it sits in the packed diagonals (row hi - d, column min(m, n) after the padding)."""
    max_len = _max_len(rows, cols, lo, hi)
    m, n, row, column = [], [], [], []
    for d in range(lo, hi + 1):
        t = np.arange(max(min(rows + min(d, 0), cols - max(d, 0)), 0))
        right = align.startswith("RIGHT") if d >= 0 else align.endswith("RIGHT")
        m.append(t + max(-d, 0))
        n.append(t + max(d, 0))
        row.append(np.full(t.size, hi - d))
        column.append(t + (max_len - t.size if right else 0))
    return tuple(np.concatenate(v) for v in (m, n, row, column))


def _align(node) -> str:
    if node.attrs["align"] not in _ALIGNS:
        raise error(node, f"align must be one of {', '.join(_ALIGNS)}, got {node.attrs['align']!r}")
    return node.attrs["align"]


def _packed(diagonal, lo: int, hi: int):
    """diagonal with its diagonals axis (absent when lo = hi)."""
    return diagonal[..., None, :] if lo == hi else diagonal


def _matrix_size(max_len, lo: int, hi: int, rows: int | None, cols: int | None):
    """TensorFlow's num_rows and num_cols, -1 meaning the smallest that holds diagonals of
    max_len (a square one when both are -1); None where unknown. ValueError unless the
    diagonals fit the matrix and one of its sides exactly."""
    if max_len is None or None in (rows, cols):
        return (None if rows in (None, -1) else rows), (None if cols in (None, -1) else cols)
    min_rows, min_cols = max_len - min(hi, 0), max_len + max(lo, 0)
    if rows == -1 and cols == -1:
        rows = cols = max(min_rows, min_cols)
    rows = min_rows if rows == -1 else rows
    cols = min_cols if cols == -1 else cols
    if rows < min_rows or cols < min_cols or rows != min_rows and cols != min_cols:
        raise ValueError(f"a {rows} x {cols} matrix does not fit diagonals {lo}..{hi} of "
                         f"length {max_len} to one of its sides")
    return rows, cols


def _matrix_diag_infer(node):
    diagonal, k_t, rows_t, cols_t, padding = node.inputs
    same_dtype(node, [diagonal, padding])
    check_rank(node, padding, 0, what="padding_value")
    _align(node)
    lo_hi, shape = _k_value(node, k_t), diagonal.shape
    rows, cols = (scalar_value(node, t, what) for t, what in ((rows_t, "num_rows"),
                                                               (cols_t, "num_cols")))
    if shape is not None and not shape:
        raise error(node, f"diagonal {diagonal.name!r} must be at least a vector")
    if lo_hi is None or shape is None:
        return [(diagonal.dtype, None)]
    lo, hi = lo_hi
    if lo < hi and (len(shape) < 2 or shape[-2] not in (None, hi - lo + 1)):
        raise error(node, f"diagonal {diagonal.name!r}, shape {format_shape(shape)}, must hold "
                          f"the {hi - lo + 1} diagonals {lo}..{hi} in its second-to-last axis")
    try:
        rows, cols = _matrix_size(shape[-1], lo, hi, rows, cols)
    except ValueError as e:
        raise error(node, str(e)) from None
    return [(diagonal.dtype, shape[:-1 if lo == hi else -2] + (rows, cols))]


@defop("MatrixDiagV3", inputs=("diagonal", "k", "num_rows", "num_cols", "padding_value"),
       infer=_matrix_diag_infer, attrs=ALIGN)
def matrix_diag_v3(node, diagonal, k, num_rows, num_cols, padding):
    """Batched matrices of num_rows x num_cols (-1: the smallest that fits) with the packed
    diagonals k on their diagonals and padding_value elsewhere."""
    lo, hi = _diagonal_range(k)
    diagonals = _packed(diagonal, lo, hi)
    if diagonals.ndim < 2 or diagonals.shape[-2] != hi - lo + 1:
        raise ValueError(f"diagonal of shape {list(diagonal.shape)} must hold the "
                         f"{hi - lo + 1} diagonals {lo}..{hi}")
    rows, cols = _matrix_size(diagonal.shape[-1], lo, hi, int(num_rows), int(num_cols))
    out = np.full(diagonals.shape[:-2] + (rows, cols), padding, diagonal.dtype)
    m, n, row, column = _positions(rows, cols, lo, hi, _align(node))
    out[..., m, n] = diagonals[..., row, column]
    return out


def _diagonals_shape(node, x, k_t):
    """The shape of the packed diagonals k of the matrices x."""
    _align(node)
    lo_hi = _k_value(node, k_t)
    if x.shape is not None and len(x.shape) < 2:
        raise error(node, f"input {x.name!r} must be at least a matrix")
    if lo_hi is None or x.shape is None:
        return None
    (lo, hi), (rows, cols) = lo_hi, x.shape[-2:]
    max_len = None
    if None not in (rows, cols):
        try:
            _check_in_matrix(rows, cols, lo, hi)
        except ValueError as e:
            raise error(node, str(e)) from None
        max_len = _max_len(rows, cols, lo, hi)
    return x.shape[:-2] + ((max_len,) if lo == hi else (hi - lo + 1, max_len))


def _matrix_diag_part_infer(node):
    x, k_t, padding = node.inputs
    same_dtype(node, [x, padding])
    check_rank(node, padding, 0, what="padding_value")
    return [(x.dtype, _diagonals_shape(node, x, k_t))]


@defop("MatrixDiagPartV3", inputs=("input", "k", "padding_value"),
       infer=_matrix_diag_part_infer, attrs=ALIGN)
def matrix_diag_part_v3(node, x, k, padding):
    """The diagonals k of each matrix, packed, padded with padding_value."""
    lo, hi = _diagonal_range(k)
    if x.ndim < 2:
        raise ValueError("input must be at least a matrix")
    rows, cols = x.shape[-2:]
    _check_in_matrix(rows, cols, lo, hi)
    out = np.full(x.shape[:-2] + (hi - lo + 1, _max_len(rows, cols, lo, hi)), padding, x.dtype)
    m, n, row, column = _positions(rows, cols, lo, hi, _align(node))
    out[..., row, column] = x[..., m, n]
    return out[..., 0, :] if lo == hi else out


def _matrix_set_diag_infer(node):
    x, diagonal, k_t = node.inputs
    dtype = same_dtype(node, [x, diagonal])
    expected = _diagonals_shape(node, x, k_t)
    if not compatible(expected, diagonal.shape):
        raise error(node, f"diagonal {diagonal.name!r} has shape {format_shape(diagonal.shape)}, "
                          f"not the {format_shape(expected)} of the diagonals k of {x.name!r}")
    return [(dtype, x.shape)]


@defop("MatrixSetDiagV3", inputs=("input", "diagonal", "k"), infer=_matrix_set_diag_infer,
       attrs=ALIGN)
def matrix_set_diag_v3(node, x, diagonal, k):
    """The matrices with their diagonals k replaced by the packed diagonals (padding unused)."""
    lo, hi = _diagonal_range(k)
    if x.ndim < 2:
        raise ValueError("input must be at least a matrix")
    rows, cols = x.shape[-2:]
    _check_in_matrix(rows, cols, lo, hi)
    expected = x.shape[:-2] + (hi - lo + 1,) * (lo < hi) + (_max_len(rows, cols, lo, hi),)
    if diagonal.shape != expected:
        raise ValueError(f"diagonal has shape {list(diagonal.shape)}, expected {list(expected)}")
    out = x.copy()
    m, n, row, column = _positions(rows, cols, lo, hi, _align(node))
    out[..., m, n] = _packed(diagonal, lo, hi)[..., row, column]
    return out


def _zero(like):
    return build.constant(like, 0)


@gradient("MatrixDiagV3")
def _matrix_diag_grad(op, grad):
    k = op.inputs[1]
    return (build.op("MatrixDiagPartV3", grad, k, _zero(grad), align=op.attrs["align"]),
            None, None, None, None)


@gradient("MatrixDiagPartV3")
def _matrix_diag_part_grad(op, grad):
    """The gradient placed on the diagonals of zero matrices: MatrixDiagV3 when the matrix
    size is known, else MatrixSetDiagV3 into zeros like the input."""
    x, k, _ = op.inputs
    align = op.attrs["align"]
    if x.shape is not None and is_fully_defined(x.shape[-2:]):
        rows, cols = (build.int_constant(k, d) for d in x.shape[-2:])
        return build.op("MatrixDiagV3", grad, k, rows, cols, _zero(grad), align=align), None, None
    return build.op("MatrixSetDiagV3", build.zeros_like(x), grad, k, align=align), None, None


@gradient("MatrixSetDiagV3")
def _matrix_set_diag_grad(op, grad):
    """The input's gradient with its diagonals k zeroed; the diagonals' read off them."""
    _, diagonal, k = op.inputs
    align = op.attrs["align"]
    return (build.op("MatrixSetDiagV3", grad, build.zeros_like(diagonal), k, align=align),
            build.op("MatrixDiagPartV3", grad, k, _zero(grad), align=align), None)


# -- MatrixBandPart ----------------------------------------------------------------------------

def _band_part_infer(node):
    x, lower_t, upper_t = node.inputs
    same_dtype(node, [lower_t, upper_t], dt.INDEX)
    if x.shape is not None and len(x.shape) < 2:
        raise error(node, f"input {x.name!r} must be at least a matrix")
    for t, what, axis in ((lower_t, "num_lower", -2), (upper_t, "num_upper", -1)):
        check_rank(node, t, 0, what=what)
        value, size = scalar_value(node, t, what), None if x.shape is None else x.shape[axis]
        if None not in (value, size) and value > size:
            raise error(node, f"{what} must be negative or at most {size}, got {value}")
    return [(x.dtype, x.shape)]


@defop("MatrixBandPart", inputs=("input", "num_lower", "num_upper"), infer=_band_part_infer)
def matrix_band_part(node, x, lower, upper):
    """Each matrix with the elements (m, n) outside the band zeroed: kept where
    m - n <= num_lower and n - m <= num_upper (a negative bound keeps that whole triangle)."""
    lower, upper = int(lower), int(upper)
    if x.ndim < 2 or lower > x.shape[-2] or upper > x.shape[-1]:
        raise ValueError(f"input of shape {list(x.shape)} must be at least a matrix, with "
                         f"num_lower {lower} at most its rows, num_upper {upper} its columns")
    m, n = np.indices(x.shape[-2:], sparse=True)
    keep = ((lower < 0) | (m - n <= lower)) & ((upper < 0) | (n - m <= upper))
    return np.where(keep, x, np.zeros((), x.dtype))


@gradient("MatrixBandPart")
def _band_part_grad(op, grad):
    _, lower, upper = op.inputs
    return build.op("MatrixBandPart", grad, lower, upper), None, None
