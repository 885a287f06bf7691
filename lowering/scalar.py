"""Scalar helpers that generated CPU kernels call; each is inlined by LLVM.

They give NumPy's exact semantics where Numba's differ (NaN-propagating
maximum, shifts past the bit width, sign of NaN, ...).

No helper may raise: a kernel's loop may be a ``prange``, and an exception raised
inside a parallel region is lost (the output is left half written).  Every operation
for which Numba's own lowering raises a Python exception (complex division by zero,
integer power with a negative or huge exponent) is therefore computed here, with
NumPy's IEEE/C99 results instead.
"""
import cmath
import math

import numpy as np
from llvmlite import ir
from numba import njit
from numba.extending import intrinsic, overload
from numba.np import numpy_support

U = np.uint64


def _llvm_binary_intrinsic(name):
    @intrinsic
    def _intr(typingctx, a, b):
        def codegen(context, builder, signature, args):
            t = args[0].type
            fn = builder.module.declare_intrinsic(name, [t], ir.FunctionType(t, [t, t]))
            return builder.call(fn, args)
        return a(a, b), codegen
    return _intr


# llvm.maximum/minimum propagate NaN like NumPy and, unlike a select, vectorise in reductions.
nan_max = _llvm_binary_intrinsic("llvm.maximum")
nan_min = _llvm_binary_intrinsic("llvm.minimum")


def _reassociable(opname):
    @intrinsic
    def _intr(typingctx, a, b):
        def codegen(context, builder, signature, args):
            return getattr(builder, opname)(args[0], args[1], flags=("reassoc",))
        return a(a, b), codegen
    return _intr


# A float accumulation that LLVM may reorder (so it vectorises), while every other operation
# of the kernel keeps IEEE semantics: a function-wide fastmath would also let LLVM rewrite the
# user's arithmetic (fold ``(x + c) - c``, contract ``a * b + c`` into an FMA).
radd = _reassociable("fadd")
rmul = _reassociable("fmul")

_NJ = dict(inline="always", error_model="numpy")


@njit(**_NJ)
def maximum(a, b):
    # Note: NumPy returns b on ties (so maximum(0.0, -0.0) is -0.0) and NaN if either is NaN.
    return a if (a > b or a != a) else b


@njit(**_NJ)
def minimum(a, b):
    return a if (a < b or a != a) else b


@njit(**_NJ)
def int_max(a, b):
    return a if a > b else b


@njit(**_NJ)
def int_min(a, b):
    return a if a < b else b


@njit(**_NJ)
def sign_float(x):
    if x > 0:
        return 1.0
    if x < 0:
        return -1.0
    if x == 0:
        return 0.0    # +0 for either zero: the standard's special case, and NumPy 2's answer
    return x          # NaN


@njit(**_NJ)
def sign_int(x):
    return (x > 0) - (x < 0)


@njit(**_NJ)
def sign_complex(z):
    a = abs(z)
    if a == 0:
        return z - z          # +0+0j whatever the signs of the zeros (the standard's special case)
    return z / a


def real_const(x, value):
    """``value`` in the type of the real scalar ``x`` (``1.0`` alone would be a float64 and
    turn float32 arithmetic into float64 arithmetic)."""
    return value


@overload(real_const, inline="always")
def _real_const(x, value):
    t = numpy_support.as_dtype(x).type
    return lambda x, value: t(value)


def cpack(x, re, im):
    """The complex number ``re + im j`` in the complex type matching the real scalar ``x``
    (``complex(re, im)`` alone is a complex128, which would turn complex64 work into double)."""
    return complex(re, im)


@overload(cpack, inline="always")
def _cpack(x, re, im):
    t = np.result_type(numpy_support.as_dtype(x), np.complex64).type
    return lambda x, re, im: t(complex(re, im))


# Note: every branch of a helper returns the type of its operands: Numba unifies uint64 with
# int64 (``a * 0``, a literal) to float64, which silently loses the bits above 2**53.
@njit(**_NJ)
def lshift(a, b, bits):
    return a << b if (b >= 0 and b < bits) else a ^ a


@njit(**_NJ)
def rshift(a, b, bits):
    if b >= 0 and b < bits:
        return a >> b
    return a >> (bits - 1) if a < 0 else a ^ a     # NumPy: all sign bits, or 0


@njit(**_NJ)
def floordiv_int(a, b):
    """Signed ``a // b`` as NumPy: ``x // 0`` is 0 and ``INT_MIN // -1`` wraps to INT_MIN
    (Numba gives 0 for the latter)."""
    if b == -1:
        return np.int64(U(0) - U(a))     # unsigned negation: wraps, never signed overflow
    return np.int64(a // b)


@njit(**_NJ)
def ipow(a, b, signed):
    """Integer ``a ** b`` as NumPy: repeated squaring, wrapping modulo 2**64 (the kernel
    truncates to the operands' width).  ``a`` and ``b`` are int64 or uint64 bit patterns.

    Numba's own ``**`` on integers goes through float64 (loses bits above 2**53 and
    saturates) and raises for some negative exponents."""
    if signed and np.int64(b) < 0:
        # Note: NumPy raises for a negative integer exponent; a constant one is refused when
        # recorded, and for an array exponent both executors give the truncated true value:
        # 1 ** -n == 1, (-1) ** -n == +-1, and 0 for any other base (0 ** -n too).
        if np.int64(a) == 1:
            return U(1)
        if np.int64(a) == -1:
            return U(1) if U(b) & U(1) == U(0) else U(0) - U(1)
        return U(0)
    base = U(a)
    e = U(b)
    r = U(1)
    while e != U(0):
        if e & U(1):
            r *= base
        e >>= U(1)
        base *= base
    return r


# ---- float -> integer casts.  A value whose truncation does not fit the target (NaN, +-inf,
# overflow) has no defined result in C (NumPy) or LLVM (fptosi gives poison, and the vector
# and scalar loops of one kernel disagree).  Both executors give x86's answers, which are
# NumPy's there: truncate into int32 (int64 for the 64-bit targets), out of range -> INT_MIN,
# then wrap to the target width; uint32/uint64 above 2**31/2**63 convert x - 2**31/2**63.
# (interpret._float_to_int is the NumPy twin.)  Each is a select, so loops still vectorise.
@njit(**_NJ)
def f2i32(x):
    """Truncate to int32; INT32_MIN where that overflows or x is NaN (int8/16/32, uint8/16)."""
    return np.int32(x) if (x > -2147483649.0 and x < 2147483648.0) else np.int32(-2147483648)


@njit(**_NJ)
def f2i64(x):
    """Truncate to int64; INT64_MIN where that overflows or x is NaN."""
    return np.int64(x) if (x >= -9223372036854775808.0 and x < 9223372036854775808.0) \
        else np.int64(-9223372036854775807 - 1)


@njit(**_NJ)
def f2u32(x):
    return np.int64(f2i32(x - 2147483648.0) ^ np.int32(-2147483648)) if x >= 2147483648.0 \
        else np.int64(f2i32(x))


@njit(**_NJ)
def f2u64(x):
    return U(f2i64(x - 9223372036854775808.0)) ^ U(9223372036854775808) if x >= 9223372036854775808.0 \
        else U(f2i64(x))


@njit(**_NJ)
def cdiv(a, b):
    """Complex ``a / b`` with NumPy's algorithm (Smith's scaling, in the operands' precision):
    a zero divisor gives C99's inf/NaN instead of Numba's ZeroDivisionError, and
    ``(1e300+1e300j) / (1e300+1e300j)`` is 1."""
    ar, ai, br, bi = a.real, a.imag, b.real, b.imag
    abr, abi = abs(br), abs(bi)
    if abr >= abi:
        if abr == 0 and abi == 0:
            return cpack(ar, ar / abr, ai / abr)
        rat = bi / br
        scl = real_const(br, 1.0) / (br + bi * rat)
        return cpack(ar, (ar + ai * rat) * scl, (ai - ar * rat) * scl)
    rat = br / bi
    scl = real_const(br, 1.0) / (bi + br * rat)
    return cpack(ar, (ar * rat + ai) * scl, (ai * rat - ar) * scl)


@njit(**_NJ)
def creciprocal(z):
    """Complex ``1 / z`` with NumPy's algorithm (``1 / 0`` is NaN + NaN j, as NumPy)."""
    zr, zi = z.real, z.imag
    one = real_const(zr, 1.0)
    if abs(zi) <= abs(zr):
        r = zi / zr
        d = zr + zi * r
        return cpack(zr, one / d, -r / d)
    r = zr / zi
    d = zr * r + zi
    return cpack(zr, r / d, -one / d)


@njit(**_NJ)
def floordiv_float(a, b):
    # NumPy's npy_divmod: floor of the true quotient, fixed up for rounding.
    if b == 0:
        return a / b
    if (math.isinf(a) and math.isfinite(b)) or (math.isinf(b) and math.isfinite(a) and a != 0):
        return a / b      # the standard's special cases (NumPy gives NaN and -1 here): +-inf, +-0
    mod = np.fmod(a, b)
    div = (a - mod) / b
    if mod != 0 and ((b < 0) != (mod < 0)):
        div -= 1.0
    if div != 0:
        fl = np.floor(div)
        if div - fl > 0.5:
            fl += 1.0
        return fl
    return math.copysign(0.0, a / b)


@njit(**_NJ)
def remainder_float(a, b):
    if b == 0:
        return np.fmod(a, b)
    mod = np.fmod(a, b)
    if mod != 0:
        if (b < 0) != (mod < 0):
            mod += b
    else:
        mod = math.copysign(0.0, b)
    return mod


@njit(**_NJ)
def logaddexp(a, b):
    if a == b:
        return a + math.log(2.0)
    d = a - b
    if d > 0:
        return a + math.log1p(math.exp(-d))
    if d <= 0:
        return b + math.log1p(math.exp(d))
    return d          # NaN


@njit(**_NJ)
def signbit(x):
    return math.copysign(1.0, x) < 0


# ---- complex functions with C99 Annex G special values (the standard's special cases).
# Numba's np.cosh/np.tanh/... on complex are naive formulas (NaN where the standard says
# +-inf, overflow in complex64); its cmath versions follow CPython but miss a few NaN cases.
# Note: they were meant to compute in double precision, but Numba's float() keeps a float32 a
# float32, so for complex64 they run in single precision (the tests allow 2e-6 there).
_CX = dict(error_model="numpy")
HALF_PI = math.pi / 2


@njit(**_CX)
def c_exp(z):
    x, y = float(z.real), float(z.imag)
    if math.isfinite(x) and math.isfinite(y):
        if y == 0.0:
            return complex(math.exp(x), y)
        if x > 709.0:                    # exp(x) overflows: apply it in two halves
            h = math.exp(x / 2)
            return complex(math.cos(y) * h * h, math.sin(y) * h * h)
        r = math.exp(x)
        return complex(r * math.cos(y), r * math.sin(y))
    if math.isinf(x):
        if x > 0:
            if y == 0.0:
                return complex(x, y)
            if math.isfinite(y):
                return complex(x * math.cos(y), x * math.sin(y))
            return complex(x, math.nan)
        if math.isfinite(y):
            return complex(0.0 * math.cos(y), 0.0 * math.sin(y))
        return complex(0.0, math.copysign(0.0, y) if math.isinf(y) else 0.0)
    if math.isnan(x) and y == 0.0:
        return complex(x, y)
    return complex(math.nan, math.nan)


@njit(**_CX)
def c_cosh(z):
    x, y = float(z.real), float(z.imag)
    if math.isfinite(x) and math.isfinite(y):
        if y == 0.0:
            return complex(math.cosh(x), y * math.copysign(1.0, x))
        if abs(x) > 708.0:              # cosh/sinh overflow: apply exp(|x|)/2 in two halves
            h = math.exp(abs(x) / 2)
            return complex(math.cos(y) * 0.5 * h * h, math.copysign(1.0, x) * math.sin(y) * 0.5 * h * h)
        return complex(math.cosh(x) * math.cos(y), math.sinh(x) * math.sin(y))
    if math.isinf(x):
        if y == 0.0:
            return complex(math.inf, y * math.copysign(1.0, x))
        if math.isfinite(y):
            return complex(math.inf * math.cos(y), x * math.sin(y))
        return complex(math.inf, math.nan)
    if x == 0.0:                         # y is inf or NaN
        return complex(math.nan, 0.0)
    if math.isnan(x) and y == 0.0:
        return complex(x, y)
    return complex(math.nan, math.nan)


@njit(**_CX)
def c_sinh(z):
    x, y = float(z.real), float(z.imag)
    if math.isfinite(x) and math.isfinite(y):
        if y == 0.0:
            return complex(math.sinh(x), y)
        if abs(x) > 708.0:
            h = math.exp(abs(x) / 2)
            return complex(math.copysign(1.0, x) * math.cos(y) * 0.5 * h * h, math.sin(y) * 0.5 * h * h)
        return complex(math.sinh(x) * math.cos(y), math.cosh(x) * math.sin(y))
    if math.isinf(x):
        if y == 0.0:
            return complex(x, y)
        if math.isfinite(y):
            return complex(x * math.cos(y), math.inf * math.sin(y))
        return complex(math.inf, math.nan)     # (sign unspecified; NumPy's choice)
    if x == 0.0:                         # y is inf or NaN
        return complex(x, math.nan)
    if math.isnan(x) and y == 0.0:
        return complex(x, y)
    return complex(math.nan, math.nan)


@njit(**_CX)
def c_tanh(z):
    x, y = float(z.real), float(z.imag)
    if math.isfinite(x) and math.isfinite(y):
        if abs(x) > 354.0:               # tanh(x) is +-1 to double precision; avoid overflow
            return complex(math.copysign(1.0, x), 4.0 * math.sin(y) * math.cos(y) * math.exp(-2.0 * abs(x)))
        tx = math.tanh(x)
        ty = math.tan(y)
        cx = 1.0 / math.cosh(x)
        txty = tx * ty
        denom = 1.0 + txty * txty
        return complex(tx * (1.0 + ty * ty) / denom, ((ty / denom) * cx) * cx)
    if math.isinf(x):
        if math.isfinite(y):
            # Note: the standard's 1 + 0j (sign of y), where C99/NumPy use the sign of sin(2y)
            return complex(math.copysign(1.0, x), math.copysign(0.0, y))
        return complex(math.copysign(1.0, x), math.copysign(0.0, y) if math.isinf(y) else 0.0)
    if x == 0.0:                         # y is inf or NaN
        return complex(x, math.nan)
    if math.isnan(x) and y == 0.0:
        return complex(x, y)
    return complex(math.nan, math.nan)


@njit(**_CX)
def c_sin(z):                            # sin(z) = -i sinh(iz)
    r = c_sinh(complex(-float(z.imag), float(z.real)))
    if math.isnan(r.imag) and math.isinf(r.real):
        return complex(r.imag, math.inf)       # (sign unspecified; NumPy's choice)
    return complex(r.imag, -r.real)


@njit(**_CX)
def c_cos(z):                            # cos(z) = cosh(iz)
    return c_cosh(complex(-float(z.imag), float(z.real)))


@njit(**_CX)
def c_tan(z):                            # tan(z) = -i tanh(iz)
    r = c_tanh(complex(-float(z.imag), float(z.real)))
    return complex(r.imag, -r.real)


@njit(**_CX)
def c_acos(z):
    x, y = float(z.real), float(z.imag)
    if x == 0.0 and math.isnan(y):
        return complex(HALF_PI, y)
    return cmath.acos(complex(x, y))


@njit(**_CX)
def c_acosh(z):
    x, y = float(z.real), float(z.imag)
    if x == 0.0 and math.isnan(y):
        return complex(math.nan, HALF_PI)
    if math.isnan(x) and math.isinf(y):
        return complex(math.inf, math.nan)
    return cmath.acosh(complex(x, y))


@njit(**_CX)
def c_asinh(z):
    x, y = float(z.real), float(z.imag)
    if math.isnan(x):
        if y == 0.0:
            return complex(x, y)
        if math.isinf(y):
            return complex(math.inf, math.nan)
        return complex(math.nan, math.nan)
    return cmath.asinh(complex(x, y))


@njit(**_CX)
def c_asin(z):                           # asin(z) = -i asinh(iz)
    if math.isinf(z.real) and math.isnan(z.imag):
        return complex(math.nan, math.inf)     # (sign unspecified; NumPy's choice)
    r = c_asinh(complex(-float(z.imag), float(z.real)))
    return complex(r.imag, -r.real)


@njit(**_CX)
def c_atanh(z):
    x, y = float(z.real), float(z.imag)
    if math.isnan(x):
        if math.isinf(y):
            return complex(0.0, math.copysign(HALF_PI, y))
        return complex(math.nan, math.nan)
    if x == 0.0 and math.isnan(y):
        return complex(x, y)
    return cmath.atanh(complex(x, y))


@njit(**_CX)
def c_atan(z):                           # atan(z) = -i atanh(iz)
    if math.isinf(z.real) and math.isnan(z.imag):
        return complex(math.copysign(HALF_PI, z.real), 0.0)
    r = c_atanh(complex(-float(z.imag), float(z.real)))
    return complex(r.imag, -r.real)


@njit(**_CX)
def c_expm1(z):
    x, y = float(z.real), float(z.imag)
    if math.isfinite(x) and math.isfinite(y) and x <= 1.0:
        if x == 0.0 and y == 0.0:
            return complex(0.0, y)           # the standard's 0 + 0j (also for x = -0)
        s = math.sin(y / 2)                  # accurate near 0: expm1(x) cos y - 2 sin^2(y/2)
        return complex(math.expm1(x) * math.cos(y) - 2.0 * s * s, math.exp(x) * math.sin(y))
    r = c_exp(complex(x, y))
    return complex(r.real - 1.0, r.imag)


# ---- complex sqrt and log: glibc's csqrt/clog (what NumPy calls), in the operand's precision,
# scaled so that no intermediate overflows or underflows (C99 Annex G special values).

def float_info(x):
    """(largest finite, smallest normal, epsilon, mantissa digits) of ``x``'s float type."""
    return 0.0, 0.0, 0.0, 0


@overload(float_info, inline="always")
def _float_info(x):
    fi = np.finfo(numpy_support.as_dtype(x))
    t = fi.dtype.type
    big, tiny, eps, digits = t(fi.max), t(fi.smallest_normal), t(fi.eps), int(fi.nmant) + 1
    return lambda x: (big, tiny, eps, digits)


@njit(**_NJ)
def c_sqrt(z):
    """Complex square root: glibc's algorithm (the operands are scaled by 4**-1 near overflow
    and up near underflow before ``hypot``), so ``sqrt(1e308+1e308j)`` does not lose a factor 2."""
    x, y = z.real, z.imag
    big, tiny, _, digits = float_info(x)
    half, one, two = real_const(x, 0.5), real_const(x, 1.0), real_const(x, 2.0)
    if math.isinf(y):
        return cpack(z.real, math.inf, y)
    if math.isinf(x):
        if x < 0:
            return cpack(z.real, math.nan if math.isnan(y) else 0.0, math.copysign(math.inf, y))
        return cpack(z.real, x, math.nan if math.isnan(y) else math.copysign(0.0, y))
    if math.isnan(x) or math.isnan(y):
        return cpack(z.real, math.nan, math.nan)
    if y == 0:
        if x < 0:
            return cpack(z.real, 0.0, math.copysign(math.sqrt(-x), y))
        return cpack(z.real, abs(math.sqrt(x)), math.copysign(0.0, y))
    if x == 0:
        if abs(y) >= 2 * tiny:
            r = math.sqrt(half * abs(y))
        else:
            r = half * math.sqrt(two * abs(y))
        return cpack(z.real, r, math.copysign(r, y))
    scale = 0
    if abs(x) > big / 4:
        scale = 1
        x = math.ldexp(x, -2)
        y = math.ldexp(y, -2)
    if abs(y) > big / 4:
        scale = 1
        x = math.ldexp(x, -2) if abs(x) >= 4 * tiny else x - x
        y = math.ldexp(y, -2)
    elif abs(x) < 2 * tiny and abs(y) < 2 * tiny:
        scale = -((digits + 1) // 2)
        x = math.ldexp(x, -2 * scale)
        y = math.ldexp(y, -2 * scale)
    d = math.hypot(x, y)
    if x > 0:
        r = math.sqrt(half * (d + x))
        if scale == 1 and abs(y) < one:
            s = y / r
            r = math.ldexp(r, scale)
            scale = 0
        else:
            s = half * (y / r)
    else:
        s = math.sqrt(half * (d - x))
        if scale == 1 and abs(y) < one:
            r = abs(y / s)
            s = math.ldexp(s, scale)
            scale = 0
        else:
            r = abs(half * (y / s))
    if scale:
        r = math.ldexp(r, scale)
        s = math.ldexp(s, scale)
    return cpack(z.real, r, math.copysign(s, y))


@njit(**_CX)
def _two_prod(x, y):
    """hi + lo == x * y exactly (Dekker's split; float64)."""
    hi = x * y
    c = 134217729.0 * x               # 2**27 + 1
    xh = c - (c - x)
    xl = x - xh
    c = 134217729.0 * y
    yh = c - (c - y)
    yl = y - yh
    lo = ((xh * yh - hi) + xh * yl + xl * yh) + xl * yl
    return hi, lo


@njit(**_CX)
def _sort_by_magnitude(v, start):
    for i in range(start + 1, 5):      # insertion sort of v[start:] by |value|
        t = v[i]
        j = i - 1
        while j >= start and abs(v[j]) > abs(t):
            v[j + 1] = v[j]
            j -= 1
        v[j + 1] = t


@njit(**_CX)
def x2y2m1(x, y):
    """x*x + y*y - 1 to nearly full precision (glibc's __x2y2m1): the products are split
    exactly, then the five terms are added smallest first with exact two-sums.  Not inlined
    (a rare branch of ``c_log``; inlining it costs seconds of compile per kernel)."""
    v = np.empty(5, np.float64)
    v[1], v[0] = _two_prod(x, x)
    v[3], v[2] = _two_prod(y, y)
    v[4] = -1.0
    _sort_by_magnitude(v, 0)
    for i in range(4):
        hi = v[i + 1] + v[i]
        v[i] = (v[i + 1] - hi) + v[i]
        v[i + 1] = hi
        _sort_by_magnitude(v, i + 1)
    return v[4] + v[3] + v[2] + v[1] + v[0]


@njit(**_NJ)
def c_log(z):
    """Complex natural logarithm: glibc's algorithm (NumPy's), scaled near overflow and
    underflow (``log(max + max j)`` is 710.13 + 0.785j, not inf) and with ``log1p`` of
    ``|z|**2 - 1`` near the unit circle."""
    x, y = z.real, z.imag
    big, tiny, eps, digits = float_info(x)
    if x == 0 and y == 0:
        im = math.copysign(math.pi if math.copysign(1.0, x) < 0 else 0.0, y)
        return cpack(z.real, -1.0 / abs(x), im)
    if math.isnan(x) or math.isnan(y):
        return cpack(z.real, math.inf if (math.isinf(x) or math.isinf(y)) else math.nan, math.nan)
    ax, ay = abs(x), abs(y)
    if ax < ay:
        ax, ay = ay, ax
    scale = 0
    if ax > big / 2:
        scale = -1
        ax = math.ldexp(ax, scale)
        ay = math.ldexp(ay, scale) if ay >= tiny * 2 else ay - ay
    elif ax < tiny and ay < tiny:
        scale = digits
        ax = math.ldexp(ax, scale)
        ay = math.ldexp(ay, scale)
    half, one = real_const(x, 0.5), real_const(x, 1.0)
    if ax == one and scale == 0:
        re = math.log1p(ay * ay) * half
    elif ax > one and ax < 2 and ay < one and scale == 0:
        d2m1 = (ax - one) * (ax + one)
        if ay >= eps:
            d2m1 += ay * ay
        re = math.log1p(d2m1) * half
    elif ax < one and ax >= half and ay < eps * half and scale == 0:
        re = math.log1p((ax - one) * (ax + one)) * half
    elif ax < one and ax >= half and scale == 0 and ax * ax + ay * ay >= half:
        if digits > 24:
            e2m1 = x2y2m1(np.float64(ax), np.float64(ay))
        else:                          # float32: double precision is exact enough (glibc's way)
            dx, dy = np.float64(ax), np.float64(ay)
            e2m1 = (dx - 1.0) * (dx + 1.0) + dy * dy
        re = math.log1p(real_const(x, e2m1)) * half
    else:
        re = math.log(math.hypot(ax, ay)) - real_const(x, scale) * real_const(x, math.log(2.0))
    return cpack(z.real, re, math.atan2(y, x))


@njit(**_NJ)
def c_log2(z):
    """NumPy's complex log2: ``c_log`` with each part times log2(e) (so no overflow either)."""
    r = c_log(z)
    k = real_const(z.real, 1.4426950408889634)
    return cpack(z.real, real_const(z.real, r.real) * k, real_const(z.real, r.imag) * k)


@njit(**_NJ)
def c_log10(z):
    """NumPy's complex log10: ``c_log`` with each part times log10(e)."""
    r = c_log(z)
    k = real_const(z.real, 0.4342944819032518)
    return cpack(z.real, real_const(z.real, r.real) * k, real_const(z.real, r.imag) * k)


@njit(**_NJ)
def _cmul(a, b):
    """NumPy's complex product (no C99 NaN recovery), in the operands' precision."""
    return cpack(a.real, a.real * b.real - a.imag * b.imag, a.real * b.imag + a.imag * b.real)


@njit(**_NJ)
def c_pow(a, b):
    """Complex ``a ** b`` as NumPy's npy_cpow: ``a ** 0`` is 1, ``0 ** b`` is 0 or NaN (never
    Numba's ZeroDivisionError), small integer exponents by repeated multiplication (exact
    where cpow is not), else glibc's cpow: ``exp(b * log(a))``."""
    ar, ai, br, bi = a.real, a.imag, b.real, b.imag
    if br == 0 and bi == 0:
        return cpack(a.real, 1.0, 0.0)
    if ar == 0 and ai == 0:
        if br > 0:
            return cpack(a.real, 0.0, 0.0)
        return cpack(a.real, math.nan, math.nan)
    if bi == 0 and br > -100 and br < 100 and br == math.floor(br):
        n = int(br)
        if n == 1:
            return a
        if n == 2:
            return _cmul(a, a)
        if n == 3:
            return _cmul(a, _cmul(a, a))
        m = -n if n < 0 else n
        acc = cpack(ar, 1.0, 0.0)
        p = a
        mask = 1
        while True:
            if m & mask:
                acc = _cmul(acc, p)
            mask <<= 1
            if m < mask:
                break
            p = _cmul(p, p)
        if br < 0:
            return cdiv(cpack(ar, 1.0, 0.0), acc)
        return acc
    return c_exp(b * c_log(a))
