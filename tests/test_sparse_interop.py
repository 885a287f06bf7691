"""scikit-learn takes ``to_scipy()`` output: the same results as from SciPy's own matrix."""
import numpy as np
import pytest
import scipy.sparse as ss

from arrayforge import sparse

sklearn = pytest.importorskip("sklearn")


def _data():
    X = ss.random_array((120, 40), density=0.1, format="csr", rng=0)
    y = (np.asarray(X.sum(axis=1)) > np.median(X.sum(axis=1))).astype(int)
    return X, y


def test_logistic_regression_on_to_scipy():
    from sklearn.linear_model import LogisticRegression
    X, y = _data()
    ours = (sparse.from_scipy(X) * 2).to_scipy()          # lazy work, then handed over
    assert ss.issparse(ours) and ours.format == "csr"
    a = LogisticRegression(max_iter=200).fit(ours, y)
    b = LogisticRegression(max_iter=200).fit(X * 2, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6)
    np.testing.assert_array_equal(a.predict(ours), b.predict(X * 2))


def test_tfidf_on_counts_built_with_dok():
    from sklearn.feature_extraction.text import TfidfTransformer
    counts = sparse.dok_array((4, 6), dtype=np.int64)
    for doc, word in [(0, 0), (0, 0), (0, 3), (1, 1), (2, 3), (2, 5), (3, 0), (3, 4), (3, 4)]:
        counts[doc, word] += 1
    ref = ss.dok_array((4, 6), dtype=np.int64)
    for k, v in counts.items():
        ref[k] = v
    got = TfidfTransformer().fit_transform(counts.tocsr().to_scipy())
    want = TfidfTransformer().fit_transform(ref.tocsr())
    np.testing.assert_allclose(got.toarray(), want.toarray())
    # and back: the transformed matrix as an arrayforge array, row sums of squares are 1 (l2)
    back = sparse.from_scipy(got)
    np.testing.assert_allclose(np.asarray((back * back).sum(axis=1)), np.ones(4))
