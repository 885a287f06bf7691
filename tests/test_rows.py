"""Rows kernels: reductions over trailing axes broadcast back along them (softmax, layer
norm, centering) run as one kernel per row; results must match NumPy and the interpreter."""
import numpy as np
import pytest

import arrayforge as xp
from lowering import runtime
from conftest import assert_same

RNG = np.random.default_rng(7)


def softmax(xp_, x, axis=-1):
    m = xp_.max(x, axis=axis, keepdims=True)
    e = xp_.exp(x - m)
    return e / xp_.sum(e, axis=axis, keepdims=True)


def layer_norm(xp_, x, w, b):
    mu = xp_.mean(x, axis=-1, keepdims=True)
    var = xp_.mean((x - mu) ** 2, axis=-1, keepdims=True)
    return (x - mu) / xp_.sqrt(var + 1e-5) * w + b


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(64, 1100), (3, 4, 300), (8, 9000), (4096, 3)])
def test_softmax(executor, lazy, dtype, shape):
    xn = RNG.standard_normal(shape).astype(dtype) * 10
    y = softmax(xp, xp.asarray(xn))
    assert len(xp.explain(y).kernels) == 1
    assert_same(y, softmax(np, xn), exact=False)


def test_softmax_over_two_trailing_axes(executor):
    xn = RNG.standard_normal((40, 30, 60))
    y = softmax(xp, xp.asarray(xn), axis=(1, 2))
    assert [k.kind for k in xp.explain(y).kernels] == ["rows"]
    assert_same(y, softmax(np, xn, axis=(1, 2)), exact=False)


def test_layer_norm(executor):
    xn = RNG.standard_normal((70, 1000)).astype(np.float32)
    wn, bn = RNG.standard_normal(1000).astype(np.float32), RNG.standard_normal(1000).astype(np.float32)
    y = layer_norm(xp, xp.asarray(xn), xp.asarray(wn), xp.asarray(bn))
    assert [k.kind for k in xp.explain(y).kernels] == ["rows"]
    ref = layer_norm(np, xn, wn, bn)
    assert np.asarray(y).dtype == ref.dtype
    np.testing.assert_allclose(np.asarray(y), ref, rtol=2e-4, atol=1e-5)


def test_dropped_axis_broadcast_back_with_none(executor):
    xn = RNG.standard_normal((100, 700))
    x = xp.asarray(xn)
    y = xp.sum(x - xp.max(x, axis=1)[:, None], axis=1)
    assert [k.kind for k in xp.explain(y).kernels] == ["rows"]
    assert_same(y, np.sum(xn - xn.max(1)[:, None], axis=1), exact=False)


def test_square_column_broadcast_is_not_a_row_broadcast(executor):
    # max over rows reshaped to (1, n) broadcasts along columns: must not be fused per row
    xn = RNG.standard_normal((300, 300))
    x = xp.asarray(xn)
    y = x - xp.reshape(xp.max(x, axis=1), (1, 300))
    assert "rows" not in [k.kind for k in xp.explain(y).kernels]
    assert_same(y, xn - xn.max(1).reshape(1, 300))


def test_reduction_needed_elsewhere_is_materialized(executor):
    xn = RNG.standard_normal((100, 700))
    x = xp.asarray(xn)
    m = xp.max(x, axis=1, keepdims=True)
    y = x - m
    ym, mm = xp.compute(y, m)
    assert_same(ym, xn - xn.max(1, keepdims=True))
    assert_same(mm, xn.max(1, keepdims=True))


def test_nan_and_inf_rows(executor):
    xn = RNG.standard_normal((64, 1100))
    xn[3, 17] = np.nan
    xn[5, :] = -np.inf
    xn[6, 9] = np.inf
    with np.errstate(invalid="ignore"):
        ref = softmax(np, xn)
    y = softmax(xp, xp.asarray(xn))
    assert_same(y, ref, exact=False)


def test_integer_rows(executor):
    xn = RNG.integers(-1000, 1000, size=(128, 600)).astype(np.int32)
    x = xp.asarray(xn)
    y = x - xp.min(x, axis=1, keepdims=True) + xp.sum(x, axis=1, keepdims=True)
    assert_same(y, xn - xn.min(1, keepdims=True) + xn.sum(1, keepdims=True))


def test_rows_kernel_matches_interpreter():
    xn = RNG.standard_normal((256, 300))
    results = []
    for ex in ("numpy", "numba"):
        xp.set_executor(ex)
        try:
            y = layer_norm(xp, xp.asarray(xn), xp.asarray(np.ones(300)), xp.asarray(np.zeros(300)))
            results.append(np.asarray(y))
        finally:
            xp.set_executor(None)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("rows", [16, 17, 37])
def test_pipelined_first_part_reads_views_and_broadcasts(executor, rows, parallel, monkeypatch):
    # The first part's reduction runs one row ahead (software-pipelined into the second
    # part's loop): check block edges (row counts not a multiple of the thread count),
    # two kept dims that do not coalesce (a strided view), and a broadcast operand.
    monkeypatch.setattr(runtime, "PARALLEL_MIN", 0 if parallel else 1 << 62)
    base = RNG.standard_normal((rows, 9, 70))
    wn = RNG.standard_normal(70)
    x = xp.asarray(base)[:, ::2, :]
    y = softmax(xp, x * xp.asarray(wn))
    assert [k.kind for k in xp.explain(y).kernels] == ["rows"]
    assert_same(y, softmax(np, base[:, ::2, :] * wn), exact=False)
    z = layer_norm(xp, xp.permute_dims(xp.asarray(base), (1, 0, 2)), xp.asarray(wn), xp.asarray(wn))
    np.testing.assert_allclose(np.asarray(z), layer_norm(np, base.transpose(1, 0, 2), wn, wn),
                               rtol=1e-12, atol=1e-12)
