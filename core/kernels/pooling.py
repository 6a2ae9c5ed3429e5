"""Max pooling's gradients, on (batch, depth, height, width, channels) arrays: 2-D pooling
passes depth 1. A window starts at `o * stride - pad` and holds only the positions inside
the input, as in TensorFlow's CPU kernels; windows are scanned in row-major order."""

import numba
import numpy as np


@numba.njit(cache=True)
def _span(o, stride, pad, k, size):
    start = o * stride - pad
    return max(start, 0), min(start + k, size)


@numba.njit(cache=True)
def max_pool_grad(x, y, dy, ksize, strides, pads, every_tie):
    """dx: each window's dy goes to the first position where x equals the window's y
    (TensorFlow's MaxPoolGrad, y the maximum), or with `every_tie` to every such position
    (TensorFlow's MaxPool3DGrad). Overlapping windows add up."""
    batch, depth, height, width, channels = x.shape
    dx = np.zeros(x.shape, dy.dtype)
    first = np.empty(channels, np.int64)
    for b in range(batch):
        flat = dx[b].reshape(-1)
        for od in range(y.shape[1]):
            d0, d1 = _span(od, strides[0], pads[0], ksize[0], depth)
            for oh in range(y.shape[2]):
                h0, h1 = _span(oh, strides[1], pads[1], ksize[1], height)
                for ow in range(y.shape[3]):
                    w0, w1 = _span(ow, strides[2], pads[2], ksize[2], width)
                    first[:] = -1
                    for d in range(d0, d1):
                        for h in range(h0, h1):
                            for w in range(w0, w1):
                                base = ((d * height + h) * width + w) * channels
                                for c in range(channels):
                                    if x[b, d, h, w, c] == y[b, od, oh, ow, c]:
                                        if every_tie:
                                            flat[base + c] += dy[b, od, oh, ow, c]
                                        elif first[c] < 0:
                                            first[c] = base + c
                    if not every_tie:
                        for c in range(channels):
                            if first[c] >= 0:
                                flat[first[c]] += dy[b, od, oh, ow, c]
    return dx


@numba.njit(cache=True)
def max_pool_grad_disjoint(x, y, dy, ksize, strides, pads):
    """max_pool_grad for windows that do not overlap (strides >= ksize on every axis): each
    position then belongs to one window at most, and is written once, branch-free (a
    select per channel), which measured 2.6x faster on cnn's first pooling."""
    batch, depth, height, width, channels = x.shape
    dx = np.zeros(x.shape, dy.dtype)
    taken = np.empty(channels, np.bool_)
    for b in range(batch):
        for od in range(y.shape[1]):
            d0, d1 = _span(od, strides[0], pads[0], ksize[0], depth)
            for oh in range(y.shape[2]):
                h0, h1 = _span(oh, strides[1], pads[1], ksize[1], height)
                for ow in range(y.shape[3]):
                    w0, w1 = _span(ow, strides[2], pads[2], ksize[2], width)
                    top = y[b, od, oh, ow]
                    grad = dy[b, od, oh, ow]
                    taken[:] = False
                    for d in range(d0, d1):
                        for h in range(h0, h1):
                            for w in range(w0, w1):
                                source = x[b, d, h, w]
                                target = dx[b, d, h, w]
                                for c in range(channels):
                                    first = (source[c] == top[c]) & ~taken[c]
                                    target[c] = grad[c] if first else 0
                                    taken[c] |= first
    return dx


@numba.njit(cache=True)
def max_pool_grad_grad(x, y, g, ksize, strides, pads):
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
