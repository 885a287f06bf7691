"""A/B of the CPU hot paths (eager tier, ``_binop``, small-array dispatch) between this
checkout and another commit, interleaved in ONE process (the packages of the other commit
are loaded under other names).  Written for the CUDA back end, which adds a device check to
those paths; it must not make them slower.

    PYTHONPATH=. python asv_bench/measure_host_overhead.py <base-commit> [rounds]

Prints the best time of each case for the base and for this checkout:
TinyOp ``(a + b).compute()`` on 100 float64, ``a * 0.5``, and SmallArrayDispatch's
``float(xp.sum(a*b + c - d*0.5))``.
"""
import os
import re
import subprocess
import sys
import tempfile
import timeit

import numpy as np


def load_base(commit):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tmp = tempfile.mkdtemp(prefix="arrayforge_ab_")
    tar = subprocess.run(["git", "-C", root, "archive", commit, "arrayforge", "lowering"],
                         check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", tmp], input=tar, check=True)
    os.rename(os.path.join(tmp, "arrayforge"), os.path.join(tmp, "arrayforge_base"))
    os.rename(os.path.join(tmp, "lowering"), os.path.join(tmp, "lowering_base"))
    for dirpath, _, files in os.walk(tmp):
        for f in files:
            if f.endswith(".py"):
                p = os.path.join(dirpath, f)
                s = open(p).read()
                s = re.sub(r"\blowering\b", "lowering_base", s)
                s = re.sub(r"\bimport arrayforge\b", "import arrayforge_base as arrayforge", s)
                s = re.sub(r"\bfrom arrayforge\.", "from arrayforge_base.", s)
                open(p, "w").write(s)
    sys.path.insert(0, tmp)
    import arrayforge_base
    return arrayforge_base


def main():
    base = load_base(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    import arrayforge
    rng = np.random.default_rng(0)
    A, B = rng.random(100), rng.random(100)
    cases = {}
    for name, xp in (("base", base), ("this", arrayforge)):
        a, b = xp.asarray(A), xp.asarray(B)
        cases[name] = [lambda a=a, b=b: (a + b).compute(), lambda a=a: a * 0.5,
                       lambda a=a, b=b, xp=xp: float(xp.sum(a * b + a - b * 0.5))]
    for fns in cases.values():
        for f in fns:
            for _ in range(2000):
                f()
    best = {k: [float("inf")] * 3 for k in cases}
    for r in range(rounds):
        for k in (("base", "this") if r % 2 else ("this", "base")):
            for i, f in enumerate(cases[k]):
                t = min(timeit.repeat(f, number=5000, repeat=3)) / 5000 * 1e9
                best[k][i] = min(best[k][i], t)
    print("ns per call (best of", rounds, "interleaved rounds): TinyOp, a*0.5, SmallArrayDispatch")
    for k, v in best.items():
        print(f"{k:5s}", " ".join(f"{t:8.0f}" for t in v))


if __name__ == "__main__":
    main()
