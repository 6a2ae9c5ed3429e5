"""Convolution, pooling and normalization ops: each op's shape rule, kernel and gradient
rule side by side, under TensorFlow's names and with its CPU kernels' semantics.

Kernels work channels-last; a channels-first input (NCHW, NCDHW) is transposed at the
kernel's edges. A convolution is im2col (a strided window view of the padded input) and
one matmul per call; the input's backprop adds the columns back at their windows in one
Numba pass (core/kernels/windows.py), and the windowed sums of pooling go through the
window offsets one strided slice at a time. Max pooling's gradients are Numba kernels
(core/kernels/pooling.py), which measured faster than NumPy; its forward stays NumPy,
which measured faster than Numba.
"""

import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from core import build
from core import dtypes as dt
from core.gradients import gradients
from core.kernels import pooling, windows
from core.ops.common import check_dtype, check_rank, error, int_values, same_dtype, shape_value
from core.registry import Attr, defop, gradient, lookup
from core.shapes import compatible, dims_compatible, format_shape, merge

F16 = dt.DTYPES["float16"]
HALF_OR_FLOAT = frozenset({F16, dt.FLOAT32})
FLOAT32_ONLY = frozenset({dt.FLOAT32})


# -- layouts and windows ----------------------------------------------------------------------

def _layout(node) -> tuple[int, bool]:
    """(spatial rank, channels first) of the node's data_format: its op's default (NHWC,
    NDHWC) or that format's channels-first twin (NCHW, NCDHW)."""
    default = node.opdef.attrs["data_format"].default
    formats = (default, default[0] + "C" + default[1:-1])
    if node.attrs["data_format"] not in formats:
        raise error(node, f"data_format must be {' or '.join(formats)}, got "
                          f"{node.attrs['data_format']!r}")
    return len(default) - 2, node.attrs["data_format"][1] == "C"


def _to_last(value, first: bool):
    """A data_format-ordered shape, list or array in channels-last order."""
    if value is None or not first:
        return value
    if isinstance(value, np.ndarray):
        return np.moveaxis(value, 1, -1)
    return (value[0], *value[2:], value[1])


def _from_last(value, first: bool):
    if value is None or not first:
        return value
    if isinstance(value, np.ndarray):
        return np.moveaxis(value, -1, 1)
    return (value[0], value[-1], *value[1:-1])


def _spatial(node, name: str, values=None) -> tuple:
    """The spatial entries of a per-dimension attribute (strides, dilations, ksize), or of
    `values` given for it; GraphError unless it has one positive entry per dimension and
    1 on the batch and channel dimensions, as TensorFlow requires."""
    n, first = _layout(node)
    values = tuple(int(v) for v in (node.attrs[name] if values is None else values))
    if len(values) != n + 2 or min(values) < 1:
        raise error(node, f"{name} must be {n + 2} positive numbers, got {list(values)}")
    values = _to_last(values, first)
    if values[0] != 1 or values[-1] != 1:
        raise error(node, f"{name} must be 1 on the batch and channel dimensions, got "
                          f"{list(_from_last(values, first))}")
    return values[1:-1]


def _explicit_pads(node, n: int, first: bool):
    """The (before, after) spatial paddings of padding EXPLICIT, else None."""
    values = node.attrs.get("explicit_paddings", ())
    if node.attrs["padding"] != "EXPLICIT":
        if values:
            raise error(node, "explicit_paddings must be empty unless padding is EXPLICIT")
        return None
    if len(values) != 2 * (n + 2) or min(values) < 0:
        raise error(node, f"explicit_paddings must be {2 * (n + 2)} non-negative numbers, got "
                          f"{list(values)}")
    pairs = _to_last(list(zip(values[::2], values[1::2])), first)
    if pairs[0] != (0, 0) or pairs[-1] != (0, 0):
        raise error(node, "explicit_paddings must be 0 on the batch and channel dimensions")
    return pairs[1:-1]


@dataclass(frozen=True)
class Window:
    """Windows over the spatial dimensions: size, stride, dilation, (before, after)
    padding and output size per dimension (None where not known yet)."""
    ksize: tuple
    strides: tuple
    dilations: tuple
    pads: tuple
    out: tuple

    def at(self, offset) -> tuple:
        """Index, into a padded (B, *spatial, C) array, of the element at `offset` of
        every window."""
        return (slice(None), *(slice(k * d, k * d + o * s, s) for k, d, s, o in
                               zip(offset, self.dilations, self.strides, self.out)))

    def padded(self, shape) -> tuple:
        return (shape[0], *(n + a + b for n, (a, b) in zip(shape[1:-1], self.pads)), shape[-1])

    def inside(self, shape) -> tuple:
        """Index of the unpadded input in a padded array."""
        return (slice(None), *(slice(a, a + n) for n, (a, _) in zip(shape[1:-1], self.pads)))


def _window(node, sizes, ksize, strides, dilations=None) -> Window:
    """The windows over spatial `sizes` as TensorFlow places them: SAME pads (the odd
    unit after), VALID does not, EXPLICIT takes explicit_paddings."""
    n, first = _layout(node)
    dilations = dilations or (1,) * n
    paddings = ("SAME", "VALID", "EXPLICIT") if "explicit_paddings" in node.attrs else \
        ("SAME", "VALID")
    padding = node.attrs["padding"]
    if padding not in paddings:
        raise error(node, f"padding must be {', '.join(paddings)}, got {padding!r}")
    explicit = _explicit_pads(node, n, first) or ((0, 0),) * n
    pads, out = [], []
    for size, k, s, d, pad in zip(sizes, ksize, strides, dilations, explicit):
        extent = None if k is None else (k - 1) * d + 1
        if padding == "SAME":
            o = None if size is None else -(-size // s)
            total = None if o is None or k is None else max((o - 1) * s + extent - size, 0)
            pad = None if total is None else (total // 2, total - total // 2)
        else:
            o = None if size is None or k is None else (size + sum(pad) - extent) // s + 1
            if o is not None and o < 1:
                raise error(node, f"a window of extent {extent} does not fit in an input of "
                                  f"size {size} padded by {pad}")
        pads.append(pad)
        out.append(o)
    return Window(tuple(ksize), tuple(strides), tuple(dilations), tuple(pads), tuple(out))


def _pad(x, win: Window, value=0) -> np.ndarray:
    """x (channels-last) padded as the windows need: x itself when they need none."""
    if not any(a or b for a, b in win.pads):
        return x
    return np.pad(x, [(0, 0), *win.pads, (0, 0)], constant_values=value)


def _accumulate(win: Window, shape, dtype, part) -> np.ndarray:
    """The input-shaped (channels-last) sum of `part(offset)`, an output-shaped array,
    placed at each window offset: the transpose of reading windows."""
    padded = np.zeros(win.padded(shape), dtype)
    for offset in np.ndindex(*win.ksize):
        padded[win.at(offset)] += part(offset)
    return padded[win.inside(shape)]


def _compute_dtype(dtype):
    """float16 is computed in float32, then rounded back."""
    return np.float32 if dtype == F16 else dtype


def _widened(*arrays) -> list[np.ndarray]:
    return [a.astype(_compute_dtype(a.dtype), copy=False) for a in arrays]


def _rank_shape(node, t, what):
    n, _ = _layout(node)
    check_rank(node, t, n + 2, what=what)
    return t.shape


def _sizes_value(node, t, what):
    """The shape held by an input_sizes-like input, when known while building."""
    n, _ = _layout(node)
    shape = shape_value(node, t, what)
    if shape is not None and len(shape) != n + 2:
        raise error(node, f"{what} must have {n + 2} entries, got {format_shape(shape)}")
    return shape


def _dim(a, b):
    return a if a is not None else b


# -- convolutions -----------------------------------------------------------------------------

CONV2D_ATTRS = {
    "strides": Attr("list(int)"), "padding": Attr("string"),
    "explicit_paddings": Attr("list(int)", ()), "data_format": Attr("string", "NHWC"),
    "dilations": Attr("list(int)", (1, 1, 1, 1)),
}
CONV3D_ATTRS = {
    "strides": Attr("list(int)"), "padding": Attr("string"),
    "data_format": Attr("string", "NDHWC"), "dilations": Attr("list(int)", (1,) * 5),
}


def _conv_shapes(node, xs, ws, ys):
    """The input, filter and output shapes of a convolution (channels-last), each completed
    from the others, and its windows; GraphError where they disagree. A depthwise filter
    [*k, channels, multiplier] gives channels * multiplier outputs."""
    n, _ = _layout(node)
    xs, ws, ys = ((None,) * (n + 2) if s is None else tuple(s) for s in (xs, ws, ys))
    if not dims_compatible(xs[-1], ws[-2]):
        raise error(node, f"the input has {xs[-1]} channels but the filter of shape "
                          f"{format_shape(ws)} takes {ws[-2]}")
    channels = _dim(xs[-1], ws[-2])
    win = _window(node, xs[1:-1], ws[:n], _spatial(node, "strides"), _spatial(node, "dilations"))
    depthwise = node.op.startswith("Depthwise")
    out_channels = ws[-1] if not depthwise else \
        None if channels is None or ws[-1] is None else channels * ws[-1]
    expected = (xs[0], *win.out, out_channels)
    if not compatible(ys, expected):
        raise error(node, f"out_backprop has shape {format_shape(ys)}, but the convolution of "
                          f"an input {format_shape(xs)} by a filter {format_shape(ws)} gives "
                          f"{format_shape(expected)}")
    ys = merge(ys, expected)
    multiplier = ys[-1] if not depthwise else \
        ys[-1] // channels if ys[-1] is not None and channels else None
    return (ys[0], *xs[1:-1], channels), (*ws[:n], channels, _dim(ws[-1], multiplier)), ys, win


def _conv_infer(node):
    """One shape rule for the three ops of each convolution: the forward op computes the
    output, the backprops the shape their `*_sizes` input holds."""
    _, first = _layout(node)
    inputs = dict(zip(node.opdef.inputs, node.inputs))
    dtype = same_dtype(node, [t for name, t in inputs.items() if not name.endswith("_sizes")],
                       node.opdef.dtypes)
    shapes = {"input": None, "filter": None, "out_backprop": None}
    computed = "out_backprop"
    for name, t in inputs.items():
        if name.endswith("_sizes"):
            computed = name = name[:-len("_sizes")]
            shape = _sizes_value(node, t, f"{name}_sizes")
        else:
            shape = _rank_shape(node, t, name)
        shapes[name] = shape if name == "filter" else _to_last(shape, first)
    xs, ws, ys, _ = _conv_shapes(node, shapes["input"], shapes["filter"], shapes["out_backprop"])
    return [(dtype, {"input": _from_last(xs, first), "filter": ws,
                     "out_backprop": _from_last(ys, first)}[computed])]


def _patches(x, win: Window, groups: int) -> np.ndarray:
    """im2col per group: (groups, batch * outputs, window offsets * group channels), the
    columns in a filter's [*k, in] order."""
    n = len(win.out)
    offsets = math.prod(win.ksize)
    if 0 in win.out:
        return np.zeros((groups, 0, offsets * x.shape[-1] // groups), x.dtype)
    padded = _pad(x, win)
    if x.shape[-1] == 1:
        # one channel: offset by offset, 2.5x faster than copying the window view, whose
        # innermost run is then a single element
        columns = np.empty((x.shape[0], *win.out, offsets), x.dtype)
        for i, offset in enumerate(np.ndindex(*win.ksize)):
            columns[..., i] = padded[win.at(offset)][..., 0]
        return columns.reshape(1, -1, offsets)
    extents = [(k - 1) * d + 1 for k, d in zip(win.ksize, win.dilations)]
    view = sliding_window_view(padded, extents, axis=tuple(range(1, n + 1)))
    view = view[(slice(None), *(slice(None, None, s) for s in win.strides), slice(None),
                 *(slice(None, None, d) for d in win.dilations))]
    view = np.moveaxis(view, n + 1, -1)                     # (B, *out, *k, C)
    return view.reshape(-1, offsets, groups, x.shape[-1] // groups).transpose(2, 0, 1, 3) \
        .reshape(groups, -1, offsets * x.shape[-1] // groups)


def _filter_matrix(w, groups: int) -> np.ndarray:
    """[*k, in, groups * out] as (groups, k * in, out)."""
    out = w.shape[-1] // groups
    return w.reshape(-1, w.shape[-2], groups, out).transpose(2, 0, 1, 3).reshape(groups, -1, out)


def _output_matrix(y, groups: int) -> np.ndarray:
    """[B, *out, groups * channels] as (groups, B * out, channels)."""
    return y.reshape(-1, groups, y.shape[-1] // groups).transpose(1, 0, 2)


def _grouped(node, filter_shape) -> tuple[tuple, int]:
    """(the filter's shape as a grouped convolution's, the number of groups): a depthwise
    filter [*k, C, M] is a convolution of C groups by [*k, 1, C * M]."""
    if node.op.startswith("Depthwise"):
        return (*filter_shape[:-2], 1, filter_shape[-2] * filter_shape[-1]), filter_shape[-2]
    return tuple(filter_shape), 1


def _conv_forward(node, x, w):
    """out[b, o, j] = sum_{k, c} x_padded[b, o * strides + k * dilations, c] w[k, c, j]."""
    _, first = _layout(node)
    x = _to_last(x, first)
    _, _, ys, win = _conv_shapes(node, x.shape, w.shape, None)
    shape, groups = _grouped(node, w.shape)
    xw, ww = _widened(x, w)
    y = _patches(xw, win, groups) @ _filter_matrix(ww.reshape(shape), groups)
    return _from_last(y.transpose(1, 0, 2).reshape(ys).astype(x.dtype, copy=False), first)


def _conv_backprop_input(node, input_sizes, w, dy):
    """The input's gradient: dy times the filter, each window's columns added back at
    their input positions."""
    n, first = _layout(node)
    dy = _to_last(dy, first)
    xs, _, _, win = _conv_shapes(node, _to_last(tuple(input_sizes), first), w.shape, dy.shape)
    shape, groups = _grouped(node, w.shape)
    dyw, ww = _widened(dy, w)
    columns = _output_matrix(dyw, groups) @ _filter_matrix(ww.reshape(shape), groups) \
        .transpose(0, 2, 1)
    columns = columns.reshape(groups, -1, math.prod(win.ksize), shape[-2]).transpose(1, 2, 0, 3)
    missing = 3 - n
    columns = np.ascontiguousarray(columns.reshape(
        dy.shape[0], *(1,) * missing, *dy.shape[1:-1], *(1,) * missing, *win.ksize, xs[-1]))
    dx = np.zeros(xs, dyw.dtype)
    windows.add_windows(columns, dx.reshape(xs[0], *(1,) * missing, *xs[1:]),
                        np.asarray((1,) * missing + win.strides, np.int64),
                        np.asarray((1,) * missing + win.dilations, np.int64),
                        np.asarray((0,) * missing + tuple(a for a, _ in win.pads), np.int64))
    return _from_last(dx.astype(dy.dtype, copy=False), first)


def _conv_backprop_filter(node, x, filter_sizes, dy):
    """The filter's gradient: the im2col matrix of x, transposed, times dy."""
    _, first = _layout(node)
    x, dy = _to_last(x, first), _to_last(dy, first)
    _, ws, _, win = _conv_shapes(node, x.shape, tuple(filter_sizes), dy.shape)
    shape, groups = _grouped(node, ws)
    xw, dyw = _widened(x, dy)
    dw = _patches(xw, win, groups).transpose(0, 2, 1) @ _output_matrix(dyw, groups)
    dw = dw.reshape(groups, -1, shape[-2], dw.shape[-1]).transpose(1, 2, 0, 3)
    return dw.reshape(ws).astype(x.dtype, copy=False)


CONVOLUTIONS = [
    (("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"),
     {**CONV2D_ATTRS, "use_cudnn_on_gpu": Attr("bool", True)}, dt.FLOATS | {dt.INT32}),
    (("DepthwiseConv2dNative", "DepthwiseConv2dNativeBackpropInput",
      "DepthwiseConv2dNativeBackpropFilter"), CONV2D_ATTRS, dt.FLOATS),
    (("Conv3D", "Conv3DBackpropInputV2", "Conv3DBackpropFilterV2"), CONV3D_ATTRS, dt.FLOATS),
]


def _register_convolution(names, attrs, dtypes):
    forward, backprop_input, backprop_filter = names
    defop(forward, inputs=("input", "filter"), infer=_conv_infer, attrs=attrs,
          dtypes=dtypes)(_conv_forward)
    defop(backprop_input, inputs=("input_sizes", "filter", "out_backprop"), infer=_conv_infer,
          attrs=attrs, dtypes=dtypes)(_conv_backprop_input)
    defop(backprop_filter, inputs=("input", "filter_sizes", "out_backprop"), infer=_conv_infer,
          attrs=attrs, dtypes=dtypes - {dt.INT32})(_conv_backprop_filter)

    @gradient(forward)
    def _forward_grad(op, grad):
        x, w = op.inputs
        return (build.op(backprop_input, build.shape(x), w, grad, **op.attrs),
                build.op(backprop_filter, x, build.shape(w), grad, **op.attrs))

    @gradient(backprop_input)
    def _backprop_input_grad(op, grad):
        """Bilinear in (filter, out_backprop): d filter is the filter backprop of `grad`
        (as the input) against out_backprop, d out_backprop the convolution of `grad`."""
        _, w, dy = op.inputs
        return (None, build.op(backprop_filter, grad, build.shape(w), dy, **op.attrs),
                build.op(forward, grad, w, **op.attrs))

    @gradient(backprop_filter)
    def _backprop_filter_grad(op, grad):
        """Bilinear in (input, out_backprop): d input is the input backprop of `grad` (as
        the filter), d out_backprop the convolution of the input by `grad`."""
        x, _, dy = op.inputs
        return (build.op(backprop_input, build.shape(x), grad, dy, **op.attrs), None,
                build.op(forward, x, grad, **op.attrs))


for _names, _attrs, _dtypes in CONVOLUTIONS:
    _register_convolution(_names, _attrs, _dtypes)


# -- pooling ----------------------------------------------------------------------------------

POOL_ATTRS = {"ksize": Attr("list(int)"), "strides": Attr("list(int)"),
              "padding": Attr("string"), "data_format": Attr("string", "NHWC")}
POOL3D_ATTRS = {**POOL_ATTRS, "data_format": Attr("string", "NDHWC")}
MAX_POOL_ATTRS = {**POOL_ATTRS, "explicit_paddings": Attr("list(int)", ())}
V2_ATTRS = {"padding": Attr("string"), "data_format": Attr("string", "NHWC")}
MAX_POOL_DTYPES = dt.FLOATS | {dt.DTYPES[n] for n in
                               ("int8", "int16", "int32", "int64", "uint8", "uint16")}


def _pool_window(node, sizes, ksize=None, strides=None):
    """The windows of a pooling op. A V2 op's ksize and strides are its last two inputs:
    given as arrays at run time, read from constants while building (None if not known)."""
    if "ksize" in node.attrs:
        ksize, strides = node.attrs["ksize"], node.attrs["strides"]
    elif ksize is None:
        ksize, strides = (int_values(node, t, name) for t, name in
                          zip(node.inputs[-2:], ("ksize", "strides")))
        if ksize is None or strides is None:
            return None
    return _window(node, sizes, _spatial(node, "ksize", ksize), _spatial(node, "strides", strides))


def _pool_shapes(node, xs, ys, *window_values):
    """The input and output shapes of a pooling op (channels-last), each completed from the
    other, and its windows (None when a V2 op's are not known yet)."""
    n, _ = _layout(node)
    xs, ys = ((None,) * (n + 2) if s is None else tuple(s) for s in (xs, ys))
    win = _pool_window(node, xs[1:-1], *window_values)
    expected = (xs[0], *(win.out if win else (None,) * n), xs[-1])
    if not compatible(ys, expected):
        raise error(node, f"the pooled output has shape {format_shape(ys)}, but pooling an "
                          f"input {format_shape(xs)} gives {format_shape(expected)}")
    ys = merge(ys, expected)
    return (ys[0], *xs[1:-1], ys[-1]), ys, win


def _pool_infer(node):
    """MaxPool, AvgPool and their V2 and 3-D forms: the pooled shape."""
    x = node.inputs[0]
    check_dtype(node, x, node.opdef.dtypes)
    _, first = _layout(node)
    _, ys, _ = _pool_shapes(node, _to_last(_rank_shape(node, x, "input"), first), None)
    return [(x.dtype, _from_last(ys, first))]


def _max_pool_grad_infer(node):
    """(orig_input, orig_output, grad): the input's shape for the gradients; the output's
    for the gradients of gradients, whose grad is shaped like the input."""
    x, y, g = node.inputs[:3]
    same_dtype(node, [x, y] if node.op == "MaxPool3DGrad" else [x, y, g], node.opdef.dtypes)
    check_dtype(node, g, node.opdef.dtypes, "grad")
    _, first = _layout(node)
    xs, ys, gs = (_to_last(_rank_shape(node, t, what), first) for t, what in
                  zip((x, y, g), ("orig_input", "orig_output", "grad")))
    grad_grad = "GradGrad" in node.op
    like = xs if grad_grad else ys
    if not compatible(gs, like):
        raise error(node, f"grad has shape {format_shape(gs)}, expected {format_shape(like)}")
    xs, ys, _ = _pool_shapes(node, merge(xs, gs) if grad_grad else xs,
                             ys if grad_grad else merge(ys, gs))
    return [(g.dtype, _from_last(ys if grad_grad else xs, first))]


def _avg_pool_grad_infer(node):
    sizes, g = node.inputs
    check_dtype(node, g, node.opdef.dtypes, "grad")
    _, first = _layout(node)
    xs, _, _ = _pool_shapes(node, _to_last(_sizes_value(node, sizes, "orig_input_shape"), first),
                            _to_last(_rank_shape(node, g, "grad"), first))
    return [(g.dtype, _from_last(xs, first))]


def _windowed_max(x, win: Window, tensorflow_2d: bool) -> np.ndarray:
    """The maximum of each window; padding never wins. 2-D pooling takes it as TensorFlow's
    CPU kernel does: from the dtype's lowest finite value, NaN passed over (np.fmax), so a
    window of NaN or -inf alone gives that lowest value. TensorFlow's 3-D pooling gives
    NaN results that depend on its vector lanes; here NaN propagates (np.maximum)."""
    is_float = x.dtype in dt.FLOATS
    padded = _pad(x, win, -np.inf if is_float else np.iinfo(x.dtype).min)
    offsets = np.ndindex(*win.ksize)
    if tensorflow_2d:
        lowest = np.finfo(x.dtype).min if is_float else np.iinfo(x.dtype).min
        y, combine = np.full((x.shape[0], *win.out, x.shape[-1]), lowest, x.dtype), np.fmax
    else:
        y, combine = padded[win.at(next(offsets))].copy(), np.maximum
    for offset in offsets:
        combine(y, padded[win.at(offset)], out=y)
    return y


def _window_counts(win: Window, sizes) -> np.ndarray:
    """How many input elements (padding excluded) each window holds, shaped (1, *out, 1)."""
    counts = np.ones((), np.int64)
    for axis, (size, k, s, (before, _), o) in enumerate(
            zip(sizes, win.ksize, win.strides, win.pads, win.out)):
        start = np.arange(o) * s - before
        span = np.minimum(start + k, size) - np.maximum(start, 0)
        counts = counts * span.reshape([-1 if i == axis else 1 for i in range(len(sizes))])
    return counts[None, ..., None]


def _volumes(win: Window, *arrays):
    """Arrays as the Numba kernels take them, (B, D, H, W, C) with depth 1 for 2-D pooling
    and float16 widened, then the windows' sizes, strides and leading pads."""
    missing = 3 - len(win.out)
    arrays = [np.ascontiguousarray(a.reshape(a.shape[0], *(1,) * missing, *a.shape[1:]),
                                   _compute_dtype(a.dtype)) for a in arrays]
    params = ((1,) * missing + win.ksize, (1,) * missing + win.strides,
              (0,) * missing + tuple(before for before, _ in win.pads))
    return (*arrays, *(np.asarray(p, np.int64) for p in params))


def _max_pool(node, x, *window_values):
    """The maximum of each window."""
    _, first = _layout(node)
    x = _to_last(x, first)
    _, _, win = _pool_shapes(node, x.shape, None, *window_values)
    return _from_last(_windowed_max(x, win, tensorflow_2d=node.op != "MaxPool3D"), first)


def _max_pool_grad(node, x, y, dy, *window_values):
    """dy to each window's argmax in orig_input, found as TensorFlow's CPU kernel finds it
    (which does not read orig_output): the window's first position, then each later one
    strictly greater, so a NaN in the first position keeps it and others are passed over.
    MaxPool3DGrad gives dy to every position equal to orig_output, as TensorFlow's does."""
    _, first = _layout(node)
    x, y, dy = (_to_last(a, first) for a in (x, y, dy))
    _, _, win = _pool_shapes(node, x.shape, dy.shape, *window_values)
    if node.op == "MaxPool3DGrad":
        dx = pooling.max_pool_grad_every_tie(*_volumes(win, x, y, dy))
    else:
        dx = pooling.max_pool_grad_argmax(*_volumes(win, x, dy))
    return _from_last(dx.reshape(x.shape).astype(dy.dtype, copy=False), first)


def _max_pool_grad_grad(node, x, y, g, *window_values):
    """g at the first position of each window where orig_input equals orig_output."""
    _, first = _layout(node)
    x, y, g = (_to_last(a, first) for a in (x, y, g))
    _, _, win = _pool_shapes(node, x.shape, y.shape, *window_values)
    out = pooling.max_pool_grad_grad(*_volumes(win, x, y, g))
    return _from_last(out.reshape(y.shape).astype(g.dtype, copy=False), first)


def _avg_pool(node, x):
    """The mean of each window's input elements (padding not counted)."""
    _, first = _layout(node)
    x = _to_last(x, first)
    _, _, win = _pool_shapes(node, x.shape, None)
    padded = _pad(*_widened(x), win)
    total = sum(padded[win.at(offset)] for offset in np.ndindex(*win.ksize))
    mean = total / _window_counts(win, x.shape[1:-1])
    return _from_last(mean.astype(x.dtype, copy=False), first)


def _avg_pool_grad(node, sizes, dy):
    """Each window's dy / count spread over its input elements."""
    _, first = _layout(node)
    dy = _to_last(dy, first)
    xs, _, win = _pool_shapes(node, _to_last(tuple(sizes), first), dy.shape)
    share = _widened(dy)[0] / _window_counts(win, xs[1:-1])
    dx = _accumulate(win, xs, share.dtype, lambda _: share)
    return _from_last(dx.astype(dy.dtype, copy=False), first)


for _name, _inputs, _infer, _kernel, _attrs, _dtypes in [
    ("MaxPool", ("input",), _pool_infer, _max_pool, MAX_POOL_ATTRS, MAX_POOL_DTYPES),
    ("MaxPoolV2", ("input", "ksize", "strides"), _pool_infer, _max_pool, V2_ATTRS,
     MAX_POOL_DTYPES),
    ("MaxPool3D", ("input",), _pool_infer, _max_pool, POOL3D_ATTRS, HALF_OR_FLOAT),
    ("MaxPoolGrad", ("orig_input", "orig_output", "grad"), _max_pool_grad_infer,
     _max_pool_grad, MAX_POOL_ATTRS, dt.REAL),
    ("MaxPoolGradV2", ("orig_input", "orig_output", "grad", "ksize", "strides"),
     _max_pool_grad_infer, _max_pool_grad, V2_ATTRS, dt.REAL),
    ("MaxPool3DGrad", ("orig_input", "orig_output", "grad"), _max_pool_grad_infer,
     _max_pool_grad, POOL3D_ATTRS, HALF_OR_FLOAT),
    ("MaxPoolGradGrad", ("orig_input", "orig_output", "grad"), _max_pool_grad_infer,
     _max_pool_grad_grad, POOL_ATTRS, dt.REAL),
    ("MaxPoolGradGradV2", ("orig_input", "orig_output", "grad", "ksize", "strides"),
     _max_pool_grad_infer, _max_pool_grad_grad, V2_ATTRS, dt.REAL),
    ("MaxPool3DGradGrad", ("orig_input", "orig_output", "grad"), _max_pool_grad_infer,
     _max_pool_grad_grad, POOL3D_ATTRS, dt.REAL),
    ("AvgPool", ("value",), _pool_infer, _avg_pool, POOL_ATTRS, dt.FLOATS),
    ("AvgPool3D", ("input",), _pool_infer, _avg_pool, POOL3D_ATTRS, dt.FLOATS),
    ("AvgPoolGrad", ("orig_input_shape", "grad"), _avg_pool_grad_infer, _avg_pool_grad,
     POOL_ATTRS, dt.FLOATS),
    ("AvgPool3DGrad", ("orig_input_shape", "grad"), _avg_pool_grad_infer, _avg_pool_grad,
     POOL3D_ATTRS, dt.FLOATS),
]:
    defop(_name, inputs=_inputs, infer=_infer, attrs=_attrs, dtypes=_dtypes)(_kernel)

# Each max pooling op's gradient op: the gradients and the gradients of gradients route
# values along the same windows in opposite directions, so each is the other's gradient.
_MAX_POOL_GRADIENT = {
    "MaxPool": "MaxPoolGrad", "MaxPoolV2": "MaxPoolGradV2", "MaxPool3D": "MaxPool3DGrad",
    "MaxPoolGrad": "MaxPoolGradGrad", "MaxPoolGradV2": "MaxPoolGradGradV2",
    "MaxPool3DGrad": "MaxPool3DGradGrad", "MaxPoolGradGrad": "MaxPoolGrad",
    "MaxPool3DGradGrad": "MaxPool3DGrad",
}


def _attrs_of(op_type: str, attrs: dict) -> dict:
    """The attributes of `attrs` that op `op_type` has."""
    return {k: v for k, v in attrs.items() if k in lookup(op_type).attrs}


@gradient("MaxPool", "MaxPoolV2", "MaxPool3D")
def _max_pool_grad_rule(op, grad):
    """Each window's gradient to its first maximum (to every maximum for MaxPool3D)."""
    x, *window = op.inputs
    return [build.op(_MAX_POOL_GRADIENT[op.op], x, op.output(0), grad, *window, **op.attrs)] + \
        [None] * len(window)


@gradient("MaxPoolGrad", "MaxPoolGradV2", "MaxPool3DGrad", "MaxPoolGradGrad",
          "MaxPool3DGradGrad")
def _max_pool_grad_grad_rule(op, grad):
    """Linear in grad, routed by orig_input and orig_output in a piecewise constant way:
    zero for those two, the opposite routing of `grad` for grad. MaxPoolGradGradV2 has no
    rule, as in TensorFlow; MaxPoolGradGrad has no EXPLICIT padding, so neither has the
    second derivative of a MaxPool with it."""
    x, y, _, *window = op.inputs
    target = _MAX_POOL_GRADIENT[op.op]
    return [build.zeros_like(x), build.zeros_like(y),
            build.op(target, x, y, grad, *window, **_attrs_of(target, op.attrs))] + \
        [None] * len(window)


@gradient("AvgPool", "AvgPool3D")
def _avg_pool_grad_rule(op, grad):
    return build.op(op.op + "Grad", build.shape(op.inputs[0]), grad, **op.attrs)


@gradient("AvgPoolGrad", "AvgPool3DGrad")
def _avg_pool_grad_grad_rule(op, grad):
    """AvgPoolGrad is linear in grad and the transpose of AvgPool: its gradient is AvgPool."""
    return None, build.op(op.op[:-len("Grad")], grad, **op.attrs)


# -- batch normalization ------------------------------------------------------------------------

BATCH_NORM_FORMATS = ("NHWC", "NCHW", "NDHWC", "NCDHW")
BATCH_NORM_ATTRS = {"epsilon": Attr("float", 1e-4), "data_format": Attr("string", "NHWC"),
                    "is_training": Attr("bool", True)}


def _channel_axis(node, x) -> int:
    """The channel axis of x (of rank 4 for NHWC and NCHW, 5 for NDHWC and NCDHW)."""
    data_format = node.attrs["data_format"]
    if data_format not in BATCH_NORM_FORMATS:
        raise error(node, f"data_format must be one of {', '.join(BATCH_NORM_FORMATS)}, got "
                          f"{data_format!r}")
    check_rank(node, x, len(data_format), what="x")
    return 1 if data_format[1] == "C" else len(data_format) - 1


def _channel_vectors(node, x, vectors) -> tuple[tuple, tuple]:
    """(x's shape, the (channels,) shape): x's channel dimension, which each of `vectors`
    (name, tensor) must match."""
    axis = _channel_axis(node, x)
    shape = x.shape or (None,) * len(node.attrs["data_format"])
    channels = shape[axis]
    for name, t in vectors:
        check_dtype(node, t, FLOAT32_ONLY, name)
        check_rank(node, t, 1, what=name)
        size = None if t.shape is None else t.shape[0]
        if not dims_compatible(size, channels):
            raise error(node, f"{name} has {size} entries but x has {channels} channels")
        channels = _dim(channels, size)
    return tuple(channels if i == axis % len(shape) else d for i, d in enumerate(shape)), \
        (channels,)


def _batch_norm_infer(node):
    x, *params = node.inputs
    check_dtype(node, x, HALF_OR_FLOAT, "x")
    names = ("scale", "offset", "mean", "variance")
    # Training with exponential_avg_factor 1 reads no mean and variance: they may be empty.
    checked = 2 if node.attrs["is_training"] and node.attrs["exponential_avg_factor"] == 1 else 4
    for name, t in list(zip(names, params))[checked:]:
        check_dtype(node, t, FLOAT32_ONLY, name)
    shape, vector = _channel_vectors(node, x, list(zip(names, params))[:checked])
    return [(x.dtype, shape)] + [(dt.FLOAT32, vector)] * 4 + [(dt.FLOAT32, ())]


def _reduction(node, x) -> tuple[tuple, list]:
    """(the axes but the channel one, the shape of a channel vector broadcast against x)."""
    axis = _channel_axis(node, x) % x.ndim
    return tuple(i for i in range(x.ndim) if i != axis), [-1 if i == axis else 1
                                                          for i in range(x.ndim)]


@defop("FusedBatchNormV3", inputs=("x", "scale", "offset", "mean", "variance"),
       infer=_batch_norm_infer, dtypes=HALF_OR_FLOAT,
       attrs={**BATCH_NORM_ATTRS, "exponential_avg_factor": Attr("float", 1.0)})
def fused_batch_norm(node, x, scale, offset, mean, variance):
    """y = (x - m) / sqrt(v + epsilon) * scale + offset per channel: m, v the batch's mean
    and (biased) variance when training, else the given mean and variance. Training also
    gives the running mean and (unbiased) variance, mixed into the given ones by
    exponential_avg_factor. reserve_space_1 and 2 hold m and v, as TensorFlow documents
    them (its CPU kernel leaves them uninitialised when not training)."""
    axes, vector = _reduction(node, x)
    xf = x.astype(np.float64)
    factor = node.attrs["exponential_avg_factor"]
    if node.attrs["is_training"]:
        m, v = xf.mean(axes), xf.var(axes)
        n = math.prod(x.shape[i] for i in axes)
        unbiased = v * n / (n - 1) if n > 1 else v
        running = [m, unbiased] if factor == 1 else \
            [(1 - factor) * old + factor * new for old, new in ((mean, m), (variance, unbiased))]
        reserve = [m, v]
    else:
        m, v = mean.astype(np.float64), variance.astype(np.float64)
        running = reserve = [mean, variance]
    y = (xf - m.reshape(vector)) / np.sqrt(v.reshape(vector) + node.attrs["epsilon"]) * \
        scale.reshape(vector) + offset.reshape(vector)
    return (y.astype(x.dtype), *(np.asarray(a, np.float32) for a in running + reserve),
            np.zeros((), np.float32))


def _batch_norm_grad_infer(node):
    dy, x, scale, *reserve = node.inputs
    dtype = same_dtype(node, [dy, x], HALF_OR_FLOAT)
    if not compatible(dy.shape, x.shape):
        raise error(node, f"y_backprop has shape {format_shape(dy.shape)} but x "
                          f"{format_shape(x.shape)}")
    check_dtype(node, reserve[2], FLOAT32_ONLY, "reserve_space_3")
    shape, vector = _channel_vectors(node, x, [("scale", scale), ("reserve_space_1", reserve[0]),
                                               ("reserve_space_2", reserve[1])])
    return [(dtype, merge(dy.shape, shape)), (dt.FLOAT32, vector), (dt.FLOAT32, vector),
            (dt.FLOAT32, (0,)), (dt.FLOAT32, (0,))]


@defop("FusedBatchNormGradV3", inputs=("y_backprop", "x", "scale", "reserve_space_1",
                                       "reserve_space_2", "reserve_space_3"),
       infer=_batch_norm_grad_infer, attrs=BATCH_NORM_ATTRS, dtypes=HALF_OR_FLOAT)
def fused_batch_norm_grad(node, dy, x, scale, mean, variance, _):
    """With xc = x - m, r = 1 / sqrt(v + epsilon), m and v from reserve_space_1 and 2:
    d offset = sum(dy), d scale = sum(dy xc) r, and d x = scale r (dy - mean(dy)
    - xc mean(dy xc) r^2) when training, else scale r dy."""
    axes, vector = _reduction(node, x)
    dyf, xf = dy.astype(np.float64), x.astype(np.float64)
    r = 1 / np.sqrt(variance.astype(np.float64).reshape(vector) + node.attrs["epsilon"])
    xc = xf - mean.reshape(vector)
    if node.attrs["is_training"]:
        dyf_centered = dyf - dyf.mean(axes, keepdims=True)
        dx = scale.reshape(vector) * r * (
            dyf_centered - xc * (dyf * xc).mean(axes, keepdims=True) * r * r)
    else:
        dx = dyf * scale.reshape(vector) * r
    empty = np.zeros(0, np.float32)
    return (dx.astype(x.dtype), ((dyf * xc).sum(axes) * r.reshape(-1)).astype(np.float32),
            dyf.sum(axes).astype(np.float32), empty, empty)


@gradient("FusedBatchNormV3")
def _fused_batch_norm_grad_rule(op, grad_y, *_):
    """FusedBatchNormGradV3 on the batch's statistics (reserve spaces) when training; on
    the given mean and variance, channels-last, when not. None for mean and variance."""
    x, scale, _, mean, variance = op.inputs
    attrs = {k: op.attrs[k] for k in BATCH_NORM_ATTRS}
    if op.attrs["is_training"]:
        dx, dscale, doffset, _, _ = build.op_outputs(
            "FusedBatchNormGradV3", grad_y, x, scale, *op.outputs[3:], **attrs)
        return dx, dscale, doffset, None, None
    data_format = attrs["data_format"]
    rank = len(data_format)
    first = data_format[1] == "C"
    if first:
        to_last = [0, *range(2, rank), 1]
        x, grad_y = build.transpose(x, to_last), build.transpose(grad_y, to_last)
        attrs["data_format"] = "NHWC" if rank == 4 else "NDHWC"
    dx, dscale, doffset, _, _ = build.op_outputs(
        "FusedBatchNormGradV3", grad_y, x, scale, mean, variance, op.output(5), **attrs)
    if first:
        dx = build.transpose(dx, [0, rank - 1, *range(1, rank - 1)])
    return dx, dscale, doffset, None, None


def _batch_norm_grad_graph(grad_y, x, scale, mean, variance, epsilon, data_format, is_training):
    """TensorFlow's _BatchNormGrad in primitive ops: (d x, d scale, d offset) of a batch
    normalization, the batch's statistics recomputed from x when training."""
    x_dtype = x.dtype
    x, grad_y = build.cast(x, dt.FLOAT32), build.cast(grad_y, dt.FLOAT32)
    rank = len(data_format)
    first = data_format[1] == "C"
    axes = [0, *range(2, rank)] if first else list(range(rank - 1))
    if first:
        vector = [1, -1] + [1] * (rank - 2)
        scale, mean, variance = (build.reshape(t, vector) for t in (scale, mean, variance))

    def mean_over(t):
        return build.op("Mean", t, build.int_constant(t, axes), keep_dims=first)

    grad_offset = build.reduce_sum(grad_y, axes)
    if is_training:
        mean_x = mean_over(x)
        var_x = mean_over(build.op("SquaredDifference", x, build.op("StopGradient", mean_x)))
        x_offset = x - mean_x
        eps_var = var_x + epsilon
        grad_x = scale * build.op("Rsqrt", eps_var) * (
            (grad_y - mean_over(grad_y)) -
            build.op("Reciprocal", eps_var) * mean_over(grad_y * x_offset) * x_offset)
        grad_scale = build.op("Rsqrt", eps_var) * build.reduce_sum(grad_y * x_offset, axes,
                                                                   keep_dims=first)
        grad_scale = build.reshape(grad_scale, [-1]) if first else grad_scale
    else:
        var_rsqrt = build.op("Rsqrt", variance + epsilon)
        grad_scale = build.reduce_sum(grad_y * (x - mean) * var_rsqrt, axes)
        grad_x = grad_y * scale * var_rsqrt
    return build.cast(grad_x, x_dtype), grad_scale, grad_offset


@gradient("FusedBatchNormGradV3")
def _fused_batch_norm_grad_grad_rule(op, grad_grad_x, grad_grad_scale, grad_grad_offset, *_):
    """TensorFlow's _FusedBatchNormGradGrad: the gradient of _batch_norm_grad_graph w.r.t.
    y_backprop, x and scale, taken as independent variables (a GradientTape watching them;
    here Identity copies of them), against the incoming gradients."""
    watched = [build.identity(t) for t in op.inputs[:3]]
    outputs = _batch_norm_grad_graph(*watched, op.inputs[3], op.inputs[4],
                                     **{k: op.attrs[k] for k in BATCH_NORM_ATTRS})
    grads = gradients(op.graph, list(outputs), watched,
                      grad_ys=[grad_grad_x, grad_grad_scale, grad_grad_offset])
    return (*grads, None, None, None)


# -- local response normalization ---------------------------------------------------------------

LRN_ATTRS = {"depth_radius": Attr("int", 5), "bias": Attr("float", 1.0),
             "alpha": Attr("float", 1.0), "beta": Attr("float", 0.5)}


def _depth_window_sum(a, radius: int) -> np.ndarray:
    """sum(a[..., d - radius : d + radius + 1]) for every depth d."""
    padded = np.pad(a, [(0, 0)] * (a.ndim - 1) + [(radius, radius)])
    return sliding_window_view(padded, 2 * radius + 1, axis=-1).sum(-1)


def _lrn_norm(node, x) -> np.ndarray:
    """bias + alpha * the sum of x^2 over the depth window."""
    return node.attrs["bias"] + node.attrs["alpha"] * _depth_window_sum(
        np.square(x.astype(np.float64)), node.attrs["depth_radius"])


def _lrn_infer(node):
    dtype = same_dtype(node, node.inputs, HALF_OR_FLOAT)
    shape = (None,) * 4
    for name, t in zip(node.opdef.inputs, node.inputs):
        check_rank(node, t, 4, what=name)
        if not compatible(shape, t.shape):
            raise error(node, f"{name} has shape {format_shape(t.shape)}, expected "
                              f"{format_shape(shape)}")
        shape = merge(shape, t.shape)
    return [(dtype, shape)]


@defop("LRN", inputs=("input",), infer=_lrn_infer, attrs=LRN_ATTRS, dtypes=HALF_OR_FLOAT)
def lrn(node, x):
    """x / (bias + alpha sum(x^2 over depth d - r .. d + r))^beta."""
    return (x * _lrn_norm(node, x) ** -node.attrs["beta"]).astype(x.dtype)


@defop("LRNGrad", inputs=("input_grads", "input_image", "output_image"), infer=_lrn_infer,
       attrs=LRN_ATTRS, dtypes=HALF_OR_FLOAT)
def lrn_grad(node, g, x, y):
    """With N the norm: dx = g N^-beta - 2 alpha beta x sum(g y / N over the depth window)."""
    norm = _lrn_norm(node, x)
    a = node.attrs
    cross = _depth_window_sum(g * y.astype(np.float64) / norm, a["depth_radius"])
    return (g * norm ** -a["beta"] - 2 * a["alpha"] * a["beta"] * x * cross).astype(x.dtype)


@gradient("LRN")
def _lrn_grad_rule(op, grad):
    return build.op("LRNGrad", grad, op.inputs[0], op.output(0), **op.attrs)


# LRNGrad has no gradient rule, as in TensorFlow.


# -- space and depth ------------------------------------------------------------------------------

SPACE_DEPTH_ATTRS = {"block_size": Attr("int"), "data_format": Attr("string", "NHWC")}


def _space_depth_shape(node, shape):
    """The output shape (channels-last) of SpaceToDepth or DepthToSpace of `shape`."""
    block = node.attrs["block_size"]
    if block < 2:
        raise error(node, f"block_size must be at least 2, got {block}")
    b, h, w, c = shape or (None,) * 4
    if node.op == "SpaceToDepth":
        if any(d is not None and d % block for d in (h, w)):
            raise error(node, f"height and width {h}, {w} must be multiples of block_size {block}")
        return (b, *(None if d is None else d // block for d in (h, w)),
                None if c is None else c * block * block)
    if c is not None and c % (block * block):
        raise error(node, f"depth {c} must be a multiple of block_size^2 = {block * block}")
    return (b, *(None if d is None else d * block for d in (h, w)),
            None if c is None else c // (block * block))


def _space_depth_infer(node):
    x = node.inputs[0]
    _, first = _layout(node)
    check_rank(node, x, 4)
    return [(x.dtype, _from_last(_space_depth_shape(node, _to_last(x.shape, first)), first))]


@defop("SpaceToDepth", inputs=("input",), infer=_space_depth_infer, attrs=SPACE_DEPTH_ATTRS)
def space_to_depth(node, x):
    """Each block_size x block_size block of pixels becomes one pixel of their channels,
    in (block row, block column, channel) order."""
    _, first = _layout(node)
    x = _to_last(x, first)
    b, h, w, c = _space_depth_shape(node, x.shape)
    block = node.attrs["block_size"]
    y = x.reshape(b, h, block, w, block, -1).transpose(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
    return _from_last(y, first)


@defop("DepthToSpace", inputs=("input",), infer=_space_depth_infer, attrs=SPACE_DEPTH_ATTRS)
def depth_to_space(node, x):
    """The inverse of SpaceToDepth."""
    _, first = _layout(node)
    x = _to_last(x, first)
    b, h, w, c = _space_depth_shape(node, x.shape)
    block = node.attrs["block_size"]
    y = x.reshape(b, h // block, w // block, block, block, c).transpose(0, 1, 3, 2, 4, 5)
    return _from_last(y.reshape(b, h, w, c), first)


@gradient("SpaceToDepth", "DepthToSpace")
def _space_depth_grad_rule(op, grad):
    """A permutation of elements: its gradient is the inverse permutation."""
    inverse = "DepthToSpace" if op.op == "SpaceToDepth" else "SpaceToDepth"
    return build.op(inverse, grad, **op.attrs)
