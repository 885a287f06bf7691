"""The SPARSE_MATMUL node: sparse x dense products recorded by arrayforge/sparse/_products.py
and run by lowering.kernels.sparse, through the recording functions and the classes.

Checks values and dtypes against SciPy on both executors, plans (one product kernel, the
element-wise consumers fused into one epilogue; ``A.T @ x`` and ``CSC @ x`` never convert
or transpose the structure), lazy values, and record-time validation."""
import numpy as np
import pytest
import scipy.sparse as sp

import arrayforge as xp
from arrayforge import sparse
from arrayforge.sparse import _products as P
from lowering.kernels import sparse as K


def _mat(m=40, n=30, density=0.2, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    a = sp.random(m, n, density=density, format="csr", random_state=rng)
    a.data = rng.integers(-4, 5, a.nnz).astype(dtype)       # exact in any summation order
    if np.dtype(dtype).kind == "c":
        a.data = a.data + 1j * rng.integers(-2, 3, a.nnz)
    a.indptr, a.indices = a.indptr.astype(np.int32), a.indices.astype(np.int32)
    return a


def _dense(shape, dtype, seed=1):
    return np.random.default_rng(seed).integers(-3, 4, shape).astype(dtype)


def _kinds(arr):
    plan = xp.explain(arr)
    return [k.kind for k in plan.kernels]


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.int64])
def test_recording_functions_match_scipy(executor, dtype):
    a = _mat(dtype=dtype)
    c = a.tocsc()
    m, n = a.shape
    data, cdata = xp.asarray(a.data), xp.asarray(c.data)
    # SpMM kernels compiled for float64 only on the Numba executor (compile time)
    matrices = executor != "numba" or dtype == np.float64
    for dense_shape in ((n,), (n, 3)) if matrices else ((n,),):
        x = _dense(dense_shape, dtype)
        for fmt, s, d in (("csr", a, data), ("csc", c, cdata)):
            got = P.compressed_dense_matmul(fmt, a.shape, s.indptr, s.indices, d, xp.asarray(x))
            ref = a @ x
            assert got.shape == ref.shape and got.dtype == ref.dtype
            np.testing.assert_array_equal(np.asarray(got), ref)
    for dense_shape in ((m,), (5, m)) if matrices else ((m,),):
        y = _dense(dense_shape, dtype)
        for fmt, s, d in (("csr", a, data), ("csc", c, cdata)):
            got = P.dense_compressed_matmul(xp.asarray(y), fmt, a.shape, s.indptr, s.indices, d)
            ref = y @ a
            assert got.shape == ref.shape and got.dtype == ref.dtype
            np.testing.assert_array_equal(np.asarray(got), ref)


@pytest.mark.parametrize("pair", [(np.int32, np.float32), (np.float32, np.float64), (np.int64, np.complex128),
                                  (np.bool_, np.bool_), (np.int8, np.int16)])
def test_dtype_promotion_like_scipy(pair):
    da, dx = pair
    a = _mat(dtype=np.float64)
    a.data = np.abs(a.data).astype(da)
    x = _dense((a.shape[1],), dx)
    got = P.compressed_dense_matmul("csr", a.shape, a.indptr, a.indices, xp.asarray(a.data), xp.asarray(x))
    ref = a @ x
    assert got.dtype == ref.dtype
    np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-6)


def test_validation_at_record_time():
    a = _mat()
    d = xp.asarray(a.data)
    with pytest.raises(ValueError, match="dimension mismatch"):
        P.compressed_dense_matmul("csr", a.shape, a.indptr, a.indices, d, xp.ones(a.shape[1] + 1))
    with pytest.raises(ValueError, match="dimension mismatch"):
        P.dense_compressed_matmul(xp.ones((2, a.shape[0] - 1)), "csr", a.shape, a.indptr, a.indices, d)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        P.compressed_dense_matmul("csr", a.shape, a.indptr, a.indices, d, xp.ones((a.shape[1], 2, 2)))
    with pytest.raises(ValueError, match="structure does not match"):
        P.compressed_dense_matmul("csc", a.shape, a.indptr, a.indices, d, xp.ones(a.shape[1]))
    with pytest.raises(ValueError, match="fmt"):
        P.compressed_dense_matmul("coo", a.shape, a.indptr, a.indices, d, xp.ones(a.shape[1]))
    with pytest.raises(TypeError):
        P.compressed_dense_matmul("csr", a.shape, a.indptr, a.indices, d, np.ones(a.shape[1]))


def test_epilogue_fuses_into_one_kernel(lazy):
    """A @ x * 2 + y: one SpMV kernel and one fused epilogue kernel."""
    a = _mat()
    A = sparse.csr_array(a)
    x, y = xp.asarray(_dense(a.shape[1], np.float64)), xp.asarray(_dense(a.shape[0], np.float64, 2))
    r = A @ x * 2 + y
    kinds = _kinds(r)
    assert kinds.count("sparse_matmul") == 1 and len(kinds) == 2, kinds
    np.testing.assert_array_equal(np.asarray(r), a @ np.asarray(x) * 2 + np.asarray(y))
    r2 = P.compressed_dense_matmul("csr", a.shape, a.indptr, a.indices, xp.asarray(a.data), x) * 2 + y
    assert len(xp.explain(r2).kernels) == 2


def test_transpose_and_csc_products_never_convert(lazy):
    """A.T @ x and CSC @ x are the one product kernel on the stored structure (private-part
    scatter): no transpose, no conversion kernel, the index buffers used as they are."""
    a = _mat()
    A = sparse.csr_array(a)
    C = sparse.csc_array(a.tocsc())
    y = xp.asarray(_dense(a.shape[0], np.float64))
    x = xp.asarray(_dense(a.shape[1], np.float64))
    for r, ref in ((A.T @ y, a.T @ np.asarray(y)), (C @ x, a @ np.asarray(x))):
        assert _kinds(r) == ["sparse_matmul"], xp.explain(r)
        np.testing.assert_array_equal(np.asarray(r), ref)
    # (y @ A is the node of A.T @ y while that one lives: the structure's leaves are shared)
    z = xp.asarray(_dense(a.shape[0], np.float64) + 1.0)
    assert _kinds(z @ A) == ["sparse_matmul"]
    np.testing.assert_array_equal(np.asarray(z @ A), np.asarray(z) @ a)
    assert "spmv-t" in str(xp.explain(A.T @ y))
    assert "spmv nnz-split" in str(xp.explain(A @ x)) or "spmv" in str(xp.explain(A @ x))


def test_classes_products(executor):
    a = _mat(60, 50, 0.15)
    A = sparse.csr_array(a)
    C = sparse.csc_array(a.tocsc())
    x = _dense(50, np.float64)
    X = _dense((50, 4), np.float64)
    Y = _dense((3, 60), np.float64)
    for S in (A, C):
        np.testing.assert_array_equal(np.asarray(S @ xp.asarray(x)), a @ x)
        np.testing.assert_array_equal(np.asarray(xp.matmul(S, xp.asarray(x))), a @ x)
        np.testing.assert_array_equal(np.asarray(S @ xp.asarray(X)), a @ X)
        np.testing.assert_array_equal(np.asarray(xp.asarray(Y) @ S), Y @ a)
        np.testing.assert_array_equal(np.asarray(S.T @ xp.asarray(Y.T)), a.T @ Y.T)


def test_lazy_values_feed_the_product(lazy):
    """(2 * A) @ x: the scaled values are computed inside the same realize (the product
    reads the value node), never realized at record time."""
    a = _mat()
    A = sparse.csr_array(a)
    x = xp.asarray(_dense(a.shape[1], np.float64))
    r = (A * 2) @ x
    assert "sparse_matmul" in _kinds(r)
    np.testing.assert_array_equal(np.asarray(r), (a * 2) @ np.asarray(x))


def test_large_work_runs_the_numba_kernels():
    """Above the work threshold "auto" picks the Numba kernels, with SciPy's values."""
    rng = np.random.default_rng(3)
    m = n = 3000
    rows = (rng.random(70000) ** 3 * m).astype(np.int32)
    a = sp.csr_array((rng.standard_normal(70000), (rows, rng.integers(0, n, 70000))), shape=(m, n))
    a.sum_duplicates()
    assert a.nnz >= K.NUMBA_MIN
    x = rng.standard_normal(n)
    A = sparse.csr_array(a)
    r = A @ xp.asarray(x)
    assert "cpu" in str(xp.explain(r)) or "numba" in str(xp.explain(r))
    np.testing.assert_allclose(np.asarray(r), a @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(A.T @ xp.asarray(x)), a.T @ x, rtol=1e-12, atol=1e-12)
    X = rng.standard_normal((n, 4))
    np.testing.assert_allclose(np.asarray(A @ xp.asarray(X)), a @ X, rtol=1e-12, atol=1e-12)


def test_empty_shapes():
    for m, n in ((0, 3), (3, 0), (0, 0)):
        a = sp.csr_array((m, n))
        x = np.ones(n)
        got = P.compressed_dense_matmul("csr", (m, n), a.indptr, a.indices, xp.asarray(a.data), xp.asarray(x))
        np.testing.assert_array_equal(np.asarray(got), a @ x)
        X = np.ones((2, m))
        got = P.dense_compressed_matmul(xp.asarray(X), "csr", (m, n), a.indptr, a.indices, xp.asarray(a.data))
        np.testing.assert_array_equal(np.asarray(got), X @ a)


def test_frozen_structure_work_is_kept_per_array():
    """A frozen index buffer has one graph leaf and one SpMV split while it lives; a new
    array (even at a reused address) or a writeable one gets its own."""
    import gc
    from lowering.ir import ArrayMemo
    from lowering.kernels import sparse as K
    from arrayforge.sparse._device import index_node
    a = _mat()
    A = sparse.csr_array(a)
    assert index_node(A._indptr) is index_node(A._indptr)
    w = np.arange(5)
    assert index_node(w) is not index_node(w)          # writeable: a fresh read-only view each time
    assert K._spmv_split(A._indptr, A.nnz) is K._spmv_split(A._indptr, A.nnz)
    memo = ArrayMemo(2)
    b = np.zeros(3)
    b.setflags(write=False)
    memo.put(b, "b")
    assert memo.get(b) == "b" and memo.get(b.view()) is None
    del b
    gc.collect()
    c = np.zeros(3)
    assert memo.get(c) is None                         # (whatever address c got)
    one = ArrayMemo(1)
    one.put(c, 1)
    assert one.get(c) == 1
    one.put(np.ones(1), 2)                             # the limit: starts over
    assert one.get(c) is None


def test_product_bad_shapes_raise_at_the_call():
    A = sparse.csr_array(_mat())
    with pytest.raises(ValueError, match="dimension mismatch|contracted dimensions"):
        A @ xp.ones(A.shape[1] + 1)
