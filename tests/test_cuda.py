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
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_ptx_complex_gemm_and_conjugation(dtype):
    from numba import cuda
    from numba.core import types
    from numba.np.numpy_support import from_dtype
    from lowering.kernels import contract_cuda, cuda_gemm
    ptx, _ = cuda_gemm.compile_ptx(dtype, True, False)
    assert ".entry" in ptx and ".local" not in ptx
    arr = types.Array(from_dtype(np.dtype(dtype)), 1, "C")
    ptx, _ = cuda.compile_ptx(contract_cuda._conj, (arr, arr), cc=(8, 0))
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


_UNARY_COMPLEX = ["abs", "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "exp", "expm1",
                  "log", "log2", "log10", "negative", "sign", "sin", "sinh", "sqrt", "square", "tan", "tanh",
                  "reciprocal", "conj", "real", "imag", "isnan", "isinf", "isfinite"]


@needs_ptx
# complex128 compiles every complex function (~60 s of PTX); complex64 runs the same helpers in
# float32, so a few of them cover its types (the cold suite's budget)
@pytest.mark.parametrize("dtype, unary", [("complex64", ["exp", "sqrt", "log", "tanh", "reciprocal", "abs"]),
                                          ("complex128", _UNARY_COMPLEX)])
def test_ptx_complex_elementwise_and_reductions(gpu_target, dtype, unary):
    z = xp.asarray((np.linspace(0.1, 0.9, 8) + 1j * np.linspace(-1, 1, 8)).astype(dtype))
    w = xp.asarray((np.linspace(0.2, 0.7, 8) - 0.5j).astype(dtype))
    acc = z
    for name in unary:
        acc = acc + xp.astype(getattr(xp, name)(z), z.dtype)
    for name in ["add", "subtract", "multiply", "divide", "pow", "equal", "not_equal"]:
        acc = acc + xp.astype(getattr(xp, name)(z, w), z.dtype)
    acc = acc + xp.astype(xp.astype(z, xp.complex64), z.dtype) + xp.astype(xp.astype(z, xp.bool), z.dtype) * (2 - 1j)
    acc = xp.astype(xp.astype(xp.real(z), xp.int32), z.dtype) + acc
    _compile_all([acc])
    specs = _compile_all([xp.sum(z * w), xp.prod(z, axis=0), xp.mean(z)])
    ptx, _ = cuda_runtime.compile_ptx(specs[0])
    assert "shfl.sync.down" in ptx          # complex partials shuffle as two real words


def test_gpu_helpers_match_scalar_helpers():
    # the GPU text of lowering.scalar (rewritten where numba.cuda lacks a NumPy function) computes
    # what scalar.py does: its array-free x2y2m1, compiled here for the CPU, on values near the
    # unit circle (where c_log calls it)
    import types
    import lowering.scalar as sc
    from lowering.cuda import render_scalar_helpers
    with open(sc.__file__, encoding="utf-8") as fh:
        source = render_scalar_helpers(fh.read(), "gpu")
    mod = types.ModuleType("arrayforge_kernels.gpu_helpers_check")
    exec(compile(source, "<gpu helpers>", "exec"), mod.__dict__)
    rng = np.random.default_rng(3)
    xs = np.concatenate([rng.uniform(0.5, 1.0, 200), [0.6, 0.8, 1.0, 0.7071067811865476]])
    ys = np.concatenate([np.sqrt(np.abs(1 - xs[:200] ** 2)) * rng.uniform(0.99, 1.01, 200), [0.8, 0.6, 0.0, 0.7071067811865476]])
    for x, y in zip(xs, ys):
        assert mod.x2y2m1(x, y) == sc.x2y2m1(x, y), (x, y)


@needs_ptx
def test_ptx_disk_cache_keyed_by_compute_capability(gpu_target, tmp_path, monkeypatch):
    # a new process loads a kernel's PTX from the disk cache instead of compiling it; the entry
    # is keyed by source, signature and compute capability, and a bad entry is a warning and a
    # recompile (the loading half, PTX -> module, needs a GPU: gpucheck runs it)
    import glob
    import warnings
    from numba import cuda as numba_cuda
    from lowering import cache as kcache
    monkeypatch.setenv("ARRAYFORGE_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(kcache._state, "dir", None)
    monkeypatch.setitem(kcache._state, "usable", None)
    (spec,) = cuda_runtime.plan_specs([(xp.asarray(np.arange(4.0)) * 3.0 + 1.0)._node])
    compiles = []
    real = numba_cuda.compile_ptx
    monkeypatch.setattr(numba_cuda, "compile_ptx", lambda *a, **k: compiles.append(k["cc"]) or real(*a, **k))
    ptx80 = cuda_runtime.kernel_ptx(spec, (8, 0))
    assert compiles == [(8, 0)] and ".entry" in ptx80 and "sm_80" in ptx80
    (path80,) = glob.glob(str(tmp_path / "*" / "k_*.sm80.ptx"))
    assert cuda_runtime.kernel_ptx(spec, (8, 0)) == ptx80 and compiles == [(8, 0)]       # a disk hit
    ptx86 = cuda_runtime.kernel_ptx(spec, (8, 6))
    assert compiles == [(8, 0), (8, 6)] and "sm_86" in ptx86
    path86 = path80.replace("sm80", "sm86")
    os.replace(path80, path86)                    # the sm_80 entry where sm_86's belongs: refused
    with pytest.warns(RuntimeWarning, match="not stored for this kernel"):
        assert "sm_86" in cuda_runtime.kernel_ptx(spec, (8, 6))
    assert compiles[-1] == (8, 6) and len(compiles) == 3
    with open(path86, "r+b") as fh:                 # corrupt (truncated) entry
        fh.truncate(100)
    with pytest.warns(RuntimeWarning, match="corrupt"):
        again = cuda_runtime.kernel_ptx(spec, (8, 6))
    assert len(compiles) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # rewritten: a clean hit again
        assert cuda_runtime.kernel_ptx(spec, (8, 6)) == again and len(compiles) == 4
    # the launchable kernel object made of the PTX (linking and loading it needs a GPU)
    k = cuda_runtime._kernel_from_ptx(again, cuda_runtime.signature(spec), cc=(8, 6, ""))
    assert k.argument_types == cuda_runtime.signature(spec) and k.library.get_asm_str(cc=(8, 6, "")) == again
    assert k.library._entry_name in again


@needs_ptx
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "int32"])
def test_ptx_fused_rows_kernels(gpu_target, dtype):
    # softmax / layer norm / x - max: one kernel each, a warp per row and a block per row
    x = xp.asarray(np.arange(24).reshape(2, 3, 4).astype(dtype))
    if dtype == "float32":
        e = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
        outs = [e / xp.sum(e, axis=-1, keepdims=True)]
    elif dtype == "float64":
        m = xp.mean(x, axis=(1, 2), keepdims=True)
        outs = [(x - m) / xp.sqrt(xp.mean((x - m) ** 2, axis=(1, 2), keepdims=True) + 1e-5), xp.var(x, axis=2)]
    elif dtype == "complex64":
        outs = [x - xp.mean(x, axis=-1, keepdims=True)]
    else:
        outs = [x - xp.max(x, axis=-1, keepdims=True)]
    for o in outs:
        specs = [s for s in cuda_runtime.plan_specs([o._node]) if s.kind == "rows"]
        assert {s.group for s in specs} == {32, 256}
        for spec in specs:
            ptx, _ = cuda_runtime.compile_ptx(spec)
            assert ".entry" in ptx
            if spec.group == 32:        # a warp per row: no barriers, the row in registers (no local memory)
                assert "shfl.sync.bfly" in ptx and "bar.sync" not in ptx and "ld.local" not in ptx
                assert spec.per_thread == 32 and (spec.cached or spec.stash)
