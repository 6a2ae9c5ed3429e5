from dataclasses import replace

import numpy as np

from tests.core.opcheck import Case, i32, i64

rng = np.random.default_rng(17)


def r(*shape):
    return rng.uniform(-2.0, 2.0, shape)


def f64(value):
    return np.array(value, np.float64)


def einsum(equation, *inputs, **kwargs):
    return Case("Einsum", list(inputs), attrs={"equation": equation}, id=equation, **kwargs)


def tf_gradient_fails(case):
    """The case's values against TensorFlow's, and, as TensorFlow's own gradient fails on
    it, our gradient against central differences only."""
    return [replace(case, grad=False), replace(case, id=case.id + "_grad", tf=False)]


IGNORE = {"bad_indices_policy": "IGNORE"}

CASES = [
    # -- GatherNd and the scatters
    Case("GatherNd", [r(3, 4), i32([[0, 1], [2, 3], [0, 1]])]),
    Case("GatherNd", [r(3, 4, 2), i64([[1], [0], [1]])], id="rows"),
    Case("GatherNd", [r(2, 3, 4), i32([[[0, 2], [1, 0]], [[1, 1], [0, 2]]])], id="batch_slices"),
    # TensorFlow's ScatterNd, its GatherNd gradient, refuses index vectors of length 0.
    *tf_gradient_fails(Case("GatherNd", [r(3, 2), np.zeros((2, 0), np.int32)], id="empty_index")),
    Case("GatherNd", [r(3, 4), i32([[0, 4], [1, 1], [-1, 0]])], attrs=IGNORE, id="ignore"),
    Case("ScatterNd", [i32([[0], [2], [0]]), r(3, 2), i32([4, 2])]),
    Case("ScatterNd", [i64([[1, 1], [0, 2]]), r(2), i64([2, 3])], id="elements"),
    Case("ScatterNd", [i32([[[0, 1]], [[1, 0]]]), r(2, 1, 3), i32([2, 2, 3])], id="batch"),
    # TensorFlow's rule drops bad_indices_policy, so fails on the ignored indices.
    *tf_gradient_fails(Case("ScatterNd", [i32([[3], [1]]), r(2), i32([3])], attrs=IGNORE,
                            id="ignore")),
    Case("TensorScatterUpdate", [r(4, 3), i32([[1], [3]]), r(2, 3)]),
    Case("TensorScatterUpdate", [r(3, 3), i64([[0, 0], [2, 1]]), r(2)], id="elements"),
    *tf_gradient_fails(Case("TensorScatterUpdate", [r(3), i32([[5], [0]]), r(2)], attrs=IGNORE,
                            id="ignore")),
    Case("TensorScatterAdd", [r(4, 3), i32([[1], [3], [1]]), r(3, 3)]),
    Case("TensorScatterAdd", [r(2, 3, 2), i32([[[0, 1]], [[1, 2]]]), r(2, 1, 2)], id="batch"),
    # -- OneHot, Where, BroadcastArgs
    Case("OneHot", [i32([0, 2, -1, 3]), i32(3), f64(5.0), f64(-1.0)], no_gradient=True),
    Case("OneHot", [i64([[0, 1], [2, 0]]), i32(3), f64(1.0), f64(0.0)], attrs={"axis": 0},
         id="axis0", no_gradient=True),
    Case("OneHot", [np.array([1, 0], np.uint8), i32(2), i32(7), i32(0)], attrs={"axis": 1},
         id="uint8_int32"),
    Case("Where", [np.array([[True, False, True], [False, False, True]])]),
    Case("Where", [f64([[0.0, 1.5], [2.0, 0.0]])], id="float", no_gradient=True),
    Case("Where", [np.zeros((2, 0), bool)], id="empty"),
    Case("BroadcastArgs", [i32([2, 1, 3]), i32([4, 1])]),
    Case("BroadcastArgs", [i64([0, 1]), i64([1])], id="zero"),
    # -- TopKV2
    Case("TopKV2", [r(3, 5), i32(2)]),
    Case("TopKV2", [r(2, 2, 4), i32(4)], id="batch_all"),
    # TensorFlow's order differs (test_edge_semantics compares the sets).
    Case("TopKV2", [r(6), i32(3)], attrs={"sorted": False}, id="unsorted", tf=False),
    # TensorFlow's rule adds int32 offsets to the int64 indices.
    *tf_gradient_fails(Case("TopKV2", [r(2, 3), i32(1)], attrs={"index_type": "int64"},
                            id="int64_indices")),
    Case("TopKV2", [i32([[3, 1, 3, 2]]), i32(2)], id="int_ties"),
    # -- Einsum
    einsum("ij,jk->ik", r(2, 3), r(3, 4)),
    einsum("bij,bjk->bik", r(2, 2, 3), r(2, 3, 2)),
    einsum("...ij,...jk->...ik", r(2, 1, 2, 3), r(3, 3, 2)),
    einsum("...ij,jk->...ik", r(2, 2, 3), r(3, 4)),
    einsum("ij,jk->...ik", r(2, 3), r(3, 2)),
    einsum("bi,bi->b", r(3, 4), r(3, 4)),
    einsum("i,j->ij", r(3), r(2)),
    einsum("abc,cd->ad", r(2, 3, 4), r(4, 2)),
    einsum("iij,jk->ik", r(2, 2, 3), r(3, 2)),
    einsum("ij->ji", r(2, 3)),
    einsum("ii->i", r(3, 3)),
    einsum("ii->", r(3, 3)),
    einsum("ij->", r(2, 3)),
    einsum("ijk->kj", r(2, 3, 4)),
    einsum("i->ii", r(3)),
    einsum("a...->...", r(2, 3, 2)),
    einsum("...ii->...i", r(2, 3, 3)),
    einsum("ij,jk->ik", i32([[1, 2]]), i32([[3], [4]]), tf=True),
    # -- diagonals and bands
    Case("Diag", [r(3)]),
    Case("Diag", [r(2, 3)], id="2d"),
    Case("DiagPart", [r(3, 3)]),
    Case("DiagPart", [r(2, 3, 2, 3)], id="4d"),
    Case("MatrixDiagV3", [r(3), i32(0), i32(-1), i32(-1), f64(0.0)], wrt=(0,)),
    Case("MatrixDiagV3", [r(2, 3, 3), i32([-1, 1]), i32(-1), i32(-1), f64(0.5)], wrt=(0,),
         id="band_batch"),
    Case("MatrixDiagV3", [r(2, 2), i32([1, 2]), i32(-1), i32(-1), f64(0.0)], wrt=(0,),
         attrs={"align": "LEFT_RIGHT"}, id="left_right"),
    Case("MatrixDiagV3", [r(2), i32(-1), i32(4), i32(2), f64(9.0)], wrt=(0,), id="rows_cols"),
    Case("MatrixDiagV3", [r(3, 2), i32([-2, 0]), i32(3), i32(-1), f64(0.0)], wrt=(0,),
         attrs={"align": "RIGHT_RIGHT"}, id="right_right"),
    Case("MatrixDiagPartV3", [r(3, 4), i32([-1, 2]), f64(0.0)], wrt=(0,)),
    Case("MatrixDiagPartV3", [r(2, 4, 3), i32(1), f64(-1.0)], wrt=(0,),
         attrs={"align": "LEFT_LEFT"}, id="batch"),
    Case("MatrixDiagPartV3", [r(3, 3), i32([-2, 0]), f64(0.0)], wrt=(0,),
         attrs={"align": "LEFT_RIGHT"}, id="below"),
    Case("MatrixSetDiagV3", [r(3, 4), r(3, 3), i32([-1, 1])]),
    Case("MatrixSetDiagV3", [r(2, 3, 4), r(2, 3), i32(1)], attrs={"align": "LEFT_RIGHT"},
         id="batch"),
    Case("MatrixSetDiagV3", [r(4, 3), r(2), i32(-2)], id="below"),
    Case("MatrixBandPart", [r(3, 4), i64(1), i64(-1)]),
    Case("MatrixBandPart", [r(2, 4, 4), i32(0), i32(2)], id="batch"),
    Case("MatrixBandPart", [r(3, 3), i64(-1), i64(-1)], id="all"),
]
