"""Compile cost in fresh processes (``timeraw_``) and compile counts (``track_``).

The ``timeraw_`` benchmarks return ``(stmt, setup)`` source strings; asv runs each
sample in a new Python process as ``timeit(stmt, setup, number=1)``, so ``setup``
(imports, inputs, a private kernel cache directory) is not timed and ``stmt`` is the
first evaluation of a small fused expression in that process.
"""
import subprocess
import sys

from .inputs import chain, random_arrays, xp

# The expression the fresh-process benchmarks evaluate: map + reduce, one kernel.
# Note: these strings are pasted into a triple-quoted string by asv; keep them free of
# backslashes and triple quotes.
_N = 100_000
_INPUTS = ("rng = np.random.default_rng(0); "
           "a, b, c = (ns.asarray(rng.random({n})) for _ in range(3))".format(n=_N))
_EXPR = "float(ns.sum((a * b + c) * 0.5 - a / (c + 1.0)))"

_PRIVATE_CACHE = """
import atexit, os, shutil, subprocess, sys, tempfile
cache = tempfile.mkdtemp(prefix="arrayforge-asv-")
atexit.register(shutil.rmtree, cache, True)
os.environ["ARRAYFORGE_CACHE_DIR"] = cache
os.environ["ARRAYFORGE_EXECUTOR"] = "numba"
"""

_IMPORT_ARRAYFORGE = """
import numba
import numpy as np
import arrayforge as ns
"""

# Run in a separate process, so the timed process finds the kernel on disk only.
_POPULATE = "import numpy as np, arrayforge as ns; {inputs}; {expr}".format(inputs=_INPUTS, expr=_EXPR)


def _fresh_process_stats(setup):
    """``xp.cache_info()`` after evaluating the expression in a new process after ``setup``."""
    code = setup + _IMPORT_ARRAYFORGE + _INPUTS + "\n" + _EXPR + "\nprint(repr(ns.cache_info()))\n"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return eval(out.stdout.strip().splitlines()[-1])


class FreshProcess:
    """First evaluation of a small fused expression in a new process.

    ``compile_cold``: empty kernel cache, so code generation and a Numba compile;
    ``compile_warm``: the cache was filled by an earlier process, so a load from disk;
    ``numpy``: the same expression with NumPy in a new process, the floor.
    """

    number = 1
    repeat = (1, 5, 30.0)
    timeout = 120

    def timeraw_compile_cold(self):
        return _EXPR, _PRIVATE_CACHE + _IMPORT_ARRAYFORGE + _INPUTS

    def timeraw_compile_warm(self):
        populate = "subprocess.run([sys.executable, '-c', {code!r}], check=True)\n".format(code=_POPULATE)
        return _EXPR, _PRIVATE_CACHE + populate + _IMPORT_ARRAYFORGE + _INPUTS

    def timeraw_numpy(self):
        return _EXPR, "import numpy as np\nns = np\n" + _INPUTS

    def track_compiled_cold(self):
        """Kernels compiled by a process with an empty cache (expected: 1)."""
        return _fresh_process_stats(_PRIVATE_CACHE)["compiled"]

    def track_compiled_warm(self):
        """Kernels compiled by a process whose cache was filled before (expected: 0)."""
        populate = "subprocess.run([sys.executable, '-c', {code!r}], check=True)\n".format(code=_POPULATE)
        return _fresh_process_stats(_PRIVATE_CACHE + populate)["compiled"]

    track_compiled_cold.unit = "kernels"
    track_compiled_warm.unit = "kernels"


def track_kernels_compiled_new_size():
    """Kernels compiled when a known expression meets a new size (expected: 0).

    Both sizes are above the compile threshold and take the parallel variant, so the
    second evaluation must reuse the first one's kernel: cache keys hold no sizes.
    """
    def run(n):
        a, b = (xp.asarray(v) for v in random_arrays(2, (n,)))
        float(xp.sum((a - b) * (a + 2.5) - b / 3.0))

    run(100_000)
    before = xp.cache_info()["compiled"]
    run(250_001)
    return xp.cache_info()["compiled"] - before


track_kernels_compiled_new_size.unit = "kernels"


def track_kernels_in_plan():
    """Kernels in the plan of the element-wise chain of 13 ops on 1e7 float64 (expected: 1)."""
    inputs = [xp.asarray(v) for v in random_arrays(4, (10**7,))]
    return len(xp.explain(chain(*inputs)).kernels)


track_kernels_in_plan.unit = "kernels"
