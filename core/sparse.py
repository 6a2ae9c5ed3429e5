"""TensorFlow's IndexedSlices: a gradient that touches only some rows of a tensor.

`dense[indices[i], ...] += values[i, ...]`, with `values` of shape [N, d1, ...],
`indices` of shape [N] and `dense_shape` = [D0, d1, ...]. GatherV2 along axis 0 yields
its gradient in this form; contributions are aggregated by concatenation, and the
dense tensor is materialised once, by one UnsortedSegmentSum, where a dense one is
needed."""

from dataclasses import dataclass

from core import build
from core.graph import Tensor
from core.shapes import Shape


@dataclass(frozen=True)
class IndexedSlices:
    values: Tensor
    indices: Tensor
    dense_shape: Tensor

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def shape(self) -> Shape:
        """The static shape of the dense tensor this stands for."""
        value = self.dense_shape.const_value
        if value is not None:
            return tuple(int(d) for d in value)
        tail = None if self.values.shape is None else self.values.shape[1:]
        return None if tail is None else (None,) + tail


def to_dense(slices: IndexedSlices) -> Tensor:
    """The dense tensor: the values summed into their rows (UnsortedSegmentSum)."""
    rows = slices.dense_shape.const_value
    num_rows = (build.int_constant(slices.values, int(rows[0])) if rows is not None else
                build.strided_slice(slices.dense_shape, [0], [1], shrink_axis_mask=1))
    return build.op("UnsortedSegmentSum", slices.values, slices.indices, num_rows)


def concat(parts: list[IndexedSlices]) -> IndexedSlices:
    """The sum of several IndexedSlices of one dense shape: their rows side by side."""
    values = build.concat([p.values for p in parts], 0)
    indices = build.concat([build.cast(p.indices, parts[0].indices.dtype) for p in parts], 0)
    return IndexedSlices(values, indices, parts[0].dense_shape)


def densify(grad):
    """`grad` as a dense Tensor (None stays None)."""
    return to_dense(grad) if isinstance(grad, IndexedSlices) else grad
