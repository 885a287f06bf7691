"""Operations on arrayforge.sparse arrays against SciPy: element-wise work (scalars, sparse
and dense operands, zero-preserving functions), reductions, indexing, the namespace's
dispatch, structure methods, and laziness (value-wise work is recorded and fused)."""
import numpy as np
import pytest
import scipy.sparse as ss
from hypothesis import given, settings

import arrayforge as xp
from arrayforge import sparse
from sparse_strategies import assert_matches, dense, triplet_pairs, triplets

SETTINGS = settings(max_examples=30, deadline=None)


def both(t, fmt="csr"):
    data, row, col, shape = t
    return (getattr(sparse, f"{fmt}_array")((data, (row, col)), shape=shape),
            getattr(ss, f"{fmt}_array")((data, (row, col)), shape=shape))


@SETTINGS
@given(triplet_pairs())
def test_sparse_sparse_elementwise(pair):
    for fmt in ("csr", "csc"):
        a, A = both(pair[0], fmt)
        b, B = both(pair[1], fmt)
        assert_matches(a + b, A + B)
        assert_matches(a - b, A - B)
        assert_matches(a * b, A * B)
        assert_matches(a.multiply(b), A.multiply(B))
        assert (a + b).format == (A + B).format
        if a.dtype.kind != "c" and b.dtype.kind != "c":
            assert_matches(a.maximum(b), A.maximum(B))
            assert_matches(xp.minimum(a, b), A.minimum(B))
            assert_matches(a != b, A != B)
    a, A = both(pair[0], "coo")
    b, B = both(pair[1], "coo")
    assert_matches(a + b, A + B)
    assert_matches(a * b, A * B)


@SETTINGS
@given(triplets())
def test_scalar_elementwise_and_functions(t):
    a, A = both(t)
    assert_matches(a * 2, A * 2)
    assert_matches(2 * a, 2 * A)
    assert_matches(a / 4, A / 4)
    assert_matches(-a, -A)
    assert_matches(a ** 2, A ** 2)
    assert_matches(abs(a), abs(A))
    assert_matches(a.power(3), A.power(3))
    assert_matches(a * 0.5, A * 0.5)
    if a.dtype.kind != "c":
        assert_matches(a > 0, A > 0)
        assert_matches(xp.sign(a), A.sign())
    if a.dtype.kind == "f":
        for fn in ("sin", "tanh", "expm1", "floor", "ceil", "trunc"):
            assert_matches(getattr(xp, fn)(a), getattr(A, fn)())
        assert_matches(xp.sqrt(abs(a)), abs(A).sqrt())
        assert_matches(xp.log1p(abs(a)), abs(A).log1p())
        assert_matches(xp.round(a), A.rint())
    assert_matches(xp.square(a), A.power(2))
    assert_matches(xp.conj(a), A.conj())
    for fn in ("exp", "cos", "reciprocal"):
        if a.dtype.kind in "fc":
            with pytest.raises(ValueError, match="todense"):
                getattr(xp, fn)(a)
    with pytest.raises(ValueError, match="todense"):
        a + 1


@SETTINGS
@given(triplets(dtypes=[np.float64, np.int64]))
def test_dense_operands(t):
    a, A = both(t)
    rng = np.random.default_rng(0)
    D = rng.integers(-3, 4, a.shape).astype(np.float64)
    row = rng.integers(-3, 4, (a.shape[1],)).astype(np.float64)
    col = rng.integers(-3, 4, (a.shape[0], 1)).astype(np.float64)
    for d in (D, row, col):
        got = a * xp.asarray(d)
        assert isinstance(got, sparse.SparseArray)
        assert_matches(got, A.multiply(d))
        assert_matches(xp.asarray(d) * a, A.multiply(d))
        assert_matches(a.multiply(d), A.multiply(d))
    got = a + xp.asarray(D)
    assert not isinstance(got, sparse.SparseArray)
    np.testing.assert_allclose(np.asarray(got), A + D)
    np.testing.assert_allclose(np.asarray(xp.asarray(D) - a), D - A)


def _check_reduction(ours, theirs):
    if ss.issparse(theirs):
        theirs = theirs.toarray()
    got = dense(ours)
    ref = np.asarray(theirs)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    assert got.dtype == ref.dtype, (got.dtype, ref.dtype)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-5 if got.dtype in (np.float32, np.complex64) else 1e-12)


@SETTINGS
@given(triplets(dtypes=[np.float64, np.int64, np.int32, np.float32, np.complex128]))
def test_reductions_match_scipy(t):
    for fmt in ("csr", "csc", "coo"):
        a, A = both(t, fmt)
        for axis in (None, 0, 1, -1):
            _check_reduction(a.sum(axis=axis), A.sum(axis=axis))
            _check_reduction(a.count_nonzero(axis=axis), A.count_nonzero(axis=axis))
            if 0 not in a.shape:
                _check_reduction(a.mean(axis=axis), A.mean(axis=axis))
                if a.dtype.kind != "c":
                    _check_reduction(a.max(axis=axis), A.max(axis=axis))
                    _check_reduction(a.min(axis=axis), A.min(axis=axis))
                    _check_reduction(a.argmax(axis=axis), A.argmax(axis=axis))
                    _check_reduction(a.argmin(axis=axis), A.argmin(axis=axis))
        _check_reduction(xp.sum(a, axis=0), A.sum(axis=0))


@SETTINGS
@given(triplets(max_dim=8))
def test_indexing_matches_scipy(t):
    data, row, col, shape = t
    m, n = shape
    if m == 0 or n == 0:
        return
    rng = np.random.default_rng(len(data))
    rows = rng.integers(-m, m, 4)
    cols = rng.integers(-n, n, 3)
    mask = rng.random(m) < 0.5
    keys = [(1 % m, 2 % n), (-1, 0), 0, -1, (slice(None), 1 % n), slice(1, None, 2), slice(None, None, -1),
            (slice(0, m, 2), slice(n - 1, None, -2)), rows, (slice(None), cols), mask, (rows, slice(1, None)),
            (0, cols), (rows[:3], cols), (rows, cols[0])]
    for fmt in ("csr", "csc", "coo"):
        a, A = both(t, fmt)
        for key in keys:
            got, ref = a[key], A[key]
            if ss.issparse(ref):
                assert isinstance(got, sparse.SparseArray), key
                assert got.ndim == ref.ndim
            _check_reduction(got, ref)


def test_namespace_dispatch():
    d = np.array([[1.0, 0, -4], [0, 0, 9]])
    a, A = sparse.csr_array(d), ss.csr_array(d)
    assert_matches(xp.abs(a), abs(A))
    assert_matches(xp.multiply(a, a), A.multiply(A))
    assert_matches(xp.add(a, a), A + A)
    assert_matches(xp.astype(a, xp.float32), A.astype(np.float32))
    assert_matches(xp.sqrt(xp.abs(a)), abs(A).sqrt())
    assert_matches(xp.negative(a), -A)
    assert_matches(xp.permute_dims(a, (1, 0)), A.T)
    assert_matches(xp.matrix_transpose(a), A.T)
    _check_reduction(xp.sum(a), A.sum())
    _check_reduction(xp.sum(a, axis=1), A.sum(axis=1))
    _check_reduction(xp.max(a, axis=0), A.max(axis=0).toarray())
    _check_reduction(xp.argmax(a), A.argmax())
    _check_reduction(xp.count_nonzero(a), A.count_nonzero())
    _check_reduction(xp.mean(a), A.mean())
    for fn in (xp.exp, xp.cos, xp.isfinite):
        with pytest.raises(ValueError, match="todense"):
            fn(a)
    with pytest.raises(TypeError, match="todense"):
        xp.concat([a, a])
    with pytest.raises(TypeError, match="todense"):
        xp.cumulative_sum(a)


def test_value_work_is_lazy_and_fused(lazy):
    a = sparse.csr_array(ss.random_array((200, 100), density=0.05, format="csr", rng=4))
    b = abs(a) * 2 - a
    assert b._indices is a._indices and b._indptr is a._indptr     # same structure
    assert b.data._node.buffer is None                              # recorded, not run
    plan = xp.explain(b.data)
    assert len(plan.kernels) == 1                                   # one fused element-wise kernel
    ref = abs(a.to_scipy()) * 2 - a.to_scipy()
    assert_matches(b, ref)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "bsr", "dia", "dok", "lil"])
def test_every_format_operates(fmt, executor):
    d = np.array([[1.0, 0, 2, 0], [0, 0, 3, 0], [4, 5, 0, 0], [0, 0, 0, 6]])
    a = sparse.csr_array(d).asformat(fmt)
    A = ss.csr_array(d).asformat(fmt)
    assert_matches(a * 3, A * 3)
    assert_matches(abs(-a), abs(-A))
    assert_matches(a + a, A + A)
    _check_reduction(a.sum(axis=1), A.sum(axis=1))
    assert_matches(a[1:3], A.tocsr()[1:3])
    assert_matches(a.T, A.T)
    assert (a * 3).format == (A * 3).format or fmt == "coo"


@SETTINGS
@given(triplet_pairs(dtypes=(np.float64, np.int64, np.complex128)))
def test_products_match_scipy(pair):
    (data, row, col, shape), t2 = pair
    m, n = shape
    rng = np.random.default_rng(m * 10 + n)
    x = rng.integers(-3, 4, n).astype(np.float64)
    X = rng.integers(-3, 4, (n, 3)).astype(np.float64)
    Y = rng.integers(-3, 4, (2, m)).astype(np.float64)
    for fmt in ("csr", "csc", "coo"):
        a, A = both((data, row, col, shape), fmt)
        if fmt == "coo":
            A = A.tocsr()     # (SciPy's COO @ 1-D drops the length-1 result axis: shape ())
        assert_matches(a @ xp.asarray(x), A @ x)
        assert_matches(a @ xp.asarray(X), A @ X)
        assert_matches(xp.asarray(Y) @ a, Y @ A)
        assert_matches(xp.asarray(Y[0]) @ a, Y[0] @ A)
        assert_matches(a.T @ xp.asarray(Y[0]), A.T @ Y[0])
        assert_matches(xp.matmul(a, xp.asarray(X)), A @ X)
        assert_matches(xp.tensordot(a, xp.asarray(X), axes=1), A @ X)
        b, B = both((t2[0], t2[2], t2[1], (n, m)), fmt)      # (n, m): the transposed shape
        B = B.tocsr() if fmt == "coo" else B
        got = a @ b
        assert isinstance(got, sparse.SparseArray)
        assert_matches(got, A @ B)
        assert_matches(a @ a.T, A @ A.T)
    assert_matches(xp.vecdot(a.tocsr(), xp.asarray(x)), A.conj() @ x)


def test_spmv_epilogue_fuses(lazy):
    A = sparse.random(300, 200, density=0.02, format="csr", rng=5)
    x = xp.asarray(np.linspace(0, 1, 200))
    y = xp.asarray(np.linspace(1, 2, 300))
    out = A @ x * 2 + y
    plan = xp.explain(out)
    assert len(plan.kernels) <= 2, plan        # one SpMV kernel plus at most one fused epilogue
    np.testing.assert_allclose(np.asarray(out), A.to_scipy() @ np.asarray(x) * 2 + np.asarray(y))


def test_products_under_executors(executor):
    A = sparse.random(60, 40, density=0.1, format="csr", rng=6)
    S = A.to_scipy()
    x = np.arange(40.0)
    X = np.arange(120.0).reshape(40, 3)
    np.testing.assert_allclose(np.asarray(A @ xp.asarray(x)), S @ x)
    np.testing.assert_allclose(np.asarray(A @ xp.asarray(X)), S @ X)
    Y = np.arange(120.0).reshape(2, 60)
    np.testing.assert_allclose(np.asarray(xp.asarray(Y) @ A), Y @ S)
    np.testing.assert_allclose(np.asarray(xp.asarray(X.T) @ A.T), X.T @ S.T)
    np.testing.assert_allclose(dense(A @ A.T), (S @ S.T).toarray())
    np.testing.assert_allclose(dense((abs(A) * 2 + A) @ xp.asarray(x)), (abs(S) * 2 + S) @ x)
