"""Float32 sums in compiled kernels: blocks of ``cpu.SUM_BLOCK`` elements are added in float32
(reassociated, so they vectorise at full width) and each block's partial sum in float64.  These
tests pin the accuracy and special values of that loop shape (full and row reductions, serial and
parallel variants, block tails, views) against an exact float64 reference and NumPy."""
import math

import numpy as np
import pytest

import arrayforge as xp
from lowering import cpu, runtime

RNG = np.random.default_rng(7)
EPS32 = float(np.finfo(np.float32).eps)
B = cpu.SUM_BLOCK
# below and above one block, odd tails, and past runtime.PARALLEL_MIN (the prange variant)
SIZES = [1, 7, B - 1, B, B + 1, 3 * B + 5, 4096 + 3, runtime.PARALLEL_MIN + 77, 300_001]


@pytest.fixture
def numba_executor():
    xp.set_executor("numba")
    yield
    xp.set_executor(None)


def exact(values):
    return math.fsum(np.asarray(values, dtype=np.float64).ravel().tolist())


def check_accuracy(got, values):
    """``got`` is within the float32-block error bound of the exact sum: a few float32 roundings
    relative to the sum of magnitudes, plus the final rounding of the result."""
    got = float(got)
    ref = exact(values)
    absum = exact(np.abs(np.asarray(values, dtype=np.float64)))
    assert abs(got - ref) <= 16 * EPS32 * absum + abs(ref) * EPS32, (got, ref)


def test_no_less_accurate_than_numpy_on_average(numba_executor):
    """Over many rows, the mean error of the blocked sums is at most NumPy's float32 pairwise
    sum's (per sum either may be luckier)."""
    for shape in ((200, 3 * B + 5), (40, 40 * B + 3)):
        a = RNG.standard_normal(shape).astype(np.float32)
        got = np.asarray(xp.sum(xp.asarray(a) * 1.0, axis=1)).astype(np.float64)
        ref = np.array([exact(row) for row in a])
        ours = np.abs(got - ref).mean()
        numpy_err = np.abs(np.sum(a, axis=1).astype(np.float64) - ref).mean()
        assert ours <= numpy_err, (shape, ours, numpy_err)


@pytest.mark.parametrize("n", SIZES)
def test_full_sum_accuracy(numba_executor, n):
    a = RNG.standard_normal(n).astype(np.float32)
    b = RNG.standard_normal(n).astype(np.float32)
    x, y = xp.asarray(a), xp.asarray(b)
    got = xp.sum((x - y) ** 2)
    assert got.dtype == xp.float32
    check_accuracy(got, (a - b) ** 2)
    pos = RNG.uniform(0.5, 1.5, n).astype(np.float32)
    got = float(xp.sum(xp.asarray(pos) * 1.0))
    assert abs(got - exact(pos)) <= 1e-6 * exact(pos)
    check_accuracy(xp.sum(xp.asarray(a) * 1.0), a)         # cancelling signs


def test_cancellation_within_and_across_blocks(numba_executor):
    n = 10 * B + 3
    data = np.ones(n, np.float32)
    data[::2] = 1e7
    data[1::2] = -1e7
    data[-1] = 0.5
    check_accuracy(xp.sum(xp.asarray(data) + 0.0), data)


@pytest.mark.parametrize("n", [5, B + 3, runtime.PARALLEL_MIN + 77])
def test_overflowing_float32_partials_are_redone_wide(numba_executor, n):
    # float32 partials of these would overflow; summed in float64 (as before) they cancel
    data = np.tile(np.array([3e38, 3e38, -3e38, -3e38], np.float32), n // 4 + 1)[: n // 4 * 4]
    assert float(xp.sum(xp.asarray(data) * 1.0)) == 0.0
    data = np.full(n, 3e38, np.float32)
    assert float(xp.sum(xp.asarray(data) * 1.0)) == np.inf          # the true overflow stays inf
    assert float(xp.sum(xp.asarray(data) * -1.0)) == -np.inf


@pytest.mark.parametrize("n", [7, 3 * B + 5, runtime.PARALLEL_MIN + 77])
@pytest.mark.parametrize("where", [0, B - 1, B, "tail", "last"])
def test_nan_and_inf_propagate(numba_executor, n, where):
    at = {"tail": n - 2, "last": n - 1}.get(where, where)
    if at >= n:
        pytest.skip("position past the end")
    data = RNG.uniform(-1, 1, n).astype(np.float32)
    for special, want in ((np.nan, "nan"), (np.inf, np.inf), (-np.inf, -np.inf)):
        d = data.copy()
        d[at] = special
        got = float(xp.sum(xp.asarray(d) * 1.0))
        assert (math.isnan(got) if want == "nan" else got == want), (special, got)
    d = data.copy()
    d[at] = np.inf
    d[(at + 1) % n] = -np.inf
    assert math.isnan(float(xp.sum(xp.asarray(d) * 1.0)))


@pytest.mark.parametrize("n", [3, B + 1, runtime.PARALLEL_MIN + 77])
def test_negative_zero_and_empty(numba_executor, n):
    z = np.full(n, -0.0, np.float32)
    got = np.asarray(xp.sum(xp.asarray(z) * 1.0))
    assert got == 0.0 and got.dtype == np.float32
    assert np.signbit(got) == np.signbit(np.sum(z))           # NumPy: +0.0 (its identity)
    rows = np.asarray(xp.sum(xp.reshape(xp.asarray(z) * 1.0, (1, n)), axis=1))
    np.testing.assert_array_equal(np.signbit(rows), np.signbit(np.sum(z.reshape(1, n), axis=1)))
    e = xp.asarray(np.zeros((0,), np.float32))
    assert float(xp.sum(e)) == 0.0
    e2 = xp.asarray(np.zeros((3, 0), np.float32))
    np.testing.assert_array_equal(np.asarray(xp.sum(e2, axis=1)), np.zeros(3, np.float32))


@pytest.mark.parametrize("shape", [(7, 300), (50, 1000), (3, 5), (2, 3 * B + 5), (400, B + 1)])
def test_row_sums(numba_executor, shape):
    a = RNG.standard_normal(shape).astype(np.float32)
    got = np.asarray(xp.sum(xp.asarray(a) * 2.0, axis=1))
    assert got.dtype == np.float32
    for i in range(shape[0]):
        check_accuracy(got[i], a[i] * np.float32(2.0))
    got = np.asarray(xp.mean(xp.asarray(a) + 0.0, axis=-1))
    np.testing.assert_allclose(got, np.mean(a.astype(np.float64), axis=-1), rtol=1e-5, atol=1e-6)


def test_non_contiguous_views(numba_executor):
    a = RNG.standard_normal((301, 1030)).astype(np.float32)
    x = xp.asarray(a)
    for view, ref in ((x[:, ::2], a[:, ::2]), (x[1::3, 5:1029], a[1::3, 5:1029]), (x.T, a.T),
                      (x[::-1, ::-3], a[::-1, ::-3])):
        check_accuracy(xp.sum(view * 1.5), ref * np.float32(1.5))             # full reduction
        rows = np.asarray(xp.sum(view * 1.5, axis=1))
        for i in range(0, rows.shape[0], 37):
            check_accuracy(rows[i], ref[i] * np.float32(1.5))
    b = RNG.standard_normal((4, 5, 3 * B + 1)).astype(np.float32)
    got = np.asarray(xp.sum(xp.asarray(b)[:, 1:, :] * 1.0, axis=(1, 2)))
    for i in range(4):
        check_accuracy(got[i], b[i, 1:, :])


def test_executors_agree_to_rounding():
    a = RNG.standard_normal(300_001).astype(np.float32)
    vals = []
    for ex in ("numpy", "numba"):
        xp.set_executor(ex)
        try:
            vals.append(float(xp.sum(xp.asarray(a) ** 2)))
        finally:
            xp.set_executor(None)
    assert abs(vals[0] - vals[1]) <= 2 * float(np.spacing(np.float32(vals[0])))


def test_block_loop_is_rendered_for_narrow_float_sums_only(numba_executor, monkeypatch):
    sources = []
    real = runtime.kcache.get_kernel

    def spy(spec, make_source, description):
        if isinstance(spec, cpu.KernelSpec):
            sources.append((spec.reduce[:2] if spec.reduce else None, cpu.render(spec)))
        return real(spec, make_source, description)

    monkeypatch.setattr(runtime.kcache, "get_kernel", spy)
    n = 1000
    for dt in (np.float32, np.float64):
        x = xp.asarray(RNG.standard_normal((3, n)).astype(dt))
        float(xp.sum(x * 3.0))
        np.asarray(xp.sum(x * 3.0, axis=1))
        float(xp.max(x * 3.0))
        float(xp.prod(x * 3.0))
    assert sources
    for (op, dt), src in sources:
        blocked = f"range(U({B}))" in src
        assert blocked == (op.name == "SUM" and np.dtype(dt) == np.float32), (op, dt)


def test_a_realized_shared_constant_is_not_reused_as_a_scalar(numba_executor):
    # x + 0.0 memoizes the 0-d constant node that full((), 0.0) interns too; realizing the
    # full() result made that node a 0-d leaf, and the next x + 0.0 read it as an operand of
    # shape () in a kernel over (n,) (an IndexError in coalesce, order-dependent in the suite)
    x = xp.asarray(np.ones(1000, np.float32))
    assert float(xp.sum(x + 0.0)) == 1000.0
    xp.full((), 0.0, dtype=xp.float32).compute()
    assert float(xp.sum(x + 0.0)) == 1000.0
    assert float(xp.sum(x * 1.0 + 0.0)) == 1000.0
