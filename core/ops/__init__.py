"""The op families; importing this package registers every op."""

from core.ops import array, control, conv, diagonal, indexing, linalg, math, nn, reduction, \
    segment, slicing, special  # noqa: F401
