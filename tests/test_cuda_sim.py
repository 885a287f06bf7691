"""The CUDA back end, differential against the CPU executor.

These tests need a CUDA device Numba sees: a real GPU, or Numba's simulator, which must be
switched on before numba is imported (``NUMBA_ENABLE_CUDASIM=1``).  In the ordinary test run
they are skipped here and run in a subprocess with the simulator by
``tests/test_cuda.py::test_simulator_suite``; ``python -m arrayforge.gpucheck`` runs them
on a real GPU.  The simulator is an interpreter: sizes stay tiny, and reductions keep few
output elements (one simulated block each).
"""
import os
import pickle

import numpy as np
import pytest

import arrayforge as xp
from lowering import cuda_runtime

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not cuda_runtime.available(),
                                 reason="no CUDA device (run with NUMBA_ENABLE_CUDASIM=1, see tests/test_cuda.py)")]

SIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
rng = np.random.default_rng(1234)


def both(f, *arrays, exact=False, rtol=1e-12):
    """``f`` on CPU arrays and on CUDA arrays of the same values: same dtype, shape, values."""
    host = f(*[xp.asarray(a) for a in arrays])
    dev = f(*[xp.asarray(a, device="cuda") for a in arrays])
    assert dev.device == xp.Device("cuda", 0)
    h, d = np.asarray(host), np.asarray(dev)
    assert d.dtype == h.dtype and d.shape == h.shape, (d.dtype, h.dtype, d.shape, h.shape)
    if exact or h.dtype.kind in "biu":
        np.testing.assert_array_equal(d, h)
    else:
        np.testing.assert_allclose(d, h, rtol=rtol, atol=0, equal_nan=True)
    return d


A = rng.standard_normal((3, 20))
B = rng.standard_normal((3, 20))
C = rng.standard_normal((3, 20))
D = rng.standard_normal((3, 20))
I32 = rng.integers(-60, 60, (3, 20)).astype(np.int32)
SPECIAL = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1.5, -2.5, 3.0, 1e300, -7.0])


# ---- devices, info, conversions ----------------------------------------------------------

def test_info_lists_cuda_devices():
    info = xp.__array_namespace_info__()
    devices = info.devices()
    assert devices[0] == xp.Device("cpu") and xp.Device("cuda", 0) in devices
    assert info.default_device() == "cpu"
    assert info.dtypes(device="cuda") == info.dtypes() and "complex64" in info.dtypes(device="cuda")
    assert info.dtypes(device="cuda", kind="real floating") == info.dtypes(kind="real floating")
    assert info.capabilities()["max dimensions"] == 64


def test_device_names_and_equality():
    d = xp.Device("cuda", 0)
    assert d == "cuda" and d == "cuda:0" and d == xp.Device("cuda") and d != "cpu"
    assert str(d) == "cuda:0" and pickle.loads(pickle.dumps(d)) is d
    with pytest.raises(ValueError, match="does not exist"):
        xp.asarray([1.0], device=xp.Device("cuda", 7))
    with pytest.raises(ValueError, match="unsupported device"):
        xp.asarray([1.0], device="tpu")


def test_creation_on_device():
    for x, ref in [(xp.zeros((2, 3), device="cuda"), np.zeros((2, 3))),
                   (xp.ones(4, dtype=xp.int32, device="cuda"), np.ones(4, np.int32)),
                   (xp.full((2,), 2.5, device="cuda"), np.full(2, 2.5)),
                   (xp.arange(5, device="cuda"), np.arange(5)),
                   (xp.linspace(0, 1, 5, device="cuda"), np.linspace(0, 1, 5)),
                   (xp.eye(3, device="cuda"), np.eye(3)),
                   (xp.asarray([[1, 2], [3, 4]], device="cuda"), np.array([[1, 2], [3, 4]]))]:
        assert x.device == "cuda"
        np.testing.assert_array_equal(np.asarray(x), ref)
    g = xp.asarray(A, device="cuda")
    for like in (xp.zeros_like(g), xp.ones_like(g), xp.full_like(g, 3.0), xp.empty_like(g)):
        assert like.device == "cuda" and like.shape == g.shape     # (*_like: the device of x)
    assert xp.zeros_like(g, device="cpu").device == "cpu"
    assert xp.astype(g, xp.float32, device="cpu").device == "cpu"


def test_to_device_round_trip_and_conversions():
    h = xp.asarray(A)
    g = h.to_device("cuda")
    assert g.device == "cuda" and g.to_device("cuda") is g
    back = (g * 2).to_device("cpu")
    assert back.device == "cpu"
    np.testing.assert_array_equal(np.asarray(back), A * 2)
    assert g.__dlpack_device__() == (2, 0) and h.__dlpack_device__() == (1, 0)
    # Note: these copy to the host explicitly (documented in the README's CUDA section)
    assert float(xp.sum(g)) == pytest.approx(float(np.sum(A)), rel=1e-12)
    assert g[0, :3].tolist() == A[0, :3].tolist()
    assert int(xp.asarray(7, device="cuda")) == 7 and bool(xp.asarray(True, device="cuda"))
    assert "Array(" in repr(g[0, :2])
    assert xp.asarray(g, device="cpu").device == "cpu" and xp.asarray(h, device="cuda").device == "cuda"
    assert xp.from_dlpack(g) is g and xp.from_dlpack(g, device="cpu").device == "cpu"
    p = pickle.loads(pickle.dumps(g[0]))
    assert p.device == "cuda"
    np.testing.assert_array_equal(np.asarray(p), A[0])
    assert not hasattr(h, "__cuda_array_interface__")
    if not SIM:
        assert g.__cuda_array_interface__["shape"] == A.shape


def test_mixing_devices_raises_at_record_time():
    h, g = xp.asarray(A), xp.asarray(B, device="cuda")
    for f in (lambda: h + g, lambda: g * h, lambda: xp.where(g > 0, h, 0.0), lambda: xp.maximum(h, g),
              lambda: g[:1] + h[:1], lambda: xp.asarray(1.0) + g):
        with pytest.raises(ValueError, match="to_device"):
            f()
    assert (g + 1.0).device == "cuda" and (2 * g).device == "cuda"     # Python scalars go anywhere


@pytest.mark.parametrize("name, f", [
    ("sort", lambda g: xp.sort(g)), ("unique_values", xp.unique_values),
    ("nonzero", xp.nonzero), ("cumulative_sum", lambda g: xp.cumulative_sum(g, axis=1)),
    ("argmax", lambda g: xp.argmax(g)), ("inv", lambda g: xp.linalg.inv(g[:, :3])),
    ("fft", lambda g: xp.fft.fft(g)), ("getitem", lambda g: g[g > 0]),
    ("take", lambda g: xp.take(g, xp.asarray([0, 1], device="cuda"), axis=1)),
])
def test_functions_without_gpu_kernels_raise(name, f):
    g = xp.asarray(A, device="cuda")
    with pytest.raises(NotImplementedError, match=r"cuda:0"):
        f(g)


# ---- the disk cache of compiled kernels ------------------------------------------------------

_CACHE_SCRIPT = """
import numpy as np, arrayforge as xp
a = xp.asarray(np.arange(1000.0), device="cuda")
print(float(xp.sum(xp.exp(a * 1e-3) * 2.0 - 1.0)))
"""


def _run_cache_script(cache_dir):
    import subprocess
    import sys
    env = dict(os.environ, ARRAYFORGE_CACHE_DIR=str(cache_dir), ARRAYFORGE_DEBUG="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT], cwd=root, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_disk_cache_of_kernels(tmp_path):
    import glob
    first = _run_cache_script(tmp_path)
    ptx = glob.glob(str(tmp_path / "*" / "*.ptx"))
    if SIM:     # the simulator interprets kernels: nothing compiled, nothing cached
        assert not ptx
        return
    assert ptx and "compiled CUDA kernel" in first.stderr
    second = _run_cache_script(tmp_path)          # a new process: every kernel's PTX from the disk
    assert "compiled CUDA kernel" not in second.stderr and second.stdout == first.stdout


# ---- DLPack (kDLCUDA) -----------------------------------------------------------------------

class _CapsuleOnly:
    """A kDLCUDA producer with nothing but the DLPack protocol (no __cuda_array_interface__),
    recording what the consumer asked for."""
    def __init__(self, x):
        self.x, self.calls = x, []

    def __dlpack__(self, **kwargs):
        self.calls.append(kwargs)
        return self.x.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.x.__dlpack_device__()


def test_dlpack_capsule_structure():
    import gc
    from lowering import dlpack
    g = xp.asarray(A, device="cuda") * 2.0
    before = dlpack.live_count()
    cap = g.__dlpack__(max_version=(1, 2))
    d = dlpack.describe(cap)
    assert d["name"] == "dltensor_versioned" and d["version"] == (1, 0)
    assert d["device"] == (2, 0) and d["dtype"] == (2, 64, 1) and d["shape"] == (3, 20)
    assert d["strides"] == (20, 1) and d["flags"] == dlpack.FLAG_READ_ONLY and d["byte_offset"] == 0
    assert d["data"] == cuda_runtime._pointer(g._node.buffer)          # no copy: the array's memory
    assert dlpack.live_count() == before + 1
    del cap
    gc.collect()
    assert dlpack.live_count() == before          # an unconsumed capsule deletes its tensor
    legacy = dlpack.describe(g.__dlpack__())      # legacy consumers cannot be told "read-only": a copy
    assert legacy["name"] == "dltensor" and legacy["data"] != d["data"]
    assert dlpack.describe(g.__dlpack__(copy=False))["data"] == d["data"]
    copied = dlpack.describe(g.__dlpack__(max_version=(1, 0), copy=True))
    assert copied["flags"] == dlpack.FLAG_IS_COPIED and copied["data"] != d["data"]
    for dtype, code in ((np.complex64, (5, 64, 1)), (np.bool_, (6, 8, 1)), (np.uint16, (1, 16, 1)),
                        (np.int32, (0, 32, 1))):
        z = xp.asarray(np.zeros((2, 1, 3), dtype), device="cuda")
        dz = dlpack.describe(z.__dlpack__(max_version=(1, 0)))
        assert dz["dtype"] == code and dz["shape"] == (2, 1, 3) and dz["strides"] == (3, 3, 1)
    s = dlpack.describe(xp.sum(g).__dlpack__(max_version=(1, 0)))
    assert s["shape"] == () and s["strides"] == ()
    with pytest.raises(ValueError, match="stream=0"):
        g.__dlpack__(stream=0)
    g.__dlpack__(stream=-1), g.__dlpack__(stream=1), g.__dlpack__(stream=2)
    with pytest.raises(BufferError, match="copy=False"):
        g.__dlpack__(dl_device=(1, 0), copy=False)
    host = np.from_dlpack(g, device="cpu")              # dl_device=(1, 0): a host copy through NumPy
    np.testing.assert_array_equal(host, A * 2.0)
    gc.collect()


def test_dlpack_round_trip_shares_memory_and_releases_it():
    import gc
    from lowering import dlpack
    gc.collect()
    before = dlpack.live_count()
    g = (xp.asarray(A, device="cuda") + 1.0).compute()
    p = _CapsuleOnly(g)
    y = xp.from_dlpack(p)
    assert p.calls == [{"stream": 1, "max_version": (1, 0)}]
    assert y is not g and y.device == "cuda" and y.dtype == g.dtype and y.shape == g.shape
    assert cuda_runtime._pointer(y._node.buffer) == cuda_runtime._pointer(g._node.buffer)     # shared
    np.testing.assert_array_equal(np.asarray(y * 2.0), (A + 1.0) * 2.0)
    assert dlpack.live_count() == before + 1
    del y
    gc.collect()
    assert dlpack.live_count() == before          # collected: the consumer called the deleter
    c = xp.from_dlpack(p, copy=True)
    assert cuda_runtime._pointer(c._node.buffer) != cuda_runtime._pointer(g._node.buffer)
    np.testing.assert_array_equal(np.asarray(c), A + 1.0)
    h = xp.from_dlpack(p, device="cpu")
    assert h.device == "cpu"
    np.testing.assert_array_equal(np.asarray(h), A + 1.0)
    with pytest.raises(BufferError, match="copy=False"):
        xp.from_dlpack(p, device="cpu", copy=False)
    z = xp.from_dlpack(_CapsuleOnly(xp.asarray(1.5 - 2j, device="cuda")))     # 0-d complex
    assert z.shape == () and complex(z) == 1.5 - 2j
    del c, h, z
    gc.collect()
    assert dlpack.live_count() == before


def test_dlpack_import_of_a_strided_capsule_copies_on_the_device():
    from lowering import dlpack
    base = xp.asarray(np.arange(24.0).reshape(4, 6), device="cuda").compute()
    buf = base._node.buffer
    # a transposed, negatively strided view of base's memory, as another library would export it
    ptr = cuda_runtime._pointer(buf) + 5 * 8
    cap = dlpack.capsule(ptr, (6, 2), (-1, 12), np.float64, (2, 0), buf, True)

    class P:
        def __dlpack__(self, **kwargs):
            return cap

        def __dlpack_device__(self):
            return (2, 0)
    y = xp.from_dlpack(P())
    np.testing.assert_array_equal(np.asarray(y), np.arange(24.0).reshape(4, 6)[::2, ::-1].T)


# ---- complex ------------------------------------------------------------------------------

Z = (A + 1j * B)[:2, :8]
W = (C - 1j * D)[:2, :8]
_F = [0.0, -0.0, 1.5, -2.5, 1e300, np.inf, -np.inf, np.nan]
ZSPECIAL = np.array([complex(a, b) for a in _F for b in _F[::3]])        # 24 values
_MAX = np.finfo(np.float64).max
ZEXTREME = np.array([1e308 + 1e308j, _MAX + _MAX * 1j, -_MAX + 1j, 1e-310 + 1e-310j, 0.8 + 0.6j,
                     0.6 + 0.79j, -0.0 + 0j, complex(-np.inf, np.nan), 3 - 4j, 1e-300 + 1e-300j, 0j])


def both_complex(f, *arrays, rtol=1e-12, zero_signs=True):
    """``both`` for complex results: parts compared separately (NaN, inf and signed zeros exactly)."""
    host = np.asarray(f(*[xp.asarray(a) for a in arrays]))
    dev = np.asarray(f(*[xp.asarray(a, device="cuda") for a in arrays]))
    assert dev.dtype == host.dtype and dev.shape == host.shape, (dev.dtype, host.dtype)
    for d, h in ((dev.real, host.real), (dev.imag, host.imag)) if host.dtype.kind == "c" else ((dev, host),):
        np.testing.assert_allclose(d, h, rtol=rtol, atol=0, equal_nan=True)
        exact = np.isinf(h) | ((h == 0) & zero_signs)        # (the sign of a NaN is unspecified)
        np.testing.assert_array_equal(np.signbit(d[exact]), np.signbit(h[exact]))
        np.testing.assert_array_equal(d[exact], h[exact])


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_complex_arithmetic_and_parts(dtype):
    z, w = Z.astype(dtype), W.astype(dtype)
    rtol = 1e-12 if dtype == "complex128" else 2e-6
    both_complex(lambda a, b: (a * b + a) / (b - 1.5) - a * a, z, w, rtol=rtol)
    both_complex(lambda a, b: a ** b + a ** 2 + xp.reciprocal(b) + xp.sign(a), z, w, rtol=rtol)
    both_complex(lambda a: xp.abs(a) + xp.real(a) * xp.imag(a), z, rtol=rtol)
    both_complex(lambda a: xp.conj(a) * (2 - 1j) + xp.astype(xp.real(a), a.dtype), z, rtol=rtol)
    both_complex(lambda a, b: xp.astype(a == b, xp.int8) + xp.astype(a != a[:, :1], xp.int8), z, w)
    both_complex(lambda a: xp.astype(a, xp.complex64) + xp.astype(xp.astype(a, xp.bool), a.dtype), z, rtol=2e-6)
    x = xp.asarray(A[:2, :8].astype(np.float64 if dtype == "complex128" else np.float32), device="cuda")
    y = x * (1 + 2j)                                 # real array times a Python complex: complex
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(np.asarray(y), np.asarray(x.to_device("cpu")) * (1 + 2j), rtol=rtol)


def test_complex_special_values():
    s = ZSPECIAL
    both_complex(lambda a: a / xp.asarray(np.array([0j, complex(0, -0.0), 1 + 1j] * 8), device=a.device), s)
    both_complex(lambda a: xp.reciprocal(a) + 0, s)
    both_complex(lambda a: xp.isnan(a) | xp.isinf(a) & ~xp.isfinite(a), s)
    both_complex(lambda a: xp.abs(a), s)
    for name in ("exp", "sqrt", "log", "expm1", "tanh", "cosh", "sinh", "sin", "cos", "tan", "asin",
                 "acos", "atan", "asinh", "acosh", "atanh", "log2", "log10"):
        # tan(-2.5 - inf j): the real part's zero sign is unspecified; the CPU's two executors
        # differ (NumPy +0, the Numba kernels -0), and the GPU gives the Numba kernels' -0
        both_complex(getattr(xp, name), s, zero_signs=name != "tan")
    for name in ("sqrt", "log"):
        both_complex(getattr(xp, name), ZEXTREME)                     # scaled near overflow, underflow


def test_complex64_functions():
    z = ZSPECIAL[::2].astype(np.complex64)
    for name in ("exp", "sqrt", "log", "tanh", "asinh"):
        both_complex(getattr(xp, name), z, rtol=2e-6)


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_complex_reductions(dtype):
    z, w = Z.astype(dtype), W.astype(dtype)
    rtol = 1e-12 if dtype == "complex128" else 2e-6
    both_complex(lambda a, b: xp.sum(a * b), z, w, rtol=rtol)
    both_complex(lambda a: xp.sum(a, axis=1) + xp.prod(a[:, :4], axis=1), z, rtol=rtol)
    both_complex(lambda a: xp.mean(a, axis=0, keepdims=True) * 2.0, z, rtol=rtol)
    both_complex(lambda a: xp.sum(xp.abs(a - xp.mean(a, axis=1, keepdims=True)) ** 2, axis=1), z, rtol=rtol)
    big = (rng.standard_normal(300) + 1j * rng.standard_normal(300)).astype(dtype)
    both_complex(lambda a: xp.sum(a * 2.0), big, rtol=rtol * 10)               # split across blocks
    both_complex(lambda a: xp.sum(a[:4] / 0), ZSPECIAL[:8].astype(dtype))       # inf/NaN propagate


# ---- element-wise ------------------------------------------------------------------------

def _chain(a, b, c, d):
    return ((a * b + c) * 0.5 - d) * (a + 1.0) + (b - c) * d * 2.0 - a / (d + 1.0)


def test_fused_chain_is_one_kernel_float64_and_float32():
    both(_chain, A, B, C, D)
    both(_chain, *(x.astype(np.float32) for x in (A, B, C, D)), rtol=1e-6)


def test_broadcasting_and_views():
    col, row = rng.standard_normal((3, 1)), rng.standard_normal((1, 20))
    both(lambda a, c, r: a * c + r, A, col, row)
    both(lambda a, b: a.T[::-2, 1:] - b.T[::-2, 1:] * 2.0, A, B)               # transpose, negative step
    both(lambda a: xp.reshape(a[:, 2:12], (5, 6)) + 1.0, A)                     # reshape of a slice: copied
    both(lambda a: xp.broadcast_to(a[:, :1], (3, 20)) * a, A)
    both(lambda a: xp.permute_dims(xp.reshape(a, (3, 4, 5)), (2, 0, 1))[1:, :, ::2] ** 2, A)
    both(lambda a: a[1, 3:7], A)                                                # a view as the output
    both(lambda a: xp.sqrt(xp.abs(a[0, 0])), A)                                 # 0-d


def test_integer_and_boolean_ops():
    small = rng.integers(0, 5, (3, 20)).astype(np.int32)
    both(lambda a: (a // 7) + (a % 5) + (a << 2) - (a >> 1) + (a ^ 3), I32)
    both(lambda a, s: a ** s, I32, small)
    both(lambda a: xp.where((a > 0) & ~(a > 30), a, -a) * 3, I32)
    both(lambda a: xp.astype(a, xp.float32) / 3.0, I32, rtol=1e-6)
    both(lambda a: xp.astype(a * 0.37, xp.int16), A * 100)
    both(lambda a: xp.logical_xor(a > 0, a < 10), I32)
    u = rng.integers(0, 255, 20).astype(np.uint8)
    both(lambda a: (a + a) * 3 - 1, u)


def test_special_values():
    s = SPECIAL
    both(lambda a: xp.floor(a) + xp.ceil(a) + xp.trunc(a) + xp.round(a), s, exact=True)
    both(lambda a: xp.sign(a) + xp.maximum(a, 0.0) - xp.minimum(a, -0.0), s, exact=True)
    both(lambda a: xp.isnan(a) | xp.isinf(a) | ~xp.isfinite(a) | xp.signbit(a), s)
    both(lambda a: xp.exp(a) + xp.log(xp.abs(a)) + xp.sqrt(a), s)
    both(lambda a: xp.remainder(a, 0.7) + xp.floor_divide(a, -0.7), s, exact=True)
    both(lambda a: a / 0.0, s, exact=True)
    both(lambda a: xp.astype(a, xp.int64), s, exact=True)          # NaN/inf to int: NumPy's values


# ---- reductions --------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [xp.sum, xp.prod, xp.max, xp.min])
def test_reductions_over_axes(fn):
    a = A
    both(lambda x: fn(x), a)
    both(lambda x: fn(x, axis=1), a)
    both(lambda x: fn(x[:, :3], axis=0, keepdims=True), a)
    both(lambda x: fn(xp.reshape(x[:2, :12], (2, 3, 4)), axis=(0, 2)), a)


def test_reduction_prologue_and_epilogue():
    both(lambda a, b: xp.sum((a - b) ** 2), A, B)
    both(lambda a, b: xp.sqrt(xp.sum((a - b) ** 2, axis=1)) * 2.0 + 1.0, A, B)
    both(lambda a: xp.mean(a, axis=1) + xp.var(a, axis=1), A)
    both(lambda a: a - xp.max(a, axis=1, keepdims=True), A)           # broadcast back (rows kernel)
    e = lambda a: xp.exp(a - xp.max(a, axis=1, keepdims=True))         # noqa: E731
    both(lambda a: e(a) / xp.sum(e(a), axis=1, keepdims=True), A)     # softmax


def test_reduction_dtypes_and_special_values():
    both(lambda a: xp.sum(a, axis=1), I32)                             # int32 sums in int64
    both(lambda a: xp.max(a), I32)
    both(lambda a: xp.sum(xp.astype(a, xp.float32)), A, rtol=1e-6)    # float32 sums in float64
    both(lambda a: xp.any(a > 50, axis=1), I32)
    both(lambda a: xp.all(a > -59), I32)
    both(lambda a: xp.max(a), SPECIAL)                                 # NaN propagates
    both(lambda a: xp.min(a[1:3]), SPECIAL)
    both(lambda a: xp.sum(a[1:3]), SPECIAL)                            # inf - inf
    both(lambda a: xp.sum(a[:0]), SPECIAL)                             # empty: the initial value
    big = rng.standard_normal(3000)
    both(lambda a: xp.sum(a * 2.0), big)                               # split across blocks: two passes


def test_realized_intermediates_are_kept_on_device():
    g = xp.asarray(A, device="cuda")
    y = g * 2.0 + 1.0
    z = xp.sum(y, axis=1)
    xp.compute(y, z)
    assert y._node.buffer is not None and y.device == "cuda"
    np.testing.assert_allclose(np.asarray(z), np.sum(A * 2.0 + 1.0, axis=1), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(y - 1.0), A * 2.0, rtol=1e-12)


# ---- fused rows kernels (softmax, layer norm, var: one kernel, a group of threads per row) -----

@pytest.fixture
def rows_runs(monkeypatch):
    runs = []
    real = cuda_runtime._run_rows

    def counted(k, st, nodes, buffers):
        runs.append(len(k.parts))
        return real(k, st, nodes, buffers)
    monkeypatch.setattr(cuda_runtime, "_run_rows", counted)
    return runs


def _softmax(a):
    e = xp.exp(a - xp.max(a, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


def _layer_norm(a):
    m = xp.mean(a, axis=-1, keepdims=True)
    v = xp.mean((a - m) ** 2, axis=-1, keepdims=True)
    return (a - m) / xp.sqrt(v + 1e-5) * 1.5 + 0.25


def test_rows_block_per_row(rows_runs):
    both(_softmax, A)                                        # rows of 20: a block per row
    both(_layer_norm, A)
    both(lambda a: xp.var(a, axis=1), A)                     # the last part is a reduction
    both(lambda a: xp.sum(a - xp.max(a, axis=1, keepdims=True), axis=1, keepdims=True) * 2.0, A)
    assert rows_runs == [3, 3, 2, 2]
    (info,) = xp.explain(_softmax(xp.asarray(A, device="cuda"))).kernels
    assert info.kind == "rows" and info.backend == "cuda" and info.variant == "fused"


def test_rows_group_per_short_row(rows_runs):
    # rows of at most ROWS_WARP_MAX: a group (a warp on a GPU) per row, several rows per block;
    # 5 rows: a group past the last row computes without storing
    a = rng.standard_normal((5, 6))
    both(_softmax, a)
    both(lambda x: xp.std(x, axis=-1, keepdims=True) + x, a)
    both(lambda x: x - xp.max(x, axis=1, keepdims=True), I32[:5, :7])          # integers
    both(lambda x: _softmax(x), a.astype(np.float32), rtol=2e-6)
    assert rows_runs == [3, 3, 2, 3]


def test_rows_views_dtypes_and_shapes(rows_runs):
    x = rng.standard_normal((2, 3, 4))
    both(lambda a: _softmax(xp.permute_dims(a, (1, 0, 2))[:, ::-1]), x)             # strided rows
    both(lambda a: a / xp.sum(a, axis=(1, 2), keepdims=True), x)                      # two reduced dims
    both(lambda a: _softmax(a[:, :1]), x)                                             # rows of 1... x 4
    both_complex(lambda a: a - xp.mean(a, axis=1, keepdims=True), Z)                  # complex
    both(lambda a: xp.astype(a - xp.sum(a, axis=1, keepdims=True), xp.float32) / 3.0, I32[:2], rtol=1e-6)
    assert len(rows_runs) == 5


def test_rows_empty(rows_runs):
    both(_softmax, np.zeros((0, 5)))
    both(lambda a: a - xp.sum(a, axis=1, keepdims=True), np.zeros((3, 0)))
    both(lambda a: xp.var(a, axis=1), np.zeros((3, 0)))                   # NaN: 0 / 0


@pytest.mark.parametrize("strategy", ["thread", "block"])
def test_column_reductions_both_strategies(monkeypatch, strategy):
    # a thread per output (coalesced column reads) when there are outputs enough, else a block per output
    tgt = cuda_runtime.target()[0]
    monkeypatch.setitem(cuda_runtime.THREAD_STRATEGY_MIN, tgt, 1 if strategy == "thread" else 10**9)
    a = rng.standard_normal((30, 6))
    both(lambda x: xp.sum(x, axis=0), a)
    both(lambda x: xp.max(x * 2.0, axis=0, keepdims=True) + 1.0, a)
    both(lambda x: xp.min(xp.reshape(x, (5, 6, 6)), axis=(0, 1)), a)
    both(lambda x: xp.sum(xp.astype(x > 0, xp.int32), axis=0), a)


@pytest.mark.skipif(SIM, reason="the simulator has no __cuda_array_interface__")
def test_cuda_array_interface_round_trip_with_numba_and_cupy():
    from numba import cuda
    d = cuda.to_device(A)
    x = xp.asarray(d)                                   # shared, not copied
    assert x.device == "cuda"
    y = x * 2.0 + 1.0
    back = cuda.as_cuda_array(y)                        # Numba reads ours without a copy
    np.testing.assert_array_equal(back.copy_to_host(), A * 2.0 + 1.0)
    try:
        import cupy
    except ImportError:
        return
    c = cupy.asarray(y)
    np.testing.assert_array_equal(cupy.asnumpy(c), A * 2.0 + 1.0)
    z = xp.from_dlpack(cupy.arange(4.0))
    assert z.device == "cuda" and np.asarray(z).tolist() == [0.0, 1.0, 2.0, 3.0]


def _consume(from_dlpack, fallback, x):
    """``from_dlpack(x)``; a consumer that refuses a read-only (versioned) capsule says so with
    BufferError: then a warning, and ``__cuda_array_interface__`` instead."""
    import warnings
    try:
        return from_dlpack(x)
    except BufferError as exc:
        warnings.warn(f"{from_dlpack.__module__}.from_dlpack refused our capsule ({exc}); "
                      "read through __cuda_array_interface__")
        return fallback(x)


@pytest.mark.skipif(SIM, reason="the simulator's device memory is host memory: a real GPU only")
def test_dlpack_capsules_with_cupy_and_torch():
    # what only a real GPU checks: other libraries read our kDLCUDA capsules, and we wrap theirs
    g = (xp.asarray(A, device="cuda") * 2.0).compute()
    tried = False
    try:
        import cupy
    except ImportError:
        cupy = None
    if cupy is not None:
        tried = True
        c = _consume(cupy.from_dlpack, cupy.asarray, g)     # reads our capsule
        np.testing.assert_array_equal(cupy.asnumpy(c), A * 2.0)
        src = cupy.arange(12.0).reshape(3, 4)
        y = xp.from_dlpack(_CapsuleOnly(src))                # wraps CuPy's capsule, no copy
        assert cuda_runtime._pointer(y._node.buffer) == src.data.ptr
        np.testing.assert_array_equal(np.asarray(y + 1.0), np.arange(12.0).reshape(3, 4) + 1.0)
        t = xp.from_dlpack(_CapsuleOnly(src.T))              # strided: copied on the device
        np.testing.assert_array_equal(np.asarray(t), np.arange(12.0).reshape(3, 4).T)
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available():
        tried = True
        tt = _consume(torch.from_dlpack, lambda x: torch.as_tensor(x, device="cuda"), g)
        assert tt.device.type == "cuda"
        np.testing.assert_array_equal(tt.cpu().numpy(), A * 2.0)
        src = torch.arange(6, dtype=torch.float32, device="cuda").reshape(2, 3)
        y = xp.from_dlpack(_CapsuleOnly(src))
        np.testing.assert_array_equal(np.asarray(y * 2.0), np.arange(6.0).reshape(2, 3) * 2.0)
    if not tried:
        pytest.skip("neither CuPy nor PyTorch (CUDA) is installed")


from hypothesis import given, settings, strategies as st  # noqa: E402

_OPS = [lambda x, y: x + y, lambda x, y: x * y - 1.5, lambda x, y: xp.maximum(x, y),
        lambda x, y: xp.where(x > y, x, -y), lambda x, y: xp.abs(x) / (xp.abs(y) + 1.0),
        lambda x, y: xp.exp(-xp.abs(x)) + y]
_VIEWS = [lambda x: x, lambda x: x.T.T, lambda x: xp.flip(x, axis=1), lambda x: x[:, ::-1] * 1.0]
_ENDS = [lambda x: x, lambda x: xp.sum(x, axis=1), lambda x: xp.max(x, axis=0, keepdims=True),
         lambda x: xp.sum(x * x)]


@settings(max_examples=12, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(range(len(_OPS))), st.sampled_from(range(len(_VIEWS)))),
                min_size=1, max_size=5),
       st.sampled_from(range(len(_ENDS))))
def test_random_fused_programs(program, end):
    def f(a, b):
        x = a
        for op, view in program:
            x = _OPS[op](_VIEWS[view](x), b)
        return _ENDS[end](x)
    both(f, A[:2, :6], B[:2, :6])
