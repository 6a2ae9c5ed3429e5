"""The op families; importing this package registers every op."""

from core.ops import array, control, linalg, math, nn, reduction, slicing  # noqa: F401
