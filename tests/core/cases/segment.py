import numpy as np

from tests.core.opcheck import Case, i32, i64

rng = np.random.default_rng(13)


def r(*shape):
    return rng.uniform(-2.0, 2.0, shape)


def with_zeros(x, *positions):
    x = x.copy()
    for p in positions:
        x[p] = 0.0
    return x


CASES = [
    Case("SegmentSum", [r(5, 2), i32([0, 0, 1, 3, 3])]),  # segment 2 empty
    Case("SegmentSum", [r(4), i64([0, 1, 1, 2])], id="vector_int64"),
    Case("SegmentSum", [r(3, 2, 2), i32([1, 1, 1])], id="first_empty"),
    Case("SegmentMean", [r(5, 3), i32([0, 0, 0, 2, 2])]),
    Case("SegmentMean", [r(3, 2, 2), i64([0, 1, 1])], id="3d"),
    Case("SegmentMean", [i32([-3, 0, 4, 5, 7]), i32([0, 0, 1, 1, 3])], id="int_truncates"),
    Case("SegmentMax", [r(6, 2), i32([0, 0, 1, 1, 1, 3])]),
    Case("SegmentMax", [r(4), i64([0, 0, 0, 0])], id="one_segment"),
    Case("SegmentMin", [r(6, 2), i32([0, 1, 1, 3, 3, 3])]),
    Case("SegmentMin", [r(3, 2, 2), i32([0, 0, 1])], id="3d"),
    Case("UnsortedSegmentSum", [r(4, 3), i32([2, -1, 2, 0]), i32(3)], id="negative_id"),
    Case("UnsortedSegmentSum", [r(6).astype(np.float32), i64([1, 0, 1, 1, 0, -1]), i32(2)],
         id="float32"),
    Case("UnsortedSegmentMax", [r(5, 2), i32([0, 1, -1, 1, 0]), i32(2)]),
    Case("UnsortedSegmentMax", [r(2, 3, 2), i64([[0, 1, 1], [2, -1, 0]]), i64(3)], id="2d_ids"),
    # Empty segments hold the lowest float64: values only (a loss over them overflows).
    Case("UnsortedSegmentMax", [r(3), i32([0, 0, 3]), i32(5)], id="empty", grad=False),
    Case("UnsortedSegmentMin", [r(5, 2), i32([1, 1, 0, -1, 0]), i32(2)]),
    Case("UnsortedSegmentMin", [r(3, 2, 2), i32([[0, 1], [1, 1], [0, 0]]), i32(2)], id="2d_ids"),
    Case("UnsortedSegmentMin", [i32([5, -2, 7]), i32([0, 0, 2]), i32(3)], id="int_empty"),
    Case("UnsortedSegmentProd", [r(5, 2), i32([0, 2, -1, 2, 0]), i32(4)]),
    # At a zero TensorFlow's second derivative is NaN (from y / x; test_edge_semantics),
    # and 0 throughout a segment with two zeros.
    Case("UnsortedSegmentProd", [with_zeros(r(6), 1), i32([0, 0, 0, 1, 1, 1]), i32(2)],
         id="one_zero", second_order=False),
    Case("UnsortedSegmentProd", [with_zeros(r(2, 4), (0, 1), (0, 3)), i32([0, 1]), i32(2)],
         id="two_zeros", second_order=False),
]
