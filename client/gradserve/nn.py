"""`gradserve.nn`: neural-network ops, emitted as `tf.nn` emits them."""

from collections.abc import Sequence
from typing import Any

import numpy as np

from gradserve import array_ops, dtypes, math_ops
from gradserve.framework import Shape, Spec, Tensor, convert_to_tensor, op_scope
from gradserve.gen import gen_op, like
from gradserve.math_ops import sigmoid, tanh

__all__ = [
    "bias_add",
    "conv2d",
    "elu",
    "l2_loss",
    "leaky_relu",
    "log_softmax",
    "max_pool2d",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "sigmoid_cross_entropy_with_logits",
    "softmax",
    "softmax_cross_entropy_with_logits",
    "softplus",
    "softsign",
    "sparse_softmax_cross_entropy_with_logits",
    "tanh",
]


def _activation(op_type: str, arg: str = "features") -> Any:
    def op(features: Any, name: str | None = None) -> Tensor:
        return gen_op(op_type, name, [(arg, features, None)], like).outputs[0]
    op.__name__ = op.__qualname__ = op_type.lower()
    op.__doc__ = f"Adds a `{op_type}` op: elementwise, like its input."
    return op


relu, relu6, elu, selu = map(_activation, ("Relu", "Relu6", "Elu", "Selu"))
softplus, softsign = map(_activation, ("Softplus", "Softsign"))
l2_loss = _activation("L2Loss", "t")
l2_loss.__doc__ = "sum(t ** 2) / 2, a scalar (L2Loss)."


def leaky_relu(features: Any, alpha: float = 0.2, name: str | None = None) -> Tensor:
    """max(alpha * features, features) (LeakyRelu)."""
    with op_scope(name, "LeakyRelu", [features, alpha]) as (_, scope):
        features = convert_to_tensor(features, name="features")
        if dtypes.is_integer(features.dtype):
            features = math_ops.cast(features, "float32")
        return gen_op("LeakyRelu", scope, [("features", features, None)], like,
                      {"alpha": float(np.float32(alpha))}).outputs[0]


def _last_axis_op(op_type: str) -> Any:
    def op(logits: Any, axis: int | None = None, name: str | None = None) -> Tensor:
        logits = convert_to_tensor(logits)
        if axis not in (None, -1) and (logits.shape is None or axis != len(logits.shape) - 1):
            raise NotImplementedError(f"{op_type} over an axis other than the last")
        return gen_op(op_type, name, [("logits", logits, None)], like).outputs[0]
    op.__doc__ = f"{op_type} over the last axis."
    return op


softmax, log_softmax = _last_axis_op("Softmax"), _last_axis_op("LogSoftmax")


def bias_add(value: Any, bias: Any, data_format: str | None = None,
             name: str | None = None) -> Tensor:
    """`value` plus the 1-D `bias` along its channel axis (BiasAdd)."""
    with op_scope(name, "BiasAdd", [value, bias]) as (_, scope):
        value = convert_to_tensor(value, name="input")
        bias = convert_to_tensor(bias, value.dtype, name="bias")
        layout = "NCHW" if data_format and data_format.startswith("NC") else "NHWC"
        return gen_op("BiasAdd", scope, [("value", value, None), ("bias", bias, 0)], like,
                      {"data_format": layout}).outputs[0]


def softmax_cross_entropy_with_logits(labels: Any, logits: Any, axis: int = -1,
                                      name: str | None = None) -> Tensor:
    """-sum(labels * log_softmax(logits)) over the last axis (v2: gradients flow to the
    labels too): logits and labels flattened to matrices, the loss reshaped back."""
    if axis != -1:
        raise NotImplementedError("softmax_cross_entropy_with_logits over an axis other "
                                  "than the last (-1)")
    with op_scope(name, "softmax_cross_entropy_with_logits", [logits, labels]) as (_, scope):
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, name="labels")
        to_float32 = logits.dtype == dtypes.float16
        precise = math_ops.cast(logits, "float32") if to_float32 else logits
        labels = math_ops.cast(labels, precise.dtype)
        input_rank = array_ops.rank(precise)
        static = logits.shape
        input_shape = array_ops.shape(precise)
        precise, labels = _flatten_outer_dims(precise), _flatten_outer_dims(labels)
        cost = gen_op("SoftmaxCrossEntropyWithLogits", scope,
                      [("features", precise, None), ("labels", labels, 0)],
                      lambda f, _: [(f.dtype, f.shape and f.shape[:1]), (f.dtype, f.shape)]
                      ).outputs[0]
        output_shape = array_ops.slice(input_shape, [0], [math_ops.subtract(input_rank, 1)])
        cost = array_ops.reshape(cost, output_shape)
        if static is not None:
            cost.set_shape(static[:-1])
        return math_ops.cast(cost, logits.dtype) if to_float32 else cost


def _flatten_outer_dims(logits: Tensor) -> Tensor:
    rank = array_ops.rank(logits)
    last_dim_size = array_ops.slice(array_ops.shape(logits), [math_ops.subtract(rank, 1)], [1])
    output = array_ops.reshape(logits, array_ops.concat([[-1], last_dim_size], 0))
    shape = logits.shape
    if shape is not None and all(d is not None for d in shape[:-1]):
        output.set_shape((int(np.prod(shape[:-1])), shape[-1]))  # type: ignore[arg-type]
    return output


def sparse_softmax_cross_entropy_with_logits(labels: Any, logits: Any,
                                             name: str | None = None) -> Tensor:
    """-log_softmax(logits)[label] over the last axis, for integer class `labels`."""
    with op_scope(name, "SparseSoftmaxCrossEntropyWithLogits", [labels, logits]):
        labels, logits = convert_to_tensor(labels), convert_to_tensor(logits)
        to_float32 = logits.dtype == dtypes.float16
        precise = math_ops.cast(logits, "float32") if to_float32 else logits
        labels_static = labels.shape
        labels_shape = array_ops.shape(labels)
        known = _known(labels_static) and logits.shape is not None and _known(logits.shape[:-1])
        if logits.shape is not None and len(logits.shape) == 0:
            raise ValueError(f"Logits cannot be scalars - received shape {logits.shape}.")
        if logits.shape is not None and labels_static is not None \
                and len(labels_static) != len(logits.shape) - 1:
            raise ValueError(f"`labels.shape.rank` must equal `logits.shape.rank - 1`. Received: "
                             f"labels.shape={labels_static} and logits.shape={logits.shape}")
        if logits.shape is not None and len(logits.shape) == 2:
            cost = _sparse_xent(precise, labels, name)
        elif not known:
            raise NotImplementedError("sparse_softmax_cross_entropy_with_logits of logits of "
                                      "rank other than 2 needs fully known static shapes")
        else:
            num_classes = array_ops.shape(logits)[array_ops.rank(logits) - 1]
            precise = array_ops.reshape(precise, [-1, num_classes])
            labels = array_ops.reshape(labels, [-1])
            cost = array_ops.reshape(_sparse_xent(precise, labels, name), labels_shape)
            cost.set_shape(labels_static)
        return math_ops.cast(cost, dtypes.float16) if to_float32 else cost


def _sparse_xent(logits: Tensor, labels: Tensor, name: str | None) -> Tensor:
    return gen_op("SparseSoftmaxCrossEntropyWithLogits", name,
                  [("features", logits, None), ("labels", labels, None)],
                  lambda f, lab: [(f.dtype, lab.shape), (f.dtype, f.shape)]).outputs[0]


def sigmoid_cross_entropy_with_logits(labels: Any, logits: Any,
                                      name: str | None = None) -> Tensor:
    """The logistic loss, computed stably: max(x, 0) - x * z + log(1 + exp(-|x|))."""
    with op_scope(name, "logistic_loss", [logits, labels]) as (_, scope):
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, name="labels")
        if logits.shape is not None and labels.shape is not None and (
                len(logits.shape) != len(labels.shape) or any(
                    a is not None and b is not None and a != b
                    for a, b in zip(logits.shape, labels.shape))):
            raise ValueError(f"`logits` and `labels` must have the same shape, received "
                             f"({logits.shape} vs {labels.shape}).")
        zeros = array_ops.zeros_like(logits, dtype=logits.dtype)
        cond = logits >= zeros
        relu_logits = array_ops.select(cond, logits, zeros)
        neg_abs_logits = array_ops.select(cond, -logits, logits)
        return math_ops.add(relu_logits - logits * labels,
                            math_ops.log1p(math_ops.exp(neg_abs_logits)), name=scope)


def _sequence(value: int | Sequence[int] | None, channel_index: int) -> list[int]:
    """TensorFlow's _get_sequence for 2-D windows: [1, h, w, 1] (NHWC) or [1, 1, h, w]."""
    if value is None:
        return [1, 1, 1, 1]
    values = [value] * 2 if isinstance(value, int) else list(value)
    if len(values) == 1:
        values *= 2
    if len(values) == 4:
        return values
    return [1, *values, 1] if channel_index == 3 else [1, 1, *values]


def _window_shape(x: Shape, window: list[int], strides: list[int], dilations: list[int],
                  padding: str, out_channels: int | None, data_format: str) -> Shape:
    if x is None or len(x) != 4:
        return None
    spatial = (1, 2) if data_format == "NHWC" else (2, 3)
    dims = list(x)
    for axis in spatial:
        size = dims[axis]
        if size is not None:
            span = (window[axis] - 1) * dilations[axis] + 1
            size = -(-(size if padding == "SAME" else size - span + 1) // strides[axis])
        dims[axis] = size
    if out_channels is not None:
        dims[3 if data_format == "NHWC" else 1] = out_channels
    return tuple(dims)


def conv2d(input: Any, filters: Any, strides: int | Sequence[int], padding: str,
           data_format: str = "NHWC", dilations: int | Sequence[int] | None = None,
           name: str | None = None) -> Tensor:
    """The 2-D convolution of `input` with `filters` [height, width, in, out] (Conv2D)."""
    channel = 1 if data_format.startswith("NC") else 3
    stride_list, dilation_list = _sequence(strides, channel), _sequence(dilations, channel)

    def infer(x: Tensor, f: Tensor) -> list[Spec]:
        window = [1, 1, 1, 1] if f.shape is None else [1, f.shape[0], f.shape[1], 1]
        if channel == 1:
            window = [1, 1, *window[1:3]]
        out = None if f.shape is None else f.shape[3]
        return [(x.dtype, _window_shape(x.shape, window, stride_list, dilation_list,  # type: ignore[arg-type]
                                        padding, out, data_format))]
    return gen_op("Conv2D", name, [("input", input, None), ("filter", filters, 0)], infer,
                  {"strides": stride_list, "padding": padding, "explicit_paddings": [],
                   "data_format": data_format, "dilations": dilation_list}).outputs[0]


def max_pool2d(input: Any, ksize: int | Sequence[int], strides: int | Sequence[int],
               padding: str, data_format: str = "NHWC", name: str | None = None) -> Tensor:
    """The maximum over 2-D windows of `input` (MaxPool)."""
    channel = 1 if data_format.startswith("NC") else 3
    window, stride_list = _sequence(ksize, channel), _sequence(strides, channel)
    with op_scope(name, "MaxPool2d", [input]) as (_, scope):
        return gen_op("MaxPool", scope, [("input", input, None)],
                      lambda x: [(x.dtype, _window_shape(x.shape, window, stride_list,
                                                         [1, 1, 1, 1], padding, None,
                                                         data_format))],
                      {"ksize": window, "strides": stride_list, "padding": padding,
                       "explicit_paddings": [], "data_format": data_format}).outputs[0]


def _known(shape: Shape) -> bool:
    return shape is not None and all(d is not None for d in shape)
