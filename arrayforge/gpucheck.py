"""One-command GPU check: ``python -m arrayforge.gpucheck [--quick] [--no-tests]``.

On a machine with a CUDA GPU that Numba sees, it runs the CUDA test suite
(tests/test_cuda_sim.py, differential against the CPU executor, and tests/test_cuda.py's PTX
tests) on the GPU, then prints the figures issue 15 asks for, each measured against the
GPU's own device-to-device copy bandwidth:

* a 10-op element-wise chain on 1e8 float32 (one fused kernel),
* ``sum((a - b)**2)`` on 1e8 float32 (the map fused into the reduction),
* softmax over rows of 1024 and 4096 float32 (one fused rows kernel),
* complex64 element-wise and ``sum`` on 5e7 elements,
* a new process's time to its first results, compiling, then from the disk cache of PTX,

and says which figures have no GPU path yet (GEMM, SpMV, conv2d).  Without a GPU (or under
the simulator) it says so and exits 0.
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


def _best(fn, repeat):
    fn()
    _sync()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        _sync()
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
    for what in ("GEMM 4096 float32 vs cuBLAS", "SpMV 1e6 rows / 1e7 nonzeros",
                 "conv2d vs PyTorch"):
        print(f"{what}: no CUDA path yet (raises NotImplementedError on GPU arrays)")


def run_tests():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tests = [os.path.join(root, "tests", f) for f in ("test_cuda_sim.py", "test_cuda.py")]
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
    cache_startup()
    return rc


if __name__ == "__main__":
    sys.exit(main())
