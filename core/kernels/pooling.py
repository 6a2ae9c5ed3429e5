"""Max pooling's gradients, on (batch, depth, height, width, channels) arrays: 2-D pooling
passes depth 1. A window starts at `o * stride - pad` and holds only the positions inside
the input, as in TensorFlow's CPU kernels; windows are scanned in row-major order."""

import numba
import numpy as np

from core.kernels import aot


@numba.njit(cache=True)
def _span(o, stride, pad, k, size):
    start = o * stride - pad
    return max(start, 0), min(start + k, size)


@numba.njit(cache=True)
def _max_pool_grad_argmax(x, dy, ksize, strides, pads):
    """dx: each window's dy added at its argmax in x, found as TensorFlow's MaxPoolGrad
    finds it: the window's first position, then each later position strictly greater
    (branch-free, a select per channel). Overlapping windows add up."""
    batch, depth, height, width, channels = x.shape
    dx = np.zeros(x.shape, dy.dtype)
    best = np.empty(channels, x.dtype)
    where = np.empty(channels, np.int64)
    for b in range(batch):
        flat = dx[b].reshape(-1)
        for od in range(dy.shape[1]):
            d0, d1 = _span(od, strides[0], pads[0], ksize[0], depth)
            for oh in range(dy.shape[2]):
                h0, h1 = _span(oh, strides[1], pads[1], ksize[1], height)
                for ow in range(dy.shape[3]):
                    w0, w1 = _span(ow, strides[2], pads[2], ksize[2], width)
                    start = x[b, d0, h0, w0]
                    base = ((d0 * height + h0) * width + w0) * channels
                    for c in range(channels):
                        best[c] = start[c]
                        where[c] = base + c
                    for d in range(d0, d1):
                        for h in range(h0, h1):
                            for w in range(w0, w1):
                                source = x[b, d, h, w]
                                base = ((d * height + h) * width + w) * channels
                                for c in range(channels):
                                    greater = source[c] > best[c]
                                    best[c] = source[c] if greater else best[c]
                                    where[c] = base + c if greater else where[c]
                    grad = dy[b, od, oh, ow]
                    for c in range(channels):
                        flat[where[c]] += grad[c]
    return dx


@numba.njit(cache=True)
def _max_pool_grad_every_tie(x, y, dy, ksize, strides, pads):
    """dx: each window's dy added at every position where x equals the window's y
    (TensorFlow's MaxPool3DGrad, y its orig_output). Overlapping windows add up."""
    batch, depth, height, width, channels = x.shape
    dx = np.zeros(x.shape, dy.dtype)
    for b in range(batch):
        for od in range(y.shape[1]):
            d0, d1 = _span(od, strides[0], pads[0], ksize[0], depth)
            for oh in range(y.shape[2]):
                h0, h1 = _span(oh, strides[1], pads[1], ksize[1], height)
                for ow in range(y.shape[3]):
                    w0, w1 = _span(ow, strides[2], pads[2], ksize[2], width)
                    top = y[b, od, oh, ow]
                    grad = dy[b, od, oh, ow]
                    for d in range(d0, d1):
                        for h in range(h0, h1):
                            for w in range(w0, w1):
                                source = x[b, d, h, w]
                                target = dx[b, d, h, w]
                                for c in range(channels):
                                    if source[c] == top[c]:
                                        target[c] += grad[c]
    return dx


@numba.njit(cache=True)
def _max_pool_grad_grad(x, y, g, ksize, strides, pads):
    """Shaped like y: g at the first position of each window where x equals y, 0 where
    none does (TensorFlow's MaxPoolGradGrad and MaxPool3DGradGrad)."""
    batch, depth, height, width, channels = x.shape
    out = np.zeros(y.shape, g.dtype)
    found = np.empty(channels, np.bool_)
    for b in range(batch):
        for od in range(y.shape[1]):
            d0, d1 = _span(od, strides[0], pads[0], ksize[0], depth)
            for oh in range(y.shape[2]):
                h0, h1 = _span(oh, strides[1], pads[1], ksize[1], height)
                for ow in range(y.shape[3]):
                    w0, w1 = _span(ow, strides[2], pads[2], ksize[2], width)
                    found[:] = False
                    for d in range(d0, d1):
                        for h in range(h0, h1):
                            for w in range(w0, w1):
                                for c in range(channels):
                                    if not found[c] and x[b, d, h, w, c] == y[b, od, oh, ow, c]:
                                        out[b, od, oh, ow, c] = g[b, d, h, w, c]
                                        found[c] = True
    return out


_VOLUME = "{t}[:, :, :, :, ::1]"
_WINDOW = "i8[::1], i8[::1], i8[::1]"
max_pool_grad_argmax = aot.entry(_max_pool_grad_argmax,
                                 f"{_VOLUME}({_VOLUME}, {_VOLUME}, {_WINDOW})")
max_pool_grad_every_tie = aot.entry(_max_pool_grad_every_tie,
                                    f"{_VOLUME}({_VOLUME}, {_VOLUME}, {_VOLUME}, {_WINDOW})")
max_pool_grad_grad = aot.entry(_max_pool_grad_grad,
                               f"{_VOLUME}({_VOLUME}, {_VOLUME}, {_VOLUME}, {_WINDOW})")
