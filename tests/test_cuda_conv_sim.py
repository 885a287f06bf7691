"""Convolutions on a CUDA device (lowering/kernels/conv_cuda.py, correlate_cuda.py), differential
against the CPU executor.  Run like tests/test_cuda_sim.py: under Numba's simulator by
``tests/test_cuda.py::test_simulator_suite`` (tiny shapes: the simulator is an interpreter), on a
real GPU by ``python -m arrayforge.gpucheck``."""
import numpy as np
import pytest

import arrayforge as xp
from arrayforge import nn, signal
from lowering import cuda_runtime

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not cuda_runtime.available(),
                                 reason="no CUDA device (run with NUMBA_ENABLE_CUDASIM=1, see tests/test_cuda.py)")]

rng = np.random.default_rng(11)


def _values(shape, dtype="float64"):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.4
    if dtype.kind in "iu":
        return rng.integers(0 if dtype.kind == "u" else -9, 9, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def both(f, *arrays, rtol=1e-11):
    """``f`` on CPU arrays and on CUDA arrays of the same values: same dtype, shape and values
    (floats to ``rtol``: a GPU may contract a multiply-add)."""
    host = f(*[xp.asarray(a) for a in arrays])
    dev = f(*[xp.asarray(a, device="cuda") for a in arrays])
    assert dev.device == xp.Device("cuda", 0)
    h, d = np.asarray(host), np.asarray(dev)
    assert d.dtype == h.dtype and d.shape == h.shape, (d.dtype, h.dtype, d.shape, h.shape)
    if h.dtype.kind in "biu":
        np.testing.assert_array_equal(d, h)
    else:
        scale = max(1.0, float(np.max(np.abs(h), initial=0.0)))
        np.testing.assert_allclose(d, h, rtol=rtol, atol=rtol * scale)
    return d


X = _values((2, 3, 5, 5))
W = _values((4, 3, 3, 3))
BIAS = _values(4)


def _routine_on_device(f, *arrays):
    y = f(*[xp.asarray(a, device="cuda") for a in arrays])
    return [k.variant for k in xp.explain(y).kernels]


# ---- conv: the im2col + GEMM routine ------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2), dict(stride=(2, 1), padding=(0, 2)),
                                dict(dilation=2, padding=1), dict(padding="same", dilation=(1, 2)),
                                dict(padding="valid"), dict(stride=3, dilation=2, padding=2)])
def test_conv2d_im2col_gemm(kw):
    w = _values((12, 3, 3, 3))      # 3 x 12 channels: past the direct routine's threshold
    both(lambda x, w: nn.conv2d(x, w, **kw), X, w)
    assert _routine_on_device(lambda x, w: nn.conv2d(x, w, **kw), X, w) == ["im2col-gemm"]


def test_conv2d_groups_and_asymmetric_same_padding():
    x = _values((2, 6, 5, 4))
    w = _values((12, 3, 2, 3))      # groups=2: 3 in x 6 out per group; even kernel: "same" pads 0/1
    both(lambda x, w: nn.conv2d(x, w, groups=2, padding="same"), x, w)
    both(lambda x, w: nn.conv2d(x, w, groups=2, stride=(1, 2), dilation=(2, 1)), x, w)


def test_conv1d_and_conv3d():
    both(lambda x, w: nn.conv1d(x, w, stride=2, padding=1), _values((2, 4, 9)), _values((10, 4, 3)))
    both(lambda x, w: nn.conv3d(x, w, padding=(1, 0, 1), stride=(1, 2, 1)), _values((1, 3, 4, 4, 3)),
         _values((11, 3, 2, 3, 2)))
    both(lambda x, w: nn.conv3d(x, w, dilation=(1, 2, 1), groups=3), _values((2, 3, 3, 5, 3)),
         _values((3, 1, 2, 2, 2)))                                     # direct, 3-D


def test_conv2d_1x1_is_a_gemm():
    w = _values((10, 6, 1, 1))
    x = _values((2, 6, 4, 5))
    both(lambda x, w: nn.conv2d(x, w), x, w)
    assert _routine_on_device(lambda x, w: nn.conv2d(x, w), x, w) == ["gemm-1x1"]
    both(lambda x, w: nn.conv2d(x, w, groups=2), x, _values((12, 3, 1, 1)))


def test_conv2d_float32_unbatched_and_padding_modes():
    w = _values((12, 3, 3, 3), "float32")
    both(lambda x, w: nn.conv2d(x, w, padding=1), X[0].astype(np.float32), w, rtol=2e-5)
    for mode in ("reflect", "replicate", "circular"):
        both(lambda x, w: nn.conv2d(x, w, padding=(1, 2), padding_mode=mode), X, W)


def test_bias_and_epilogue_fuse_into_one_kernel():
    w = _values((12, 3, 3, 3))
    b = _values(12)
    f = lambda x, w, b: nn.relu(nn.conv2d(x, w, padding=1) + b[:, None, None])  # noqa: E731
    both(f, X, w, b)
    both(lambda x, w, b: nn.conv2d(x, w, b, stride=2), X, w, b)
    g = [xp.asarray(a, device="cuda") for a in (X, w, b)]
    kernels = xp.explain(f(*g)).kernels
    assert [k.kind for k in kernels] == ["conv", "elementwise"] and kernels[0].backend == "cuda"


# ---- conv: the direct routine -------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, padding=2, dilation=2),
                                dict(stride=(1, 3), padding=(2, 0))])
def test_depthwise_direct(kw):
    w = _values((3, 1, 3, 3))
    both(lambda x, w: nn.conv2d(x, w, groups=3, **kw), X, w)
    both(lambda x, w, b: nn.conv2d(x, w, b, groups=3, **kw) * 2.0, X, _values((6, 1, 3, 3)), _values(6))
    assert _routine_on_device(lambda x, w: nn.conv2d(x, w, groups=3, **kw), X, w) == ["direct"]


def test_small_channels_direct():
    both(lambda x, w: nn.conv2d(x, w, padding=1), X, W)                         # 3 x 4 channels
    both(lambda x, w: nn.conv1d(x, w, dilation=3, padding=2), _values((2, 2, 11)), _values((3, 2, 3)))


def test_direct_filter_in_global_memory(monkeypatch):
    from lowering.kernels import conv_cuda
    monkeypatch.setattr(conv_cuda, "FILTER_SHARED", 8)       # the filter (27 weights) does not fit
    conv_cuda.direct_kernel.cache_clear()
    try:
        both(lambda x, w: nn.conv2d(x, w, padding=1), X, W)
    finally:
        conv_cuda.direct_kernel.cache_clear()


@pytest.mark.parametrize("dtype", ["int8", "int32", "uint8", "int64"])
def test_integer_convs_are_exact(dtype):
    x = _values((2, 3, 4, 5), dtype)
    w = _values((4, 3, 3, 2), dtype)
    if dtype == "int8":
        x, w = x * np.int8(5), w * np.int8(7)                               # wraps in int8
    both(lambda x, w: nn.conv2d(x, w, padding=1, stride=(2, 1)), x, w)
    both(lambda x, w: nn.conv_transpose2d(x, w, stride=2, padding=1), _values((2, 3, 3, 3), dtype), w[:3])


# ---- conv_transpose: GEMM + col2im gather -------------------------------------------------

@pytest.mark.parametrize("kw", [dict(stride=2, padding=1), dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2)),
                                dict(dilation=2, padding=1), dict(stride=(2, 3), dilation=(2, 3), padding=1),
                                dict(groups=3, stride=2)])
def test_conv_transpose2d(kw):
    w = _values((3, 4, 3, 3))
    both(lambda x, w: nn.conv_transpose2d(x, w, **kw), X, w)


def test_conv_transpose_1d_3d_and_bias():
    both(lambda x, w, b: nn.conv_transpose1d(x, w, b, stride=3, padding=1), _values((2, 4, 6)),
         _values((4, 5, 3)), _values(5))
    both(lambda x, w: nn.conv_transpose3d(x, w, stride=(1, 2, 2)), _values((1, 2, 2, 3, 3)), _values((2, 3, 2, 2, 2)))


# ---- unfold, fold, pad, pooling -------------------------------------------------------------

def test_unfold_and_fold():
    both(lambda x: nn.unfold(x, (2, 3), stride=(2, 1), padding=1, dilation=(1, 2)), X)
    cols = _values((2, 3 * 4, 9))
    both(lambda c: nn.fold(c, (5, 5), 2, stride=2, padding=1), cols)
    both(lambda c: nn.fold(c, (4, 6), (2, 2), dilation=(2, 1), stride=(1, 2)), _values((1, 8, 6)))
    both(lambda c: nn.fold(c, (3, 3), 2), _values((2, 4, 4), "int16"))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_modes(mode):
    kw = dict(value=-1.5) if mode == "constant" else {}
    both(lambda x: nn.pad(x, (1, 2, 2, 0), mode=mode, **kw), X)
    both(lambda x: nn.pad(x, (3, 1), mode=mode), _values((2, 4), "int16"))


def test_pooling_with_padding_runs_on_device():
    both(lambda x: nn.max_pool2d(x, 3, stride=2, padding=1), X)
    both(lambda x: nn.avg_pool2d(x, 2, padding=1, count_include_pad=False), X)


# ---- signal: correlate2d / convolve2d and the N-D direct method ----------------------------

A2 = _values((6, 7))
K2 = _values((3, 2))


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
def test_convolve2d_correlate2d(mode, boundary):
    both(lambda a, k: signal.convolve2d(a, k, mode=mode, boundary=boundary, fillvalue=0.5), A2, K2)
    both(lambda a, k: signal.correlate2d(a, k, mode=mode, boundary=boundary), A2, K2)


def test_correlate2d_large_kernel_wraps_past_the_size_and_integers():
    # pads longer than the array: wrap and symm extend periodically, as numpy.pad
    both(lambda a, k: signal.convolve2d(a, k, boundary="symm"), _values((2, 3)), _values((5, 6)))
    both(lambda a, k: signal.correlate2d(a, k, boundary="wrap", mode="same"), _values((3, 2)), _values((4, 5)))
    a8, k8 = _values((5, 5), "int8") * np.int8(9), _values((3, 3), "int8") * np.int8(11)
    both(lambda a, k: signal.convolve2d(a, k, mode="same", fillvalue=3), a8, k8)
    both(lambda a, k: signal.correlate2d(a, k), a8, _values((2, 2), "int32"))            # mixed dtypes
    both(lambda a, k: signal.convolve2d(a, k) * 2.0 + 1.0, A2.astype(np.float32), K2.astype(np.float32),
         rtol=1e-5)


def test_signal_convolve_nd_and_1d():
    both(lambda a, k: signal.convolve(a, k, mode="same"), _values((4, 5, 3)), _values((2, 3, 2)))
    both(lambda a, k: signal.correlate(a, k, mode="valid", method="direct"), _values(20), _values(5))
    both(lambda a, k: signal.convolve1d(a, k, mode="same"), _values(9, "int16"), _values(4, "int16"))
    both(lambda a, k: signal.convolve(a, k), _values((1, 9, 1)), _values((1, 3, 1)))     # unit dims dropped


def test_signal_fft_methods_raise_on_device():
    a = xp.asarray(_values((8, 8)), device="cuda")
    with pytest.raises(NotImplementedError, match="fftconvolve.*cuda:0"):
        signal.fftconvolve(a, a)
    with pytest.raises(NotImplementedError, match="cuda:0"):
        signal.convolve(a, a, method="fft")


def test_signal_auto_method_is_direct_on_device(monkeypatch):
    monkeypatch.setattr(signal, "DIRECT_SECONDS_PER_MAC", 1.0)        # the CPU would take the FFT
    a, k = _values((6, 6)), _values((4, 4))
    assert signal.choose_conv_method(xp.asarray(a), xp.asarray(k)) == "fft"
    g, gk = xp.asarray(a, device="cuda"), xp.asarray(k, device="cuda")
    assert signal.choose_conv_method(g, gk) == "direct"
    y = signal.convolve(g, gk)
    assert xp.explain(y).kernels[0].kind == "correlate"
    np.testing.assert_allclose(np.asarray(y), np.asarray(signal.convolve(xp.asarray(a), xp.asarray(k), method="direct")),
                               rtol=1e-12)


def test_signal_high_rank_raises_on_device():
    x4 = xp.asarray(_values((2, 2, 2, 2)), device="cuda")
    with pytest.raises(NotImplementedError, match="convolve.*cuda:0"):
        signal.convolve(x4, x4)


def test_gpucheck_conv_figures_run(capsys):
    # (the GPU figures' code, on tiny shapes: timings mean nothing here)
    from arrayforge import gpucheck
    gpucheck.conv_figures(1, tiny=True)
    out = capsys.readouterr().out
    assert "im2col-gemm" in out and "direct" in out and "max relative |gpu - cpu|" in out
