"""Scalar helpers that generated CPU kernels call; each is inlined by LLVM.

They give NumPy's exact semantics where Numba's differ (NaN-propagating
maximum, shifts past the bit width, sign of NaN, ...).
"""
import cmath
import math

import numpy as np
from llvmlite import ir
from numba import njit
from numba.extending import intrinsic

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


@njit(**_NJ)
def lshift(a, b, bits):
    return a << b if (b >= 0 and b < bits) else a * 0


@njit(**_NJ)
def rshift(a, b, bits):
    if b >= 0 and b < bits:
        return a >> b
    return a * 0 - (a < 0)     # NumPy: all sign bits


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
# Each helper computes in double precision (the kernel casts back to complex64).
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
