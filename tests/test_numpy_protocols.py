"""NumPy's protocols (NEP 13/18) on arrayforge arrays: what NumPy-API code such as Dask relies on."""
import pickle
import subprocess
import sys

import numpy as np
import pytest

import arrayforge as xp

RNG = np.random.default_rng(7)
A = RNG.random((40, 30))
B = RNG.random((40, 30))


@pytest.mark.parametrize("call", [
    lambda m, a, b: m.sin(a),
    lambda m, a, b: m.add(a, b),
    lambda m, a, b: m.sum(a, axis=0),
    lambda m, a, b: m.sum(a, axis=(0, 1), keepdims=True),
    lambda m, a, b: m.mean(a, axis=1),
    lambda m, a, b: m.max(a, axis=0),
    lambda m, a, b: m.argmin(a, axis=1),
    lambda m, a, b: m.concatenate([a, b], axis=1),
    lambda m, a, b: m.stack([a, b]),
    lambda m, a, b: m.matmul(a, m.transpose(b)),
    lambda m, a, b: m.tensordot(a, b, axes=([0], [0])),
    lambda m, a, b: m.dot(a, m.transpose(b)),
    lambda m, a, b: m.einsum("ij,ij->j", a, b),
    lambda m, a, b: m.where(m.greater(a, 0.5), a, b),
    lambda m, a, b: m.add.reduce(a, axis=1),
    lambda m, a, b: m.maximum.reduce(a, axis=0),
    lambda m, a, b: m.cumsum(a, axis=0),
    lambda m, a, b: m.reshape(a, (30, 40)),
    lambda m, a, b: m.squeeze(m.expand_dims(a, 0)),
    lambda m, a, b: m.var(a, axis=0, ddof=1),
    lambda m, a, b: m.clip(a, 0.2, 0.8),
    lambda m, a, b: m.zeros_like(a),
    lambda m, a, b: m.full_like(a, 3.0),
], ids=lambda f: "")
def test_numpy_functions_return_arrayforge_arrays(call):
    got = call(np, xp.asarray(A), xp.asarray(B))
    assert isinstance(got, xp.Array)
    expected = call(np, A, B)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12)


def test_numpy_semantics_for_numpy_calls():
    i = xp.asarray(np.arange(6, dtype=np.int32))
    f = xp.asarray(np.ones(6, np.float32))
    assert np.add(i, f).dtype == np.result_type(np.int32, np.float32)       # mixed kinds: NumPy's rule
    assert np.mean(i).dtype == np.float64 and float(np.mean(i)) == 2.5
    assert np.divide(i, i[1:2] + 1).dtype == np.float64
    assert np.sum(xp.asarray(np.array([True, True]))).dtype == np.int64
    assert np.result_type(f, np.float64) == np.float64


def test_numpy_arrays_mixed_in_convert_arrayforge_wins():
    x = xp.asarray(A)
    for got in (x + B, B + x, x * np.float32(2), np.multiply(B, x), x @ np.ones(30), np.ones(40) @ x):
        assert isinstance(got, xp.Array)
    np.testing.assert_allclose(np.asarray(B - x), B - A)
    with pytest.raises(TypeError):           # the namespace itself stays strict
        xp.add(x, B)


def test_unsupported_numpy_functions_raise_typeerror():
    x = xp.asarray(A)
    with pytest.raises(TypeError, match="no implementation found"):
        np.median(x)
    with pytest.raises(TypeError, match="no implementation found"):
        np.fmod(x, 2.0)
    with pytest.raises(TypeError, match="immutable"):
        np.add(x, x, out=np.empty_like(A))
    np.median(np.asarray(x))                 # the explicit fallback


def test_numpy_reductions_compute_at_once_elementwise_stays_lazy(lazy):
    x = xp.asarray(A)
    assert np.sin(x)._node.buffer is None
    assert np.sum(np.sin(x) * 2, axis=0)._node.buffer is not None
    assert x.sum()._node.buffer is not None


def test_like_creation_and_methods():
    x = xp.asarray(A)
    for got in (np.array([1.0, 2.0], like=x), np.zeros(3, like=x), np.asarray([], like=x), np.arange(4, like=x)):
        assert isinstance(got, xp.Array)
    assert x.astype("float32").dtype == np.float32
    assert x.reshape(30, 40).shape == (30, 40) and x.reshape((-1,)).shape == (1200,)
    assert x.transpose().shape == (30, 40) and x.transpose(1, 0).shape == (30, 40)
    assert float(x.sum()) == pytest.approx(A.sum())
    assert x.max(axis=0).shape == (30,) and x.squeeze().shape == (40, 30)
    assert x[:1].squeeze(axis=0).shape == (30,)


def test_pickle_arrays_lazy_graphs_and_functions():
    cloudpickle = pytest.importorskip("cloudpickle")
    x = xp.asarray(A)
    lazy = xp.sin(x) * 2 + 1
    for dumps in (pickle.dumps, cloudpickle.dumps):
        np.testing.assert_allclose(np.asarray(pickle.loads(dumps(lazy))), np.sin(A) * 2 + 1)
        assert pickle.loads(dumps(xp.sin)) is xp.sin
        assert pickle.loads(dumps(xp.linalg.vector_norm)) is xp.linalg.vector_norm
    f = cloudpickle.loads(cloudpickle.dumps(lambda a: xp.exp(a) - 1))
    np.testing.assert_allclose(np.asarray(f(x)), np.expm1(A), rtol=1e-12)


def test_import_does_not_import_dask_and_registers_when_it_is():
    code = ("import sys, arrayforge; assert 'dask' not in sys.modules; "
            "import dask.array as da; from dask.array.chunk_types import is_valid_chunk_type; "
            "assert is_valid_chunk_type(arrayforge.Array); print('ok')")
    pytest.importorskip("dask.array")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
