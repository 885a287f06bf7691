"""N-D COO arrays and the namespace's reductions against SciPy 1.17 (and NumPy's dense result
where SciPy has none): reductions over any axes, ``keepdims`` and ``axis=()``, element-wise work
over N-D patterns."""
import numpy as np
import pytest
import scipy.sparse as ss
from hypothesis import given, settings

import arrayforge as xp
from arrayforge import sparse
from sparse_strategies import assert_matches, dense, nd_triplets, triplets

SETTINGS = settings(max_examples=25, deadline=None)

AXES_3D = [0, 1, 2, -1, -3, (0, 1), (0, 2), (1, 2), (2, 0), (-1, 1), (0, 1, 2), None]


def nd_both(t):
    data, coords, shape = t
    return sparse.coo_array((data, coords), shape=shape), ss.coo_array((data, coords), shape=shape)


def check(ours, ref):
    """Same shape, dtype and values as SciPy's (or NumPy's) result; sparse where it is sparse."""
    if ss.issparse(ref):
        assert isinstance(ours, sparse.SparseArray) and ours.format == ref.format
    got, want = dense(ours), ref.toarray() if ss.issparse(ref) else np.asarray(ref)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    tol = 1e-5 if got.dtype in (np.float32, np.complex64) else 1e-12
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=tol)


@SETTINGS
@given(nd_triplets())
def test_nd_reductions_match_scipy(t):
    a, A = nd_both(t)
    D = A.toarray()
    for axis in AXES_3D:
        check(a.sum(axis=axis), A.sum(axis=axis))
        # Note: NumPy's count (SciPy 1.17's N-D COO counts along the other axes)
        check(a.count_nonzero(axis=axis), np.count_nonzero(D, axis=axis))
        if D.size:
            check(a.mean(axis=axis), A.mean(axis=axis))
            check(a.max(axis=axis), A.max(axis=axis))
            check(a.min(axis=axis), A.min(axis=axis))
            check(a.argmax(axis=axis), A.argmax(axis=axis))
            check(a.argmin(axis=axis), A.argmin(axis=axis))
        else:
            with pytest.raises(ValueError):
                a.max(axis=axis)


def test_nd_reduction_errors():
    a = sparse.coo_array(np.arange(24.0).reshape(2, 3, 4))
    with pytest.raises(np.exceptions.AxisError):
        a.sum(axis=3)
    with pytest.raises(np.exceptions.AxisError):
        a.max(axis=(0, -4))
    with pytest.raises(ValueError, match="duplicate"):
        a.sum(axis=(1, -2))
    with pytest.raises(ValueError, match="0D axis"):      # SciPy's methods refuse axis=()
        a.sum(axis=())


def test_nd_reductions_under_executors(executor):
    rng = np.random.default_rng(3)
    D = np.where(rng.random((5, 6, 7)) < 0.3, rng.standard_normal((5, 6, 7)), 0.0)
    a, A = sparse.coo_array(D), ss.coo_array(D)
    for axis in (1, (0, 2), (2, 0)):
        check(a.sum(axis=axis), A.sum(axis=axis))
        check(a.max(axis=axis), A.max(axis=axis))
        check(a.argmin(axis=axis), A.argmin(axis=axis))
        check(xp.mean(a, axis=axis, keepdims=True), np.mean(D, axis=axis, keepdims=True))


REDUCTIONS = ["sum", "mean", "max", "min", "argmax", "argmin", "count_nonzero"]


@SETTINGS
@given(triplets(max_dim=5, dtypes=[np.float64, np.float32]))
def test_keepdims_matches_numpy(t):
    data, row, col, shape = t
    D = ss.coo_array((data, (row, col)), shape=shape).toarray()
    for fmt in ("csr", "csc", "coo"):
        a = sparse.coo_array((data, (row, col)), shape=shape).asformat(fmt)
        for name in REDUCTIONS:
            for axis in (None, 0, 1, -1):
                if D.size == 0 and name not in ("sum", "count_nonzero"):
                    continue
                got = getattr(xp, name)(a, axis=axis, keepdims=True)
                check(got, getattr(np, name)(D, axis=axis, keepdims=True))
                assert not isinstance(got, sparse.SparseArray)


def test_keepdims_nd_and_axis_tuples():
    rng = np.random.default_rng(4)
    D = np.where(rng.random((3, 4, 5)) < 0.4, rng.integers(-3, 4, (3, 4, 5)), 0).astype(np.float64)
    a = sparse.coo_array(D)
    for name in ("sum", "mean", "max", "min", "count_nonzero"):
        for axis in ((0, 2), (-1,), 1, None, (0, 1, 2)):
            check(getattr(xp, name)(a, axis=axis, keepdims=True), getattr(np, name)(D, axis=axis, keepdims=True))
            check(getattr(xp, name)(a, axis=axis), getattr(np, name)(D, axis=axis))
    for name in ("argmax", "argmin"):
        check(getattr(xp, name)(a, axis=1, keepdims=True), getattr(np, name)(D, axis=1, keepdims=True))
        with pytest.raises(TypeError, match="integer or None"):
            getattr(xp, name)(a, axis=(0, 1))


def test_reduction_over_no_axes_is_the_identity():
    D = np.array([[1, 0, 2], [0, 0, -3]], np.int32)
    a = sparse.csr_array(D)
    s = xp.sum(a, axis=())
    assert isinstance(s, sparse.SparseArray) and s.format == "csr"
    check(s, D.astype(np.int64))                       # the sum's dtype, values unchanged
    assert s.data is not a.data                        # a copy
    check(xp.sum(a, axis=(), dtype=xp.float32), D.astype(np.float32))
    for name in ("max", "min"):
        check(getattr(xp, name)(a, axis=()), ss.csr_array(D))
    f = a.astype(np.float64)
    check(xp.mean(f, axis=(), keepdims=True), ss.csr_array(D.astype(np.float64)))
    check(xp.count_nonzero(a, axis=()), ss.csr_array((D != 0).astype(np.int64)))
    with pytest.raises(TypeError, match="floating-point"):
        xp.mean(a, axis=())
    with pytest.raises(TypeError, match="integer or None"):
        xp.argmax(a, axis=())


# ---- element-wise work on N-D patterns


@SETTINGS
@given(nd_triplets(dtypes=(np.float64, np.int64)), nd_triplets(dtypes=(np.float64, np.int64), shape=(3, 2, 4)))
def test_nd_elementwise_matches_scipy(t, u):
    a, A = nd_both(t)
    check(a * 2, A * 2)
    check(-a, -A)
    check(abs(a), abs(A))
    check(a / 4, A / 4)
    check(a ** 2, A ** 2)
    check(xp.square(a), A.power(2))
    check(a > 0, A > 0)
    if a.dtype.kind == "f":
        check(xp.sin(a), A.sin())
        check(xp.sqrt(abs(a)), abs(A).sqrt())
    for fn in (xp.exp, xp.cos):
        with pytest.raises(ValueError, match="todense"):
            fn(a.astype(xp.float64))
    with pytest.raises(ValueError, match="todense"):
        a + 1
    b, B = nd_both(u)
    c, C = nd_both((u[0][::-1].copy(), tuple(x[::-1].copy() for x in u[1]), u[2]))
    for x, X in ((b, B), (c, C)):
        check(b + x, B + X)
        check(b - x, B - X)
        check(b * x, B * X)
        check(b.multiply(x), B.multiply(X))
        check(b.maximum(x), B.maximum(X))
        check(xp.minimum(b, x), B.minimum(X))
        check(b != x, B != X)
    E = np.arange(24, dtype=np.float64).reshape(3, 2, 4) - 10
    check(b * xp.asarray(E), B.multiply(E))
    check(xp.asarray(E) * b, B.multiply(E))
    got = b + xp.asarray(E)
    assert not isinstance(got, sparse.SparseArray)
    check(got, B + E)


def test_nd_elementwise_broadcast_and_errors(executor):
    rng = np.random.default_rng(5)
    D = np.where(rng.random((2, 3, 4)) < 0.5, rng.standard_normal((2, 3, 4)), 0.0)
    a = sparse.coo_array(D)
    for d in (D[0], D[:, :1, :], np.float64(2.0) + D[0, 0]):
        got = a * xp.asarray(d)            # broadcasting as pydata/sparse (SciPy: N-D refuses)
        assert isinstance(got, sparse.SparseArray)
        check(got, D * d)
    with pytest.raises(ValueError, match="inconsistent shapes"):
        a + sparse.coo_array(D[0])
    check(a + a, ss.coo_array(D) + ss.coo_array(D))


# ---- tensordot and vecdot beyond axes=1

TENSORDOT_2D = [0, 1, 2, ([0], [0]), ([1], [1]), ([0], [1]), ([-1], [-2]), ([0, 1], [0, 1]), ([1, 0], [0, 1]),
                ([1, 0], [1, 0])]


def _dense_of(x):
    return x if isinstance(x, np.ndarray) else dense(x)


def _check_tensordot(p, q, axes):
    """Ours against NumPy's dense result, or the same ValueError where NumPy refuses."""
    try:
        np.tensordot(_dense_of(p), _dense_of(q), axes=axes)
    except ValueError:
        with pytest.raises(ValueError):
            xp.tensordot(xp.asarray(p) if isinstance(p, np.ndarray) else p,
                         xp.asarray(q) if isinstance(q, np.ndarray) else q, axes=axes)
        return
    ours = xp.tensordot(xp.asarray(p) if isinstance(p, np.ndarray) else p,
                        xp.asarray(q) if isinstance(q, np.ndarray) else q, axes=axes)
    ref = np.tensordot(_dense_of(p), _dense_of(q), axes=axes)
    if isinstance(p, sparse.SparseArray) and isinstance(q, sparse.SparseArray) and ref.ndim or axes == 0:
        assert isinstance(ours, sparse.SparseArray), axes      # sparse x sparse, outer products: sparse
    else:
        assert not isinstance(ours, sparse.SparseArray), axes
    check(ours, ref)


@settings(max_examples=8, deadline=None)
@given(triplets(max_dim=5, dtypes=[np.float64, np.int64, np.complex128]))
def test_tensordot_any_axes(t):
    data, row, col, shape = t
    m, n = shape
    rng = np.random.default_rng(m * 7 + n)
    S = ss.coo_array((data, (row, col)), shape=shape).toarray()
    dense_ops = {0: rng.integers(-3, 4, (2, 3)).astype(np.float64), 1: rng.integers(-3, 4, (n, 2)).astype(np.float64)}
    for fmt in ("csr", "csc", "coo"):
        a = sparse.coo_array((data, (row, col)), shape=shape).asformat(fmt)
        b = sparse.csr_array(S.T * 2 + 1 * (S.T != 0))       # the transposed shape, another pattern
        for axes in TENSORDOT_2D:
            for q in (S.copy(), S.T.copy(), a, b, dense_ops[0], dense_ops[1], S.reshape(m, n, 1) + 1.0):
                _check_tensordot(a, q, axes)
                if isinstance(q, np.ndarray) and q.ndim == 2:
                    _check_tensordot(q.T.copy(), a, axes)


def test_tensordot_nd_and_errors(executor):
    rng = np.random.default_rng(7)
    D = np.where(rng.random((3, 4, 5)) < 0.4, rng.standard_normal((3, 4, 5)), 0.0)
    a = sparse.coo_array(D)
    X = rng.standard_normal((5, 4))
    for axes in (([2, 1], [0, 1]), 1):
        _check_tensordot(a, X, axes)
    _check_tensordot(a, X.T.copy(), ([1], [1]))
    _check_tensordot(a, sparse.coo_array(D), ([0, 1, 2], [0, 1, 2]))
    _check_tensordot(a, sparse.coo_array(D), ([0], [0]))
    _check_tensordot(sparse.csr_array(D[0]), a, 0)
    with pytest.raises(ValueError, match="shape mismatch"):
        xp.tensordot(a, xp.asarray(X), axes=([0], [0]))
    with pytest.raises(ValueError, match="axes"):
        xp.tensordot(a, xp.asarray(X), axes=4)
    with pytest.raises(ValueError, match="different lengths"):
        xp.tensordot(a, xp.asarray(X), axes=([2, 1], [0]))
    with pytest.raises(ValueError, match="out of bounds"):
        xp.tensordot(a, xp.asarray(X), axes=([3], [0]))
    A = sparse.csr_array(D[0])
    assert sparse._ops._as_matrix(A, [1], [0])._indptr is A._indptr     # A.T: no transpose work


def test_vecdot_any_axis(executor):
    rng = np.random.default_rng(8)
    D = np.where(rng.random((4, 3)) < 0.5, rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3)), 0)
    E = np.where(rng.random((4, 3)) < 0.5, rng.standard_normal((4, 3)), 0.0)
    a, b = sparse.csr_array(D), sparse.csc_array(E)
    for x2 in (E, b, E[:, :1], E[0]):
        for axis in (-1, -2, 0, 1):
            q = x2 if isinstance(x2, sparse.SparseArray) else xp.asarray(x2)
            try:
                ref = np.asarray(xp.vecdot(xp.asarray(D), xp.asarray(_dense_of(x2)), axis=axis))
            except ValueError:
                with pytest.raises(ValueError):
                    xp.vecdot(a, q, axis=axis)
                continue
            check(xp.vecdot(a, q, axis=axis), ref)
    N = np.where(rng.random((2, 3, 4)) < 0.5, rng.standard_normal((2, 3, 4)), 0.0)
    check(xp.vecdot(sparse.coo_array(N), xp.asarray(N[0]), axis=-2), np.sum(N * N[0], axis=-2))


# ---- indexing: N-D COO, multi-dimensional index arrays, 2-D and sparse masks


def _nd_keys(shape, rng):
    m, n, p = shape
    r2 = rng.integers(-m, m, (2, 3))
    c1 = rng.integers(-n, n, 3)
    return [1 % m, -1, (0, 1 % n), (0, 1 % n, -1), (slice(None), 1 % n), (slice(1, None), slice(None), -1),
            (Ellipsis, 0), slice(None, None, -1), (0, slice(0, n, 2), slice(None, None, -2)), ([0, m - 1],),
            (r2,), (r2, slice(None), 0), (slice(None), c1, [0]), (r2[0], c1), (0, c1, c1 % p), (None, 0),
            (slice(None), None, 1 % n), rng.random(shape) < 0.4, (rng.random((m, n)) < 0.5, slice(1, None)),
            (Ellipsis, rng.random(p) < 0.5), (slice(None), [[0], [n - 1]], [0, p - 1])]


@SETTINGS
@given(nd_triplets(max_dim=4))
def test_nd_indexing_matches_scipy(t):
    a, A = nd_both(t)
    if 0 in a.shape:
        return
    D = A.toarray()
    rng = np.random.default_rng(sum(a.shape))
    for key in _nd_keys(a.shape, rng):
        got, ref = a[key], A[key]
        check(got, ref)
        np.testing.assert_array_equal(dense(got), D[key])


@SETTINGS
@given(triplets(max_dim=6))
def test_2d_masks_and_index_arrays_match_scipy(t):
    data, row, col, shape = t
    m, n = shape
    if m == 0 or n == 0:
        return
    rng = np.random.default_rng(m * 10 + n)
    mask = rng.random(shape) < 0.5
    mask[0, 0] = True         # (SciPy 1.17 gives an empty selection from a CSR as COO, not dense)
    R, K = rng.integers(-m, m, (2, 3)), rng.integers(-n, n, (2, 3))
    keys = [mask, (R, K), (R, 0), (-1, K), (R, K[0]), (R[:, :1], K[0]), (rng.random(m) < 0.5, K[:1, :1]),
            (None, 0), (0, None)]
    for fmt in ("csr", "csc", "coo"):
        a = sparse.coo_array((data, (row, col)), shape=shape).asformat(fmt)
        A = ss.coo_array((data, (row, col)), shape=shape).asformat(fmt)
        for key in keys:
            check(a[key], A[key])
        check(a[sparse.csr_array(mask)], A[ss.csr_array(mask)])
        check(a[xp.asarray(mask)], A[mask])
        if fmt != "coo":        # SciPy: >2-D results only from COO
            for key in ((R, slice(None)), R, (slice(None), K), (slice(None), None)):
                with pytest.raises(IndexError, match="COO"):
                    a[key]
        else:
            check(a[R], A[R])
            check(a[slice(None), K], A[slice(None), K])


def test_general_indexing_errors_and_laziness(lazy):
    D = np.arange(24.0).reshape(2, 3, 4) % 5
    a = sparse.coo_array(D)
    with pytest.raises(IndexError, match="out of bounds"):
        a[2]
    with pytest.raises(IndexError, match="out of bounds"):
        a[:, [0, 3]]
    with pytest.raises(IndexError, match="too many"):
        a[0, 0, 0, 0]
    with pytest.raises(IndexError, match="boolean index"):
        a[np.ones((3, 3), bool)]
    with pytest.raises(IndexError, match="broadcast"):
        a[[0, 1], :, [0, 1, 2]]
    with pytest.raises(IndexError, match="integer or boolean"):
        a[np.array([0.5])]
    with pytest.raises(IndexError, match="boolean mask"):
        a[sparse.coo_array(D)]
    b = a * 2
    got = b[:, [2, 0], 1:]
    assert got.data._node.buffer is None          # the values are gathered lazily
    np.testing.assert_array_equal(dense(got), (D * 2)[:, [2, 0], 1:])
    s = b[1, 2, 3]                                  # one entry: a 0-d dense array
    assert not isinstance(s, sparse.SparseArray) and s.shape == ()
    assert float(s) == D[1, 2, 3] * 2


# ---- what used to raise NotImplementedError: explicit argmax/argmin, reshape order="F", round(A, n)


@SETTINGS
@given(triplets(max_dim=6, dtypes=[np.float64, np.int64]))
def test_explicit_arg_extrema_match_scipy(t):
    data, row, col, shape = t
    for fmt in ("csr", "csc", "coo"):
        if 0 in shape:
            return
        a = sparse.coo_array((data, (row, col)), shape=shape).asformat(fmt)
        A = ss.coo_array((data, (row, col)), shape=shape).asformat(fmt)
        for op in ("argmax", "argmin"):
            for axis in (0, 1, -1):
                check(getattr(a, op)(axis=axis, explicit=True), getattr(A, op)(axis=axis, explicit=True))
            S = A.tocoo()
            S.sum_duplicates()
            if S.nnz == 0:
                with pytest.raises(ValueError, match="explicit"):
                    getattr(a, op)(explicit=True)
                continue
            # Note: the flat index of the stored extremum (SciPy 1.17 gives its data position)
            k = getattr(np, op)(S.data)
            assert int(getattr(a, op)(explicit=True)) == S.row[k] * shape[1] + S.col[k]


def test_reshape_order_f_and_round_digits():
    rng = np.random.default_rng(10)
    D = np.where(rng.random((3, 4)) < 0.5, rng.standard_normal((3, 4)) * 100, 0)
    for fmt in ("csr", "coo"):
        a, A = sparse.csr_array(D).asformat(fmt), ss.csr_array(D).asformat(fmt)
        for shape in ((12,), (2, 6), (4, 3), (2, 3, 2)):
            if len(shape) > 2 and fmt != "coo":
                continue
            # (values only: SciPy 1.17 gives every reshape as COO, ours keeps a 2-D CSR a CSR)
            check(dense(a.reshape(shape, order="F")), A.reshape(shape, order="F").toarray())
        for nd in (1, 2, -1):
            check(round(a, nd), round(A, nd))
    with pytest.raises(ValueError, match="order"):
        a.reshape((12,), order="A")
    N = np.arange(24.0).reshape(2, 3, 4)
    check(sparse.coo_array(N).reshape((4, 6), order="F"), ss.coo_array(N).reshape((4, 6), order="F"))
    I = np.array([[15, 0, 25, -35], [4, 0, 0, 0]])
    check(round(sparse.csr_array(I), -1), round(ss.csr_array(I), -1))
    check(round(sparse.csr_array(I), 2), round(ss.csr_array(I), 2))
