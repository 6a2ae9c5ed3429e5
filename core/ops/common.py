"""Shape and dtype rules shared by the op families."""

import numpy as np

from core import dtypes as dt
from core.errors import GraphError
from core.graph import Node, Tensor
from core.shapes import Shape, broadcast, format_shape, normalize_axis


def check_dtype(node: Node, t: Tensor, allowed: frozenset, what: str = "input") -> np.dtype:
    if t.dtype not in allowed:
        names = ", ".join(sorted(d.name for d in allowed))
        raise GraphError(f"node {node.name!r} ({node.op}): {what} {t.name!r} has dtype "
                         f"{t.dtype.name}, expected one of: {names}", node.name)
    return t.dtype


def same_dtype(node: Node, tensors, allowed: frozenset = dt.ALL) -> np.dtype:
    """The common dtype of `tensors`; GraphError naming the node when they differ."""
    first = tensors[0]
    dtype = check_dtype(node, first, allowed)
    for t in tensors[1:]:
        if t.dtype != dtype:
            raise GraphError(f"node {node.name!r} ({node.op}): input {t.name!r} has dtype "
                             f"{t.dtype.name} but {first.name!r} has {first.dtype.name}; "
                             f"{node.op} needs matching dtypes (insert a Cast)", node.name)
    return first.dtype


def check_rank(node: Node, t: Tensor, *ranks: int, what: str = "input") -> None:
    if t.shape is not None and len(t.shape) not in ranks:
        expected = " or ".join(map(str, ranks))
        raise GraphError(f"node {node.name!r} ({node.op}): {what} {t.name!r} must have rank "
                         f"{expected}, got shape {format_shape(t.shape)}", node.name)


def unary(allowed: frozenset = dt.ALL, out_dtype: np.dtype | None = None):
    """Shape rule: one output like the single input (bool output for predicates)."""
    def infer(node: Node):
        x = node.inputs[0]
        dtype = x.node.output_dtypes[x.index]
        if dtype not in allowed:
            check_dtype(node, x, allowed)
        return [(out_dtype or dtype, x.node.output_shapes[x.index])]
    return infer


def binary(allowed: frozenset = dt.ALL, out_dtype: np.dtype | None = None):
    """Shape rule: NumPy broadcasting of two inputs of one dtype (bool output for comparisons)."""
    def infer(node: Node):
        x, y = node.inputs
        dtype = x.node.output_dtypes[x.index]
        if dtype not in allowed or y.node.output_dtypes[y.index] is not dtype:
            dtype = same_dtype(node, node.inputs, allowed)
        x_shape, y_shape = x.node.output_shapes[x.index], y.node.output_shapes[y.index]
        shape = x_shape if x_shape == y_shape else broadcast(x_shape, y_shape, node.name)
        return [(out_dtype or dtype, shape)]
    return infer


def int_values(node: Node, t: Tensor, what: str) -> np.ndarray | None:
    """The build-time value of an integer input (axes, shapes), or None when only known
    at run time."""
    check_dtype(node, t, dt.INDEX, what)
    value = t.const_value
    return None if value is None else np.asarray(value).astype(np.int64)


def axes_values(node: Node, t: Tensor, rank: int | None) -> list[int] | None:
    """The normalized axes held by `t`, when known at build time and the rank is known."""
    check_dtype(node, t, dt.INDEX, "axis")
    value = t.const_value
    if value is None or rank is None:
        return None
    return sorted({normalize_axis(a, rank, node.name) for a in np.ravel(value).tolist()})


def reduced_shape(shape: Shape, axes: list[int] | None, keep_dims: bool) -> Shape:
    if shape is None:
        return None
    if axes is None:
        return (None,) * len(shape) if keep_dims else None
    if keep_dims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def error(node: Node, message: str) -> GraphError:
    """A GraphError about `node`, naming it and its op."""
    return GraphError(f"node {node.name!r} ({node.op}): {message}", node.name)


def scalar_value(node: Node, t: Tensor, what: str) -> int | None:
    """The build-time value of a scalar integer input (an axis, a count), or None."""
    value = int_values(node, t, what)
    if value is not None and value.size != 1:
        raise error(node, f"{what} must be a scalar, got {value.tolist()}")
    return None if value is None else int(value.reshape(-1)[0])


def axis_in(node: Node, axis: int, rank: int, what: str = "axis") -> int:
    """`axis` made non-negative; GraphError unless -rank <= axis < rank."""
    if not -rank <= axis < rank:
        raise error(node, f"{what} {axis} is out of range [{-rank}, {rank})")
    return axis % rank


def shape_value(node: Node, t: Tensor, what: str = "shape") -> Shape:
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
