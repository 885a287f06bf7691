"""The BSR and DIA conversions of ``lowering.kernels.sparse`` (CSR -> BSR, BSR -> CSR,
CSR -> DIA, DIA -> CSR): the Numba kernels and the NumPy paths give identical structures and
values, equal to SciPy's; and the front end's conversions under both executors."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

import arrayforge as xp
from arrayforge import sparse
from lowering.kernels import sparse as K
from test_sparse_kernels import both, coo, scipy_csr

SETTINGS = settings(max_examples=30, deadline=None)


def _padded(t, blocksize):
    rows, cols, data, (m, n) = t
    R, C = blocksize
    mm, nn = -(-max(m, 1) // R) * R, -(-max(n, 1) // C) * C
    return scipy_csr(rows, cols, data, (mm, nn)), (mm, nn)


@SETTINGS
@given(coo(dtypes=(np.float64,)), st.sampled_from([(1, 1), (2, 3), (3, 2), (4, 4)]))
def test_bsr_kernels_match_numpy_and_scipy(t, blocksize):
    a, shape = _padded(t, blocksize)
    bi, bx, bd = both(K.to_bsr, a.indptr, a.indices, a.data, shape, blocksize)
    ref = a.tobsr(blocksize=blocksize)
    ref.sort_indices()
    np.testing.assert_array_equal(bi, ref.indptr)
    np.testing.assert_array_equal(bx, ref.indices)
    np.testing.assert_array_equal(bd, ref.data)
    ci, cx, cd = both(K.bsr_to_csr, bi, bx, bd, shape)
    back = ref.tocsr()
    np.testing.assert_array_equal(ci, back.indptr)
    np.testing.assert_array_equal(cx, back.indices)
    np.testing.assert_array_equal(cd, back.data)


@SETTINGS
@given(coo(dtypes=(np.float64,)))
def test_dia_kernels_match_numpy_and_scipy(t):
    a, shape = _padded(t, (1, 1))
    off, dd = both(K.to_dia, a.indptr, a.indices, a.data, shape)
    if a.nnz:
        ref = a.todia()
        np.testing.assert_array_equal(off, ref.offsets)
        np.testing.assert_array_equal(dd, ref.data)
    ip, ix, iv = both(K.dia_to_csr, off, dd, shape)
    ref = sp.dia_array((dd, off), shape=shape).tocsr()
    ref.sum_duplicates()
    np.testing.assert_array_equal(ip, ref.indptr)
    np.testing.assert_array_equal(ix, ref.indices)
    np.testing.assert_array_equal(iv, ref.data)
    kp, kx, kv = both(K.dia_to_csr, off, dd, shape, keep_zeros=True)
    assert len(kx) >= len(ix)
    np.testing.assert_array_equal(sp.csr_array((kv, kx, kp), shape=shape).toarray(), ref.toarray())


def test_dia_repeated_offsets_and_wide_data():
    """A repeated offset sums (in offset order) and data wider than the matrix is cut, on both executors."""
    data = np.array([[1.0, 2, 3, 4, 5, 6], [10, 20, 30, 40, 50, 60], [7, 0, 8, 0, 9, 0]])
    offsets = np.array([1, 1, -2])
    ip, ix, iv = both(K.dia_to_csr, offsets, data, (4, 5))
    ref = sp.csr_array(sp.dia_array((data[:1] + data[1:2], [1]), shape=(4, 5))) + \
        sp.csr_array(sp.dia_array((data[2:], [-2]), shape=(4, 5)))
    np.testing.assert_array_equal(sp.csr_array((iv, ix, ip), shape=(4, 5)).toarray(), ref.toarray())


def test_bool_and_int_values():
    """Value dtypes other than float64 (bool adds as logical or, integers wrap) on both executors."""
    a = sp.csr_array((np.array([True, True, False, True]), np.array([0, 0, 3, 1]), np.array([0, 2, 3, 4])),
                     shape=(3, 4))
    _, _, bd = both(K.to_bsr, a.indptr, a.indices, a.data, (3, 4), (1, 2))
    assert bd.dtype == np.bool_
    i8 = sp.csr_array((np.array([100, 100, 7], np.int8), np.array([0, 0, 1]), np.array([0, 2, 3])), shape=(2, 2))
    off, dd = both(K.to_dia, i8.indptr, i8.indices, i8.data, (2, 2))
    assert dd.dtype == np.int8 and dd[list(off).index(0), 0] == np.int8(-56)      # 200 wraps


@pytest.mark.parametrize("blocksize", [(2, 2), (1, 3)])
def test_front_end_conversions(executor, blocksize):
    rng = np.random.default_rng(9)
    S = sp.random_array((6, 12), density=0.3, format="csr", rng=rng)
    a = sparse.csr_array(S) * 2                       # lazy values
    b = a.tobsr(blocksize=blocksize)
    ref = (S * 2).tobsr(blocksize=blocksize)
    np.testing.assert_allclose(np.asarray(b.toarray()), ref.toarray())
    np.testing.assert_allclose(np.asarray(b.tocsr().toarray()), ref.toarray())
    d = a.todia()
    np.testing.assert_allclose(np.asarray(d.toarray()), (S * 2).toarray())
    np.testing.assert_allclose(np.asarray(d.tocsr().toarray()), (S * 2).toarray())
    assert d.tocsr().format == "csr"
    np.testing.assert_allclose(np.asarray((d @ xp.ones(12))), (S * 2) @ np.ones(12))
