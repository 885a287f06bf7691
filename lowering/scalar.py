"""Scalar helpers that generated CPU kernels call; each is inlined by LLVM.

They give NumPy's exact semantics where Numba's differ (NaN-propagating
maximum, shifts past the bit width, sign of NaN, ...).
"""
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
    return x          # keeps NaN and signed zero, as NumPy does


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
