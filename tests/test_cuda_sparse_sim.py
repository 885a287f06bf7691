"""Sparse arrays on the CUDA back end, differential against SciPy and the CPU path.

Runs under Numba's CUDA simulator in the subprocess of ``tests/test_cuda.py::test_simulator_suite``
(or directly on a GPU: ``python -m arrayforge.gpucheck``).  Matrices stay tiny: the
simulator interprets every thread.
"""
import numpy as np
import pytest
import scipy.sparse as sps

import arrayforge as xp
from arrayforge import sparse
from lowering import cuda_runtime

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not cuda_runtime.available(),
                                 reason="no CUDA device (run with NUMBA_ENABLE_CUDASIM=1, see tests/test_cuda.py)")]

rng = np.random.default_rng(7)


def _dev(a):
    return xp.asarray(a, device="cuda")


def _close(got, ref, rtol=1e-12):
    got = np.asarray(got)
    ref = np.asarray(ref)
    assert got.dtype == ref.dtype and got.shape == ref.shape, (got.dtype, ref.dtype, got.shape, ref.shape)
    if ref.dtype.kind in "biu":
        np.testing.assert_array_equal(got, ref)
    else:
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=1e-12)


def _matrices():
    m = {}
    S = sps.random_array((12, 9), density=0.3, format="csr", random_state=3)
    S = S.tolil()
    S[[2, 5, 6]] = 0                # empty rows (inside, and the last one below)
    S[11] = 0
    m["empty rows"] = S.tocsr()
    m["all zero"] = sps.csr_array((6, 5))
    m["one nonzero"] = sps.csr_array(([2.5], ([3], [1])), shape=(5, 4))
    lengths = [0, 1, 40, 2, 0, 1, 3, 0]                      # power-law-ish: one long row
    rows = np.repeat(np.arange(len(lengths)), lengths)
    cols = np.concatenate([rng.choice(50, n, replace=False) for n in lengths])
    m["power law"] = sps.csr_array((rng.standard_normal(len(rows)), (rows, cols)), shape=(8, 50))
    return m


MATRICES = _matrices()


@pytest.mark.parametrize("name", list(MATRICES))
def test_spmv_spmm_and_transposes_match_scipy(name):
    S = MATRICES[name]
    A = sparse.from_scipy(S, device="cuda")
    assert A.device == xp.Device("cuda", 0) and A.nnz == S.nnz
    m, n = S.shape
    x, xt = rng.standard_normal(n), rng.standard_normal(m)
    X = rng.standard_normal((n, 3))
    _close(A @ _dev(x), S @ x)
    _close(A.T @ _dev(xt), S.T @ xt)                         # atomics, no transpose built
    _close(_dev(xt) @ A, xt @ S)
    _close(A @ _dev(X), S @ X)
    Xt = rng.standard_normal((m, 2))
    _close(A.T @ _dev(Xt), S.T @ Xt)                         # SpMM-T: atomics
    _close(_dev(Xt.T) @ A, Xt.T @ S)
    _close(A.toarray(), S.toarray())
    _close(A.tocsc() @ _dev(x), S @ x)


@pytest.mark.parametrize("variant", [("rows", 1), ("rows", 4), ("rows", 32), ("split", 32)])
def test_spmv_kernel_variants(variant):
    A = sparse.from_scipy(MATRICES["power law"], device="cuda")
    A._indptr._plan = variant
    x = rng.standard_normal(50)
    _close(A @ _dev(x), MATRICES["power law"] @ x)
    B = sparse.from_scipy(MATRICES["empty rows"], device="cuda")
    B._indptr._plan = variant
    x = rng.standard_normal(9)
    _close(B @ _dev(x), MATRICES["empty rows"] @ x)


def test_skewed_rows_choose_the_nnz_split_kernel(monkeypatch):
    from lowering.kernels import sparse_cuda
    monkeypatch.setattr(sparse_cuda, "ROWS_SKEW_MIN", 16)
    monkeypatch.setattr(sparse_cuda, "ROWS_SKEW", 4)
    A = sparse.from_scipy(MATRICES["power law"], device="cuda")
    assert A._indptr.spmv_plan() == ("split", 32)
    assert sparse.from_scipy(MATRICES["empty rows"], device="cuda")._indptr.spmv_plan()[0] == "rows"
    # a structure built on the device chooses from row lengths computed there
    C = sparse.coo_array(sparse.from_scipy(MATRICES["power law"]).tocoo(), device="cuda").tocsr()
    assert C._indptr.spmv_plan() == ("split", 32)


def test_dtypes_match_the_cpu_path():
    S = MATRICES["empty rows"]
    ints = sps.csr_array((rng.integers(-9, 9, S.nnz).astype(np.int32), S.indices, S.indptr), shape=S.shape)
    xi = rng.integers(-5, 5, 9).astype(np.int32)
    Ai = sparse.from_scipy(ints, device="cuda")
    Hi = sparse.from_scipy(ints)
    _close(Ai @ _dev(xi), np.asarray(Hi @ xp.asarray(xi)))                     # int32: int64 sums, cast
    xi12 = rng.integers(-5, 5, 12)
    _close(Ai.T @ _dev(xi12), np.asarray(Hi.T @ xp.asarray(xi12)))
    _close(Ai @ _dev(xi.astype(np.float64)), ints @ xi.astype(np.float64))     # int x float -> float64
    f32 = ints.astype(np.float32)
    A32 = sparse.from_scipy(f32, device="cuda")
    x32 = rng.standard_normal(9).astype(np.float32)
    _close(A32 @ _dev(x32), f32 @ x32, rtol=1e-5)
    _close(A32 @ _dev(np.ones((9, 2), np.float32)), f32 @ np.ones((9, 2), np.float32), rtol=1e-5)
    b = sps.csr_array((np.ones(S.nnz, bool), S.indices, S.indptr), shape=S.shape)
    Ab, Hb = sparse.from_scipy(b, device="cuda"), sparse.from_scipy(b)
    xb = rng.integers(0, 2, 9).astype(bool)
    _close(Ab @ _dev(xb), np.asarray(Hb @ xp.asarray(xb)))
    _close(Ai.toarray(), ints.toarray())


def test_epilogue_fuses_into_one_kernel_after_the_spmv():
    S = MATRICES["empty rows"]
    A = sparse.from_scipy(S, device="cuda")
    x, y = rng.standard_normal(9), rng.standard_normal(12)
    z = A @ _dev(x) * 2 + _dev(y)
    plan = xp.explain(z).kernels
    assert [k.kind for k in plan] == ["sparse_matmul", "elementwise"], plan
    assert plan[0].backend == "cuda" and plan[0].variant.startswith("spmv")
    _close(z, S @ x * 2 + y)
    w = (2 * abs(A)) @ _dev(x)                              # value-wise work stays on the device
    assert w.device == "cuda"
    _close(w, (2 * abs(S)) @ x)


def test_constructors_with_device():
    row, col = np.array([0, 2, 2, 0, 3]), np.array([1, 0, 0, 1, 3])     # duplicates
    data = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    ref = sps.coo_array((data, (row, col)), shape=(4, 5))
    for cls in (sparse.csr_array, sparse.csc_array, sparse.coo_array):
        A = cls((data, (row, col)), shape=(4, 5), device="cuda")
        assert A.device == "cuda" and A.format == cls.format
        _close(A.toarray(), ref.toarray())
    D = ref.toarray()
    _close(sparse.csr_array(D, device="cuda").toarray(), D)
    C = sparse.csr_array((data[:3], np.array([1, 0, 4]), np.array([0, 1, 1, 3, 3])), shape=(4, 5),
                         device=xp.Device("cuda", 0))
    _close(C.toarray(), sps.csr_array((data[:3], [1, 0, 4], [0, 1, 1, 3, 3]), shape=(4, 5)).toarray())
    V = sparse.csr_array((_dev(data), (row, col)), shape=(4, 5), device="cuda")   # values already there
    _close(V.toarray(), ref.toarray())
    W = sparse.csr_array((_dev(data), (row, col)), shape=(4, 5))       # where the values are
    assert W.device == "cuda"
    H = sparse.csr_array((_dev(data), (row, col)), shape=(4, 5), device="cpu")
    assert H.device == "cpu" and H.data.device == "cpu"
    with pytest.raises(IndexError):                          # validated on the host before the copy
        sparse.csr_array((data, (row, col + 10)), shape=(4, 5), device="cuda")
    assert isinstance(C.indices, xp.Array) and C.indices.device == "cuda" and C.data.device == "cuda"


def test_conversions_on_the_device_sum_duplicates_in_order():
    # duplicates in scrambled order, an empty row, integer and float values
    row = np.array([3, 0, 3, 1, 3, 0, 3, 1])
    col = np.array([2, 4, 0, 1, 2, 4, 2, 0])
    for data in (np.array([1e16, 1.0, 2.0, 3.0, -1e16, 5.0, 1.0, 7.0]), np.arange(1, 9, dtype=np.int32)):
        ref = sps.coo_array((data, (row, col)), shape=(5, 6))
        H = sparse.coo_array((data, (row, col)), shape=(5, 6))
        G = sparse.coo_array((data, (row, col)), shape=(5, 6), device="cuda")
        for fmt in ("tocsr", "tocsc"):
            g, h = getattr(G, fmt)(), getattr(H, fmt)()
            assert g.device == "cuda" and g.has_canonical_format
            hs = h.to_scipy()
            gs = g.to_device("cpu").to_scipy()
            np.testing.assert_array_equal(gs.indptr, hs.indptr)
            np.testing.assert_array_equal(gs.indices, hs.indices)
            np.testing.assert_array_equal(gs.data, hs.data)      # the same sums, the same order
            _close(g.toarray(), ref.toarray())
        c = G.tocsr()
        t = c.tocsc()                                            # CSR -> CSC: counting sort by column
        ts, rs = t.to_device("cpu").to_scipy(), ref.tocsc()
        np.testing.assert_array_equal(ts.indptr, rs.indptr)
        np.testing.assert_array_equal(ts.indices, rs.indices)
        _close(ts.data, rs.data)
        back = t.tocsr().to_device("cpu").to_scipy()             # CSC -> CSR
        np.testing.assert_array_equal(back.indices, c.to_device("cpu").to_scipy().indices)
        coo = c.tocoo()                                          # CSR -> COO: the rows expanded
        np.testing.assert_array_equal(np.asarray(coo.row), ref.tocsr().tocoo().row)


def test_round_trips_and_empty():
    S = MATRICES["empty rows"]
    A = sparse.from_scipy(S).to_device("cuda")
    assert A.to_device("cuda") is A
    B = A.to_device("cpu")
    assert B.device == "cpu"
    np.testing.assert_array_equal(B.to_scipy().toarray(), S.toarray())
    Z = sparse.csr_array((4, 3), device="cuda")
    _close(Z @ _dev(np.ones(3)), np.zeros(4))
    _close(Z.toarray(), np.zeros((4, 3)))
    _close(sparse.coo_array((4, 3), device="cuda").tocsr().toarray(), np.zeros((4, 3)))
    _close(Z.tocsc().toarray(), np.zeros((4, 3)))


def test_mixing_devices_and_missing_kernels_raise_at_the_call():
    S = MATRICES["empty rows"]
    A = sparse.from_scipy(S, device="cuda")
    with pytest.raises(ValueError, match="to_device"):
        A @ xp.asarray(np.ones(9))                           # a host vector
    with pytest.raises(ValueError, match="to_device"):
        sparse.from_scipy(S) @ _dev(np.ones(9))              # a host structure
    with pytest.raises(NotImplementedError, match="cuda"):
        A.multiply(_dev(np.ones((12, 9))))                   # (no GPU kernel for the gather yet)
    with pytest.raises(ValueError, match=r"to_device\('cpu'\)"):
        A.to_scipy()
    for f in (lambda: A[2], lambda: A[:, 1], lambda: A @ A.T, lambda: A.sum(axis=0), lambda: A.tobsr(),
              lambda: A.todia(), lambda: A.tolil(), lambda: A + A.tocsc(), lambda: A.eliminate_zeros(),
              lambda: A.diagonal(), lambda: A.nonzero(), lambda: A.reshape((9, 12)),
              lambda: sparse.bsr_array(S.tobsr()).to_device("cuda")):
        with pytest.raises(NotImplementedError, match="cuda"):
            f()
    # what needs no new pattern runs there: value-wise work, sums of all values, same-structure sums
    _close((A + A).toarray(), (S + S).toarray())
    _close(A.sum(), S.sum())
    _close((A.astype(np.float32) * 2.0).toarray(), (S * 2.0).astype(np.float32).toarray(), rtol=1e-6)


def test_sum_duplicates_on_the_device():
    data, indices, indptr = np.array([1.0, 2.0, 4.0, 8.0, 16.0]), np.array([2, 2, 0, 1, 0]), np.array([0, 2, 2, 5])
    ref = sps.csr_array((data, indices, indptr), shape=(3, 4))
    A = sparse.csr_array((data, indices, indptr), shape=(3, 4), device="cuda")
    assert not A.has_canonical_format
    _close(A.toarray(), ref.toarray())                       # (duplicates added in stored order)
    _close(A @ _dev(np.arange(4.0)), ref @ np.arange(4.0))
    A.sum_duplicates()
    ref.sum_duplicates()
    assert A.device == "cuda" and A.has_canonical_format and A.nnz == ref.nnz
    h = A.to_device("cpu").to_scipy()
    np.testing.assert_array_equal(h.indices, ref.indices)
    np.testing.assert_array_equal(h.data, ref.data)


def test_whole_array_reductions_on_the_device():
    # max/min compare with the implicit zeros through a Python scalar (it belongs to every
    # device); they once mixed a host 0-d array with the device values
    S = sps.random_array((6, 5), density=0.4, format="csr", random_state=0)
    A = sparse.from_scipy(S, device="cuda")
    for got, want in ((A.max(), S.max()), (A.min(), S.min()), (xp.max(A), S.max()), (A.sum(), S.sum()),
                      (A.mean(), S.mean())):
        assert got.device == xp.Device("cuda", 0)
        assert float(got.to_device("cpu")) == pytest.approx(float(want), rel=1e-12)
    Z = sparse.from_scipy(sps.csr_array((3, 4)), device="cuda")
    assert float(Z.max().to_device("cpu")) == 0.0 and Z.max().device == xp.Device("cuda", 0)
