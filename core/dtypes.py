"""Dtype names on the wire and the dtype classes tf.gradients cares about."""

import numpy as np

from core.errors import GraphError

DTYPES: dict[str, np.dtype] = {
    name: np.dtype(name)
    for name in (
        "float16", "float32", "float64",
        "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
        "bool", "complex64", "complex128",
    )
}

FLOATS = frozenset(DTYPES[n] for n in ("float16", "float32", "float64"))
COMPLEX = frozenset(DTYPES[n] for n in ("complex64", "complex128"))
INTEGERS = frozenset(
    DTYPES[n] for n in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"))
BOOL = frozenset({DTYPES["bool"]})
TRAINABLE = FLOATS | COMPLEX
NUMERIC = FLOATS | COMPLEX | INTEGERS
REAL = FLOATS | INTEGERS
ALL = NUMERIC | BOOL
INDEX = frozenset({DTYPES["int32"], DTYPES["int64"]})

INT32 = DTYPES["int32"]
INT64 = DTYPES["int64"]
FLOAT32 = DTYPES["float32"]
BOOL_ = DTYPES["bool"]

_SUPPORTED = {dtype: dtype for dtype in DTYPES.values()}

# Aliases a TensorFlow user may write.
_ALIASES = {"half": "float16", "float": "float32", "double": "float64"}


def as_dtype(name, node: str | None = None) -> np.dtype:
    """The NumPy dtype for a wire name such as "float32" (or an np.dtype)."""
    if isinstance(name, np.dtype):
        if name in _SUPPORTED:
            return _SUPPORTED[name]
        name = name.name
    if isinstance(name, type) and issubclass(name, np.generic):
        name = np.dtype(name).name
    if isinstance(name, str):
        name = _ALIASES.get(name, name)
        if name.startswith("tf."):
            name = name[3:]
        if name in DTYPES:
            return DTYPES[name]
    raise GraphError(f"unsupported dtype {name!r}; supported: {', '.join(DTYPES)}", node)


def is_trainable(dtype: np.dtype) -> bool:
    """Whether gradients flow through tensors of this dtype (floating or complex)."""
    return dtype in TRAINABLE
