"""Functions that add ops to a graph, named as TensorFlow's Python API names them.

Gradient rules are written with these (and the Tensor operators), so every gradient is
itself a graph of registered ops that can be evaluated and differentiated again.
"""

from collections.abc import Sequence

import numpy as np

from core import dtypes as dt
from core.graph import Node, Tensor
from core.shapes import is_fully_defined


def op(op_type: str, *inputs: Tensor, name: str | None = None, **attrs) -> Tensor:
    """Adds an op and returns its first output."""
    return inputs[0].graph.emit(op_type, list(inputs), name=name, **attrs).output(0)


def op_outputs(op_type: str, *inputs: Tensor, name: str | None = None, **attrs) -> list[Tensor]:
    """Adds an op and returns all its outputs."""
    return inputs[0].graph.emit(op_type, list(inputs), name=name, **attrs).outputs


def constant(like: Tensor, value, dtype=None, name: str = "Const") -> Tensor:
    """A constant in `like`'s graph, of `like`'s dtype unless `dtype` is given."""
    return like.graph.constant(np.asarray(value, dtype=dtype or like.dtype), name=name)


def int_constant(like: Tensor, value, name: str = "Const") -> Tensor:
    return like.graph.constant(np.asarray(value, dtype=np.int32), name=name)


def as_int_tensor(like: Tensor, value) -> Tensor:
    return value if isinstance(value, Tensor) else int_constant(like, value)


def shape(x: Tensor, name: str = "Shape", out_type=dt.INT32) -> Tensor:
    """The shape of x: a constant when it is fully known, as TensorFlow's optimize=True."""
    if is_fully_defined(x.shape):
        return x.graph.constant(np.asarray(x.shape, dtype=out_type), name=name)
    return op("Shape", x, name=name, out_type=out_type)


def static_or_dynamic_shape(x: Tensor) -> tuple | Tensor:
    return x.shape if is_fully_defined(x.shape) else shape(x)


def size(x: Tensor, name: str = "Size") -> Tensor:
    return op("Size", x, name=name)


def rank(x: Tensor) -> Tensor:
    return op("Rank", x)


def reshape(x: Tensor, new_shape, name: str | None = None) -> Tensor:
    if not isinstance(new_shape, Tensor) and tuple(new_shape) == x.shape:
        return x
    return op("Reshape", x, as_int_tensor(x, new_shape), name=name)


def reduce_sum(x: Tensor, axes, keep_dims: bool = False, name: str | None = None) -> Tensor:
    return op("Sum", x, as_int_tensor(x, axes), keep_dims=keep_dims, name=name)


def reduced_shape(input_shape: Tensor, axes: Tensor) -> Tensor:
    """`input_shape` with the entries at `axes` set to 1, computed at run time:
    DynamicStitch([range(rank), axes mod rank], [input_shape, ones])."""
    rank = size(input_shape)
    axes = op("FloorMod", cast(axes, rank.dtype) + rank, rank)
    positions = op("Range", int_constant(rank, 0), rank, int_constant(rank, 1))
    ones = fill(shape(axes), int_constant(rank, 1))
    return op("DynamicStitch", positions, axes, input_shape, ones)


def fill(dims: Tensor, value: Tensor, name: str | None = None) -> Tensor:
    return op("Fill", dims, value, name=name)


def ones(shape_tensor: Tensor, dtype, name: str = "ones") -> Tensor:
    """TensorFlow's ones(shape, dtype, name): Fill named `name` with `name/Const`."""
    graph = shape_tensor.graph
    with graph.name_scope(name) as scope:
        one = graph.constant(np.ones((), dtype=dtype))
    return graph.add_node(scope, "Fill", [shape_tensor, one]).output(0)


def zeros_like(x: Tensor, name: str = "zeros_like") -> Tensor:
    return op("ZerosLike", x, name=name)


def ones_like(x: Tensor, name: str = "ones_like") -> Tensor:
    return op("OnesLike", x, name=name)


def identity(x: Tensor, name: str | None = None, control_inputs: Sequence[Node] = ()) -> Tensor:
    return x.graph.emit("Identity", [x], name=name, control_inputs=control_inputs).output(0)


def cast(x: Tensor, dtype, name: str | None = None) -> Tensor:
    dtype = dt.as_dtype(dtype)
    return x if x.dtype == dtype else op("Cast", x, DstT=dtype, name=name)


def add_n(tensors: Sequence[Tensor], name: str | None = None) -> Tensor:
    return tensors[0] if len(tensors) == 1 else op("AddN", *tensors, name=name)


def matmul(a: Tensor, b: Tensor, transpose_a=False, transpose_b=False, name=None) -> Tensor:
    return op("MatMul", a, b, transpose_a=transpose_a, transpose_b=transpose_b, name=name)


def select(condition: Tensor, a: Tensor, b: Tensor, name: str | None = None) -> Tensor:
    return op("SelectV2", condition, a, b, name=name)


def conj(x: Tensor) -> Tensor:
    """The complex conjugate; the tensor itself for real dtypes, as TensorFlow's math_ops.conj."""
    return op("Conj", x) if x.dtype in dt.COMPLEX else x


def unbroadcast(grad: Tensor, x: Tensor) -> Tensor:
    """Reduces `grad`, shaped like a broadcast result, to the shape of input `x`.

    The one place broadcasting is undone: static axes when both shapes are known,
    otherwise TensorFlow's BroadcastGradientArgs at run time."""
    gs, xs = grad.shape, x.shape
    if is_fully_defined(gs) and is_fully_defined(xs):
        if gs == xs:
            return grad
        lead = len(gs) - len(xs)
        axes = list(range(lead)) + [lead + i for i, d in enumerate(xs) if d == 1 and gs[lead + i] != 1]
        reduced = reduce_sum(grad, axes) if axes else grad
        return reshape(reduced, xs)
    sx, sg = shape(x), shape(grad)
    reduce_axes, _ = op_outputs("BroadcastGradientArgs", sx, sg)
    return reshape(reduce_sum(grad, reduce_axes), sx)


# array helpers

def transpose(x: Tensor, perm, name: str | None = None) -> Tensor:
    return op("Transpose", x, as_int_tensor(x, perm), name=name)


def concat(values: Sequence[Tensor], axis, name: str | None = None) -> Tensor:
    """ConcatV2 along `axis`; the value itself when there is only one, as tf.concat."""
    if len(values) == 1:
        return identity(values[0], name=name)
    return op("ConcatV2", *values, as_int_tensor(values[0], axis), name=name)


def stack(values: Sequence[Tensor], axis: int = 0, name: str | None = None) -> Tensor:
    return op("Pack", *values, axis=axis, name=name)


def strided_slice(x: Tensor, begin, end, strides=None, name: str | None = None,
                  **masks) -> Tensor:
    strides = [1] * len(begin) if strides is None else strides
    return op("StridedSlice", x, *(as_int_tensor(x, v) for v in (begin, end, strides)),
              name=name, **masks)


def gather(params: Tensor, indices: Tensor, axis=0, batch_dims: int = 0,
           name: str | None = None) -> Tensor:
    return op("GatherV2", params, indices, as_int_tensor(params, axis),
              batch_dims=batch_dims, name=name)


def dims(x: Tensor) -> list:
    """The dimensions of x (of known rank): ints where they are static, scalar int32
    tensors read from one Shape op where they are known only at run time."""
    if is_fully_defined(x.shape):
        return list(x.shape)
    s = shape(x)
    return [d if d is not None else strided_slice(s, [i], [i + 1], shrink_axis_mask=1)
            for i, d in enumerate(x.shape)]


def int_vector(like: Tensor, values: Sequence) -> Tensor:
    """A 1-D int32 tensor of `values` (ints or scalar int32 tensors): a constant when
    all are ints, else a Pack of scalars."""
    if all(isinstance(v, (int, np.integer)) for v in values):
        return int_constant(like, np.asarray(values, dtype=np.int32).reshape(-1))
    return stack([as_int_tensor(like, v) for v in values])
