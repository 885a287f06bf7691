"""The tiny-array figures of the hardening issue, against NumPy in one process.

    PYTHONPATH=. python asv_bench/measure_tiny.py [rounds]

``float(xp.sum(xp.sqrt(s*2.0 + 1.0) - s))`` and ``(a + b).compute()`` on 100 float64 elements
beside their NumPy twins (asv: ``elementwise.TinyExpression``/``TinyOp``), interleaved: each
round times every case (best of 3 x 2000 calls) and the best of all rounds is kept, so a busy
moment of a shared machine does not decide the ratio.  Goals: <= 2x and <= 4x NumPy.
"""
import sys
import timeit

import numpy as np

import arrayforge as xp


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    a = np.random.default_rng(0).random(100)
    b = np.random.default_rng(1).random(100)
    s, t = xp.asarray(a), xp.asarray(b)
    cases = {
        "expression": (lambda: float(xp.sum(xp.sqrt(s * 2.0 + 1.0) - s)),
                       lambda: float(np.sum(np.sqrt(a * 2.0 + 1.0) - a)), 2.0),
        "single op": (lambda: (s + t).compute(), lambda: a + b, 4.0),
    }
    best = {name: [float("inf"), float("inf")] for name in cases}
    for fns in cases.values():
        fns[0](), fns[1]()
    for _ in range(rounds):
        for name, (ours, theirs, _) in cases.items():
            for i, fn in enumerate((ours, theirs)):
                us = min(timeit.repeat(fn, number=2000, repeat=3)) / 2000 * 1e6
                best[name][i] = min(best[name][i], us)
    for name, (ours, theirs) in best.items():
        print(f"{name:12s} arrayforge {ours:6.2f} us   numpy {theirs:6.2f} us   "
              f"ratio {ours / theirs:4.2f}x   (goal <= {cases[name][2]:.0f}x)")


if __name__ == "__main__":
    main()
