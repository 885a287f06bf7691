"""Tests for lowering/vmath.py, the vectorisable math functions used by generated kernels.

For every function and dtype:
  * special values (signed zeros, infinities, NaN, subnormals, overflow/underflow
    boundaries, C99 pow/atan2 tables) agree bit for bit with NumPy wherever the
    result is exact (zero, infinity, NaN or an exactly representable value), and
    are within MAX_ULP elsewhere;
  * random inputs from several ranges are within MAX_ULP of a long double
    (80-bit) reference;
  * the dd-heavy functions also under fastmath={'reassoc', 'contract'}, the flags
    of the reduction kernels (the functions are inlined, so they get the flags);
  * the loops vectorise (checked on uncached copies of a few wrappers).

Numba compilation dominates the run time: there is one cached loop wrapper per
function and dtype (plus one per flag set for the fastmath checks), written out
below because Numba cannot cache closures or functions passed as arguments.
"""
import math

import re

import numpy as np
import pytest
from numba import njit

from lowering import vmath as vm

MAX_ULP = 4.0
N = 100_000


def _drop_stale_numba_cache():
    """Numba's cache only checks the timestamp of the file that defines a function,
    and the wrappers below inline lowering/vmath.py: keep a digest of vmath.py next
    to the cache and drop this module's cached wrappers when it changes."""
    import glob
    import hashlib
    import os
    cache = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
    with open(vm.__file__, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    stamp = os.path.join(cache, "test_vmath.vmath-sha256")
    try:
        with open(stamp) as f:
            if f.read() == digest:
                return
    except OSError:
        pass
    for name in glob.glob(os.path.join(cache, "test_vmath.*.nb[ic]")):
        try:
            os.remove(name)
        except OSError:
            pass
    try:
        os.makedirs(cache, exist_ok=True)
        with open(stamp, "w") as f:
            f.write(digest)
    except OSError:
        pass


_drop_stale_numba_cache()

_LOOP = dict(cache=True, error_model="numpy")          # as in the generated kernels
_LOOP_FM = dict(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})


@njit(**_LOOP)
def _exp_f64(a, out):
    for i in range(a.size):
        out[i] = vm.exp_f64(a[i])


@njit(**_LOOP)
def _expm1_f64(a, out):
    for i in range(a.size):
        out[i] = vm.expm1_f64(a[i])


@njit(**_LOOP)
def _exp2_f64(a, out):
    for i in range(a.size):
        out[i] = vm.exp2_f64(a[i])


@njit(**_LOOP)
def _log_f64(a, out):
    for i in range(a.size):
        out[i] = vm.log_f64(a[i])


@njit(**_LOOP)
def _log1p_f64(a, out):
    for i in range(a.size):
        out[i] = vm.log1p_f64(a[i])


@njit(**_LOOP)
def _log2_f64(a, out):
    for i in range(a.size):
        out[i] = vm.log2_f64(a[i])


@njit(**_LOOP)
def _log10_f64(a, out):
    for i in range(a.size):
        out[i] = vm.log10_f64(a[i])


@njit(**_LOOP)
def _sin_f64(a, out):
    for i in range(a.size):
        out[i] = vm.sin_f64(a[i])


@njit(**_LOOP)
def _cos_f64(a, out):
    for i in range(a.size):
        out[i] = vm.cos_f64(a[i])


@njit(**_LOOP)
def _tan_f64(a, out):
    for i in range(a.size):
        out[i] = vm.tan_f64(a[i])


@njit(**_LOOP)
def _sinh_f64(a, out):
    for i in range(a.size):
        out[i] = vm.sinh_f64(a[i])


@njit(**_LOOP)
def _cosh_f64(a, out):
    for i in range(a.size):
        out[i] = vm.cosh_f64(a[i])


@njit(**_LOOP)
def _tanh_f64(a, out):
    for i in range(a.size):
        out[i] = vm.tanh_f64(a[i])


@njit(**_LOOP)
def _atan_f64(a, out):
    for i in range(a.size):
        out[i] = vm.atan_f64(a[i])


@njit(**_LOOP)
def _asin_f64(a, out):
    for i in range(a.size):
        out[i] = vm.asin_f64(a[i])


@njit(**_LOOP)
def _acos_f64(a, out):
    for i in range(a.size):
        out[i] = vm.acos_f64(a[i])


@njit(**_LOOP)
def _atan2_f64(a, b, out):
    for i in range(a.size):
        out[i] = vm.atan2_f64(a[i], b[i])


@njit(**_LOOP)
def _pow_f64(a, b, out):
    for i in range(a.size):
        out[i] = vm.pow_f64(a[i], b[i])


@njit(**_LOOP)
def _logaddexp_f64(a, b, out):
    for i in range(a.size):
        out[i] = vm.logaddexp_f64(a[i], b[i])


@njit(**_LOOP)
def _exp_f32(a, out):
    for i in range(a.size):
        out[i] = vm.exp_f32(a[i])


@njit(**_LOOP)
def _expm1_f32(a, out):
    for i in range(a.size):
        out[i] = vm.expm1_f32(a[i])


@njit(**_LOOP)
def _exp2_f32(a, out):
    for i in range(a.size):
        out[i] = vm.exp2_f32(a[i])


@njit(**_LOOP)
def _log_f32(a, out):
    for i in range(a.size):
        out[i] = vm.log_f32(a[i])


@njit(**_LOOP)
def _log1p_f32(a, out):
    for i in range(a.size):
        out[i] = vm.log1p_f32(a[i])


@njit(**_LOOP)
def _log2_f32(a, out):
    for i in range(a.size):
        out[i] = vm.log2_f32(a[i])


@njit(**_LOOP)
def _log10_f32(a, out):
    for i in range(a.size):
        out[i] = vm.log10_f32(a[i])


@njit(**_LOOP)
def _sin_f32(a, out):
    for i in range(a.size):
        out[i] = vm.sin_f32(a[i])


@njit(**_LOOP)
def _cos_f32(a, out):
    for i in range(a.size):
        out[i] = vm.cos_f32(a[i])


@njit(**_LOOP)
def _tan_f32(a, out):
    for i in range(a.size):
        out[i] = vm.tan_f32(a[i])


@njit(**_LOOP)
def _sinh_f32(a, out):
    for i in range(a.size):
        out[i] = vm.sinh_f32(a[i])


@njit(**_LOOP)
def _cosh_f32(a, out):
    for i in range(a.size):
        out[i] = vm.cosh_f32(a[i])


@njit(**_LOOP)
def _tanh_f32(a, out):
    for i in range(a.size):
        out[i] = vm.tanh_f32(a[i])


@njit(**_LOOP)
def _atan_f32(a, out):
    for i in range(a.size):
        out[i] = vm.atan_f32(a[i])


@njit(**_LOOP)
def _asin_f32(a, out):
    for i in range(a.size):
        out[i] = vm.asin_f32(a[i])


@njit(**_LOOP)
def _acos_f32(a, out):
    for i in range(a.size):
        out[i] = vm.acos_f32(a[i])


@njit(**_LOOP)
def _atan2_f32(a, b, out):
    for i in range(a.size):
        out[i] = vm.atan2_f32(a[i], b[i])


@njit(**_LOOP)
def _pow_f32(a, b, out):
    for i in range(a.size):
        out[i] = vm.pow_f32(a[i], b[i])


@njit(**_LOOP)
def _logaddexp_f32(a, b, out):
    for i in range(a.size):
        out[i] = vm.logaddexp_f32(a[i], b[i])


@njit(**_LOOP_FM)
def _exp_f64_fm(a, out):
    for i in range(a.size):
        out[i] = vm.exp_f64(a[i])


@njit(**_LOOP_FM)
def _expm1_f64_fm(a, out):
    for i in range(a.size):
        out[i] = vm.expm1_f64(a[i])


@njit(**_LOOP_FM)
def _log1p_f64_fm(a, out):
    for i in range(a.size):
        out[i] = vm.log1p_f64(a[i])


@njit(**_LOOP_FM)
def _sin_f64_fm(a, out):
    for i in range(a.size):
        out[i] = vm.sin_f64(a[i])


@njit(**_LOOP_FM)
def _tan_f64_fm(a, out):
    for i in range(a.size):
        out[i] = vm.tan_f64(a[i])


@njit(**_LOOP_FM)
def _atan2_f64_fm(a, b, out):
    for i in range(a.size):
        out[i] = vm.atan2_f64(a[i], b[i])


@njit(**_LOOP_FM)
def _pow_f64_fm(a, b, out):
    for i in range(a.size):
        out[i] = vm.pow_f64(a[i], b[i])


@njit(**_LOOP_FM)
def _logaddexp_f64_fm(a, b, out):
    for i in range(a.size):
        out[i] = vm.logaddexp_f64(a[i], b[i])


@njit(**_LOOP_FM)
def _exp_f32_fm(a, out):
    for i in range(a.size):
        out[i] = vm.exp_f32(a[i])


@njit(**_LOOP_FM)
def _expm1_f32_fm(a, out):
    for i in range(a.size):
        out[i] = vm.expm1_f32(a[i])


@njit(**_LOOP_FM)
def _log2_f32_fm(a, out):
    for i in range(a.size):
        out[i] = vm.log2_f32(a[i])


@njit(**_LOOP_FM)
def _sin_f32_fm(a, out):
    for i in range(a.size):
        out[i] = vm.sin_f32(a[i])


@njit(**_LOOP_FM)
def _pow_f32_fm(a, b, out):
    for i in range(a.size):
        out[i] = vm.pow_f32(a[i], b[i])


UNARY = ["exp", "expm1", "exp2", "log", "log1p", "log2", "log10", "sin", "cos", "tan",
         "sinh", "cosh", "tanh", "atan", "asin", "acos"]
BINARY = ["atan2", "pow", "logaddexp"]
NP_FUNC = dict(exp=np.exp, expm1=np.expm1, exp2=np.exp2, log=np.log, log1p=np.log1p,
               log2=np.log2, log10=np.log10, sin=np.sin, cos=np.cos, tan=np.tan,
               sinh=np.sinh, cosh=np.cosh, tanh=np.tanh, atan=np.arctan, asin=np.arcsin,
               acos=np.arccos, atan2=np.arctan2, pow=np.power, logaddexp=np.logaddexp)
SFX = {np.float64: "f64", np.float32: "f32"}
DTYPES = [np.float64, np.float32]


def apply(name, dtype, *args, fm=False):
    """Run vm.<name>_<dtype> over the arrays (converted to dtype) with its loop wrapper."""
    args = [np.ascontiguousarray(a, dtype=dtype) for a in args]
    wrapper = globals()[f"_{name}_{SFX[dtype]}" + ("_fm" if fm else "")]
    out = np.empty_like(args[0])
    wrapper(*args, out)
    return out


def reference(name, *args):
    """NumPy's function evaluated in long double (x87 80-bit: 11 more bits than float64)."""
    with np.errstate(all="ignore"):
        return NP_FUNC[name](*[np.asarray(a).astype(np.longdouble) for a in args])


def ulp_error(got, ref, floor=None):
    """|got - ref| in units of the last place of ref rounded to got's dtype.

    ref is a higher-precision (long double) value.  Subnormals are measured in the
    subnormal spacing (np.spacing(0) = the smallest subnormal); an infinite got or
    a ref of 2**emax or more counts as 2**emax, one ulp past the largest finite
    value, so an overflow to inf of a result just below it costs ~1 ulp, and inf
    for a result beyond the range costs 0; NaN against NaN counts 0, NaN against
    a number inf.
    With floor (an array of ulp sizes), the unit is max(ulp(ref), floor).
    """
    got = np.asarray(got)
    dt = got.dtype
    fi = np.finfo(dt)
    ref = np.asarray(ref, dtype=np.longdouble)
    beyond = np.longdouble(2.0) ** (fi.maxexp)           # 2**1024 / 2**128
    with np.errstate(all="ignore"):
        ref_t = np.clip(ref, -fi.max, fi.max).astype(dt)  # for the ulp size
        ulp = np.spacing(np.abs(ref_t)).astype(np.longdouble)
        top = np.spacing(np.nextafter(fi.max, fi.max * 0))     # np.spacing(max) is inf
        ulp = np.where(np.isinf(ulp), np.longdouble(top), ulp)
        if floor is not None:
            ulp = np.maximum(ulp, np.asarray(floor, dtype=np.longdouble))
        g = got.astype(np.longdouble)
        g = np.where(np.isinf(g), np.copysign(beyond, g), g)
        r = np.clip(ref, -beyond, beyond)                 # out of range counts as inf
        err = np.abs(g - r) / ulp
    same_inf = np.isinf(got) & (np.abs(ref) >= beyond) & (np.signbit(got) == np.signbit(ref))
    both_nan = np.isnan(got) & np.isnan(ref)
    err = np.where(same_inf | both_nan, 0.0, err)
    err = np.where(np.isnan(err) | (np.isnan(got) != np.isnan(ref)), np.inf, err)
    return err.astype(np.float64)


def test_ulp_error_helper():
    one = np.float64(1.0)
    assert ulp_error(np.array([np.nextafter(one, 2)]), np.array([1.0]))[0] == 1.0
    tiny = np.float64(5e-324)
    assert ulp_error(np.array([2 * tiny]), np.array([tiny]))[0] == 1.0
    assert ulp_error(np.array([0.0]), np.array([np.longdouble(tiny) / 4]))[0] == 0.25
    assert ulp_error(np.array([np.inf]), np.array([np.inf]))[0] == 0.0
    assert ulp_error(np.array([np.inf]), np.array([-np.inf]))[0] > 2.0 ** 53
    assert ulp_error(np.array([np.nan]), np.array([np.nan]))[0] == 0.0
    assert ulp_error(np.array([np.nan]), np.array([1.0]))[0] == np.inf
    assert ulp_error(np.array([1.0]), np.array([np.nan]))[0] == np.inf
    big = np.finfo(np.float64).max
    assert ulp_error(np.array([np.inf]), np.array([big]))[0] == 1.0
    assert ulp_error(np.array([big], np.float64), np.array([np.inf]))[0] == 1.0
    assert ulp_error(np.array([1.5], np.float32), np.array([1.5 + 2.0 ** -24]))[0] == 0.5
    assert ulp_error(np.array([-np.inf], np.float32), np.array([-1e100]))[0] == 0.0


# ---------------------------------------------------------------------------
# Special values: bit-exact against NumPy where the result is exact
# ---------------------------------------------------------------------------

def _special_grid(dtype):
    fi = np.finfo(dtype)
    tiny = fi.smallest_subnormal
    v = [0.0, 1.0, 0.5, 2.0, 3.0, 10.0, 0.7, 1.5, 0.25, 100.0, np.pi, np.pi / 2, 1e-3,
         float(tiny), float(fi.smallest_normal), float(fi.max), float(fi.eps),
         2.0 ** 52 + 1, 2.0 ** 53, 2.0 ** 24 + 1, 2.0 ** 60, 1e22, 2.0 ** 100,
         np.inf, np.nan]
    v += [709.78, 710.0, 745.1, 746.0, 1e-300, 1e300] if dtype == np.float64 else \
         [88.72, 89.0, 103.9, 104.5, 1e-30, 1e30]
    v = np.array(v, dtype=dtype)
    return np.concatenate([v, -v])


def _check_special(name, dtype, got, expected, ref, inputs):
    """Bit-exact against NumPy where the result is a (signed) zero, infinite or NaN
    (the special-case tables); equal to the exact value where that is
    representable (e.g. pow(-2, 3), log10(100): NumPy's float32 log10 gives
    2.0000002 there); within MAX_ULP of the long double reference elsewhere."""
    def bits(v):
        return v.view(np.uint8).reshape(v.size, -1)
    with np.errstate(all="ignore"):
        special = ~np.isfinite(expected) | ((expected == 0) & (ref == 0))
        ref_t = ref.astype(dtype)
        # representable with 12 bits to spare: not a long double rounding coincidence
        short = (ref_t.view(np.uint64 if dtype == np.float64 else np.uint32) & 0xFFF) == 0
        exact = np.isfinite(ref) & (ref_t.astype(np.longdouble) == ref) & short & ~special
    same = (bits(got) == bits(expected)).all(axis=1) | (np.isnan(got) & np.isnan(expected))
    bad = special & ~same
    assert not bad.any(), ("special", name, dtype, [a[bad][:8] for a in inputs],
                           got[bad][:8], expected[bad][:8])
    bad = exact & ((bits(got) != bits(ref_t)).any(axis=1))
    assert not bad.any(), ("exact", name, dtype, [a[bad][:8] for a in inputs],
                           got[bad][:8], ref_t[bad][:8])
    err = ulp_error(got, ref, ulp_floor(name, dtype, inputs))
    rest = ~special & ~exact
    assert err[rest].max(initial=0) <= MAX_ULP, (name, dtype, err[rest].max(),
                                                [a[rest][np.argmax(err[rest])] for a in inputs])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", UNARY)
def test_special_values_unary(name, dtype):
    x = _special_grid(dtype)
    got = apply(name, dtype, x)
    with np.errstate(all="ignore"):
        expected = NP_FUNC[name](x)
    _check_special(name, dtype, got, expected, reference(name, x), [x])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", BINARY)
def test_special_values_binary(name, dtype):
    g = _special_grid(dtype)
    if name == "pow":      # odd/even integers, halves, huge integers
        g = np.concatenate([g, np.array([5.0, -5.0, 4.0, -4.0, 0.5, -1.5, 2.0 ** 53 - 1,
                                         -(2.0 ** 53 - 1), 2.0 ** 23 + 1, 1e-320], dtype)])
    a, b = (c.ravel() for c in np.meshgrid(g, g))
    got = apply(name, dtype, a, b)
    with np.errstate(all="ignore"):
        expected = NP_FUNC[name](a, b)
    _check_special(name, dtype, got, expected, reference(name, a, b), [a, b])


def test_named_special_cases():
    f = lambda name, *args: apply(name, np.float64, *[np.array([v]) for v in args])[0]
    assert math.copysign(1, f("sin", -0.0)) < 0 and math.copysign(1, f("expm1", -0.0)) < 0
    assert f("log", 0.0) == -np.inf and np.isnan(f("log", -1e-300))
    assert f("exp", 710.0) == np.inf and f("exp", -746.0) == 0.0 and f("exp", -745.1) == 5e-324
    assert f("pow", np.nan, 0.0) == 1.0 and f("pow", 1.0, np.nan) == 1.0
    assert f("pow", -1.0, np.inf) == 1.0 and f("pow", -1.0, -np.inf) == 1.0
    assert f("pow", -0.0, -3.0) == -np.inf and f("pow", 0.0, -3.0) == np.inf
    assert f("pow", -0.0, -2.0) == np.inf and math.copysign(1, f("pow", -0.0, 3.0)) < 0
    assert np.isnan(f("pow", -2.0, 0.5)) and f("pow", -2.0, 3.0) == -8.0
    assert f("pow", -np.inf, 3.0) == -np.inf and math.copysign(1, f("pow", -np.inf, -3.0)) < 0
    assert f("pow", 2.0, -1074.0) == 5e-324 and f("pow", 2.0, 1024.0) == np.inf
    assert f("atan2", -0.0, -0.0) == -np.pi and f("atan2", 0.0, -0.0) == np.pi
    assert f("atan2", np.inf, -np.inf) == 3 * np.pi / 4 and f("atan2", -1.0, np.inf) == 0.0
    assert math.copysign(1, f("atan2", -1.0, np.inf)) < 0
    assert f("logaddexp", np.inf, np.inf) == np.inf and f("logaddexp", -np.inf, -np.inf) == -np.inf
    assert f("logaddexp", 3.0, 3.0) == 3.0 + np.log(2.0)
    assert f("logaddexp", np.inf, -np.inf) == np.inf and np.isnan(f("logaddexp", np.nan, 1.0))


# ---------------------------------------------------------------------------
# Accuracy on random inputs
# ---------------------------------------------------------------------------

def _gen(rng, spec, n):
    kind, lo, hi = spec
    if kind == "u":                                       # uniform
        return rng.uniform(lo, hi, n)
    if kind == "i":                                       # integers
        return rng.integers(lo, hi, n, endpoint=True).astype(np.float64)
    mag = np.exp(rng.uniform(np.log(lo), np.log(hi), n))  # log-uniform magnitude...
    # ...with random low significand bits: exp(u) alone would make log(x) ~ u, a double
    noise = rng.integers(0, 2 ** 44, n, dtype=np.uint64)
    mag = np.clip((mag.view(np.uint64) ^ noise).view(np.float64), lo, hi)
    return mag if kind == "lp" else mag * rng.choice([-1.0, 1.0], n)


def U(lo, hi):
    return ("u", lo, hi)


def L(lo, hi):
    return ("l", lo, hi)


def LP(lo, hi):
    return ("lp", lo, hi)


_TRIG64 = [U(-1, 1), U(-100, 100), U(-1e6, 1e6), L(1e-300, 1e-5), L(1e6, 2.0 ** 40),
           L(2.0 ** 40, 1e300), L(1e300, 1.79e308)]
_TRIG32 = [U(-1, 1), U(-100, 100), U(-1e6, 1e6), L(1e-38, 1e-3), L(1e6, 2.0 ** 40),
           L(2.0 ** 40, 3.4e38)]
_LOG64 = [U(0.5, 2), LP(1e-300, 1e300), LP(5e-324, 2.2e-308), U(0.999, 1.001), LP(1e300, 1.79e308)]
_LOG32 = [U(0.5, 2), LP(1e-38, 3e38), LP(1.5e-45, 1.17e-38), U(0.999, 1.001), LP(1e37, 3.4e38)]

RANGES = {
    np.float64: dict(
        exp=[U(-1, 1), U(-700, 700), U(-745.2, -708), U(700, 709.78), L(1e-300, 1e-5)],
        expm1=[U(-1, 1), U(-0.4, 0.4), L(1e-300, 1e-5), U(-40, 709.78), U(-60, -30)],
        exp2=[U(-1, 1), U(-1022, 1023), U(-1075, -1022), L(1e-300, 1e-5)],
        log=_LOG64, log2=_LOG64, log10=_LOG64,
        log1p=[U(-0.5, 1), U(-1, -0.5), LP(1e-300, 1e300), L(1e-300, 1e-5), U(-1e-5, 1e-5)],
        sin=_TRIG64, cos=_TRIG64, tan=_TRIG64,
        sinh=[U(-1, 1), U(-20, 20), L(1e-300, 1e-5), U(700, 710.4), U(1.5, 2.5)],
        cosh=[U(-1, 1), U(-20, 20), L(1e-300, 1e-5), U(700, 710.4)],
        tanh=[U(-1, 1), U(-20, 20), L(1e-300, 1e-5), U(0.6, 0.9)],
        atan=[U(-1, 1), L(1e-300, 1e-5), L(1, 1e300), U(0.3, 3)],
        asin=[U(-1, 1), U(0.4, 0.6), U(0.99, 1), L(1e-300, 1e-5)],
        acos=[U(-1, 1), U(0.4, 0.6), U(0.99, 1), L(1e-300, 1e-5)],
        atan2=[(U(-10, 10), U(-10, 10)), (L(1e-300, 1e300), L(1e-300, 1e300)),
               (L(5e-324, 1e-300), L(5e-324, 1e-300)), (L(1e300, 1.79e308), L(1e300, 1.79e308))],
        pow=[(LP(1e-3, 10), U(-10, 10)), (U(0.5, 2), U(-1000, 1000)), (LP(1e-300, 1e300), U(-1, 1)),
             (U(-10, 0), ("i", -60, 60)), (U(1.9, 2), U(1020, 1024)), ("sub", 2.0, 4.0)],
        logaddexp=[(U(-10, 10), U(-10, 10)), (U(-1000, 1000), U(-1000, 1000)),
                   (L(1e300, 1.79e308), L(1e300, 1.79e308)), (U(-1e-5, 1e-5), U(-1e-5, 1e-5)),
                   ("near", -100, 100)],
    ),
    np.float32: dict(
        exp=[U(-1, 1), U(-87, 88), U(-103.9, -87), U(80, 88.72), L(1e-30, 1e-5)],
        expm1=[U(-1, 1), U(-0.4, 0.4), L(1e-38, 1e-3), U(-20, 88.72)],
        exp2=[U(-1, 1), U(-126, 127.9), U(-150, -126), L(1e-30, 1e-5)],
        log=_LOG32, log2=_LOG32, log10=_LOG32,
        log1p=[U(-0.5, 1), U(-1, -0.5), LP(1e-38, 3e38), L(1e-38, 1e-3)],
        sin=_TRIG32, cos=_TRIG32, tan=_TRIG32,
        sinh=[U(-1, 1), U(-10, 10), L(1e-38, 1e-3), U(85, 89.4), U(1.5, 2.5)],
        cosh=[U(-1, 1), U(-10, 10), L(1e-38, 1e-3), U(85, 89.4)],
        tanh=[U(-1, 1), U(-10, 10), L(1e-38, 1e-3), U(0.6, 0.9)],
        atan=[U(-1, 1), L(1e-38, 1e-3), L(1, 3e38), U(0.3, 3)],
        asin=[U(-1, 1), U(0.4, 0.6), U(0.99, 1), L(1e-38, 1e-3)],
        acos=[U(-1, 1), U(0.4, 0.6), U(0.99, 1), L(1e-38, 1e-3)],
        atan2=[(U(-10, 10), U(-10, 10)), (L(1e-38, 1e38), L(1e-38, 1e38)),
               (L(1.5e-45, 1e-38), L(1.5e-45, 1e-38)), (L(1e37, 3.4e38), L(1e37, 3.4e38))],
        pow=[(LP(1e-3, 10), U(-10, 10)), (U(0.5, 2), U(-120, 120)), (LP(1e-38, 1e38), U(-1, 1)),
             (U(-10, 0), ("i", -30, 30)), (U(1.9, 2), U(125, 128)), ("sub", 2.0, 4.0)],
        logaddexp=[(U(-10, 10), U(-10, 10)), (U(-100, 100), U(-100, 100)),
                   (L(1e37, 3.4e38), L(1e37, 3.4e38)), (U(-1e-3, 1e-3), U(-1e-3, 1e-3)),
                   ("near", -100, 100)],
    ),
}


def inputs(name, dtype, spec, n, seed=0):
    """Random inputs for one range (a tuple of arrays of dtype)."""
    rng = np.random.default_rng(seed)
    if name not in BINARY:
        return (_gen(rng, spec, n).astype(dtype),)
    if spec[0] == "sub":            # pow with results around the subnormal range
        x = rng.uniform(spec[1], spec[2], n).astype(dtype)
        lo = -1080 if dtype == np.float64 else -155
        t = rng.uniform(lo, lo + 60, n)
        return x, (t / np.log2(x.astype(np.float64))).astype(dtype)
    if spec[0] == "near":           # logaddexp(a, a + tiny)
        a = rng.uniform(spec[1], spec[2], n)
        b = a * (1 + rng.uniform(-1e-6, 1e-6, n))
        return a.astype(dtype), b.astype(dtype)
    return _gen(rng, spec[0], n).astype(dtype), _gen(rng, spec[1], n).astype(dtype)


def ulp_floor(name, dtype, args):
    """logaddexp(a, b) is ill-conditioned where it crosses zero (e^a + e^b = 1): there
    NumPy's formula, and ours, are accurate to ~1 ulp of max(a, b), not of the result
    (float32 is computed in float64, so it needs no floor)."""
    if name == "logaddexp" and dtype == np.float64:
        with np.errstate(all="ignore"):
            big = np.maximum(np.abs(args[0]), np.abs(args[1]))
            return np.where(np.isfinite(big), np.spacing(big), 0.0)
    return None


def max_ulp(name, dtype, spec, n=N, fm=False, seed=0):
    args = inputs(name, dtype, spec, n, seed)
    got = apply(name, dtype, *args, fm=fm)
    err = ulp_error(got, reference(name, *args), ulp_floor(name, dtype, args))
    i = int(np.argmax(err))
    return err[i], tuple(a[i] for a in args), got[i]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", UNARY + BINARY)
def test_accuracy(name, dtype):
    for spec in RANGES[dtype][name]:
        err, at, got = max_ulp(name, dtype, spec)
        assert err <= MAX_ULP, (name, dtype, spec, err, at, got)


FASTMATH = [(n, np.float64) for n in ["exp", "expm1", "log1p", "sin", "tan", "atan2", "pow",
                                      "logaddexp"]] + \
           [(n, np.float32) for n in ["exp", "expm1", "log2", "sin", "pow"]]


@pytest.mark.parametrize("name,dtype", FASTMATH, ids=[f"{n}-{SFX[d]}" for n, d in FASTMATH])
def test_accuracy_reduction_flags(name, dtype):
    """Inlined into a kernel compiled with fastmath={'reassoc', 'contract'}."""
    for spec in RANGES[dtype][name]:
        err, at, got = max_ulp(name, dtype, spec, n=N // 4, fm=True, seed=1)
        assert err <= MAX_ULP, (name, dtype, spec, err, at, got)
    x = _special_grid(dtype)
    args = [c.ravel() for c in np.meshgrid(x, x)] if name in BINARY else [x]
    got = apply(name, dtype, *args, fm=True)
    with np.errstate(all="ignore"):
        expected = NP_FUNC[name](*args)
    _check_special(name, dtype, got, expected, reference(name, *args), args)


# ---------------------------------------------------------------------------
# Huge trigonometric arguments and the fast/fix-up API
# ---------------------------------------------------------------------------

HARD_TRIG = np.array([1e22, 2.0 ** 1000, 6381956970095103 * 2.0 ** 797, 5.319372648326541e+255,
                      np.finfo(np.float64).max, 1e300, 2.0 ** 40 * (1 + 2.0 ** -52), 2.0 ** 40,
                      3.1415926535897931e15, 1.5707963267948966e100, 1e14, 123456789012345.0])


@pytest.mark.parametrize("name", ["sin", "cos", "tan"])
def test_trig_huge_arguments(name):
    x = np.concatenate([HARD_TRIG, -HARD_TRIG])
    err = ulp_error(apply(name, np.float64, x), reference(name, x))
    assert err.max() <= MAX_ULP, (name, x[np.argmax(err)], err.max())
    x32 = np.concatenate([HARD_TRIG, -HARD_TRIG])
    x32 = x32[np.abs(x32) < np.finfo(np.float32).max].astype(np.float32)
    x32 = np.concatenate([x32, np.array([np.finfo(np.float32).max, 1.0e38, 2.0 ** 127, 8.6e6],
                                        np.float32)])
    err = ulp_error(apply(name, np.float32, x32), reference(name, x32))
    assert err.max() <= MAX_ULP, (name, x32[np.argmax(err)], err.max())


@njit(cache=True, error_model="numpy")
def _fast_api_f64(a, out, big):
    flag = False
    for i in range(a.size):
        out[i] = vm.sin_f64_fast(a[i])
        flag |= vm.trig_big_f64(a[i])
    if flag:                       # the fix-up pass a code generator would emit
        for i in range(a.size):
            if vm.trig_big_f64(a[i]):
                big[i] = True
                out[i] = vm.sin_f64_slow(a[i])
    return flag


@njit(cache=True, error_model="numpy")
def _fast_api_f32(a, out, big):
    flag = False
    for i in range(a.size):
        out[i] = vm.cos_f32_fast(a[i])
        flag |= vm.trig_big_f32(a[i])
    if flag:
        for i in range(a.size):
            if vm.trig_big_f32(a[i]):
                big[i] = True
                out[i] = vm.cos_f32_slow(a[i])
    return flag


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_fast_trig_with_fixup(dtype):
    rng = np.random.default_rng(3)
    x = np.concatenate([_gen(rng, L(1e-3, 1e30), 20000), [np.inf, -np.inf, np.nan, 0.0, -0.0],
                        [2.0 ** 40, -(2.0 ** 40)]]).astype(dtype)
    out = np.empty_like(x)
    big = np.zeros(x.size, np.bool_)
    fn, name = (_fast_api_f64, "sin") if dtype == np.float64 else (_fast_api_f32, "cos")
    assert fn(x, out, big)
    limit = 2.0 ** 40 if dtype == np.float64 else float(vm.TRIG_CHEAP_MAX_F32)   # f32: 2**20
    expect_big = (np.abs(x) > limit) & np.isfinite(x)
    assert (big == expect_big).all()
    full = apply(name, dtype, x)
    if dtype == np.float64:
        assert (out.view(np.uint8) == full.view(np.uint8)).all()   # same bits as the full function
    else:   # f32's fast path reduces with two FMAs, the full one in double-double: both < 1 ulp
        same = (out == full) | (np.isnan(out) & np.isnan(full))
        close = np.abs(out.astype(np.float64) - full) <= np.spacing(np.abs(full))
        assert (same | close).all()
    small = x[~expect_big]
    assert not fn(small, np.empty_like(small), np.zeros(small.size, np.bool_))


# ---------------------------------------------------------------------------
# Vectorisation (uncached copies: cached code cannot be inspected)
# ---------------------------------------------------------------------------

VEC = [("exp", np.float64), ("sin", np.float64), ("pow", np.float64), ("sin", np.float32),
       ("expm1", np.float32)]


@pytest.mark.parametrize("name,dtype", VEC, ids=[f"{n}-{SFX[d]}" for n, d in VEC])
def test_vectorises(name, dtype):
    wrapper = globals()[f"_{name}_{SFX[dtype]}"]
    fresh = njit(error_model="numpy")(wrapper.py_func)
    args = [np.ones(64, dtype)] * (2 if name in BINARY else 1)
    fresh(*args, np.empty(64, dtype))
    llvm = fresh.inspect_llvm(fresh.signatures[0])
    # Vectorised: whole registers of the work type.  The width is the host's (AVX2: 256 bits,
    # AVX-512: up to 512), and float32 trig computes in double: 4 x double is full width on AVX2.
    widths = {int(n) * (8 if t == "double" else 4)
              for n, t in re.findall(r"<(\d+) x (float|double)>", llvm)}
    assert max(widths, default=0) >= 32, (name, sorted(widths))      # >= 256-bit vectors
    assert "call double @sin" not in llvm and "@llvm.sin" not in llvm
