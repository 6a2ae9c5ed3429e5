"""Adding a raw op as TensorFlow's generated wrappers (`gen_*_ops`) do, and the static
shape rules the wrappers share.

`gen_op` opens a scope named after the op (or `name`), converts the Python and NumPy
inputs to constants named after their input (`Sum/reduction_indices`), and adds the op
under exactly that scope's name. The dtypes are always inferred, shapes where they can be.
"""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradserve.framework import Operation, Shape, Spec, Tensor, convert_to_tensor, op_scope

# How a Python value input gets its dtype: an int is the index of an earlier input whose
# dtype it must have; a dtype is preferred; None is what TensorFlow infers.
Hint = int | np.dtype | None
Input = tuple[str, Any, Hint]  # (input name, value, hint); a name ending in "*" takes a list
Infer = Callable[..., list[Spec]]

INT32 = np.dtype("int32")


def gen_op(op_type: str, name: str | None, inputs: Sequence[Input], infer: Infer,
           attrs: dict[str, Any] | None = None) -> Operation:
    """Adds op `op_type` with `inputs` and `attrs`; `infer(*input_tensors)` gives its outputs."""
    with op_scope(name, op_type, [value for _, value, _ in inputs]) as (graph, scope):
        firsts: list[Tensor] = []
        tensors: list[Tensor] = []
        for arg, value, hint in inputs:
            if arg.endswith("*"):
                group = _convert_list(op_type, arg[:-1], value, _required(hint, firsts))
                firsts.append(group[0])
                tensors.extend(group)
            else:
                firsts.append(_convert(op_type, arg, value, hint, firsts))
                tensors.append(firsts[-1])
        return graph.create_op(op_type, tensors, attrs or {}, scope, infer(*tensors))


def _required(hint: Hint, firsts: list[Tensor]) -> np.dtype | None:
    return firsts[hint].dtype if isinstance(hint, int) else None


def _convert(op_type: str, arg: str, value: Any, hint: Hint, firsts: list[Tensor]) -> Tensor:
    required = _required(hint, firsts)
    if isinstance(value, Tensor) and required is not None and value.dtype != required:
        raise TypeError(f"Input '{arg}' of '{op_type}' Op has type {value.dtype.name} that does "
                        f"not match type {required.name} of the argument it must match.")
    return convert_to_tensor(value, required, name=arg,
                             preferred_dtype=None if isinstance(hint, int) else hint)


def _convert_list(op_type: str, arg: str, values: Sequence[Any],
                  required: np.dtype | None) -> list[Tensor]:
    if not values:
        raise ValueError(f"Input '{arg}' of '{op_type}' Op needs at least one tensor")
    dtype = required or next((v.dtype for v in values if isinstance(v, Tensor)), None)
    tensors: list[Tensor] = []
    for i, value in enumerate(values):
        if isinstance(value, Tensor) and dtype is not None and value.dtype != dtype:
            raise TypeError(f"Tensors in list passed to '{arg}' of '{op_type}' Op have types "
                            f"that don't all match: {dtype.name} and {value.dtype.name}")
        tensors.append(convert_to_tensor(value, dtype, name=f"{arg}_{i}"))
        dtype = tensors[0].dtype
    return tensors


def const_value(t: Tensor) -> np.ndarray | None:
    """The value of a Const tensor, known while building (TensorFlow's constant_value)."""
    op = t.op
    return op.attrs["value"] if op.type == "Const" else None


def like(x: Tensor, *_: Tensor) -> list[Spec]:
    """Shape rule: one output like the first input."""
    return [(x.dtype, x.shape)]


def broadcast(a: Shape, b: Shape) -> Shape:
    """NumPy broadcasting of partially known shapes; ValueError when they cannot broadcast."""
    if a is None or b is None:
        return None
    dims: list[int | None] = []
    for x, y in zip(((1,) * len(b) + a)[-max(len(a), len(b)):],
                    ((1,) * len(a) + b)[-max(len(a), len(b)):]):
        if x == 1 or x == y:
            dims.append(y)
        elif y == 1:
            dims.append(x)
        elif x is None or y is None:
            dims.append(x if y is None else y)
        else:
            raise ValueError(f"Dimensions must be equal or 1 to broadcast, but are {x} and {y} "
                             f"(shapes {a} and {b})")
    return tuple(dims)


def binary(out_dtype: np.dtype | None = None) -> Infer:
    """Shape rule of elementwise binary ops (bool output for comparisons)."""
    def infer(x: Tensor, y: Tensor) -> list[Spec]:
        return [(out_dtype or x.dtype, broadcast(x.shape, y.shape))]
    return infer


def axes_of(t: Tensor, rank: int | None) -> list[int] | None:
    """The non-negative axes a constant holds, when it and the rank are known."""
    value = const_value(t)
    if value is None or rank is None:
        return None
    return sorted({int(a) % rank if rank else 0 for a in value.reshape(-1)})


def shape_from(t: Tensor) -> Shape:
    """The shape a 1-D int tensor describes: known where it is a constant, else its rank."""
    value = const_value(t)
    if value is not None:
        return tuple(None if d < 0 else int(d) for d in value.reshape(-1))
    if t.shape is not None and t.shape and t.shape[0] is not None:
        return (None,) * t.shape[0]
    return None


def rank(shape: Shape) -> int | None:
    return None if shape is None else len(shape)
