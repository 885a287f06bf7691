"""Fusion decisions, checked from the plan alone (nothing is run)."""
import numpy as np
import pytest

import arrayforge as xp

pytestmark = pytest.mark.usefixtures("lazy")     # small arrays are recorded, not run at once


def arrays(n=1000, k=4, dtype=np.float64):
    rng = np.random.default_rng(0)
    return [xp.asarray(rng.random(n).astype(dtype)) for _ in range(k)]


def test_long_elementwise_chain_is_one_kernel():
    a, b, c, d = arrays()
    y = ((a * b + c) * 0.5 - d) * (a + 1.0) + (b - c) * d * 2.0 - a / (d + 1.0)
    plan = xp.explain(y)
    assert len(plan.kernels) == 1
    assert plan.kernels[0].kind == "elementwise"


def test_map_reduce_is_one_kernel():
    a, b = arrays(k=2)
    plan = xp.explain(xp.sum((a - b) ** 2))
    assert len(plan.kernels) == 1 and plan.kernels[0].kind == "reduce"


def test_mean_fuses_its_scaling_into_the_reduction():
    a, = arrays(k=1)
    plan = xp.explain(xp.mean(xp.reshape(a, (10, 100)), axis=1))
    assert len(plan.kernels) == 1
    assert plan.kernels[0].ops == ("SUM", "DIV")


def test_views_and_broadcasting_fuse():
    a, b = arrays(k=2)
    A = xp.reshape(a, (10, 100))
    B = xp.reshape(b, (100, 10))
    y = xp.exp(A.T[::2] * B[::2] + xp.reshape(a[:10], (1, 10)))
    assert len(xp.explain(y).kernels) == 1


def test_row_centering_is_one_rows_kernel():
    a, = arrays(k=1)
    A = xp.reshape(a, (10, 100))
    y = A - xp.mean(A, axis=1, keepdims=True)
    plan = xp.explain(y)
    assert [k.kind for k in plan.kernels] == ["rows"]
    assert plan.kernels[0].ops == ("SUM", "DIV", "SUB")


def test_column_centering_is_two_kernels():
    a, = arrays(k=1)
    A = xp.reshape(a, (10, 100))
    y = A - xp.mean(A, axis=0, keepdims=True)
    assert [k.kind for k in xp.explain(y).kernels] == ["reduce", "elementwise"]


def test_compute_of_several_outputs_shares_work():
    a, b = arrays(k=2)
    t = a * b
    s = xp.sum(t)
    plan = xp.explain(t, s)
    # t is an output, so the reduction reads it instead of recomputing
    assert len(plan.kernels) == 2
    t2, s2 = xp.compute(t, s)
    np.testing.assert_allclose(float(s2), float(np.sum(np.asarray(t2))))


def test_small_new_work_is_interpreted_large_is_compiled():
    xp.set_executor(None)
    small, = arrays(n=100, k=1)
    assert xp.explain(small * 3.0 + 1.0).kernels[0].executor == "numpy"
    big, = arrays(n=1 << 17, k=1)
    assert xp.explain(big * 3.0 + 1.0).kernels[0].executor == "numba"


def test_forced_executor_is_reported():
    a, = arrays(k=1)
    xp.set_executor("numba")
    try:
        assert xp.explain(a + 1.0).kernels[0].executor == "numba"
    finally:
        xp.set_executor("numpy")
    try:
        assert xp.explain(a + 1.0).kernels[0].executor == "numpy"
    finally:
        xp.set_executor(None)


def test_cached_plan_is_reused_across_sizes(executor):
    """One plan per structure: every size must still get its own shapes."""
    for shape in [(3, 4, 5), (2, 7, 1), (6, 2, 3)]:
        data = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
        x = xp.asarray(data)
        for keepdims in (False, True):
            got = xp.sum(x * 2.0, axis=1, keepdims=keepdims) / 3.0
            np.testing.assert_allclose(np.asarray(got), np.sum(data * 2.0, axis=1, keepdims=keepdims) / 3.0)


def test_views_of_unrealized_elementwise_work_stay_in_one_kernel(executor):
    a, b, c = arrays(n=60, k=3)
    A, B, C = (xp.reshape(v, (6, 10)) for v in (a, b, c))
    y = xp.sum((A * B - 1.0).T[::2] * C.T[::2])
    assert len(xp.explain(y).kernels) == 1
    An, Bn, Cn = (np.asarray(v) for v in (A, B, C))
    np.testing.assert_allclose(float(y), np.sum((An * Bn - 1.0).T[::2] * Cn.T[::2]))
    z = xp.reshape(A + B, (60,))[::-3]
    assert len(xp.explain(z).kernels) == 1
    np.testing.assert_array_equal(np.asarray(z), (An + Bn).reshape(60)[::-3])


def test_broadcast_is_not_pushed_through_costly_ops():
    a, = arrays(n=10, k=1)
    e = xp.exp(a)                                  # (10,)
    y = xp.reshape(e, (10, 1)) * xp.ones((10, 1000))
    kernels = xp.explain(y).kernels
    assert len(kernels) == 2                       # exp runs 10 times, not 10,000
    assert kernels[0].ops == ("EXP",)
