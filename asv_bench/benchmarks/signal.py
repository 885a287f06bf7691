"""Convolution, signal family: ``arrayforge.signal`` beside its ``scipy.signal`` twin.

Each class times ours (``time_arrayforge``) and SciPy's (``time_scipy``) on the same inputs,
so the history shows the ratio.  ``asv_bench/measure_signal.py`` prints the issue's figures
in one process.
"""
import numpy as np
import scipy.signal as ss

import arrayforge as xp
from arrayforge import signal

EDGE = np.array([[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]])


def _warm(benchmark, *params, runs=2):
    """Both sides run before timing: ours compiles (or loads) its kernel, both page in buffers."""
    for _ in range(runs):
        benchmark.time_arrayforge(*params)
        benchmark.time_scipy(*params)


class Convolve2DSmallKernel:
    """``convolve2d`` 512x512 float64 with a 3x3 kernel, each mode: the direct parallel kernel
    against SciPy's serial loop (issue target: >= 2x in "same")."""

    params = [["full", "same", "valid"]]
    param_names = ["mode"]

    def setup(self, mode):
        rng = np.random.default_rng(0)
        self.a_np, self.k_np = rng.random((512, 512)), rng.random((3, 3))
        self.a, self.k = xp.asarray(self.a_np), xp.asarray(self.k_np)
        _warm(self, mode)

    def time_arrayforge(self, mode):
        signal.convolve2d(self.a, self.k, mode=mode).compute()

    def time_scipy(self, mode):
        ss.convolve2d(self.a_np, self.k_np, mode=mode)


class EdgeDetection:
    """The edge-detection kernel of EXAMPLES.md section 5 on 512x512 float64, each boundary."""

    params = [["fill", "wrap", "symm"]]
    param_names = ["boundary"]

    def setup(self, boundary):
        rng = np.random.default_rng(1)
        self.a_np = rng.integers(0, 256, (512, 512)).astype(np.float64)
        self.a, self.k = xp.asarray(self.a_np), xp.asarray(EDGE)
        _warm(self, boundary)

    def time_arrayforge(self, boundary):
        signal.convolve2d(self.a, self.k, mode="same", boundary=boundary).compute()

    def time_scipy(self, boundary):
        ss.convolve2d(self.a_np, EDGE, mode="same", boundary=boundary)


class ConvolveAutoLargeKernel:
    """``convolve(method="auto")`` 512x512 float64 with a 15x15 kernel against SciPy's
    ``fftconvolve`` (issue target: no slower)."""

    def setup(self):
        rng = np.random.default_rng(2)
        self.a_np, self.k_np = rng.random((512, 512)), rng.random((15, 15))
        self.a, self.k = xp.asarray(self.a_np), xp.asarray(self.k_np)
        _warm(self)

    def time_arrayforge(self):
        signal.convolve(self.a, self.k, mode="same").compute()

    def time_scipy(self):
        ss.fftconvolve(self.a_np, self.k_np, mode="same")


class FFTConvolve:
    """``fftconvolve`` and ``oaconvolve``: SciPy's algorithm and sizes, pocketfft on all threads."""

    params = [["fftconvolve 512x512 * 31x31", "oaconvolve 1e6 * 513"]]
    param_names = ["case"]

    def setup(self, case):
        rng = np.random.default_rng(3)
        if case.startswith("fft"):
            self.a_np, self.k_np = rng.random((512, 512)), rng.random((31, 31))
            self.ours, self.theirs = signal.fftconvolve, ss.fftconvolve
        else:
            self.a_np, self.k_np = rng.standard_normal(1_000_000), rng.standard_normal(513)
            self.ours, self.theirs = signal.oaconvolve, ss.oaconvolve
        self.a, self.k = xp.asarray(self.a_np), xp.asarray(self.k_np)
        _warm(self, case)

    def time_arrayforge(self, case):
        self.ours(self.a, self.k).compute()

    def time_scipy(self, case):
        self.theirs(self.a_np, self.k_np)


class Convolve1D:
    """``convolve1d`` (numpy.convolve's modes) of 1e6 float64 with a 101-tap filter; the twin
    is ``numpy.convolve``."""

    def setup(self):
        rng = np.random.default_rng(4)
        self.x_np, self.h_np = rng.standard_normal(1_000_000), rng.standard_normal(101)
        self.x, self.h = xp.asarray(self.x_np), xp.asarray(self.h_np)
        _warm(self)

    def time_arrayforge(self):
        signal.convolve1d(self.x, self.h, mode="same").compute()

    def time_scipy(self):
        np.convolve(self.x_np, self.h_np, mode="same")
