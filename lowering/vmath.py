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
    tests/test_vmath.py compares them bit for bit with NumPy.
  * Accuracy, measured on 10**6 random inputs per range against long double
    (tests/test_vmath.py ranges): at most 1.2 ulp everywhere except sinh
    (1.8 ulp for |x| in [2, 2.5], where e^x/2 - e^-x/2 cancels a little),
    log2_f32 under the reduction flags (1.5 ulp) and logaddexp_f64 (1.8 ulp;
    where max(a, b) is in (-ln 2, 0) and the result is near 0 the function is
    ill-conditioned, and the error is ~1 ulp of max(a, b), as NumPy's).
    Every float32 unary function was also checked on all 2**32 inputs against
    float64 libm: at most 1.1 ulp (sinh 1.75 ulp).  sin/cos/tan are right for
    every finite input, huge ones included (see below).
  * Complex exp, sinh, cosh, sin and cos (``c*_fast``, at the end) are the
    textbook formulas on these functions, for element-wise kernels; special
    values go to scalar.py's C99 helpers through a per-chunk flag.
  * The f32 functions compute in float32 (16 lanes per zmm) except: ``pow_f32``
    and ``logaddexp_f32`` run in float64 (one f64 log/exp is the usual powf
    design, far more accurate than float32 double-float arithmetic, and absorbs
    logaddexp's cancellation); the trig functions reduce the argument in
    float64 (exact for every float32) and ``tan_f32`` also evaluates in float64;
    such loops vectorise 8 lanes wide instead of 16.
  * Calling kernels may be compiled with ``fastmath={'reassoc', 'contract'}``
    (reductions).  Numba inlines these functions before lowering, so their
    instructions get those flags too.  Without ``nsz`` LLVM does not fold
    ``(a + b) - a`` and friends, so the error-free transformations used here
    (two-sum, ``fma`` two-product) stay intact; products whose rounded value
    matters are formed as ``fma(a, b, 0.0)`` (``_mul``) so that contraction
    cannot fuse them into a later add, and polynomial evaluation uses explicit
    fma's whose addends are never bare products; rounding is done with
    ``np.rint``/``np.floor``, except ``exp_f32``'s shifter, which is added inside
    an ``fma`` (an intrinsic call that no flag rewrites); every scaling by 2**k
    is one multiply.  The tests check the functions under those flags.
  * Division is an ``fdiv`` intrinsic (``_div``), so a caller compiled with
    Numba's default ``error_model='python'`` gets no ZeroDivisionError branch
    (which would stop vectorisation).

Huge arguments of sin/cos/tan (the choice, and how a caller uses it)
  ``sin_f64``/``cos_f64``/``tan_f64`` (and ``_f32``) are correct for every
  finite input and vectorise.  Arguments up to ``TRIG_FAST_MAX_F64`` (2**40;
  float32: also 2**40) are reduced by a three-part Cody-Waite step in
  double-double; larger ones by a branch-free Payne-Hanek reduction: the
  exponent indexes a table of 2/pi chunks (``_TWO_OVER_PI_F64``, four doubles
  per exponent), the products are formed exactly with ``fma`` and summed in
  double-double, so the reduced argument is right to ~2**-100 even for the
  worst cases (e.g. 6381956970095103 * 2**797).  Both reductions run for every
  element and a select picks one: a per-element branch to a scalar path would
  stop LLVM from vectorising the caller's loop.  The price is four gathers per
  element, which are slow on this machine (~25 cycles each): sin_f64 on 10**7
  elements takes 29 ms on one thread against 8 ms for the Cody-Waite-only
  version (float32: 27 vs 8 ms).

  So generated kernels should use the second API:
  ``sin_f64_fast``/``cos_f64_fast``/``tan_f64_fast`` (and ``_f32_fast``) are the
  Cody-Waite-only versions, valid for ``|x| <= TRIG_FAST_MAX_F64`` (f32:
  ``TRIG_CHEAP_MAX_F32`` = 2**20, two float64 FMAs, < 1 ulp) and for NaN/inf;
  ``trig_big_f64(x)``/``trig_big_f32(x)`` is True exactly where they are not
  valid; ``sin_f64_slow`` etc. are the full functions behind a real call
  (``inline="never"``).  In the vectorised loop OR ``trig_big`` into a flag (the
  OR reduction vectorises; the flag cost nothing measurable: 8.3 vs 8.2 ms), and
  only if it is set run a fix-up loop
  ``for i: if trig_big(a[i]): out[i] = sin_f64_slow(a[i])``.  Because the slow
  function is a call, that loop stays a cheap scalar scan (~6 ms per 10**7
  float64 elements on one thread, measured with one element in 10**4 huge)
  instead of being if-converted into the Payne-Hanek cost for every element.

Performance notes (10**7 elements, see the report for the full table)
  Cheap functions run near copy bandwidth (two threads: exp/log/asin f64
  3.3-3.9 ms and f32 1.7-1.9 ms, against 3.3 / 1.5 ms for a copy loop).  The long ones
  (pow, atan2, the full trig, logaddexp) are latency-bound: their dependency
  chain (~180 cycles for pow) is longer than the reorder window covers, and LLVM
  does not interleave vectorised loops with big bodies.  Forcing an interleave
  of 2 (``llvmlite.binding.set_option('', '-force-vector-interleave=2')``,
  process-wide, before compiling) took pow_f64 from 63 to 32 ms on one thread,
  sin_f64 from 29 to 26 ms and atan2 from 18 to 16 ms without slowing the cheap
  ones.
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


@intrinsic
def _div(typingctx, a, b):
    """IEEE a / b (an fdiv), without the ZeroDivisionError check that a caller compiled
    with Numba's default error_model='python' would put around ``/``."""
    def codegen(context, builder, signature, args):
        return builder.fdiv(args[0], args[1])
    return a(a, a), codegen


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
    return _fma(a, b, 0.0)


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


# Estrin-scheme polynomial helpers: sum c_i x^i with a short dependency chain
# (the long functions are latency bound: the reorder buffer holds only ~2 loop
# iterations, so a Horner chain of 10 fma's costs real time).

@njit(**_NJ)
def _e4(x, x2, c0, c1, c2, c3):
    return _fma(x2, _fma(x, c3, c2), _fma(x, c1, c0))


@njit(**_NJ)
def _e6(x, x2, x4, c0, c1, c2, c3, c4, c5):
    return _fma(x4, _fma(x, c5, c4), _e4(x, x2, c0, c1, c2, c3))


@njit(**_NJ)
def _e7(x, x2, x4, c0, c1, c2, c3, c4, c5, c6):
    return _fma(x4, _fma(x2, c6, _fma(x, c5, c4)), _e4(x, x2, c0, c1, c2, c3))


@njit(**_NJ)
def _e8(x, x2, x4, c0, c1, c2, c3, c4, c5, c6, c7):
    return _fma(x4, _e4(x, x2, c4, c5, c6, c7), _e4(x, x2, c0, c1, c2, c3))


@njit(**_NJ)
def _e9(x, x2, x4, c0, c1, c2, c3, c4, c5, c6, c7, c8):
    return _fma(x4, _fma(x4, c8, _e4(x, x2, c4, c5, c6, c7)), _e4(x, x2, c0, c1, c2, c3))


@njit(**_NJ)
def _e10(x, x2, x4, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9):
    return _fma(x4, _fma(x4, _fma(x, c9, c8), _e4(x, x2, c4, c5, c6, c7)),
                _e4(x, x2, c0, c1, c2, c3))


@njit(**_NJ)
def _e11(x, x2, x4, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10):
    return _fma(x4, _fma(x4, _fma(x2, c10, _fma(x, c9, c8)), _e4(x, x2, c4, c5, c6, c7)),
                _e4(x, x2, c0, c1, c2, c3))


@njit(**_NJ)
def _e12(x, x2, x4, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11):
    return _fma(x4, _fma(x4, _e4(x, x2, c8, c9, c10, c11), _e4(x, x2, c4, c5, c6, c7)),
                _e4(x, x2, c0, c1, c2, c3))



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
TRIG_CHEAP_MAX_F32 = np.float32(1048576.0)      # 2**20: the *_f32_fast functions' range

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
# sinh(x) = x + x^3 H(z), |x| <= 2
H0, H1, H2, H3, H4, H5, H6, H7, H8, H9 = [
    0.16666666666666666, 0.008333333333333333, 0.00019841269841269828, 2.7557319223988925e-06,
    2.5052108385068662e-08, 1.6059043865075536e-10, 7.647162368691278e-13, 2.811499240218511e-15,
    8.212649189615075e-18, 2.0425683647510286e-20]
# tanh(x) = x + x^3 Q(z), |x| <= 3/4
Q0, Q1, Q2, Q3, Q4, Q5, Q6, Q7, Q8, Q9, Q10, Q11, Q12, Q13 = [
    -0.3333333333333333, 0.13333333333332717, -0.05396825396790279, 0.021869488526031978,
    -0.00886323535643071, 0.003592126106396853, -0.0014558196752128955, 0.0005899480397352892,
    -0.00023881974988266178, 9.603767358196104e-05, -3.746639001747178e-05,
    1.3223537332374788e-05, -3.6138338988157e-06, 5.416557386371486e-07]


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
    r2 = r * r
    p = _e9(r, r2, r2 * r2, E0, E1, E2, E3, E4, E5, E6, E7, E8)
    h = r2 * _fma(r, p, 0.5)
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
    r2 = r * r
    p = _e9(r, r2, r2 * r2, E0, E1, E2, E3, E4, E5, E6, E7, E8)
    h = r2 * _fma(r, p, 0.5)
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
    s = _div(f, 2.0 + f)
    z = s * s
    z2 = z * z
    R = z * _e7(z, z2, z2 * z2, L0, L1, L2, L3, L4, L5, L6)
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
    c = 0.0 if kz else _div(c, u)
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
    dh = m + 1.0                             # in [1.7, 2.5): m + 1 = dh + dl exactly
    dl = m - (dh - 1.0)
    inv = _div(1.0, dh)
    sh = f * inv
    sl = (_fma(-sh, dh, f) - sh * dl) * inv  # s = (m-1)/(m+1) = sh + sl
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
    z2 = z * z
    T = _e7(z, z2, z2 * z2, T0, T1, T2, T3, T4, T5, T6)
    t5, t5l = _two_prod(s5, T)
    t5l += s5l * T
    # k ln2 + 2s + t3 + t5
    h, l = _two_sum(dk * LN2_HI42, 2.0 * sh)
    h, e = _fast_two_sum(h, t3)              # |h| >= |2s| > |t3|, |t5|
    l += e
    h, e = _fast_two_sum(h, t5)
    l += e + (2.0 * sl + dk * LN2_LO42 + t3l + t5l)
    return _fast_two_sum(h, l)


@njit(**_NJ)
def _pow_finish(x, y, lh, ll):
    """pow from log|x| = lh + ll (double-double, finite) with C99's special cases."""
    ax = abs(x)
    # log|x| = -inf / +inf for x = 0 / inf: y*log|x| then over/underflows as C's pow wants
    lh = -INF if ax == 0.0 else lh
    lh = INF if ax == INF else lh
    zh, zl = _two_prod(y, lh)
    zl += y * ll
    zc = zh if zh < 711.0 else 711.0          # also NaN -> 711 (fixed below)
    zc = zc if zc > -746.0 else -746.0
    zl = zl if zc == zh else 0.0
    p, k = _exp_pk(zc, zl)
    return _pow_specials(x, y, _scale_f64(p, k))


@njit(**_NJ)
def _pow_specials(x, y, r):
    """pow's result from r = exp(y log|x|) (inf/0 where that over/underflows), with C99's
    signs and special cases."""
    ax = abs(x)
    # negative (or -0, -inf) base: odd integer y flips the sign, non-integer y gives NaN
    yint = np.floor(y) == y                   # True for +-inf
    half = y * 0.5
    yodd = yint & (abs(y) < 9007199254740992.0) & (np.floor(half) != half)
    r = -r if ((_bits64(x) < 0) & yodd) else r
    r = NAN if ((x < 0.0) & (x > -INF) & (not yint)) else r
    r = NAN if ((x != x) | (y != y)) else r
    # pow(x, +-0) = 1, pow(1, y) = 1, pow(-1, +-inf) = 1 (y*log|x| is NaN there)
    r = 1.0 if ((y == 0.0) | (x == 1.0) | ((ax == 1.0) & (abs(y) == INF))) else r
    return r


@njit(**_NJ)
def pow_f64(x, y):
    ax = abs(x)
    axs = ax if ((ax > 0.0) & (ax < INF)) else 1.0
    lh, ll = _log_dd(axs)
    return _pow_finish(x, y, lh, ll)


# --- logaddexp ---------------------------------------------------------------

@njit(**_NJ)
def logaddexp_f64(a, b):
    """max(a, b) + log1p(exp(-|a - b|)), as NumPy.  Error <= ~1.5 ulp of the result,
    except where the sum cancels (max(a, b) in (-ln 2, 0), result near 0): there the
    function is ill-conditioned and the error is <= ~1.5 ulp of max(a, b) (NumPy's too)."""
    m = a if a > b else b
    y = m + log1p_f64(exp_f64(-abs(a - b)))
    y = (a + LN2) + LN2_LO if a == b else y         # also +-inf, like NumPy
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
    z2 = z * z
    z4 = z2 * z2
    sp = _e6(z, z2, z4, S1, S2, S3, S4, S5, S6)
    v = z * rh
    small = _fma(v, _fma(z, sp, S0), _fma(-0.5 * z, rl, rl))
    s = rh + small
    sl = small - (s - rh)
    cp = _e6(z, z2, z4, C0, C1, C2, C3, C4, C5)
    hz = 0.5 * z
    w = 1.0 - hz
    smallc = _fma(z2, cp, _fma(-rh, rl, (1.0 - w) - hz))
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
    t = _div(num, den)                  # double-double quotient, one correction step
    y = t + _div(_fma(-t, den, num) + (numl - t * denl), den)
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


# The fix-up functions are real calls (inline="never"): a call in the rarely taken
# branch keeps the fix-up loop a cheap scalar scan instead of letting LLVM
# if-convert and vectorise the whole Payne-Hanek path over every element.
@njit(inline="never", error_model="numpy")
def sin_f64_slow(x):
    return sin_f64(x)


@njit(inline="never", error_model="numpy")
def cos_f64_slow(x):
    return cos_f64(x)


@njit(inline="never", error_model="numpy")
def tan_f64_slow(x):
    return tan_f64(x)


# --- inverse trigonometric -------------------------------------------------------

@njit(**_NJ)
def _atan_poly(t):
    z = t * t
    z2 = z * z
    p = _e11(z, z2, z2 * z2, A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10)
    return t * z * p


@njit(**_NJ)
def _atan_core(n, d, xneg):
    """atan2(n, +-d) for n, d >= 0 (not both 0 or both inf); xneg: d is negative."""
    big = (n > 4.49423283715579e+307) | (d > 4.49423283715579e+307)   # 2**1021
    n = n * 0.25 if big else n
    d = d * 0.25 if big else d
    tiny = (n < 1.4916681462400413e-154) & (d < 1.4916681462400413e-154)  # 2**-511
    n = n * 1.8014398509481984e+16 if tiny else n                         # 2**54, exact
    d = d * 1.8014398509481984e+16 if tiny else d
    ra = n <= TAN_PI8 * d
    rb = n <= TAN_3PI8 * d
    dm, dme = _two_sum(n, -d)
    dp, dpe = _two_sum(n, d)
    num = n if ra else (dm if rb else -d)
    nume = 0.0 if ra else (dme if rb else 0.0)
    den = d if ra else (dp if rb else n)
    dene = 0.0 if ra else (dpe if rb else 0.0)
    bh = 0.0 if ra else (PIO4_HI if rb else PIO2_HI)
    bl = 0.0 if ra else (PIO4_LO if rb else PIO2_LO)
    # d negative: pi - atan(n/d)
    num = -num if xneg else num
    nume = -nume if xneg else nume
    bh = (PI_HI if ra else (PI3O4_HI if rb else PIO2_HI)) if xneg else bh
    bl = (PI_LO if ra else (PI3O4_LO if rb else PIO2_LO)) if xneg else bl
    # t + tl = (num + nume) / (den + dene) to ~2**-105
    inv = _div(1.0, den)
    t = num * inv
    tl = (_fma(-t, den, num) + (nume - t * dene)) * inv
    tl = tl if den < INF else 0.0            # atan(+-inf): 0 * inf
    h, e = _two_sum(bh, t)
    return h + (e + ((_atan_poly(t) + tl) + bl))


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
    sl = _div(_fma(-s, s, z), s + s) if s > 0.0 else 0.0
    s = a if small else s
    sl = 0.0 if small else sl
    z2 = z * z
    p = _e12(z, z2, z2 * z2, P0, P1, P2, P3, P4, P5, P6, P7, P8, P9, P10, P11)
    return small, s, sl, s * z * p


@njit(**_NJ)
def asin_f64(x):
    a = abs(x)
    small, s, sl, p = _asin_parts(a)
    y_small = s + p
    h, e = _two_sum(PIO2_HI, -2.0 * s)
    y_big = h + (e + (PIO2_LO - 2.0 * (sl + p)))
    y = y_small if small else y_big
    y = _copysign_f64(y, x)
    return y if a <= 1.0 else NAN * a


@njit(**_NJ)
def acos_f64(x):
    a = abs(x)
    small, s, sl, p = _asin_parts(a)
    h, e = _two_sum(PIO2_HI, -x)
    y_small = h + (e + (PIO2_LO - _copysign_f64(p, x)))
    y_pos = 2.0 * s + 2.0 * (sl + p)
    h, e = _two_sum(PI_HI, -2.0 * s)
    y_neg = h + (e + (PI_LO - 2.0 * (sl + p)))
    y = y_small if small else (y_neg if x < 0.0 else y_pos)
    return y if a <= 1.0 else NAN * a


# --- hyperbolic ------------------------------------------------------------------

@njit(**_NJ)
def _cosh_sinh_big(a):
    """(e^a / 2, e^-a / 2) for 0 <= a (clamped to 711)."""
    ac = a if a < 711.0 else 711.0
    p, k = _exp_pk(ac, 0.0)
    return _scale_f64(p, k - 1), _scale_f64(_div(1.0, p), -k - 1)


@njit(**_NJ)
def sinh_f64(x):
    a = abs(x)
    z = a * a
    z2 = z * z
    h = _e10(z, z2, z2 * z2, H0, H1, H2, H3, H4, H5, H6, H7, H8, H9)
    ys = a + a * z * h
    u, v = _cosh_sinh_big(a)
    y = ys if a < 2.0 else u - v
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
    z2 = z * z
    z4 = z2 * z2
    q = _fma(z4 * z4, _e6(z, z2, z4, Q8, Q9, Q10, Q11, Q12, Q13),
             _e8(z, z2, z4, Q0, Q1, Q2, Q3, Q4, Q5, Q6, Q7))
    ys = a + a * z * q
    # a >= 3/4: 1 - 2 / (e^(2a) + 1)
    ac = a if a < 20.0 else 20.0
    p, k = _exp_pk(ac + ac, 0.0)             # e^(2a) >= e^1.5: no cancellation in e^(2a) + 1
    yb = 1.0 - _div(2.0, _scale_f64(p, k) + 1.0)
    y = ys if a < 0.75 else yb
    y = _copysign_f64(y, x)
    return y if a == a else x


# ----------------------------------------------------------------------------
# float32 kernels (float32 arithmetic, 16 lanes; constants are np.float32
# globals so that nothing promotes the code to float64)
# ----------------------------------------------------------------------------

_F = np.float32
F0 = _F(0.0)
F_HALF = _F(0.5)
F1 = _F(1.0)
F2 = _F(2.0)
F4 = _F(4.0)
F_INF = _F(np.inf)
F_NAN = _F(np.nan)
F_INVLN2 = _F(1.442695)
F_LN2 = _F(0.6931472)
F_LN2_LO = _F(-1.9046542e-09)
F_LN2_HI16 = _F(0.69314575)            # 16 bits: k * F_LN2_HI16 exact for |k| < 2**8
F_LN2_LO16 = _F(1.4286068e-06)
F_FLT_MIN = _F(1.1754944e-38)
F_SQRT_HALF_BITS = 0x3F3504F3
F_IVLN2_HI = _F(1.4423828)             # 12 bits
F_IVLN2_LO = _F(0.0003122284)
F_IVLN10_HI = _F(0.4342041)
F_IVLN10_LO = _F(9.038034e-05)
F_LOG10_2_HI = _F(0.3010254)
F_LOG10_2_LO = _F(4.605039e-06)
F_PI_HI = _F(3.1415927)
F_PI_LO = _F(-8.742278e-08)
F_PIO2_HI = _F(1.5707964)
F_PIO2_LO = _F(-4.371139e-08)
F_PIO4_HI = _F(0.7853982)
F_PIO4_LO = _F(-2.1855694e-08)
F_PI3O4_HI = _F(2.3561945)
F_PI3O4_LO = _F(-5.9624403e-09)
F_TAN_PI8 = _F(0.41421357)
F_TAN_3PI8 = _F(2.4142137)

FE0, FE1, FE2, FE3, FE4 = [_F(c) for c in [
    0.1666666567325592, 0.041666481643915176, 0.0083334194496274, 0.0013933245791122317,
    0.00019824127957690507]]
FL0, FL1, FL2 = [_F(c) for c in [0.6666677594184875, 0.39977535605430603, 0.2987186312675476]]
FS0, FS1, FS2, FS3 = [_F(c) for c in [
    -0.1666666716337204, 0.008333329111337662, -0.00019839309970848262, 2.718092673603678e-06]]
FC0, FC1, FC2 = [_F(c) for c in [0.04166664555668831, -0.00138873141258955, 2.4432871214230545e-05]]
FA0, FA1, FA2, FA3, FA4 = [_F(c) for c in [
    -0.33333316445350647, 0.19998469948768616, -0.14243513345718384, 0.10593661665916443,
    -0.060778163373470306]]
FP0, FP1, FP2, FP3, FP4 = [_F(c) for c in [
    0.16666752099990845, 0.07495297491550446, 0.04547037556767464, 0.02417951636016369,
    0.04216630384325981]]
FH0, FH1, FH2, FH3, FH4 = [_F(c) for c in [       # |x| <= 2
    0.1666666716337204, 0.008333319798111916, 0.00019842860638163984, 2.7474857233755756e-06,
    2.6966521460281e-08]]
FQ0, FQ1, FQ2, FQ3, FQ4, FQ5 = [_F(c) for c in [   # |x| <= 3/4
    -0.33333316445350647, 0.1333269476890564, -0.053892724215984344, 0.021452033892273903,
    -0.007657255046069622, 0.001736935693770647]]


@njit(**_NJ)
def _mul32(a, b):
    return _fma(a, b, F0)


@njit(**_NJ)
def _two_prod32(a, b):
    p = _mul32(a, b)
    return p, _fma(a, b, -p)


@njit(**_NJ)
def _exp_tail_f32(r, rl):
    r2 = r * r
    p = _fma(r2 * r2, FE4, _e4(r, r2, FE0, FE1, FE2, FE3))
    h = r2 * _fma(r, p, F_HALF)
    th = F1 + r
    tl = (F1 - th) + r
    return th + (tl + (h + rl * th))


@njit(**_NJ)
def _exp_reduce_f32(xc):
    kf = np.rint(xc * F_INVLN2)
    rh = xc - kf * F_LN2_HI16                 # exact
    r, rl = _two_sum(rh, -kf * F_LN2_LO16)
    return np.int32(kf), r, rl


# exp_f32's own polynomial: 1 + r + r^2 (c0 + c1 r + ... + c4 r^4) on |r| <= ln2/2, fitted
# (Lawson-weighted least squares) to 0.09 ulp relative; degree 6 is enough for float32 and
# is one fma shorter than the double-float tail the other exponentials share.
FX0, FX1, FX2, FX3, FX4 = [_F(c) for c in [
    0.4999999701976776, 0.1666652113199234, 0.04166722670197487, 0.008368728682398796,
    0.0013879677280783653]]
F_SHIFTER = _F(12582912.0)      # 1.5 * 2**23: adding it rounds to an integer held in the low bits


@njit(**_NJ)
def exp_f32(x):
    """e^x, <= 1.05 ulp on all float32 inputs (exhaustive check against float64 libm).

    Softmax-like rows kernels are compute-bound on this function, so it is the lean
    form: the reduction multiplier comes out of one fma with a shifter (its integer
    from the bits, no rint or convert), an exact Cody-Waite step by fma, and a
    degree-6 polynomial.  On 4096 x 4096 values already in L1 (two threads) it takes
    2.1 ms against 3.2 ms for the double-float form, which still serves
    exp2/expm1/sinh/tanh, where the extra accuracy is used."""
    xc = x if x < _F(89.0) else _F(89.0)
    xc = xc if xc > _F(-104.0) else _F(-104.0)
    t = _fma(xc, F_INVLN2, F_SHIFTER)
    kf = t - F_SHIFTER
    k = _bits32(t) - np.int32(0x4B400000)
    r = _fma(kf, -F_LN2_LO16, _fma(kf, -F_LN2_HI16, xc))     # the inner fma is exact
    r2 = r * r
    p = _fma(r2, _fma(r2, FX4, _fma(r, FX3, FX2)), _fma(r, FX1, FX0))
    y = _scale_f32(F1 + _fma(r2, p, r), k)
    return y if x == x else x


@njit(**_NJ)
def exp2_f32(x):
    xc = x if x < _F(129.0) else _F(129.0)
    xc = xc if xc > _F(-151.0) else _F(-151.0)
    kf = np.rint(xc)
    t = xc - kf
    r, rl = _two_prod32(t, F_LN2)
    rl += t * F_LN2_LO
    y = _scale_f32(_exp_tail_f32(r, rl), np.int32(kf))
    return y if x == x else x


@njit(**_NJ)
def expm1_f32(x):
    xc = x if x < _F(89.0) else _F(89.0)
    xc = xc if xc > _F(-18.0) else _F(-18.0)
    k, r, rl = _exp_reduce_f32(xc)
    r2 = r * r
    p = _fma(r2 * r2, FE4, _e4(r, r2, FE0, FE1, FE2, FE3))
    h = r2 * _fma(r, p, F_HALF)
    ks = k if k < 64 else np.int32(64)
    tk = _f32(np.int32((ks + 127) << 23))
    sh, se = _two_sum(tk - F1, tk * r)          # tk - 1 exact for -24 <= k < 24
    small = sh + (se + tk * (h + rl * (F1 + r)))
    th = F1 + r
    tl = (F1 - th) + r
    pe = th + (tl + (h + rl * th))
    y = _fma(tk, pe, -F1) if ((k >= 24) | (k < -24)) else small
    y = _scale_f32(pe, k) if k >= 64 else y
    y = x if abs(x) < _F(2.9802322e-08) else y      # 2**-25
    return y if x == x else x


@njit(**_NJ)
def _log_split_f32(x):
    sub = x < F_FLT_MIN
    xs = x * _F(16777216.0) if sub else x           # 2**24
    ix = _bits32(xs)
    k = (ix - F_SQRT_HALF_BITS) >> 23
    m = _f32(np.int32(ix - (k << 23)))
    kf = _F(k) - (_F(24.0) if sub else F0)
    return kf, m - F1


@njit(**_NJ)
def _log_poly_f32(f):
    s = _div(f, F2 + f)
    z = s * s
    R = z * _fma(z, _fma(z, FL2, FL1), FL0)
    hfsq = F_HALF * f * f
    return s, hfsq, R


@njit(**_NJ)
def _log_special_f32(x, y):
    y = -F_INF if x == F0 else y
    y = F_NAN if x < F0 else y
    y = x if ((x == F_INF) | (x != x)) else y
    return y


@njit(**_NJ)
def log_f32(x):
    dk, f = _log_split_f32(x)
    s, hfsq, R = _log_poly_f32(f)
    y = dk * F_LN2_HI16 - ((hfsq - (s * (hfsq + R) + dk * F_LN2_LO16)) - f)
    return _log_special_f32(x, y)


@njit(**_NJ)
def _log_hilo_f32(x):
    dk, f = _log_split_f32(x)
    s, hfsq, R = _log_poly_f32(f)
    hi = f - hfsq
    hi = _f32(np.int32(_bits32(hi) & np.int32(-4096)))    # 12 significant bits
    lo = ((f - hi) - hfsq) + s * (hfsq + R)
    return dk, hi, lo


@njit(**_NJ)
def log2_f32(x):
    dk, hi, lo = _log_hilo_f32(x)
    y = (lo + hi) * F_IVLN2_LO + lo * F_IVLN2_HI + hi * F_IVLN2_HI + dk
    return _log_special_f32(x, y)


@njit(**_NJ)
def log10_f32(x):
    dk, hi, lo = _log_hilo_f32(x)
    y = ((lo + hi) * F_IVLN10_LO + lo * F_IVLN10_HI + dk * F_LOG10_2_LO + hi * F_IVLN10_HI
         + dk * F_LOG10_2_HI)
    return _log_special_f32(x, y)


@njit(**_NJ)
def log1p_f32(x):
    u = F1 + x
    ix = _bits32(u)
    k = (ix - F_SQRT_HALF_BITS) >> 23
    m = _f32(np.int32(ix - (k << 23)))
    kz = k == 0
    f = x if kz else m - F1
    c = (F1 - (u - x)) if u >= F2 else (x - (u - F1))
    c = F0 if kz else _div(c, u)
    dk = _F(k)
    s, hfsq, R = _log_poly_f32(f)
    y = dk * F_LN2_HI16 - ((hfsq - (s * (hfsq + R) + (dk * F_LN2_LO16 + c))) - f)
    y = x if abs(x) < _F(2.9802322e-08) else y
    y = -F_INF if x == -F1 else y
    y = F_NAN if x < -F1 else y
    return x if ((x == F_INF) | (x != x)) else y


@njit(**_NJ)
def pow_f32(x, y):
    """Computed in float64: log|x| (~2**-52) times y, exp_f64, rounded to float32."""
    xd = np.float64(x)
    yd = np.float64(y)
    ax = abs(xd)
    axs = ax if ((ax > 0.0) & (ax < INF)) else 1.0
    dk, f = _log_split(axs)
    s, hfsq, R = _log_poly(f)
    lh = dk * LN2_HI42 - ((hfsq - (s * (hfsq + R) + dk * LN2_LO42)) - f)
    lh = -INF if ax == 0.0 else lh
    lh = INF if ax == INF else lh
    # float64 y*log|x| and exp are ~2**-45 relative even at |y log|x|| ~ 100: no double-double
    return np.float32(_pow_specials(xd, yd, exp_f64(yd * lh)))


@njit(**_NJ)
def logaddexp_f32(a, b):
    """In float64 (29 spare bits absorb the cancellation of max + log1p(...))."""
    ad = np.float64(a)
    bd = np.float64(b)
    m = ad if ad > bd else bd
    y = m + log1p_f64(exp_f64(-abs(ad - bd)))
    y = (ad + LN2) + LN2_LO if a == b else y
    y = np.float32(y)
    return y if ((a == a) & (b == b)) else a + b


# --- float32 trigonometric ----------------------------------------------------
# The argument is reduced in float64 (x is exact there): Cody-Waite for
# |x| <= 2**40, Payne-Hanek with 29-bit chunks of 2/pi (exact products) above.

@njit(**_NJ)
def _rem_pio2_ph_f32(ax):
    """Payne-Hanek for a float32 ax >= 2**-10: returns (q mod 4, r) in float64."""
    ix = _bits32(ax)
    eb = (ix >> 23) & 0xFF
    mant = np.float64((ix & 0x7FFFFF) | 0x800000)
    i = np.uint64(eb) * np.uint64(4)
    p0 = mant * _TWO_OVER_PI_F32[i]                       # all four products exact
    p1 = mant * _TWO_OVER_PI_F32[i + np.uint64(1)]        # |p1| < 1/8
    p2 = mant * _TWO_OVER_PI_F32[i + np.uint64(2)]
    p3 = mant * _TWO_OVER_PI_F32[i + np.uint64(3)]
    k0 = np.rint(p0)
    a = p0 - k0                                           # exact
    k1 = np.rint(a + p1)
    hh, ll = _two_sum(a - k1, p1)
    f = hh + (ll + (p2 + p3))
    q = (k0 - 4.0 * np.floor(k0 * 0.25)) + k1
    return q, f * PIO2_1


@njit(**_NJ)
def _rem_pio2_cw_f32(ax):
    xd = np.float64(ax)
    q, rh, rl = _rem_pio2_cw(xd)
    return q, rh + rl


@njit(**_NJ)
def _rem_pio2_cheap_f32(ax):
    """ax = q*pi/2 + r for a float32 0 <= ax <= 2**20, in float64 with two FMAs: the first
    product is exact to one rounding, the second adds pi/2's tail; |error| < 2**-80, far
    below float32's needs even where r cancels to ~2**-30 (the double-double bookkeeping of
    _rem_pio2_cw is what float64 results need, not float32 ones)."""
    xd = np.float64(ax)
    q = np.rint(xd * TWO_OVER_PI)
    r = _fma(-q, PIO2_1, xd)
    return q, _fma(-q, PIO2_2, r)


@njit(**_NJ)
def _rem_pio2_full_f32(ax):
    q, r = _rem_pio2_cw_f32(ax)
    q2, r2 = _rem_pio2_ph_f32(ax)
    big = ax > TRIG_FAST_MAX_F32
    return (q2 if big else q), (r2 if big else r)


@njit(**_NJ)
def _sincos_poly_f32(rd):
    """sin, cos of the float64 rd (|rd| <= ~pi/4) in float32: the polynomial runs on
    r = float32(rd), and dr = rd - r is added to first order."""
    r = np.float32(rd)
    dr = np.float32(rd - np.float64(r))
    z = r * r
    z2 = z * z
    s = r + (r * z * _e4(z, z2, FS0, FS1, FS2, FS3) + dr)
    w = F1 - F_HALF * z
    c = w + (((F1 - w) - F_HALF * z) + (z2 * _fma(z, _fma(z, FC2, FC1), FC0) - r * dr))
    return s, c


@njit(**_NJ)
def _sin_from_f32(x, q, r):
    s, c = _sincos_poly_f32(r)
    n = _quadrant(q)
    y = c if (n & 1) != 0 else s
    y = -y if (n & 2) != 0 else y
    y = _xorsign_f32(y, x)
    return y if abs(x) < F_INF else x - x


@njit(**_NJ)
def _cos_from_f32(x, q, r):
    s, c = _sincos_poly_f32(r)
    n = _quadrant(q)
    y = s if (n & 1) != 0 else c
    y = -y if ((n + 1) & 2) != 0 else y
    return y if abs(x) < F_INF else x - x


@njit(**_NJ)
def _tan_from_f32(x, q, r):
    # sin and cos in float64 (short polynomials), one division, one rounding
    z = r * r
    z2 = z * z
    s = r + r * z * _e4(z, z2, S0, S1, S2, S3)
    c = 1.0 - 0.5 * z + z2 * _e4(z, z2, C0, C1, C2, C3)
    n = _quadrant(q)
    odd = (n & 1) != 0
    t = _div(-c if odd else s, s if odd else c)
    y = _xorsign_f32(np.float32(t), x)
    return y if abs(x) < F_INF else x - x


@njit(**_NJ)
def sin_f32(x):
    q, r = _rem_pio2_full_f32(abs(x))
    return _sin_from_f32(x, q, r)


@njit(**_NJ)
def cos_f32(x):
    q, r = _rem_pio2_full_f32(abs(x))
    return _cos_from_f32(x, q, r)


@njit(**_NJ)
def tan_f32(x):
    q, r = _rem_pio2_full_f32(abs(x))
    return _tan_from_f32(x, q, r)


@njit(**_NJ)
def trig_big_f32(x):
    """True where the *_f32_fast trig functions are not valid (|x| > 2**20); False for NaN/inf."""
    return (abs(x) > TRIG_CHEAP_MAX_F32) & (abs(x) < F_INF)


@njit(**_NJ)
def sin_f32_fast(x):
    q, r = _rem_pio2_cheap_f32(abs(x))
    return _sin_from_f32(x, q, r)


@njit(**_NJ)
def cos_f32_fast(x):
    q, r = _rem_pio2_cheap_f32(abs(x))
    return _cos_from_f32(x, q, r)


@njit(**_NJ)
def tan_f32_fast(x):
    q, r = _rem_pio2_cheap_f32(abs(x))
    return _tan_from_f32(x, q, r)


@njit(inline="never", error_model="numpy")
def sin_f32_slow(x):
    return sin_f32(x)


@njit(inline="never", error_model="numpy")
def cos_f32_slow(x):
    return cos_f32(x)


@njit(inline="never", error_model="numpy")
def tan_f32_slow(x):
    return tan_f32(x)


# --- float32 inverse trigonometric --------------------------------------------

@njit(**_NJ)
def _atan_core_f32(n, d, xneg):
    big = (n > _F(4.2535296e+37)) | (d > _F(4.2535296e+37))     # 2**125
    n = n * _F(0.25) if big else n
    d = d * _F(0.25) if big else d
    tiny = (n < _F(1.0842022e-19)) & (d < _F(1.0842022e-19))     # 2**-63
    n = n * _F(16777216.0) if tiny else n                        # 2**24, exact
    d = d * _F(16777216.0) if tiny else d
    ra = n <= F_TAN_PI8 * d
    rb = n <= F_TAN_3PI8 * d
    dm, dme = _two_sum(n, -d)
    dp, dpe = _two_sum(n, d)
    num = n if ra else (dm if rb else -d)
    nume = F0 if ra else (dme if rb else F0)
    den = d if ra else (dp if rb else n)
    dene = F0 if ra else (dpe if rb else F0)
    bh = F0 if ra else (F_PIO4_HI if rb else F_PIO2_HI)
    bl = F0 if ra else (F_PIO4_LO if rb else F_PIO2_LO)
    num = -num if xneg else num
    nume = -nume if xneg else nume
    bh = (F_PI_HI if ra else (F_PI3O4_HI if rb else F_PIO2_HI)) if xneg else bh
    bl = (F_PI_LO if ra else (F_PI3O4_LO if rb else F_PIO2_LO)) if xneg else bl
    inv = _div(F1, den)
    t = num * inv
    tl = (_fma(-t, den, num) + (nume - t * dene)) * inv
    tl = tl if den < F_INF else F0
    z = t * t
    z2 = z * z
    p = t * z * _fma(z2 * z2, FA4, _e4(z, z2, FA0, FA1, FA2, FA3))
    h, e = _two_sum(bh, t)
    return h + (e + ((p + tl) + bl))


@njit(**_NJ)
def atan_f32(x):
    return _copysign_f32(_atan_core_f32(abs(x), F1, False), x)


@njit(**_NJ)
def atan2_f32(y, x):
    n = abs(y)
    d = abs(x)
    xneg = _bits32(x) < 0
    r = _atan_core_f32(n, d, xneg)
    r = ((F_PI3O4_HI if xneg else F_PIO4_HI) if ((n == F_INF) & (d == F_INF)) else r)
    r = ((F_PI_HI if xneg else F0) if n == F0 else r)
    r = _copysign_f32(r, y)
    return r if ((x == x) & (y == y)) else x + y


@njit(**_NJ)
def _asin_parts_f32(a):
    small = a <= F_HALF
    z = a * a if small else F_HALF * (F1 - a)
    s = np.sqrt(z)
    sl = _div(_fma(-s, s, z), s + s) if s > F0 else F0
    s = a if small else s
    sl = F0 if small else sl
    z2 = z * z
    p = _fma(z2 * z2, FP4, _e4(z, z2, FP0, FP1, FP2, FP3))
    return small, s, sl, s * z * p


@njit(**_NJ)
def asin_f32(x):
    a = abs(x)
    small, s, sl, p = _asin_parts_f32(a)
    y_small = s + p
    h, e = _two_sum(F_PIO2_HI, -(s + s))
    y_big = h + (e + (F_PIO2_LO - (sl + p) * F2))
    y = y_small if small else y_big
    y = _copysign_f32(y, x)
    return y if a <= F1 else F_NAN * a


@njit(**_NJ)
def acos_f32(x):
    a = abs(x)
    small, s, sl, p = _asin_parts_f32(a)
    h, e = _two_sum(F_PIO2_HI, -x)
    y_small = h + (e + (F_PIO2_LO - _copysign_f32(p, x)))
    y_pos = (s + s) + (sl + p) * F2
    h, e = _two_sum(F_PI_HI, -(s + s))
    y_neg = h + (e + (F_PI_LO - (sl + p) * F2))
    y = y_small if small else (y_neg if x < F0 else y_pos)
    return y if a <= F1 else F_NAN * a


# --- float32 hyperbolic -------------------------------------------------------

@njit(**_NJ)
def _cosh_sinh_big_f32(a):
    ac = a if a < _F(90.0) else _F(90.0)
    k, r, rl = _exp_reduce_f32(ac)
    p = _exp_tail_f32(r, rl)
    return _scale_f32(p, k - 1), _scale_f32(_div(F1, p), -k - 1)


@njit(**_NJ)
def sinh_f32(x):
    a = abs(x)
    z = a * a
    z2 = z * z
    ys = a + a * z * _fma(z2 * z2, FH4, _e4(z, z2, FH0, FH1, FH2, FH3))
    u, v = _cosh_sinh_big_f32(a)
    y = ys if a < F2 else u - v
    y = _copysign_f32(y, x)
    return y if a == a else x


@njit(**_NJ)
def cosh_f32(x):
    a = abs(x)
    u, v = _cosh_sinh_big_f32(a)
    y = u + v
    return y if a == a else x


@njit(**_NJ)
def tanh_f32(x):
    a = abs(x)
    z = a * a
    z2 = z * z
    ys = a + a * z * _fma(z2 * z2, _fma(z, FQ5, FQ4), _e4(z, z2, FQ0, FQ1, FQ2, FQ3))
    ac = a if a < _F(10.0) else _F(10.0)
    k, r, rl = _exp_reduce_f32(ac + ac)
    yb = F1 - _div(F2, _scale_f32(_exp_tail_f32(r, rl), k) + F1)
    y = ys if a < _F(0.75) else yb
    y = _copysign_f32(y, x)
    return y if a == a else x


# ----------------------------------------------------------------------------
# Complex functions built from the real ones (complex128, and complex64 computed
# in float64 like scalar.py's C99 helpers, the kernel rounding the result back).
#
# Each ``c<name>_fast(z)`` is the textbook formula on the vectorised real functions;
# it is exact to the real functions' accuracy wherever ``c<name>_bad(z)`` is False:
# both parts finite, |Re z| (or |Im z| for sin/cos) at most 708 so nothing
# overflows, and the trig argument within the Cody-Waite range.  Element-wise
# kernels OR the ``_bad`` flag over a chunk and redo a flagged chunk with
# scalar.py's C99 Annex G helpers, which own every special value (inf, NaN,
# overflow in two halves); the fast formulas agree with those helpers on signed
# zeros, because the helpers compute the same products.
# ----------------------------------------------------------------------------

C_EXP_MAX = 708.0


@njit(**_NJ)
def _c_ok(e, t):
    """The fast complex formulas hold: ``e`` feeds exp/sinh/cosh, ``t`` feeds sin/cos."""
    return (abs(e) <= C_EXP_MAX) & (abs(t) <= TRIG_FAST_MAX_F64)


@njit(**_NJ)
def cexp_fast(z):
    x, y = np.float64(z.real), np.float64(z.imag)
    r = exp_f64(x)
    return complex(r * cos_f64_fast(y), r * sin_f64_fast(y))


@njit(**_NJ)
def cexp_bad(z):
    """The flag of exp, sinh and cosh (Re z feeds the exponentials)."""
    return not _c_ok(np.float64(z.real), np.float64(z.imag))


@njit(**_NJ)
def csinh_fast(z):
    x, y = np.float64(z.real), np.float64(z.imag)
    return complex(sinh_f64(x) * cos_f64_fast(y), cosh_f64(x) * sin_f64_fast(y))


@njit(**_NJ)
def ccosh_fast(z):
    x, y = np.float64(z.real), np.float64(z.imag)
    return complex(cosh_f64(x) * cos_f64_fast(y), sinh_f64(x) * sin_f64_fast(y))


@njit(**_NJ)
def csin_fast(z):                       # sin(x + iy) = sin x cosh y + i cos x sinh y
    x, y = np.float64(z.real), np.float64(z.imag)
    return complex(sin_f64_fast(x) * cosh_f64(y), cos_f64_fast(x) * sinh_f64(y))


@njit(**_NJ)
def ccos_fast(z):                       # cos(x + iy) = cos x cosh y - i sin x sinh y
    x, y = np.float64(z.real), np.float64(z.imag)
    return complex(cos_f64_fast(x) * cosh_f64(y), -(sin_f64_fast(x) * sinh_f64(y)))


@njit(**_NJ)
def csin_bad(z):
    """The flag of sin and cos (Im z feeds the exponentials)."""
    return not _c_ok(np.float64(z.imag), np.float64(z.real))
