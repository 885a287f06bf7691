"""Out-of-core: ``sum((a - b)**2)`` over more data than this machine's RAM, on a Dask
LocalCluster whose chunks are arrayforge arrays.

    python -m arrayforge.examples.dask_outofcore                    # 3e9 float64 elements (a and b 24 GB each)
    python -m arrayforge.examples.dask_outofcore --elements 1e8     # a quick run
    python -m arrayforge.examples.dask_outofcore --compare-numpy    # the same graph with NumPy chunks too

``a`` and ``b`` are generated chunk by chunk from the element index (a 64-bit multiplicative hash,
uniform in [0, 1)), so no chunk exists before its task runs and no process ever holds more than a
few chunks.  With arrayforge chunks, each task's generation, ``(a - b)**2`` and partial sum are
one fused kernel (Dask's blockwise fusion hands the chain to arrayforge in one task, and the
partial sum computes it); with NumPy chunks, each step is a pass over memory.  The script prints
Dask's progress bar, the dashboard address, the result, each worker's peak resident memory and
the wall time.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

def generate(xp, start, stop, seed):
    """Chunk ``[start, stop)`` of a uniform [0, 1) vector, written against namespace ``xp``:
    SplitMix64's finaliser of the element index (uint64 arithmetic wraps modulo 2**64 in NumPy
    and arrayforge alike), so every chunk is reproducible anywhere and ``seed`` picks the vector."""
    h = (xp.arange(start, stop, dtype=xp.uint64) + seed * 2**40) * 0x9E3779B97F4A7C15
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9
    h = (h ^ (h >> 27)) * 0x94D049BB133111EB
    h = h ^ (h >> 31)
    return xp.astype(h >> 11, xp.float64) * 2.0 ** -53


def _block(namespace, seed, block_info=None):
    import importlib
    xp = importlib.import_module(namespace)
    start, stop = block_info[None]["array-location"][0]
    return generate(xp, start, stop, seed)


def vectors(n, chunk, namespace):
    """The lazy Dask vectors ``a`` and ``b`` with ``namespace`` ("arrayforge" or "numpy") chunks."""
    import dask.array as da
    import importlib
    xp = importlib.import_module(namespace)
    chunks = ((chunk,) * (n // chunk) + ((n % chunk,) if n % chunk else ()),)
    meta = xp.empty((0,), dtype=xp.float64)
    a = da.map_blocks(_block, namespace, 1, chunks=chunks, dtype=np.float64, meta=meta)
    b = da.map_blocks(_block, namespace, 2, chunks=chunks, dtype=np.float64, meta=meta)
    return a, b


def sum_squared_difference(n, chunk, namespace):
    a, b = vectors(n, chunk, namespace)
    return ((a - b) ** 2).sum()


def _peak_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(client, n, chunk, namespace, show_progress=True):
    from dask.distributed import progress
    total = sum_squared_difference(n, chunk, namespace)
    t0 = time.perf_counter()
    future = client.compute(total)
    if show_progress:
        progress(future)
        print()
    value = future.result()
    return float(np.asarray(value)), time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=float, default=3e9)
    parser.add_argument("--chunk", type=float, default=2.5e7, help="elements per chunk")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--compare-numpy", action="store_true", help="run the graph with NumPy chunks too")
    args = parser.parse_args(argv)
    n, chunk = int(args.elements), int(args.chunk)

    from dask.distributed import Client, LocalCluster
    # One thread per worker process, and one Numba thread per worker: the workers are the parallelism.
    env = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      memory_limit="6GB", env=env, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        print(f"Dask dashboard: {client.dashboard_link}")
        print(f"sum((a - b)**2) over {n:.3g} float64 elements per vector "
              f"({n * 8 / 1e9:.1f} GB each), chunks of {chunk:.3g}, {args.workers} worker processes")
        client.run(lambda: __import__("arrayforge"))           # import (and warm) before timing
        run(client, min(n, 4 * chunk), chunk, "arrayforge", show_progress=False)   # compile once
        ours, t_ours = run(client, n, chunk, "arrayforge")
        peaks = client.run(_peak_rss_mb)
        print(f"arrayforge chunks: {ours!r} in {t_ours:.1f} s; "
              f"peak resident memory per worker: "
              + ", ".join(f"{mb / 1024:.2f} GB" for mb in peaks.values()))
        if args.compare_numpy:
            ref, t_ref = run(client, n, chunk, "numpy")
            print(f"NumPy chunks:      {ref!r} in {t_ref:.1f} s")
            print(f"relative difference {abs(ours - ref) / abs(ref):.2e}; "
                  f"arrayforge chunks are {t_ref / t_ours:.2f}x faster")
        expected = n / 6.0         # E[(a - b)^2] = 1/6 for independent uniforms
        print(f"(expected about {expected:.6g} for uniform a, b)")


if __name__ == "__main__":
    main()
