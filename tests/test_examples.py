"""The programs of shared/EXAMPLES.md run unchanged and give NumPy's answers."""
import numpy as np
import pytest

import arrayforge as xp
from arrayforge.__main__ import clean_images


def test_linear_algebra_basics(executor):
    A = xp.reshape(xp.arange(20, dtype=xp.float32), (5, 4))
    assert xp.sum(A, axis=0).tolist() == [40, 45, 50, 55]
    assert xp.sum(A, axis=1).tolist() == [6, 22, 38, 54, 70]
    assert float(xp.sum(A, axis=(0, 1))) == 190 == float(xp.sum(A))
    np.testing.assert_array_equal(np.asarray(xp.mean(A, axis=0)), np.asarray(xp.sum(A, axis=0) / A.shape[0]))
    s = xp.sum(A, axis=1, keepdims=True)
    An = np.arange(20, dtype=np.float32).reshape(5, 4)
    np.testing.assert_allclose(np.asarray(A / s), An / An.sum(axis=1, keepdims=True))
    x = xp.arange(4, dtype=xp.float32)
    y = xp.ones(4, dtype=xp.float32)
    assert float(xp.vecdot(x, y)) == 6.0 == float(xp.sum(x * y))
    assert (A @ x).shape == (5,)
    assert (A @ xp.ones((4, 3), dtype=xp.float32)).shape == (5, 3)


def test_broadcasting_rules():
    assert (xp.ones((2, 3)) + xp.ones((2, 1))).shape == (2, 3)
    assert (xp.ones((3, 3)) * xp.ones((3, 1))).shape == (3, 3)
    with pytest.raises(ValueError):
        xp.ones((4, 3)) * xp.ones((3, 2))
    assert (xp.ones((12288, 150)) @ xp.ones((150, 45))).shape == (12288, 45)
    img = xp.ones((32, 32, 3))
    assert xp.reshape(img, (3072, 1)).shape == (3072, 1)


def test_tensors_and_tensordot():
    s = xp.asarray([[[1, 2], [3, 4]]])
    t = xp.asarray([[[5, 6], [7, 8]]])
    assert (s * t).tolist() == [[[5, 12], [21, 32]]]
    outer = xp.tensordot(s, t, axes=0)
    assert outer.shape == (1, 2, 2, 1, 2, 2)
    np.testing.assert_array_equal(np.asarray(outer), np.tensordot(np.asarray(s), np.asarray(t), axes=0))


def test_image_pipeline_matches_numpy(executor):
    rng = np.random.default_rng(0)
    data_np = rng.integers(0, 256, size=(64, 3072), dtype=np.uint8)
    got = clean_images(xp, xp.asarray(data_np))
    assert got.shape == (64, 576)
    np.testing.assert_allclose(np.asarray(got), clean_images(np, data_np), rtol=2e-5, atol=2e-5)


def test_showcase_quick_mode_runs(capsys):
    from arrayforge.__main__ import main
    import sys
    argv = sys.argv
    sys.argv = ["arrayforge", "--quick"]
    try:
        main()
    finally:
        sys.argv = argv
    out = capsys.readouterr().out
    assert "tensordot(s, t, 0).shape     (1, 2, 2, 1, 2, 2)" in out
    assert "Plan:" in out
