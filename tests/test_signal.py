"""arrayforge.signal against scipy.signal (and numpy.convolve): the oracle for every mode,
boundary, method and dtype; plans (one correlate kernel plus its fused epilogue); errors at the
recording call."""
import warnings

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import HealthCheck, given, settings, strategies as st

import arrayforge as xp
from arrayforge import signal
from lowering.kernels import correlate as kc

from conftest import assert_same

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
DTYPES = ["int64", "int32", "uint8", "float32", "float64", "complex64", "complex128"]


def _random(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        lo = 0 if dtype.kind == "u" else -5
        return rng.integers(lo, 6, shape).astype(dtype)
    x = rng.uniform(-1, 1, shape)
    if dtype.kind == "c":
        x = x + 1j * rng.uniform(-1, 1, shape)
    return x.astype(dtype)


def _close(got, expected, a, b):
    """Same shape and dtype; values exact for integers, else within rounding of the sums."""
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    if got.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected)
        return
    eps = np.finfo(got.dtype).eps
    scale = (np.abs(a).sum() if a.size else 1.0) * (np.abs(b).max() if b.size else 1.0) + 1.0
    np.testing.assert_allclose(got, expected, rtol=64 * eps, atol=64 * eps * scale)


def _outcome(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return np.asarray(fn()), None
        except Exception as exc:
            return None, type(exc)


def _compare(ours, theirs, a, b):
    got, err = _outcome(ours)
    expected, err_ref = _outcome(theirs)
    assert err == err_ref, (err, err_ref)
    if err is None:
        _close(got, expected, a, b)


@st.composite
def shape_pairs(draw, min_rank=1, max_rank=3):
    rank = draw(st.integers(min_rank, max_rank))
    s1 = tuple(draw(st.integers(1, 6)) for _ in range(rank))
    s2 = tuple(draw(st.integers(1, 6)) for _ in range(rank))
    return s1, s2


# ---- the textbook examples (EXAMPLES.md section 5)

A3 = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
K2 = np.array([[1, 0], [2, -1]])
EDGE = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])


@pytest.mark.parametrize("dtype", ["int64", "float64"])
def test_textbook_3x3_with_2x2(executor, dtype):
    a, k = xp.asarray(A3.astype(dtype)), xp.asarray(K2.astype(dtype))
    shapes = {"full": (4, 4), "same": (3, 3), "valid": (2, 2)}
    for mode, shape in shapes.items():
        got = signal.convolve2d(a, k, mode=mode)
        assert got.shape == shape
        assert_same(got, ss.convolve2d(A3.astype(dtype), K2.astype(dtype), mode=mode))
        assert_same(signal.correlate2d(a, k, mode=mode), ss.correlate2d(A3.astype(dtype), K2.astype(dtype), mode=mode))


def test_edge_detection_equals_scipy(executor):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 37)).astype(np.float64)
    img = xp.asarray(image)
    for mode in ("full", "same", "valid"):
        for boundary in ("fill", "wrap", "symm"):
            got = signal.convolve2d(img, xp.asarray(EDGE.astype(np.float64)), mode=mode, boundary=boundary)
            assert_same(got, ss.convolve2d(image, EDGE.astype(np.float64), mode=mode, boundary=boundary))
    ints = image.astype(np.int64)
    assert_same(signal.convolve2d(xp.asarray(ints), xp.asarray(EDGE), mode="same"),
                ss.convolve2d(ints, EDGE, mode="same"))


# ---- properties against scipy.signal


@SETTINGS
@given(shapes=shape_pairs(), mode=st.sampled_from(["full", "same", "valid"]),
       method=st.sampled_from(["auto", "direct", "fft"]), dtype=st.sampled_from(DTYPES),
       correlation=st.booleans(), seed=st.integers(0, 2**16))
def test_convolve_correlate_nd(executor, shapes, mode, method, dtype, correlation, seed):
    rng = np.random.default_rng(seed)
    a, b = _random(rng, shapes[0], dtype), _random(rng, shapes[1], dtype)
    ours, theirs = (signal.correlate, ss.correlate) if correlation else (signal.convolve, ss.convolve)
    _compare(lambda: ours(xp.asarray(a), xp.asarray(b), mode=mode, method=method),
             lambda: theirs(a, b, mode=mode, method=method), a, b)


@SETTINGS
@given(shapes=shape_pairs(2, 2), mode=st.sampled_from(["full", "same", "valid"]),
       boundary=st.sampled_from(["fill", "wrap", "symm", "circular", "symmetric"]),
       dtype=st.sampled_from(DTYPES), fillvalue=st.sampled_from([0, 1, -2.5]),
       correlation=st.booleans(), seed=st.integers(0, 2**16))
def test_convolve2d_correlate2d(executor, shapes, mode, boundary, dtype, fillvalue, correlation, seed):
    rng = np.random.default_rng(seed)
    a, b = _random(rng, shapes[0], dtype), _random(rng, shapes[1], dtype)
    ours, theirs = (signal.correlate2d, ss.correlate2d) if correlation else (signal.convolve2d, ss.convolve2d)
    _compare(lambda: ours(xp.asarray(a), xp.asarray(b), mode=mode, boundary=boundary, fillvalue=fillvalue),
             lambda: theirs(a, b, mode=mode, boundary=boundary, fillvalue=fillvalue), a, b)


@SETTINGS
@given(shapes=shape_pairs(), mode=st.sampled_from(["full", "same", "valid"]),
       dtype=st.sampled_from(["int64", "float32", "float64", "complex128"]),
       axes=st.sampled_from([None, 0, -1, (0,), (0, -1)]), overlap_add=st.booleans(),
       seed=st.integers(0, 2**16))
def test_fftconvolve_oaconvolve(shapes, mode, dtype, axes, overlap_add, seed):
    rng = np.random.default_rng(seed)
    s1, s2 = shapes
    if axes is not None:        # the other axes broadcast: make them equal or 1
        conv = {a % len(s1) for a in ((axes,) if isinstance(axes, int) else axes)}
        s2 = tuple(k if d in conv else (1 if k % 2 else n) for d, (n, k) in enumerate(zip(s1, s2)))
    a, b = _random(rng, s1, dtype), _random(rng, s2, dtype)
    ours, theirs = (signal.oaconvolve, ss.oaconvolve) if overlap_add else (signal.fftconvolve, ss.fftconvolve)
    _compare(lambda: ours(xp.asarray(a), xp.asarray(b), mode=mode, axes=axes),
             lambda: theirs(a, b, mode=mode, axes=axes), a, b)


def test_oaconvolve_blocks():
    """A long signal and a short filter: several overlap-add blocks, as SciPy cuts them."""
    rng = np.random.default_rng(3)
    x, h = rng.standard_normal(5000), rng.standard_normal(61)
    assert kc._oa_lens(5000, 61)[1] == 60
    for mode in ("full", "same", "valid"):
        _close(signal.oaconvolve(xp.asarray(x), xp.asarray(h), mode=mode), ss.oaconvolve(x, h, mode=mode), x, h)
    X, H = rng.standard_normal((300, 8)), rng.standard_normal((9, 8))
    _close(signal.oaconvolve(xp.asarray(X), xp.asarray(H), axes=0), ss.oaconvolve(X, H, axes=0), X, H)


@SETTINGS
@given(n=st.integers(0, 9), m=st.integers(0, 9), mode=st.sampled_from(["full", "same", "valid"]),
       dtype=st.sampled_from(["bool", "int8", "int64", "float64", "complex128"]), seed=st.integers(0, 2**16))
def test_convolve1d_is_numpy_convolve(executor, n, m, mode, dtype, seed):
    rng = np.random.default_rng(seed)
    a, v = _random(rng, (n,), "int64").astype(dtype), _random(rng, (m,), "int64").astype(dtype)
    _compare(lambda: signal.convolve1d(xp.asarray(a), xp.asarray(v), mode=mode),
             lambda: np.convolve(a, v, mode=mode), a, v)


def test_integer_results_wrap_like_scipy(executor):
    rng = np.random.default_rng(1)
    a, k = rng.integers(-128, 128, (30, 30)).astype(np.int8), rng.integers(-128, 128, (5, 5)).astype(np.int8)
    for mode in ("full", "same", "valid"):
        assert_same(signal.convolve(xp.asarray(a), xp.asarray(k), mode=mode, method="direct"),
                    ss.convolve(a, k, mode=mode, method="direct"))
        assert_same(signal.convolve2d(xp.asarray(a), xp.asarray(k), mode=mode, fillvalue=-100),
                    ss.convolve2d(a, k, mode=mode, fillvalue=-100))
    u = rng.integers(0, 2**63, (20,), dtype=np.uint64)
    assert_same(signal.convolve(xp.asarray(u), xp.asarray(u[:4]), method="direct"),
                ss.convolve(u, u[:4], method="direct"))


def test_rank_4_and_size_1_axes(executor):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 1, 4, 2)), rng.standard_normal((2, 1, 3, 1))
    for mode in ("full", "same", "valid"):
        _close(signal.convolve(xp.asarray(a), xp.asarray(b), mode=mode, method="direct"),
               ss.convolve(a, b, mode=mode, method="direct"), a, b)


def test_executors_agree_exactly():
    """The NumPy routine sums in the compiled kernel's order: identical results."""
    rng = np.random.default_rng(4)
    for dtype in ("float64", "float32", "complex128", "complex64", "int64", "uint8"):
        a, k = _random(rng, (70, 65), dtype), _random(rng, (4, 5), dtype)
        results = []
        for ex in ("numpy", "numba"):
            xp.set_executor(ex)
            try:
                results.append(np.asarray(signal.convolve2d(xp.asarray(a), xp.asarray(k), mode="same",
                                                             boundary="symm")))
            finally:
                xp.set_executor(None)
        np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("shapes", [[(0,), (3,), (1,)], [(0, 3), (2, 0), (2, 2), (0, 0), (3, 1)],
                                    [(0, 1, 2), (2, 2, 2), (1, 0, 1)]])
def test_empty_inputs_as_scipy(shapes):
    """SciPy's direct method gives zeros (empty sums) or a ValueError; NumPy refuses empty 1-D."""
    for s1 in shapes:
        for s2 in shapes:
            a, b = np.ones(s1), np.full(s2, 2.0)
            for mode in ("full", "same", "valid"):
                for ours, theirs in ((signal.convolve, ss.convolve), (signal.correlate, ss.correlate)):
                    for method in ("auto", "direct"):
                        _compare(lambda: ours(xp.asarray(a), xp.asarray(b), mode, method),
                                 lambda: theirs(a, b, mode, method), a, b)
                for ours, theirs in ((signal.fftconvolve, ss.fftconvolve), (signal.oaconvolve, ss.oaconvolve)):
                    _compare(lambda: ours(xp.asarray(a), xp.asarray(b), mode),
                             lambda: theirs(a, b, mode), a, b)


def test_scalars_and_empty_inputs():
    z = signal.convolve(xp.asarray(2.0), xp.asarray(3.0))
    assert z.shape == () and float(z) == 6.0
    c = signal.correlate(xp.asarray(2.0 + 1j), xp.asarray(1j))
    assert complex(c) == ss.correlate(np.asarray(2.0 + 1j), np.asarray(1j))
    got = signal.convolve(xp.zeros((0, 3)), xp.ones((2, 2)), mode="same")
    assert_same(got, ss.convolve(np.zeros((0, 3)), np.ones((2, 2)), mode="same"))
    assert_same(signal.fftconvolve(xp.zeros(0), xp.ones(3)), ss.fftconvolve(np.zeros(0), np.ones(3)))
    for mode in ("full", "same", "valid"):
        e, o = np.zeros((0, 3)), np.arange(1.0, 5.0).reshape(2, 2)
        _compare(lambda: signal.convolve2d(xp.asarray(e), xp.asarray(o), mode=mode, fillvalue=2),
                 lambda: ss.convolve2d(e, o, mode=mode, fillvalue=2), e, o)
        _compare(lambda: signal.correlate2d(xp.asarray(o), xp.asarray(e), mode=mode),
                 lambda: ss.correlate2d(o, e, mode=mode), o, e)


# ---- plans


def test_correlate_is_one_kernel_with_its_epilogue(lazy):
    a, k = xp.asarray(np.ones((64, 64))), xp.asarray(np.ones((3, 3)))
    plan = xp.explain(xp.abs(signal.convolve2d(a, k, mode="same")) * 2)
    kinds = [kk.kind for kk in plan.kernels]
    assert kinds == ["correlate", "elementwise"], plan
    assert plan.kernels[1].ops == ("ABS", "MUL")
    # complex correlation conjugates inside the kernel, on either operand (the smaller is the kernel)
    c, ck = xp.asarray(np.ones((64, 64), complex)), xp.asarray(np.ones((3, 3), complex))
    for x, y in ((c, ck), (ck, c)):
        plan = xp.explain(signal.correlate(x, y, method="direct"))
        assert [kk.kind for kk in plan.kernels] == ["correlate"], plan


def test_fft_method_is_an_extern_node(lazy):
    a, k = xp.asarray(np.ones((64, 64))), xp.asarray(np.ones((3, 3)))
    plan = xp.explain(signal.convolve(a, k, method="fft") + 1.0)
    assert [kk.kind for kk in plan.kernels] == ["extern", "elementwise"], plan


def test_choose_conv_method(lazy):
    big = xp.asarray(np.ones((512, 512))) * 2.0      # recorded, not computed
    small, large = xp.ones((3, 3)), xp.ones((64, 64))
    assert signal.choose_conv_method(big, small, mode="same") == "direct"
    assert signal.choose_conv_method(big, large, mode="same") == "fft"
    assert signal.choose_conv_method(xp.ones((512, 512), dtype=xp.int64), xp.ones((64, 64), dtype=xp.int64)) == "direct"
    assert big._node.buffer is None         # the estimate needs shapes only: nothing ran
    assert [k.kind for k in xp.explain(signal.convolve(big, large, mode="same")).kernels][-1] == "extern"
    method, times = signal.choose_conv_method(xp.ones(50), xp.ones(5), measure=True)
    assert method in ("direct", "fft") and set(times) == {"direct", "fft"}


# ---- bad input: errors at the recording call, SciPy's types, the argument named


def test_bad_input():
    a, k = xp.ones((4, 4)), xp.ones((2, 2))
    cases = [
        (lambda: signal.convolve(a, k, mode="sam"), ValueError, "mode"),
        (lambda: signal.correlate(a, k, method="ffft"), ValueError, "method"),
        (lambda: signal.convolve2d(a, k, boundary="reflect"), ValueError, "boundary"),
        (lambda: signal.convolve2d(xp.ones(4), xp.ones(2)), ValueError, "2-D"),
        (lambda: signal.correlate2d(xp.ones((2, 2, 2)), xp.ones((2, 2, 2))), ValueError, "2-D"),
        (lambda: signal.convolve(a, xp.ones(2)), ValueError, "dimensionality"),
        (lambda: signal.fftconvolve(a, xp.ones(2)), ValueError, "dimensionality"),
        (lambda: signal.convolve(xp.ones((4, 2)), xp.ones((2, 4)), mode="valid"), ValueError, "valid"),
        (lambda: signal.convolve2d(xp.ones((4, 2)), xp.ones((2, 4)), mode="valid"), ValueError, "valid"),
        (lambda: signal.convolve2d(a, k, fillvalue=xp.ones(2)), ValueError, "fillvalue"),
        (lambda: signal.convolve2d(a, k, fillvalue="x"), ValueError, "fillvalue"),
        (lambda: signal.convolve2d(a, k, fillvalue=1j), ValueError, "fillvalue"),
        (lambda: signal.convolve(xp.ones(0), xp.ones(3)), ValueError, "in1"),
        (lambda: signal.correlate(xp.ones(3), xp.ones(0), method="direct"), ValueError, "in2"),
        (lambda: signal.convolve1d(xp.ones((2, 2)), xp.ones(2)), ValueError, "1-D"),
        (lambda: signal.convolve1d(xp.ones(3), xp.ones(0)), ValueError, "v"),
        (lambda: signal.fftconvolve(a, k, axes=(0, 0)), ValueError, "axes"),
        (lambda: signal.fftconvolve(a, k, axes=2), ValueError, "axes"),
        (lambda: signal.fftconvolve(a, xp.ones((3, 2)), axes=1), ValueError, "incompatible"),
        (lambda: signal.convolve2d(xp.zeros((0, 3)), k, boundary="wrap"), ValueError, "boundary"),
        (lambda: signal.convolve(a, None), TypeError, "in2"),
    ]
    for fn, exc, word in cases:
        with pytest.raises(exc, match=word):
            fn()
    # SciPy's exception types for the same calls
    with pytest.raises(ValueError):
        ss.convolve2d(np.ones((4, 2)), np.ones((2, 4)), mode="valid")
    with pytest.raises(ValueError):
        ss.convolve2d(np.ones((4, 4)), np.ones((2, 2)), fillvalue=np.ones(2))


def test_new_sizes_do_not_recompile():
    """One compiled kernel per dtype: sizes, pads, modes and ranks 1-3 are arguments."""
    rng = np.random.default_rng(5)
    xp.set_executor("numba")
    try:
        signal.convolve2d(xp.asarray(rng.random((9, 8))), xp.asarray(rng.random((2, 3)))).compute()
        before = xp.cache_info()["compiled"]
        for s1, s2, mode in [((40, 33), (5, 5), "same"), ((7,), (3,), "full"), ((6, 5, 4), (2, 2, 3), "valid")]:
            a, b = rng.random(s1), rng.random(s2)
            got = signal.convolve(xp.asarray(a), xp.asarray(b), mode=mode, method="direct")
            _close(got, ss.convolve(a, b, mode=mode, method="direct"), a, b)
        assert xp.cache_info()["compiled"] == before
    finally:
        xp.set_executor(None)


def test_large_work_runs_compiled():
    a, k = xp.asarray(np.ones((512, 512))), xp.asarray(np.ones((3, 3)))
    (step,) = xp.explain(signal.convolve2d(a, k, mode="same")).kernels
    assert (step.kind, step.executor, step.backend) == ("correlate", "numba", "cpu")


def test_views_and_computed_operands(executor):
    """Transposed, strided and computed inputs: the kernel reads views as they are and fuses nothing into them."""
    rng = np.random.default_rng(6)
    A, K = rng.standard_normal((30, 41)), rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    a, k = xp.asarray(A), xp.asarray(K)
    _close(signal.correlate2d(a.T[::2], k, mode="same", boundary="wrap"),
           ss.correlate2d(A.T[::2], K, mode="same", boundary="wrap"), A, K)
    _close(signal.convolve(xp.exp(a * 0.1) - 1.0, k[::-1], mode="valid", method="direct"),
           ss.convolve(np.exp(A * 0.1) - 1.0, K[::-1], mode="valid", method="direct"), A, K)
