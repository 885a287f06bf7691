"""Plain timing of the contraction cases of the contractions issue, against NumPy in one process.

    PYTHONPATH=. python asv_bench/measure_contractions.py [repeats [case-substring]]

Prints, per case, the median of ``repeats`` timed runs of arrayforge and of NumPy's twin and
their ratio (NumPy's time / ours), in two regimes (see ``main``), and the BLAS kernel that
threadpoolctl reports (this machine's OpenBLAS environment variables can halve GEMM speed:
read ratios against the same library).
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


def _medians(ours, theirs, repeats, settle):
    """Medians of ``repeats`` timed calls of each side, alternating which side goes first;
    each timed call follows untimed calls of the same side for ``settle`` seconds (two at least)."""
    t_ours, t_np = [], []
    for r in range(repeats):
        for fn, times in ((ours, t_ours), (theirs, t_np))[::1 if r % 2 else -1]:
            if settle:
                fn()
                fn()
                end = time.perf_counter() + settle
                while time.perf_counter() < end:
                    fn()
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return t_ours, t_np


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    print(f"arrayforge from {xp.__file__}; NumPy {np.__version__}; BLAS: {blas_kernel()}")
    print("steady: each timed call follows 0.15 s (two calls at least) of untimed calls of the same side\n"
          "(a program repeating one step: the other library's idle threads have settled);\n"
          "back-to-back: ours and NumPy's strictly alternate (after a BLAS call OpenBLAS's idle worker\n"
          "spins for a while and takes one of the two cores from the next parallel kernel, ours or NumPy's)")
    print("pairs: in the back-to-back regime, the median of the per-pair ratios and how many pairs we won\n"
          "(a GEMM-bound case differs by less than the noise of one GEMM; the pairs show the sign)")
    print(f"{'case':<52} {'ours':>10} {'numpy':>10} {'ratio':>6}   {'ours':>10} {'numpy':>10} {'ratio':>6}"
          f"   {'pairs':>13}")
    print(f"{'':<52} {'steady':^28}   {'back-to-back':^28}")
    for name, ours, theirs in cases():
        if only not in name:
            continue
        for _ in range(3):          # compile, page in, fill the buffer pool
            ours()
            theirs()
        row = [name]
        for settle in (0.15, 0):
            to, tn = _medians(ours, theirs, repeats, settle)
            mo, mn = statistics.median(to), statistics.median(tn)
            row.append(f"{mo * 1e3:8.3f}ms {mn * 1e3:8.3f}ms {mn / mo:5.2f}x")
        pairs = [n / o for o, n in zip(to, tn)]
        row.append(f"{statistics.median(pairs):5.3f}x {sum(p > 1 for p in pairs):2d}/{len(pairs)}")
        print(f"{row[0]:<52} {row[1]}   {row[2]}   {row[3]}", flush=True)


if __name__ == "__main__":
    main()
