"""The BSR/DIA conversion kernels against SciPy, same process, interleaved timing (the median
of ``--repeats`` alternating runs of each side): ``NUMBA_NUM_THREADS=2 python
asv_bench/measure_sparse_bsr_dia.py [n]`` prints one line per conversion with the ratio."""
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "asv_bench")]      # this checkout's arrayforge and lowering


def main(n=3 * 10**5, repeats=15):
    from benchmarks.sparse import BlockAndDiagonal
    b = BlockAndDiagonal()
    from benchmarks import sparse as bench
    import lowering.kernels.sparse as K
    b.K = K
    b.block_sp, b.bsr_sp, b.band_sp, b.dia_sp = bench._block_and_band(n)
    print(f"{K.__file__}; n = {n}: block CSR nnz {b.block_sp.nnz}, banded nnz {b.band_sp.nnz}")
    for conversion in BlockAndDiagonal.params[0]:
        ours, theirs = [], []
        b.time_arrayforge(conversion)           # compile / warm
        b.time_numpy(conversion)
        for _ in range(repeats):
            t0 = time.perf_counter()
            b.time_arrayforge(conversion)
            t1 = time.perf_counter()
            b.time_numpy(conversion)
            t2 = time.perf_counter()
            ours.append(t1 - t0)
            theirs.append(t2 - t1)
        o, s = np.median(ours) * 1e3, np.median(theirs) * 1e3
        print(f"{conversion:9s} arrayforge {o:8.2f} ms   scipy {s:8.2f} ms   scipy/arrayforge {s / o:5.2f}x")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
