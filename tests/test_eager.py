"""The eager tier: small work on realized inputs runs at once, with the NumPy executor's own
per-op functions, so its results are identical to the recorded path's."""
import numpy as np
import pytest

import arrayforge as xp
from lowering import runtime

SPECIAL = np.array([0.0, -0.0, 1.5, -2.25, np.inf, -np.inf, np.nan, 1e308, -1e-310, 3.0])


def _both(fn, *arrays):
    """fn's result under the default policy (eager) and with everything recorded."""
    eager = fn(*[xp.asarray(a) for a in arrays])
    xp.set_executor("numpy")
    try:
        lazy = fn(*[xp.asarray(a) for a in arrays])
        assert lazy._node.buffer is None or not lazy._node.inputs     # recorded, not run
        lazy = np.asarray(lazy)
    finally:
        xp.set_executor(None)
    return eager, lazy


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)
    if a.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(a), np.signbit(b))


@pytest.mark.parametrize("fn", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
    lambda a, b: a // b, lambda a, b: a % b, lambda a, b: a ** b, lambda a, b: xp.maximum(a, b),
    lambda a, b: xp.minimum(a, b), lambda a, b: xp.atan2(a, b), lambda a, b: xp.hypot(a, b),
    lambda a, b: xp.copysign(a, b), lambda a, b: xp.logaddexp(a, b), lambda a, b: a < b,
    lambda a, b: a == b, lambda a, b: xp.where(a < b, a, b), lambda a, b: xp.nextafter(a, b),
    lambda a, b: a * 2.0 + 1.0, lambda a, b: 2.0 - a, lambda a, b: -a, lambda a, b: xp.abs(a),
    lambda a, b: xp.sqrt(a), lambda a, b: xp.exp(a), lambda a, b: xp.log1p(a),
    lambda a, b: xp.sign(a), lambda a, b: xp.floor(a), lambda a, b: xp.round(a),
    lambda a, b: xp.tanh(a), lambda a, b: xp.isnan(a), lambda a, b: xp.signbit(a),
    lambda a, b: xp.astype(a, xp.float32), lambda a, b: xp.astype(a, xp.int64),
    lambda a, b: xp.sum(a), lambda a, b: xp.max(b), lambda a, b: xp.prod(a[:4]),
    lambda a, b: xp.mean(b), lambda a, b: xp.sum(xp.reshape(a, (2, 5)), axis=1),
    lambda a, b: a[::-2] + b[1::2], lambda a, b: xp.reshape(a, (5, 2)).T * b[:5],
    lambda a, b: xp.sum(xp.astype(a, xp.float32)),
])
def test_eager_equals_recorded_float(fn):
    b = np.roll(SPECIAL, 3)
    eager, lazy = _both(fn, SPECIAL, b)
    assert eager._node.buffer is not None and not eager._node.inputs      # ran at once
    _same(np.asarray(eager), lazy)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int64", "uint64", "complex64", "complex128"])
@pytest.mark.parametrize("fn", [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a == b,
                                lambda a, b: xp.sum(a), lambda a, b: -a,
                                lambda a, b: xp.where(a == b, a, b), lambda a, b: xp.max(a) if a.dtype.kind != "c" else xp.sum(b)])
def test_eager_equals_recorded_other_dtypes(dtype, fn):
    rng = np.random.default_rng(1)
    if dtype.startswith("complex"):
        a = (rng.standard_normal(7) + 1j * rng.standard_normal(7)).astype(dtype)
        b = (rng.standard_normal(7) + 1j * rng.standard_normal(7)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, 7, dtype=dtype, endpoint=True)
        b = rng.integers(info.min, info.max, 7, dtype=dtype, endpoint=True)
    eager, lazy = _both(fn, a, b)
    _same(np.asarray(eager), lazy)


@pytest.mark.parametrize("fn", [lambda a, b: a & b, lambda a, b: ~a, lambda a, b: xp.logical_xor(a, b),
                                lambda a, b: xp.any(a), lambda a, b: xp.all(b), lambda a, b: xp.count_nonzero(a)])
def test_eager_equals_recorded_bool(fn):
    rng = np.random.default_rng(2)
    eager, lazy = _both(fn, rng.random(9) < 0.5, rng.random(9) < 0.5)
    _same(np.asarray(eager), lazy)


def test_zero_d_and_empty():
    for shape in [(), (0,), (3, 0)]:
        a = np.full(shape, 2.5)
        eager, lazy = _both(lambda x: x * 2.0 + xp.sqrt(x), a)
        _same(np.asarray(eager), lazy)
        assert type(eager._node.buffer) is np.ndarray


def test_forced_executors_and_large_work_record():
    small = xp.asarray(np.ones(10))
    for mode in ("numpy", "numba"):
        xp.set_executor(mode)
        try:
            assert (small + 1)._node.inputs            # recorded
        finally:
            xp.set_executor(None)
    big = xp.asarray(np.ones(runtime.EAGER_MAX + 1))
    assert (big + 1)._node.inputs
    assert xp.sum(big)._node.inputs                    # the work, not the result, is counted
    assert (small + xp.ones(10))._node.buffer is not None      # a constant operand is a scalar
    assert (xp.ones(10) + 1)._node.buffer is None              # constants only: still free


def test_errors_stay_at_the_call():
    a = xp.asarray(np.ones((4, 3)))
    with pytest.raises(ValueError, match="broadcast"):
        a * xp.asarray(np.ones((3, 2)))
    with pytest.raises(TypeError):
        xp.sqrt(xp.asarray(np.arange(3)) > 1)


def test_eager_result_is_read_only_and_does_not_alias_the_input():
    src = np.arange(6.0)
    a = xp.asarray(src)
    v = a[1:4]
    assert v._node.buffer is not None
    assert not v._node.buffer.flags.writeable
    src[1] = 100.0                  # asarray copied: the recorded value never changes
    assert np.asarray(v).tolist() == [1.0, 2.0, 3.0]


def test_eager_values_make_no_node_until_one_is_needed():
    """An eager result is just its buffer: a chain of small ops builds no graph (the cost that
    kept small expressions above 2x NumPy); the leaf appears when something needs a node."""
    a = xp.asarray(np.arange(5.0))
    y = xp.sqrt(a * 2.0 + 1.0) - a
    assert y._buf is not None
    with pytest.raises(AttributeError):
        object.__getattribute__(y, "_node")          # no leaf yet
    assert (y.shape, y.dtype, y.ndim, y.size, y.device) == ((5,), xp.float64, 1, 5, xp.Device("cpu"))
    with pytest.raises(AttributeError):
        object.__getattribute__(y, "_node")          # metadata never makes one
    expect = np.sqrt(np.arange(5.0) * 2 + 1) - np.arange(5.0)
    np.testing.assert_array_equal(np.asarray(y), expect)
    out = np.asarray(y)
    assert not out.flags.writeable                    # exported read-only, as every value
    with pytest.raises(ValueError):
        out[0] = 1.0
    z = xp.reshape(y, (5, 1))                         # a recorded op gets the leaf
    assert y._node.buffer is y._buf
    np.testing.assert_array_equal(np.asarray(z)[:, 0], expect)
    assert float(xp.sum(y)) == pytest.approx(expect.sum())


def test_in_place_updates_of_eager_values_rebind_both_halves():
    x = xp.asarray(np.zeros(4))
    x = x + 1.0                                      # eager: a buffer, no node
    x += 2.0                                         # eager again
    assert np.asarray(x).tolist() == [3.0] * 4
    x *= xp.asarray(np.full(4, 2.0))
    assert np.asarray(x).tolist() == [6.0] * 4
    x[1] = -1.0                                      # functional update: a recorded node
    assert np.asarray(x).tolist() == [6.0, -1.0, 6.0, 6.0]
    x += 1.0                                         # and eager after it
    assert np.asarray(x).tolist() == [7.0, 0.0, 7.0, 7.0]
    y = x
    x += 1.0                                          # rebinds the one Array object (y is x)
    assert np.asarray(y).tolist() == [8.0, 1.0, 8.0, 8.0]
    w = x * 1.0
    x[0] = 0.0                                        # w keeps its value
    assert np.asarray(w).tolist() == [8.0, 1.0, 8.0, 8.0]
    assert float(x[0]) == 0.0 and int(xp.count_nonzero(x > 1)) == 2
