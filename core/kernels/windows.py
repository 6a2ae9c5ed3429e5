"""col2im: a convolution's window columns added back at the input positions they were read
from (the input's gradient), on volumes (batch, depth, height, width, channels), 2-D
convolutions passing depth 1. NumPy does it one strided slice per window offset, nine
passes over the input for a 3x3 filter; this reads the columns once, in order, and writes
the input's gradient itself (contiguous), the padding never materialised."""

import numba

from core.kernels import aot


@numba.njit(cache=True)
def _add_windows(columns, dx, strides, dilations, pads):
    """dx[b, o * strides + k * dilations - pads, c] += columns[b, o, k, c], o and k over the
    three spatial axes, where that position is inside dx (the rest fell on padding):
    columns is (batch, *out, *ksize, channels), dx (batch, *spatial, channels), both
    contiguous. Adds in place; returns dx."""
    batch, out_d, out_h, out_w, k_d, k_h, k_w, channels = columns.shape
    depth, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    for b in range(batch):
        for od in range(out_d):
            for oh in range(out_h):
                for ow in range(out_w):
                    for kd in range(k_d):
                        d = od * strides[0] + kd * dilations[0] - pads[0]
                        if d < 0 or d >= depth:
                            continue
                        for kh in range(k_h):
                            h = oh * strides[1] + kh * dilations[1] - pads[1]
                            if h < 0 or h >= height:
                                continue
                            for kw in range(k_w):
                                w = ow * strides[2] + kw * dilations[2] - pads[2]
                                if w < 0 or w >= width:
                                    continue
                                target = dx[b, d, h, w]
                                source = columns[b, od, oh, ow, kd, kh, kw]
                                for c in range(channels):
                                    target[c] += source[c]
    return dx


add_windows = aot.entry(
    _add_windows,
    "{t}[:, :, :, :, ::1]({t}[:, :, :, :, :, :, :, ::1], {t}[:, :, :, :, ::1], i8[::1], i8[::1], i8[::1])")
