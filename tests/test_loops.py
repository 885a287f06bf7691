"""Iterative algorithms: bounded memory, fusion that survives realization, shapes validated.

A loop ``x = f(x)`` records a chain that the depth bound realizes every ~256 ops; each
realization must free what the chain held, restart the depth, and later steps must fuse
again.  These tests count nodes, plans and kernels (no timing)."""
import gc
import weakref

import numpy as np
import pytest

import arrayforge as xp
from lowering import runtime
from arrayforge._graph import MAX_DEPTH


@pytest.fixture
def plans(monkeypatch):
    """Record each realize's plan: a list of (kernels, ops per kernel)."""
    seen = []
    original = runtime.get_plan

    def get_plan(outputs):
        nodes, pos, plan = original(outputs)
        seen.append([len(k.ops(nodes)) for k in plan.kernels])
        return nodes, pos, plan
    monkeypatch.setattr(runtime, "get_plan", get_plan)
    return seen


def _rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status")


def test_realized_chain_frees_its_history(lazy):
    x = xp.zeros(1000)
    first = weakref.ref(x._node)
    refs = []
    for i in range(3 * MAX_DEPTH):
        x = x + 1
        refs.append(weakref.ref(x._node))
    gc.collect()
    alive = sum(r() is not None for r in refs[:-MAX_DEPTH - 1])
    # Before: each node's interning key held its inputs, so the whole chain (and every
    # realized buffer of it) stayed reachable from x.
    assert alive == 0 and first() is None
    assert float(x[0]) == 3 * MAX_DEPTH


def test_loop_runs_in_bounded_memory():
    """20,000 steps at 1e5 float64 elements (0.8 MB each) on the NumPy executor."""
    xp.set_executor("numpy")
    try:
        x = xp.zeros(100_000)
        for _ in range(3 * MAX_DEPTH):          # warm up: plans, pools, allocator
            x = x + 1
        x.compute()
        gc.collect()
        start = _rss_mb()
        for i in range(20_000):
            x = x + 1
            if i % 2000 == 0:       # fail early rather than exhaust the machine
                assert _rss_mb() - start < 200, f"RSS grew by {_rss_mb() - start:.0f} MB after {i} steps"
        x.compute()
        gc.collect()
        assert _rss_mb() - start < 100
        assert float(x[0]) == 20_000 + 3 * MAX_DEPTH
    finally:
        xp.set_executor(None)


def test_ten_op_body_stays_fused_over_a_long_loop(lazy, plans):
    """Each automatic realization is ONE kernel of ~MAX_DEPTH ops (before: after the first,
    every op realized on its own, because a realized node kept its depth)."""
    xn = np.linspace(0, 1, 1000)
    x = xp.asarray(xn)
    steps = 2000
    for _ in range(steps):
        x = ((x * 0.5 + 1.0) * 0.25 - 0.125) * 2.0 + (x * 0.125 - 0.5) * 0.5 + 0.25
    x.compute()
    ops = [n for kernels in plans for n in kernels]
    assert all(len(kernels) == 1 for kernels in plans), plans[:5]
    assert len(plans) <= steps * 10 // (MAX_DEPTH // 2) + 2
    assert sum(ops) <= steps * 10 + len(plans)          # nothing recomputed
    ref = xn
    for _ in range(steps):
        ref = ((ref * 0.5 + 1.0) * 0.25 - 0.125) * 2.0 + (ref * 0.125 - 0.5) * 0.5 + 0.25
    np.testing.assert_allclose(np.asarray(x), ref, rtol=1e-12)


def test_periodic_probe_realizes_the_array_and_nothing_is_recomputed(lazy, plans):
    """``float(x[0])`` every few steps: the slice reads x, which the user holds, so x is
    realized once and later steps start from it (before: the slice was pushed 32 ops down and
    the chain below was recomputed, as a new structure, by every probe)."""
    x = xp.asarray(np.zeros(50_000))
    probes = []
    for i in range(1000):
        x = x * 0.5 + 1
        if i % 100 == 99:
            probes.append(float(x[0]))
    ops = sum(n for kernels in plans for n in kernels)
    assert ops <= 2 * 1000 + 4 * len(plans), ops        # each recorded op computed once
    assert x._node.buffer is not None or x._node.depth <= 2 * 100
    assert probes[-1] == pytest.approx(2.0)


def test_held_intermediate_is_kept_unheld_is_freed(lazy):
    b = xp.asarray(np.ones((10, 10)))
    m = xp.exp(b) @ b                  # the exp is materialized for the GEMM
    inner = weakref.ref(m._node.inputs[0])
    w = m + 1
    w.compute()
    assert m._node.buffer is not None             # the user holds m: its value is kept
    gc.collect()
    assert inner() is None or inner().buffer is None    # nobody holds the exp: freed
    np.testing.assert_allclose(np.asarray(m), np.exp(np.ones((10, 10))) @ np.ones((10, 10)))


# ---- every recorded shape is validated where it is recorded (NumPy's rules)

@pytest.mark.parametrize("make", [
    lambda: xp.zeros((2**62, 2**62, 0)),
    lambda: xp.zeros((0, 2**62, 2**62)),
    lambda: xp.zeros((2**62, 0)),                        # 2**62 float64s: too many bytes
    lambda: xp.zeros((2**32, 1)) * xp.zeros((1, 2**32)),
    lambda: xp.broadcast_to(xp.zeros(1), (2**40, 2**30)),
    lambda: xp.astype(xp.zeros(2**59, dtype=xp.int8), xp.complex128),
    lambda: xp.reshape(xp.zeros(4), (1,) * 65 + (4,)),
], ids=["zero-last", "zero-first", "bytes", "broadcast", "broadcast_to", "astype", "reshape-65"])
def test_impossible_shapes_raise_at_the_call(make):
    with pytest.raises(ValueError):
        make()


def test_possible_zero_size_shape_records():
    assert xp.zeros((2**62, 0), dtype=xp.int8).shape == (2**62, 0)      # NumPy allows it too
    np.empty((2**62, 0), np.int8)


def test_dimension_limit_of_indexing_and_expand_dims():
    a = xp.zeros(())
    assert a[(None,) * 64].ndim == 64
    with pytest.raises(IndexError, match="64"):
        a[(None,) * 65]
    b = a
    for _ in range(64):
        b = xp.expand_dims(b, axis=0)
    with pytest.raises(ValueError, match="64"):
        xp.expand_dims(b, axis=0)
