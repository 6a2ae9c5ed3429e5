"""Graph plumbing: placeholders, constants, identities and the gradient stoppers."""

import numpy as np

from core import build
from core import dtypes as dt
from core.errors import GraphError
from core.ops.common import same_dtype, unary
from core.registry import Attr, defop, gradient, not_differentiable
from core.shapes import compatible, format_shape


def _placeholder_infer(node):
    return [(node.attrs["dtype"], node.attrs["shape"])]


@defop("Placeholder", inputs=(), infer=_placeholder_infer, foldable=False,
       attrs={"dtype": Attr("type"), "shape": Attr("shape", None)})
def placeholder(node):
    """A value supplied in `feeds`; evaluating it unfed is an error raised by the executor."""
    raise GraphError(f"You must feed a value for placeholder tensor {node.name!r}", node.name)


def _placeholder_with_default_infer(node):
    (default,) = node.inputs
    dtype, shape = node.attrs["dtype"], node.attrs["shape"]
    if default.dtype != dtype:
        raise GraphError(f"node {node.name!r}: the default has dtype {default.dtype.name}, "
                         f"not the declared {dtype.name}", node.name)
    if not compatible(default.shape, shape):
        raise GraphError(f"node {node.name!r}: the default has shape "
                         f"{format_shape(default.shape)}, not compatible with the declared "
                         f"{format_shape(shape)}", node.name)
    return [(dtype, shape)]


@defop("PlaceholderWithDefault", inputs=("input",), infer=_placeholder_with_default_infer,
       foldable=False, attrs={"dtype": Attr("type"), "shape": Attr("shape")})
def placeholder_with_default(node, value):
    return value


def _const_infer(node):
    value = node.attrs["value"]
    dtype = node.attrs.get("dtype") or value.dtype
    if value.dtype != dtype:
        raise GraphError(f"node {node.name!r}: value has dtype {value.dtype.name} but the "
                         f"attribute dtype says {dtype.name}", node.name)
    return [(value.dtype, value.shape)]


def _const_static_value(node):
    return [node.attrs["value"]]


@defop("Const", inputs=(), infer=_const_infer, static_value=_const_static_value,
       attrs={"value": Attr("tensor"), "dtype": Attr("type", None)})
def const(node):
    return node.attrs["value"]


@defop("Identity", inputs=("input",), infer=unary())
def identity(node, x):
    return x


@gradient("Identity", "PlaceholderWithDefault")
def _identity_grad(op, grad):
    return grad


def _identity_n_infer(node):
    return [(t.dtype, t.shape) for t in node.inputs]


@defop("IdentityN", inputs=("input*",), infer=_identity_n_infer)
def identity_n(node, *xs):
    return tuple(xs)


@gradient("IdentityN")
def _identity_n_grad(op, *grads):
    return list(grads)


@defop("StopGradient", inputs=("input",), infer=unary())
def stop_gradient(node, x):
    """Identity forward; no gradient flows back (TensorFlow's tf.stop_gradient)."""
    return x


@defop("PreventGradient", inputs=("input",), infer=unary(),
       attrs={"message": Attr("string", "")})
def prevent_gradient(node, x):
    """Identity forward; asking for its gradient raises LookupError."""
    return x


@defop("NoOp", inputs=(), infer=lambda node: [], foldable=False)
def no_op(node):
    """Does nothing; orders evaluation through its control inputs (gate_gradients)."""
    return ()


@defop("CheckNumerics", inputs=("tensor",), infer=unary(dt.FLOATS),
       attrs={"message": Attr("string", "")}, foldable=False)
def check_numerics(node, x):
    """Identity, failing when x holds NaN or infinity."""
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{node.attrs['message']} : Tensor had NaN or Inf values")
    return x


@gradient("CheckNumerics")
def _check_numerics_grad(op, grad):
    message = f"Not a number (NaN) or infinity (Inf) values detected in gradient. {op.attrs['message']}"
    return build.op("CheckNumerics", grad, message=message)


def _ensure_shape_infer(node):
    (x,) = node.inputs
    shape = node.attrs["shape"]
    if not compatible(x.shape, shape):
        raise GraphError(f"node {node.name!r} (EnsureShape): input shape {format_shape(x.shape)} "
                         f"is not compatible with {format_shape(shape)}", node.name)
    return [(x.dtype, shape if shape is not None else x.shape)]


@defop("EnsureShape", inputs=("input",), infer=_ensure_shape_infer, attrs={"shape": Attr("shape")})
def ensure_shape(node, x):
    if not compatible(x.shape, node.attrs["shape"]):
        raise ValueError(f"Shape of tensor {format_shape(x.shape)} is not compatible with "
                         f"expected shape {format_shape(node.attrs['shape'])}")
    return x


@gradient("EnsureShape")
def _ensure_shape_grad(op, grad):
    return grad


not_differentiable("Placeholder", "Const", "StopGradient", "NoOp")
