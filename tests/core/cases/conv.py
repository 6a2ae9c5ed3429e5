"""Cases of the convolution, pooling and normalization ops.

TensorFlow's CPU kernels take neither channels-first layouts nor dilated convolutions
(beyond Conv2D's forward): those cases are compared with TensorFlow through equivalents
it can run in test_conv_vs_tensorflow.

Max pooling inputs hold distinct values, well apart, so that no window has a tie and a
central difference moves no maximum."""

import numpy as np

from tests.core.opcheck import Case, check_forward

rng = np.random.default_rng(23)


def r(*shape, dtype=np.float64):
    return rng.uniform(-2.0, 2.0, shape).astype(dtype)


def distinct(*shape, dtype=np.float64):
    """Values 0.05 apart in random order."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) - n / 2) * 0.05).reshape(shape).astype(dtype)


def i32(*values):
    return np.array(values, np.int32)


def conv_attrs(padding="SAME", strides=(1, 1, 1, 1), **attrs):
    return {"padding": padding, "strides": strides, **attrs}


def pool_attrs(ksize, strides, padding="VALID", **attrs):
    return {"ksize": ksize, "strides": strides, "padding": padding, **attrs}


def output_of(op, inputs, attrs):
    return check_forward(Case(op, inputs, attrs))[0]


def pooled(op, x, attrs, grad=None):
    """The inputs of op's gradient (or, given `grad` shaped like x, of its gradient's
    gradient): [orig_input, orig_output, grad], grad random unless given."""
    y = output_of(op, [x], attrs)
    return [x, y, r(*y.shape, dtype=x.dtype) if grad is None else grad]


S2 = (1, 2, 2, 1)
D2 = {"dilations": (1, 2, 2, 1)}
NCHW = {"data_format": "NCHW"}
EXPLICIT = conv_attrs("EXPLICIT", explicit_paddings=(0, 0, 1, 2, 0, 1, 0, 0))
EXPLICIT_NCHW = conv_attrs("EXPLICIT", explicit_paddings=(0, 0, 0, 0, 1, 2, 0, 1), **NCHW)

CONV2D = [
    Case("Conv2D", [r(2, 5, 5, 2), r(3, 3, 2, 3)], conv_attrs()),
    Case("Conv2D", [r(1, 5, 6, 2), r(2, 3, 2, 2)], conv_attrs("VALID", S2), id="valid_stride2"),
    Case("Conv2D", [r(1, 5, 4, 2), r(3, 2, 2, 2)], conv_attrs(strides=(1, 2, 1, 1)),
         id="same_stride2_odd"),
    Case("Conv2D", [r(1, 4, 4, 2), r(2, 2, 2, 2)], EXPLICIT, id="explicit"),
    Case("Conv2D", [r(1, 6, 6, 2), r(2, 2, 2, 2)], conv_attrs("VALID", **D2), id="dilation2",
         tf=False),
    Case("Conv2D", [r(1, 5, 5, 1), r(2, 3, 1, 2)], conv_attrs(**D2), id="same_dilation2",
         tf=False),
    Case("Conv2D", [r(2, 5, 6, 1), r(3, 3, 1, 2)], conv_attrs(strides=(1, 2, 2, 1)),
         id="one_channel_stride2"),
    Case("Conv2D", [r(1, 2, 5, 5), r(3, 3, 2, 2)], conv_attrs(strides=(1, 1, 2, 2), **NCHW),
         id="NCHW", tf=False),
    Case("Conv2D", [r(1, 2, 4, 4), r(2, 2, 2, 2)], EXPLICIT_NCHW, id="explicit_NCHW", tf=False),
    Case("Conv2D", [r(1, 4, 4, 2, dtype=np.float32), r(2, 2, 2, 3, dtype=np.float32)],
         conv_attrs("VALID"), id="float32"),
    Case("Conv2D", [rng.integers(-3, 4, (1, 4, 4, 2)).astype(np.float16),
                    rng.integers(-3, 4, (2, 2, 2, 2)).astype(np.float16)], conv_attrs(),
         id="float16", grad=False),
    Case("Conv2D", [rng.integers(-3, 4, (1, 4, 4, 2), np.int32),
                    rng.integers(-3, 4, (3, 3, 2, 2), np.int32)], conv_attrs(), id="int32"),
]

CONV2D_BACKPROPS = [
    Case("Conv2DBackpropInput", [i32(2, 5, 5, 2), r(3, 3, 2, 3), r(2, 5, 5, 3)], conv_attrs()),
    Case("Conv2DBackpropInput", [i32(1, 6, 7, 2), r(2, 2, 2, 2), r(1, 3, 3, 2)],
         conv_attrs("VALID", S2), id="valid_stride2"),
    Case("Conv2DBackpropInput", [i32(1, 4, 4, 2), r(2, 2, 2, 2), r(1, 6, 4, 2)], EXPLICIT,
         id="explicit"),
    Case("Conv2DBackpropInput", [i32(1, 5, 5, 2), r(2, 2, 2, 2), r(1, 5, 5, 2)],
         conv_attrs(**D2), id="same_dilation2", tf=False),
    Case("Conv2DBackpropInput", [i32(1, 2, 5, 5), r(3, 3, 2, 2), r(1, 2, 3, 3)],
         conv_attrs(strides=(1, 1, 2, 2), **NCHW), id="NCHW", tf=False),
    Case("Conv2DBackpropFilter", [r(2, 5, 5, 2), i32(3, 3, 2, 3), r(2, 5, 5, 3)], conv_attrs()),
    Case("Conv2DBackpropFilter", [r(1, 6, 7, 2), i32(2, 2, 2, 2), r(1, 3, 3, 2)],
         conv_attrs("VALID", S2), id="valid_stride2"),
    Case("Conv2DBackpropFilter", [r(1, 4, 4, 2), i32(2, 2, 2, 2), r(1, 6, 4, 2)], EXPLICIT,
         id="explicit"),
    Case("Conv2DBackpropFilter", [r(1, 6, 6, 2), i32(2, 2, 2, 2), r(1, 4, 4, 2)],
         conv_attrs("VALID", **D2), id="dilation2", tf=False),
    Case("Conv2DBackpropFilter", [r(1, 2, 5, 5), i32(3, 3, 2, 2), r(1, 2, 3, 3)],
         conv_attrs(strides=(1, 1, 2, 2), **NCHW), id="NCHW", tf=False),
]

DEPTHWISE = [
    Case("DepthwiseConv2dNative", [r(2, 4, 4, 2), r(3, 3, 2, 2)], conv_attrs()),
    Case("DepthwiseConv2dNative", [r(1, 5, 6, 3), r(2, 3, 3, 1)], conv_attrs("VALID", S2),
         id="valid_stride2"),
    Case("DepthwiseConv2dNative", [r(1, 4, 4, 2), r(2, 2, 2, 2)], EXPLICIT, id="explicit"),
    Case("DepthwiseConv2dNative", [r(1, 6, 6, 2), r(2, 2, 2, 3)], conv_attrs("VALID", **D2),
         id="dilation2", tf=False),
    Case("DepthwiseConv2dNative", [r(1, 2, 5, 5), r(3, 3, 2, 2)],
         conv_attrs(strides=(1, 1, 2, 2), **NCHW), id="NCHW", tf=False),
    Case("DepthwiseConv2dNativeBackpropInput", [i32(2, 4, 4, 2), r(3, 3, 2, 2), r(2, 4, 4, 4)],
         conv_attrs()),
    Case("DepthwiseConv2dNativeBackpropInput", [i32(1, 6, 7, 3), r(2, 3, 3, 1), r(1, 3, 3, 3)],
         conv_attrs("VALID", S2), id="valid_stride2"),
    Case("DepthwiseConv2dNativeBackpropInput", [i32(1, 2, 5, 5), r(3, 3, 2, 2), r(1, 4, 3, 3)],
         conv_attrs(strides=(1, 1, 2, 2), **NCHW), id="NCHW", tf=False),
    Case("DepthwiseConv2dNativeBackpropFilter", [r(2, 4, 4, 2), i32(3, 3, 2, 2), r(2, 4, 4, 4)],
         conv_attrs()),
    Case("DepthwiseConv2dNativeBackpropFilter", [r(1, 4, 4, 2), i32(2, 2, 2, 2),
                                                 r(1, 6, 4, 4)], EXPLICIT, id="explicit"),
    Case("DepthwiseConv2dNativeBackpropFilter", [r(1, 6, 6, 2), i32(2, 2, 2, 3), r(1, 4, 4, 6)],
         conv_attrs("VALID", **D2), id="dilation2", tf=False),
]

S3 = (1, 2, 2, 2, 1)
NCDHW = {"data_format": "NCDHW"}

CONV3D = [
    Case("Conv3D", [r(1, 3, 4, 4, 2), r(2, 2, 2, 2, 2)], conv_attrs(strides=(1,) * 5)),
    Case("Conv3D", [r(1, 4, 4, 5, 1), r(2, 3, 2, 1, 2)], conv_attrs("VALID", S3),
         id="valid_stride2"),
    Case("Conv3D", [r(1, 3, 5, 5, 1), r(2, 2, 2, 1, 2)],
         conv_attrs(strides=(1,) * 5, dilations=(1, 1, 2, 2, 1)), id="same_dilation2", tf=False),
    Case("Conv3D", [r(1, 2, 3, 4, 4), r(2, 2, 2, 2, 2)], conv_attrs(strides=(1, 1, 2, 2, 2),
                                                                    **NCDHW),
         id="NCDHW", tf=False),
    Case("Conv3DBackpropInputV2", [i32(1, 3, 4, 4, 2), r(2, 2, 2, 2, 2), r(1, 3, 4, 4, 2)],
         conv_attrs(strides=(1,) * 5)),
    Case("Conv3DBackpropInputV2", [np.array([1, 4, 4, 5, 1], np.int64), r(2, 3, 2, 1, 2),
                                   r(1, 2, 1, 2, 2)], conv_attrs("VALID", S3),
         id="valid_stride2_int64_sizes"),
    Case("Conv3DBackpropFilterV2", [r(1, 3, 4, 4, 2), i32(2, 2, 2, 2, 2), r(1, 3, 4, 4, 2)],
         conv_attrs(strides=(1,) * 5)),
    Case("Conv3DBackpropFilterV2", [r(1, 3, 5, 5, 1), i32(2, 2, 2, 1, 2), r(1, 3, 5, 5, 2)],
         conv_attrs(strides=(1,) * 5, dilations=(1, 1, 2, 2, 1)), id="same_dilation2", tf=False),
]

K2 = (1, 2, 2, 1)
K3 = (1, 3, 3, 1)
X44 = distinct(1, 4, 4, 2)
X55 = distinct(1, 5, 5, 2)
MAX_POOL_CASES = [  # (id, x, attrs): disjoint windows, and overlapping where stride < ksize
    ("", X44, pool_attrs(K2, S2)),
    ("disjoint_uncovered", X55, pool_attrs(K2, S2)),  # the last row and column in no window
    ("disjoint_same", X55, pool_attrs(K2, S2, "SAME")),  # the last windows clipped
    ("disjoint_gaps", X55, pool_attrs(K2, (1, 3, 3, 1))),  # stride > ksize
    ("overlap_same", X55, pool_attrs(K3, (1, 1, 1, 1), "SAME")),
    ("overlap_same_stride2", X55, pool_attrs(K3, S2, "SAME")),
    ("overlap_2x3", distinct(2, 4, 5, 1), pool_attrs((1, 2, 3, 1), (1, 2, 1, 1))),
]

INTS = rng.permutation(32).reshape(1, 4, 4, 2).astype(np.int32)
# ties in every window: the gradient goes to the first maximum in row-major order, in
# disjoint windows (their own kernel) and overlapping ones
TIES = np.repeat(np.repeat(rng.integers(0, 2, (1, 3, 3, 2)), 2, axis=1), 2, axis=2).astype(float)
# NaN and -inf as TensorFlow's CPU kernels take them: 2-D pooling passes NaN over and starts
# from the dtype's lowest finite value (so a window of NaN or -inf alone gives it); its
# gradient goes to the window's first position, then to each one strictly greater (so a
# NaN first keeps it). One channel and eight (TensorFlow's vectorised path).
NONFINITE = np.array([[[np.nan, 2.0, 1.0, -np.inf], [4.0, np.nan, -np.inf, -np.inf],
                       [1.0, np.nan, np.nan, np.nan], [3.0, 1.0, np.nan, np.nan]]]).reshape(1, 4, 4, 1)
NONFINITE_8 = np.concatenate([NONFINITE, np.roll(NONFINITE, 1, axis=1), NONFINITE[:, ::-1],
                              NONFINITE[:, :, ::-1]] * 2, axis=-1)


def nonfinite_pooling(name, attrs) -> list[Case]:
    """MaxPool of NONFINITE(_8) in each float dtype, and MaxPoolGrad, against TensorFlow."""
    cases = []
    for x, channels in ((NONFINITE, 1), (NONFINITE_8, 8)):
        cases += [Case("MaxPool", [x.astype(dtype)], attrs, grad=False, second_order=False,
                       id=f"nonfinite_{name}_{channels}_{dtype}")
                  for dtype in ("float64", "float32", "float16")]
        cases.append(Case("MaxPoolGrad", pooled("MaxPool", x, attrs), attrs, grad=False,
                          second_order=False, id=f"nonfinite_{name}_{channels}"))
    return cases



MAX_POOL = [
    *(Case("MaxPool", [x], attrs, id=name) for name, x, attrs in MAX_POOL_CASES),
    # MaxPoolGradGrad has no EXPLICIT padding, so there is no second derivative, as in TF.
    Case("MaxPool", [X44], pool_attrs(K3, S2, "EXPLICIT", explicit_paddings=(0, 0, 1, 1, 0, 1,
                                                                             0, 0)),
         id="explicit", second_order=False),
    Case("MaxPool", [distinct(1, 2, 5, 5)], pool_attrs((1, 1, 3, 3), (1, 1, 2, 2), "SAME",
                                                       **NCHW), id="NCHW", tf=False),
    Case("MaxPool", [X44.astype(np.float32)], pool_attrs(K2, S2), id="float32"),
    Case("MaxPool", [INTS], pool_attrs(K3, S2, "SAME"), id="int32"),
    Case("MaxPoolGrad", pooled("MaxPool", INTS, pool_attrs(K3, S2, "SAME"), INTS[:, :2, :2]),
         pool_attrs(K3, S2, "SAME"), id="int32"),
    *(Case("MaxPoolGrad", pooled("MaxPool", TIES, attrs), attrs, id=name, grad=False,
           second_order=False)
      for name, attrs in (("ties", pool_attrs(K2, S2)),
                          ("ties_overlap", pool_attrs(K3, (1, 1, 1, 1), "SAME")))),
    *(case for name, attrs in (("disjoint", pool_attrs(K2, S2)),
                               ("overlap", pool_attrs(K3, (1, 1, 1, 1), "SAME")))
      for case in nonfinite_pooling(name, attrs)),
    Case("MaxPoolV2", [X55, i32(*K3), i32(1, 1, 1, 1)], {"padding": "SAME"}),
    Case("MaxPoolV2", [X44, i32(*K2), i32(*S2)], {"padding": "VALID"}, id="valid"),
    *(Case("MaxPoolGrad", pooled("MaxPool", x, attrs), attrs, id=name)
      for name, x, attrs in MAX_POOL_CASES),
    Case("MaxPoolGradV2", pooled("MaxPool", X55, pool_attrs(K3, S2, "SAME")) + [i32(*K3),
                                                                               i32(*S2)],
         {"padding": "SAME"},
         second_order=False),  # MaxPoolGradGradV2 has no gradient rule, as in TensorFlow
    # Central differences of orig_input or orig_output would break the x == y matches the
    # gradients of gradients route by: only grad is differentiated.
    *(Case("MaxPoolGradGrad", pooled("MaxPool", x, attrs, r(*x.shape)), attrs, id=name,
           wrt=(2,))
      for name, x, attrs in MAX_POOL_CASES),
    Case("MaxPoolGradGradV2", pooled("MaxPool", X55, pool_attrs(K3, S2, "SAME"),
                                     r(*X55.shape)) + [i32(*K3), i32(*S2)], {"padding": "SAME"},
         wrt=(2,), grad=False),  # no gradient rule, as in TensorFlow
]

K3D = (1, 2, 2, 2, 1)
X3D = distinct(1, 3, 4, 4, 2, dtype=np.float32)
POOL3D_CASES = [("", pool_attrs(K3D, K3D)), ("overlap_same",
                                            pool_attrs((1, 2, 3, 3, 1), (1,) * 5, "SAME"))]
POOL3D = [
    *(Case("MaxPool3D", [X3D], attrs, id=name) for name, attrs in POOL3D_CASES),
    *(Case("MaxPool3DGrad", pooled("MaxPool3D", X3D, attrs), attrs, id=name, wrt=(2,))
      for name, attrs in POOL3D_CASES),
    *(Case("MaxPool3DGradGrad", pooled("MaxPool3D", X3D, attrs, r(*X3D.shape, dtype=np.float32)),
           attrs, id=name, wrt=(2,)) for name, attrs in POOL3D_CASES),
    *(Case("AvgPool3D", [r(*X3D.shape, dtype=np.float32)], attrs, id=name)
      for name, attrs in POOL3D_CASES),
    Case("AvgPool3D", [r(1, 2, 3, 4, 4, dtype=np.float32)],
         pool_attrs((1, 1, 2, 2, 2), (1, 1, 1, 2, 2), "SAME", **NCDHW), id="NCDHW", tf=False),
    Case("AvgPool3DGrad", [i32(1, 3, 4, 4, 2), r(1, 3, 4, 4, 2, dtype=np.float32)],
         POOL3D_CASES[1][1]),
]

AVG_POOL = [
    Case("AvgPool", [r(1, 4, 4, 2)], pool_attrs(K2, S2)),
    Case("AvgPool", [r(1, 5, 5, 2)], pool_attrs(K3, S2, "SAME"), id="overlap_same_stride2"),
    Case("AvgPool", [r(2, 4, 5, 1)], pool_attrs((1, 2, 3, 1), (1, 2, 1, 1)), id="overlap_2x3"),
    Case("AvgPool", [r(1, 2, 5, 5)], pool_attrs((1, 1, 3, 3), (1, 1, 2, 2), "SAME", **NCHW),
         id="NCHW", tf=False),
    Case("AvgPool", [r(1, 4, 4, 2, dtype=np.float32)], pool_attrs(K3, (1, 1, 1, 1), "SAME"),
         id="float32"),
    Case("AvgPool", [INTS.astype(np.float16)], pool_attrs(K2, S2), id="float16", grad=False),
    Case("AvgPoolGrad", [i32(1, 5, 5, 2), r(1, 3, 3, 2)], pool_attrs(K3, S2, "SAME")),
    Case("AvgPoolGrad", [i32(2, 4, 5, 1), r(2, 2, 3, 1)], pool_attrs((1, 2, 3, 1), (1, 2, 1, 1)),
         id="overlap_2x3"),
    Case("AvgPoolGrad", [i32(1, 2, 5, 5), r(1, 2, 3, 3)],
         pool_attrs((1, 1, 3, 3), (1, 1, 2, 2), "SAME", **NCHW), id="NCHW", tf=False),
]


def f32(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape).astype(np.float32)


def batch_stats(x, axes):
    return x.mean(axes).astype(np.float32), x.var(axes).astype(np.float32)


BN_X = f32(2, 3, 3, 2)
BN_X_NCHW = f32(2, 2, 3, 3)
TRAINING_MEAN, TRAINING_VAR = batch_stats(BN_X, (0, 1, 2))
# Only y enters the loss when training: the batch statistics depend on x, but TensorFlow's
# gradient leaves them out (they are not meant to be differentiated).
TRAINING = {"loss_outputs": (0,), "wrt": (0, 1, 2)}

BATCH_NORM = [
    Case("FusedBatchNormV3", [BN_X, f32(2, low=0.5), f32(2), f32(2), f32(2, low=0.5)],
         {"epsilon": 0.01}, id="training", **TRAINING),
    Case("FusedBatchNormV3", [BN_X_NCHW, f32(2, low=0.5), f32(2), f32(2), f32(2, low=0.5)],
         {"data_format": "NCHW"}, id="training_NCHW", **TRAINING),
    Case("FusedBatchNormV3", [f32(2, 2, 2, 3, 2), f32(2, low=0.5), f32(2), f32(2),
                              f32(2, low=0.5)],
         {"data_format": "NDHWC", "exponential_avg_factor": 0.25}, id="training_NDHWC_avg",
         **TRAINING),
    Case("FusedBatchNormV3", [BN_X, f32(2, low=0.5), f32(2), f32(2), f32(2, low=0.5)],
         {"is_training": False}, id="inference", wrt=(0, 1, 2), tf_unspecified=(3, 4)),
    Case("FusedBatchNormV3", [BN_X_NCHW, f32(2, low=0.5), f32(2), f32(2), f32(2, low=0.5)],
         {"is_training": False, "data_format": "NCHW"}, id="inference_NCHW", wrt=(0, 1, 2),
         tf_unspecified=(3, 4)),
    Case("FusedBatchNormV3", [BN_X.astype(np.float16), f32(2, low=0.5), f32(2), f32(2),
                              f32(2, low=0.5)], id="float16", grad=False, tf=False),
    # Training reads the statistics from reserve_space_1 and 2 but its gradient recomputes
    # them from x, so x is differentiated through FusedBatchNormV3's second order only.
    Case("FusedBatchNormGradV3", [f32(*BN_X.shape), BN_X, f32(2, low=0.5), TRAINING_MEAN,
                                  TRAINING_VAR, np.zeros((), np.float32)],
         {"epsilon": 0.01}, id="training", wrt=(0, 2)),
    Case("FusedBatchNormGradV3", [f32(*BN_X.shape), BN_X, f32(2, low=0.5), f32(2),
                                  f32(2, low=0.5), np.zeros((), np.float32)],
         {"is_training": False}, id="inference", wrt=(0, 1, 2)),
]

LRN_ATTRS = {"depth_radius": 2, "bias": 1.5, "alpha": 0.3, "beta": 0.75}
LRN_X = f32(1, 2, 2, 6)

LRN = [  # LRNGrad has no gradient rule, as in TensorFlow
    Case("LRN", [LRN_X], LRN_ATTRS, second_order=False),
    Case("LRN", [f32(2, 2, 1, 3)], id="default_attrs", second_order=False),
    Case("LRNGrad", [f32(1, 2, 2, 6), LRN_X, output_of("LRN", [LRN_X], LRN_ATTRS)], LRN_ATTRS,
         grad=False),
]

SPACE_DEPTH = [
    Case("SpaceToDepth", [r(1, 4, 4, 2)], {"block_size": 2}),
    Case("SpaceToDepth", [r(2, 3, 6, 1)], {"block_size": 3}, id="block3"),
    Case("SpaceToDepth", [r(1, 2, 4, 4)], {"block_size": 2, **NCHW}, id="NCHW", tf=False),
    Case("SpaceToDepth", [np.arange(16, dtype=np.int32).reshape(1, 4, 4, 1)], {"block_size": 2},
         id="int32"),
    Case("DepthToSpace", [r(1, 2, 2, 8)], {"block_size": 2}),
    Case("DepthToSpace", [r(1, 8, 2, 2)], {"block_size": 2, **NCHW}, id="NCHW", tf=False),
]

CASES = (CONV2D + CONV2D_BACKPROPS + DEPTHWISE + CONV3D + MAX_POOL + POOL3D + AVG_POOL +
         BATCH_NORM + LRN + SPACE_DEPTH)
