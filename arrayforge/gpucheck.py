"""One-command GPU check: ``python -m arrayforge.gpucheck [--quick] [--no-tests]``.

On a machine with a CUDA GPU that Numba sees, it runs the CUDA test suite
(tests/test_cuda_sim.py, differential against the CPU executor, and tests/test_cuda.py's PTX
tests) on the GPU, then prints the figures issue 15 asks for, each measured against the
GPU's own device-to-device copy bandwidth:

* a 10-op element-wise chain on 1e8 float32 (one fused kernel),
* ``sum((a - b)**2)`` on 1e8 float32 (the map fused into the reduction),
* GEMM 4096 float32: ``a @ b`` (cuBLAS through CuPy when importable, else the tiled Numba
  kernel) against cuBLAS alone, and the tiled kernel's own figure,
* sparse: SpMV ``A @ x`` on a 1e6-row, 1e7-nonzero float64 CSR (goal >= 0.5 of copy
  bandwidth, counting the bytes of indptr, indices, data, x and y once), the same on
  power-law rows (the nnz-split kernel), ``A.T @ x`` (atomics) and SpMM with 16 columns,
* the convolution issue's cases (asv_bench/measure_conv.py) on the GPU: conv2d
  (32, 64, 56, 56) * (64, 64, 3, 3) float32 (im2col + GEMM) and its fused ``relu(conv + b)``
  epilogue, depthwise 3x3 (the direct kernel), the DCGAN conv_transpose2d (GEMM + col2im), each
  against PyTorch on the same GPU when torch imports with CUDA (true float32: TF32 off, and the
  TF32 default as a second figure), and ``signal.convolve2d`` against the copy bandwidth,
* softmax over rows of 1024 and 4096 float32 (one fused rows kernel),
* complex64 element-wise and ``sum`` on 5e7 elements,
* a new process's time to its first results, compiling, then from the disk cache of PTX.

Without a GPU (or under the simulator) it says so and exits 0.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np


def _sync():
    from numba import cuda
    cuda.synchronize()


def _best(fn, repeat, sync=_sync):
    fn()
    sync()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return min(times)


def copy_bandwidth(n, repeat=10):
    """Bytes per second of a device-to-device copy of ``n`` float32 (read + write)."""
    from numba import cuda
    src = cuda.device_array(n, np.float32)
    dst = cuda.device_array(n, np.float32)
    t = _best(lambda: dst.copy_to_device(src), repeat)
    return 2 * n * 4 / t


def chain10(a, b):
    """Ten element-wise operations on two inputs: one fused kernel."""
    y = a * b + 1.0
    y = y * 0.5 - a
    y = y * y + b
    y = y / (b * b + 2.0)
    y = y - a * 0.25
    return y


def softmax(x):
    import arrayforge as xp
    e = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


_STARTUP = ("import time, numpy as np, arrayforge as xp\n"
            "t = time.perf_counter()\n"
            "x = xp.asarray(np.ones((64, 1024), np.float32), device='cuda')\n"
            "e = xp.exp(x - xp.max(x, axis=-1, keepdims=True))\n"
            "float(xp.sum(e / xp.sum(e, axis=-1, keepdims=True)) + xp.sum((x - 1.0) ** 2))\n"
            "print(time.perf_counter() - t)\n")


def cache_startup():
    """Seconds to first results in a new process: with an empty kernel cache, then with the
    PTX the first process stored (lowering/cache.py)."""
    import tempfile
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, ARRAYFORGE_CACHE_DIR=tmp,
                   PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        times = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", _STARTUP], env=env, capture_output=True, text=True)
            times.append(float(out.stdout.split()[-1]) if out.returncode == 0 else float("nan"))
    print(f"new process, softmax + sum kernels: {times[0]:.2f} s compiling, {times[1]:.2f} s from the "
          "disk cache of PTX")


def figures(n, repeat):
    import arrayforge as xp
    rng = np.random.default_rng(0)
    a = xp.asarray(rng.standard_normal(n, dtype=np.float32), device="cuda")
    b = xp.asarray(rng.standard_normal(n, dtype=np.float32), device="cuda")
    bw = copy_bandwidth(n, repeat)
    print(f"device-to-device copy: {bw / 1e9:8.1f} GB/s ({n:.0e} float32)")
    ops = len(xp.explain(chain10(a, b)).kernels)
    t = _best(lambda: chain10(a, b).compute(), repeat)
    eff = 3 * n * 4 / t / bw
    print(f"10-op chain, {n:.0e} float32: {t * 1e3:8.2f} ms, {3 * n * 4 / t / 1e9:7.1f} GB/s = "
          f"{eff:.2f} of copy bandwidth ({ops} kernel{'s' if ops != 1 else ''}; goal >= 0.7)")
    t = _best(lambda: float(xp.sum((a - b) ** 2)), repeat)
    eff = 2 * n * 4 / t / bw
    print(f"sum((a-b)**2), {n:.0e} float32: {t * 1e3:8.2f} ms, {2 * n * 4 / t / 1e9:7.1f} GB/s = "
          f"{eff:.2f} of copy bandwidth (goal >= 0.7)")
    n_rows = max(n // 1024, 1)
    for width in (1024, 4096):
        if n_rows * 1024 < width:
            continue
        x = xp.reshape(a[:n_rows * 1024], (n_rows * 1024 // width, width))
        t = _best(lambda: softmax(x).compute(), repeat)
        (k,) = xp.explain(softmax(x)).kernels
        eff = 2 * x.size * 4 / t / bw
        print(f"softmax rows of {width}, {x.size:.0e} float32: {t * 1e3:8.2f} ms, {2 * x.size * 4 / t / 1e9:7.1f} GB/s"
              f" = {eff:.2f} of copy bandwidth ({k.kind} kernel, {k.variant}; goal >= 0.7)")
    m = n // 2
    z = xp.astype(a[:m], xp.complex64) * (1 - 2j) + b[:m]
    w = (xp.astype(b[:m], xp.complex64) - 0.5j).compute()
    z = z.compute()
    t = _best(lambda: (z * w + z / (w + 1.0)).compute(), repeat)
    print(f"complex64 z*w + z/(w+1), {m:.0e} elements: {t * 1e3:8.2f} ms, {3 * m * 8 / t / 1e9:7.1f} GB/s = "
          f"{3 * m * 8 / t / bw:.2f} of copy bandwidth")
    t = _best(lambda: complex(xp.sum(z * w)), repeat)
    print(f"complex64 sum(z*w), {m:.0e} elements: {t * 1e3:8.2f} ms, {2 * m * 8 / t / 1e9:7.1f} GB/s = "
          f"{2 * m * 8 / t / bw:.2f} of copy bandwidth")
    host = np.asarray(chain10(a[:1000], b[:1000]))
    ref = np.asarray(chain10(a[:1000].to_device("cpu"), b[:1000].to_device("cpu")))
    print(f"chain agrees with the CPU executor: {bool(np.allclose(host, ref, rtol=1e-5, atol=1e-6))}")
    gemm_figures(4096, repeat)
    sparse_figures(10**5 if n < 10**8 else 10**6, repeat, bw)


def gemm_figures(n, repeat):
    """GEMM n x n float32: ``a @ b`` on device arrays (the routine explain() names) against
    cuBLAS alone (CuPy's matmul on the same buffers: the must-show is within 1.1x of it), and
    the tiled Numba kernel on its own (the path without CuPy)."""
    import arrayforge as xp
    from lowering.kernels import cuda_gemm
    from numba import cuda
    rng = np.random.default_rng(0)
    a = xp.asarray(rng.standard_normal((n, n), dtype=np.float32), device="cuda")
    b = xp.asarray(rng.standard_normal((n, n), dtype=np.float32), device="cuda")
    flops = 2 * n ** 3
    variant = xp.explain(a @ b).kernels[0].variant
    ours = _best(lambda: (a @ b).compute(), repeat)
    print(f"GEMM {n} float32, a @ b ({variant}): {ours * 1e3:8.2f} ms, {flops / ours / 1e12:6.1f} TFLOP/s")
    da, db = cuda.as_cuda_array(a), cuda.as_cuda_array(b)
    A, B = da.reshape((1, n, n)), db.reshape((1, n, n))
    out = cuda.device_array((1, n, n), np.float32)
    tiled = _best(lambda: cuda_gemm.gemm(A, B, out, variant="tiled"), repeat)
    print(f"GEMM {n} float32, tiled Numba kernel: {tiled * 1e3:8.2f} ms, {flops / tiled / 1e12:6.1f} TFLOP/s")
    if not cuda_gemm.cublas_available():
        print("cuBLAS: CuPy is not importable (pip install cupy-cuda12x, the cuda extra): no reference")
        return
    import cupy
    ca, cb = cupy.asarray(a), cupy.asarray(b)
    cc = cupy.empty((n, n), cupy.float32)
    ref = _best(lambda: cupy.matmul(ca, cb, out=cc), repeat)
    print(f"GEMM {n} float32, cuBLAS alone (CuPy): {ref * 1e3:8.2f} ms, {flops / ref / 1e12:6.1f} TFLOP/s; "
          f"a @ b / cuBLAS = {ours / ref:.2f}x (goal <= 1.1), tiled / cuBLAS = {tiled / ref:.2f}x")
    got = np.asarray((a[:256] @ b[:, :256]).to_device("cpu"))
    want = np.asarray(a[:256].to_device("cpu")) @ np.asarray(b[:, :256].to_device("cpu"))
    print(f"GEMM agrees with the host: {bool(np.allclose(got, want, rtol=1e-3, atol=1e-3))}")


def sparse_matrix(m, per_row, skewed=False, seed=0):
    """A CSR (SciPy) of ``m`` x ``m`` with ``m * per_row`` float64 nonzeros at random columns:
    ``per_row`` in every row, or power-law row lengths (``skewed``: Zipf, a few rows holding
    thousands of entries)."""
    import scipy.sparse as sps
    rng = np.random.default_rng(seed)
    nnz = m * per_row
    if skewed:
        w = 1.0 / np.arange(1, m + 1) ** 0.9
        lengths = rng.multinomial(nnz, w / w.sum())
        rng.shuffle(lengths)
    else:
        lengths = np.full(m, per_row)
    indptr = np.zeros(m + 1, np.int32)
    np.cumsum(lengths, out=indptr[1:])
    cols = rng.integers(0, m, nnz, dtype=np.int32)
    return sps.csr_array((rng.standard_normal(nnz), cols, indptr), shape=(m, m))


def sparse_figures(m, repeat, bw):
    """SpMV and SpMM on the GPU against the copy bandwidth ``bw`` (bytes/s)."""
    import arrayforge as xp
    from arrayforge import sparse
    from lowering import cuda_runtime as cr
    from lowering.kernels import sparse_cuda
    rng = np.random.default_rng(1)
    for skewed in (False, True):
        S = sparse_matrix(m, 10, skewed)
        A = sparse.from_scipy(S, device="cuda")
        x_host = rng.standard_normal(m)
        x = xp.asarray(x_host, device="cuda")
        variant = A._indptr.spmv_plan()
        ip, ix, d = A._indptr.array, A._indices.array, A.data.compute()._node.buffer
        xb = x._node.buffer
        y = cr.pool.empty((m,), np.float64)
        nbytes = (m + 1) * 4 + S.nnz * 12 + 2 * m * 8
        label = f"SpMV {m:.0e} rows, {S.nnz:.0e} nonzeros{' (power-law rows)' if skewed else ''}, {variant}"
        t = _best(lambda: sparse_cuda.matmul(False, variant[0], variant[1], ip, ix, d, xb, y), repeat)
        print(f"{label}: kernel {t * 1e3:7.3f} ms = {nbytes / t / bw:.2f} of copy bandwidth"
              f"{'' if skewed else ' (goal >= 0.5)'}")
        t2 = _best(lambda: (A @ x).compute(), repeat)
        print(f"    A @ x end to end (record, plan, launch): {t2 * 1e3:7.3f} ms = {nbytes / t2 / bw:.2f}")
        ok = np.allclose(np.asarray(A @ x), S @ x_host, rtol=1e-10, atol=1e-10)
        print(f"    agrees with SciPy: {ok}")
        if skewed:
            continue
        t = _best(lambda: sparse_cuda.matmul(True, variant[0], variant[1], ip, ix, d, xb, y), repeat)
        print(f"SpMV-T (A.T @ x, atomics): kernel {t * 1e3:7.3f} ms = {nbytes / t / bw:.2f} of copy bandwidth")
        k = 16
        X_host = rng.standard_normal((m, k))
        X = xp.asarray(X_host, device="cuda")
        Y = cr.pool.empty((m, k), np.float64)
        nb = (m + 1) * 4 + S.nnz * 12 + 2 * m * k * 8
        t = _best(lambda: sparse_cuda.matmul(False, variant[0], variant[1], ip, ix, d, X._node.buffer, Y),
                  repeat)
        ok = np.allclose(np.asarray(A @ X), S @ X_host, rtol=1e-10, atol=1e-10)
        print(f"SpMM A @ X ({k} columns): kernel {t * 1e3:7.3f} ms = {nb / t / bw:.2f} of copy bandwidth; "
              f"agrees with SciPy: {ok}")


def _torch_cuda():
    """torch when it imports and sees this GPU, else None."""
    try:
        import torch
        return torch if torch.cuda.is_available() else None
    except Exception:       # (a CPU wheel, or a CUDA wheel without its libraries)
        return None


def _vs_torch(torch, ours, fn, repeat, goal=None):
    """Print torch's time for ``fn`` (true float32, then TF32 allowed) beside ``ours`` (s)."""
    if torch is None:
        print("   torch: not importable with CUDA here")
        return
    for tf32 in (False, True):
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        t = _best(fn, repeat, torch.cuda.synchronize)
        what = "TF32 allowed (torch's default)" if tf32 else "float32 (TF32 off)"
        need = f"; goal >= {goal}" if goal is not None and not tf32 else ""
        print(f"   torch {what}: {t * 1e3:8.3f} ms: ours has {t / ours:.2f}x torch's throughput{need}")
    torch.backends.cudnn.allow_tf32 = True


def conv_figures(repeat, tiny=False):
    """The convolution issue's cases (asv_bench/measure_conv.py) on the GPU, vs PyTorch
    (``tiny``: small shapes, to check this function under the simulator)."""
    import arrayforge as xp
    from arrayforge import nn, signal
    from lowering.kernels import cuda_gemm
    torch = _torch_cuda()
    F = torch.nn.functional if torch is not None else None
    rng = np.random.default_rng(0)
    n, c, h = (2, 6, 5) if tiny else (32, 64, 56)
    X = rng.standard_normal((n, c, h, h), dtype=np.float32)
    W = rng.standard_normal((c, c, 3, 3), dtype=np.float32) * 0.05
    B = rng.standard_normal(c, dtype=np.float32)
    Wd = rng.standard_normal((c, 1, 3, 3), dtype=np.float32)
    x, w, b, wd = (xp.asarray(a, device="cuda") for a in (X, W, B, Wd))
    flops = 2 * n * c * h * h * c * 9
    conv = lambda: nn.conv2d(x, w, padding=1).compute()                           # noqa: E731
    fused = lambda: nn.relu(nn.conv2d(x, w, padding=1) + b[:, None, None]).compute()  # noqa: E731
    got = np.asarray(nn.conv2d(x[:2], w, padding=1))
    ref = np.asarray(nn.conv2d(xp.asarray(X[:2]), xp.asarray(W), padding=1))
    err = float(np.abs(got - ref).max() / np.abs(ref).max())
    plan = xp.explain(nn.relu(nn.conv2d(x, w, padding=1) + b[:, None, None])).kernels
    print(f"\nconv2d {X.shape} * {W.shape}, padding 1, float32: {plan[0].variant}, GEMM "
          f"{cuda_gemm.routine(np.float32)}; max relative |gpu - cpu| = {err:.1e}")
    t = _best(conv, repeat)
    print(f"   arrayforge {t * 1e3:8.3f} ms ({flops / t / 1e12:.2f} TFLOP/s)")
    tf = _best(fused, repeat)
    print(f"   relu(conv2d + b) {tf * 1e3:8.3f} ms = {tf / t:.3f} x the conv alone "
          f"({len(plan)} kernels: {', '.join(k.kind for k in plan)}; goal <= 1.15)")
    if torch is not None:
        tx, tw = torch.as_tensor(X, device="cuda"), torch.as_tensor(W, device="cuda")
        _vs_torch(torch, t, lambda: F.conv2d(tx, tw, padding=1), repeat, goal=0.5)
    else:
        _vs_torch(None, t, None, repeat)

    t = _best(lambda: nn.conv2d(x, wd, padding=1, groups=c).compute(), repeat)
    bw = copy_bandwidth(X.size, repeat)
    print(f"\ndepthwise 3x3 (groups={c}), same tensor: {xp.explain(nn.conv2d(x, wd, padding=1, groups=c)).kernels[0].variant}"
          f" {t * 1e3:8.3f} ms = {2 * X.nbytes / t / bw:.2f} of copy bandwidth (input + output)")
    if torch is not None:
        twd = torch.as_tensor(Wd, device="cuda")
        _vs_torch(torch, t, lambda: F.conv2d(tx, twd, padding=1, groups=c), repeat)

    Z = rng.standard_normal((2, 4, 3, 3) if tiny else (32, 128, 16, 16), dtype=np.float32)
    Wt = rng.standard_normal((Z.shape[1], Z.shape[1] // 2, 4, 4), dtype=np.float32) * 0.05
    z, wt = xp.asarray(Z, device="cuda"), xp.asarray(Wt, device="cuda")
    t = _best(lambda: nn.conv_transpose2d(z, wt, stride=2, padding=1).compute(), repeat)
    print(f"\nDCGAN conv_transpose2d {Z.shape} * {Wt.shape}, stride 2, padding 1: "
          f"{t * 1e3:8.3f} ms (GEMM + gather col2im)")
    if torch is not None:
        tz, twt = torch.as_tensor(Z, device="cuda"), torch.as_tensor(Wt, device="cuda")
        _vs_torch(torch, t, lambda: F.conv_transpose2d(tz, twt, stride=2, padding=1), repeat)

    side = 12 if tiny else 4096
    img = xp.asarray(rng.standard_normal((side, side), dtype=np.float32), device="cuda")
    k = xp.asarray(rng.standard_normal((5, 5), dtype=np.float32), device="cuda")
    t = _best(lambda: signal.convolve2d(img, k, mode="same", boundary="symm").compute(), repeat)
    print(f"\nsignal.convolve2d {side}x{side} float32, 5x5, 'same', boundary 'symm': {t * 1e3:8.3f} ms "
          f"= {2 * img.size * 4 / t / bw:.2f} of copy bandwidth (pad + direct kernel)")


def run_tests():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tests = [os.path.join(root, "tests", f)
             for f in ("test_cuda_sim.py", "test_cuda_gemm_sim.py", "test_cuda_sparse_sim.py",
                       "test_cuda_conv_sim.py", "test_cuda.py")]
    if not all(os.path.exists(t) for t in tests):
        print("tests/ not found next to the package: run this from a source checkout to run the tests")
        return 0
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    print("running the CUDA tests on the GPU:", " ".join(os.path.relpath(t, root) for t in tests))
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                           cwd=root, env=env)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m arrayforge.gpucheck", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1e7 elements instead of 1e8")
    parser.add_argument("--no-tests", action="store_true", help="only the figures")
    args = parser.parse_args(argv)
    from lowering import cuda_runtime
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or not cuda_runtime.available():
        print("arrayforge.gpucheck: no CUDA GPU visible to Numba (or the simulator is on); "
              "nothing to check here. The simulator suite runs in the ordinary tests "
              "(tests/test_cuda.py).")
        return 0
    from numba import cuda
    dev = cuda.get_current_device()
    print(f"GPU: {dev.name.decode() if isinstance(dev.name, bytes) else dev.name}, "
          f"compute capability {dev.compute_capability}")
    rc = 0 if args.no_tests else run_tests()
    figures(10**7 if args.quick else 10**8, 5 if args.quick else 10)
    conv_figures(5 if args.quick else 10)
    cache_startup()
    return rc


if __name__ == "__main__":
    sys.exit(main())
