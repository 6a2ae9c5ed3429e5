"""Dtypes: NumPy dtypes under TensorFlow's names (`gradserve.float32` is `np.dtype("float32")`)."""

from typing import Any

import numpy as np

DType = np.dtype

float16, float32, float64 = np.dtype("float16"), np.dtype("float32"), np.dtype("float64")
int8, int16, int32, int64 = (np.dtype(n) for n in ("int8", "int16", "int32", "int64"))
uint8, uint16, uint32, uint64 = (np.dtype(n) for n in ("uint8", "uint16", "uint32", "uint64"))
complex64, complex128 = np.dtype("complex64"), np.dtype("complex128")
bool_ = np.dtype("bool")
half, double = float16, float64

_ALIASES = {"half": "float16", "float": "float32", "double": "float64"}


def as_dtype(value: Any) -> np.dtype:
    """The dtype named by `value`: a dtype, a NumPy scalar type or a name ("float32",
    "tf.float32", "double")."""
    if isinstance(value, str):
        name = value.removeprefix("tf.")
        value = _ALIASES.get(name, name)
    try:
        dtype = np.dtype(value)
    except TypeError:
        raise TypeError(f"cannot interpret {value!r} as a dtype") from None
    if dtype.kind not in "biufc":
        raise TypeError(f"unsupported dtype {dtype}")
    return dtype


def is_trainable(dtype: np.dtype) -> bool:
    """Whether gradients flow through tensors of this dtype (floating point or complex)."""
    return dtype.kind in "fc"


def is_integer(dtype: np.dtype) -> bool:
    return dtype.kind in "iu"
