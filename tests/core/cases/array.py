import numpy as np

from tests.core.opcheck import Case, i32, i64

rng = np.random.default_rng(11)


def r(*shape):
    return rng.uniform(-2.0, 2.0, shape)


def strided(x, begin, end, strides, id, **masks):
    return Case("StridedSlice", [x, i32(begin), i32(end), i32(strides)], attrs=masks, id=id)


CASES = [
    Case("Transpose", [r(2, 3, 4), i32([2, 0, 1])]),
    Case("Transpose", [r(2, 3), i64([1, 0])], id="int64_perm"),
    Case("InvertPermutation", [i32([2, 0, 3, 1])]),
    Case("InvertPermutation", [i64([0, 1])], id="int64"),
    Case("ExpandDims", [r(2, 3), i32(1)]),
    Case("ExpandDims", [r(2, 3), i64(-1)], id="negative"),
    Case("ExpandDims", [r(3), i32([0])], id="vector_dim"),
    Case("Squeeze", [r(1, 3, 1)]),
    Case("Squeeze", [r(1, 3, 1)], attrs={"squeeze_dims": [-1]}, id="negative"),
    Case("Squeeze", [r(2, 1, 1, 3)], attrs={"squeeze_dims": [1, 2]}, id="two"),
    Case("ConcatV2", [r(2, 3), r(2, 1), i32(1)]),
    Case("ConcatV2", [r(2, 3), r(1, 3), r(3, 3), i32(-2)], id="three_negative"),
    # TensorFlow's own gradient fails on an int64 axis (FloorMod of int64 by an int32 rank).
    Case("ConcatV2", [r(2, 3), r(2, 3), i64(1)], id="int64_axis", tf=False),
    Case("ConcatV2", [r(2, 2, 2), r(2, 2, 1), i32(-1)], id="last"),
    Case("Concat", [i32(0), r(1, 3), r(2, 3)]),
    Case("ConcatOffset", [i32(1), i32([2, 3, 4]), i32([2, 5, 4]), i32([2, 1, 4])]),
    Case("Pack", [r(2, 3), r(2, 3), r(2, 3)]),
    Case("Pack", [r(2, 3), r(2, 3)], attrs={"axis": -1}, id="last"),
    Case("Pack", [r(3)], attrs={"axis": 1}, id="one"),
    Case("Unpack", [r(3, 2)], attrs={"num": 3}),
    Case("Unpack", [r(2, 3, 2)], attrs={"num": 2, "axis": -1}, id="last"),
    Case("Split", [i32(1), r(2, 6)], attrs={"num_split": 3}),
    Case("Split", [i32(-1), r(2, 4)], attrs={"num_split": 1}, id="one"),
    Case("SplitV", [r(5, 2), i32([2, -1, 1]), i32(0)], attrs={"num_split": 3}),
    Case("SplitV", [r(2, 5), i64([3, 0, 2]), i32(-1)], attrs={"num_split": 3}, id="empty"),
    Case("Slice", [r(4, 5), i32([1, 2]), i32([2, -1])]),
    Case("Slice", [r(3, 4, 2), i64([0, 1, 1]), i64([3, 2, 1])], id="int64"),
    strided(r(5, 6), [1, 0], [4, 6], [1, 2], "basic"),
    strided(r(5, 6), [-1, -2], [-5, 0], [-1, -2], "negative"),
    strided(r(5, 6), [-10, 9], [10, -9], [2, -3], "clamped"),
    strided(r(5, 6), [3, 1], [0, 4], [1, 1], "empty"),
    strided(r(5, 6), [2, 5], [0, 1], [1, -1], "masks", begin_mask=1, end_mask=2),
    strided(r(2, 3, 4), [0, 1], [0, 3], [1, 1], "ellipsis", ellipsis_mask=1),
    strided(r(3, 4), [0, 0, 1], [0, 0, 3], [1, 1, 1], "new_axis",
            new_axis_mask=1, begin_mask=2, end_mask=2),
    strided(r(3, 4), [-1, 0], [0, 4], [1, 1], "shrink", shrink_axis_mask=1),
    strided(r(3, 4), [1, 2], [2, 3], [1, 1], "scalar", shrink_axis_mask=3),
    strided(r(2, 3, 4, 5), [1, 0, 0, 0], [2, 0, 0, 0], [1, 1, 1, -2], "all_masks",
            shrink_axis_mask=1, ellipsis_mask=2, new_axis_mask=4, begin_mask=8, end_mask=8),
    strided(r(2, 3, 4), [0, 0, 2], [0, 0, 0], [1, 1, -1], "new_axis_after_ellipsis",
            ellipsis_mask=1, new_axis_mask=2),
    Case("StridedSlice", [r(4, 3), i64([1]), i64([4]), i64([2])], id="int64"),
    Case("StridedSliceGrad", [i32([5, 6]), i32([1, 0]), i32([4, 6]), i32([1, 2]), r(3, 3)]),
    Case("StridedSliceGrad", [i32([2, 3, 4, 5]), i32([1, 0, 0, 0]), i32([2, 0, 0, 0]),
                              i32([1, 1, 1, -2]), r(3, 4, 1, 3)], id="all_masks",
         attrs={"shrink_axis_mask": 1, "ellipsis_mask": 2, "new_axis_mask": 4,
                "begin_mask": 8, "end_mask": 8}),
    Case("Tile", [r(2, 3), i32([2, 1])]),
    Case("Tile", [r(2, 1, 3), i64([1, 3, 2])], id="three"),
    Case("Tile", [r(2, 3), i32([0, 2])], id="zero"),
    Case("Pad", [r(2, 3), i32([[1, 0], [2, 1]])]),
    Case("PadV2", [r(2, 3), i64([[0, 2], [1, 1]]), np.array(0.5)], wrt=(0,)),
    Case("MirrorPad", [r(3, 4), i32([[1, 2], [2, 3]])], attrs={"mode": "REFLECT"}),
    Case("MirrorPad", [r(3, 4), i32([[3, 0], [1, 4]])], attrs={"mode": "SYMMETRIC"},
         id="symmetric"),
    Case("MirrorPadGrad", [r(6, 9), i32([[1, 2], [2, 3]])], attrs={"mode": "REFLECT"}),
    Case("MirrorPadGrad", [r(6, 9), i32([[3, 0], [1, 4]])], attrs={"mode": "SYMMETRIC"},
         id="symmetric"),
    Case("ReverseV2", [r(2, 3, 4), i32([0, -1])]),
    Case("ReverseV2", [r(3), i64([])], id="none"),
    Case("GatherV2", [r(5, 3), i32([4, 0, 2, 0]), i32(0)]),
    Case("GatherV2", [r(5, 3), i64([[4, 0], [2, 4]]), i64(0)], id="matrix_indices"),
    Case("GatherV2", [r(2, 5, 3), i32([[1, 4], [0, 0]]), i32(1)], id="axis1"),
    Case("GatherV2", [r(3, 4), i32([3, 1, 3]), i32(-1)], id="last_axis"),
    Case("GatherV2", [r(2, 4, 3), i32([[0, 3], [1, 1]]), i32(1)], attrs={"batch_dims": 1},
         id="batch"),
    Case("GatherV2", [r(2, 3, 4, 2), i32([[0, 3, 3], [1, 0, 2]]), i32(2)],
         attrs={"batch_dims": -1}, id="batch_axis2"),
    Case("GatherV2", [r(2, 3, 4), i32([[[1], [0], [3]], [[2], [2], [0]]]), i32(2)],
         attrs={"batch_dims": 2}, id="two_batch_dims"),
    Case("Gather", [r(4, 2), i32([[3, 0], [1, 3]])]),
    Case("UnsortedSegmentSum", [r(5, 2), i32([0, 2, -1, 2, 0]), i32(4)]),
    Case("UnsortedSegmentSum", [r(2, 3, 2), i64([[0, 1, 1], [2, -1, 0]]), i64(3)], id="2d_ids"),
]
