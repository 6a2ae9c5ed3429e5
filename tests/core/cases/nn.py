"""Cases of the reductions, scans, matrix products and neural-network ops."""

import numpy as np

from tests.core.opcheck import Case

rng = np.random.default_rng(11)


def r(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape)


def i32(*values):
    return np.array(values, np.int32)


def distribution(*shape):
    p = rng.uniform(0.1, 1.0, shape)
    return p / p.sum(-1, keepdims=True)


x234 = r(2, 3, 4)
with_zeros = r(3, 4, low=0.5, high=1.5)
with_zeros[0, 1] = 0.0                        # one zero in row 0
with_zeros[2, [0, 3]] = 0.0                   # two zeros in row 2
bools = np.array([[True, False, True], [True, True, True]])
KEEP = {"keep_dims": True}
F32 = r(2, 3).astype(np.float32)

REDUCTIONS = [
    Case("Mean", [x234, i32(1)]),
    Case("Mean", [x234, i32(0, -1)], attrs=KEEP, id="keep_dims"),
    Case("Mean", [x234, np.array(-2, np.int64)], id="scalar_int64_axis"),
    Case("Mean", [x234, i32(0, 1, 2)], id="all"),
    Case("Mean", [np.array([[-3, 0, -4], [5, 7, -8]], np.int32), i32(1)], id="int"),
    Case("Mean", [F32, i32(0)], id="float32"),
    Case("Max", [x234, i32(1)]),
    Case("Max", [x234, i32(-1, 0)], attrs=KEEP, id="keep_dims"),
    Case("Max", [np.array([[1, 5, 2], [7, 0, 7]], np.int32), i32(1)], id="int"),
    Case("Min", [x234, i32(2)]),
    Case("Min", [x234, i32(0, 2)], attrs=KEEP, id="keep_dims"),
    # Second order at zeros goes through Cumprod's gradient, which divides by x: see
    # test_edge_semantics.
    Case("Prod", [with_zeros, i32(1)], id="zeros", second_order=False),
    Case("Prod", [with_zeros, i32(-2)], attrs=KEEP, id="zeros_keep_dims", second_order=False),
    Case("Prod", [r(2, 3, 4, low=0.5, high=1.5), i32(0, 2)], id="non_adjacent_axes"),
    Case("Prod", [r(2, 3, 4, low=0.5, high=1.5), i32(-1)], attrs=KEEP, id="last"),
    Case("Prod", [r(3, 2), i32(0, 1)], id="all"),
    Case("EuclideanNorm", [x234, i32(1)]),
    Case("EuclideanNorm", [x234, i32(0, -1)], attrs=KEEP, id="keep_dims"),
    Case("All", [bools, i32(1)]),
    Case("All", [bools, i32(0)], attrs=KEEP, id="keep_dims"),
    Case("Any", [~bools, i32(-1)]),
    Case("Any", [~bools, i32(0, 1)], id="all"),
    Case("ArgMax", [x234, np.array(1, np.int32)], no_gradient=True),
    Case("ArgMax", [x234, np.array(-1, np.int64)], attrs={"output_type": "int32"},
         id="int32_out", no_gradient=True),
    Case("ArgMin", [x234, np.array(0, np.int32)], no_gradient=True),
    Case("ArgMin", [np.array([[3, 1, 1], [0, 0, 2]], np.int32), np.array(1, np.int32)],
         id="int_ties"),
]

SCANS = [
    Case("Cumsum", [x234, np.array(1, np.int32)]),
    Case("Cumsum", [x234, np.array(-1, np.int32)], attrs={"exclusive": True}, id="exclusive"),
    Case("Cumsum", [x234, np.array(0, np.int32)], attrs={"reverse": True}, id="reverse"),
    Case("Cumsum", [r(3, 4), np.array(1, np.int64)], attrs={"exclusive": True, "reverse": True},
         id="exclusive_reverse"),
    Case("Cumprod", [r(3, 4, low=0.5, high=1.5), np.array(1, np.int32)]),
    Case("Cumprod", [r(3, 4, low=-1.5, high=-0.5), np.array(0, np.int32)],
         attrs={"exclusive": True}, id="exclusive"),
    Case("Cumprod", [x234 + 3, np.array(-1, np.int32)], attrs={"reverse": True}, id="reverse"),
    Case("Cumprod", [r(3, 4, low=0.5, high=1.5), np.array(1, np.int32)],
         attrs={"exclusive": True, "reverse": True}, id="exclusive_reverse"),
]

LINALG = [
    Case("MatMul", [r(2, 3), r(3, 4)]),
    Case("MatMul", [r(3, 2), r(3, 4)], attrs={"transpose_a": True}, id="ta"),
    Case("MatMul", [r(2, 3), r(4, 3)], attrs={"transpose_b": True}, id="tb"),
    Case("MatMul", [r(3, 2), r(4, 3)], attrs={"transpose_a": True, "transpose_b": True},
         id="ta_tb"),
    Case("MatMul", [r(2, 3).astype(np.float32), r(3, 2).astype(np.float32)], id="float32"),
    Case("BatchMatMulV2", [r(2, 2, 3), r(2, 3, 4)]),
    Case("BatchMatMulV2", [r(2, 1, 2, 3), r(4, 3, 5)], id="broadcast"),
    Case("BatchMatMulV2", [r(3, 2), r(2, 1, 4, 3)], attrs={"adj_x": True, "adj_y": True},
         id="broadcast_adj_xy"),
    Case("BatchMatMulV2", [r(1, 3, 2), r(2, 3, 4)], attrs={"adj_x": True}, id="adj_x"),
    Case("BatchMatMulV2", [r(2, 2, 3), r(1, 4, 3)], attrs={"adj_y": True}, id="adj_y"),
    Case("BatchMatMulV2", [r(2, 3), r(3, 4)], id="rank2"),
    Case("BatchMatMul", [r(2, 2, 3), r(2, 3, 4)]),
    Case("BatchMatMul", [r(2, 3, 2), r(2, 4, 3)], attrs={"adj_x": True, "adj_y": True},
         id="adj_xy"),
]

ELU_OUT = np.array([-0.9, -0.3, 0.4, 1.5])
SELU_OUT = np.array([-1.5, -0.3, 0.4, 1.5])

ACTIVATIONS = [
    Case("Relu", [r(2, 3)]),
    Case("Relu", [np.array([-2, 0, 3], np.int32)], id="int"),
    Case("Relu6", [np.array([[-1.0, 0.5, 5.5], [6.5, 3.0, -0.2]])]),
    Case("Elu", [r(2, 3)]),
    Case("Selu", [r(2, 3)]),
    Case("LeakyRelu", [r(2, 3)]),
    Case("LeakyRelu", [r(4)], attrs={"alpha": 0.3}, id="alpha"),
    Case("Softplus", [r(2, 3, low=-4, high=4)]),
    Case("Softsign", [r(2, 3)], second_order=False),  # SoftsignGrad has no gradient, as TF
    Case("ReluGrad", [r(2, 3), r(2, 3)]),
    Case("Relu6Grad", [r(4), np.array([-1.0, 0.5, 5.5, 6.5])]),
    # TensorFlow multiplies by the mask: NaN and inf gradients stay NaN where it is 0
    Case("ReluGrad", [np.array([1.0, -2.0, np.nan, np.inf, 3.0]),
                      np.array([1.0, 0.0, -1.0, -1.0, np.nan])], id="nonfinite", grad=False),
    Case("Relu6Grad", [np.array([1.0, -2.0, np.nan, np.inf, 3.0]),
                       np.array([1.0, 0.0, -1.0, 7.0, np.nan])], id="nonfinite", grad=False),
    Case("EluGrad", [r(4), ELU_OUT]),
    Case("SeluGrad", [r(4), SELU_OUT]),
    Case("LeakyReluGrad", [r(2, 3), r(2, 3)]),
    Case("LeakyReluGrad", [r(3), r(3)], attrs={"alpha": 0.1}, id="alpha"),
    Case("SoftplusGrad", [r(2, 3), r(2, 3)]),
    Case("SoftsignGrad", [r(2, 3), r(2, 3)], grad=False),
]

SOFTMAX = [
    Case("Softmax", [r(2, 3)]),
    Case("Softmax", [r(4)], id="vector"),
    Case("Softmax", [r(2, 2, 3)], id="rank3"),
    Case("LogSoftmax", [r(2, 3)]),
    Case("LogSoftmax", [r(2, 2, 3)], id="rank3"),
    # The labels gradient leaves out the backprop output's dependence on the labels, as
    # TensorFlow's does: test_edge_semantics compares it with TensorFlow.
    Case("SoftmaxCrossEntropyWithLogits", [r(3, 4), distribution(3, 4)], wrt=(0,)),
    # TensorFlow computes broadcast logits forward but cannot differentiate them.
    Case("SoftmaxCrossEntropyWithLogits", [r(1, 4), distribution(3, 4)], wrt=(0,),
         id="broadcast", tf=False),
    Case("SparseSoftmaxCrossEntropyWithLogits", [r(3, 4), i32(0, 3, 1)]),
    Case("SparseSoftmaxCrossEntropyWithLogits", [r(2, 5), np.array([4, 4], np.int64)],
         id="int64_labels"),
]

BIAS = [
    Case("BiasAdd", [r(2, 3), r(3)]),
    Case("BiasAdd", [r(2, 2, 3, 4), r(4)], id="rank4"),
    Case("BiasAdd", [r(2, 3, 2, 2), r(3)], attrs={"data_format": "NCHW"}, id="NCHW"),
    Case("BiasAdd", [r(2, 3, 4), r(3)], attrs={"data_format": "NCHW"}, id="NCHW_rank3"),
    Case("BiasAddV1", [r(2, 3, 4), r(4)]),
    Case("BiasAddGrad", [r(2, 3)]),
    Case("BiasAddGrad", [r(2, 3, 4)], id="rank3"),
    Case("BiasAddGrad", [r(2, 3, 2, 2)], attrs={"data_format": "NCHW"}, id="NCHW"),
    Case("L2Loss", [r(2, 3)]),
    Case("L2Loss", [F32], id="float32"),
]

CASES = REDUCTIONS + SCANS + LINALG + ACTIVATIONS + SOFTMAX + BIAS
