"""Shared pieces of the sparse tests: hypothesis strategies for random triplets with the
cases that break sparse code (empty rows and columns, an all-zero matrix, one nonzero,
duplicates, unsorted input, power-law row lengths) over int/float/complex dtypes, and the
comparison with SciPy's results."""
import numpy as np
import scipy.sparse as ss
from hypothesis import strategies as hst

from arrayforge import sparse

def dense(x):
    """The dense NumPy value of an arrayforge result (sparse: through toarray)."""
    if isinstance(x, sparse.SparseArray) or ss.issparse(x):
        x = x.toarray()
    return np.asarray(x)


def assert_matches(ours, theirs):
    """Same format, shape and dtype as SciPy's result and the same dense values."""
    ref = theirs.toarray() if ss.issparse(theirs) else np.asarray(theirs)
    got = dense(ours)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    assert got.dtype == ref.dtype, (got.dtype, ref.dtype)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-12)


DTYPES = [np.int64, np.float64, np.complex128, np.float32, np.int32]


def _values(rng, n, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        return rng.integers(-5, 6, n).astype(dtype)
    if dtype.kind == "c":
        return (rng.integers(-5, 6, n) + 1j * rng.integers(-3, 4, n)).astype(dtype)
    return (rng.integers(-8, 9, n) / 4).astype(dtype)


@hst.composite
def triplets(draw, max_dim=7, dtypes=DTYPES, shape=None):
    """``(data, row, col, shape)``: unsorted, possibly duplicated coordinates."""
    if shape is None:
        m = draw(hst.integers(0, max_dim))
        n = draw(hst.integers(0, max_dim))
    else:
        m, n = shape
    dtype = draw(hst.sampled_from(dtypes))
    seed = draw(hst.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(hst.sampled_from(["random", "empty", "one", "duplicates", "powerlaw"]))
    if m == 0 or n == 0 or kind == "empty":
        nnz = 0
    elif kind == "one":
        nnz = 1
    else:
        nnz = int(rng.integers(0, 2 * m * n + 1))
    if kind == "powerlaw" and nnz:
        weights = 1.0 / np.arange(1, m + 1) ** 1.5
        row = rng.choice(m, nnz, p=weights / weights.sum())
    else:
        row = rng.integers(0, max(m, 1), nnz)
    col = rng.integers(0, max(n, 1), nnz)
    if kind == "duplicates" and nnz:
        row[: nnz // 2 + 1] = row[0]
        col[: nnz // 2 + 1] = col[0]
    data = _values(rng, nnz, dtype)
    return data, row, col, (m, n)


@hst.composite
def triplet_pairs(draw, max_dim=6, dtypes=(np.int64, np.float64, np.complex128)):
    """Two triplet sets of one shape."""
    a = draw(triplets(max_dim, dtypes))
    b = draw(triplets(max_dim, dtypes, shape=a[3]))
    return a, b


@hst.composite
def nd_triplets(draw, ndim=3, max_dim=4, dtypes=(np.float64, np.int64, np.float32, np.int32), shape=None):
    """``(data, coords, shape)`` of an N-D COO array: unsorted, possibly duplicated coordinates
    (empty axes, an empty array, one entry and a dense pile of duplicates included)."""
    if shape is None:
        shape = tuple(draw(hst.integers(0, max_dim)) for _ in range(ndim))
    dtype = draw(hst.sampled_from(dtypes))
    rng = np.random.default_rng(draw(hst.integers(0, 2**32 - 1)))
    kind = draw(hst.sampled_from(["random", "empty", "one", "duplicates"]))
    size = int(np.prod(shape))
    nnz = 0 if size == 0 or kind == "empty" else 1 if kind == "one" else int(rng.integers(0, 2 * size + 1))
    coords = [rng.integers(0, max(n, 1), nnz) for n in shape]
    if kind == "duplicates" and nnz:
        for c in coords:
            c[: nnz // 2 + 1] = c[0]
    return _values(rng, nnz, dtype), tuple(coords), shape
