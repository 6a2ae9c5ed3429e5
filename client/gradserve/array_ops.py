"""Array ops (shapes, slicing, joining, gathering), emitted as TensorFlow's Python API
emits them, with their dtype and, where known, static shape."""

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradserve import dtypes, math_ops
from gradserve.framework import Shape, Spec, Tensor, constant, convert_to_tensor, op_scope
from gradserve.gen import INT32, Infer, broadcast, const_value, gen_op, like, shape_from
from gradserve.gen import rank as static_rank

_SMALL = 1000  # TensorFlow makes zeros/ones a Const below this many elements, else a Fill


def reshape(tensor: Any, shape: Any, name: str | None = None) -> Tensor:
    """`tensor` with `shape` (one dimension may be -1: inferred)."""
    def infer(x: Tensor, s: Tensor) -> list[Spec]:
        target = shape_from(s)
        value = const_value(s)
        if target is not None and value is not None and (value == -1).any() \
                and x.shape is not None and _known(x.shape):
            known = int(np.prod([d for d in value if d != -1]))
            size = int(np.prod([d or 0 for d in x.shape]))
            target = tuple(size // known if d is None else d for d in target)
        return [(x.dtype, target)]
    return gen_op("Reshape", name, [("tensor", tensor, None), ("shape", shape, INT32)],
                  infer).outputs[0]


def transpose(a: Any, perm: Any = None, name: str = "transpose") -> Tensor:
    """`a` with its axes permuted by `perm` (reversed when None)."""
    with op_scope(name, "transpose", [a]) as (_, scope):
        a = convert_to_tensor(a, name="a")
        if perm is None:
            if static_rank(a.shape):
                perm = np.arange(len(a.shape) - 1, -1, -1, dtype=np.int32)
            else:
                steps = [("start", rank(a) - 1, None), ("limit", -1, None), ("delta", -1, None)]
                perm = gen_op("Range", None, steps, lambda *_: [(INT32, (None,))]).outputs[0]

        def infer(x: Tensor, p: Tensor) -> list[Spec]:
            order = const_value(p)
            if order is None or x.shape is None:
                return [(x.dtype, None if x.shape is None else (None,) * len(x.shape))]
            return [(x.dtype, tuple(x.shape[i] for i in order))]
        return gen_op("Transpose", scope, [("x", a, None), ("perm", perm, INT32)], infer).outputs[0]


def expand_dims(input: Any, axis: int, name: str | None = None) -> Tensor:
    """`input` with a dimension of size 1 inserted at `axis`."""
    def infer(x: Tensor, dim: Tensor) -> list[Spec]:
        if x.shape is None:
            return [(x.dtype, None)]
        at = int(axis) % (len(x.shape) + 1)
        return [(x.dtype, (*x.shape[:at], 1, *x.shape[at:]))]
    return gen_op("ExpandDims", name, [("input", input, None), ("dim", axis, INT32)],
                  infer).outputs[0]


def squeeze(input: Any, axis: int | Sequence[int] | None = None, name: str | None = None) -> Tensor:
    """`input` without its dimensions of size 1 (only those in `axis`, when given)."""
    dims = [] if axis is None else [axis] if isinstance(axis, int) else [int(a) for a in axis]

    def infer(x: Tensor) -> list[Spec]:
        if x.shape is None:
            return [(x.dtype, None)]
        drop = {d % len(x.shape) for d in dims} or {i for i, d in enumerate(x.shape) if d == 1}
        return [(x.dtype, tuple(d for i, d in enumerate(x.shape) if i not in drop))]
    return gen_op("Squeeze", name, [("input", input, None)], infer,
                  {"squeeze_dims": dims}).outputs[0]


def concat(values: Sequence[Any], axis: int, name: str = "concat") -> Tensor:
    """`values` joined along `axis` (ConcatV2)."""
    if len(values) == 1:
        with op_scope(name, "concat", values):
            convert_to_tensor(axis, INT32, name="concat_dim")
            return identity(values[0], name=name)

    def infer(*tensors: Tensor) -> list[Spec]:
        parts, axis_value = tensors[:-1], const_value(tensors[-1])
        shapes = [t.shape for t in parts if t.shape is not None]
        if not shapes:
            return [(parts[0].dtype, None)]
        if axis_value is None or len(shapes) < len(parts):
            return [(parts[0].dtype, (None,) * len(shapes[0]))]
        at = int(axis_value) % len(shapes[0])
        sizes = [s[at] for s in shapes]
        joined = None if any(n is None for n in sizes) else sum(n for n in sizes if n is not None)
        return [(parts[0].dtype, (*shapes[0][:at], joined, *shapes[0][at + 1:]))]
    return gen_op("ConcatV2", name, [("values*", list(values), None), ("axis", axis, INT32)],
                  infer).outputs[0]


def stack(values: Sequence[Any], axis: int = 0, name: str = "stack") -> Tensor:
    """`values` (of one shape) stacked along a new `axis` (Pack; a Const when all constant)."""
    if axis == 0:
        return convert_to_tensor(list(values), name=name)

    def infer(*tensors: Tensor) -> list[Spec]:
        shape = tensors[0].shape
        if shape is None:
            return [(tensors[0].dtype, None)]
        at = axis % (len(shape) + 1)
        return [(tensors[0].dtype, (*shape[:at], len(tensors), *shape[at:]))]
    return gen_op("Pack", name, [("values*", list(values), None)], infer, {"axis": axis}).outputs[0]


def unstack(value: Any, num: int | None = None, axis: int = 0,
            name: str = "unstack") -> list[Tensor]:
    """The tensors along `axis` of `value` (Unpack)."""
    value = convert_to_tensor(value)
    if value.shape is None and num is None:
        raise ValueError(f"Cannot infer argument `num` from shape {value.shape}")
    at = axis % len(value.shape) if value.shape is not None else axis
    count = num if num is not None else value.shape[at]
    if count is None:
        raise ValueError(f"Cannot infer argument `num` from shape {value.shape}")
    part = None if value.shape is None else value.shape[:at] + value.shape[at + 1:]
    return gen_op("Unpack", name, [("value", value, None)],
                  lambda x: [(x.dtype, part)] * count, {"num": count, "axis": axis}).outputs


def gather(params: Any, indices: Any, validate_indices: Any = None, axis: Any = None,
           batch_dims: int = 0, name: str | None = None) -> Tensor:
    """The slices of `params` at `indices` along `axis` (GatherV2)."""
    axis = batch_dims if axis is None else axis

    def infer(p: Tensor, i: Tensor, a: Tensor) -> list[Spec]:
        value = const_value(a)
        if p.shape is None or i.shape is None or value is None:
            return [(p.dtype, None)]
        at = int(value) % len(p.shape)
        return [(p.dtype, (*p.shape[:at], *i.shape[batch_dims:], *p.shape[at + 1:]))]
    return gen_op("GatherV2", name, [("params", params, None), ("indices", indices, INT32),
                                     ("axis", axis, INT32)], infer,
                  {"batch_dims": batch_dims}).outputs[0]


def where(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> Tensor:
    """Elements of `x` where `condition` holds, else of `y`, broadcast (SelectV2)."""
    if x is None or y is None:
        raise ValueError("gradserve.where needs x and y: the Where op (indices of true "
                         "elements) is not supported")
    return gen_op("SelectV2", name, [("condition", condition, None), ("t", x, None), ("e", y, 1)],
                  lambda c, t, e: [(t.dtype, broadcast(c.shape, broadcast(t.shape, e.shape)))]
                  ).outputs[0]


def select(condition: Any, x: Any, y: Any, name: str | None = None) -> Tensor:
    """TensorFlow 1.x where: elements of `x` where `condition`, else of `y` (Select)."""
    return gen_op("Select", name, [("condition", condition, None), ("t", x, None), ("e", y, 1)],
                  lambda c, t, e: [(t.dtype, t.shape)]).outputs[0]


def fill(dims: Any, value: Any, name: str | None = None) -> Tensor:
    """A tensor of shape `dims` filled with the scalar `value`."""
    return gen_op("Fill", name, [("dims", dims, INT32), ("value", value, None)],
                  lambda d, v: [(v.dtype, shape_from(d))]).outputs[0]


def zeros(shape: Any, dtype: Any = "float32", name: str | None = None) -> Tensor:
    """A tensor of zeros (a Const when small, else a Fill)."""
    return _filled(0, shape, dtypes.as_dtype(dtype), name, "zeros")


def ones(shape: Any, dtype: Any = "float32", name: str | None = None) -> Tensor:
    """A tensor of ones (a Const when small, else a Fill)."""
    return _filled(1, shape, dtypes.as_dtype(dtype), name, "ones")


def _filled(value: int, shape: Any, dtype: np.dtype, name: str | None, default: str) -> Tensor:
    with op_scope(name, default, [shape]) as (_, scope):
        if not isinstance(shape, Tensor):
            dims = tuple(int(d) for d in shape)
            if int(np.prod(dims)) < _SMALL:
                return constant(value, dtype, shape=dims, name=scope)
            shape = constant(np.array(dims, np.int32), name="shape_as_tensor")
        if shape.shape == ():
            shape = reshape(shape, [-1])
        return fill(shape, constant(value, dtype), name=scope)


def zeros_like(input: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    """Zeros shaped like `input`: a constant when its shape is known, else ZerosLike."""
    return _filled_like(zeros, "ZerosLike", "zeros_like", input, dtype, name)


def ones_like(input: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    """Ones shaped like `input`: a constant when its shape is known, else OnesLike."""
    return _filled_like(ones, "OnesLike", "ones_like", input, dtype, name)


def _filled_like(filled: Any, op_type: str, default: str, input: Any, dtype: Any,
                 name: str | None) -> Tensor:
    with op_scope(name, default, [input]) as (_, scope):
        input = convert_to_tensor(input, name="tensor")
        dtype = None if dtype is None else dtypes.as_dtype(dtype)
        if _known(input.shape):
            return filled(input.shape, dtype or input.dtype, name=scope)
        if dtype is not None and dtype != input.dtype:
            return filled(shape(input), dtype, name=scope)
        return gen_op(op_type, scope, [("x", input, None)], like).outputs[0]


def shape(input: Any, out_type: Any = "int32", name: str | None = None) -> Tensor:
    """The shape of `input` as a 1-D tensor: a constant when fully known (tf.shape)."""
    out_type = dtypes.as_dtype(out_type)
    with op_scope(name, "Shape", [input]) as (_, scope):
        input = convert_to_tensor(input, name="input")
        if _known(input.shape):
            return constant(np.array(input.shape, out_type), name=scope)
        return gen_op("Shape", scope, [("input", input, None)],
                      lambda x: [(out_type, (static_rank(x.shape),))],
                      {"out_type": out_type}).outputs[0]


def size(input: Any, out_type: Any = "int32", name: str | None = None) -> Tensor:
    """The number of elements of `input`: a constant when its shape is known (tf.size)."""
    out_type = dtypes.as_dtype(out_type)
    with op_scope(name, "Size", [input]) as (_, scope):
        input = convert_to_tensor(input, name="input")
        if _known(input.shape):
            return constant(np.array(np.prod(input.shape), out_type), name=scope)
        return gen_op("Size", scope, [("input", input, None)], lambda x: [(out_type, ())],
                      {"out_type": out_type}).outputs[0]


def rank(input: Any, name: str | None = None) -> Tensor:
    """The rank of `input` as a scalar tensor: a constant when known (tf.rank)."""
    with op_scope(name, "Rank", [input]) as (_, scope):
        input = convert_to_tensor(input, name="input")
        if input.shape is not None:
            return constant(np.int32(len(input.shape)), name=scope)
        return gen_op("Rank", scope, [("input", input, None)], lambda x: [(INT32, ())]).outputs[0]


def tile(input: Any, multiples: Any, name: str | None = None) -> Tensor:
    """`input` repeated `multiples[i]` times along each axis i."""
    def infer(x: Tensor, m: Tensor) -> list[Spec]:
        times = const_value(m)
        if x.shape is None or times is None:
            return [(x.dtype, None if x.shape is None else (None,) * len(x.shape))]
        return [(x.dtype, tuple(None if d is None else d * int(t) for d, t in zip(x.shape, times)))]
    return gen_op("Tile", name, [("input", input, None), ("multiples", multiples, INT32)],
                  infer).outputs[0]


def pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", constant_values: Any = 0,
        name: str | None = None) -> Tensor:
    """`tensor` padded by `paddings` ([before, after] per axis): Pad, PadV2 or MirrorPad."""
    def infer(x: Tensor, p: Tensor, *_: Tensor) -> list[Spec]:
        amounts = const_value(p)
        if x.shape is None or amounts is None:
            return [(x.dtype, None if x.shape is None else (None,) * len(x.shape))]
        return [(x.dtype, tuple(None if d is None else d + int(sum(a))
                                for d, a in zip(x.shape, amounts)))]
    inputs = [("input", tensor, None), ("paddings", paddings, INT32)]
    mode = mode.upper()
    if mode != "CONSTANT":
        return gen_op("MirrorPad", name, inputs, infer, {"mode": mode}).outputs[0]
    if not isinstance(constant_values, Tensor) and np.ndim(constant_values) == 0 \
            and constant_values == 0:
        return gen_op("Pad", name, inputs, infer).outputs[0]
    return gen_op("PadV2", name, [*inputs, ("constant_values", constant_values, 0)],
                  infer).outputs[0]


def slice(input_: Any, begin: Any, size: Any, name: str | None = None) -> Tensor:
    """The `size` elements of `input_` from `begin` along each axis (-1: to the end)."""
    def infer(x: Tensor, b: Tensor, s: Tensor) -> list[Spec]:
        starts, sizes = const_value(b), const_value(s)
        if x.shape is None or starts is None or sizes is None:
            return [(x.dtype, None if s.shape is None else (None,) * (s.shape[0] or 0))]
        return [(x.dtype, tuple((None if d is None else d - int(b0)) if n == -1 else int(n)
                                for d, b0, n in zip(x.shape, starts, sizes)))]
    return gen_op("Slice", name, [("input", input_, None), ("begin", begin, INT32),
                                  ("size", size, 1)], infer).outputs[0]


def split(value: Any, num_or_size_splits: Any, axis: int = 0, num: int | None = None,
          name: str = "split") -> list[Tensor]:
    """`value` split along `axis` into equal parts (Split) or parts of the given sizes (SplitV)."""
    value = convert_to_tensor(value)
    at = None if value.shape is None else axis % len(value.shape)
    if isinstance(num_or_size_splits, int):
        count = num_or_size_splits
        dim = None if at is None else value.shape[at]
        sizes = [None if dim is None else dim // count] * count
        return gen_op("Split", name, [("split_dim", axis, INT32), ("value", value, None)],
                      lambda d, x: [(x.dtype, _with(x.shape, at, n)) for n in sizes],
                      {"num_split": count}).outputs
    size_splits = convert_to_tensor(num_or_size_splits)
    parts = const_value(size_splits)
    num_split = num if num is not None else None if size_splits.shape is None \
        else size_splits.shape[0]
    if num_split is None:
        raise ValueError(f"Cannot infer argument `num` from shape {size_splits.shape}")
    sizes = [None] * num_split if parts is None else [None if n == -1 else int(n) for n in parts]
    return gen_op("SplitV", name, [("value", value, None), ("size_splits", size_splits, None),
                                   ("split_dim", axis, INT32)],
                  lambda x, s, d: [(x.dtype, _with(x.shape, at, n)) for n in sizes],
                  {"num_split": num_split}).outputs


def reverse(tensor: Any, axis: Any, name: str | None = None) -> Tensor:
    """`tensor` with the order of its elements reversed along `axis` (ReverseV2)."""
    return gen_op("ReverseV2", name, [("tensor", tensor, None), ("axis", axis, INT32)],
                  like).outputs[0]


def broadcast_to(input: Any, shape: Any, name: str | None = None) -> Tensor:
    """`input` broadcast to `shape`."""
    return gen_op("BroadcastTo", name, [("input", input, None), ("shape", shape, INT32)],
                  lambda x, s: [(x.dtype, shape_from(s))]).outputs[0]


def identity(input: Any, name: str | None = None) -> Tensor:
    """The input, through an Identity op."""
    return math_ops.identity(input, name=name)


def stop_gradient(input: Any, name: str | None = None) -> Tensor:
    """The input; no gradient flows through it (StopGradient)."""
    return gen_op("StopGradient", name, [("input", input, None)], like).outputs[0]


def placeholder_with_default(input: Any, shape: Sequence[int | None] | None,
                             name: str | None = None) -> Tensor:
    """A placeholder that is `input` unless fed."""
    static = None if shape is None else tuple(shape)
    with op_scope(name, "PlaceholderWithDefault", [input]) as (_, scope):
        input = convert_to_tensor(input, name="input")
        return gen_op("PlaceholderWithDefault", scope, [("input", input, None)],
                      lambda x: [(x.dtype, static)],
                      {"dtype": input.dtype, "shape": static}).outputs[0]


def strided_slice(input_: Any, begin: Any, end: Any, strides: Any = None, begin_mask: int = 0,
                  end_mask: int = 0, ellipsis_mask: int = 0, new_axis_mask: int = 0,
                  shrink_axis_mask: int = 0, name: str | None = None,
                  infer: Infer | None = None) -> Tensor:
    """A strided slice of `input_`, as `input_[begin:end:strides]` with TensorFlow's masks."""
    if strides is None:
        strides = ones_like(begin)
    masks = {"begin_mask": begin_mask, "end_mask": end_mask, "ellipsis_mask": ellipsis_mask,
             "new_axis_mask": new_axis_mask, "shrink_axis_mask": shrink_axis_mask}
    return gen_op("StridedSlice", name, [("input", input_, None), ("begin", begin, INT32),
                                         ("end", end, 1), ("strides", strides, 1)],
                  infer or (lambda x, *_: [(x.dtype, None)]), masks).outputs[0]


def slice_helper(tensor: Tensor, key: Any) -> Tensor:
    """`tensor[key]` as TensorFlow's Tensor.__getitem__: ints shrink an axis, slices keep it,
    `...` stands for the axes not named, None (newaxis) adds one; tensors may be indices."""
    key = key if isinstance(key, tuple) else (key,)
    begin: list[Any] = []
    end: list[Any] = []
    strides: list[Any] = []
    begin_mask = end_mask = ellipsis_mask = new_axis_mask = shrink_axis_mask = 0
    for i, item in enumerate(key):
        bit = 1 << i
        if isinstance(item, builtins.slice):
            begin.append(0 if item.start is None else item.start)
            end.append(0 if item.stop is None else item.stop)
            strides.append(1 if item.step is None else item.step)
            begin_mask |= bit if item.start is None else 0
            end_mask |= bit if item.stop is None else 0
        elif item is Ellipsis or item is None:
            begin.append(0)
            end.append(0)
            strides.append(1)
            if item is Ellipsis:
                ellipsis_mask |= bit
            else:
                new_axis_mask |= bit
        elif isinstance(item, (int, np.integer, Tensor)) and not isinstance(item, bool):
            if isinstance(item, Tensor) and not dtypes.is_integer(item.dtype):
                raise TypeError(f"Only integers, slices, ellipsis, newaxis and integer tensors "
                                f"are valid indices, got {item!r}")
            begin.append(item)
            end.append(item + 1)
            strides.append(1)
            shrink_axis_mask |= bit
        else:
            raise TypeError(f"Only integers, slices (`:`), ellipsis (`...`), gradserve.newaxis "
                            f"(`None`) and integer tensors are valid indices, got {item!r}")
    with op_scope(None, "strided_slice", [tensor, *begin, *end, *strides]) as (_, scope):
        if begin:
            packed = [stack(part) for part in (begin, end, strides)]
        else:
            packed = [constant([], "int32")] * 3
        return strided_slice(tensor, packed[0], packed[1], packed[2], begin_mask, end_mask,
                             ellipsis_mask, new_axis_mask, shrink_axis_mask, name=scope,
                             infer=_sliced_shape(key))


newaxis = None


def _sliced_shape(key: tuple[Any, ...]) -> Infer:
    """The shape NumPy gives `key` on an array of the input's shape (rank only, with unknown
    dimensions; unknown when an index is a tensor)."""
    def infer(x: Tensor, *_: Tensor) -> list[Spec]:
        if x.shape is None or any(isinstance(k, Tensor) or isinstance(getattr(k, "start", 0), Tensor)
                                  or isinstance(getattr(k, "stop", 0), Tensor) for k in key):
            return [(x.dtype, None)]
        dims = tuple(1000 if d is None else d for d in x.shape)
        try:
            result = np.broadcast_to(np.zeros(()), dims)[key].shape
        except IndexError as error:
            raise ValueError(f"slice index out of bounds for shape {x.shape}: {error}") from None
        return [(x.dtype, result if _known(x.shape) else (None,) * len(result))]
    return infer


def _known(shape: Shape) -> bool:
    return shape is not None and all(d is not None for d in shape)


def _with(shape: Shape, axis: int | None, size: int | None) -> Shape:
    if shape is None or axis is None:
        return None
    return (*shape[:axis], size, *shape[axis + 1:])
