"""arrayforge arrays as Dask chunks: meta and chunk types kept, one fused kernel per chunk task,
a LocalCluster with worker processes."""
import numpy as np
import pytest

import arrayforge as xp
from lowering import runtime

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

RNG = np.random.default_rng(7)
A = RNG.random((40, 30))
B = RNG.random((40, 30))


da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


@pytest.fixture
def d():
    return da.from_array(xp.asarray(A), chunks=(20, 10))


@pytest.mark.parametrize("case", [
    ("elementwise", lambda d: d * 2 + 1, lambda a: a * 2 + 1),
    ("ufunc", lambda d: np.sin(d), np.sin),
    ("sum axis 0", lambda d: d.sum(axis=0), lambda a: a.sum(axis=0)),
    ("sum", lambda d: d.sum(), lambda a: a.sum()),
    ("mean axis 1", lambda d: d.mean(axis=1), lambda a: a.mean(axis=1)),
    ("max", lambda d: d.max(axis=0), lambda a: a.max(axis=0)),
    ("matmul", lambda d: d @ d.T, lambda a: a @ a.T),
    ("rechunk", lambda d: d.rechunk((8, 15)) + 1, lambda a: a + 1),
    ("concatenate", lambda d: da.concatenate([d, d], axis=1), lambda a: np.concatenate([a, a], axis=1)),
    ("map_blocks", lambda d: da.map_blocks(lambda b: xp.exp(b) * 2, d), lambda a: np.exp(a) * 2),
    ("astype", lambda d: d.astype(np.float32), lambda a: a.astype(np.float32)),
    ("var", lambda d: d.var(axis=0), lambda a: a.var(axis=0)),
    ("slice", lambda d: d.T[::3, 1:], lambda a: a.T[::3, 1:]),
    ("numpy chunks mixed in", lambda d: d + da.from_array(B, chunks=(20, 10)), lambda a: a + B),
], ids=lambda c: c[0])
def test_dask_keeps_arrayforge_chunks(d, case):
    _, f, ref = case
    result = f(d)
    assert isinstance(result._meta, xp.Array), type(result._meta)
    with dask.config.set(scheduler="threads"):
        got = result.compute()
    assert isinstance(got, xp.Array)
    np.testing.assert_allclose(np.asarray(got), ref(A), rtol=1e-5 if got.dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("asarray", [None, False])
def test_from_array_keeps_chunks_with_or_without_asarray(asarray):
    d = da.from_array(xp.asarray(A), chunks=(20, 10), asarray=asarray)
    assert isinstance(d._meta, xp.Array)
    with dask.config.set(scheduler="sync"):
        blocks = [b.compute() for b in d.blocks.ravel()]
    assert all(isinstance(b, xp.Array) for b in blocks)
    np.testing.assert_array_equal(np.asarray(blocks[0]), A[:20, :10])


def test_each_chunk_is_one_fused_kernel(monkeypatch):
    plans = []
    original = runtime.get_plan

    def get_plan(outputs):
        nodes, pos, plan = original(outputs)
        plans.append([k.kind for k in plan.kernels])
        return nodes, pos, plan
    monkeypatch.setattr(runtime, "get_plan", get_plan)
    xp.set_executor("numpy")        # the plan is the same under both executors; no compile here
    try:
        a = da.from_array(xp.asarray(A), chunks=(20, 15))
        b = da.from_array(xp.asarray(B), chunks=(20, 15))
        with dask.config.set(scheduler="sync"):
            got = ((a - b) ** 2).sum().compute()
    finally:
        xp.set_executor(None)
    assert float(got) == pytest.approx(((A - B) ** 2).sum(), rel=1e-12)
    chunk_plans = plans[:4]           # the four chunk tasks (then the small aggregation)
    assert all(len(p) == 1 for p in chunk_plans), plans


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, env={"NUMBA_NUM_THREADS": "1"})
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_local_cluster_with_worker_processes(client):
    from arrayforge.examples.dask_outofcore import generate, sum_squared_difference
    n, chunk = 300_000, 50_000
    got = client.compute(sum_squared_difference(n, chunk, "arrayforge")).result()
    expected = sum(float(((generate(np, s, min(s + chunk, n), 1) - generate(np, s, min(s + chunk, n), 2)) ** 2).sum())
                   for s in range(0, n, chunk))
    assert isinstance(got, xp.Array)
    assert float(got) == pytest.approx(expected, rel=1e-12)
    # a lazy arrayforge array and a namespace function travel to the workers
    x = xp.asarray(A) * 2
    future = client.submit(lambda v, f: f(v), x, xp.sqrt)
    np.testing.assert_allclose(np.asarray(future.result()), np.sqrt(A * 2))


def test_sparse_chunks_sum_and_dense_product():
    sp = pytest.importorskip("scipy.sparse")
    from arrayforge import sparse
    S = sp.random_array((60, 40), density=0.1, format="csr", rng=0)
    X = RNG.random(40)
    d = da.from_array(sparse.from_scipy(S), chunks=(20, 40))
    assert isinstance(d._meta, sparse.SparseArray)
    with dask.config.set(scheduler="threads"):
        col_sums = d.sum(axis=0).compute()
        total = d.sum().compute()
        y = (d @ da.from_array(xp.asarray(X), chunks=20)).compute()
        twice = (d * 2).sum(axis=1).compute()
    np.testing.assert_allclose(np.asarray(col_sums), S.sum(axis=0))
    assert float(total) == pytest.approx(S.sum())
    np.testing.assert_allclose(np.asarray(y), S @ X)
    np.testing.assert_allclose(np.asarray(twice), 2 * S.sum(axis=1))
    with pytest.raises(ValueError, match="todense"):
        np.exp(sparse.from_scipy(S))            # never densified silently, through NumPy's protocols too
