"""runtime remembers each launch (spec and coalesced operand shapes) by structure, sizes and
operand layouts: the same expression over operands of another layout must not reuse it."""
import numpy as np

import arrayforge as xp
from lowering import runtime

RNG = np.random.default_rng(3)


def test_same_structure_and_sizes_with_other_layouts():
    data = RNG.standard_normal((300, 300))
    other = RNG.standard_normal((300, 300))
    xp.set_executor("numba")
    try:
        for _ in range(2):      # the second round runs from the remembered launches
            for view, ref in ((xp.asarray(data), data), (xp.asarray(data).T, data.T),
                              (xp.asarray(np.ascontiguousarray(data[:, ::-1]))[:, ::-1], data),
                              (xp.asarray(np.repeat(data, 2, axis=1))[:, ::2], data)):
                y = xp.asarray(other)
                np.testing.assert_array_equal(np.asarray(view * y + 1.0), ref * other + 1.0)
                np.testing.assert_allclose(float(xp.sum(view * y)), np.sum(ref * other), rtol=1e-12)
                np.testing.assert_allclose(np.asarray(xp.sum(view * y, axis=1)), np.sum(ref * other, axis=1),
                                           rtol=1e-12)
    finally:
        xp.set_executor(None)


def test_tensor_product_repeated_and_cleared(tmp_path, monkeypatch):
    from lowering import cache        # clear a cache of its own: another worker shares the real one
    monkeypatch.setitem(cache._state, "dir", str(tmp_path / "cache"))
    monkeypatch.setitem(cache._state, "usable", None)
    a, b = RNG.standard_normal((10, 10, 10)), RNG.standard_normal((10, 10, 10))
    x, y = xp.asarray(a), xp.asarray(b)
    for i in range(3):
        np.testing.assert_array_equal(np.asarray(xp.tensordot(x, y, axes=0)), np.tensordot(a, b, axes=0))
        if i == 1:
            runtime.clear_cache()
            assert not runtime._launches
    v, w = RNG.standard_normal(2000), RNG.standard_normal(2000)
    np.testing.assert_array_equal(np.asarray(xp.tensordot(xp.asarray(v), xp.asarray(w), axes=0)),
                                  np.tensordot(v, w, axes=0))
