"""Math ops, emitted as TensorFlow's Python API emits them (same raw ops, attributes and
names), with their dtype and, where known, static shape."""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradserve import array_ops, dtypes
from gradserve.framework import Spec, Tensor, constant, convert_to_tensor, op_scope
from gradserve.gen import INT32, Infer, axes_of, binary, broadcast, const_value, gen_op, like, rank

BOOL = dtypes.bool_


def _unary(op_type: str, arg: str = "x") -> Callable[..., Tensor]:
    def op(x: Any, name: str | None = None) -> Tensor:
        return gen_op(op_type, name, [(arg, x, None)], like).outputs[0]
    op.__name__ = op.__qualname__ = op_type.lower()
    op.__doc__ = f"Adds a `{op_type}` op: elementwise, like its input."
    return op


def _binary(op_type: str, out_dtype: np.dtype | None = None) -> Callable[..., Tensor]:
    def op(x: Any, y: Any, name: str | None = None) -> Tensor:
        return gen_op(op_type, name, [("x", x, None), ("y", y, 0)], binary(out_dtype)).outputs[0]
    op.__name__ = op.__qualname__ = op_type.lower()
    op.__doc__ = f"Adds a `{op_type}` op: elementwise, with NumPy broadcasting."
    return op


exp, log, log1p, sqrt, rsqrt, square = map(_unary, ("Exp", "Log", "Log1p", "Sqrt", "Rsqrt", "Square"))
sin, cos, tanh, sigmoid = map(_unary, ("Sin", "Cos", "Tanh", "Sigmoid"))
negative, reciprocal, sign, floor, abs = map(_unary, ("Neg", "Reciprocal", "Sign", "Floor", "Abs"))
subtract, multiply, maximum, minimum = map(_binary, ("Sub", "Mul", "Maximum", "Minimum"))
squared_difference, floormod, pow = map(_binary, ("SquaredDifference", "FloorMod", "Pow"))
mod = floormod
less, less_equal, greater, greater_equal, equal, not_equal = (
    _binary(op, BOOL) for op in ("Less", "LessEqual", "Greater", "GreaterEqual", "Equal",
                                 "NotEqual"))


def add(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x + y (an AddV2 op named `Add`)."""
    with op_scope(name, "Add", [x, y]) as (_, scope):
        return _binary("AddV2")(x, y, name=scope)


def floordiv(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x // y, rounding toward negative infinity (FloorDiv)."""
    with op_scope(name, "floordiv", [x, y]) as (_, scope):
        return _binary("FloorDiv")(x, y, name=scope)


def truediv(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x / y as Python 3 divides: integers are cast to floats first (RealDiv)."""
    with op_scope(name, "truediv", [x, y]) as (_, scope):
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, preferred_dtype=x.dtype, name="y")
        if x.dtype != y.dtype:
            raise TypeError(f"x and y must have the same dtype, got {x.dtype.name} != "
                            f"{y.dtype.name}")
        if dtypes.is_integer(x.dtype):
            wide = x.dtype.itemsize > 2
            x, y = cast(x, "float64" if wide else "float32"), cast(y, "float64" if wide else "float32")
        return _binary("RealDiv")(x, y, name=scope)


divide = truediv


def divide_no_nan(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x / y, and 0 where y is 0 (DivNoNan)."""
    with op_scope(name, "div_no_nan", [x, y]) as (_, scope):
        return _binary("DivNoNan")(x, y, name=scope)


# The Python operators: op name scope, the function TensorFlow calls.
_OPERATORS: dict[str, Callable[..., Tensor]] = {
    "add": _binary("AddV2"), "sub": subtract, "mul": multiply, "floordiv": floordiv,
    "mod": floormod, "pow": pow, "truediv": truediv,
    "matmul": lambda a, b, name: matmul(a, b, name=name),
}


def binary_operator(op_name: str, x: Any, y: Any, reverse: bool = False) -> Tensor:
    """`x <op> y` as TensorFlow's operator overloads: a scope named after the operator, the
    Python operand converted to the tensor's dtype (named "x" when it is on the left)."""
    with op_scope(None, op_name, [x, y]) as (_, scope):
        if reverse:
            x = convert_to_tensor(x, y.dtype, name="x")
        return _OPERATORS[op_name](x, y, name=scope)


def cast(x: Any, dtype: Any, name: str | None = None) -> Tensor:
    """`x` as `dtype` (a Cast op; none when it already has that dtype)."""
    dtype = dtypes.as_dtype(dtype)
    if isinstance(x, Tensor) and x.dtype == dtype:
        return x
    with op_scope(name, "Cast", [x]) as (_, scope):
        x = convert_to_tensor(x, name="x")
        if x.dtype == dtype:
            return x
        return gen_op("Cast", scope, [("x", x, None)], lambda t: [(dtype, t.shape)],
                      {"DstT": dtype}).outputs[0]


def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False,
           name: str | None = None) -> Tensor:
    """The matrix product: MatMul for two matrices, BatchMatMulV2 (adj_x, adj_y) otherwise."""
    with op_scope(name, "MatMul", [a, b]) as (_, scope):
        a = convert_to_tensor(a, name="a")
        b = convert_to_tensor(b, preferred_dtype=a.dtype, name="b")
        if rank(a.shape) == 2 and rank(b.shape) == 2:
            infer = _matmul_shape(transpose_a, transpose_b)
            return gen_op("MatMul", scope, [("a", a, None), ("b", b, 0)], infer,
                          {"transpose_a": transpose_a, "transpose_b": transpose_b}).outputs[0]
        return gen_op("BatchMatMulV2", scope, [("x", a, None), ("y", b, 0)],
                      _matmul_shape(transpose_a, transpose_b),
                      {"adj_x": transpose_a, "adj_y": transpose_b}).outputs[0]


def _matmul_shape(transpose_a: bool, transpose_b: bool) -> Infer:
    def infer(a: Tensor, b: Tensor) -> list[Spec]:
        if a.shape is None or b.shape is None:
            return [(a.dtype, None)]
        rows = a.shape[-1] if transpose_a else a.shape[-2]
        cols = b.shape[-2] if transpose_b else b.shape[-1]
        batch = broadcast(a.shape[:-2], b.shape[:-2])
        return [(a.dtype, None if batch is None else (*batch, rows, cols))]
    return infer


def add_n(inputs: Sequence[Tensor], name: str | None = None) -> Tensor:
    """The sum of a list of tensors of one shape and dtype (AddN)."""
    if len(inputs) == 1:
        return identity(inputs[0], name=name) if name else convert_to_tensor(inputs[0])
    return gen_op("AddN", name, [("inputs*", list(inputs), None)], like).outputs[0]


def identity(input: Any, name: str | None = None) -> Tensor:
    """The input, through an Identity op."""
    return gen_op("Identity", name, [("input", input, None)], like).outputs[0]


def _reduction(op_type: str) -> Callable[..., Tensor]:
    def reduce(input_tensor: Any, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Tensor:
        axes = _reduction_dims(input_tensor, axis)
        return gen_op(op_type, name, [("input", input_tensor, None),
                                      ("reduction_indices", axes, INT32)],
                      _reduced(keepdims), {"keep_dims": keepdims}).outputs[0]
    reduce.__doc__ = (f"Reduces `input_tensor` over `axis` (all axes when None) with a "
                      f"`{op_type}` op; `keepdims` keeps them with size 1.")
    return reduce


def _reduction_dims(x: Any, axis: Any) -> Any:
    """TensorFlow's _ReductionDims: `axis`, or every axis: a constant when the rank is known."""
    if axis is not None:
        return axis
    x_rank = rank(x.shape) if isinstance(x, Tensor) else np.ndim(x)
    if x_rank:
        return constant(np.arange(x_rank, dtype=np.int32))
    return range(0, array_ops.rank(x))


def _reduced(keepdims: bool) -> Infer:
    def infer(x: Tensor, axes: Tensor) -> list[Spec]:
        found = axes_of(axes, rank(x.shape))
        if x.shape is None or found is None:
            return [(x.dtype, None if x.shape is None or not keepdims else (None,) * len(x.shape))]
        if keepdims:
            return [(x.dtype, tuple(1 if i in found else d for i, d in enumerate(x.shape)))]
        return [(x.dtype, tuple(d for i, d in enumerate(x.shape) if i not in found))]
    return infer


reduce_sum, reduce_mean, reduce_prod = map(_reduction, ("Sum", "Mean", "Prod"))
reduce_max, reduce_min, reduce_euclidean_norm = map(_reduction, ("Max", "Min", "EuclideanNorm"))
reduce_all, reduce_any = map(_reduction, ("All", "Any"))


def range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None,
          name: str = "range") -> Tensor:
    """The numbers from `start` (0 when only one bound is given) to `limit` by `delta`."""
    if limit is None:
        start, limit = 0, start
    with op_scope(name, "Range", [start, limit, delta]) as (_, scope):
        tensors = [convert_to_tensor(v, dtype, name=arg)
                   for arg, v in (("start", start), ("limit", limit), ("delta", delta))]
        widest = max((t.dtype for t in tensors), key=_RANGE_DTYPES.index)
        start, limit, delta = (cast(t, widest) for t in tensors)
        values = [const_value(t) for t in (start, limit, delta)]
        size = (None if any(v is None for v in values)
                else len(np.arange(*(v.item() for v in values))))  # type: ignore[union-attr]
        return gen_op("Range", scope, [("start", start, None), ("limit", limit, None),
                                       ("delta", delta, None)],
                      lambda *_: [(widest, (size,))]).outputs[0]


_RANGE_DTYPES = [np.dtype(n) for n in ("int32", "int64", "float32", "float64")]


def _arg_reduce(op_type: str) -> Callable[..., Tensor]:
    def arg(input: Any, axis: Any = None, output_type: Any = "int64",
            name: str | None = None) -> Tensor:
        output_type = dtypes.as_dtype(output_type)
        return gen_op(op_type, name, [("input", input, None),
                                      ("dimension", 0 if axis is None else axis, INT32)],
                      lambda x, a: [(output_type, _reduced(False)(x, a)[0][1])],
                      {"output_type": output_type}).outputs[0]
    arg.__doc__ = f"The index of the {op_type[3:].lower()} along `axis` ({op_type})."
    return arg


argmax, argmin = _arg_reduce("ArgMax"), _arg_reduce("ArgMin")


def _cumulative(op_type: str) -> Callable[..., Tensor]:
    def scan(x: Any, axis: Any = 0, exclusive: bool = False, reverse: bool = False,
             name: str | None = None) -> Tensor:
        with op_scope(name, op_type, [x]) as (_, scope):
            x = convert_to_tensor(x, name="x")
            return gen_op(op_type, scope, [("x", x, None), ("axis", axis, INT32)], like,
                          {"exclusive": exclusive, "reverse": reverse}).outputs[0]
    scan.__doc__ = f"The running {op_type[3:].lower()} along `axis` ({op_type})."
    return scan


cumsum, cumprod = _cumulative("Cumsum"), _cumulative("Cumprod")


def clip_by_value(t: Any, clip_value_min: Any, clip_value_max: Any,
                  name: str | None = None) -> Tensor:
    """`t` clipped to [min, max]: Minimum then Maximum."""
    with op_scope(name, "clip_by_value", [t, clip_value_min, clip_value_max]) as (_, scope):
        values = convert_to_tensor(t, name="t")
        return maximum(minimum(values, clip_value_max), clip_value_min, name=scope)
