"""Special functions, computed by scipy.special: log-gamma and its derivatives, the
error functions, the normal quantile, and the x log y family that is 0 where x is 0.

Kernels return the input's dtype (scipy computes float16 in float32) and TensorFlow's
values at the poles of the gamma function."""

import numpy as np

from core import build
from core import dtypes as dt
from core.ops.common import binary, unary
from core.registry import defop, gradient

FLOATING = dt.FLOATS | dt.COMPLEX
POLYGAMMA_DTYPES = frozenset({dt.FLOAT32, dt.DTYPES["float64"]})


def _pole(x):
    """Where x is a non-positive integer, a pole of the gamma function."""
    return (x <= 0) & (x == np.floor(x))


def _scipy(name: str):
    """scipy.special's function `name`, imported at its first call: importing scipy.special
    takes ~0.35 s, a quarter of the service's start."""
    def call(*args):
        from scipy import special
        return getattr(special, name)(*args)
    return call


def _special(name: str, fn, rule, doc: str):
    """Registers a one-input op computed by `fn`, with the gradient rule(grad, x, y),
    y the output."""
    def kernel(node, x):
        return fn(x).astype(x.dtype, copy=False)
    kernel.__doc__ = doc
    defop(name, inputs=("x",), infer=unary(dt.FLOATS), dtypes=dt.FLOATS)(kernel)
    gradient(name)(lambda op, grad: rule(grad, op.inputs[0], op.output(0)))


def _exp(t):
    return build.op("Exp", t)


def _square(t):
    return build.op("Square", t)


# TensorFlow's rules, term for term.
_special("Lgamma", _scipy("gammaln"), lambda g, x, y: g * build.op("Digamma", x),
         "log |Gamma(x)|; d = digamma(x) dx")
_special("Digamma", lambda x: np.where(_pole(x), np.nan, _scipy("psi")(x)),
         lambda g, x, y: g * build.op("Polygamma", build.constant(x, 1), x),
         "d/dx log Gamma(x), NaN at the poles; d = polygamma(1, x) dx")
_special("Erf", _scipy("erf"), lambda g, x, y: g * (2 / np.sqrt(np.pi)) * _exp(-_square(x)),
         "d erf(x) = 2 / sqrt(pi) exp(-x^2) dx")
_special("Erfc", _scipy("erfc"), lambda g, x, y: g * (-2 / np.sqrt(np.pi)) * _exp(-_square(x)),
         "d erfc(x) = -2 / sqrt(pi) exp(-x^2) dx")
_special("Erfinv", _scipy("erfinv"), lambda g, x, y: g * (np.sqrt(np.pi) / 2) * _exp(_square(y)),
         "The inverse of erf; d = sqrt(pi) / 2 exp(y^2) dx")
_special("Ndtri", _scipy("ndtri"), lambda g, x, y: g * np.sqrt(2 * np.pi) * _exp(_square(y) / 2.0),
         "The standard normal quantile; d = sqrt(2 pi) exp(y^2 / 2) dx")


@defop("Polygamma", inputs=("a", "x"), infer=binary(POLYGAMMA_DTYPES), dtypes=POLYGAMMA_DTYPES,
       broadcasts=True)
def polygamma(node, a, x):
    """The a-th derivative of digamma at x: NaN unless a is a non-negative integer, and at
    the poles inf for odd a, NaN for even a."""
    value = np.where(_pole(x) & (a % 2 == 0), np.nan, _scipy("polygamma")(a, x))
    return value.astype(x.dtype, copy=False)


@gradient("Polygamma")
def _polygamma_grad(op, grad):
    """d polygamma(a, x) = polygamma(a + 1, x) dx; none for the order a."""
    a, x = op.inputs
    return None, build.op("Polygamma", a + 1, x) * grad


# -- x f(y), 0 where x is 0 -----------------------------------------------------------------

def _zero_where_x_is_zero(name: str, fn, doc: str):
    def kernel(node, x, y):
        return np.where(x == 0, 0, fn(x, y))
    kernel.__doc__ = doc
    defop(name, inputs=("x", "y"), infer=binary(FLOATING), dtypes=FLOATING,
          broadcasts=True)(kernel)


_zero_where_x_is_zero("Xlogy", lambda x, y: x * np.log(y), "x log(y), and 0 where x is 0")
_zero_where_x_is_zero("Xlog1py", lambda x, y: x * np.log1p(y), "x log(1 + y), and 0 where x is 0")
_zero_where_x_is_zero("Xdivy", lambda x, y: x / y, "x / y, and 0 where x is 0")


def _nonzero(x):
    """1 where x != 0, else 0, in x's dtype."""
    return build.cast(build.op("NotEqual", x, build.constant(x, 0)), x.dtype)


@gradient("Xlogy")
def _xlogy_grad(op, grad):
    """d = log(y) dx + x / y dy, each 0 where x is 0 (the dx term too, as TensorFlow):
    xlogy([x != 0], y) dx + xdivy(x, y) dy."""
    x, y = op.inputs
    return build.op("Xlogy", _nonzero(x), y) * grad, build.op("Xdivy", x, y) * grad


@gradient("Xlog1py")
def _xlog1py_grad(op, grad):
    """d = log(1 + y) dx + x / (1 + y) dy, each 0 where x is 0 (as Xlogy's)."""
    x, y = op.inputs
    return build.op("Xlog1py", _nonzero(x), y) * grad, build.op("Xdivy", x, y + 1.0) * grad


@gradient("Xdivy")
def _xdivy_grad(op, grad):
    """d = dx / y - x / y^2 dy, each 0 where x is 0 (as Xlogy's)."""
    x, y = op.inputs
    return build.op("Xdivy", _nonzero(x), y) * grad, build.op("Xdivy", -x, y ** 2) * grad
