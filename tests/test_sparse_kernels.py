"""lowering.kernels.sparse against SciPy, and its NumPy and Numba paths against each other.

Every function runs under both executors (``ARRAYFORGE_EXECUTOR`` numpy / numba, forced so
tiny inputs reach the Numba kernels); the two results must be identical (same dtypes, same
bits), and equal to SciPy's.  Matrices come from hypothesis: empty rows and columns, zero
rows/cols, one nonzero, duplicates, unsorted entries, explicit zeros, power-law rows, and
int64 / float64 / complex128 values (few kernel signatures keep the compile cost small).
"""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings, strategies as st

import arrayforge as xp
from lowering.kernels import sparse as K

SETTINGS = dict(deadline=None, max_examples=25, suppress_health_check=list(HealthCheck))
DTYPES = (np.float64, np.complex128, np.int64)


def _identical(a, b):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _identical(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), (a, b)
    else:
        assert a == b


def both(fn, *args, numba=True, **kwargs):
    """fn under the NumPy and the Numba executor: identical results; returns one.  (``numba``
    False: the NumPy executor only; the structure kernels are compiled for float64 values
    only here, to keep the suite's compile time small: their value handling is generic.)"""
    out = []
    for mode in ("numpy", "numba") if numba else ("numpy", "numpy"):
        xp.set_executor(mode)
        try:
            out.append(fn(*args, **kwargs))
        finally:
            xp.set_executor(None)
    _identical(out[0], out[1])
    return out[1]


@st.composite
def coo(draw, max_dim=9, max_nnz=40, dtypes=DTYPES):
    m = draw(st.integers(0, max_dim))
    n = draw(st.integers(0, max_dim))
    kind = draw(st.sampled_from(["uniform", "power", "one", "dups", "zeros"]))
    nnz = 0 if m * n == 0 else {"one": 1}.get(kind, draw(st.integers(0, max_nnz)))
    seed = draw(st.integers(0, 2**31))
    dtype = draw(st.sampled_from(dtypes))
    rng = np.random.default_rng(seed)
    u = rng.random(nnz)
    rows = (u ** 3 * m if kind == "power" else u * m).astype(np.int64)
    cols = rng.integers(0, max(n, 1), nnz)
    if kind == "dups" and nnz:
        rows[nnz // 2:] = rows[0]
        cols[nnz // 2:] = cols[0]
    vals = rng.integers(-3, 4, nnz)          # small integers: exact sums, some explicit zeros
    if kind == "zeros":
        vals[:] = 0
    data = vals.astype(dtype)
    if dtype == np.complex128:
        data = data + 1j * rng.integers(-2, 3, nnz)
    return rows.astype(np.int32), cols.astype(np.int32), data, (m, n)     # int64: test_large_index_dtype


def scipy_csr(rows, cols, data, shape):
    """SciPy's canonical CSR of a COO triplet (duplicates summed, explicit zeros kept)."""
    a = sp.coo_array((data, (rows, cols)), shape=shape).tocsr()
    a.sum_duplicates()
    return a


def assert_structure(got, ref, index_dtype=None):
    """A compressed triplet equals SciPy's canonical CSR/CSC ``ref`` exactly, with index dtype
    ``index_dtype`` (default: the one :func:`K.index_dtype` chooses for a new structure)."""
    indptr, indices, data = got
    np.testing.assert_array_equal(indptr, ref.indptr)
    np.testing.assert_array_equal(indices, ref.indices)
    np.testing.assert_array_equal(data, ref.data)
    assert data.dtype == ref.data.dtype
    assert indptr.dtype == indices.dtype == (index_dtype or K.index_dtype(max(ref.shape), len(indices)))


def test_index_dtype():
    assert K.index_dtype(10, 10) == np.int32
    assert K.index_dtype(2**31 - 1) == np.int32
    assert K.index_dtype(2**31) == np.int64
    assert K.index_dtype(5, 2**31) == np.int64


@settings(**SETTINGS)
@given(coo())
def test_coo_to_compressed(t):
    rows, cols, data, (m, n) = t
    ref = scipy_csr(rows, cols, data, (m, n))
    f64 = data.dtype == np.float64
    assert_structure(both(K.coo_to_compressed, rows, cols, data, m, n, numba=f64), ref)
    assert_structure(both(K.coo_to_compressed, cols, rows, data, n, m, numba=f64), ref.tocsc())
    # without summing: sorted by (row, col), stable, every entry kept
    indptr, indices, d = both(K.coo_to_compressed, rows, cols, data, m, n, sum_duplicates=False, numba=f64)
    order = np.lexsort((cols, rows))
    np.testing.assert_array_equal(indices, cols[order])
    np.testing.assert_array_equal(d, data[order])
    np.testing.assert_array_equal(K.expand_indptr(indptr), rows[order])


@settings(**SETTINGS)
@given(coo())
def test_transpose_and_expand(t):
    rows, cols, data, (m, n) = t
    a = sp.csr_array((data, (rows, cols)), shape=(m, n))       # SciPy keeps duplicates here? no: summed
    indptr, indices, d = K.coo_to_compressed(rows, cols, data, m, n, sum_duplicates=False)
    tp, ti, td = both(K.compressed_transpose, indptr, indices, d, n, numba=data.dtype == np.float64)
    # the transpose keeps duplicates; canonicalized it is SciPy's CSC
    ref = a.tocsc()
    ref.sum_duplicates()
    assert_structure(K.canonicalize(tp, ti, td), ref, tp.dtype)
    assert K.has_sorted_indices(tp, ti)
    np.testing.assert_array_equal(both(K.expand_indptr, indptr), np.sort(rows))


@settings(**SETTINGS)
@given(coo(), st.integers(0, 2**31))
def test_canonical_form(t, seed):
    rows, cols, data, (m, n) = t
    ref = scipy_csr(rows, cols, data, (m, n))
    # an unsorted structure with duplicates: rows grouped, entries shuffled within rows
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(rows)), rows))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=m))]).astype(rows.dtype)
    indices, d = cols[order], data[order]
    f64 = data.dtype == np.float64
    assert_structure(both(K.canonicalize, indptr, indices, d, numba=f64), ref, indptr.dtype)   # dtype kept
    si, sd = both(K.sort_indices, indptr, indices, d, numba=f64)
    assert K.has_sorted_indices(indptr, si)
    np.testing.assert_array_equal(si, np.concatenate([np.sort(indices[indptr[i]:indptr[i + 1]])
                                                      for i in range(m)] + [indices[:0]]))
    u = sp.csr_array((d, indices, indptr), shape=(m, n))
    assert K.has_sorted_indices(indptr, indices) == u.has_sorted_indices
    assert K.has_canonical_format(indptr, indices) == (u.has_sorted_indices and len(ref.indices) == len(indices))
    c = ref.copy()
    c.eliminate_zeros()
    assert_structure(both(K.eliminate_zeros, ref.indptr, ref.indices, ref.data), c, ref.indptr.dtype)


def test_duplicates_summed_in_order():
    """Duplicates sum left to right from the first value, on both executors."""
    rows = np.zeros(4, np.int32)
    cols = np.zeros(4, np.int32)
    data = np.array([1e16, 1.0, -1e16, 1.0])
    _, _, d = both(K.coo_to_compressed, rows, cols, data, 1, 1)
    assert d[0] == ((1e16 + 1.0) - 1e16) + 1.0
    _, _, d = both(K.coo_to_compressed, rows[:1], cols[:1], np.array([-0.0]), 1, 1)
    assert np.signbit(d[0])           # a lone -0.0 stays -0.0
    # integer values: the kernels' in-place sums wrap like NumPy's
    big = np.array([2**62, 2**62, 2**62, 1], np.int64)
    _, _, d = both(K.coo_to_compressed, rows, cols, big, 1, 1)
    assert d[0] == np.array(big).sum()


@settings(**SETTINGS)
@given(coo(), coo(dtypes=(np.float64, np.int64)), st.integers(0, 9))
def test_spgemm(ta, tb, p):
    rows, cols, data, (m, n) = ta
    a = scipy_csr(rows, cols, data, (m, n))
    rng = np.random.default_rng(p)
    b = sp.random(n, p, density=0.4, format="csr", random_state=rng)
    b.data = rng.integers(-2, 3, b.nnz).astype(tb[2].dtype)
    got = both(K.spgemm, a.indptr, a.indices, a.data, b.indptr, b.indices, b.data, p,
               numba=np.result_type(a.data, b.data) == np.float64)
    ref = (a @ b).tocsr()
    ref.sum_duplicates()
    ref.eliminate_zeros()          # SciPy drops sums that cancel; so do we
    assert_structure(got, ref)


def test_spgemm_cancellation_and_int_wrap():
    a = sp.csr_array(np.array([[1, 1], [2, 0]], np.int8))
    b = sp.csr_array(np.array([[1, 100], [-1, 100]], np.int8))
    indptr, indices, data = both(K.spgemm, a.indptr, a.indices, a.data, b.indptr, b.indices, b.data, 2,
                                 numba=False)
    dense = np.zeros((2, 2), np.int8)
    dense[np.repeat([0, 1], np.diff(indptr)), indices] = data
    np.testing.assert_array_equal(dense, (a.toarray() @ b.toarray()).astype(np.int8))
    assert data.dtype == np.int8 and (data != 0).all()


@settings(**SETTINGS)
@given(coo(), st.integers(0, 2**31))
def test_union_intersection(t, seed):
    rows, cols, data, (m, n) = t
    a = scipy_csr(rows, cols, data, (m, n))
    rng = np.random.default_rng(seed)
    b = sp.random(m, n, density=0.3, format="csr", random_state=rng, dtype=np.float64)
    for fn, op, ref in ((K.union_positions, np.add, (a + b)),
                        (K.intersection_positions, np.multiply, a.multiply(b))):
        indptr, indices, pa, pb = both(fn, a.indptr, a.indices, b.indptr, b.indices)
        assert K.has_canonical_format(indptr, indices)
        va = np.where(pa >= 0, np.append(a.data, 0)[pa], 0)      # (-1 reads the appended 0)
        vb = np.where(pb >= 0, np.append(b.data, 0)[pb], 0)
        got = sp.csr_array((op(va, vb), indices, indptr), shape=(m, n)).toarray()
        np.testing.assert_allclose(got, ref.toarray())
        if fn is K.intersection_positions:
            assert (pa >= 0).all() and (pb >= 0).all()
        else:
            assert ((pa >= 0) | (pb >= 0)).all()


@settings(**SETTINGS)
@given(coo(), st.sampled_from([(1, 1), (2, 3), (3, 2)]))
def test_bsr_dia(t, blocksize):
    rows, cols, data, (m, n) = t
    R, C = blocksize
    mm, nn = -(-max(m, 1) // R) * R, -(-max(n, 1) // C) * C
    a = scipy_csr(rows, cols, data, (mm, nn))
    bi, bx, bd = K.to_bsr(a.indptr, a.indices, a.data, (mm, nn), blocksize)
    ref = a.tobsr(blocksize=blocksize)
    ref.sort_indices()
    np.testing.assert_array_equal(bi, ref.indptr)
    np.testing.assert_array_equal(bx, ref.indices)
    np.testing.assert_array_equal(bd, ref.data)
    ci, cx, cd = K.bsr_to_csr(bi, bx, bd, (mm, nn))
    assert_structure((ci, cx, cd), ref.tocsr())
    off, dd = K.to_dia(a.indptr, a.indices, a.data, (mm, nn))
    if a.nnz:
        dref = a.todia()
        np.testing.assert_array_equal(off, dref.offsets)
        np.testing.assert_array_equal(dd, dref.data)
    r, c, v = K.dia_to_coo(off, dd, (mm, nn))
    cref = sp.dia_array((dd, off), shape=(mm, nn)).tocoo()
    np.testing.assert_array_equal(r, cref.row)
    np.testing.assert_array_equal(c, cref.col)
    np.testing.assert_array_equal(v, cref.data)


@settings(**SETTINGS)
@given(coo(dtypes=(np.float64, np.int64)))
def test_reductions(t):
    rows, cols, data, (m, n) = t
    a = scipy_csr(rows, cols, data, (m, n))
    rowsl = [a.data[a.indptr[i]:a.indptr[i + 1]] for i in range(m)]
    s = both(K.segment_reduce, "sum", a.indptr, a.data, numba=a.data.dtype == np.float64)
    np.testing.assert_array_equal(s, np.array([r.sum() for r in rowsl], a.data.dtype).reshape(m))
    for op, f in (("max", np.max), ("min", np.min)):
        got = K.segment_reduce(op, a.indptr, a.data)
        np.testing.assert_array_equal(got, np.array([f(r) if len(r) else 0 for r in rowsl], a.data.dtype).reshape(m))
    for op, f in (("argmax", np.argmax), ("argmin", np.argmin)):
        got = K.segment_arg(op, a.indptr, a.data)
        np.testing.assert_array_equal(got, np.array([a.indptr[i] + f(r) if len(r) else -1
                                                     for i, r in enumerate(rowsl)], np.int64).reshape(m))
    cs = K.bucket_reduce("sum", a.indices, a.data, n)
    np.testing.assert_array_equal(cs, np.asarray(a.sum(axis=0)).reshape(n).astype(a.data.dtype))
    cm = K.bucket_reduce("max", a.indices, a.data, n)
    ref = np.zeros(n, a.data.dtype)
    for j in range(n):
        v = a.data[a.indices == j]
        ref[j] = v.max() if len(v) else 0
    np.testing.assert_array_equal(cm, ref)


def test_segment_arg_nan_first():
    indptr = np.array([0, 3, 3, 5])
    data = np.array([1.0, np.nan, 5.0, 2.0, 2.0])
    np.testing.assert_array_equal(K.segment_arg("argmax", indptr, data), [1, -1, 3])
    np.testing.assert_array_equal(K.segment_arg("argmin", indptr, data), [1, -1, 3])


# ---- the products' kernels (the SPARSE_MATMUL barrier's work), at kernel level


@pytest.fixture
def tiny_chunks(monkeypatch):
    """Many SpMV chunks and several private parts on tiny matrices, so rows cross chunk
    boundaries and the scatter combines parts."""
    monkeypatch.setattr(K, "SPMV_CHUNK", 2)
    monkeypatch.setattr(K, "_private_parts", lambda work, part_bytes=0: 3)


@settings(**SETTINGS)
@given(coo(), st.sampled_from([None, 1, 3]), st.booleans())
def test_compressed_matmul(tiny_chunks, t, k, trans):
    rows, cols, data, (m, n) = t
    a = scipy_csr(rows, cols, data, (m, n))
    rng = np.random.default_rng(k or 0)
    inner = m if trans else n
    dense = rng.integers(-3, 4, (inner,) if k is None else (inner, k)).astype(data.dtype)
    ref = (a.T if trans else a) @ dense
    out = np.empty(ref.shape, ref.dtype)

    def run():
        return K.compressed_matmul(trans, a.indptr, a.indices, a.data, dense, out.copy())
    # (SpMM kernels compiled for float64 only: their value handling is that of the SpMV ones)
    got = both(run, numba=k is None or data.dtype == np.float64)
    np.testing.assert_array_equal(got, ref)       # small integer values: exact in every order
    assert got.dtype == ref.dtype


def test_spmv_rows_across_chunks_exact():
    """A power-law matrix with rows spanning many chunks: both executors agree bit for bit
    (floating values, default chunking) and match SciPy to rounding."""
    rng = np.random.default_rng(5)
    m, n, nnz = 300, 50000, 60000
    rows = (rng.random(nnz) ** 4 * m).astype(np.int32)
    a = scipy_csr(rows, rng.integers(0, n, nnz).astype(np.int32), rng.standard_normal(nnz), (m, n))
    assert np.diff(a.indptr).max() > 2 * K.SPMV_CHUNK      # a row spans 3 chunks at least
    x = rng.standard_normal(n)
    got = both(lambda: K.compressed_matmul(False, a.indptr, a.indices, a.data, x))
    np.testing.assert_allclose(got, a @ x, rtol=1e-12, atol=1e-12)
    y = rng.standard_normal(m)
    got = both(lambda: K.compressed_matmul(True, a.indptr, a.indices, a.data, y, np.empty(n)))
    np.testing.assert_allclose(got, a.T @ y, rtol=1e-12, atol=1e-12)


def test_bool_and_narrow_ints():
    a = sp.csr_array(np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1]], bool))
    x = np.array([True, False, True])
    got = both(lambda: K.compressed_matmul(False, a.indptr, a.indices, a.data, x))
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, [True, False, True])
    b = sp.csr_array(np.array([[100, 100], [1, 2]], np.int8))
    v = np.array([2, 1], np.int8)
    got = both(lambda: K.compressed_matmul(False, b.indptr, b.indices, b.data, v))
    np.testing.assert_array_equal(got, (b.toarray() @ v).astype(np.int8))     # wraps as NumPy


def test_large_index_dtype():
    """int64 structures work the same (one signature more)."""
    a = scipy_csr(np.array([0, 2, 2]), np.array([1, 0, 0]), np.array([1.0, 2.0, 3.0]), (3, 2))
    ip, ix = a.indptr.astype(np.int64), a.indices.astype(np.int64)
    got = both(lambda: K.compressed_matmul(False, ip, ix, a.data, np.array([1.0, 10.0])))
    np.testing.assert_array_equal(got, [10.0, 0.0, 5.0])


def test_spgemm_two_pass(monkeypatch):
    """The symbolic + numeric passes (used when the upper bound is too big) give the same
    result as the one-pass upper-bound path."""
    rng = np.random.default_rng(7)
    a = sp.random(30, 20, density=0.3, format="csr", random_state=rng)
    b = sp.random(20, 25, density=0.3, format="csr", random_state=rng)
    one = both(K.spgemm, a.indptr, a.indices, a.data, b.indptr, b.indices, b.data, 25)
    monkeypatch.setattr(K, "SPGEMM_ONE_PASS_BYTES", 0)
    two = both(K.spgemm, a.indptr, a.indices, a.data, b.indptr, b.indices, b.data, 25)
    _identical(one, two)
    ref = (a @ b).tocsr()
    ref.sort_indices()
    assert_structure(two, ref)


@pytest.mark.parametrize("n_cols", [50, 1000, 20000])
def test_spgemm_long_rows(n_cols):
    """Output rows longer than the insertion-sort and bucket-sort limits sort correctly."""
    rng = np.random.default_rng(n_cols)
    a = sp.random(20, 300, density=0.5, format="csr", random_state=rng)
    b = sp.random(300, n_cols, density=min(1.0, 100 / n_cols), format="csr", random_state=rng)
    got = _spgemm_matches_scipy(a, b, n_cols)
    assert np.diff(got[0]).max() > (32 if n_cols < 20000 else 4096)


def _spgemm_matches_scipy(a, b, n_cols):
    """K.spgemm(a, b) on both executors equals SciPy's product with sorted indices."""
    got = both(K.spgemm, a.indptr, a.indices, a.data, b.indptr, b.indices, b.data, n_cols)
    ref = (a @ b).tocsr()
    ref.sort_indices()
    np.testing.assert_array_equal(got[0], ref.indptr)
    np.testing.assert_array_equal(got[1], ref.indices)
    np.testing.assert_allclose(got[2], ref.data, rtol=1e-12)
    return got


def test_spgemm_hash_and_dense_rows():
    """Rows of few products (the hash table: short and bucket-sorted rows, strided and
    narrow-band columns) and rows of many (the dense accumulator) in one product."""
    from lowering.kernels import sparse_numba
    rng = np.random.default_rng(3)
    n_inner, n_cols = 200, 6400
    lens = [0, 1, 5, 40, 100, 150, 3, 60]                # A row lengths: products = len * 20
    rows = np.repeat(np.arange(len(lens)), lens)
    cols = np.concatenate([rng.choice(n_inner, k, replace=False) for k in lens])
    a = sp.csr_array((rng.standard_normal(len(rows)), (rows, cols)), shape=(len(lens), n_inner))
    b_rows = np.repeat(np.arange(n_inner), 20)
    band = (np.arange(n_inner)[:, None] + np.arange(20)).ravel() % 300          # a narrow band
    strided = (rng.choice(n_cols // 64, (n_inner, 20)) * 64).ravel()              # multiples of 64
    b_cols = np.where(b_rows % 2 == 0, band, strided)
    b = sp.csr_array((rng.standard_normal(len(b_rows)), (b_rows, b_cols)), shape=(n_inner, n_cols))
    b.sum_duplicates()
    products = np.diff(b.indptr)[a.indices]
    per_row = np.add.reduceat(products, a.indptr[:-1]) * (np.diff(a.indptr) > 0)
    assert per_row.max() * 2 > sparse_numba.HASH_MAX and (per_row[per_row > 0] * 2 <= sparse_numba.HASH_MAX).any()
    _spgemm_matches_scipy(a, b, n_cols)


@pytest.mark.parametrize("k", [None, 1, 3, 16])
@pytest.mark.parametrize("trans", [False, True])
def test_products_with_prefetch(monkeypatch, k, trans):
    """The prefetching loops (taken when the gathered operand is larger than the cache)
    give the same sums as the plain ones: forced on here for small operands."""
    rng = np.random.default_rng(5)
    a = sp.random(300, 200, density=0.2, format="csr", random_state=rng)
    a.indptr[150:] = a.indptr[150]                      # a run of empty rows, then none
    a = sp.csr_array((a.data[:a.indptr[150]], a.indices[:a.indptr[150]], a.indptr), shape=a.shape)
    n = a.shape[0] if trans else a.shape[1]
    dense = rng.standard_normal(n if k is None else (n, k))
    out = np.empty((a.shape[1] if trans else a.shape[0],) + (() if k is None else (k,)))
    plain = both(K.compressed_matmul, trans, a.indptr, a.indices, a.data, dense, out.copy())
    monkeypatch.setattr(K, "SPMV_CACHED_BYTES", -1)
    fetched = both(K.compressed_matmul, trans, a.indptr, a.indices, a.data, dense, out.copy())
    np.testing.assert_array_equal(plain, fetched)
    np.testing.assert_allclose(fetched, (a.T if trans else a) @ dense, rtol=1e-12, atol=1e-12)
