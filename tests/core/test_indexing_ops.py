"""The segment, indexing, Einsum and diagonal ops beyond the table's checks: fully dynamic
graphs (every input of unknown shape, the integer ones fed), shape inference against
TensorFlow's, and GraphErrors naming the node for invalid inputs."""

import numpy as np
import pytest

from tests.core.cases import indexing, segment
from tests.core.cases.indexing import f64, i32, i64, r
from tests.core.opcheck import (SHAPE_MODES, Case, check_invalid_inputs_name_the_node,
                                 check_run_time_error_names_the_node,
                                 check_shapes_as_tensorflow, check_unknown_ranks)

CASES = segment.CASES + indexing.CASES


@pytest.mark.parametrize("case", CASES, ids=str)
def test_unknown_ranks(case):
    check_unknown_ranks(case)


@SHAPE_MODES
@pytest.mark.parametrize("case", [c for c in CASES if c.tf], ids=str)
def test_shapes_as_tensorflow_infers_them(case, mode):
    """Ours are as specific as TensorFlow's, or more."""
    if mode == (True, False) and case.op in ("MatrixDiagV3", "MatrixSetDiagV3"):
        pytest.skip("TensorFlow's shape function reads unknown dimensions as -1 and rejects "
                    "the graph")
    check_shapes_as_tensorflow(case, *mode)


def diag(op, x, k, *rest, **attrs):
    return Case(op, [x, i32(k), *rest], attrs=attrs, id=f"k={k}")


INVALID = [
    Case("SegmentSum", [r(3, 2), i32([0, 2, 1])], id="unsorted_ids"),
    Case("SegmentMax", [r(3, 2), i32([-1, 0, 0])], id="negative_id"),
    Case("SegmentMean", [r(3, 2), i32([0, 0])], id="ids_shape"),
    Case("SegmentMin", [f64(1.0), i32([0])], id="scalar_data"),
    Case("UnsortedSegmentMax", [r(4, 2), i32([0, 1]), i32(2)], id="ids_shape"),
    Case("UnsortedSegmentProd", [r(2), i32([0, 1]), i32(-1)], id="num_segments"),
    Case("GatherNd", [r(3, 4), i32([[0, 1, 2]])], id="index_too_long"),
    Case("GatherNd", [f64(1.0), i32([[0]])], id="scalar_params"),
    Case("GatherNd", [r(3), i32([[0]])], attrs={"bad_indices_policy": "SKIP"}, id="policy"),
    Case("ScatterNd", [i32([[0]]), r(2, 2), i32([3, 3])], id="updates_shape"),
    Case("TensorScatterAdd", [r(3), i32([[0]]), np.ones(1, np.float32)], id="dtypes"),
    Case("OneHot", [i32([0, 1]), i32(3), f64(1.0), f64(0.0)], attrs={"axis": 2}, id="axis"),
    Case("OneHot", [i32([0, 1]), i32(-1), f64(1.0), f64(0.0)], id="depth"),
    Case("BroadcastArgs", [i32([2, 3]), i32([4])], id="incompatible"),
    Case("TopKV2", [r(2, 3), i32(4)], id="k_too_large"),
    Case("TopKV2", [f64(1.0), i32(1)], id="scalar"),
    Case("Einsum", [r(2, 3), r(3, 4)], attrs={"equation": "ij,jk"}, id="no_arrow"),
    Case("Einsum", [r(2, 3), r(2, 3)], attrs={"equation": "ij,jk->ik"}, id="dims"),
    Case("Einsum", [r(1, 3), r(2, 3)], attrs={"equation": "ij,ij->ij"}, id="label_broadcast"),
    Case("Einsum", [r(5, 2, 3)], attrs={"equation": "...ij->ij"}, id="lost_batch"),
    Case("Einsum", [r(2)], attrs={"equation": "i->ij"}, id="new_label"),
    Case("Einsum", [r(2, 3), r(3), r(3)], attrs={"equation": "ij,j,j->i"}, id="three_inputs"),
    Case("Diag", [f64(1.0)], id="scalar"),
    Case("DiagPart", [r(2, 3)], id="not_square"),
    diag("MatrixDiagV3", r(2), 0, i32(5), i32(5), f64(0.0)),
    diag("MatrixDiagV3", r(3, 3), [0, 1], i32(-1), i32(-1), f64(0.0)),
    diag("MatrixDiagV3", r(3), [1, -1], i32(-1), i32(-1), f64(0.0)),
    diag("MatrixDiagPartV3", r(3, 4), 4, f64(0.0)),
    diag("MatrixDiagPartV3", r(3, 4), 0, f64(0.0), align="CENTER"),
    diag("MatrixSetDiagV3", r(3, 4), [-1, 1], r(3, 4)),
    Case("MatrixBandPart", [r(3, 4), i64(4), i64(0)], id="num_lower"),
    Case("MatrixBandPart", [r(3), i64(0), i64(0)], id="vector"),
]


@pytest.mark.parametrize("case", INVALID, ids=str)
def test_invalid_inputs_name_the_node(case):
    check_invalid_inputs_name_the_node(case)


@pytest.mark.parametrize("case", [c for c in INVALID if c.id not in (
    "policy", "dtypes", "axis", "scalar_params", "scalar")], ids=str)
def test_invalid_values_at_run_time_name_the_node(case):
    """Inputs known only at run time are checked by the kernels."""
    check_run_time_error_names_the_node(case)


@pytest.mark.parametrize("case", [
    Case("GatherNd", [r(3, 4), i32([[0, 4]])], id="index"),
    Case("ScatterNd", [i32([[-1]]), r(1), i32([3])], id="negative_index"),
    Case("UnsortedSegmentMin", [r(2), i32([0, 2]), i32(2)], id="id"),
], ids=str)
def test_indices_out_of_range_name_the_node(case):
    check_run_time_error_names_the_node(case, match="index|ids")
