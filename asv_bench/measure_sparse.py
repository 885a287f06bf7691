"""Plain timing of the sparse-kernel figures of the sparse issue, against SciPy in one process.

    NUMBA_NUM_THREADS=2 PYTHONPATH=. python asv_bench/measure_sparse.py [repeats [case-substring]]

Prints, per case, the median of ``repeats`` timed runs of arrayforge and of SciPy's twin
(interleaved, alternating which goes first, each after a pause and one untimed call) and the ratio (SciPy's time / ours), beside the
target of the issue.  Products go through the lazy front end (``arrayforge.sparse`` when it
exists, else the recording functions of ``arrayforge/sparse/_products.py``) and ``.compute()``;
conversions and SpGEMM call ``lowering.kernels.sparse`` directly (what the classes call).
Every case first checks that both sides agree.  The CPU columns (process time, all
threads) tell a busy shared machine from a slow kernel: when ours' wall time is close to
its CPU time with 2 threads, the second thread did not get a core.
"""
import statistics
import sys
import time

import numpy as np
import scipy.sparse as sp

import arrayforge as xp
from arrayforge.sparse import _products as P
from lowering.kernels import sparse as K


def _matrix(n, nnz, kind, seed=0, dtype=np.float64):
    """An n x n CSR matrix with about ``nnz`` entries: "uniform" rows or "power-law" rows
    (row = n * u**3: the first rows hold ~1% of the entries each)."""
    rng = np.random.default_rng(seed)
    u = rng.random(nnz)
    rows = (u * n).astype(np.int64) if kind == "uniform" else (u ** 3 * n).astype(np.int64)
    cols = rng.integers(0, n, nnz)
    data = rng.standard_normal(nnz).astype(dtype)
    A = sp.csr_array((data, (rows, cols)), shape=(n, n))
    A.sum_duplicates()
    # int32 indices, as scipy.sparse.random_array and arrayforge's constructors give at these
    # sizes (SciPy keeps the int64 of the triplets here); both sides get these same arrays
    A.indices, A.indptr = A.indices.astype(np.int32), A.indptr.astype(np.int32)
    return A


def _spmv(A, x):
    ip, ix, d = A.indptr, A.indices, xp.asarray(A.data)
    xv = xp.asarray(x)
    return lambda: P.compressed_dense_matmul("csr", A.shape, ip, ix, d, xv).compute()


def cases(which=""):
    out = []
    rng = np.random.default_rng(1)
    n, nnz = 10**6, 10**7
    if "spmv" in which or "spmm" in which or not which:
        for kind in ("uniform", "power-law"):
            A = _matrix(n, nnz, kind)
            x = rng.standard_normal(n)
            out.append((f"SpMV 1e6x1e6 1e7 nnz {kind} rows (max row {np.diff(A.indptr).max()})",
                        1.5, _spmv(A, x), lambda A=A, x=x: A @ x))
            if kind == "uniform":
                X = rng.standard_normal((n, 16))
                Xv = xp.asarray(X)
                d = xp.asarray(A.data)
                out.append(("SpMM 1e6x1e6 1e7 nnz @ (1e6, 16)", 2.5,
                            lambda A=A, d=d: P.compressed_dense_matmul("csr", A.shape, A.indptr, A.indices,
                                                                       d, Xv).compute(),
                            lambda A=A: A @ X))
                C = A.tocsc()
                dc = xp.asarray(C.data)
                xv = xp.asarray(x)
                out.append(("CSC SpMV (A.T-style scatter) 1e6x1e6 1e7 nnz", None,
                            lambda C=C, dc=dc: P.compressed_dense_matmul("csc", C.shape, C.indptr, C.indices,
                                                                         dc, xv).compute(),
                            lambda C=C, x=x: C @ x))
    if "spgemm" in which or not which:
        B = _matrix(10**5, 10**6, "uniform", seed=2)

        def ours(B=B):
            tp, ti, td = K.compressed_transpose(B.indptr, B.indices, B.data, B.shape[1])
            return K.spgemm(B.indptr, B.indices, B.data, tp, ti, td, B.shape[0])
        out.append(("SpGEMM A @ A.T 1e5x1e5 1e6 nnz", 1.5, ours, lambda B=B: B @ B.T))
    if "convert" in which or not which:
        r = rng.integers(0, n, nnz)
        c = rng.integers(0, n, nnz)
        dup = rng.random(nnz) < 0.1                   # ~10% of the entries repeat another one
        src = rng.integers(0, nnz, int(dup.sum()))
        r[dup], c[dup] = r[src], c[src]
        v = rng.standard_normal(nnz)
        out.append(("COO->CSR 1e7 entries, random order, ~10% duplicates", 1.0,
                    lambda: K.coo_to_compressed(r, c, v, n, n),
                    lambda: sp.coo_array((v, (r, c)), shape=(n, n)).tocsr()))
        A = _matrix(n, nnz, "uniform", seed=3)
        out.append(("CSR->CSC 1e6x1e6 1e7 nnz", 1.0,
                    lambda A=A: K.compressed_transpose(A.indptr, A.indices, A.data, n),
                    lambda A=A: A.tocsc()))
    if "dense" in which or not which:
        S = _matrix(4000, 160000, "uniform", seed=4)
        D = S.toarray()
        x = rng.standard_normal(4000)
        out.append(("4000x4000 1% CSR @ x vs the dense product (raw arrays)", None, _spmv(S, x),
                    lambda D=D, x=x: D @ x))
        # the user's path: a csr_array built once, then (A @ x).compute() on an arrayforge x
        from arrayforge import sparse
        A, xa = sparse.csr_array(S), xp.asarray(x)
        out.append(("4000x4000 1% csr_array @ x vs the dense product, one call", None,
                    lambda A=A, xa=xa: (A @ xa).compute(), lambda D=D, x=x: D @ x))

        def repeat(fn, times=50):       # an iterative method's loop: 50 products in a row (times / 50)
            def run():
                for _ in range(times):
                    out = fn()
                return out
            return run
        out.append(("4000x4000 1% csr_array @ x vs the dense product, 50 in a row", 20.0,
                    repeat(lambda A=A, xa=xa: (A @ xa).compute()), repeat(lambda D=D, x=x: D @ x)))
    return out


def _check(name, ours, theirs):
    a, b = ours(), theirs()
    if isinstance(a, tuple):                      # a structure: compare as SciPy matrices
        if len(a) == 3 and not isinstance(b, np.ndarray):
            shape = b.shape
            if b.format == "csc":
                m = sp.csc_array((a[2], a[1], a[0]), shape=shape)
            else:
                m = sp.csr_array((a[2], a[1], a[0]), shape=shape)
            ok = abs(m - b).max() <= 1e-9 * max(1.0, abs(b).max())
        else:
            ok = True
    else:
        ok = np.allclose(np.asarray(a), b)
    if not ok:
        raise AssertionError(f"{name}: arrayforge and SciPy disagree")


# BLAS threads (the dense product's) spin for a while after a call, and on 2 cores that
# takes a core from whatever runs next (measured: the 1% csr_array loop after a dense
# product 411 us a call, 293 us after a 0.2 s pause): each side starts after a pause.
PAUSE = 0.25


def _medians(ours, theirs, repeats):
    """Median wall times and median process CPU times (all threads) of each side."""
    t_ours, t_them, c_ours, c_them = [], [], [], []
    for r in range(repeats):
        for fn, times, cpu in ((ours, t_ours, c_ours), (theirs, t_them, c_them))[::1 if r % 2 else -1]:
            time.sleep(PAUSE)
            fn()
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return [statistics.median(x) for x in (t_ours, t_them, c_ours, c_them)]


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    which = sys.argv[2] if len(sys.argv) > 2 else ""
    import numba
    print(f"NUMBA_NUM_THREADS={numba.get_num_threads()}  (medians of {repeats}; ratio = SciPy / ours)")
    for name, target, ours, theirs in cases(which):
        if which and which not in name.lower() and which not in ("spmv", "spmm", "spgemm", "convert", "dense"):
            continue
        _check(name, ours, theirs)
        to, tt, co, ct = _medians(ours, theirs, repeats)
        goal = f"target >= {target}x" if target else ""
        print(f"{name:62s} ours {to * 1e3:9.2f} ms  scipy {tt * 1e3:9.2f} ms  ratio {tt / to:6.2f}  {goal:15s}"
              f"  (CPU ms: ours {co * 1e3:.0f}, scipy {ct * 1e3:.0f})", flush=True)


if __name__ == "__main__":
    main()
