"""The convolution, pooling and normalization ops beyond the table's checks: fully
dynamic graphs, shape inference against TensorFlow's, and GraphErrors naming the node
for invalid inputs."""

import numpy as np
import pytest

import core
from tests.core.cases.conv import CASES, conv_attrs, f32, i32, pool_attrs, r
from tests.core.opcheck import (SHAPE_MODES, Case, build_case,
                                 check_invalid_inputs_name_the_node,
                                 check_run_time_error_names_the_node,
                                 check_shapes_as_tensorflow, check_unknown_ranks)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_unknown_ranks(case):
    check_unknown_ranks(case)


@SHAPE_MODES
@pytest.mark.parametrize("case", CASES, ids=str)
def test_shapes_as_tensorflow_infers_them(case, mode):
    """Ours are as specific as TensorFlow's, or more."""
    check_shapes_as_tensorflow(case, *mode)


X, W = r(1, 4, 4, 2), r(3, 3, 2, 2)
BN = [f32(2), f32(2), f32(2), f32(2)]

INVALID = [
    Case("Conv2D", [X, W], conv_attrs("FULL"), id="padding"),
    Case("Conv2D", [r(4, 4, 2), W], conv_attrs(), id="rank"),
    Case("Conv2D", [X, r(3, 3, 3, 2)], conv_attrs(), id="channels"),
    Case("Conv2D", [X, W], conv_attrs(strides=(2, 1, 1, 1)), id="batch_stride"),
    Case("Conv2D", [X, W], conv_attrs(strides=(1, 1, 1, 2)), id="channel_stride"),
    Case("Conv2D", [X, W], conv_attrs(dilations=(1, 1, 1, 2)), id="channel_dilation"),
    Case("Conv2D", [X, W], conv_attrs(strides=(1, 1, 1)), id="strides_length"),
    Case("Conv2D", [X, W], conv_attrs(data_format="NWHC"), id="data_format"),
    Case("Conv2D", [X, W], conv_attrs(explicit_paddings=(0,) * 8), id="explicit_not_EXPLICIT"),
    Case("Conv2D", [X, W], conv_attrs("EXPLICIT", explicit_paddings=(1, 1) + (0,) * 6),
         id="explicit_batch"),
    Case("Conv2D", [r(1, 2, 2, 2), r(3, 5, 2, 2)], conv_attrs("VALID"), id="window_too_big"),
    Case("Conv2DBackpropInput", [i32(1, 4, 4, 2), W, r(1, 3, 4, 2)], conv_attrs(),
         id="out_backprop_shape"),
    Case("Conv2DBackpropInput", [i32(1, 4, 4), W, r(1, 4, 4, 2)], conv_attrs(),
         id="input_sizes_length"),
    Case("Conv2DBackpropFilter", [X, i32(3, 3, 2, 2), r(1, 4, 4, 3)], conv_attrs(),
         id="out_channels"),
    Case("DepthwiseConv2dNative", [X, r(3, 3, 3, 1)], conv_attrs(), id="channels"),
    Case("Conv3D", [X, W], conv_attrs(strides=(1,) * 5), id="rank"),
    Case("Conv3D", [r(1, 2, 2, 2, 1), r(1, 1, 1, 1, 1)],
         conv_attrs("EXPLICIT", strides=(1,) * 5), id="no_explicit"),
    Case("MaxPool", [X], pool_attrs((2, 2, 2, 1), (1, 1, 1, 1)), id="batch_ksize"),
    Case("MaxPool", [X], pool_attrs((1, 2, 2), (1, 1, 1, 1)), id="ksize_length"),
    Case("MaxPool", [X], pool_attrs((1, 2, 2, 1), (1, 1, 1, 1), data_format="NCHW_VECT_C"),
         id="data_format"),
    Case("MaxPoolGrad", [X, r(1, 2, 2, 2), r(1, 2, 2, 2)], pool_attrs((1, 2, 2, 1),
                                                                      (1, 1, 1, 1)),
         id="orig_output_shape"),
    Case("MaxPoolGradGrad", [X, r(1, 3, 3, 2), r(1, 4, 4, 2)],
         pool_attrs((1, 2, 2, 1), (1, 1, 1, 1), "EXPLICIT"), id="explicit"),
    Case("AvgPool", [X.astype(np.int32)], pool_attrs((1, 2, 2, 1), (1, 1, 1, 1)), id="dtype"),
    Case("AvgPoolGrad", [i32(1, 4, 4, 2), r(1, 2, 2, 2)], pool_attrs((1, 2, 2, 1),
                                                                     (1, 1, 1, 1)),
         id="grad_shape"),
    Case("MaxPool3D", [r(1, 2, 2, 2, 1)], pool_attrs((1,) * 5, (1,) * 5), id="float64"),
    Case("FusedBatchNormV3", [f32(2, 2, 2, 3), *BN], id="scale_size"),
    Case("FusedBatchNormV3", [f32(2, 2, 2, 2), *BN], {"data_format": "NDHWC"}, id="rank"),
    Case("FusedBatchNormV3", [r(2, 2, 2, 2), *BN], id="float64"),
    Case("FusedBatchNormV3", [f32(2, 2, 2, 2), f32(2), f32(2), f32(3), f32(3)],
         {"is_training": False}, id="mean_size"),
    Case("FusedBatchNormGradV3", [f32(2, 2, 2, 2), f32(2, 2, 2, 3), f32(2), f32(2), f32(2),
                                  f32()], id="shapes"),
    Case("LRN", [f32(2, 2, 2)], id="rank"),
    Case("LRNGrad", [f32(1, 2, 2, 3), f32(1, 2, 2, 4), f32(1, 2, 2, 3)], id="shapes"),
    Case("SpaceToDepth", [r(1, 3, 4, 1)], {"block_size": 2}, id="not_a_multiple"),
    Case("SpaceToDepth", [r(1, 4, 4, 1)], {"block_size": 1}, id="block_size"),
    Case("DepthToSpace", [r(1, 2, 2, 6)], {"block_size": 2}, id="depth"),
]


@pytest.mark.parametrize("case", INVALID, ids=str)
def test_invalid_inputs_name_the_node(case):
    check_invalid_inputs_name_the_node(case)


@pytest.mark.parametrize("case", [
    Case("Conv2D", [X, r(3, 3, 3, 2)], conv_attrs(), id="channels"),
    Case("Conv2DBackpropInput", [i32(1, 4, 4, 3), W, r(1, 4, 4, 2)], conv_attrs(),
         id="input_sizes"),
    Case("MaxPoolV2", [X, i32(1, 2, 2, 2), i32(1, 1, 1, 1)], {"padding": "VALID"},
         id="channel_ksize"),
    Case("SpaceToDepth", [r(1, 3, 4, 1)], {"block_size": 2}, id="not_a_multiple"),
], ids=str)
def test_invalid_shapes_at_run_time_name_the_node(case):
    """Shapes known only at run time are checked by the kernels."""
    check_run_time_error_names_the_node(case)


def test_max_pool_with_explicit_padding_has_no_second_derivative():
    """MaxPoolGradGrad takes no EXPLICIT padding, so building it fails, as in TensorFlow."""
    case = Case("MaxPool", [r(1, 3, 3, 1)], pool_attrs(
        (1, 2, 2, 1), (1, 1, 1, 1), "EXPLICIT", explicit_paddings=(0, 0, 1, 0, 0, 1, 0, 0)))
    built = build_case(case)
    (grad,) = core.gradients(built.graph, built.outputs, built.xs)
    with pytest.raises(core.GraphError, match="padding must be SAME, VALID"):
        core.gradients(built.graph, [grad], built.xs)
