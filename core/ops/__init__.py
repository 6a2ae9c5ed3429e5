"""The op families; importing this package registers every op."""

from core.ops import array, control, math, reduction  # noqa: F401
