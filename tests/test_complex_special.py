"""Complex transcendental functions in compiled kernels follow the standard's special cases
(C99 Annex G) as NumPy does: signed zeros, infinities and NaNs on a grid of special values,
plus an end-to-end run through a forced-Numba kernel."""
import math

import numpy as np
import pytest
from numba import njit

import arrayforge as xp
import lowering.scalar as sc
from lowering.interpret import COMPLEX_UNARY
from lowering.ir import Op

VALUES = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 0.5, -0.5, 30.0, -30.0, 400.0, 800.0, -800.0, 1e300, -1e300,
          np.inf, -np.inf, np.nan]
GRID = np.array([complex(a, b) for a in VALUES for b in VALUES])


def _rotated(fn):
    """-i fn(i z), rotating by hand (complex multiplication by 1j turns 0 * inf into NaN)."""
    def g(z):
        r = fn(np.asarray([complex(-v.imag, v.real) for v in z], dtype=z.dtype))
        return np.asarray([complex(v.imag, -v.real) for v in r], dtype=z.dtype)
    return g


# The reference is the interpreter (NumPy, with the standard's fixes where NumPy differs:
# tanh(+-inf + yj) and complex expm1).
TANH = COMPLEX_UNARY[Op.TANH]
FUNCS = [("exp", np.exp), ("cosh", np.cosh), ("sinh", np.sinh), ("tanh", TANH), ("sin", np.sin),
         ("cos", np.cos), ("tan", _rotated(TANH)), ("acos", np.arccos), ("acosh", np.arccosh), ("asin", np.arcsin),
         ("asinh", np.arcsinh), ("atan", np.arctan), ("atanh", np.arctanh), ("expm1", COMPLEX_UNARY[Op.EXPM1])]


@njit
def _apply_all(z):
    out = np.empty((14, z.size), dtype=np.complex128)
    for i in range(z.size):
        v = z[i]
        out[0, i] = sc.c_exp(v)
        out[1, i] = sc.c_cosh(v)
        out[2, i] = sc.c_sinh(v)
        out[3, i] = sc.c_tanh(v)
        out[4, i] = sc.c_sin(v)
        out[5, i] = sc.c_cos(v)
        out[6, i] = sc.c_tan(v)
        out[7, i] = sc.c_acos(v)
        out[8, i] = sc.c_acosh(v)
        out[9, i] = sc.c_asin(v)
        out[10, i] = sc.c_asinh(v)
        out[11, i] = sc.c_atan(v)
        out[12, i] = sc.c_atanh(v)
        out[13, i] = sc.c_expm1(v)
    return out


def _same_part(got, ref, rtol):
    if math.isnan(ref) or math.isnan(got):
        return math.isnan(ref) and math.isnan(got)
    if math.isinf(ref) or ref == 0.0 or math.isinf(got) or got == 0.0:
        return got == ref and math.copysign(1.0, got) == math.copysign(1.0, ref)
    return abs(got - ref) <= rtol * abs(ref)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_helpers_match_numpy_on_special_values(dtype):
    z = GRID.astype(dtype)
    got = _apply_all(z.astype(np.complex128))       # the kernels compute in double precision too
    rtol = 1e-12 if dtype == np.complex128 else 2e-6
    bad = []
    with np.errstate(all="ignore"):
        for k, (name, ref_fn) in enumerate(FUNCS):
            ref = ref_fn(z)
            ours = got[k].astype(dtype)
            for zi, r, o in zip(z, ref, ours):
                if not (_same_part(o.real, r.real, rtol) and _same_part(o.imag, r.imag, rtol)):
                    bad.append((name, complex(zi), complex(r), complex(o)))
    assert not bad, bad[:10]


def test_forced_numba_kernel_gives_the_special_values():
    z = np.array([complex(np.inf, np.inf), complex(0.0, np.nan), complex(46.0, 1.0), complex(np.nan, 0.0),
                  complex(-np.inf, 2.0)], dtype=np.complex64)
    xp.set_executor("numba")
    try:
        got = np.asarray(xp.tanh(xp.asarray(z)) + xp.cosh(xp.asarray(z)))
    finally:
        xp.set_executor(None)
    with np.errstate(all="ignore"):
        ref = np.tanh(z) + np.cosh(z)
    np.testing.assert_array_equal(got, ref)


def test_sign_of_a_real_zero_is_plus_zero_in_both_executors():
    x = xp.asarray([-0.0, 0.0, -3.0, np.nan])
    for executor in ("numpy", "numba"):
        xp.set_executor(executor)
        try:
            got = np.asarray(xp.sign(x * 1.0))
        finally:
            xp.set_executor(None)
        assert [math.copysign(1.0, v) for v in got[:2]] == [1.0, 1.0], (executor, got)
        np.testing.assert_array_equal(got[2:], [-1.0, np.nan])


FAST = {"exp": ("cexp", "cexp", sc.c_exp), "sinh": ("csinh", "cexp", sc.c_sinh),
        "cosh": ("ccosh", "cexp", sc.c_cosh), "sin": ("csin", "csin", sc.c_sin),
        "cos": ("ccos", "csin", sc.c_cos)}


def _fast_and_flag(fast, bad):
    @njit
    def run(z):
        out = np.empty(z.size, dtype=np.complex128)
        flag = np.empty(z.size, dtype=np.bool_)
        for i in range(z.size):
            out[i] = fast(z[i])
            flag[i] = bad(z[i])
        return out, flag
    return run


@pytest.mark.parametrize("name", sorted(FAST))
def test_fast_complex_formulas_agree_with_the_helpers_where_not_flagged(name):
    # The vectorised formulas of vmath serve every unflagged element; the C99 helpers the rest.
    import lowering.vmath as vm
    fast, bad, helper = FAST[name]
    rng = np.random.default_rng(3)
    z = np.concatenate([GRID, rng.standard_normal(2000) * 20 + 1j * rng.standard_normal(2000) * 20,
                        rng.standard_normal(200) * 700 + 1j * rng.standard_normal(200)])
    got, flagged = _fast_and_flag(getattr(vm, fast + "_fast"), getattr(vm, bad + "_bad"))(z)
    ref = _apply_all(z)[[n for n, _ in FUNCS].index(name)]
    assert flagged[~np.isfinite(z.real) | ~np.isfinite(z.imag)].all()
    assert not flagged[len(GRID):len(GRID) + 2000].any()         # ordinary values take the fast path
    wrong = [(complex(v), complex(r), complex(o)) for v, r, o, f in zip(z, ref, got, flagged)
             if not f and not (_same_part(o.real, r.real, 4e-15) and _same_part(o.imag, r.imag, 4e-15))]
    assert not wrong, wrong[:5]


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_fused_complex_kernel_redoes_only_flagged_chunks(dtype):
    # 20000 elements run as several chunks; special values sit in one chunk, so that chunk is
    # redone with the helpers while the others keep the fast formulas: all must match NumPy.
    rng = np.random.default_rng(4)
    z = (rng.standard_normal(20000) * 3 + 1j * rng.standard_normal(20000) * 3).astype(dtype)
    z[7000:7000 + GRID.size] = GRID.astype(dtype)
    rtol = 1e-13 if dtype == np.complex128 else 2e-6
    xp.set_executor("numba")
    try:
        got = {name: np.asarray(getattr(xp, name)(xp.asarray(z))) for name in FAST}
    finally:
        xp.set_executor(None)
    with np.errstate(all="ignore"):
        for name in FAST:
            ref = dict(FUNCS)[name](z)
            wrong = [(complex(v), complex(r), complex(o)) for v, r, o in zip(z, ref, got[name])
                     if not (_same_part(o.real, r.real, rtol) and _same_part(o.imag, r.imag, rtol))]
            assert not wrong, (name, wrong[:5])
