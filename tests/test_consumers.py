"""Real consumers of the Array API accept arrayforge arrays and give NumPy's answers.

scikit-learn (``array_api_dispatch=True``), SciPy (``SCIPY_ARRAY_API=1``) and array-api-extra
dispatch on ``x.__array_namespace__()``.  SciPy reads ``SCIPY_ARRAY_API`` once, at import, so
each check runs in a fresh interpreter with the variable set, as a new user would.  Data are
small: the point is the protocol, not speed.
"""
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PRELUDE = """
import warnings
import numpy as np
import arrayforge as xp
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)


def same(ours, expected, rtol=1e-7, atol=1e-9):
    assert isinstance(ours, xp.Array), type(ours)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(expected), rtol=rtol, atol=atol)
"""


def run(script):
    env = dict(os.environ, SCIPY_ARRAY_API="1", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(script)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_scikit_learn():
    pytest.importorskip("sklearn")
    run("""
    import sklearn
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
    from sklearn.metrics import accuracy_score, mean_squared_error, r2_score
    from sklearn.metrics.pairwise import cosine_similarity, euclidean_distances, rbf_kernel

    X = rng.normal(size=(40, 5))
    y_class = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    y_reg = X @ np.array([1.0, -2.0, 3.0, 0.5, 0.0]) + 0.1 * rng.normal(size=40)
    Xa = xp.asarray(X)

    def both(make, fit):
        with sklearn.config_context(array_api_dispatch=True):
            ours = fit(make(), xp)
        return ours, fit(make(), np)

    for scaler in (StandardScaler, MinMaxScaler, MaxAbsScaler):
        ours, ref = both(scaler, lambda e, m: e.fit_transform(m.asarray(X)))
        same(ours, ref)

    ours, ref = both(lambda: PCA(n_components=3, svd_solver="full"), lambda e, m: e.fit_transform(m.asarray(X)))
    same(xp.abs(ours), np.abs(ref))      # component signs are a convention

    ours, ref = both(LinearDiscriminantAnalysis, lambda e, m: e.fit(m.asarray(X), m.asarray(y_class)).predict_proba(m.asarray(X)))
    same(ours, ref, rtol=1e-6)

    ours, ref = both(lambda: Ridge(alpha=1.0, solver="svd"), lambda e, m: e.fit(m.asarray(X), m.asarray(y_reg)).predict(m.asarray(X)))
    same(ours, ref)

    with sklearn.config_context(array_api_dispatch=True):
        yt, yp = xp.asarray(y_reg), xp.asarray(y_reg[::-1].copy())
        assert abs(float(mean_squared_error(yt, yp)) - mean_squared_error(y_reg, y_reg[::-1])) < 1e-12
        assert abs(float(r2_score(yt, yp)) - r2_score(y_reg, y_reg[::-1])) < 1e-12
        assert float(accuracy_score(xp.asarray(y_class), xp.asarray(y_class))) == 1.0
        same(euclidean_distances(Xa[:7], Xa[7:12]), euclidean_distances(X[:7], X[7:12]))
        same(cosine_similarity(Xa[:7]), cosine_similarity(X[:7]))
        same(rbf_kernel(Xa[:7], Xa[:5], gamma=0.3), rbf_kernel(X[:7], X[:5], gamma=0.3))
    """)


def test_scipy():
    pytest.importorskip("scipy")
    run("""
    import scipy.fft as sf
    import scipy.signal as sig
    import scipy.special as sp
    import scipy.stats as ss

    X = rng.normal(size=(16,))
    M = rng.normal(size=(4, 6))
    x, m = xp.asarray(X), xp.asarray(M)
    same(sp.erf(x), sp.erf(X))
    same(sp.gammaln(xp.abs(x) + 0.5), sp.gammaln(np.abs(X) + 0.5))
    same(sp.logsumexp(m, axis=1), sp.logsumexp(M, axis=1))
    same(sp.softmax(m, axis=0), sp.softmax(M, axis=0))
    same(sp.xlogy(xp.abs(x), xp.abs(x) + 1), sp.xlogy(np.abs(X), np.abs(X) + 1))

    same(ss.zscore(m, axis=1), ss.zscore(M, axis=1))
    same(ss.skew(x), ss.skew(X))
    same(ss.kurtosis(x), ss.kurtosis(X))
    same(ss.moment(x, order=3), ss.moment(X, order=3))
    same(ss.ttest_1samp(x, 0.0).statistic, ss.ttest_1samp(X, 0.0).statistic)
    N = rng.normal(size=16)
    same(ss.pearsonr(x, 2 * x + xp.asarray(N)).statistic, ss.pearsonr(X, 2 * X + N).statistic)

    same(sf.fft(x), sf.fft(X))
    same(sf.rfft(m, axis=0), sf.rfft(M, axis=0))
    same(sf.ifftn(xp.astype(m, xp.complex128)), sf.ifftn(M.astype(complex)))
    same(sf.dct(x), sf.dct(X))
    same(sf.fftshift(x), sf.fftshift(X))

    same(sig.convolve(x, x[:5]), sig.convolve(X, X[:5]))
    same(sig.fftconvolve(x, x[:5], mode="same"), sig.fftconvolve(X, X[:5], mode="same"))
    same(sig.correlate(x, x[:3], mode="valid"), sig.correlate(X, X[:3], mode="valid"))
    same(sig.detrend(x), sig.detrend(X))
    """)


def test_array_api_extra():
    pytest.importorskip("array_api_extra")
    run("""
    import array_api_extra as xpx

    base = np.arange(6.0)
    x = xp.asarray(base)
    y = xpx.at(x, 1).set(10.0, copy=True)
    same(y, [0, 10, 2, 3, 4, 5])
    same(x, base)                                       # copy=True leaves x alone
    same(xpx.at(x)[xp.asarray([0, 2])].add(5.0, copy=True), [5, 1, 7, 3, 4, 5])
    same(xpx.at(x)[x > 2.0].multiply(2.0, copy=True), [0, 1, 2, 6, 8, 10])
    same(xpx.at(x)[1:3].min(1.5, copy=True), [0, 1, 1.5, 3, 4, 5])
    z = xp.asarray(base)
    z2 = xpx.at(z)[0].set(-1.0)                         # copy=None may update in place
    same(z2, [-1, 1, 2, 3, 4, 5])

    M = rng.normal(size=(3, 5))
    same(xpx.cov(xp.asarray(M)), np.cov(M))
    same(xpx.kron(xp.asarray(M[:2, :2]), xp.asarray(M[:2, :3])), np.kron(M[:2, :2], M[:2, :3]))
    same(xpx.create_diagonal(xp.asarray([1.0, 2.0])), np.diag([1.0, 2.0]))
    same(xpx.pad(xp.asarray([1.0, 2.0]), 2), np.pad([1.0, 2.0], 2))
    same(xpx.sinc(xp.asarray([0.0, 0.5, 1.5])), np.sinc([0.0, 0.5, 1.5]))
    same(xpx.setdiff1d(xp.asarray([1, 2, 3, 5]), xp.asarray([2, 5])), [1, 3])
    assert int(xpx.nunique(xp.asarray([1, 1, 2, 7]))) == 3
    same(xpx.atleast_nd(xp.asarray(1.0), ndim=2), [[1.0]])
    assert bool(xp.all(xpx.isclose(xp.asarray([1.0, 2.0]), xp.asarray([1.0, 2.0 + 1e-12]))))
    same(xpx.one_hot(xp.asarray([0, 2]), 3), np.eye(3)[[0, 2]])
    """)
