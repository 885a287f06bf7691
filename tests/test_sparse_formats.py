"""arrayforge.sparse formats against SciPy: constructors, attributes, conversions, SciPy
interop, the builders, the constructor functions, and bad input."""
import numpy as np
import pytest
import scipy.sparse as ss
from hypothesis import given, settings, strategies as hst

import arrayforge as xp
from arrayforge import sparse
from sparse_strategies import assert_matches, dense, triplets

FORMATS = ["csr", "csc", "coo", "bsr", "dia", "dok", "lil"]
SETTINGS = settings(max_examples=40, deadline=None)


def test_textbook_example():
    # EXAMPLES.md section 6: duplicates are summed; shape with max_col + 1 columns
    row = np.array([0, 0, 1, 2, 2, 2])
    col = np.array([0, 2, 2, 0, 1, 2])
    data = np.array([1, 2, 3, 4, 5, 6])
    m = sparse.csr_array((data, (row, col)), shape=(3, col.max() + 1))
    ref = ss.csr_array((data, (row, col)), shape=(3, col.max() + 1))
    assert (m.shape, m.dtype, m.ndim, m.nnz, m.format) == (ref.shape, ref.dtype, 2, ref.nnz, "csr")
    np.testing.assert_array_equal(np.asarray(m.toarray()), ref.toarray())
    for f in ("tocoo", "tocsc", "todia", "todok", "tolil"):
        np.testing.assert_array_equal(dense(getattr(m, f)()), ref.toarray())
    np.testing.assert_array_equal(dense(m.tobsr(blocksize=(3, 3))), ref.toarray())
    lil = sparse.lil_array((1000, 1000))
    lil[3, 4] = 1.0
    assert lil.tocsr().nnz == 1 and float(lil.tocsr()[3, 4]) == 1.0


@SETTINGS
@given(triplets())
def test_construction_and_conversion_match_scipy(t):
    data, row, col, shape = t
    ref = ss.coo_array((data, (row, col)), shape=shape)
    for fmt in FORMATS:
        if fmt == "bsr":
            ours = sparse.bsr_array(sparse.coo_array((data, (row, col)), shape=shape))
        else:
            ours = getattr(sparse, f"{fmt}_array")((data, (row, col)), shape=shape) \
                if fmt not in ("dia", "dok", "lil") else \
                getattr(sparse, f"{fmt}_array")(sparse.coo_array((data, (row, col)), shape=shape))
        assert ours.format == fmt and ours.shape == shape and ours.dtype == data.dtype
        assert_matches(ours, ref)
        for target in FORMATS:
            conv = ours.asformat(target)
            assert conv.format == target
            assert_matches(conv, ref)
        assert_matches(ours.to_scipy(), ref)
        back = sparse.from_scipy(ours.to_scipy())
        assert back.format == fmt
        assert_matches(back, ref)


@SETTINGS
@given(triplets())
def test_compressed_attributes_match_scipy(t):
    data, row, col, shape = t
    for fmt in ("csr", "csc"):
        ref = getattr(ss, f"{fmt}_array")((data, (row, col)), shape=shape)
        ours = getattr(sparse, f"{fmt}_array")((data, (row, col)), shape=shape)
        assert ours.nnz == ref.nnz
        np.testing.assert_array_equal(np.asarray(ours.indptr), ref.indptr)
        np.testing.assert_array_equal(np.asarray(ours.indices), ref.indices)
        np.testing.assert_array_equal(np.asarray(ours.data), ref.data)
        assert ours.has_canonical_format
        # the (data, indices, indptr) form, unsorted within rows
        indptr, indices, vals = ref.indptr, ref.indices.copy(), ref.data.copy()
        for i in range(len(indptr) - 1):
            sl = slice(indptr[i], indptr[i + 1])
            indices[sl], vals[sl] = indices[sl][::-1], vals[sl][::-1]
        raw = getattr(sparse, f"{fmt}_array")((vals, indices, indptr), shape=shape)
        assert_matches(raw, ref)
        assert raw.has_canonical_format == (ref.nnz == 0 or all(
            indptr[i + 1] - indptr[i] <= 1 for i in range(len(indptr) - 1)))
        raw.sort_indices()
        assert raw.has_canonical_format
        assert_matches(raw, ref)


@SETTINGS
@given(triplets())
def test_coo_canonical_forms(t):
    data, row, col, shape = t
    ref = ss.coo_array((data, (row, col)), shape=shape)
    ours = sparse.coo_array((data, (row, col)), shape=shape)
    assert ours.nnz == ref.nnz
    np.testing.assert_array_equal(np.asarray(ours.row), ref.row)
    np.testing.assert_array_equal(np.asarray(ours.col), ref.col)
    ref.sum_duplicates()
    ours.sum_duplicates()
    assert ours.has_canonical_format and ours.nnz == ref.nnz
    np.testing.assert_array_equal(np.asarray(ours.row), ref.row)
    np.testing.assert_array_equal(np.asarray(ours.col), ref.col)
    np.testing.assert_allclose(np.asarray(ours.data), ref.data)
    ref.eliminate_zeros()
    ours.eliminate_zeros()
    assert ours.nnz == ref.nnz
    assert_matches(ours, ref)
    assert int(ours.count_nonzero()) == ref.count_nonzero()


def test_nd_coo():
    rng = np.random.default_rng(0)
    d = rng.integers(-2, 3, (3, 4, 5)).astype(float)
    d[d < 1] = 0
    ours, ref = sparse.coo_array(d), ss.coo_array(d)
    assert ours.shape == (3, 4, 5) and ours.nnz == ref.nnz
    assert_matches(ours, ref)
    assert_matches(ours.transpose(), ref.transpose())
    assert_matches(ours.reshape((12, 5)), ref.reshape((12, 5)))
    v = sparse.coo_array(np.array([0.0, 2.0, 0.0, 3.0]))
    assert v.ndim == 1 and v.nnz == 2
    assert_matches(v, ss.coo_array(np.array([0.0, 2.0, 0.0, 3.0])))


@pytest.mark.parametrize("fmt", FORMATS)
def test_constructor_forms(fmt):
    d = np.array([[0, 1.5, 0, 0], [2, 0, 0, 0], [0, 0, 0, 3], [0, 0, 0, 0]])
    cls = getattr(sparse, f"{fmt}_array")
    ref = getattr(ss, f"{fmt}_array")(d)
    for arg in (d, xp.asarray(d), ref, getattr(ss, f"{fmt}_matrix")(d), sparse.csr_array(d)):
        assert_matches(cls(arg), ref)
    empty = cls((4, 4))
    assert empty.shape == (4, 4) and empty.nnz == 0 and empty.dtype == np.float64
    assert_matches(empty, getattr(ss, f"{fmt}_array")((4, 4)))
    assert cls(d, dtype=np.float32).dtype == np.float32
    assert cls(d.astype(np.int32)).dtype == np.int32


def test_bsr_and_dia_native_forms():
    data = np.arange(1, 13, dtype=float).reshape(3, 2, 2)
    indices, indptr = np.array([0, 2, 1]), np.array([0, 2, 3])
    ours = sparse.bsr_array((data, indices, indptr), shape=(4, 6))
    ref = ss.bsr_array((data, indices, indptr), shape=(4, 6))
    assert ours.blocksize == (2, 2) and ours.nnz == ref.nnz
    assert_matches(ours, ref)
    assert_matches(ours.tocsr(), ref.tocsr())
    assert_matches(ours.T, ref.T)
    dd = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=float)
    ours = sparse.dia_array((dd, [0, -1]), shape=(4, 4))
    ref = ss.dia_array((dd, [0, -1]), shape=(4, 4))
    assert ours.nnz == ref.nnz
    assert_matches(ours, ref)
    assert_matches(ours * 2, ref * 2)
    np.testing.assert_array_equal(np.asarray(ours.offsets), ref.offsets)


def test_scipy_interop_shares_buffers():
    m = ss.random_array((50, 40), density=0.1, format="csr", rng=1)
    ours = sparse.from_scipy(m)
    assert np.shares_memory(np.asarray(ours.indices), m.indices)
    assert np.shares_memory(np.asarray(ours.data), m.data)
    back = ours.to_scipy()
    assert isinstance(back, ss.csr_array)
    assert np.shares_memory(back.indptr, m.indptr) and np.shares_memory(back.data, m.data)
    coo = sparse.from_scipy(m.tocoo())
    assert np.shares_memory(np.asarray(coo.row), m.tocoo().row) or coo.nnz == m.nnz
    assert_matches(coo.to_scipy(), m)


def test_never_densify():
    A = sparse.csr_array(np.eye(3))
    with pytest.raises(TypeError, match="toarray"):
        np.asarray(A)
    with pytest.raises(ValueError, match="todense"):
        xp.exp(A)
    with pytest.raises(ValueError, match="todense"):
        A + 1
    with pytest.raises(ValueError, match="todense"):
        xp.cos(A)
    with pytest.raises(TypeError):
        len(A)
    assert A.__array_namespace__() is xp


def test_builders_match_scipy():
    ours, ref = sparse.lil_array((5, 6)), ss.lil_array((5, 6))
    for x in (ours, ref):
        x[3, 4] = 1.0
        x[1, :] = np.arange(6)
        x[:, 2] = 7
        x[0:2, 3:5] = np.array([[9, 8], [7, 6]])
        x[[4, 4], [0, 5]] = -1
        x[1, 1] = 0
    assert_matches(ours, ref)
    assert ours.nnz == ref.nnz
    assert_matches(ours.tocsr(), ref.tocsr())
    assert ours[1, 5] == ref[1, 5]
    assert_matches(ours[1:3], ref[1:3])
    dok, dref = sparse.dok_array((4, 4), dtype=np.int64), ss.dok_array((4, 4), dtype=np.int64)
    for x in (dok, dref):
        x[0, 1] = 2
        x[0, 1] += 3
        x[2, 3] += 1
        x[:, 0] = 4
        x[2, 0] = 0
    assert_matches(dok, dref)
    assert dok.nnz == dref.nnz and dict(dok.items()) == dict(dref.items())
    assert_matches(dok.tocsr(), dref.tocsr())
    with pytest.raises(IndexError):
        dok[4, 0] = 1
    with pytest.raises(IndexError):
        ours[0, -7] = 1


def test_constructor_functions_match_scipy():
    A = ss.random_array((4, 3), density=0.5, format="csr", rng=2)
    B = ss.random_array((2, 5), density=0.5, format="coo", rng=3)
    a, b = sparse.from_scipy(A), sparse.from_scipy(B)
    assert_matches(sparse.kron(a, b), ss.kron(A, B))
    assert_matches(sparse.hstack([a, a]), ss.hstack([A, A]))
    assert_matches(sparse.vstack([a, sparse.csr_array(A[:2])]), ss.vstack([A, A[:2]]))
    assert sparse.hstack([a, a]).format == ss.hstack([A, A]).format
    assert_matches(sparse.block_diag([a, b]), ss.block_diag([A, B]))
    assert_matches(sparse.eye(3, 5, k=1), ss.eye_array(3, 5, k=1))
    assert sparse.eye(3).format == ss.eye_array(3).format
    assert_matches(sparse.identity(4, format="csr"), ss.identity(4, format="csr"))
    assert_matches(sparse.diags([[1, 2, 3], [4, 5]], [0, 1]), ss.diags_array([[1., 2, 3], [4, 5]], offsets=[0, 1]))
    assert_matches(sparse.diags_array([1.0, 2.0], offsets=[0, -2], shape=(4, 4)),
                   ss.diags_array([1.0, 2.0], offsets=[0, -2], shape=(4, 4)))
    r = sparse.random(30, 20, density=0.1, format="csr", rng=0, dtype=np.float32)
    assert r.format == "csr" and r.nnz == 60 and r.dtype == np.float32 and r.has_canonical_format


def test_methods():
    d = np.array([[1, 0, -2], [0, 0, 3], [4j, 0, 0]])
    ours, ref = sparse.csr_array(d), ss.csr_array(d)
    assert_matches(ours.conj(), ref.conj())
    assert_matches(ours.T, ref.T)
    assert ours.T.format == "csc"
    assert_matches(ours.real, ref.real)
    assert_matches(ours.imag, ref.imag)
    assert_matches(ours.astype(np.complex64), ref.astype(np.complex64))
    c = ours.copy()
    assert c is not ours and c.nnz == ours.nnz
    assert_matches(ours.diagonal(), ref.diagonal())
    assert_matches(ours.diagonal(1), ref.diagonal(1))
    assert complex(ours.trace()) == ref.trace()
    r, k = ours.nonzero(), ref.nonzero()
    np.testing.assert_array_equal(np.asarray(r[0]), k[0])
    np.testing.assert_array_equal(np.asarray(r[1]), k[1])
    for x in (ours, ref):
        x.setdiag(5, k=0)
    assert_matches(ours, ref)
    for x in (ours, ref):
        x.resize((2, 4))
    assert_matches(ours, ref)
    assert_matches(ours.reshape((4, 2)), ref.reshape((4, 2)))


BAD = [
    (lambda: sparse.csr_array(([1.0], ([0], [3])), shape=(2, 3)), IndexError),
    (lambda: sparse.csr_array(([1.0], ([-1], [0])), shape=(2, 3)), IndexError),
    (lambda: sparse.coo_array(([1.0, 2.0], ([0], [0])), shape=(2, 3)), ValueError),
    (lambda: sparse.csr_array(([1.0, 2.0], [0], [0, 1, 1]), shape=(2, 3)), ValueError),
    (lambda: sparse.csr_array(([1.0], [0], [0, 1]), shape=(2, 3)), ValueError),
    (lambda: sparse.csr_array(([1.0, 2.0], [0, 1], [0, 2, 1, 2]), shape=(3, 3)), ValueError),
    (lambda: sparse.csr_array(([1.0], [5], [0, 1, 1]), shape=(2, 3)), IndexError),
    (lambda: sparse.csc_array(([1.0], [2], [0, 1, 1, 1]), shape=(2, 3)), IndexError),
    (lambda: sparse.csr_array(([1.0], [0], [1, 1, 1]), shape=(2, 3)), ValueError),
    (lambda: sparse.csr_array((np.ones(200), np.zeros(200, np.int8), np.array([0, 100, 200], np.uint8)),
                              shape=(2, 3)), ValueError),
    (lambda: sparse.csr_array(np.eye(4)).tobsr(blocksize=(3, 3)), ValueError),
    (lambda: sparse.bsr_array((np.ones((1, 2, 2)), [0], [0, 1]), shape=(3, 4)), ValueError),
    (lambda: sparse.dia_array((np.ones((2, 3)), [0, 0]), shape=(3, 3)), ValueError),
    (lambda: sparse.dia_array((np.ones((2, 3)), [0]), shape=(3, 3)), ValueError),
    (lambda: sparse.coo_array(([1.0], ([0], [0], [0])), shape=(2, 2)), ValueError),
    (lambda: sparse.csr_array(([1.0], ([0.5], [0])), shape=(2, 3)), TypeError),
    (lambda: sparse.csr_array(np.eye(2)) + sparse.csr_array(np.eye(3)), ValueError),
    (lambda: sparse.csr_array(np.eye(2)) @ np.ones(3), ValueError),
    (lambda: sparse.csr_array(np.eye(2))[2, 0], IndexError),
    (lambda: sparse.csr_array(np.eye(2))[:, [0, 5]], IndexError),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_input(i):
    fn, exc = BAD[i]
    with pytest.raises(exc):
        fn()


def test_conversions_keep_lazy_values(lazy):
    # duplicates and unsorted input with values that are recorded work, not buffers: the
    # conversions permute and sum them lazily (a gather and a segment sum in the plan)
    rng = np.random.default_rng(7)
    for m, n, nnz in ((5, 4, 30), (1, 1, 3), (6, 6, 0), (8, 3, 5)):
        row, col = rng.integers(0, m, nnz), rng.integers(0, n, nnz)
        data = rng.integers(-4, 5, nnz).astype(float)
        ours = sparse.coo_array((data, (row, col)), shape=(m, n)) * 3
        assert ours.data._node.buffer is None or nnz == 0
        ref = ss.coo_array((data, (row, col)), shape=(m, n)) * 3
        for fmt in ("csr", "csc"):
            conv = ours.asformat(fmt)
            assert conv.has_canonical_format
            assert_matches(conv, ref.asformat(fmt))
            assert_matches(conv.asformat("csr" if fmt == "csc" else "csc"), ref)
        vals = np.array([1.0, -2.0, 3.0])
        unsorted = sparse.csr_array((vals, [2, 0, 1], [0, 3] + [3] * (m - 1)), shape=(m, 3)) * 2
        unsorted.sort_indices()
        assert unsorted.has_canonical_format
        assert_matches(unsorted, ss.csr_array((vals, [2, 0, 1], [0, 3] + [3] * (m - 1)), shape=(m, 3)) * 2)


def test_bsr_keeps_its_blocksize():
    d = np.kron(np.eye(3), np.ones((2, 2)))
    d[0, 1] = 0
    # (SciPy's bsr_array.setdiag raises AttributeError: compare with its CSR)
    ours, ref = sparse.bsr_array(d, blocksize=(2, 2)), ss.csr_array(d)
    for x in (ours, ref):
        x.setdiag(0)
        x.eliminate_zeros()
        x.sum_duplicates()
    assert ours.format == "bsr" and ours.blocksize == (2, 2)
    assert_matches(ours, ref)
    assert (ours * 2).blocksize == (2, 2) and ours.T.blocksize == (2, 2)
    assert ours.reshape((4, 9)).format == "bsr"


def test_compute_and_explain_values(lazy):
    a = sparse.csr_array(np.eye(4)) * 3
    assert len(xp.explain(a.data).kernels) == 1
    assert len(xp.explain(a).kernels) == 1              # explain/compute take sparse arrays too
    assert a.compute() is a and a.data._node.buffer is not None
    b = a * 2
    assert xp.compute(b) is b and b.data._node.buffer is not None


def test_transpose_and_copy_share_or_not():
    d = np.array([[1.0, 0, 2], [0, 3, 0]])
    a = sparse.csr_array(d)
    t = a.T
    assert t.format == "csc" and t._indices is a._indices and t._indptr is a._indptr   # no copy
    assert t.T.format == "csr" and t.T._indices is a._indices
    indptr, indices, data = np.array([0, 2, 3]), np.array([0, 2, 1]), np.array([1.0, 2, 3])
    shared = sparse.csr_array((data, indices, indptr), shape=(2, 3))
    copied = sparse.csr_array((data, indices, indptr), shape=(2, 3), copy=True)
    assert np.shares_memory(np.asarray(shared.data), data)
    assert not np.shares_memory(np.asarray(copied.data), data)
    assert not np.shares_memory(np.asarray(copied.indices), indices)


@SETTINGS
@given(hst.data())
def test_builders_random_edits_match_scipy(data):
    m, n = data.draw(hst.integers(1, 6)), data.draw(hst.integers(1, 6))
    fmt = data.draw(hst.sampled_from(["lil", "dok"]))
    ours, ref = getattr(sparse, f"{fmt}_array")((m, n)), getattr(ss, f"{fmt}_array")((m, n))
    for _ in range(data.draw(hst.integers(0, 12))):
        kind = data.draw(hst.sampled_from(["point", "add", "row", "col", "zero"]))
        i, j = data.draw(hst.integers(-m, m - 1)), data.draw(hst.integers(-n, n - 1))
        v = float(data.draw(hst.integers(-3, 3)))
        for x in (ours, ref):
            if kind == "point":
                x[i, j] = v
            elif kind == "add":
                x[i, j] += v
            elif kind == "row":
                x[i, :] = np.arange(n) * v
            elif kind == "col":
                x[:, j] = v
            else:
                x[i, j] = 0
    assert ours.nnz == ref.nnz
    assert_matches(ours, ref)
    assert_matches(ours.tocsr(), ref.tocsr())


@SETTINGS
@given(triplets(max_dim=3), hst.integers(1, 3), hst.integers(1, 3))
def test_bsr_blocksizes_match_scipy(t, R, C):
    data, row, col, (m, n) = t
    shape = (m * R, n * C)        # divisible by the block size
    ref = ss.csr_array((data, (row * R, col * C)), shape=shape)
    ours = sparse.csr_array((data, (row * R, col * C)), shape=shape).tobsr(blocksize=(R, C))
    want = ref.tobsr(blocksize=(R, C))
    assert ours.blocksize == want.blocksize and ours.nnz == want.nnz
    assert_matches(ours, want)
    assert_matches(ours.tocsc(), want.tocsc())
    assert_matches(ours.to_scipy(), want)
