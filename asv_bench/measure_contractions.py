"""Plain timing of the contraction cases of the contractions issue, against NumPy in one process.

    PYTHONPATH=. python asv_bench/measure_contractions.py [repeats]

Prints, per case, the median of ``repeats`` interleaved runs of arrayforge and of NumPy's
twin, their ratio, and the BLAS kernel threadpoolctl reports (this machine's OpenBLAS
environment variables can halve GEMM speed: read ratios against the same library).
"""
import statistics
import sys
import time

import numpy as np

import arrayforge as xp
from benchmarks.contractions import blas_kernel


def cases():
    rng = np.random.default_rng(0)
    out = []
    for dt in (np.float64, np.float32):
        A, B = (rng.random((2048, 2048)).astype(dt) for _ in range(2))
        a, b = xp.asarray(A), xp.asarray(B)
        out.append((f"tensordot axes=1 2048x2048 {np.dtype(dt).name}",
                    lambda a=a, b=b: xp.tensordot(a, b, axes=1).compute(),
                    lambda A=A, B=B: np.tensordot(A, B, axes=1)))
    X, Y = rng.random((64, 256, 256)), rng.random((256, 256, 64))
    x, y = xp.asarray(X), xp.asarray(Y)
    out.append(("tensordot axes=2 (64,256,256)x(256,256,64) float64",
                lambda: xp.tensordot(x, y, axes=2).compute(), lambda: np.tensordot(X, Y, axes=2)))
    v, w = rng.random(2000), rng.random(2000)
    vv, ww = xp.asarray(v), xp.asarray(w)
    out.append(("tensordot axes=0 2000 x 2000 float64",
                lambda: xp.tensordot(vv, ww, axes=0).compute(), lambda: np.tensordot(v, w, axes=0)))
    T = rng.random((10, 10, 10))
    t = xp.asarray(T)
    out.append(("tensordot axes=0 (10,10,10)x(10,10,10) float64",
                lambda: xp.tensordot(t, t, axes=0).compute(), lambda: np.tensordot(T, T, axes=0)))
    A, B = (rng.random((2048, 2048), dtype=np.float32) for _ in range(2))
    bias = rng.random(2048, dtype=np.float32)
    a, b, c = xp.asarray(A), xp.asarray(B), xp.asarray(bias)
    out.append(("relu(A @ B + b) 2048 float32",
                lambda: xp.maximum(a @ b + c, 0.0).compute(), lambda: np.maximum(A @ B + bias, 0.0)))
    I, J = (rng.integers(-1000, 1000, (512, 512)) for _ in range(2))
    i, j = xp.asarray(I), xp.asarray(J)
    out.append(("matmul 512x512 int64", lambda: (i @ j).compute(), lambda: I @ J))
    return out


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    print(f"arrayforge from {xp.__file__}; NumPy {np.__version__}; BLAS: {blas_kernel()}")
    print(f"{'case':<52} {'arrayforge':>12} {'numpy':>12} {'numpy/ours':>11}")
    for name, ours, theirs in cases():
        for _ in range(3):          # compile, page in, fill the buffer pool
            ours()
            theirs()
        t_ours, t_np = [], []
        for _ in range(repeats):    # interleaved, so drifting machine load hits both alike
            t0 = time.perf_counter()
            ours()
            t1 = time.perf_counter()
            theirs()
            t2 = time.perf_counter()
            t_ours.append(t1 - t0)
            t_np.append(t2 - t1)
        mo, mn = statistics.median(t_ours), statistics.median(t_np)
        print(f"{name:<52} {mo * 1e3:10.3f}ms {mn * 1e3:10.3f}ms {mn / mo:10.2f}x")


if __name__ == "__main__":
    main()
