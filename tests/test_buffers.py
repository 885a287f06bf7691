"""Output buffers: pooled memory is reused only when no array refers to it."""
import threading

import numpy as np

import arrayforge as xp
from lowering.runtime import pool

N = 300_000          # 2.4 MB outputs: pooled


def compute(scale):
    xp.set_executor("numba")
    try:
        return (xp.asarray(np.arange(N, dtype=np.float64)) * scale + 1.0).compute()
    finally:
        xp.set_executor(None)


def test_live_results_are_never_overwritten():
    first = compute(2.0)
    view = np.asarray(first)[::7]            # a user's NumPy view keeps the memory alive too
    expected = view.copy()
    del first
    others = [compute(float(s)) for s in range(3, 8)]
    np.testing.assert_array_equal(view, expected)
    for s, o in zip(range(3, 8), others):
        np.testing.assert_array_equal(np.asarray(o), np.arange(N) * float(s) + 1.0)


def test_memory_of_dropped_results_is_reused():
    compute(2.0)                                # dropped at once
    before = pool.total
    assert before >= N * 8                      # the output came from the pool
    for s in range(10):
        compute(float(s))
    assert pool.total == before                 # no new buffers: the same memory served all


def test_threads_never_share_a_buffer():
    results, errors = {}, []

    def work(i):
        try:
            for _ in range(5):
                results[i] = np.asarray(compute(float(i)))
                np.testing.assert_array_equal(results[i], np.arange(N) * float(i) + 1.0)
        except Exception as exc:     # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, r in results.items():
        np.testing.assert_array_equal(r, np.arange(N) * float(i) + 1.0)
