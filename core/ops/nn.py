"""Neural-network ops: activations and the (gradients, features) ops their rules emit,
softmax and cross entropy, bias addition and the L2 loss."""

import numpy as np

from core import build
from core import dtypes as dt
from core.graph import Tensor
from core.ops.common import check_dtype, check_rank, error, same_dtype, unary
from core.registry import Attr, defop, gradient
from core.shapes import broadcast, compatible, dims_compatible, format_shape, merge

SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
ALPHA = {"alpha": Attr("float", 0.2)}
BLAS_DTYPES = frozenset(dt.DTYPES[name] for name in ("float32", "float64", "complex64",
                                                     "complex128"))


def _same_shape(allowed):
    """Shape rule of a (gradients, features) op: two inputs of one dtype and one shape."""
    def infer(node):
        g, f = node.inputs
        dtype = same_dtype(node, [g, f], allowed)
        if not compatible(g.shape, f.shape):
            raise error(node, f"inputs must have the same shape, got {format_shape(g.shape)} "
                              f"and {format_shape(f.shape)}")
        return [(dtype, merge(g.shape, f.shape))]
    return infer


def _elementwise(name, inputs, fn, dtypes=dt.FLOATS, attrs=None, doc=""):
    """Registers an elementwise op computed by `fn(*arrays, **attrs)`, in the input dtype."""
    def kernel(node, *arrays):
        result = fn(*arrays, **{k: node.attrs[k] for k in attrs or {}})
        return np.asarray(result, dtype=arrays[0].dtype)
    kernel.__doc__ = doc
    infer = unary(dtypes) if len(inputs) == 1 else _same_shape(dtypes)
    return defop(name, inputs=inputs, infer=infer, attrs=attrs, dtypes=dtypes)(kernel)


# -- activations ---------------------------------------------------------------------------

_elementwise("Relu", ("features",), lambda x: np.maximum(x, 0), dt.REAL)
_elementwise("Relu6", ("features",), lambda x: np.clip(x, 0, 6), dt.REAL)
_elementwise("Elu", ("features",), lambda x: np.where(x < 0, np.expm1(x), x))
_elementwise("Selu", ("features",), lambda x: np.where(
    x < 0, SELU_SCALE * SELU_ALPHA * np.expm1(x), SELU_SCALE * x))
_elementwise("LeakyRelu", ("features",), lambda x, alpha: np.where(x > 0, x, alpha * x),
             attrs=ALPHA)
_elementwise("Softplus", ("features",), lambda x: np.logaddexp(0, x), doc="log(1 + exp(x))")
_elementwise("Softsign", ("features",), lambda x: x / (1 + np.abs(x)), doc="x / (1 + |x|)")

GRAD_INPUTS = ("gradients", "features")
# g times a 0/1 mask, as TensorFlow computes them (so NaN where g is and the mask 0), and
# branch-free: np.where on a random mask measured 10x slower
_elementwise("ReluGrad", GRAD_INPUTS, lambda g, f: g * (f > 0), dt.REAL,
             doc="g (f > 0), so 0 at f = 0")
_elementwise("Relu6Grad", GRAD_INPUTS, lambda g, f: g * ((f > 0) & (f < 6)), dt.REAL,
             doc="g (0 < f < 6)")
_elementwise("EluGrad", ("gradients", "outputs"), lambda g, y: np.where(y < 0, g * (y + 1), g),
             doc="g (y + 1) where y < 0, else g; y = elu(x)")
_elementwise("SeluGrad", ("gradients", "outputs"), lambda g, y: np.where(
    y < 0, g * (y + SELU_SCALE * SELU_ALPHA), g * SELU_SCALE),
    doc="g (y + scale alpha) where y < 0, else g scale; y = selu(x)")
_elementwise("LeakyReluGrad", GRAD_INPUTS, lambda g, f, alpha: np.where(f > 0, g, alpha * g),
             attrs=ALPHA, doc="g where f > 0, else alpha g")
_elementwise("SoftplusGrad", GRAD_INPUTS, lambda g, f: g / (1 + np.exp(-f)),
             doc="g sigmoid(f)")
_elementwise("SoftsignGrad", GRAD_INPUTS, lambda g, f: g / np.square(1 + np.abs(f)),
             doc="g / (1 + |f|)^2")


@gradient("Relu")
def _relu_grad(op, grad):
    return build.op("ReluGrad", grad, op.output(0))


@gradient("Relu6")
def _relu6_grad(op, grad):
    return build.op("Relu6Grad", grad, op.output(0))


@gradient("Elu")
def _elu_grad(op, grad):
    return build.op("EluGrad", grad, op.output(0))


@gradient("Selu")
def _selu_grad(op, grad):
    return build.op("SeluGrad", grad, op.output(0))


@gradient("LeakyRelu")
def _leaky_relu_grad(op, grad):
    return build.op("LeakyReluGrad", grad, op.inputs[0], alpha=op.attrs["alpha"])


@gradient("Softplus")
def _softplus_grad(op, grad):
    """d log(1 + exp(x)) = sigmoid(x) dx."""
    return grad * build.op("Sigmoid", op.inputs[0])


@gradient("Softsign")
def _softsign_grad(op, grad):
    return build.op("SoftsignGrad", grad, op.inputs[0])


@gradient("ReluGrad", "Relu6Grad", "LeakyReluGrad")
def _masked_grad_grad(op, grad):
    """Linear in g with a mask that is piecewise constant in f: d g = the same op of the
    incoming gradient, d f = 0."""
    g, f = op.inputs
    return build.op(op.op, grad, f, **op.attrs), build.zeros_like(f)


@gradient("EluGrad", "SeluGrad")
def _exponential_grad_grad(op, grad):
    """out = g (y + c) where y < 0, else g k: d g = the same op of the incoming gradient,
    d y = grad * g where y < 0, else 0."""
    g, y = op.inputs
    negative = build.op("Less", y, build.constant(y, 0))
    return build.op(op.op, grad, y), build.select(negative, grad * g, build.zeros_like(y))


@gradient("SoftplusGrad")
def _softplus_grad_grad(op, grad):
    """out = g sigmoid(f): d g = sigmoid(f) grad, d f = grad g / (exp(-f) + 2 + exp(f))."""
    g, f = op.inputs
    curvature = build.op("Exp", -f) + build.constant(f, 2.0) + build.op("Exp", f)
    return build.op("SoftplusGrad", grad, f), grad * g / curvature


# SoftsignGrad has no gradient rule, as in TensorFlow: a second derivative of Softsign
# raises LookupError there too.


# -- softmax and cross entropy ----------------------------------------------------------------

def _softmax_infer(node):
    x = node.inputs[0]
    check_dtype(node, x, dt.FLOATS)
    if x.shape is not None and not x.shape:
        raise error(node, "logits must have rank >= 1, got a scalar")
    return [(x.dtype, x.shape)]


def _log_softmax(x):
    shifted = x - np.max(x, -1, keepdims=True, initial=-np.inf)
    return shifted - np.log(np.sum(np.exp(shifted), -1, keepdims=True))


@defop("Softmax", inputs=("logits",), infer=_softmax_infer, dtypes=dt.FLOATS)
def softmax(node, x):
    """exp(x) / sum(exp(x)) over the last dimension."""
    return np.exp(_log_softmax(x))


@defop("LogSoftmax", inputs=("logits",), infer=_softmax_infer, dtypes=dt.FLOATS)
def log_softmax(node, x):
    """x - log(sum(exp(x))) over the last dimension."""
    return _log_softmax(x)


@gradient("Softmax")
def _softmax_grad(op, grad):
    """With y = softmax(x): dx = (grad - sum(grad * y)) * y, the sum over the last axis."""
    y = op.output(0)
    return (grad - build.reduce_sum(grad * y, -1, keep_dims=True)) * y


@gradient("LogSoftmax")
def _log_softmax_grad(op, grad):
    """With y = log_softmax(x): dx = grad - sum(grad) * exp(y), the sum over the last axis."""
    return grad - build.reduce_sum(grad, -1, keep_dims=True) * build.op("Exp", op.output(0))


def _cross_entropy_infer(node):
    features, labels = node.inputs
    dtype = same_dtype(node, [features, labels], dt.FLOATS)
    shape = broadcast(features.shape, labels.shape, node.name)
    if shape is not None and len(shape) != 2:
        raise error(node, f"features and labels must be matrices [batch, classes] (or "
                          f"broadcast to one), got {format_shape(features.shape)} and "
                          f"{format_shape(labels.shape)}")
    shape = shape or (None, None)
    return [(dtype, shape[:1]), (dtype, shape)]


@defop("SoftmaxCrossEntropyWithLogits", inputs=("features", "labels"),
       infer=_cross_entropy_infer, dtypes=dt.FLOATS, broadcasts=True)
def softmax_cross_entropy(node, features, labels):
    """loss = -sum(labels * log_softmax(features)) per row; backprop = softmax - labels."""
    log_p = _log_softmax(features)
    return -np.sum(labels * log_p, -1), np.exp(log_p) - labels


def _sparse_cross_entropy_infer(node):
    features, labels = node.inputs
    check_dtype(node, features, dt.FLOATS)
    check_dtype(node, labels, dt.INDEX, "labels")
    check_rank(node, features, 2, what="features")
    check_rank(node, labels, 1, what="labels")
    rows = None if features.shape is None else features.shape[0]
    batch = None if labels.shape is None else labels.shape[0]
    if not dims_compatible(rows, batch):
        raise error(node, f"features have {rows} rows but labels {batch} entries")
    batch = rows if rows is not None else batch
    classes = None if features.shape is None else features.shape[1]
    return [(features.dtype, (batch,)), (features.dtype, (batch, classes))]


@defop("SparseSoftmaxCrossEntropyWithLogits", inputs=("features", "labels"),
       infer=_sparse_cross_entropy_infer, dtypes=dt.FLOATS)
def sparse_softmax_cross_entropy(node, features, labels):
    """loss = -log_softmax(features)[label] per row; backprop = softmax - one_hot(label)."""
    classes = features.shape[1]
    if len(labels) != len(features):
        raise ValueError(f"logits and labels must have the same first dimension, got "
                         f"{list(features.shape)} and {list(labels.shape)}")
    outside = (labels < 0) | (labels >= classes)
    if np.any(outside):
        raise ValueError(f"Received a label value of {labels[outside][0]} which is outside the "
                         f"valid range of [0, {classes})")
    log_p = _log_softmax(features)
    rows = np.arange(len(labels))
    backprop = np.exp(log_p)
    backprop[rows, labels] -= 1
    return -log_p[rows, labels], backprop


def _rows_times(vector: Tensor, matrix: Tensor) -> Tensor:
    """vector[:, None] * matrix."""
    return build.op("ExpandDims", vector, build.int_constant(vector, -1)) * matrix


def _logits_grad(op, grad_loss, grad_backprop):
    """grad_loss * backprop, plus, when the backprop output is itself differentiated (a
    second derivative), the Softmax gradient of grad_backprop: (gb - sum(gb * p)) * p,
    p = softmax(logits). A ZerosLike grad_backprop (no gradient) adds nothing, as TF."""
    grad = _rows_times(grad_loss, op.output(1))
    if grad_backprop.node.op != "ZerosLike":
        p = build.op("Softmax", op.inputs[0])
        grad = grad + (grad_backprop - build.reduce_sum(grad_backprop * p, -1, keep_dims=True)) * p
    return grad


@gradient("SoftmaxCrossEntropyWithLogits")
def _softmax_cross_entropy_grad(op, grad_loss, grad_backprop):
    """d labels = -grad_loss * log_softmax(logits)."""
    log_p = build.op("LogSoftmax", op.inputs[0])
    return _logits_grad(op, grad_loss, grad_backprop), _rows_times(grad_loss, -log_p)


@gradient("SparseSoftmaxCrossEntropyWithLogits")
def _sparse_softmax_cross_entropy_grad(op, grad_loss, grad_backprop):
    return _logits_grad(op, grad_loss, grad_backprop), None


# -- bias addition and the L2 loss ----------------------------------------------------------

DATA_FORMAT = {"data_format": Attr("string", "NHWC")}


def _channel_axis(node) -> int:
    """The bias dimension: the last for NHWC (and BiasAddV1), 1 for NCHW."""
    data_format = node.attrs.get("data_format", "NHWC")
    if data_format not in ("NHWC", "NCHW"):
        raise error(node, f"data_format must be NHWC or NCHW, got {data_format!r}")
    return 1 if data_format == "NCHW" else -1


def _check_value_rank(node, value, axis):
    least = 3 if axis == 1 else 2
    if value.shape is not None and len(value.shape) < least:
        raise error(node, f"input must have rank >= {least}, got shape "
                          f"{format_shape(value.shape)}")


def _bias_add_infer(node):
    value, bias = node.inputs
    dtype = same_dtype(node, [value, bias], dt.NUMERIC)
    check_rank(node, bias, 1, what="bias")
    axis = _channel_axis(node)
    _check_value_rank(node, value, axis)
    if value.shape is None:
        return [(dtype, None)]
    channels = None if bias.shape is None else bias.shape[0]
    if not dims_compatible(value.shape[axis], channels):
        raise error(node, f"bias has {channels} entries but the input has "
                          f"{value.shape[axis]} channels")
    shape = list(value.shape)
    shape[axis] = merge((shape[axis],), (channels,))[0]
    return [(dtype, tuple(shape))]


def _bias_add(node, value, bias):
    """value + bias along the channel dimension."""
    axis = _channel_axis(node) % value.ndim
    if value.shape[axis] != bias.shape[0]:
        raise ValueError(f"Must provide as many biases as the channel dimension of the input "
                         f"tensor: {list(bias.shape)} vs. {list(value.shape)}")
    return value + bias.reshape((-1,) + (1,) * (value.ndim - 1 - axis))


defop("BiasAdd", inputs=("value", "bias"), infer=_bias_add_infer, attrs=DATA_FORMAT,
      dtypes=dt.NUMERIC)(_bias_add)
defop("BiasAddV1", inputs=("value", "bias"), infer=_bias_add_infer, dtypes=dt.NUMERIC)(_bias_add)


def _bias_add_grad_infer(node):
    (g,) = node.inputs
    check_dtype(node, g, dt.NUMERIC)
    axis = _channel_axis(node)
    _check_value_rank(node, g, axis)
    return [(g.dtype, (None if g.shape is None else g.shape[axis],))]


@defop("BiasAddGrad", inputs=("out_backprop",), infer=_bias_add_grad_infer, attrs=DATA_FORMAT,
       dtypes=dt.NUMERIC)
def bias_add_grad(node, g):
    """The sum of out_backprop over every dimension but the channel one. Channels last, in
    float32, float64 or complex: a vector of ones times out_backprop as a matrix (one BLAS
    call, 10x faster than np.sum over the leading axes on cnn's activations)."""
    axis = _channel_axis(node) % g.ndim
    if axis == g.ndim - 1 and g.dtype in BLAS_DTYPES and g.size:
        rows = g.reshape(-1, g.shape[-1])
        return np.ones(rows.shape[0], g.dtype) @ rows
    return np.sum(g, tuple(i for i in range(g.ndim) if i != axis), dtype=g.dtype)


@gradient("BiasAdd")
def _bias_add_grad(op, grad):
    return grad, build.op("BiasAddGrad", grad, data_format=op.attrs["data_format"])


@gradient("BiasAddV1")
def _bias_add_v1_grad(op, grad):
    """The bias gradient: the sum over every dimension but the last."""
    zero, one = build.int_constant(grad, 0), build.int_constant(grad, 1)
    return grad, build.reduce_sum(grad, build.op("Range", zero, build.rank(grad) - one, one))


@gradient("BiasAddGrad")
def _bias_add_grad_grad(op, grad):
    """The channel gradient broadcast back along every other dimension: reshaped to the
    input's shape with 1 everywhere but the channel dimension, then broadcast."""
    g = op.inputs[0]
    g_shape = build.shape(g)
    rank = build.size(g_shape)
    channel = build.int_constant(rank, 1) if _channel_axis(op) == 1 else \
        rank - build.int_constant(rank, 1)
    positions = build.op("Range", build.int_constant(rank, 0), rank, build.int_constant(rank, 1))
    kept = build.select(build.op("Equal", positions, channel), g_shape, build.ones_like(g_shape))
    return build.op("BroadcastTo", build.reshape(grad, kept), g_shape)


@defop("L2Loss", inputs=("t",), infer=lambda node: [(check_dtype(node, node.inputs[0],
                                                                  dt.FLOATS), ())],
       dtypes=dt.FLOATS)
def l2_loss(node, t):
    """sum(t^2) / 2."""
    return np.asarray(np.sum(t * t) / 2, dtype=t.dtype)


@gradient("L2Loss")
def _l2_loss_grad(op, grad):
    """d sum(t^2) / 2 = t dt."""
    return op.inputs[0] * grad
