"""Elementwise math: arithmetic, the usual functions, comparisons, logic, casts,
selection, clipping, and LinSpace.

Each op's kernel sits next to its gradient rule; a rule returns gradients shaped like
the (broadcast) output and the backward builder reduces them to each input's shape.
"""

import numpy as np

from core import build
from core import dtypes as dt
from core.errors import GraphError
from core.graph import Tensor
from core.ops.common import (binary, check_dtype, check_rank, error, same_dtype, scalar_value,
                             unary)
from core.registry import Attr, defop, gradient, not_differentiable
from core.shapes import broadcast, compatible, dims_compatible, merge

FLOATING = dt.FLOATS | dt.COMPLEX


def _elementwise(name: str, fn, dtypes=FLOATING, out_dtype=None, doc: str = ""):
    """Registers a one-input elementwise op computed by the NumPy function `fn`."""
    def kernel(node, x):
        return fn(x)
    kernel.__doc__ = doc
    return defop(name, inputs=("x",), infer=unary(dtypes, out_dtype), dtypes=dtypes)(kernel)


def _binary(name: str, fn, dtypes=dt.NUMERIC, out_dtype=None, broadcasts=True, doc: str = "",
            inputs=("x", "y")):
    """Registers a broadcasting two-input op computed by the NumPy function `fn`."""
    def kernel(node, x, y):
        return fn(x, y)
    kernel.__doc__ = doc
    return defop(name, inputs=inputs, infer=binary(dtypes, out_dtype), dtypes=dtypes,
                 broadcasts=broadcasts)(kernel)


# -- arithmetic ------------------------------------------------------------------------

_binary("AddV2", np.add)
_binary("Add", np.add)
_binary("Sub", np.subtract)
_binary("Mul", np.multiply)
_binary("RealDiv", np.true_divide)


def _integer_safe(fn):
    def kernel(x, y):
        if x.dtype in dt.INTEGERS and np.broadcast(x, y).size and np.any(y == 0):
            raise ValueError("Integer division by zero")
        return fn(x, y)
    return kernel


def _div(x, y):
    """Division; truncating toward zero for integers, as TensorFlow's Div."""
    if x.dtype in dt.INTEGERS:
        return (np.abs(x) // np.abs(y) * np.sign(x) * np.sign(y)).astype(x.dtype)
    return np.true_divide(x, y)


def _truncate_div(x, y):
    """x / y rounded toward zero, for floats too."""
    return _div(x, y) if x.dtype in dt.INTEGERS else np.trunc(x / y)


_binary("Div", _integer_safe(_div))
_binary("TruncateDiv", _integer_safe(_truncate_div), dt.REAL, doc="x / y rounded toward zero")
_binary("TruncateMod", _integer_safe(np.fmod), dt.REAL, doc="The remainder of TruncateDiv")
_binary("FloorDiv", _integer_safe(np.floor_divide), dt.REAL)
_binary("FloorMod", _integer_safe(np.mod), dt.REAL)
_binary("Pow", np.power, FLOATING | dt.INDEX)
_binary("Maximum", np.maximum, dt.REAL)
_binary("Minimum", np.minimum, dt.REAL)
_binary("SquaredDifference", lambda x, y: np.square(x - y), FLOATING | dt.INDEX)
_binary("DivNoNan", lambda x, y: np.where(y == 0, 0, x / np.where(y == 0, 1, y)).astype(x.dtype),
        FLOATING, doc="x / y, and 0 where y is 0")
_binary("MulNoNan", lambda x, y: np.where(y == 0, 0, x * y), FLOATING,
        doc="x * y, and 0 where y is 0 (even where x is NaN or infinite)")
_binary("Atan2", np.arctan2, dt.FLOATS, inputs=("y", "x"), doc="The angle of the point (x, y)")


@gradient("AddV2", "Add")
def _add_grad(op, grad):
    return grad, grad


@gradient("Sub")
def _sub_grad(op, grad):
    return grad, -grad


@gradient("Mul")
def _mul_grad(op, grad):
    """d(xy) = y dx + x dy (conjugated for complex)."""
    x, y = op.inputs
    return grad * build.conj(y), build.conj(x) * grad


@gradient("RealDiv", "Div")
def _div_grad(op, grad):
    """d(x/y) = dx / y - x / y^2 dy."""
    x, y = (build.conj(t) for t in op.inputs)
    return grad / y, grad * ((-x / y) / y)


@gradient("DivNoNan")
def _div_no_nan_grad(op, grad):
    """As RealDiv's, every division taken as 0 where the divisor is 0."""
    x, y = (build.conj(t) for t in op.inputs)
    return (build.op("DivNoNan", grad, y),
            grad * build.op("DivNoNan", build.op("DivNoNan", -x, y), y))


@gradient("MulNoNan")
def _mul_no_nan_grad(op, grad):
    """As Mul's, each product taken as 0 where its second factor is 0."""
    x, y = op.inputs
    return build.op("MulNoNan", grad, y), build.op("MulNoNan", x, grad)


@gradient("Atan2")
def _atan2_grad(op, grad):
    """d atan2(y, x) = (x dy - y dx) / (x^2 + y^2)."""
    y, x = op.inputs
    grad_inv = grad / (build.op("Square", y) + build.op("Square", x))
    return x * grad_inv, -y * grad_inv


@gradient("FloorMod")
def _floor_mod_grad(op, grad):
    """x mod y = x - floor(x / y) y: d = dx - floor(x / y) dy."""
    x, y = op.inputs
    return grad, -grad * build.op("FloorDiv", x, y)


@gradient("Pow")
def _pow_grad(op, grad):
    """d(x^y) = y x^(y-1) dx + x^y log(x) dy, with log(x) taken as 0 where x <= 0
    (x != 0 for complex) to avoid a false singularity."""
    x, y = (build.conj(t) for t in op.inputs)
    z = build.conj(op.output(0))
    gx = grad * y * x ** (y - build.constant(y, 1))
    if x.dtype in dt.COMPLEX:
        mask = build.op("NotEqual", x, build.constant(x, 0))
    else:
        mask = build.op("Greater", x, build.constant(x, 0))
    safe_x = build.select(mask, x, build.ones_like(x))
    log_x = build.select(mask, build.op("Log", safe_x), build.zeros_like(x))
    return gx, grad * z * log_x


def _select_grads(mask: Tensor, grad: Tensor):
    zeros = build.zeros_like(grad)
    return build.select(mask, grad, zeros), build.select(mask, zeros, grad)


@gradient("Maximum")
def _maximum_grad(op, grad):
    """The gradient goes to x where x >= y (ties to x), to y elsewhere."""
    return _select_grads(build.op("GreaterEqual", *op.inputs), grad)


@gradient("Minimum")
def _minimum_grad(op, grad):
    """The gradient goes to x where x <= y (ties to x), to y elsewhere."""
    return _select_grads(build.op("LessEqual", *op.inputs), grad)


@gradient("SquaredDifference")
def _squared_difference_grad(op, grad):
    """d(x-y)^2 = 2(x-y) dx - 2(x-y) dy."""
    x, y = op.inputs
    x_grad = (build.constant(grad, 2.0) * grad) * (x - y)
    return x_grad, -x_grad


def _add_n_infer(node):
    dtype = same_dtype(node, node.inputs, dt.NUMERIC)
    shape = node.inputs[0].shape
    for t in node.inputs[1:]:
        if t.shape == shape:
            continue
        if not compatible(shape, t.shape):
            raise GraphError(f"node {node.name!r} (AddN): all inputs must have the same shape",
                             node.name)
        shape = merge(shape, t.shape)
    return [(dtype, shape)]


@defop("AddN", inputs=("inputs*",), infer=_add_n_infer, dtypes=dt.NUMERIC)
def add_n(node, *xs):
    """The sum of inputs of one shape."""
    total = xs[0].copy()
    for x in xs[1:]:
        total += x
    return total


@gradient("AddN")
def _add_n_grad(op, grad):
    return [grad] * len(op.inputs)


# -- unary functions -------------------------------------------------------------------

_elementwise("Neg", np.negative, dt.NUMERIC)
_elementwise("Square", np.square, dt.NUMERIC)
_elementwise("Sqrt", np.sqrt)
_elementwise("Rsqrt", lambda x: 1 / np.sqrt(x))
_elementwise("Reciprocal", lambda x: 1 / x)
_elementwise("Inv", lambda x: 1 / x)
_elementwise("Exp", np.exp)
_elementwise("Log", np.log)
_elementwise("Log1p", np.log1p)
_elementwise("Abs", np.abs, dt.REAL)
_elementwise("Sign", np.sign, dt.NUMERIC)
_elementwise("Floor", np.floor, dt.FLOATS)
_elementwise("Ceil", np.ceil, dt.FLOATS)
_elementwise("Rint", np.rint, dt.FLOATS, doc="Rounds half to even")
_elementwise("Round", np.round, dt.FLOATS, doc="Rounds half to even")
_elementwise("Sin", np.sin)
_elementwise("Cos", np.cos)
_elementwise("Tanh", np.tanh)
_elementwise("Sigmoid", lambda x: _sigmoid(x))
_elementwise("Conj", np.conj, dt.COMPLEX)


def _sigmoid(x):
    """1 / (1 + exp(-x)), without overflow for large |x|."""
    if x.dtype in dt.COMPLEX:
        return 1 / (1 + np.exp(-x))
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


@gradient("Neg")
def _neg_grad(op, grad):
    return -grad


@gradient("Square")
def _square_grad(op, grad):
    """d x^2 = 2x dx."""
    x = build.conj(op.inputs[0])
    return grad * (x * build.constant(x, 2.0))


@gradient("Sqrt")
def _sqrt_grad(op, grad):
    return build.op("SqrtGrad", op.output(0), grad)


@gradient("Rsqrt")
def _rsqrt_grad(op, grad):
    return build.op("RsqrtGrad", op.output(0), grad)


@gradient("Reciprocal", "Inv")
def _reciprocal_grad(op, grad):
    return build.op("ReciprocalGrad", op.output(0), grad)


@gradient("Exp")
def _exp_grad(op, grad):
    """d exp(x) = exp(x) dx."""
    return grad * build.conj(op.output(0))


@gradient("Log")
def _log_grad(op, grad):
    """d log(x) = dx / x."""
    return grad * build.op("Reciprocal", build.conj(op.inputs[0]))


@gradient("Log1p")
def _log1p_grad(op, grad):
    """d log(1 + x) = dx / (1 + x)."""
    x = build.conj(op.inputs[0])
    return grad * build.op("Reciprocal", build.constant(x, 1) + x)


@gradient("Abs")
def _abs_grad(op, grad):
    """d|x| = sign(x) dx (0 at x = 0)."""
    return grad * build.op("Sign", op.inputs[0])


@gradient("Sign")
def _sign_grad(op, grad):
    """Zero everywhere, as TensorFlow returns."""
    return build.zeros_like(op.inputs[0])


@gradient("Sin")
def _sin_grad(op, grad):
    """d sin(x) = cos(x) dx."""
    return grad * build.op("Cos", build.conj(op.inputs[0]))


@gradient("Cos")
def _cos_grad(op, grad):
    """d cos(x) = -sin(x) dx."""
    return -grad * build.op("Sin", build.conj(op.inputs[0]))


@gradient("Tanh")
def _tanh_grad(op, grad):
    return build.op("TanhGrad", build.conj(op.output(0)), grad)


@gradient("Sigmoid")
def _sigmoid_grad(op, grad):
    return build.op("SigmoidGrad", build.conj(op.output(0)), grad)


@gradient("Conj")
def _conj_grad(op, grad):
    return build.op("Conj", grad) if grad.dtype in dt.COMPLEX else grad


def _unary_op(op_type: str):
    """The op as a function of one tensor, for the table below."""
    return lambda t: build.op(op_type, t)


_cos, _cosh, _sinh, _exp, _sqrt, _square, _reciprocal = map(
    _unary_op, ("Cos", "Cosh", "Sinh", "Exp", "Sqrt", "Square", "Reciprocal"))

# Trigonometric and hyperbolic functions and expm1, each with its gradient rule
# rule(grad, x), x the input conjugated: TensorFlow's formulas, term for term.
for _name, _kernel, _rule in (
    ("Tan", np.tan, lambda g, x: _square(_reciprocal(_cos(x))) * g),     # sec^2 x
    ("Asin", np.arcsin, lambda g, x: g * _reciprocal(_sqrt(1 - _square(x)))),
    ("Acos", np.arccos, lambda g, x: -g * _reciprocal(_sqrt(1 - _square(x)))),
    ("Atan", np.arctan, lambda g, x: g * _reciprocal(1 + _square(x))),
    ("Sinh", np.sinh, lambda g, x: g * _cosh(x)),
    ("Cosh", np.cosh, lambda g, x: g * _sinh(x)),
    ("Atanh", np.arctanh, lambda g, x: g * _reciprocal(1 - _square(x))),
    ("Expm1", np.expm1, lambda g, x: g * _exp(x)),
):
    _elementwise(_name, _kernel)
    gradient(_name)(lambda op, grad, rule=_rule: rule(grad, build.conj(op.inputs[0])))
_elementwise("Asinh", np.arcsinh)
_elementwise("Acosh", np.arccosh)


@gradient("Asinh")
def _asinh_grad(op, grad):
    """d asinh(x) = dx / sqrt(1 + x^2) = dx / cosh(y), y = asinh(x)."""
    return grad / _cosh(build.conj(op.output(0)))


@gradient("Acosh")
def _acosh_grad(op, grad):
    """d acosh(x) = dx / sqrt(x^2 - 1) = dx / sinh(y), y = acosh(x)."""
    return grad / _sinh(build.conj(op.output(0)))


# -- the helper ops the rules above emit, each differentiable itself --------------------

def _grad_helper(name: str, fn, doc: str):
    """Registers a (y, dy) -> dx op used by a first-order rule."""
    def kernel(node, y, dy):
        return fn(y, dy)
    kernel.__doc__ = doc
    return defop(name, inputs=("y", "dy"), infer=binary(FLOATING), dtypes=FLOATING)(kernel)


_grad_helper("SqrtGrad", lambda y, dy: dy * 0.5 / np.conj(y), "dy * 0.5 / y, y = sqrt(x)")
_grad_helper("RsqrtGrad", lambda y, dy: dy * -0.5 * np.conj(y) ** 3, "dy * -0.5 * y^3, y = rsqrt(x)")
_grad_helper("ReciprocalGrad", lambda y, dy: -dy * np.conj(y) * np.conj(y), "-dy * y^2, y = 1/x")
_grad_helper("TanhGrad", lambda y, dy: dy * (1 - y * y), "dy * (1 - y^2), y = tanh(x)")
_grad_helper("SigmoidGrad", lambda y, dy: dy * y * (1 - y), "dy * y * (1 - y), y = sigmoid(x)")


@gradient("SqrtGrad")
def _sqrt_grad_grad(op, grad):
    """out = 0.5 b / a: d out = -out/a da + 0.5/a db."""
    a = op.inputs[0]
    ga = grad / a
    return -build.conj(ga) * op.output(0), build.constant(ga, 0.5) * ga


@gradient("RsqrtGrad")
def _rsqrt_grad_grad(op, grad):
    """out = -0.5 b a^3: d out = -1.5 b a^2 da - 0.5 a^3 db."""
    a, b = op.inputs
    ca, cg = build.conj(a), build.conj(grad)
    return (build.constant(cg, -1.5) * cg * b * build.op("Square", ca),
            build.op("RsqrtGrad", ca, grad))


@gradient("ReciprocalGrad")
def _reciprocal_grad_grad(op, grad):
    """out = -b a^2: d out = -2 b a da - a^2 db."""
    a, b = op.inputs
    ca, cg = build.conj(a), build.conj(grad)
    return cg * build.constant(cg, -2.0) * b * ca, build.op("ReciprocalGrad", ca, grad)


@gradient("TanhGrad")
def _tanh_grad_grad(op, grad):
    """out = b (1 - a^2): d out = -2 a b da + (1 - a^2) db."""
    a, b = (build.conj(t) for t in op.inputs)
    return grad * build.constant(grad, -2.0) * b * a, build.op("TanhGrad", a, grad)


@gradient("SigmoidGrad")
def _sigmoid_grad_grad(op, grad):
    """out = b a (1 - a): d out = b (1 - 2a) da + a (1 - a) db."""
    a, b = (build.conj(t) for t in op.inputs)
    gb = grad * b
    return gb - build.constant(gb, 2.0) * gb * a, build.op("SigmoidGrad", a, grad)


# -- comparisons and selection ---------------------------------------------------------

for _name, _fn in (("Equal", np.equal), ("NotEqual", np.not_equal), ("Less", np.less),
                   ("LessEqual", np.less_equal), ("Greater", np.greater),
                   ("GreaterEqual", np.greater_equal)):
    _binary(_name, _fn, dt.ALL if "Equal" in _name and "Less" not in _name
            and "Greater" not in _name else dt.REAL, out_dtype=dt.BOOL_, broadcasts=False)
not_differentiable("Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual")
# TensorFlow registers rules for these that return None: the same as not differentiable.
not_differentiable("Floor", "Ceil", "Rint", "Round", "FloorDiv", "TruncateDiv")

_binary("LogicalAnd", np.logical_and, dt.BOOL, broadcasts=False)
_binary("LogicalOr", np.logical_or, dt.BOOL, broadcasts=False)
_elementwise("LogicalNot", np.logical_not, dt.BOOL)
_elementwise("IsNan", np.isnan, dt.FLOATS, out_dtype=dt.BOOL_)
_elementwise("IsInf", np.isinf, dt.FLOATS, out_dtype=dt.BOOL_)
_elementwise("IsFinite", np.isfinite, dt.FLOATS, out_dtype=dt.BOOL_)
not_differentiable("LogicalAnd", "LogicalOr", "LogicalNot", "IsNan", "IsInf", "IsFinite")


def _select_infer(node):
    condition, x, y = node.inputs
    check_dtype(node, condition, dt.BOOL, "condition")
    dtype = same_dtype(node, [x, y])
    if not compatible(x.shape, y.shape):
        raise GraphError(f"node {node.name!r} (Select): t and e must have the same shape", node.name)
    shape = merge(x.shape, y.shape)
    c = condition.shape
    if c is not None and shape is not None and len(c) != len(shape) and not (
            len(c) == 1 and len(shape) >= 1 and dims_compatible(c[0], shape[0]) or len(c) == 0):
        raise GraphError(f"node {node.name!r} (Select): condition must be a scalar, a vector "
                         f"as long as the first dimension, or shaped like t", node.name)
    return [(dtype, shape)]


def _select_kernel(node, condition, x, y):
    """Picks from x where condition holds, else from y (a vector condition picks rows)."""
    if condition.ndim == 1 and x.ndim > 1:
        condition = condition.reshape((-1,) + (1,) * (x.ndim - 1))
    return np.where(condition, x, y)


defop("Select", inputs=("condition", "t", "e"), infer=_select_infer)(_select_kernel)


def _select_v2_infer(node):
    condition, x, y = node.inputs
    check_dtype(node, condition, dt.BOOL, "condition")
    dtype = same_dtype(node, [x, y])
    return [(dtype, broadcast(condition.shape, broadcast(x.shape, y.shape, node.name), node.name))]


@defop("SelectV2", inputs=("condition", "t", "e"), infer=_select_v2_infer, broadcasts=True)
def select_v2(node, condition, x, y):
    """np.where with broadcasting."""
    return np.where(condition, x, y)


@gradient("Select")
def _select_grad(op, grad):
    condition, x, _ = op.inputs
    zeros = build.zeros_like(x)
    return (None, build.op("Select", condition, grad, zeros),
            build.op("Select", condition, zeros, grad))


@gradient("SelectV2")
def _select_v2_grad(op, grad):
    condition = op.inputs[0]
    zeros = build.constant(grad, 0)
    return None, build.select(condition, grad, zeros), build.select(condition, zeros, grad)


# -- casts -----------------------------------------------------------------------------

def _cast_infer(node):
    return [(node.attrs["DstT"], node.inputs[0].shape)]


@defop("Cast", inputs=("x",), infer=_cast_infer, attrs={"DstT": Attr("type")})
def cast(node, x):
    return x.astype(node.attrs["DstT"])


@gradient("Cast")
def _cast_grad(op, grad):
    """The gradient cast back, between floating types only; a cast to or from an
    integer stops the gradient."""
    source = op.inputs[0].dtype
    if source in FLOATING and grad.dtype in FLOATING:
        return build.cast(grad, source)
    return None


# -- clipping and LinSpace ---------------------------------------------------------------

def _clip_infer(node):
    t, low, high = node.inputs
    dtype = same_dtype(node, [t, low, high], dt.REAL)
    for what, bound in (("clip_value_min", low), ("clip_value_max", high)):
        if bound.shape != () and not compatible(bound.shape, t.shape):
            raise error(node, f"{what} {bound.name!r} must be a scalar or shaped like t")
    return [(dtype, t.shape)]


@defop("ClipByValue", inputs=("t", "clip_value_min", "clip_value_max"), infer=_clip_infer,
       dtypes=dt.REAL, broadcasts=True)
def clip_by_value(node, t, low, high):
    """max(min(t, clip_value_max), clip_value_min): clip_value_min wins where the bounds cross;
    each bound a scalar or shaped like t."""
    if low.shape not in ((), t.shape) or high.shape not in ((), t.shape):
        raise ValueError("clip_value_min and clip_value_max must be scalars or shaped like t")
    return np.maximum(np.minimum(t, high), low)


@gradient("ClipByValue")
def _clip_by_value_grad(op, grad):
    """The gradient goes to t where min <= t <= max (the bounds included), to min where
    t < min, to max where t > max."""
    t, low, high = op.inputs
    below, above = build.op("Less", t, low), build.op("Greater", t, high)
    zeros = build.zeros_like(grad)
    return (build.select(build.op("LogicalOr", below, above), zeros, grad),
            build.select(below, grad, zeros), build.select(above, grad, zeros))


def _lin_space_infer(node):
    start, stop, num = node.inputs
    for what, t in zip(("start", "stop", "num"), node.inputs):
        check_rank(node, t, 0, what=what)
    count = scalar_value(node, num, "num")
    if count is not None and count <= 0:
        raise error(node, f"num must be positive, got {count}")
    return [(same_dtype(node, [start, stop], dt.FLOATS), (count,))]


@defop("LinSpace", inputs=("start", "stop", "num"), infer=_lin_space_infer, dtypes=dt.FLOATS)
def lin_space(node, start, stop, num):
    """`num` evenly spaced values from `start` to `stop`, both included."""
    if num <= 0:
        raise ValueError(f"Requires num > 0: {num}")
    return np.linspace(start, stop, int(num), dtype=start.dtype)


not_differentiable("LinSpace")
