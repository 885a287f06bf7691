"""Plain timing of the figures of the convolution issue (signal family), against SciPy in one process.

    NUMBA_NUM_THREADS=2 PYTHONPATH=. python asv_bench/measure_signal.py [repeats [case-substring]]

Prints, per case, the median of ``repeats`` timed runs of arrayforge and of SciPy's twin and
their ratio (SciPy's time / ours), measured interleaved (ours and SciPy's alternate, each timed
call after two untimed ones of the same side).  Then the textbook checks, and the direct/FFT
crossover that ``method="auto"`` relies on (``choose_conv_method``'s choice beside both timings).
"""
import os
import statistics
import sys
import time

import numpy as np
import scipy.signal as ss

import arrayforge as xp
from arrayforge import signal


def cases():
    rng = np.random.default_rng(0)
    A = rng.random((512, 512))
    K3, K15 = rng.random((3, 3)), rng.random((15, 15))
    a, k3, k15 = xp.asarray(A), xp.asarray(K3), xp.asarray(K15)
    edge = np.array([[-1.0, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    e = xp.asarray(edge)
    x = rng.standard_normal(1_000_000)
    h = rng.standard_normal(101)
    xv, hv = xp.asarray(x), xp.asarray(h)
    return [
        ("convolve2d 512x512 f64, 3x3, same (target >= 2x)",
         lambda: signal.convolve2d(a, k3, mode="same").compute(), lambda: ss.convolve2d(A, K3, mode="same")),
        ("convolve 512x512 f64, 15x15, same, auto vs fftconvolve (target >= 1x)",
         lambda: signal.convolve(a, k15, mode="same").compute(), lambda: ss.fftconvolve(A, K15, mode="same")),
        ("convolve 512x512 f64, 15x15, same, auto vs scipy auto",
         lambda: signal.convolve(a, k15, mode="same").compute(), lambda: ss.convolve(A, K15, mode="same")),
        ("fftconvolve 512x512 f64, 15x15, same",
         lambda: signal.fftconvolve(a, k15, mode="same").compute(), lambda: ss.fftconvolve(A, K15, mode="same")),
        ("edge detection convolve2d 512x512, symm",
         lambda: signal.convolve2d(a, e, mode="same", boundary="symm").compute(),
         lambda: ss.convolve2d(A, edge, mode="same", boundary="symm")),
        ("abs(convolve2d(a, edge, same)) * 2 (fused epilogue)",
         lambda: (xp.abs(signal.convolve2d(a, e, mode="same")) * 2.0).compute(),
         lambda: np.abs(ss.convolve2d(A, edge, mode="same")) * 2.0),
        ("convolve 1e6 x 101 f64 auto",
         lambda: signal.convolve(xv, hv).compute(), lambda: ss.convolve(x, h)),
        ("oaconvolve 1e6 x 101 f64",
         lambda: signal.oaconvolve(xv, hv).compute(), lambda: ss.oaconvolve(x, h)),
    ]


def _medians(ours, theirs, repeats):
    t_ours, t_sp = [], []
    for r in range(repeats):
        for fn, times in ((ours, t_ours), (theirs, t_sp))[::1 if r % 2 else -1]:
            fn()
            fn()
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(t_ours), statistics.median(t_sp)


def textbook():
    A = np.arange(1.0, 10.0).reshape(3, 3)
    K = np.array([[1.0, 2.0], [3.0, 4.0]])
    print("\ntextbook: 3x3 A, 2x2 K")
    for mode in ("full", "same", "valid"):
        got = np.asarray(signal.convolve2d(xp.asarray(A), xp.asarray(K), mode=mode))
        ok = np.array_equal(got, ss.convolve2d(A, K, mode=mode))
        print(f"  convolve2d mode={mode:<5} shape {got.shape}: equals scipy: {ok}")
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (64, 64)).astype(np.float64)
    edge = np.array([[-1.0, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    ok = np.allclose(np.asarray(signal.convolve2d(xp.asarray(img), xp.asarray(edge))), ss.convolve2d(img, edge))
    print(f"  edge detection kernel equals scipy.signal.convolve2d: {ok}")


def crossover(repeats):
    rng = np.random.default_rng(2)
    A = rng.random((512, 512))
    a = xp.asarray(A)
    print("\ndirect/FFT crossover on 512x512 float64, mode same (ms; 'auto' = choose_conv_method's choice)")
    print(f"{'kernel':>7} {'direct':>9} {'fft':>9} {'scipy fft':>10}  auto")
    for n in (3, 5, 7, 9, 11, 13, 15, 19, 25):
        K = rng.random((n, n))
        k = xp.asarray(K)
        t_d, t_f = _medians(lambda: signal.convolve(a, k, "same", method="direct").compute(),
                            lambda: signal.convolve(a, k, "same", method="fft").compute(), repeats)
        t_s = _medians(lambda: ss.fftconvolve(A, K, "same"), lambda: None, repeats)[0]
        print(f"{n:>4}x{n:<2} {t_d * 1e3:9.2f} {t_f * 1e3:9.2f} {t_s * 1e3:10.2f}  "
              f"{signal.choose_conv_method(a, k, 'same')}")


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    print(f"arrayforge from {xp.__file__}; NumPy {np.__version__}; "
          f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'unset')}")
    print(f"{'case':<72} {'ours ms':>9} {'scipy ms':>9} {'ratio':>6}")
    for name, ours, theirs in cases():
        if only and only not in name:
            continue
        ours()      # compile / load the kernels once
        t_o, t_s = _medians(ours, theirs, repeats)
        print(f"{name:<72} {t_o * 1e3:9.3f} {t_s * 1e3:9.3f} {t_s / t_o:6.2f}")
    if not only:
        textbook()
        crossover(max(3, repeats // 2))


if __name__ == "__main__":
    main()
