"""Inputs and expressions shared by the benchmark modules.

Each expression is written once, against a namespace argument or with operators
only, so the arrayforge benchmark and its NumPy twin run exactly the same steps.
"""
import numpy as np

import arrayforge as xp
from arrayforge.__main__ import clean_images  # the showcase's pipeline: one definition

WARMUP_RUNS = 3


def random_arrays(count, shape, seed=0):
    """``count`` NumPy float64 arrays of ``shape``, uniform in [0, 1)."""
    rng = np.random.default_rng(seed)
    return [rng.random(shape) for _ in range(count)]


def warm(benchmark, *params, runs=WARMUP_RUNS):
    """Call both timed methods of ``benchmark`` ``runs`` times before timing.

    arrayforge's first call compiles its kernels; later ones page in buffers.  The
    NumPy twin is warmed too, so neither side pays first-touch costs in a sample.
    """
    for _ in range(runs):
        benchmark.time_arrayforge(*params)
        benchmark.time_numpy(*params)


def chain(a, b, c, d):
    """An element-wise chain of 13 operations that fuses into one kernel."""
    return ((a * b + c) * 0.5 - d) * (a + 1.0) + (b - c) * d * 2.0 - a / (d + 1.0)


def row_softmax(ns, x):
    """Numerically stable softmax along axis 1."""
    e = ns.exp(x - ns.max(x, axis=1, keepdims=True))
    return e / ns.sum(e, axis=1, keepdims=True)


__all__ = ["np", "xp", "random_arrays", "warm", "chain", "clean_images", "row_softmax"]
