"""Silent wrong answers of issue 11: every reproducer runs under the NumPy executor, the
forced Numba executor and ``auto``, at a small size (serial loop) and a parallel size
(>= 100,000 elements: ``auto`` compiles, the prange nest runs), and must equal NumPy bit for
bit (NaN-aware, signed-zero-aware).  Compiled kernels are few: one per reproducer."""
import warnings

import numpy as np
import pytest
from numba import njit

import arrayforge as xp
import lowering.scalar as sc
from lowering import cpu
from lowering.ir import Op, OpKind

SIZES = [16, 100_000]
MAX = np.finfo(np.float64).max
I64_MIN = np.iinfo(np.int64).min


@pytest.fixture(params=["numpy", "numba", "auto"])
def executor(request):
    xp.set_executor(request.param)
    yield request.param
    xp.set_executor(None)


def same(got, expected):
    """Bit-for-bit equality, except that any NaN equals any NaN."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape, (got.dtype, got.shape, expected.dtype)
    if got.dtype.kind in "fc":
        g = got.reshape(-1).view(got.real.dtype)
        e = expected.reshape(-1).view(expected.real.dtype)
        ok = ((g == e) & (np.signbit(g) == np.signbit(e))) | (np.isnan(g) & np.isnan(e))
    else:
        ok = got.reshape(-1) == expected.reshape(-1)
    bad = np.flatnonzero(~ok)
    assert bad.size == 0, f"{bad.size} differ, first at {bad[:3]}: got {got.reshape(-1)[bad[:3]]}, " \
                          f"NumPy {expected.reshape(-1)[bad[:3]]}"


def numpy_ref(fn, *args):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args)


def _tile(values, n, dtype):
    return np.resize(np.asarray(values, dtype=dtype), n)


# ---- complex division, reciprocal: no exception inside a (parallel) kernel; NumPy's values

def _complex_operands(n):
    a = _tile([3 + 4j, 1e300 + 1e300j, -2.5 + 0j, complex(np.inf, 1), 1e-300 + 1e-300j, 0j], n, np.complex128)
    b = _tile([1 - 2j, 1e300 + 1e300j, 0j, 2 + 0j, 1e-300 - 1e-300j, 0j, complex(0, -0.0)], n, np.complex128)
    b[n // 2] = 0          # the reproducer: one zero in the middle of a parallel loop
    return a, b


@pytest.mark.parametrize("n", SIZES)
def test_complex_division_by_zero_follows_c99(executor, n):
    a, b = _complex_operands(n)
    same(xp.asarray(a) / xp.asarray(b), numpy_ref(np.divide, a, b))
    assert complex(xp.asarray(np.array([1e300 + 1e300j])) / (1e300 + 1e300j)) == 1


@pytest.mark.parametrize("n", SIZES)
def test_sum_of_a_complex_division_by_zero_is_inf(executor, n):
    a = np.full(n, 3 + 4j)
    b = np.full(n, 1 - 2j)
    b[n // 2] = 0
    got = complex(xp.sum(xp.asarray(a) / xp.asarray(b)))
    assert np.isinf(got.real) and np.isinf(got.imag), got


@pytest.mark.parametrize("n", SIZES)
def test_complex_reciprocal_of_zero_is_nan(executor, n):
    _, b = _complex_operands(n)
    same(xp.reciprocal(xp.asarray(b)), numpy_ref(np.reciprocal, b))


# ---- integers under the numba executor

@pytest.mark.parametrize("n", SIZES)
def test_int_min_floor_divided_by_minus_one_wraps(executor, n):
    a = _tile([I64_MIN, I64_MIN, 7, -7, 5, I64_MIN, 0], n, np.int64)
    b = _tile([-1, 0, -1, 0, 2, 3, 0], n, np.int64)     # and x // 0 == 0, never an exception
    same(xp.asarray(a) // xp.asarray(b), numpy_ref(np.floor_divide, a, b))
    same(xp.asarray(a) % xp.asarray(b), numpy_ref(np.remainder, a, b))


@pytest.mark.parametrize("n", SIZES)
def test_uint64_shifts_keep_every_bit(executor, n):
    a = _tile([2**64 - 1, 2**63 + 12345, 3, 2**53 + 1], n, np.uint64)
    s = _tile([1, 0, 63, 64, 70, 11], n, np.uint64)
    expected_r = np.where(s < 64, a >> np.minimum(s, np.uint64(63)), np.uint64(0))
    expected_l = np.where(s < 64, a << np.minimum(s, np.uint64(63)), np.uint64(0))
    same(xp.asarray(a) >> xp.asarray(s), expected_r)
    same(xp.asarray(a) << xp.asarray(s), expected_l)
    assert int(xp.asarray(np.array([2**64 - 1], np.uint64)) >> 1) == (2**64 - 1) >> 1


@pytest.mark.parametrize("n", SIZES)
def test_integer_power_wraps_like_numpy(executor, n):
    a = _tile([3, 3, -3, 7, 2, 0, 1, -1, I64_MIN, 3], n, np.int64)
    e = _tile([2**62, 39, 41, 0, 63, 0, 2**63 - 1, 2**62 + 1, 2, 40], n, np.int64)
    same(xp.asarray(a) ** xp.asarray(e), numpy_ref(np.power, a, e))
    assert int(xp.asarray(np.array([3])) ** xp.asarray(np.array([2**62]))) == 1


def test_negative_constant_integer_exponent_raises_at_the_call():
    x = xp.asarray(np.array([1, 2, 3]))
    for exponent in (-1, xp.full((3,), -2, dtype=xp.int64)):
        with pytest.raises(ValueError, match="negative integer powers"):
            x ** exponent
    with pytest.raises(ValueError, match="negative integer powers"):
        xp.pow(x, -1)
    assert np.asarray(x ** 0).tolist() == [1, 1, 1]


@pytest.mark.parametrize("n", SIZES)
def test_negative_array_exponent_gives_the_truncated_power_in_every_executor(executor, n):
    # Note: NumPy raises; arrayforge's defined value (documented in interpret._power and
    # scalar.ipow) is the true power truncated toward zero, and 0 for 0 ** -k.
    a = _tile([3, 1, -1, -1, 0, 2, I64_MIN], n, np.int64)
    e = _tile([-1, -5, -3, -4, -2, I64_MIN, -1], n, np.int64)
    expected = np.select([a == 1, a == -1], [1, np.where(e % 2 == 0, 1, -1)], 0).astype(np.int64)
    same(xp.asarray(a) ** xp.asarray(e), expected)


# ---- complex sqrt and log near overflow (and underflow): scaled formulas

def _complex_extremes(n):
    return _tile([1e308 + 1e308j, MAX + MAX * 1j, -MAX + 1j, 1e-310 + 1e-310j, 0.8 + 0.6j, -0.0 + 0j,
                  complex(-np.inf, np.nan), 2.0 + 0j, 3 - 4j], n, np.complex128)


@pytest.mark.parametrize("n", SIZES)
def test_complex_sqrt_and_log_near_overflow(executor, n):
    z = _complex_extremes(n)
    same(xp.sqrt(xp.asarray(z)), numpy_ref(np.sqrt, z))
    same(xp.log(xp.asarray(z)), numpy_ref(np.log, z))
    assert complex(xp.log(xp.asarray(np.array([MAX + MAX * 1j])))).real == pytest.approx(710.1292864836639)


@njit(error_model="numpy")
def _helpers(z, w):
    out = np.empty((5, z.size), z.dtype)
    for i in range(z.size):
        out[0, i] = sc.c_sqrt(z[i])
        out[1, i] = sc.c_log(z[i])
        out[2, i] = sc.cdiv(z[i], w[i])
        out[3, i] = sc.creciprocal(z[i])
        out[4, i] = sc.c_pow(z[i], w[i])
    return out


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_complex_helpers_are_numpy_bit_for_bit(dtype):
    # sqrt/log/division/reciprocal: everywhere, special values included; pow: on finite values
    # (glibc's cpow special values are not reproduced).  Both precisions: complex64 in float32.
    rng = np.random.default_rng(5)
    real = np.finfo(dtype).dtype.type
    info = np.finfo(real)
    special = np.array([0.0, -0.0, 1.0, -1.0, 0.5, 3.0, info.tiny, info.tiny / 8, info.max, -info.max,
                        info.max / 3, np.inf, -np.inf, np.nan], real)
    grid = np.empty((special.size, special.size), dtype)
    grid.real, grid.imag = special[:, None], special[None, :]
    grid = grid.ravel()
    big = np.log(info.max) * 0.98
    mag = np.exp(rng.uniform(-big, big, (2, 4000))) * rng.choice([-1, 1], (2, 4000))
    angle = rng.uniform(0, 2 * np.pi, 4000)
    unit = (1 + rng.standard_normal(4000) * 1e-3) * np.exp(1j * angle)    # log1p branches
    z = np.concatenate([grid, (mag[0] + 1j * mag[1]), unit, rng.standard_normal(4000) * 3 + 3j]).astype(dtype)
    ints = rng.integers(-12, 12, z.size).astype(dtype)
    w = np.where(np.arange(z.size) % 2 == 0, z[::-1], ints).astype(dtype)
    got = _helpers(z, w)
    for k, ref in enumerate(numpy_ref(lambda: [np.sqrt(z), np.log(z), z / w, np.reciprocal(z), z ** w])):
        if k == 4:
            keep = np.isfinite(z) & np.isfinite(w) & np.isfinite(ref) & (np.abs(ref) < info.max / 4)
            same(got[k][keep], ref[keep])
        else:
            same(got[k], ref)


# ---- float -> int casts of NaN, inf and overflow: defined, equal in both executors

@pytest.mark.parametrize("n", SIZES)
def test_nan_and_overflow_casts_agree(executor, n):
    f = _tile([np.nan, np.inf, -np.inf, 1e30, -1e30, 300.7, -129.5, 2.0**63, -2.0**63, 2.0**64, -1.0,
               65536.0, 4e9, -0.0, 2.0**31, -2.0**31 - 0.5], n, np.float64)
    x = xp.asarray(f)
    for dtype in (np.int64, np.int32, np.int8, np.uint64):
        got = np.asarray(xp.astype(x, dtype))
        if np.dtype(dtype) in (np.int64, np.int32):
            assert (got[np.isnan(f) | np.isinf(f)] == np.iinfo(dtype).min).all()
        xp.set_executor("numpy")
        interpreted = np.asarray(xp.astype(xp.asarray(f), dtype))
        xp.set_executor(executor)
        same(got, interpreted)          # both executors agree everywhere
        fits = (f > np.iinfo(dtype).min - 1.0) & (f < np.iinfo(dtype).max + 1.0)
        same(got[fits], numpy_ref(f[fits].astype, dtype))     # NumPy's where it is defined


@pytest.mark.parametrize("n", SIZES)
def test_abs_of_int_min_is_int_min(executor, n):
    a = _tile([I64_MIN, -5, 7], n, np.int64)
    same(xp.abs(xp.asarray(a)), numpy_ref(np.abs, a))


# ---- float16: a clear TypeError at every entry point taking NumPy data, never an upcast

@pytest.mark.parametrize("make", [
    lambda: xp.asarray(np.ones(3, np.float16)),
    lambda: xp.asarray(np.float16(1)),
    lambda: xp.asarray([1.0, 2.0], dtype=np.float16),
    lambda: xp.asarray([np.float16(1), np.float16(2)]),
    lambda: xp.from_dlpack(np.ones(3, np.float16)),
    lambda: xp.zeros(3, dtype=np.float16),
    lambda: xp.astype(xp.ones(3), np.float16),
])
def test_float16_is_refused_with_the_supported_dtypes_named(make):
    with pytest.raises(TypeError, match=r"float16 is not supported.*float32, float64"):
        make()


# ---- the mechanism: no op on any dtype renders to a Numba construct that can raise

_RAISING = {"c": (" / ", "**"), "i": ("**", " // "), "u": ("**",)}


def test_no_expression_uses_a_numba_construct_that_can_raise():
    dtypes = [np.dtype(t) for t in ("int8", "int64", "uint8", "uint64", "complex64", "complex128")]
    for op in Op:
        if op.kind not in (OpKind.UNARY, OpKind.BINARY) or op is Op.CAST:
            continue
        for dt in dtypes:
            try:
                expr = cpu.expression(op, dt, (dt, dt), ["a", "b"])
            except KeyError:         # op not defined for this dtype
                continue
            bad = [c for c in _RAISING[dt.kind] if c in expr]
            assert not bad, (op, dt, expr)
