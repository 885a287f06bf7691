"""Vectorisable transcendental functions for generated Numba kernels.

Every public function here is an ``@njit(inline="always", error_model="numpy")``
scalar function named ``<fn>_f64`` / ``<fn>_f32`` that takes and returns float64 /
float32 scalars.  A generated kernel calls it inside its element loop
(``out[i] = vm.exp_f64(a[i])``); because the body is straight-line code
(bit casts, selects, ``np.rint``/``np.floor``/``np.sqrt``, ``llvm.fma``) LLVM's
loop vectoriser turns the loop into packed AVX-512/AVX2 code, which Numba's
calls to ``math.exp`` & co. (scalar libm calls; llvmlite has no SVML) never are.

Functions (unary): exp, expm1, exp2, log, log1p, log2, log10, sin, cos, tan,
sinh, cosh, tanh, atan, asin, acos; (binary): atan2(y, x), pow(x, y),
logaddexp(a, b).  Each exists as ``_f64`` and ``_f32``.

Semantics
  * Special values follow NumPy (= C99 Annex F, = the Array API special-case
    tables): NaN in gives NaN out, signed zeros are kept (``sin(-0.0) == -0.0``,
    ``expm1(-0.0) == -0.0``), ``log(0) == -inf``, ``log(x<0)`` is NaN, exp
    overflows to inf and underflows gradually through the subnormals to 0,
    atan2's signed zero/infinity quadrants, C's ``pow`` table (``pow(x, 0) == 1``
    even for NaN x, ``pow(1, y) == 1`` even for NaN y, ``pow(-1, inf) == 1``,
    negative bases with integer/non-integer exponents, ...), and NumPy's
    ``logaddexp`` (``logaddexp(x, x) == x + log(2)``, same-sign infinities).
  * Accuracy is about 1 ulp (measured max <= 2 ulp against higher-precision
    references; see tests/test_vmath.py) for every finite input.
  * The f32 functions compute in float32 (16 lanes per zmm) except ``pow_f32``,
    whose log/exp run in float64 (the usual powf design: one f64 log and exp is
    both faster and far more accurate than float32 double-float arithmetic), and
    the huge-argument trig reduction, which runs in float64.
  * Calling kernels may be compiled with ``fastmath={'reassoc', 'contract'}``
    (reductions).  Numba inlines these functions before lowering, so their
    instructions get those flags too.  Without ``nsz`` LLVM does not fold
    ``(a + b) - a`` and friends, so the error-free transformations used here
    (two-sum, ``fma`` two-product) stay intact; rounding is done with
    ``np.rint``/``np.floor`` (never the magic-number trick) and every scaling by
    2**k is one multiply, so nothing here depends on evaluation order beyond
    what ``reassoc`` keeps.  The tests check the functions under those flags.

Huge arguments of sin/cos/tan
  ``sin_f64``/``cos_f64``/``tan_f64`` (and the f32 ones) are correct for every
  finite input.  Arguments up to ``TRIG_FAST_MAX_F64`` (2**40, f32: 2**40 too)
  are reduced by a three-part Cody-Waite step in double-double; larger ones by
  a branch-free Payne-Hanek reduction: the exponent indexes a table of 2/pi
  chunks (``_TWO_OVER_PI_F64``, four doubles per exponent, four gathers), the
  products are formed exactly with ``fma`` and summed in double-double, so the
  reduced argument is right to ~2**-100 even for the worst cases (e.g.
  6381956970095103 * 2**797).  Both reductions are computed for every element
  and the result chosen with a select, because a per-element branch to a
  scalar path stops LLVM from vectorising the caller's loop.

  For callers that want to skip the Payne-Hanek cost there is a second API:
  ``sin_f64_fast``/``cos_f64_fast``/``tan_f64_fast`` (and ``_f32_fast``) are
  valid for ``|x| <= TRIG_FAST_MAX_*`` (and for NaN/inf), ``trig_big_f64(x)``/
  ``trig_big_f32(x)`` tell whether an element is outside that range, and
  ``sin_f64_slow`` etc. are correct scalar fallbacks (they are the full
  functions).  A code generator can OR ``trig_big`` into a flag inside the
  vectorised loop (an OR reduction vectorises) and, only when the flag is set,
  run a scalar fix-up loop ``if trig_big(a[i]): out[i] = sin_slow(a[i])``.
  The measured costs are recorded in PERF notes / the commit message; the full
  functions cost about 1.5-2x the fast ones in compute, which is often hidden
  behind memory bandwidth.
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit
from numba.extending import intrinsic

_NJ = dict(inline="always", error_model="numpy")


# ----------------------------------------------------------------------------
# Primitives
# ----------------------------------------------------------------------------

@intrinsic
def _fma(typingctx, a, b, c):
    """llvm.fma: a*b + c with one rounding; vectorises to vfmadd."""
    def codegen(context, builder, signature, args):
        t = args[0].type
        fn = builder.module.declare_intrinsic("llvm.fma", [t], ir.FunctionType(t, [t, t, t]))
        return builder.call(fn, args)
    return a(a, a, a), codegen


@njit(**_NJ)
def _bits64(x):
    return np.float64(x).view(np.int64)


@njit(**_NJ)
def _f64(i):
    return np.int64(i).view(np.float64)


@njit(**_NJ)
def _bits32(x):
    return np.float32(x).view(np.int32)


@njit(**_NJ)
def _f32(i):
    return np.int32(i).view(np.float32)


@njit(**_NJ)
def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(**_NJ)
def _fast_two_sum(a, b):
    """Needs |a| >= |b| (or a == 0)."""
    s = a + b
    return s, b - (s - a)


@njit(**_NJ)
def _mul(a, b):
    """a * b, rounded, that LLVM's contraction cannot fuse into a later add
    (fma(a, b, +0.0) is not folded to a multiply without nsz)."""
    return _fma(a, b, a * 0.0)


@njit(**_NJ)
def _two_prod(a, b):
    p = _mul(a, b)
    return p, _fma(a, b, -p)


@njit(**_NJ)
def _copysign_f64(mag, sgn):
    """|mag| with the sign bit of sgn (mag must be >= 0 or NaN)."""
    return _f64(_bits64(mag) | (_bits64(sgn) & np.int64(-0x8000000000000000)))


@njit(**_NJ)
def _xorsign_f64(v, sgn):
    return _f64(_bits64(v) ^ (_bits64(sgn) & np.int64(-0x8000000000000000)))


@njit(**_NJ)
def _copysign_f32(mag, sgn):
    return _f32(_bits32(mag) | (_bits32(sgn) & np.int32(-0x80000000)))


@njit(**_NJ)
def _xorsign_f32(v, sgn):
    return _f32(_bits32(v) ^ (_bits32(sgn) & np.int32(-0x80000000)))


@njit(**_NJ)
def _scale_f64(p, k):
    """p * 2**k with one rounding, for normal p near 1 and int64 k in [-1100, 1100]."""
    s = k >> 1
    return _f64(_bits64(p) + ((k - s) << 52)) * _f64((s + 1023) << 52)


@njit(**_NJ)
def _scale_f32(p, k):
    """p * 2**k with one rounding, for normal p near 1 and int32 k in [-200, 200]."""
    s = k >> 1
    return _f32(np.int32(_bits32(p) + ((k - s) << 23))) * _f32(np.int32((s + 127) << 23))


# ----------------------------------------------------------------------------
# Constants (polynomials: minimax fits made with mpmath, see tests/test_vmath.py
# for the measured accuracy)
# ----------------------------------------------------------------------------

INF = math.inf
NAN = math.nan
LN2 = 0.6931471805599453
LN2_LO = 2.3190468138462996e-17
LN2_HI42 = 0.6931471805598903          # 42 bits: k * LN2_HI42 exact for |k| < 2**11
LN2_LO42 = 5.497923018708371e-14
INVLN2 = 1.4426950408889634
PIO2_1 = 1.5707963267948966
PIO2_2 = 6.123233995736766e-17
PIO2_3 = -1.4973849048591698e-33
PI_HI = 3.141592653589793
PI_LO = 1.2246467991473532e-16
PIO4_HI = 0.7853981633974483
PIO4_LO = 3.061616997868383e-17
PIO2_HI = PIO2_1
PIO2_LO = PIO2_2
PI3O4_HI = 2.356194490192345
PI3O4_LO = 9.184850993605148e-17
TWO_OVER_PI = 0.6366197723675814
TAN_PI8 = 0.41421356237309503
TAN_3PI8 = 2.414213562373095
TWO_THIRDS_HI = 0.6666666666666666
TWO_THIRDS_LO = 3.700743415417188e-17
IVLN2_HI = 1.4426950407214463
IVLN2_LO = 1.6751713164886512e-10
IVLN10_HI = 0.4342944818781689
IVLN10_LO = 2.5082946711645275e-11
LOG10_2_HI = 0.30102999566361177
LOG10_2_LO = 3.694239077158931e-13
SQRT_HALF_BITS = 0x3FE6A09E667F3BCD    # bits of sqrt(1/2)
DBL_MIN = 2.2250738585072014e-308
TRIG_FAST_MAX_F64 = 1099511627776.0    # 2**40
TRIG_FAST_MAX_F32 = np.float32(1099511627776.0)

# exp: e^r = 1 + r + r^2/2 + r^3 P(r), |r| <= ln2/2
E0, E1, E2, E3, E4, E5, E6, E7, E8 = [
    0.16666666666666602, 0.04166666666662003, 0.00833333333338836, 0.001388888892048438,
    0.00019841269709380997, 2.4801516384317168e-05, 2.755742506453527e-06,
    2.7622210599646267e-07, 2.504589468614392e-08]
# log: log1p(f) = 2s + s z L(z), s = f/(2+f), z = s^2
L0, L1, L2, L3, L4, L5, L6 = [
    0.6666666666666734, 0.3999999999941432, 0.285714287424747, 0.22222198563503334,
    0.1818356486580353, 0.1531403585564555, 0.14796105256222855]
# double-double log for pow: log(m) = 2s + (2/3)s^3 + s^5 T(z)
T0, T1, T2, T3, T4, T5, T6 = [
    0.40000000000002256, 0.28571428570099233, 0.22222222519979473, 0.18181784362459977,
    0.15386757535264975, 0.13256813199371545, 0.1319636936625146]
# sin(r) = r + r^3 S(z), cos(r) = 1 - z/2 + z^2 C(z), |r| <= pi/4 (+margin)
S0, S1, S2, S3, S4, S5, S6 = [
    -0.16666666666666666, 0.008333333333333323, -0.0001984126984125474, 2.75573192140343e-06,
    -2.5052104873770004e-08, 1.6058362119552424e-10, -7.578487701543364e-13]
C0, C1, C2, C3, C4, C5 = [
    0.041666666666666595, -0.0013888888888872995, 2.4801587288811998e-05,
    -2.7557314167524173e-07, 2.0875699202371416e-09, -1.1358449664403785e-11]
# atan(t) = t + t^3 A(z), |t| <= tan(pi/8)
A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10 = [
    -0.333333333333332, 0.19999999999953172, -0.14285714280158635, 0.11111110781741981,
    -0.0909089771294548, 0.0769205949160074, -0.06663096564590841, 0.05847839584289395,
    -0.050390996705974314, 0.03805978546834015, -0.01790241095384671]
# asin(x) = x + x^3 P(z), |x| <= 1/2
P0, P1, P2, P3, P4, P5, P6, P7, P8, P9, P10, P11 = [
    0.16666666666665408, 0.07500000000337005, 0.044642856828334763, 0.030381959136719032,
    0.0223717580561506, 0.01735970467835712, 0.013885236311351343, 0.012169205986671205,
    0.006528000161708181, 0.0195281963239961, -0.016224144284781052, 0.031912195580965565]
# sinh(x) = x + x^3 H(z), |x| <= 1
H0, H1, H2, H3, H4, H5, H6 = [
    0.16666666666666669, 0.008333333333333148, 0.00019841269841431873, 2.755731915707192e-06,
    2.505212313671595e-08, 1.605725976927185e-10, 7.758748784892144e-13]
# tanh(x) = x + x^3 Q(z), |x| <= 1/2
Q0, Q1, Q2, Q3, Q4, Q5, Q6, Q7, Q8, Q9 = [
    -0.33333333333333165, 0.1333333333330034, -0.05396825394592509, 0.02186948778649941,
    -0.008863221031043837, 0.003591953932639129, -0.0014544897214558749, 0.0005833033127301897,
    -0.0002178362278072583, 5.6804816379760336e-05]


# ----------------------------------------------------------------------------
# 2/pi table for the Payne-Hanek reduction
# ----------------------------------------------------------------------------

def _two_over_pi_int(nbits):
    """floor(2/pi * 2**nbits), by Machin's formula in integers."""
    guard = 64
    one = 1 << (nbits + guard)

    def arctan_inv(n):
        total, term, k, n2 = 0, one // n, 1, n * n
        while term:
            total += term // k if (k // 2) % 2 == 0 else -(term // k)
            term //= n2
            k += 2
        return total
    pi = 16 * arctan_inv(5) - 4 * arctan_inv(239)      # pi * 2**(nbits+guard)
    return (2 * one * (1 << nbits)) // pi


def _pio2_table(nrows, mant_bits, bias, width):
    """Row e (a biased exponent) holds four chunks of `width` bits of 2/pi, scaled so
    that M * T[e, j] (M: the integer significand, mant_bits wide) sums to x * 2/pi
    minus a multiple of 4: chunk j covers bits i0 + width*j ... of 2/pi (bit i has
    weight 2**-i), i0 = E - 1 with x = M * 2**E, and T[e, j] = C_j * 2**(2 - width*(j+1))."""
    emax = nrows - 1 - bias - (mant_bits - 1)
    nbits = emax + 4 * width + 8
    big = _two_over_pi_int(nbits)
    tab = np.zeros((nrows, 4))
    for eb in range(nrows):
        e = eb - bias - (mant_bits - 1)
        i0 = e - 1
        for j in range(4):
            lo_bit = i0 + width * j
            hi_bit = lo_bit + width - 1            # bits lo_bit..hi_bit, weights 2**-i
            if hi_bit < 1:
                continue
            # integer of those bits: floor(2/pi * 2**hi_bit) mod 2**width
            c = (big >> (nbits - hi_bit)) if hi_bit <= nbits else big << (hi_bit - nbits)
            c &= (1 << width) - 1
            tab[eb, j] = math.ldexp(float(c), 2 - width * (j + 1))
    return tab.reshape(-1)


_TWO_OVER_PI_F64 = _pio2_table(2048, 53, 1023, 53)
_TWO_OVER_PI_F32 = _pio2_table(256, 24, 127, 29)


# ----------------------------------------------------------------------------
# float64 kernels
# ----------------------------------------------------------------------------

@njit(**_NJ)
def _exp_tail(r, rl):
    """e^(r + rl) for |r| <= ~0.35, |rl| << ulp(r); result in [0.7, 1.42]."""
    p = _fma(r, _fma(r, _fma(r, _fma(r, _fma(r, _fma(r, _fma(r, _fma(r, E8, E7), E6), E5),
                                                   E4), E3), E2), E1), E0)
    h = r * r * _fma(r, p, 0.5)
    th = 1.0 + r
    tl = (1.0 - th) + r
    return th + (tl + (h + rl * th))


@njit(**_NJ)
def _exp_reduce(xc, xl):
    """Split xc + xl (xc in [-746, 711]) as k*ln2 + (r + rl); returns (k, r, rl)."""
    kf = np.rint(xc * INVLN2)
    rh = xc - kf * LN2_HI42            # exact
    rlo = xl - kf * LN2_LO42
    r, rl = _two_sum(rh, rlo)
    return np.int64(kf), r, rl


@njit(**_NJ)
def _exp_pk(xc, xl):
    """e^(xc + xl) = p * 2**k for xc in [-746, 711]."""
    k, r, rl = _exp_reduce(xc, xl)
    return _exp_tail(r, rl), k


@njit(**_NJ)
def exp_f64(x):
    xc = x if x < 711.0 else 711.0
    xc = xc if xc > -746.0 else -746.0
    p, k = _exp_pk(xc, 0.0)
    y = _scale_f64(p, k)
    return y if x == x else x


@njit(**_NJ)
def exp2_f64(x):
    xc = x if x < 1025.0 else 1025.0
    xc = xc if xc > -1076.0 else -1076.0
    kf = np.rint(xc)
    t = xc - kf
    r, rl = _two_prod(t, LN2)
    rl += t * LN2_LO
    y = _scale_f64(_exp_tail(r, rl), np.int64(kf))
    return y if x == x else x


@njit(**_NJ)
def expm1_f64(x):
    xc = x if x < 711.0 else 711.0
    xc = xc if xc > -45.0 else -45.0
    k, r, rl = _exp_reduce(xc, 0.0)
    p = _fma(r, _fma(r, _fma(r, _fma(r, _fma(r, _fma(r, _fma(r, _fma(r, E8, E7), E6), E5),
                                                   E4), E3), E2), E1), E0)
    h = r * r * _fma(r, p, 0.5)
    # small k: (2^k - 1) + 2^k r + 2^k (h + rl (1 + r)), the first sum error-free;
    # large k: (1 + r + h + ...) 2^k
    ks = k if k < 60 else 60
    tk = _f64((ks + 1023) << 52)
    sh, se = _two_sum(tk - 1.0, tk * r)
    small = sh + (se + tk * (h + rl * (1.0 + r)))
    th = 1.0 + r
    tl = (1.0 - th) + r
    p = th + (tl + (h + rl * th))               # e^(r+rl)
    y = _scale_f64(p, k) if k >= 60 else small
    y = _fma(tk, p, -1.0) if k < -53 else y
    y = x if abs(x) < 5.551115123125783e-17 else y      # tiny (and +-0, subnormal): x
    return y if x == x else x


@njit(**_NJ)
def _log_split(x):
    """x > 0 finite: x = 2**k * m, m in [sqrt(1/2), sqrt(2)); returns (float k, f = m - 1)."""
    sub = x < DBL_MIN
    xs = x * 18014398509481984.0 if sub else x          # 2**54
    ix = _bits64(xs)
    k = (ix - SQRT_HALF_BITS) >> 52
    m = _f64(ix - (k << 52))
    kf = np.float64(k) - (54.0 if sub else 0.0)
    return kf, m - 1.0


@njit(**_NJ)
def _log_poly(f):
    """Returns (s, hfsq, R) with log1p(f) = f - hfsq + s*(hfsq + R)."""
    s = f / (2.0 + f)
    z = s * s
    R = z * _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, L6, L5), L4), L3), L2), L1), L0)
    hfsq = 0.5 * f * f
    return s, hfsq, R


@njit(**_NJ)
def _log_special(x, y):
    y = -INF if x == 0.0 else y
    y = NAN if x < 0.0 else y
    y = x if ((x == INF) | (x != x)) else y
    return y


@njit(**_NJ)
def log_f64(x):
    dk, f = _log_split(x)
    s, hfsq, R = _log_poly(f)
    y = dk * LN2_HI42 - ((hfsq - (s * (hfsq + R) + dk * LN2_LO42)) - f)
    return _log_special(x, y)


@njit(**_NJ)
def _log_hilo(x):
    """log(x) = k*ln2 + hi + lo with hi having 21 significant bits (for log2/log10)."""
    dk, f = _log_split(x)
    s, hfsq, R = _log_poly(f)
    hi = f - hfsq
    hi = _f64(_bits64(hi) & np.int64(-0x100000000))
    lo = ((f - hi) - hfsq) + s * (hfsq + R)
    return dk, hi, lo


@njit(**_NJ)
def log2_f64(x):
    dk, hi, lo = _log_hilo(x)
    val_hi = hi * IVLN2_HI
    val_lo = (lo + hi) * IVLN2_LO + lo * IVLN2_HI
    w = dk + val_hi
    val_lo += (dk - w) + val_hi
    return _log_special(x, val_lo + w)


@njit(**_NJ)
def log10_f64(x):
    dk, hi, lo = _log_hilo(x)
    val_hi = hi * IVLN10_HI
    y2 = dk * LOG10_2_HI
    val_lo = dk * LOG10_2_LO + (lo + hi) * IVLN10_LO + lo * IVLN10_HI
    w = y2 + val_hi
    val_lo += (y2 - w) + val_hi
    return _log_special(x, val_lo + w)


@njit(**_NJ)
def log1p_f64(x):
    u = 1.0 + x
    ix = _bits64(u)
    k = (ix - SQRT_HALF_BITS) >> 52
    m = _f64(ix - (k << 52))
    kz = k == 0
    f = x if kz else m - 1.0
    c = (1.0 - (u - x)) if u >= 2.0 else (x - (u - 1.0))     # exact error of u = 1 + x
    c = 0.0 if kz else c / u
    dk = np.float64(k)
    s, hfsq, R = _log_poly(f)
    y = dk * LN2_HI42 - ((hfsq - (s * (hfsq + R) + (dk * LN2_LO42 + c))) - f)
    y = x if abs(x) < 5.551115123125783e-17 else y
    y = -INF if x == -1.0 else y
    y = NAN if x < -1.0 else y
    return x if ((x == INF) | (x != x)) else y


# --- double-double log / exp for pow ---------------------------------------

@njit(**_NJ)
def _log_dd(a):
    """log(a) as a double-double for finite a > 0 (rel. error ~2**-68)."""
    dk, f = _log_split(a)
    m = f + 1.0
    dh, dl = _two_sum(m, 1.0)                # m + 1 exactly
    sh = f / dh
    sl = (_fma(-sh, dh, f) - sh * dl) / dh    # s = (m-1)/(m+1) = sh + sl
    # s^2
    z, zl = _two_prod(sh, sh)
    zl += 2.0 * sh * sl
    # s^3 = s^2 * s
    s3, s3l = _two_prod(z, sh)
    s3l += z * sl + zl * sh
    # (2/3) s^3
    t3, t3l = _two_prod(s3, TWO_THIRDS_HI)
    t3l += s3 * TWO_THIRDS_LO + s3l * TWO_THIRDS_HI
    # s^5 T(z)
    s5, s5l = _two_prod(s3, z)
    s5l += s3 * zl + s3l * z
    T = _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, T6, T5), T4), T3), T2), T1), T0)
    t5, t5l = _two_prod(s5, T)
    t5l += s5l * T
    # k ln2 + 2s + t3 + t5
    h, l = _two_sum(dk * LN2_HI42, 2.0 * sh)
    h, e = _two_sum(h, t3)
    l += e
    h, e = _two_sum(h, t5)
    l += e + (2.0 * sl + dk * LN2_LO42 + t3l + t5l)
    return _fast_two_sum(h, l)


@njit(**_NJ)
def pow_f64(x, y):
    ax = abs(x)
    axs = ax if ((ax > 0.0) & (ax < INF)) else 1.0
    lh, ll = _log_dd(axs)
    zh, zl = _two_prod(y, lh)
    zl += y * ll
    zc = zh if zh < 711.0 else 711.0
    zc = zc if zc > -746.0 else -746.0
    zl = zl if zc == zh else 0.0
    p, k = _exp_pk(zc, zl)
    r = _scale_f64(p, k)
    # |x| = 0 or inf: log is -inf / +inf
    lsign = -1.0 if ax == 0.0 else 1.0
    yl = y * lsign
    r = (INF if yl > 0.0 else 0.0) if ((ax == 0.0) | (ax == INF)) else r
    # |x| < 1 or > 1 with y = +-inf
    r = (0.0 if (ax < 1.0) == (y > 0.0) else INF) if abs(y) == INF else r
    r = 1.0 if ((ax == 1.0) & (abs(y) == INF)) else r
    # sign for negative bases
    yint = np.floor(y) == y
    half = y * 0.5
    yodd = yint & (abs(y) < 9007199254740992.0) & (np.floor(half) != half)
    neg = _bits64(x) < 0
    r = -r if (neg & yodd) else r
    r = NAN if ((x < 0.0) & (x > -INF) & (not yint)) else r
    r = NAN if ((x != x) | (y != y)) else r
    r = 1.0 if ((y == 0.0) | (x == 1.0)) else r
    return r


# --- logaddexp ---------------------------------------------------------------

@njit(**_NJ)
def logaddexp_f64(a, b):
    m = a if a > b else b
    d = -abs(a - b)
    y = m + log1p_f64(exp_f64(d))
    y = a + LN2 if a == b else y
    return y if ((a == a) & (b == b)) else a + b


# --- trigonometric -------------------------------------------------------------

@njit(**_NJ)
def _rem_pio2_cw(ax):
    """ax = q*pi/2 + (rh + rl) for 0 <= ax <= 2**40 (three-part Cody-Waite)."""
    q = np.rint(ax * TWO_OVER_PI)
    r1 = _fma(-q, PIO2_1, ax)                  # exact
    wh, wl = _two_prod(q, PIO2_2)
    rh, e = _two_sum(r1, -wh)
    rl = (e - wl) - q * PIO2_3
    return q, rh, rl


@njit(**_NJ)
def _rem_pio2_ph(ax):
    """Payne-Hanek: ax = q*pi/2 + (rh + rl) (q mod 4 only) for any finite ax >= 2**-12."""
    ix = _bits64(ax)
    eb = (ix >> 52) & 0x7FF
    mant = _f64((ix & 0xFFFFFFFFFFFFF) | (np.int64(1075) << 52))   # 2**52 + fraction bits
    i = np.uint64(eb) * np.uint64(4)
    t0 = _TWO_OVER_PI_F64[i]
    t1 = _TWO_OVER_PI_F64[i + np.uint64(1)]
    t2 = _TWO_OVER_PI_F64[i + np.uint64(2)]
    t3 = _TWO_OVER_PI_F64[i + np.uint64(3)]
    # x * 2/pi = sum of M * t_j (mod 4); take the integer part out of each exact
    # product separately, so that every step below is exact or a two-sum.
    h0, l0 = _two_prod(mant, t0)
    k0 = np.rint(h0)
    k1 = np.rint(l0)
    ab = (h0 - k0) + (l0 - k1)               # exact: multiples of 2**-51, |ab| <= 1
    h1, l1 = _two_prod(mant, t1)             # |h1| < 4
    h2, l2 = _two_prod(mant, t2)
    k2 = np.rint(h1)
    c = h1 - k2                              # exact, |c| <= 1/2
    k3 = np.rint(ab + c)
    hh, ll = _two_sum(ab - k3, c)            # ab - k3 exact
    kf = (k0 - 4.0 * np.floor(k0 * 0.25)) + k1 + k2 + k3
    hh, e = _two_sum(hh, l1)
    ll += e
    hh, e = _two_sum(hh, h2)
    ll += e + (l2 + mant * t3)
    fh, fl = _fast_two_sum(hh, ll)
    rh, rl = _two_prod(fh, PIO2_1)
    rl += fh * PIO2_2 + fl * PIO2_1
    return kf, rh, rl


@njit(**_NJ)
def _sincos_poly(rh, rl):
    """sin and cos of rh + rl (|rh| <= ~pi/4) as unevaluated sums (s + sl, c + cl).

    Written with explicit fma's whose addends are never plain products, so that
    the reassoc+contract FMA combines of LLVM cannot move rh or w into an inner
    fma (which would add a rounding)."""
    z = _mul(rh, rh)
    sp = _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, S6, S5), S4), S3), S2), S1)
    v = z * rh
    small = _fma(v, _fma(z, sp, S0), _fma(-0.5 * z, rl, rl))
    s = rh + small
    sl = small - (s - rh)
    cp = _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, C5, C4), C3), C2), C1), C0)
    hz = 0.5 * z
    w = 1.0 - hz
    smallc = _fma(z * z, cp, _fma(-rh, rl, (1.0 - w) - hz))
    c = w + smallc
    cl = smallc - (c - w)
    return s, sl, c, cl


@njit(**_NJ)
def _rem_pio2_full(ax):
    q, rh, rl = _rem_pio2_cw(ax)
    q2, rh2, rl2 = _rem_pio2_ph(ax)
    big = ax > TRIG_FAST_MAX_F64
    q = q2 if big else q
    rh = rh2 if big else rh
    rl = rl2 if big else rl
    return q, rh, rl


@njit(**_NJ)
def _quadrant(q):
    """q mod 4 as int64 (q a float integer; NaN/inf give 0)."""
    qm = q - 4.0 * np.floor(q * 0.25)
    qm = qm if qm == qm else 0.0
    return np.int64(qm)


@njit(**_NJ)
def _sin_from(x, q, rh, rl):
    s, sl, c, cl = _sincos_poly(rh, rl)
    n = _quadrant(q)
    y = c if (n & 1) != 0 else s
    y = -y if (n & 2) != 0 else y
    y = _xorsign_f64(y, x)
    return y if abs(x) < INF else x - x


@njit(**_NJ)
def _cos_from(x, q, rh, rl):
    s, sl, c, cl = _sincos_poly(rh, rl)
    n = _quadrant(q)
    y = s if (n & 1) != 0 else c
    y = -y if ((n + 1) & 2) != 0 else y
    return y if abs(x) < INF else x - x


@njit(**_NJ)
def _tan_from(x, q, rh, rl):
    s, sl, c, cl = _sincos_poly(rh, rl)
    n = _quadrant(q)
    odd = (n & 1) != 0
    num = -c if odd else s
    numl = -cl if odd else sl
    den = s if odd else c
    denl = sl if odd else cl
    t = num / den                       # double-double quotient, one correction step
    y = t + (_fma(-t, den, num) + (numl - t * denl)) / den
    y = _xorsign_f64(y, x)
    return y if abs(x) < INF else x - x


@njit(**_NJ)
def sin_f64(x):
    q, rh, rl = _rem_pio2_full(abs(x))
    return _sin_from(x, q, rh, rl)


@njit(**_NJ)
def cos_f64(x):
    q, rh, rl = _rem_pio2_full(abs(x))
    return _cos_from(x, q, rh, rl)


@njit(**_NJ)
def tan_f64(x):
    q, rh, rl = _rem_pio2_full(abs(x))
    return _tan_from(x, q, rh, rl)


@njit(**_NJ)
def trig_big_f64(x):
    """True where the *_fast trig functions are not valid (|x| > 2**40); False for NaN/inf."""
    return (abs(x) > TRIG_FAST_MAX_F64) & (abs(x) < INF)


@njit(**_NJ)
def sin_f64_fast(x):
    q, rh, rl = _rem_pio2_cw(abs(x))
    return _sin_from(x, q, rh, rl)


@njit(**_NJ)
def cos_f64_fast(x):
    q, rh, rl = _rem_pio2_cw(abs(x))
    return _cos_from(x, q, rh, rl)


@njit(**_NJ)
def tan_f64_fast(x):
    q, rh, rl = _rem_pio2_cw(abs(x))
    return _tan_from(x, q, rh, rl)


sin_f64_slow = sin_f64
cos_f64_slow = cos_f64
tan_f64_slow = tan_f64


# --- inverse trigonometric -------------------------------------------------------

@njit(**_NJ)
def _atan_poly(t):
    z = t * t
    p = _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(
        z, A10, A9), A8), A7), A6), A5), A4), A3), A2), A1), A0)
    return t * z * p


@njit(**_NJ)
def _atan_core(n, d, xneg):
    """atan2(n, +-d) for n, d >= 0 (not both 0 or both inf); xneg: d is negative."""
    big = (n > 4.49423283715579e+307) | (d > 4.49423283715579e+307)   # 2**1021
    n = n * 0.25 if big else n
    d = d * 0.25 if big else d
    ra = n <= TAN_PI8 * d
    rb = n <= TAN_3PI8 * d
    num = n if ra else (n - d if rb else -d)
    den = d if ra else (n + d if rb else n)
    bh = 0.0 if ra else (PIO4_HI if rb else PIO2_HI)
    bl = 0.0 if ra else (PIO4_LO if rb else PIO2_LO)
    # d negative: pi - atan(n/d)
    num = -num if xneg else num
    bh = (PI_HI if ra else (PI3O4_HI if rb else PIO2_HI)) if xneg else bh
    bl = (PI_LO if ra else (PI3O4_LO if rb else PIO2_LO)) if xneg else bl
    t = num / den
    return bh + (t + (_atan_poly(t) + bl))


@njit(**_NJ)
def atan_f64(x):
    y = _atan_core(abs(x), 1.0, False)
    return _copysign_f64(y, x)


@njit(**_NJ)
def atan2_f64(y, x):
    n = abs(y)
    d = abs(x)
    xneg = _bits64(x) < 0
    r = _atan_core(n, d, xneg)
    # both infinite: pi/4 or 3pi/4
    r = ((PI3O4_HI if xneg else PIO4_HI) if ((n == INF) & (d == INF)) else r)
    # y = +-0: 0 or pi
    r = ((PI_HI if xneg else 0.0) if n == 0.0 else r)
    r = _copysign_f64(r, y)
    return r if ((x == x) & (y == y)) else x + y


@njit(**_NJ)
def _asin_parts(a):
    """For 0 <= a <= 1: (small, s, sl, p) with asin(s + sl) ~ s + sl + p, where s + sl = a
    if small (a <= 1/2) else sqrt((1 - a)/2)."""
    small = a <= 0.5
    z = a * a if small else 0.5 * (1.0 - a)
    s = np.sqrt(z)
    sl = _fma(-s, s, z) / (s + s) if s > 0.0 else 0.0
    s = a if small else s
    sl = 0.0 if small else sl
    p = _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(
        z, P11, P10), P9), P8), P7), P6), P5), P4), P3), P2), P1), P0)
    return small, s, sl, s * z * p


@njit(**_NJ)
def asin_f64(x):
    a = abs(x)
    small, s, sl, p = _asin_parts(a)
    y_small = s + p
    y_big = (PIO2_HI - 2.0 * s) + (PIO2_LO - 2.0 * (sl + p))
    y = y_small if small else y_big
    y = _copysign_f64(y, x)
    return y if a <= 1.0 else NAN * a


@njit(**_NJ)
def acos_f64(x):
    a = abs(x)
    small, s, sl, p = _asin_parts(a)
    y_small = PIO2_HI - (x - (PIO2_LO - _copysign_f64(p, x)))
    y_pos = 2.0 * s + 2.0 * (sl + p)
    y_neg = (PI_HI - 2.0 * s) + (PI_LO - 2.0 * (sl + p))
    y = y_small if small else (y_neg if x < 0.0 else y_pos)
    return y if a <= 1.0 else NAN * a


# --- hyperbolic ------------------------------------------------------------------

@njit(**_NJ)
def _cosh_sinh_big(a):
    """(e^a / 2, e^-a / 2) for 0 <= a (clamped to 711)."""
    ac = a if a < 711.0 else 711.0
    p, k = _exp_pk(ac, 0.0)
    return _scale_f64(p, k - 1), _scale_f64(1.0 / p, -k - 1)


@njit(**_NJ)
def sinh_f64(x):
    a = abs(x)
    z = a * a
    h = _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, H6, H5), H4), H3), H2), H1), H0)
    ys = a + a * z * h
    u, v = _cosh_sinh_big(a)
    y = ys if a < 1.0 else u - v
    y = _copysign_f64(y, x)
    return y if a == a else x


@njit(**_NJ)
def cosh_f64(x):
    a = abs(x)
    u, v = _cosh_sinh_big(a)
    y = u + v
    return y if a == a else x


@njit(**_NJ)
def tanh_f64(x):
    a = abs(x)
    z = a * a
    q = _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(z, _fma(
        z, Q9, Q8), Q7), Q6), Q5), Q4), Q3), Q2), Q1), Q0)
    ys = a + a * z * q
    # a >= 1/2: 1 - 2 / (e^(2a) + 1)
    ac = a if a < 20.0 else 20.0
    t = expm1_f64(2.0 * ac)
    yb = 1.0 - 2.0 / (t + 2.0)
    y = ys if a < 0.5 else yb
    y = _copysign_f64(y, x)
    return y if a == a else x
