"""Partially known shapes: a tuple whose entries are ints or None, or None for unknown rank."""

from collections.abc import Sequence

from core.errors import GraphError

Shape = tuple | None  # tuple[int | None, ...] or None (unknown rank)


def as_shape(value, node: str | None = None) -> Shape:
    """A wire shape (list with null or -1 for unknown dims, or null) as a Shape."""
    if value is None:
        return None
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise GraphError(f"a shape must be a list of dimensions or null, got {value!r}", node)
    dims = []
    for d in value:
        if d is None or d == -1:
            dims.append(None)
        elif isinstance(d, (int,)) and not isinstance(d, bool) and d >= 0:
            dims.append(int(d))
        else:
            raise GraphError(f"invalid dimension {d!r} in shape {list(value)!r}", node)
    return tuple(dims)


def is_fully_defined(shape: Shape) -> bool:
    return shape is not None and None not in shape


def num_elements(shape: Shape) -> int | None:
    if not is_fully_defined(shape):
        return None
    n = 1
    for d in shape:
        n *= d
    return n


def rank(shape: Shape) -> int | None:
    return None if shape is None else len(shape)


def dims_compatible(a: int | None, b: int | None) -> bool:
    return a is None or b is None or a == b


def compatible(a: Shape, b: Shape) -> bool:
    if a is None or b is None or a == b:
        return True
    return len(a) == len(b) and all(dims_compatible(x, y) for x, y in zip(a, b))


def merge(a: Shape, b: Shape) -> Shape:
    """The most specific shape compatible with both (assumes `compatible(a, b)`)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    return tuple(x if x is not None else y for x, y in zip(a, b))


def unknown(rank_: int | None) -> Shape:
    return None if rank_ is None else (None,) * rank_


def broadcast(a: Shape, b: Shape, node: str | None = None) -> Shape:
    """NumPy broadcasting of two partially known shapes; GraphError if incompatible."""
    if a is None or b is None:
        return None
    if a == b:
        return a
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None and y is None:
            out.append(None)
        elif x is None or y is None:
            out.append(x if y is None else y)
        elif x == y:
            out.append(x)
        else:
            raise GraphError(
                f"incompatible shapes for broadcasting: {format_shape(a)} and {format_shape(b)}", node)
    return tuple(reversed(out))


def format_shape(shape: Shape) -> str:
    if shape is None:
        return "<unknown>"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def normalize_axis(axis: int, rank_: int, node: str | None = None) -> int:
    if not -rank_ <= axis < rank_:
        raise GraphError(f"axis {axis} is out of range for a tensor of rank {rank_}", node)
    return axis % rank_
