"""The array and slicing ops beyond the table's checks: fully dynamic graphs (every input
of unknown shape, the integer ones fed), shape inference against TensorFlow's, and
GraphErrors naming the node for invalid inputs."""

import pytest

import core
from tests.core.cases.array import CASES, i32, r
from tests.core.opcheck import (SHAPE_MODES, Case, check_gradients,
                                 check_invalid_inputs_name_the_node,
                                 check_run_time_error_names_the_node,
                                 check_shapes_as_tensorflow, check_unknown_ranks,
                                 check_values_with_unknown_ranks)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_unknown_ranks(case):
    if case.attrs.get("batch_dims", 0) < 0:  # as TensorFlow, needs the rank of indices
        check_values_with_unknown_ranks(case)
        with pytest.raises(core.GraphError, match="batch_dims < 0"):
            check_gradients(case, unknown_ranks=True)
    else:
        check_unknown_ranks(case)


@SHAPE_MODES
@pytest.mark.parametrize("case", CASES, ids=str)
def test_shapes_as_tensorflow_infers_them(case, mode):
    """Ours are as specific as TensorFlow's, or more (batch dimensions of a gather)."""
    check_shapes_as_tensorflow(case, *mode)


INVALID = [
    Case("Transpose", [r(2, 3), i32([0, 0])], id="not_a_permutation"),
    Case("ExpandDims", [r(2, 3), i32(3)], id="dim"),
    Case("Squeeze", [r(2, 3)], attrs={"squeeze_dims": [0]}, id="not_one"),
    Case("ConcatV2", [r(2, 3), r(3, 3), i32(1)], id="other_dim"),
    Case("ConcatV2", [r(2, 3), i32(0)], id="one_value"),
    Case("Pack", [r(2, 3), r(3, 2)], id="shapes"),
    Case("Unpack", [r(2, 3)], attrs={"num": 3}, id="num"),
    Case("Split", [i32(1), r(2, 5)], attrs={"num_split": 2}, id="uneven"),
    Case("SplitV", [r(5, 2), i32([2, 2]), i32(0)], attrs={"num_split": 2}, id="sum"),
    Case("Slice", [r(4, 5), i32([3, 0]), i32([2, -1])], id="past_end"),
    Case("StridedSlice", [r(3, 4), i32([0]), i32([1]), i32([0])], id="zero_stride"),
    Case("StridedSlice", [r(3, 4), i32([5]), i32([6]), i32([1])], attrs={"shrink_axis_mask": 1},
         id="shrink_out_of_bounds"),
    Case("StridedSlice", [r(3), i32([0, 0]), i32([1, 1]), i32([1, 1])], id="too_many_indices"),
    Case("StridedSlice", [r(3, 4), i32([0, 0]), i32([1, 1]), i32([1, 1])],
         attrs={"ellipsis_mask": 3}, id="two_ellipses"),
    Case("Tile", [r(2, 3), i32([2])], id="multiples"),
    Case("Pad", [r(2, 3), i32([[1, 0]])], id="paddings"),
    Case("MirrorPad", [r(2, 3), i32([[2, 0], [0, 0]])], attrs={"mode": "REFLECT"}, id="too_wide"),
    Case("ReverseV2", [r(2, 3), i32([1, -1])], id="repeated_axis"),
    Case("GatherV2", [r(2, 3), i32([0]), i32(2)], id="axis"),
    Case("GatherV2", [r(2, 3), i32([[0]]), i32(0)], attrs={"batch_dims": 1}, id="batch_dims"),
    Case("UnsortedSegmentSum", [r(4, 2), i32([0, 1]), i32(2)], id="ids_shape"),
]


@pytest.mark.parametrize("case", INVALID, ids=str)
def test_invalid_inputs_name_the_node(case):
    check_invalid_inputs_name_the_node(case)


@pytest.mark.parametrize("case", [
    Case("GatherV2", [r(3, 2), i32([0, 3]), i32(0)], id="index_out_of_range"),
    Case("UnsortedSegmentSum", [r(2, 2), i32([0, 2]), i32(2)], id="id_out_of_range"),
    Case("Transpose", [r(2, 3), i32([1, 1])], id="not_a_permutation"),
], ids=str)
def test_invalid_values_at_run_time_name_the_node(case):
    """Index values known only at run time are checked by the kernels."""
    check_run_time_error_names_the_node(case)
