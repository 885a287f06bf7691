"""Numeric agreement with NumPy under the default policy and the forced Numba executor."""
import numpy as np
import pytest

import arrayforge as xp
from conftest import assert_same

RNG = np.random.default_rng(42)
SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.5, 1e300, -1e-300])

UNARY_FLOAT = ["abs", "negative", "sqrt", "square", "reciprocal", "exp", "expm1", "log", "log1p", "log2",
               "log10", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh",
               "acosh", "atanh", "floor", "ceil", "trunc", "round", "sign", "signbit", "isnan", "isinf",
               "isfinite"]
NP_NAME = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh", "acosh": "arccosh",
           "atanh": "arctanh", "round": "rint", "pow": "power", "bitwise_left_shift": "left_shift",
           "bitwise_right_shift": "right_shift", "bitwise_invert": "invert", "atan2": "arctan2"}
EXACT = {"abs", "negative", "sqrt", "square", "reciprocal", "floor", "ceil", "trunc", "round", "sign",
         "signbit", "isnan", "isinf", "isfinite"}


def standard_floor_divide(a, b):
    """NumPy's floor_divide with the standard's special cases for one infinite operand
    (NumPy gives NaN for inf // 2 and -1.0 for -1.0 // inf; the standard +-inf and -0)."""
    out = np.floor_divide(a, b)
    if out.dtype.kind != "f":
        return out
    one_inf = (np.isinf(a) & np.isfinite(b) & (b != 0)) | (np.isinf(b) & np.isfinite(a) & (a != 0))
    return np.where(one_inf, a / b, out)


def npf(name):
    if name == "floor_divide":
        return standard_floor_divide
    return getattr(np, NP_NAME.get(name, name))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", UNARY_FLOAT)
def test_unary_float(executor, name, dtype):
    with np.errstate(all="ignore"):      # 1e300 overflows to inf in float32, on purpose
        data = np.concatenate([SPECIALS, RNG.uniform(-3, 3, 20)]).astype(dtype)
        expected = npf(name)(data)
    got = getattr(xp, name)(xp.asarray(data))
    assert_same(got, expected, exact=name in EXACT)


BINARY = ["add", "subtract", "multiply", "divide", "floor_divide", "remainder", "pow", "maximum", "minimum",
          "atan2", "hypot", "copysign", "logaddexp", "equal", "not_equal", "less", "less_equal", "greater",
          "greater_equal"]
FLOAT_ONLY = {"divide", "atan2", "hypot", "copysign", "logaddexp"}


@pytest.mark.parametrize("name", BINARY)
def test_binary_float64_specials(executor, name):
    a = np.repeat(SPECIALS, len(SPECIALS))
    b = np.tile(SPECIALS, len(SPECIALS))
    with np.errstate(all="ignore"):
        expected = npf(name)(a, b)
    got = getattr(xp, name)(xp.asarray(a), xp.asarray(b))
    assert_same(got, expected, exact=name not in ("logaddexp", "pow", "atan2", "hypot"))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int64])
@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "floor_divide", "remainder", "maximum",
                                  "minimum", "bitwise_and", "bitwise_xor", "bitwise_left_shift",
                                  "bitwise_right_shift", "less"])
def test_binary_integer_wraps_like_numpy(executor, name, dtype):
    info = np.iinfo(dtype)
    vals = np.array([info.min, info.max, 0, 1, 2, 3, 7, info.max // 2], dtype=dtype)
    a = np.repeat(vals, len(vals))
    b = np.tile(vals, len(vals))
    if "shift" in name:
        b = (np.abs(b.astype(np.int64)) % (info.bits + 3)).astype(dtype)
    with np.errstate(all="ignore"):
        expected = npf(name)(a, b)
    assert_same(getattr(xp, name)(xp.asarray(a), xp.asarray(b)), expected)


def test_int8_sum_of_squares_wraps_then_promotes(executor):
    a = np.arange(-128, 128, dtype=np.int8)
    x = xp.asarray(a)
    assert_same(x * x, a * a)
    assert_same(xp.sum(x * x), np.sum(a * a, dtype=np.int64))


def test_promotion_int8_uint8_is_int16(executor):
    a = xp.asarray(np.array([-3, 100], dtype=np.int8))
    b = xp.asarray(np.array([200, 255], dtype=np.uint8))
    assert (a + b).dtype == xp.int16
    assert_same(a + b, np.array([197, 355], dtype=np.int16))


def test_float32_with_python_float_stays_float32(executor):
    a = xp.asarray(np.ones(5, dtype=np.float32))
    assert (a * 0.1).dtype == xp.float32
    assert_same(a * 0.1, np.ones(5, np.float32) * np.float32(0.1))


SHAPES_AXES = [((64,), None), ((7, 9), 0), ((7, 9), 1), ((7, 9), None), ((3, 4, 5), (0, 2)), ((3, 4, 5), 1),
               ((6, 1, 5), (0, 1)), ((2, 3, 4, 5), (1, 3))]


@pytest.mark.parametrize("fname", ["sum", "prod", "max", "min", "mean"])
@pytest.mark.parametrize("shape,axis", SHAPES_AXES)
def test_reductions(executor, fname, shape, axis):
    data = RNG.uniform(0.5, 1.5, shape)
    got = getattr(xp, fname)(xp.asarray(data) * 2.0, axis=axis)
    assert_same(got, getattr(np, fname)(data * 2.0, axis=axis), exact=False)
    got = getattr(xp, fname)(xp.asarray(data), axis=axis, keepdims=True)
    assert_same(got, getattr(np, fname)(data, axis=axis, keepdims=True), exact=False)


@pytest.mark.parametrize("n", [10, 5000, 200_003])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("fname", ["max", "min", "sum", "mean"])
def test_nan_propagates_in_reductions(executor, fname, where, n):
    data = np.ones(n)
    data[{"first": 0, "middle": n // 2, "last": n - 1}[where]] = np.nan
    assert np.isnan(float(getattr(xp, fname)(xp.asarray(data) + 0.0)))


def test_nan_propagates_in_every_thread_count():
    import numba
    data = np.ones(300_001)
    data[-1] = np.nan
    xp.set_executor("numba")
    try:
        for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
            numba.set_num_threads(threads)
            assert np.isnan(float(xp.max(xp.asarray(data) * 1.0)))
            assert float(xp.max(xp.asarray(data[:-1]) * 1.0)) == 1.0
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        xp.set_executor(None)


def test_var_std_and_correction(executor):
    data = RNG.normal(size=(6, 50))
    x = xp.asarray(data)
    assert_same(xp.var(x, axis=1), np.var(data, axis=1), exact=False)
    assert_same(xp.std(x, axis=0, correction=1), np.std(data, axis=0, ddof=1), exact=False)


def test_views_in_fused_kernels(executor):
    data = RNG.random((8, 12))
    x = xp.asarray(data)
    y = xp.exp(x.T[::-2, 1:7] * 2.0) + xp.reshape(x[0, :6], (1, 6))
    assert_same(y, np.exp(data.T[::-2, 1:7] * 2.0) + data[0, :6].reshape(1, 6), exact=False)


def test_where_and_clip(executor):
    data = np.concatenate([SPECIALS, RNG.uniform(-3, 3, 10)])
    x = xp.asarray(data)
    assert_same(xp.where(x > 0, x, -x), np.where(data > 0, data, -data))
    assert_same(xp.clip(x, -1.0, 1.0), np.clip(data, -1.0, 1.0))


def test_astype_casts(executor):
    data = np.array([-1.7, 0.0, 2.9, 300.5])
    x = xp.asarray(data)
    assert_same(xp.astype(x, xp.int32), data.astype(np.int32))
    assert_same(xp.astype(x, xp.bool), data.astype(bool))
    assert_same(xp.astype(xp.astype(x, xp.float32), xp.float64), data.astype(np.float32).astype(np.float64))


def test_size_zero_and_zero_d(executor):
    e = xp.asarray(np.zeros((0, 3)))
    assert_same(xp.sum(e, axis=0), np.zeros(3))
    assert np.isnan(float(xp.mean(e)))
    z = xp.asarray(np.float64(2.5))
    assert_same(z * 2.0 + 1.0, np.float64(6.0))


def test_large_arrays_use_parallel_kernels(executor):
    a = RNG.random(300_000)
    b = RNG.random(300_000)
    x, y = xp.asarray(a), xp.asarray(b)
    assert_same(((x * y + 1.0) * 0.5 - y) / (y + 1.0), ((a * b + 1.0) * 0.5 - b) / (b + 1.0))
    np.testing.assert_allclose(float(xp.sum((x - y) ** 2)), np.sum((a - b) ** 2), rtol=1e-10)
    A = a.reshape(600, 500)
    X = xp.asarray(A)
    for axis in (0, 1):
        np.testing.assert_allclose(np.asarray(xp.sum(X * 2.0, axis=axis)), np.sum(A * 2.0, axis=axis), rtol=1e-10)
        assert_same(xp.max(X, axis=axis), np.max(A, axis=axis))


def test_all_any_both_executors(executor):
    data = np.array([[1.0, 0.0, np.nan], [3.0, 4.0, 5.0]])
    x = xp.asarray(data)
    for axis in (None, 0, 1):
        assert_same(xp.all(x, axis=axis), np.all(data, axis=axis))
        assert_same(xp.any(x == 0, axis=axis), np.any(data == 0, axis=axis))
    assert bool(xp.all(xp.asarray(np.zeros((0, 2))))) and not bool(xp.any(xp.asarray(np.zeros((0, 2)))))
    big = np.ones((300, 700))
    big[299, 699] = 0
    assert not bool(xp.all(xp.asarray(big) > 0.5))
