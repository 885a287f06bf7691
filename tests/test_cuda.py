"""The CUDA back end without a GPU.

* ``test_simulator_suite`` runs tests/test_cuda_sim.py in a subprocess under Numba's CUDA
  simulator (``NUMBA_ENABLE_CUDASIM=1`` must be set before numba is imported, so it cannot be
  switched on inside this process without changing every other test).
* The PTX tests render every kind of generated CUDA kernel for a GPU and compile it to PTX
  (``numba.cuda.compile_ptx``, numba-cuda[cu12]), because the simulator accepts code a GPU
  rejects.  They skip when compile_ptx is unavailable.
* Without a GPU and without the simulator, asking for a CUDA device raises ValueError and
  importing arrayforge never imports numba.cuda.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import arrayforge as xp
from lowering import cuda_runtime, set_executor

pytestmark = pytest.mark.cuda
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(**extra):
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


# the simulator test files, run in one subprocess (each starts numba's simulator once)
SIM_FILES = ["test_cuda_sim.py", "test_cuda_gemm_sim.py", "test_cuda_sparse_sim.py", "test_cuda_conv_sim.py"]


def test_simulator_suite():
    if cuda_runtime.available() and os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        pytest.skip("a real GPU is present: tests/test_cuda_sim.py runs directly")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::RuntimeWarning"]
        + [os.path.join(ROOT, "tests", f) for f in SIM_FILES],
        cwd=ROOT, env=_env(NUMBA_ENABLE_CUDASIM="1"), capture_output=True, text=True, timeout=600)
    tail = proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    summary = [line for line in proc.stdout.splitlines() if " passed" in line]
    assert summary and int(summary[-1].split(" passed")[0].split()[-1]) >= 25, tail   # not skipped wholesale


def test_import_never_imports_numba_cuda_and_no_device_is_a_clear_error():
    code = ("import sys, arrayforge as xp\n"
            "assert 'numba.cuda' not in sys.modules, 'import arrayforge imported numba.cuda'\n"
            "x = xp.asarray([1.0, 2.0]) * 2\n"
            "assert float(xp.sum(x)) == 6.0 and 'numba.cuda' not in sys.modules\n"
            "try:\n"
            "    xp.asarray([1.0], device='cuda')\n"
            "except ValueError as e:\n"
            "    assert 'NUMBA_ENABLE_CUDASIM' in str(e), e\n"
            "    print('no-device-error')\n"
            "else:\n"
            "    print('device-available')\n"
            "d = xp.__array_namespace_info__().devices()\n"
            "print('devices', len(d))\n")
    env = _env()
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    if "no-device-error" in out.stdout:
        assert "devices 1" in out.stdout        # devices() lists CUDA devices only when Numba sees them


# ---- PTX: every kind of generated kernel compiles for a GPU (compute capability 8.0) ----------

def _ptx_available():
    try:
        from numba import cuda
        from numba.core import config
        return not config.ENABLE_CUDASIM and hasattr(cuda, "compile_ptx")
    except Exception:
        return False


needs_ptx = pytest.mark.skipif(not _ptx_available(), reason="numba.cuda.compile_ptx unavailable "
                               "(pip install 'numba-cuda[cu12]'; not under the simulator)")


@pytest.fixture
def gpu_target(monkeypatch):
    monkeypatch.setitem(cuda_runtime._state, "target", ("gpu", (8, 0)))
    monkeypatch.setitem(cuda_runtime._state, "helpers", None)
    set_executor("numba")          # record everything (no eager tier): plans of host nodes
    yield
    set_executor(None)


def _compile_all(outputs):
    specs = cuda_runtime.plan_specs([o._node for o in outputs])
    assert specs
    for spec in specs:
        ptx, _ = cuda_runtime.compile_ptx(spec)
        assert ".entry" in ptx
    return specs


_UNARY_FLOAT = ["abs", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh", "exp",
                "expm1", "floor", "log", "log1p", "log2", "log10", "negative", "round", "sign", "sin", "sinh",
                "sqrt", "square", "tan", "tanh", "trunc", "reciprocal"]
_BINARY_FLOAT = ["add", "subtract", "multiply", "divide", "floor_divide", "remainder", "pow", "maximum",
                 "minimum", "atan2", "hypot", "copysign", "logaddexp", "nextafter"]
_PREDICATES = ["isnan", "isinf", "isfinite", "signbit"]
_COMPARE = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]


@needs_ptx
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ptx_float_elementwise(gpu_target, dtype):
    a = xp.asarray(np.linspace(0.1, 0.9, 8).astype(dtype))
    b = xp.asarray(np.linspace(0.2, 0.7, 8).astype(dtype))
    acc = a
    for name in _UNARY_FLOAT:
        acc = acc + getattr(xp, name)(a)
    for name in _BINARY_FLOAT:
        acc = acc + getattr(xp, name)(a, b)
    for name in _PREDICATES:
        acc = acc + xp.astype(getattr(xp, name)(a), a.dtype)
    for name in _COMPARE:
        acc = acc + xp.astype(getattr(xp, name)(a, b), a.dtype)
    acc = acc + xp.where(a > b, a, b) + xp.astype(xp.astype(a, xp.int64), a.dtype) \
        + xp.astype(xp.astype(a, xp.uint8), a.dtype) + xp.astype(xp.astype(a, xp.int32), a.dtype)
    _compile_all([acc])


@needs_ptx
@pytest.mark.parametrize("dtype", ["int32", "uint8"])
def test_ptx_integer_elementwise(gpu_target, dtype):
    a = xp.asarray(np.arange(1, 9).astype(dtype))
    b = xp.asarray(np.arange(2, 10).astype(dtype) % 3)
    acc = a
    for name in ["add", "subtract", "multiply", "floor_divide", "remainder", "pow", "maximum", "minimum",
                 "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"]:
        acc = acc + getattr(xp, name)(a, b)
    for name in ["abs", "negative", "sign", "square", "bitwise_invert", "floor", "ceil", "round", "trunc"]:
        acc = acc + getattr(xp, name)(a)
    for name in _COMPARE + ["logical_and"]:
        acc = acc + xp.astype(getattr(xp, name)(a > 2, b > 1) if name == "logical_and" else getattr(xp, name)(a, b), a.dtype)
    acc = acc + xp.astype(xp.isnan(a) | xp.isinf(a) | ~xp.isfinite(a), a.dtype)
    acc = xp.astype(xp.astype(acc, xp.float32) / 3.0, a.dtype)
    _compile_all([acc])


@needs_ptx
def test_ptx_boolean_elementwise(gpu_target):
    a = xp.asarray(np.array([True, False] * 4))
    b = xp.asarray(np.array([True, True, False, False] * 2))
    _compile_all([xp.logical_or(a, b) ^ xp.logical_not(a) & xp.logical_xor(a, b) | ~b | (a == b)])


@needs_ptx
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_ptx_reductions(gpu_target, dtype):
    # (each reduction is a kernel of its own, and each costs a compile: few per dtype)
    x = xp.asarray(np.arange(24).reshape(2, 3, 4).astype(dtype))
    if dtype == "bool":
        outs = [xp.any(x, axis=1), xp.all(x)]
    elif dtype == "int64":
        outs = [xp.sum(xp.astype(x, xp.int32), axis=1), xp.max(x * x, axis=(0, 2), keepdims=True)]
    elif dtype == "float32":
        outs = [xp.sum(x * x), xp.prod(x, axis=2), xp.max(x, axis=(0, 2), keepdims=True), xp.min(x, axis=0)]
    else:                               # prologue and epilogue, and a rows kernel run as parts
        outs = [xp.sqrt(xp.sum((x - 1.0) ** 2, axis=1)) * 2.0 + 1.0, x - xp.max(x, axis=2, keepdims=True)]
    specs = [s for o in outs for s in _compile_all([o])]
    assert any(s.kind == "reduce" for s in specs)


@needs_ptx
def test_ptx_copy_kernel(gpu_target):
    from lowering.cuda import copy_spec
    for dtype in ("float32", "int64", "bool"):
        ptx, _ = cuda_runtime.compile_ptx(copy_spec(3, dtype, "gpu"))
        assert ".entry" in ptx


@needs_ptx
def test_ptx_uses_warp_shuffles_on_gpu(gpu_target):
    x = xp.asarray(np.arange(8.0))
    (spec,) = cuda_runtime.plan_specs([xp.sum(x * x)._node])
    ptx, _ = cuda_runtime.compile_ptx(spec)
    assert "shfl.sync.down" in ptx


@needs_ptx
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int8", "uint64", "bool"])
def test_ptx_gemm(dtype):
    # the tiled GEMM's GPU configuration (64x64 tiles, 4x4 per thread) and the batched dot
    from lowering.kernels import cuda_gemm
    flags = {"float32": (False, False, False), "float64": (True, False, True), "int64": (False, True, False),
             "int8": (True, True, False), "uint64": (False, False, True), "bool": (True, False, True)}[dtype]
    ptx, _ = cuda_gemm.compile_ptx(dtype, *flags)
    assert ".entry" in ptx and "ld.shared" in ptx and "bar.sync" in ptx
    assert ".local" not in ptx           # the 4x4 register block stays in registers
    ptx, _ = cuda_gemm.compile_ptx(dtype, kind="dot")
    assert ".entry" in ptx


@needs_ptx
def test_ptx_sparse_kernels():
    # every sparse kernel (SpMV rows/split/combine, SpMV-T and SpMM-T atomics, SpMM, toarray,
    # the counting-sort conversions) for float64 and int32 data; SpMV uses warp shuffles
    from numba import cuda
    from lowering.kernels import sparse_cuda
    names = set()
    for name, kernel, sig in sparse_cuda.ptx_signatures():
        ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(8, 0))
        assert ".entry" in ptx, name
        if name == "spmv_rows":
            assert "shfl.sync.bfly" in ptx
        names.add(name)
    assert {"spmv_rows", "spmv_split", "spmv_combine", "spmv_t", "spmm", "spmm_t", "todense",
            "sort_buckets", "scatter_slots", "compact_sum"} <= names


@needs_ptx
# (three dtype families: floating, narrow integers wrapped from int64 sums, bool; ~20 s each)
@pytest.mark.parametrize("dtype", ["float32", "int8", "bool"])
def test_ptx_conv_kernels(dtype):
    # im2col, the gather col2im, the direct kernel (filter in shared memory, or read from global
    # memory), PAD (every mode) and the correlation of signal's direct method
    from lowering.kernels import conv_cuda, correlate_cuda
    kinds = ["im2col", "col2im", "pad-constant", "pad-reflect"]
    if dtype != "bool":
        kinds += ["direct", "direct-global"]
    if dtype in ("float32", "int8"):
        kinds += ["pad-edge", "pad-wrap", "pad-symmetric"]
    for kind in kinds:
        ptx, _ = conv_cuda.compile_ptx(kind, dtype)
        assert ".entry" in ptx, kind
        if kind == "direct":
            assert "ld.shared" in ptx and "bar.sync" in ptx
    if dtype != "bool":
        ptx, _ = correlate_cuda.compile_ptx(dtype, kernel_dtype="int16" if dtype == "int8" else None)
        assert ".entry" in ptx
