"""Reductions over axes given as a tensor, as TensorFlow's Sum, Mean, Max, ..."""

import numpy as np

from core import build
from core import dtypes as dt
from core.ops.common import axes_values, check_dtype, check_rank, reduced_shape
from core.registry import Attr, defop, gradient

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
    if np.any((axes < -x.ndim) | (axes >= max(x.ndim, 1))) and x.ndim or (x.ndim == 0 and axes.size and np.any((axes != 0) & (axes != -1))):
        raise ValueError(f"Invalid reduction dimension {axes.tolist()} for input with {x.ndim} dimensions")
    return tuple(sorted({int(a) % x.ndim for a in axes.reshape(-1)})) if x.ndim else ()


@defop("Sum", inputs=("input", "reduction_indices"), infer=_reduction_infer(dt.NUMERIC),
       attrs=KEEP_DIMS, dtypes=dt.NUMERIC)
def sum_(node, x, axes):
    return np.sum(x, axis=_axes_tuple(x, axes), keepdims=node.attrs["keep_dims"], dtype=x.dtype)


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
