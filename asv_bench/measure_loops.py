"""Loop memory and fusion (issue 11): ``x = x + 1``, ``x = x*0.5 + 1`` and the same with a
``float(x[0])`` every 100 steps, at 1e5 float64 elements, on the default executor.

    python asv_bench/measure_loops.py add|affine|affine_probe [steps]

Prints, at each fifth of the loop, the elapsed seconds and the RSS growth (MB) since the
loop started (the first mark includes Numba's first compile in the process and the
compile of the 256-op kernel), the number of realizations and the most kernels any one
of them ran.
"""
import sys
import time

import arrayforge as xp
from lowering import runtime


def rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024


def main(which, steps):
    kernels = []
    original = runtime.get_plan

    def get_plan(outputs):
        plan = original(outputs)
        kernels.append(len(plan[2].kernels))
        return plan
    runtime.get_plan = get_plan
    x = xp.zeros(100_000)
    float(x[0])
    kernels.clear()
    start, t0, marks = rss_mb(), time.perf_counter(), []
    for i in range(steps):
        if which == "add":
            x = x + 1
        else:
            x = x * 0.5 + 1
            if which == "affine_probe" and i % 100 == 0:
                float(x[0])
        if (i + 1) % (steps // 5) == 0:
            marks.append((i + 1, round(time.perf_counter() - t0, 2), round(rss_mb() - start, 1)))
    x.compute()
    print(f"{which} {steps}: (step, s, RSS growth MB) {marks}; {len(kernels)} realizations, "
          f"at most {max(kernels)} kernel(s) each; x[0] = {float(x[0])}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
