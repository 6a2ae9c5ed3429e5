"""Elementary functions for Numba loops that LLVM can vectorise.

Numba calls libm one element at a time for np.tanh, np.sin, ... (no SVML here), several
times slower than NumPy's SIMD loops. For float32 these are branch-free polynomial and
rational approximations (Cephes' expf/logf/sinf/cosf, Eigen's tanh), written with
selects only, so that a loop of them compiles to SIMD code (AVX2 here: float32 tanh in
0.4 ns per element, NumPy's in 2.7). For float64 the generic functions `exp`, `log`,
`tanh`, `sigmoid`, `sin`, `cos`, `sincos` are libm's; they pick by argument type.

The float32 forms' largest errors against the float64 functions, measured over every
509th float32 of either sign (tests/core/test_fusion.py): exp 1, log 1, tanh 4.5,
sigmoid 2.5, sin and cos 1.5 ulp (relative error at most 5.4e-7). NaN gives NaN,
infinities and overflow follow IEEE (exp(inf) = inf, tanh(-inf) = -1, sin(inf) = NaN,
log(0) = -inf, log(-1) = NaN), and exp and sigmoid underflow through the denormals.

sin and cos reduce the argument by pi/2 in three float32 parts (Cody-Waite), exact to
1.5 ulp while |x| <= SIN_LIMIT; callers recompute larger arguments with `sin_exact`.
The `*_exact` functions are libm's in float64, the result in the argument's dtype
(float32 rounded once), for arguments out of range and for arrays too small to matter.
"""

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

f32 = np.float32
SIN_LIMIT = 2048.0
# No division-by-zero checks (they would stop vectorisation); fused multiply-adds allowed.
JIT_OPTIONS = {"error_model": "numpy", "fastmath": {"contract"}}
_kernel = njit(**JIT_OPTIONS)


@intrinsic
def _bits_to_f32(typingctx, bits):
    """The float32 whose IEEE bits are the int32 `bits`."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@intrinsic
def _f32_to_bits(typingctx, x):
    """The IEEE bits of the float32 `x`, as an int32."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@_kernel
def _pow2(k):
    """2**k for an integral float32 k in [-126, 127]."""
    return _bits_to_f32((np.int32(k) + np.int32(127)) << np.int32(23))


@_kernel
def _exp_parts(x):
    """Cephes expf's (exp(r), n) with exp(x) = exp(r) 2^n: n = round(x / ln 2),
    |r| <= ln(2) / 2."""
    n = np.floor(x * f32(1.44269504088896341) + f32(0.5))
    r = x - n * f32(0.693359375)
    r = r - n * f32(-2.12194440e-4)
    p = f32(1.9875691500e-4)
    p = p * r + f32(1.3981999507e-3)
    p = p * r + f32(8.3334519073e-3)
    p = p * r + f32(4.1665795894e-2)
    p = p * r + f32(1.6666665459e-1)
    p = p * r + f32(5.0000001201e-1)
    return p * (r * r) + r + f32(1.0), n


@_kernel
def exp32(x):
    """Cephes expf, 2^n applied in two halves so that overflow gives inf and underflow
    gradual denormals."""
    xc = f32(88.8) if x > f32(88.8) else x          # clamps that let NaN through
    xc = f32(-104.0) if xc < f32(-104.0) else xc
    y, n = _exp_parts(xc)
    half = np.floor(n * f32(0.5))
    return y * _pow2(half) * _pow2(n - half)


@_kernel
def log32(x):
    """Cephes logf: x = m 2^e with sqrt(1/2) <= m < sqrt(2), log(x) = e ln 2 + log(m),
    log(m) by a degree-9 polynomial in m - 1. Denormals are scaled up by 2^23 first."""
    tiny = x < f32(1.17549435e-38)
    xs = x * f32(8388608.0) if tiny else x
    bits = _f32_to_bits(xs)
    e = ((bits >> np.int32(23)) & np.int32(255)) - np.int32(126)
    m = _bits_to_f32((bits & np.int32(-2139095041)) | np.int32(1056964608))  # in [0.5, 1)
    ef = f32(e) - (f32(23.0) if tiny else f32(0.0))
    small = m < f32(0.707106781186547524)
    ef = ef - f32(1.0) if small else ef
    m = (m + m - f32(1.0)) if small else (m - f32(1.0))
    z = m * m
    p = f32(7.0376836292e-2)
    p = p * m + f32(-1.1514610310e-1)
    p = p * m + f32(1.1676998740e-1)
    p = p * m + f32(-1.2420140846e-1)
    p = p * m + f32(1.4249322787e-1)
    p = p * m + f32(-1.6668057665e-1)
    p = p * m + f32(2.0000714765e-1)
    p = p * m + f32(-2.4999993993e-1)
    p = p * m + f32(3.3333331174e-1)
    y = m * z * p
    y = y + ef * f32(-2.12194440e-4)
    y = y - f32(0.5) * z
    y = m + y
    y = y + ef * f32(0.693359375)
    if x == f32(0.0):
        y = f32(-np.inf)
    if x < f32(0.0):
        y = f32(np.nan)
    if x == f32(np.inf):
        y = x
    if math.isnan(x):
        y = x
    return y


@_kernel
def tanh32(x):
    """Eigen's float tanh: a 13/6 rational function of x on |x| <= 7.9053 (beyond it
    tanh rounds to +-1), and x itself where |x| < 4e-4."""
    c = f32(7.90531110763549805)
    xc = c if x > c else x                           # clamps that let NaN through
    xc = -c if xc < -c else xc
    x2 = xc * xc
    p = f32(-2.76076847742355e-16)
    p = p * x2 + f32(2.00018790482477e-13)
    p = p * x2 + f32(-8.60467152213735e-11)
    p = p * x2 + f32(5.12229709037114e-08)
    p = p * x2 + f32(1.48572235717979e-05)
    p = p * x2 + f32(6.37261928875436e-04)
    p = p * x2 + f32(4.89352455891786e-03)
    q = f32(1.19825839466702e-06)
    q = q * x2 + f32(1.18534705686654e-04)
    q = q * x2 + f32(2.26843463243900e-03)
    q = q * x2 + f32(4.89352518554385e-03)
    y = (p * xc) / q
    return x if abs(x) < f32(0.0004) else y


@_kernel
def sincos32(x):
    """(sin(x), cos(x)): j = round(x 2/pi), r = x - j pi/2 in three parts, the Cephes
    sinf and cosf polynomials on r, swapped and negated by the quadrant of j."""
    j = np.floor(x * f32(0.636619772367581343) + f32(0.5))
    r = x - j * f32(1.5703125)
    r = r - j * f32(4.837512969970703125e-4)
    r = r - j * f32(7.54978995489188216e-8)
    z = r * r
    s = f32(-1.9515295891e-4)
    s = s * z + f32(8.3321608736e-3)
    s = s * z + f32(-1.6666654611e-1)
    s = s * z * r + r
    c = f32(2.443315711809948e-5)
    c = c * z + f32(-1.388731625493765e-3)
    c = c * z + f32(4.166664568298827e-2)
    c = c * z * z - f32(0.5) * z + f32(1.0)
    quadrant = np.int32(j)
    odd = quadrant & np.int32(1)
    sine = c if odd else s
    cosine = s if odd else c
    sine = -sine if quadrant & np.int32(2) else sine
    cosine = -cosine if (quadrant + np.int32(1)) & np.int32(2) else cosine
    return sine, cosine


@_kernel
def sin32(x):
    return sincos32(x)[0]


@_kernel
def cos32(x):
    return sincos32(x)[1]


@_kernel
def sigmoid32(x):
    """As core.ops.math's sigmoid, from e = exp(-|x|): 1 / (1 + e) for x >= 0, else
    e / (1 + e), so that tiny values keep their relative accuracy."""
    e = exp32(-abs(x))
    r = f32(1.0) / (f32(1.0) + e)
    return r if x >= f32(0.0) else e * r


# |x| up to which sigmoid32_near scales by 2^n in one step: exp(-|x|)'s 2^n stays normal.
SIGMOID_NEAR = 87.0


@_kernel
def sigmoid32_near(x):
    """sigmoid32 for |x| <= SIGMOID_NEAR (and NaN), bit for bit: exp(-|x|) scaled by its
    2^n in one step, which is exact there; beyond, callers use sigmoid32."""
    xc = -abs(x)
    xc = f32(-SIGMOID_NEAR - 1.0) if xc < f32(-SIGMOID_NEAR - 1.0) else xc
    y, n = _exp_parts(xc)
    e = y * _pow2(n)
    s = f32(1.0) / (f32(1.0) + e)
    return s if x >= f32(0.0) else e * s


@_kernel
def _sigmoid64(x):
    """As core.ops.math's sigmoid: from exp(-|x|), so nothing overflows."""
    e = math.exp(-abs(x))
    return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)


@_kernel
def _sincos64(x):
    return math.sin(x), math.cos(x)


# -- generic by argument type: float32 approximations, float64 libm ------------------------

def _generic(fn32, fn64):
    def stub(x):
        raise NotImplementedError("only callable from Numba-compiled code")

    @overload(stub, jit_options=JIT_OPTIONS)
    def _choose(x):
        if x == types.float32:
            return lambda x: fn32(x)
        if x == types.float64:
            return lambda x: fn64(x)
    return stub


exp = _generic(exp32, math.exp)
log = _generic(log32, math.log)
tanh = _generic(tanh32, math.tanh)
sigmoid = _generic(sigmoid32, _sigmoid64)
sin = _generic(sin32, math.sin)
cos = _generic(cos32, math.cos)
sincos = _generic(sincos32, _sincos64)


@_kernel
def _beyond_sin_limit(x):
    return abs(x) > f32(SIN_LIMIT)


@_kernel
def _never(x):
    return False


# Whether sin/cos of x must be recomputed by sin_exact/cos_exact.
reduction_inexact = _generic(_beyond_sin_limit, _never)


@_kernel
def _beyond_sigmoid_near(x):
    return abs(x) > f32(SIGMOID_NEAR)


# sigmoid in one scaling step (float64: libm's), and whether x needs `sigmoid` instead.
sigmoid_near = _generic(sigmoid32_near, _sigmoid64)
sigmoid_far = _generic(_beyond_sigmoid_near, _never)


# libm in float64, the result in the argument's dtype: float32 rounded once (0.5 ulp).

@_kernel
def _exp_exact32(x):
    return f32(math.exp(np.float64(x)))


@_kernel
def _log_exact32(x):
    return f32(math.log(np.float64(x)))


@_kernel
def _tanh_exact32(x):
    return f32(math.tanh(np.float64(x)))


@_kernel
def _sigmoid_exact32(x):
    return f32(_sigmoid64(np.float64(x)))


@_kernel
def _sin_exact32(x):
    return f32(math.sin(np.float64(x)))


@_kernel
def _cos_exact32(x):
    return f32(math.cos(np.float64(x)))


exp_exact = _generic(_exp_exact32, math.exp)
log_exact = _generic(_log_exact32, math.log)
tanh_exact = _generic(_tanh_exact32, math.tanh)
sigmoid_exact = _generic(_sigmoid_exact32, _sigmoid64)
sin_exact = _generic(_sin_exact32, math.sin)
cos_exact = _generic(_cos_exact32, math.cos)
