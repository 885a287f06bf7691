"""arrayforge.nn: convolutions, unfold/fold, pooling, linear and activations against an
independent NumPy reference (sliding windows + einsum; transposed convolution by its
definition), fusion plans, and argument errors at the recording call.

Kept cheap to compile: small arrays, float64 for the option grid, a few float32/int cases; the
Numba kernels are shape-generic (one per dtype: direct, im2col, col2im), so the grid adds no
compiles.  PyTorch is an optional extra oracle (``pytest.importorskip``).
"""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numpy.lib.stride_tricks import sliding_window_view

import arrayforge as xp
from arrayforge import nn
from conftest import assert_same

RNG = np.random.default_rng(13)


def data(shape, dtype=np.float64):
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        return RNG.integers(-20, 20, size=shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def close(got, expected):
    got = np.asarray(got)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    if expected.dtype.kind in "iu":
        np.testing.assert_array_equal(got, expected)
    else:
        tol = 1e-10 if expected.dtype == np.float64 else 2e-4
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


# ---- the reference (independent of the implementation)

def _acc(dtype):
    return np.float64 if np.dtype(dtype).kind == "f" else np.int64


def conv(x, w, stride, before, after, dilation, groups):
    """Cross-correlation of x (N, C, *s) with w (C_out, C/groups, *k), zero padding."""
    nd = x.ndim - 2
    acc = _acc(x.dtype)
    xp = np.pad(x.astype(acc), ((0, 0), (0, 0)) + tuple(zip(before, after)))
    k = w.shape[2:]
    ext = tuple(d * (kk - 1) + 1 for d, kk in zip(dilation, k))
    win = sliding_window_view(xp, ext, axis=tuple(range(2, 2 + nd)))
    win = win[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)
              + tuple(slice(None, None, d) for d in dilation)]
    cin_g, cout_g = x.shape[1] // groups, w.shape[0] // groups
    letters = "pqr"[:nd]
    kl = "ijk"[:nd]
    outs = []
    for g in range(groups):
        wg = w[g * cout_g:(g + 1) * cout_g].astype(acc)
        xg = win[:, g * cin_g:(g + 1) * cin_g]
        outs.append(np.einsum(f"nc{letters}{kl},oc{kl}->no{letters}", xg, wg))
    return np.concatenate(outs, axis=1).astype(x.dtype)


def conv_transpose(x, w, stride, padding, output_padding, dilation, groups):
    """By definition: out[n, g*cout_g + o, i*s - p + k*d] += x[n, g*cin_g + c, i] * w[g*cin_g + c, o, k]."""
    nd = x.ndim - 2
    acc = _acc(x.dtype)
    n, cin = x.shape[:2]
    cout_g = w.shape[1]
    cin_g = cin // groups
    k = w.shape[2:]
    full = tuple((i - 1) * s + d * (kk - 1) + 1 + op
                 for i, s, d, kk, op in zip(x.shape[2:], stride, dilation, k, output_padding))
    big = np.zeros((n, cout_g * groups) + full, acc)
    for off in itertools.product(*[range(kk) for kk in k]):
        for g in range(groups):
            xs = x[:, g * cin_g:(g + 1) * cin_g].astype(acc)
            ws = w[(slice(g * cin_g, (g + 1) * cin_g), slice(None)) + off].astype(acc)
            contrib = np.einsum("nc...,co->no...", xs, ws)
            key = (slice(None), slice(g * cout_g, (g + 1) * cout_g)) + tuple(
                slice(o * d, o * d + (i - 1) * s + 1, s) for o, d, s, i in zip(off, dilation, stride, x.shape[2:]))
            big[key] += contrib
    crop = (slice(None), slice(None)) + tuple(slice(p, f - p) for p, f in zip(padding, full))
    return big[crop].astype(x.dtype)


def max_pool(x, kernel, stride, padding, dilation, ceil_mode):
    nd = x.ndim - 2
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    outs = []
    for size, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation):
        span = size + 2 * p - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= size + p:
            o -= 1
        outs.append(o)
    pads = tuple((p, p + max(0, (o - 1) * s + d * (k - 1) + 1 - size - 2 * p))
                 for size, k, s, p, d, o in zip(x.shape[2:], kernel, stride, padding, dilation, outs))
    xp = np.pad(x, ((0, 0), (0, 0)) + pads, constant_values=low)
    res = np.full(x.shape[:2] + tuple(outs), low, x.dtype)
    for pos in itertools.product(*[range(o) for o in outs]):
        win = xp[(slice(None), slice(None)) + tuple(
            slice(q * s, q * s + d * (k - 1) + 1, d) for q, s, d, k in zip(pos, stride, dilation, kernel))]
        res[(slice(None), slice(None)) + pos] = win.reshape(win.shape[:2] + (-1,)).max(-1)
    return res


def avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad):
    """torch's definition, window by window."""
    outs = []
    for size, k, s, p in zip(x.shape[2:], kernel, stride, padding):
        span = size + 2 * p - k
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= size + p:
            o -= 1
        outs.append(o)
    res = np.zeros(x.shape[:2] + tuple(outs), x.dtype)
    for pos in itertools.product(*[range(o) for o in outs]):
        lo = [q * s - p for q, s, p in zip(pos, stride, padding)]
        hi = [min(l + k, n + p) for l, k, n, p in zip(lo, kernel, x.shape[2:], padding)]
        size = np.prod([h - l for l, h in zip(lo, hi)])
        lo_c = [max(l, 0) for l in lo]
        hi_c = [min(h, n) for h, n in zip(hi, x.shape[2:])]
        win = x[(slice(None), slice(None)) + tuple(slice(l, h) for l, h in zip(lo_c, hi_c))]
        if not count_include_pad:
            size = np.prod([h - l for l, h in zip(lo_c, hi_c)])
        res[(slice(None), slice(None)) + pos] = win.astype(np.float64).sum(
            axis=tuple(range(2, x.ndim))) / size
    return res


def unfold_ref(x, k, d, p, s):
    xp_ = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    win = sliding_window_view(xp_, (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1), axis=(2, 3))
    win = win[:, :, ::s[0], ::s[1], ::d[0], ::d[1]]        # (N, C, oh, ow, kh, kw)
    n, c, oh, ow = win.shape[:4]
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * k[0] * k[1], oh * ow)


def adaptive_ref(x, oh, ow):
    n, c, h, w = x.shape
    out = np.empty((n, c, oh, ow), x.dtype)
    for i in range(oh):
        for j in range(ow):
            h0, h1 = (i * h) // oh, -((-(i + 1) * h) // oh)
            w0, w1 = (j * w) // ow, -((-(j + 1) * w) // ow)
            out[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return out


# ---- convolution: the option grid

CONV2D = [  # (C_in, C_out, groups, kernel, stride, padding, dilation, H, W)
    (3, 4, 1, (3, 3), 1, 1, 1, 7, 8),            # the textbook layer, im2col rows
    (4, 6, 1, (1, 1), 1, 0, 1, 5, 5),            # 1x1: a GEMM over channels
    (4, 6, 1, (1, 1), 2, 0, 1, 7, 6),            # 1x1 with stride
    (6, 4, 1, (2, 2), 3, 0, 1, 9, 8),            # stride > kernel
    (6, 8, 2, (3, 2), (2, 1), (0, 1), (1, 2), 9, 7),   # asymmetric everything, grouped
    (8, 8, 8, (3, 3), 1, 1, 1, 6, 6),            # depthwise
    (8, 16, 8, (3, 3), 2, 1, 1, 7, 7),           # depthwise multiplier 2, strided
    (12, 6, 3, (3, 3), 1, 2, 2, 8, 8),           # dilated, grouped
    (10, 5, 1, (3, 3), (2, 2), 1, 1, 6, 7),      # strided: full im2col
    (10, 5, 1, (5, 1), (1, 2), (2, 0), (1, 1), 9, 7),  # tall kernel, stride only along W
]


@pytest.mark.parametrize("case", CONV2D, ids=lambda c: "-".join(map(str, c)))
def test_conv2d_grid(executor, case):
    cin, cout, groups, k, s, p, d, h, w = case
    X, W = data((2, cin, h, w)), data((cout, cin // groups) + k)
    two = lambda v: (v, v) if isinstance(v, int) else v     # noqa: E731
    got = nn.conv2d(xp.asarray(X), xp.asarray(W), stride=s, padding=p, dilation=d, groups=groups)
    close(got, conv(X, W, two(s), two(p), two(p), two(d), groups))


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int32])
@pytest.mark.parametrize("case", [CONV2D[0], CONV2D[4], CONV2D[5]], ids=["rows", "grouped", "depthwise"])
def test_conv2d_dtypes(executor, dtype, case):
    cin, cout, groups, k, s, p, d, h, w = case
    X, W = data((2, cin, h, w), dtype), data((cout, cin // groups) + k, dtype)
    two = lambda v: (v, v) if isinstance(v, int) else v     # noqa: E731
    got = nn.conv2d(xp.asarray(X), xp.asarray(W), stride=s, padding=p, dilation=d, groups=groups)
    close(got, conv(X, W, two(s), two(p), two(p), two(d), groups))
    if np.dtype(dtype).kind == "i":
        assert xp.explain(nn.conv2d(xp.asarray(X), xp.asarray(W), stride=s, padding=p, dilation=d,
                                    groups=groups)).kernels[0].variant == "direct"


def test_conv1d_and_conv3d(executor):
    X, W = data((2, 4, 11)), data((6, 2, 3))
    close(nn.conv1d(xp.asarray(X), xp.asarray(W), stride=2, padding=2, dilation=2, groups=2),
          conv(X, W, (2,), (2,), (2,), (2,), 2))
    X, W = data((2, 3, 5, 6, 4)), data((4, 3, 2, 3, 2))
    close(nn.conv3d(xp.asarray(X), xp.asarray(W), stride=(1, 2, 1), padding=1),
          conv(X, W, (1, 2, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1), 1))
    Wd = data((3, 1, 3, 3, 3))
    close(nn.conv3d(xp.asarray(X), xp.asarray(Wd), padding="same", groups=3),
          conv(X, Wd, (1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1), 3))


def test_padding_strings_and_bias(executor):
    X, W, B = data((1, 4, 7, 6)), data((5, 4, 4, 3)), data(5)
    # "same" with an even kernel and dilation: torch puts the extra zero on the right
    got = nn.conv2d(xp.asarray(X), xp.asarray(W), xp.asarray(B), padding="same", dilation=(1, 2))
    expected = conv(X, W, (1, 1), (1, 2), (2, 2), (1, 2), 1) + B[:, None, None]
    close(got, expected)
    assert got.shape == (1, 5, 7, 6)
    close(nn.conv2d(xp.asarray(X), xp.asarray(W), padding="valid"), conv(X, W, (1, 1), (0, 0), (0, 0), (1, 1), 1))


def test_direct_stride_one_paths(executor):
    # the direct kernel's padded-plane path: asymmetric "same" padding, dilation, 1-D and 3-D
    X, W = data((2, 6, 7, 9)), data((6, 1, 4, 2))
    close(nn.conv2d(xp.asarray(X), xp.asarray(W), padding="same", dilation=(2, 3), groups=6),
          conv(X, W, (1, 1), (3, 1), (3, 2), (2, 3), 6))
    X1, W1 = data((3, 4, 10), np.float32), data((8, 1, 3), np.float32)
    close(nn.conv1d(xp.asarray(X1), xp.asarray(W1), padding=(3,), groups=4),
          conv(X1, W1, (1,), (3,), (3,), (1,), 4))
    X3, W3 = data((1, 2, 4, 3, 5), np.int64), data((2, 2, 2, 2, 3), np.int64)
    close(nn.conv3d(xp.asarray(X3), xp.asarray(W3), padding=(1, 0, 2)),
          conv(X3, W3, (1, 1, 1), (1, 0, 2), (1, 0, 2), (1, 1, 1), 1))


@pytest.mark.parametrize("mode,np_mode", [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")])
def test_padding_modes(executor, mode, np_mode):
    X, W = data((2, 3, 6, 5)), data((4, 3, 3, 3))
    got = nn.conv2d(xp.asarray(X), xp.asarray(W), padding=(2, 1), padding_mode=mode)
    padded = np.pad(X, ((0, 0), (0, 0), (2, 2), (1, 1)), mode=np_mode)
    close(got, conv(padded, W, (1, 1), (0, 0), (0, 0), (1, 1), 1))


def test_pad_torch_semantics():
    X = data((2, 3, 4, 5))
    x = xp.asarray(X)
    close(nn.pad(x, (1, 2)), np.pad(X, ((0, 0), (0, 0), (0, 0), (1, 2))))
    close(nn.pad(x, (1, 0, 2, 3), value=-1.5), np.pad(X, ((0, 0), (0, 0), (2, 3), (1, 0)), constant_values=-1.5))
    close(nn.pad(x, (2, 2, 1, 3), mode="reflect"), np.pad(X, ((0, 0), (0, 0), (1, 3), (2, 2)), mode="reflect"))
    close(nn.pad(x, (0, 4), mode="replicate"), np.pad(X, ((0, 0), (0, 0), (0, 0), (0, 4)), mode="edge"))
    close(nn.pad(x, (5, 5, 4, 0), mode="circular"), np.pad(X, ((0, 0), (0, 0), (4, 0), (5, 5)), mode="wrap"))
    for args, kw, exc in [((x, (1,)), {}, ValueError), ((x, (1, 1)), {"mode": "edge"}, ValueError),
                          ((x, (5, 0)), {"mode": "reflect"}, ValueError), ((x, (-1, 0)), {}, ValueError),
                          ((x, (1, 1)), {"mode": "reflect", "value": 2.0}, ValueError)]:
        with pytest.raises(exc):
            nn.pad(*args, **kw)


def test_unbatched_and_batch_one(executor):
    X, W, B = data((3, 6, 6)), data((4, 3, 3, 3)), data(4)
    got = nn.conv2d(xp.asarray(X), xp.asarray(W), xp.asarray(B), padding=1)
    assert got.shape == (4, 6, 6)
    close(got, conv(X[None], W, (1, 1), (1, 1), (1, 1), (1, 1), 1)[0] + B[:, None, None])
    got1 = nn.conv2d(xp.asarray(X[None]), xp.asarray(W), xp.asarray(B), padding=1)
    close(got1, np.asarray(got)[None])


@settings(max_examples=25, deadline=None)
@given(cin_g=st.integers(1, 6), cout_g=st.integers(1, 8), groups=st.integers(1, 3),
       kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3),
       ph=st.integers(0, 2), pw=st.integers(0, 2), dh=st.integers(1, 2), dw=st.integers(1, 2),
       h=st.integers(1, 7), w=st.integers(1, 7), n=st.integers(1, 2), numba=st.booleans())
def test_conv2d_property(cin_g, cout_g, groups, kh, kw, sh, sw, ph, pw, dh, dw, h, w, n, numba):
    X = data((n, cin_g * groups, h, w))
    W = data((cout_g * groups, cin_g, kh, kw))
    fits = h + 2 * ph >= dh * (kh - 1) + 1 and w + 2 * pw >= dw * (kw - 1) + 1
    xp.set_executor("numba" if numba else "auto")
    try:
        if not fits:
            with pytest.raises(ValueError, match="kernel size"):
                nn.conv2d(xp.asarray(X), xp.asarray(W), stride=(sh, sw), padding=(ph, pw),
                          dilation=(dh, dw), groups=groups)
            return
        got = nn.conv2d(xp.asarray(X), xp.asarray(W), stride=(sh, sw), padding=(ph, pw),
                        dilation=(dh, dw), groups=groups)
        close(got, conv(X, W, (sh, sw), (ph, pw), (ph, pw), (dh, dw), groups))
    finally:
        xp.set_executor(None)


def test_executors_agree_exactly():
    X, W = data((3, 8, 9, 9), np.float32), data((8, 8, 3, 3), np.float32)
    Wd = data((8, 1, 3, 3), np.float32)
    results = {}
    for mode in ("numpy", "numba"):
        xp.set_executor(mode)
        try:
            results[mode] = [np.asarray(nn.conv2d(xp.asarray(X), xp.asarray(W), padding=1)),
                             np.asarray(nn.conv2d(xp.asarray(X), xp.asarray(W), stride=2)),
                             np.asarray(nn.conv2d(xp.asarray(X), xp.asarray(Wd), padding=1, groups=8)),
                             np.asarray(nn.conv_transpose2d(xp.asarray(X), xp.asarray(W), stride=2))]
        finally:
            xp.set_executor(None)
    for a, b in zip(results["numpy"], results["numba"]):
        assert_same(a, b)


# ---- transposed convolution

TRANSPOSED = [  # (C_in, C_out/groups, groups, kernel, stride, padding, output_padding, dilation, H, W)
    (4, 3, 1, (4, 4), 2, 1, 0, 1, 4, 4),            # DCGAN: doubles H and W
    (4, 2, 2, (3, 2), (2, 3), (1, 0), (1, 2), 1, 5, 4),
    (3, 2, 1, (3, 3), 1, 0, 0, 2, 4, 5),            # dilated
    (2, 3, 1, (1, 1), 3, 0, 2, 1, 3, 3),            # 1x1, stride > kernel, output_padding
    (6, 1, 6, (3, 3), 2, 1, 1, 1, 3, 4),            # depthwise transposed
]


@pytest.mark.parametrize("case", TRANSPOSED, ids=lambda c: "-".join(map(str, c)))
def test_conv_transpose2d_grid(executor, case):
    cin, cout_g, groups, k, s, p, op, d, h, w = case
    two = lambda v: (v, v) if isinstance(v, int) else v     # noqa: E731
    X, W = data((2, cin, h, w)), data((cin, cout_g) + k)
    got = nn.conv_transpose2d(xp.asarray(X), xp.asarray(W), stride=s, padding=p, output_padding=op,
                              groups=groups, dilation=d)
    close(got, conv_transpose(X, W, two(s), two(p), two(op), two(d), groups))


def test_dcgan_doubles_and_dtypes(executor):
    for dtype in (np.float32, np.int64):
        Z, W, B = data((2, 8, 4, 4), dtype), data((8, 4, 4, 4), dtype), data(4, dtype)
        y = nn.conv_transpose2d(xp.asarray(Z), xp.asarray(W), xp.asarray(B), stride=2, padding=1)
        assert y.shape == (2, 4, 8, 8)
        close(y, conv_transpose(Z, W, (2, 2), (1, 1), (0, 0), (1, 1), 1) + B[:, None, None])


def test_conv_transpose_1d_3d_unbatched(executor):
    X, W = data((3, 6)), data((3, 2, 3))
    got = nn.conv_transpose1d(xp.asarray(X), xp.asarray(W), stride=2, padding=1, output_padding=1)
    close(got, conv_transpose(X[None], W, (2,), (1,), (1,), (1,), 1)[0])
    X, W = data((1, 2, 3, 2, 3)), data((2, 2, 2, 3, 2))
    close(nn.conv_transpose3d(xp.asarray(X), xp.asarray(W), stride=(2, 1, 2)),
          conv_transpose(X, W, (2, 1, 2), (0, 0, 0), (0, 0, 0), (1, 1, 1), 1))


def test_conv_transpose_is_the_adjoint(executor):
    # <conv(y, w), x> == <y, conv_transpose(x, w)> for matching geometry
    Y, W = data((2, 4, 9, 8)), data((6, 2, 3, 3))
    kw = dict(stride=2, padding=1, groups=2, dilation=1)
    cy = nn.conv2d(xp.asarray(Y), xp.asarray(W), **kw)
    X = data(cy.shape)
    tx = nn.conv_transpose2d(xp.asarray(X), xp.asarray(W), output_padding=(0, 1), **kw)
    assert tx.shape == Y.shape
    assert math.isclose(float(np.vdot(np.asarray(cy), X)), float(np.vdot(Y, np.asarray(tx))), rel_tol=1e-10)


# ---- unfold / fold

def test_unfold_fold(executor):
    X = data((2, 3, 7, 6))
    cols = nn.unfold(xp.asarray(X), (3, 2), dilation=(1, 2), padding=1, stride=(2, 1))
    close(cols, unfold_ref(X, (3, 2), (1, 2), (1, 1), (2, 1)))
    # fold is the adjoint of unfold: <unfold(x), c> == <x, fold(c)>
    C = data(cols.shape)
    back = nn.fold(xp.asarray(C), (7, 6), (3, 2), dilation=(1, 2), padding=1, stride=(2, 1))
    assert back.shape == X.shape
    assert math.isclose(float(np.vdot(np.asarray(cols), C)), float(np.vdot(X, np.asarray(back))), rel_tol=1e-10)
    # non-overlapping blocks: fold(unfold(x)) == x; unbatched input
    Xi = data((3, 4, 6))
    ci = nn.unfold(xp.asarray(Xi), 2, stride=2)
    assert ci.shape == (12, 6)
    close(nn.fold(ci, (4, 6), 2, stride=2), Xi)


def test_im2col_is_one_gemm():
    # EXAMPLES.md 5: conv2d == weights (C_out, C*K*K) @ unfold(x)
    X, W = data((1, 3, 6, 6)), data((4, 3, 3, 3))
    cols = nn.unfold(xp.asarray(X), 3, padding=1)
    y = xp.reshape(xp.asarray(W.reshape(4, -1)) @ cols, (1, 4, 6, 6))
    close(y, np.asarray(nn.conv2d(xp.asarray(X), xp.asarray(W), padding=1)))


# ---- pooling

@pytest.mark.parametrize("k,s,p,d,ceil", [((2, 2), None, 0, 1, False), ((3, 2), (2, 1), (1, 1), 1, True),
                                          ((3, 3), 2, 1, 2, False)])
def test_max_pool2d(k, s, p, d, ceil):
    X = data((2, 3, 7, 8))
    got = nn.max_pool2d(xp.asarray(X), k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
    two = lambda v: (v, v) if isinstance(v, int) else v     # noqa: E731
    close(got, max_pool(X, k, two(s) if s is not None else k, two(p), two(d), ceil))


def test_pools_compiled(executor):
    X = data((2, 3, 7, 8))
    close(nn.max_pool2d(xp.asarray(X), 3, stride=2, padding=1), max_pool(X, (3, 3), (2, 2), (1, 1), (1, 1), False))
    close(nn.avg_pool2d(xp.asarray(X), 3, stride=2, padding=1, count_include_pad=False),
          avg_pool(X, (3, 3), (2, 2), (1, 1), False, False))


def test_max_pool_1d_3d_ints_unbatched():
    X = data((2, 3, 9), np.int32)
    close(nn.max_pool1d(xp.asarray(X), 3, stride=2, padding=1), max_pool(X, (3,), (2,), (1,), (1,), False))
    X = data((1, 2, 5, 4, 6))
    close(nn.max_pool3d(xp.asarray(X), 2, ceil_mode=True), max_pool(X, (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), True))
    X = data((3, 6, 6))
    close(nn.max_pool2d(xp.asarray(X), 2), max_pool(X[None], (2, 2), (2, 2), (0, 0), (1, 1), False)[0])


@pytest.mark.parametrize("k,s,p,ceil,include", [((2, 2), None, 0, False, True), ((3, 3), 2, 1, True, True),
                                                ((3, 2), (2, 1), (1, 1), True, False)])
def test_avg_pool2d(k, s, p, ceil, include):
    X = data((2, 3, 7, 8))
    got = nn.avg_pool2d(xp.asarray(X), k, stride=s, padding=p, ceil_mode=ceil, count_include_pad=include)
    two = lambda v: (v, v) if isinstance(v, int) else v     # noqa: E731
    close(got, avg_pool(X, k, two(s) if s is not None else k, two(p), ceil, include))


def test_avg_pool_1d_3d_divisor_and_fusion(lazy):
    X = data((2, 3, 9))
    close(nn.avg_pool1d(xp.asarray(X), 3, stride=2, padding=1, count_include_pad=False),
          avg_pool(X, (3,), (2,), (1,), False, False))
    X3 = data((1, 2, 4, 4, 6))
    close(nn.avg_pool3d(xp.asarray(X3), 2), avg_pool(X3, (2, 2, 2), (2, 2, 2), (0, 0, 0), False, True))
    X2 = data((1, 2, 4, 4))
    close(nn.avg_pool2d(xp.asarray(X2), 2, divisor_override=3),
          avg_pool(X2, (2, 2), (2, 2), (0, 0), False, True) * 4 / 3)
    # unpadded pooling is one fused element-wise kernel over the K strided views
    plan = xp.explain(nn.max_pool2d(xp.asarray(data((2, 3, 8, 8))), 2))
    assert [k.kind for k in plan.kernels] == ["elementwise"]
    plan = xp.explain(nn.avg_pool2d(nn.relu(xp.asarray(data((2, 3, 8, 8)))), 2))
    assert [k.kind for k in plan.kernels] == ["elementwise"]


def test_adaptive_avg_pool2d():
    X = data((2, 3, 7, 10))
    for out in [(3, 4), 1, (None, 5), 7]:
        o = out if isinstance(out, tuple) else (out, out)
        o = tuple(n if v is None else v for v, n in zip(o, X.shape[2:]))
        close(nn.adaptive_avg_pool2d(xp.asarray(X), out), adaptive_ref(X, *o))


# ---- linear and activations

def test_linear_and_small_cnn_layer():
    # EXAMPLES.md 5: conv2d(x, w, stride=1, padding=1), relu, flatten, linear
    X, W, B = data((4, 3, 8, 8)), data((16, 3, 3, 3)), data(16)
    L, LB = data((10, 16 * 4 * 4)), data(10)
    h = nn.max_pool2d(nn.relu(nn.conv2d(xp.asarray(X), xp.asarray(W), xp.asarray(B), padding=1)), 2)
    y = nn.linear(xp.reshape(h, (4, -1)), xp.asarray(L), xp.asarray(LB))
    ref_h = max_pool(np.maximum(conv(X, W, (1, 1), (1, 1), (1, 1), (1, 1), 1) + B[:, None, None], 0),
                     (2, 2), (2, 2), (0, 0), (1, 1), False)
    close(y, ref_h.reshape(4, -1) @ L.T + LB)


def test_activations():
    # auto: these small arrays run on the NumPy executor (compiling ten element-wise kernels
    # would cost a minute); test_gelu_compiled runs the longest one compiled
    X = np.concatenate([np.linspace(-40, 40, 301), [0.0, -0.0, 1e-300, -1e-300, 5.5, -5.5, 27, -27]])
    x = xp.asarray(X)
    close(nn.relu(x), np.maximum(X, 0))
    close(nn.sigmoid(x), 1 / (1 + np.exp(-X)))
    close(nn.silu(x), X / (1 + np.exp(-X)))
    exact = X * 0.5 * np.vectorize(math.erfc)(-X / math.sqrt(2))
    got = np.asarray(nn.gelu(x))
    np.testing.assert_allclose(got, exact, rtol=1e-12, atol=1e-300)
    close(nn.gelu(x, approximate="tanh"), 0.5 * X * (1 + np.tanh(math.sqrt(2 / math.pi) * (X + 0.044715 * X ** 3))))
    assert np.allclose(np.asarray(nn.gelu(xp.asarray(X.astype(np.float32)))), exact, rtol=1e-5, atol=1e-6)
    M = data((5, 7))
    m = xp.asarray(M)
    e = np.exp(M - M.max(axis=1, keepdims=True))
    close(nn.softmax(m, axis=1), e / e.sum(axis=1, keepdims=True))
    close(nn.log_softmax(m, axis=0), M - M.max(0) - np.log(np.exp(M - M.max(0)).sum(0)))
    close(nn.relu(xp.asarray(np.array([-3, 4], np.int32))), np.array([0, 4], np.int32))


def test_gelu_compiled():
    X = np.concatenate([np.linspace(-40, 40, 301), [0.0, 1e-300, -27.0]])
    xp.set_executor("numba")
    try:
        got = np.asarray(nn.gelu(xp.asarray(X)))
    finally:
        xp.set_executor(None)
    np.testing.assert_allclose(got, X * 0.5 * np.vectorize(math.erfc)(-X / math.sqrt(2)), rtol=1e-12, atol=1e-300)


# ---- fusion: bias and activation are the conv's epilogue

def test_conv_epilogue_is_one_kernel(lazy):
    x, w, b = xp.asarray(data((2, 8, 6, 6))), xp.asarray(data((8, 8, 3, 3))), xp.asarray(data(8))
    plan = xp.explain(nn.relu(nn.conv2d(x, w, padding=1) + b[:, None, None]))
    kinds = [k.kind for k in plan.kernels]
    assert kinds.count("conv") == 1 and len(kinds) <= 2, plan
    assert plan.kernels[-1].kind == "elementwise" and "MAXIMUM" in plan.kernels[-1].ops
    plan = xp.explain(nn.relu(nn.conv2d(x, w, b, padding=1)))
    assert [k.kind for k in plan.kernels] == ["conv", "elementwise"], plan
    variants = [xp.explain(nn.conv2d(x, w2, padding=p, groups=g, stride=s)).kernels[0].variant
                for w2, p, g, s in [(w, 1, 1, 1), (xp.asarray(data((8, 8, 1, 1))), 0, 1, 1),
                                    (xp.asarray(data((8, 1, 3, 3))), 1, 8, 1), (w, 1, 1, 2)]]
    assert variants == ["rows-gemm", "gemm-1x1", "direct", "im2col-gemm"]


def test_depthwise_separable_block(executor):
    # EXAMPLES.md 5: 16 channels, one 3x3 each (groups=16), then 1x1 to 32 channels
    X, D, P = data((2, 16, 8, 8)), data((16, 1, 3, 3)), data((32, 16, 1, 1))
    y = nn.conv2d(nn.conv2d(xp.asarray(X), xp.asarray(D), padding=1, groups=16), xp.asarray(P))
    close(y, conv(conv(X, D, (1, 1), (1, 1), (1, 1), (1, 1), 16), P, (1, 1), (0, 0), (0, 0), (1, 1), 1))
    assert D.size + P.size < 32 * 16 * 9


# ---- argument errors, raised at the recording call

def test_errors():
    x, w = xp.asarray(data((2, 4, 6, 6))), xp.asarray(data((6, 4, 3, 3)))
    cases = [
        (lambda: nn.conv2d(x, xp.asarray(data((6, 3, 3, 3)))), ValueError, "input channels"),
        (lambda: nn.conv2d(x, xp.asarray(data((6, 2, 3, 3))), groups=3), ValueError, "groups"),
        (lambda: nn.conv2d(x, xp.asarray(data((5, 2, 3, 3))), groups=2), ValueError, "output channels"),
        (lambda: nn.conv2d(x, xp.asarray(data((6, 4, 7, 3)))), ValueError, "kernel size"),
        (lambda: nn.conv2d(x, w, stride=0), ValueError, "stride"),
        (lambda: nn.conv2d(x, w, dilation=(1, -1)), ValueError, "dilation"),
        (lambda: nn.conv2d(x, w, padding=-1), ValueError, "padding"),
        (lambda: nn.conv2d(x, w, stride=2, padding="same"), ValueError, "strided"),
        (lambda: nn.conv2d(x, w, padding="full"), ValueError, "padding"),
        (lambda: nn.conv2d(x, w, padding_mode="mirror"), ValueError, "padding_mode"),
        (lambda: nn.conv2d(x, w, padding=6, padding_mode="reflect"), ValueError, "reflect"),
        (lambda: nn.conv2d(xp.asarray(data((6, 6))), w), ValueError, "input"),
        (lambda: nn.conv2d(x, xp.asarray(data((6, 4, 3)))), ValueError, "weight"),
        (lambda: nn.conv2d(x, w, stride=(1, 1, 1)), ValueError, "stride"),
        (lambda: nn.conv2d(x, w, stride=1.5), TypeError, "stride"),
        (lambda: nn.conv2d(x, w, groups=0), ValueError, "groups"),
        (lambda: nn.conv2d(x, w, bias=xp.asarray(data(5))), ValueError, "bias"),
        (lambda: nn.conv2d(x, xp.asarray(data((6, 4, 3, 3), np.float32))), TypeError, "dtype"),
        (lambda: nn.conv2d(np.ones((2, 4, 6, 6)), w), TypeError, "input"),
        (lambda: nn.conv2d(xp.asarray(np.ones((2, 4, 6, 6), bool)), w), TypeError, "input"),
        (lambda: nn.conv_transpose2d(x, w[:4], stride=2, output_padding=2), ValueError, "output_padding"),
        (lambda: nn.conv_transpose2d(x, xp.asarray(data((3, 4, 3, 3)))), ValueError, "input channels"),
        (lambda: nn.conv_transpose2d(x, w[:4], groups=3), ValueError, "groups"),
        (lambda: nn.conv_transpose2d(x, w[:4], padding=5), ValueError, "padding"),
        (lambda: nn.unfold(xp.asarray(data((2, 3, 4))), 5), ValueError, "kernel size"),
        (lambda: nn.fold(xp.asarray(data((2, 12, 5))), (4, 4), 2), ValueError, "blocks"),
        (lambda: nn.fold(xp.asarray(data((2, 10, 9))), (4, 4), 2), ValueError, "divisible"),
        (lambda: nn.max_pool2d(x, 2, padding=2), ValueError, "padding"),
        (lambda: nn.max_pool2d(x, 7), ValueError, "kernel_size"),
        (lambda: nn.avg_pool2d(xp.asarray(np.ones((1, 1, 4, 4), np.int64)), 2), TypeError, "floating"),
        (lambda: nn.linear(x, xp.asarray(data((3, 5)))), ValueError, "in_features"),
        (lambda: nn.gelu(x, approximate="fast"), ValueError, "approximate"),
        (lambda: nn.softmax(xp.asarray(np.ones(3, np.int64))), TypeError, "floating"),
    ]
    for fn, exc, words in cases:
        with pytest.raises(exc, match=words):
            fn()


# ---- PyTorch, when installed, as an extra oracle

def test_against_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    X, W, B = data((2, 4, 9, 8)), data((6, 2, 3, 2)), data(6)
    kw = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    close(nn.conv2d(xp.asarray(X), xp.asarray(W), xp.asarray(B), **kw),
          F.conv2d(torch.from_numpy(X), torch.from_numpy(W), torch.from_numpy(B), **kw).numpy())
    Wt = data((4, 3, 4, 4))
    close(nn.conv_transpose2d(xp.asarray(X), xp.asarray(Wt), stride=2, padding=1, output_padding=1),
          F.conv_transpose2d(torch.from_numpy(X), torch.from_numpy(Wt), stride=2, padding=1,
                             output_padding=1).numpy())
    close(nn.avg_pool2d(xp.asarray(X), 3, 2, 1, ceil_mode=True, count_include_pad=False),
          F.avg_pool2d(torch.from_numpy(X), 3, 2, 1, ceil_mode=True, count_include_pad=False).numpy())
    close(nn.gelu(xp.asarray(X)), F.gelu(torch.from_numpy(X)).numpy())


# ---- the image-parallel threads

def test_thread_split_does_not_change_values(monkeypatch):
    # one image per worker thread with single-threaded BLAS, or all in this thread: same bits
    from lowering.kernels import conv as kconv
    X, W, Wt = data((5, 8, 9, 7)), data((8, 8, 3, 3)), data((8, 4, 3, 3))
    xp.set_executor("numba")
    try:
        def run():
            return [np.asarray(nn.conv2d(xp.asarray(X), xp.asarray(W), padding=1)),
                    np.asarray(nn.conv2d(xp.asarray(X), xp.asarray(W), stride=(2, 1))),
                    np.asarray(nn.conv_transpose2d(xp.asarray(X), xp.asarray(Wt), stride=2))]
        split = run()
        monkeypatch.setitem(kconv._threads, "workers", 1)
        for a, b in zip(split, run()):
            assert_same(a, b)
    finally:
        xp.set_executor(None)


FORK_PROGRAM = """
import multiprocessing as mp
import numpy as np
import arrayforge as xp
from arrayforge import nn

X = np.arange(4 * 8 * 6 * 6, dtype=np.float64).reshape(4, 8, 6, 6) % 7
W = np.ones((8, 8, 3, 3))

def conv():
    xp.set_executor("numba")
    return float(xp.sum(nn.conv2d(xp.asarray(X), xp.asarray(W), padding=1)))

def child(_):
    return conv()

if __name__ == "__main__":
    parent = conv()                     # the conv thread pool exists now
    with mp.get_context("fork").Pool(2) as pool:
        assert pool.map(child, range(2)) == [parent, parent]
    print("ok")
"""


def test_fork_after_conv_threads(tmp_path):
    import subprocess
    import sys
    script = tmp_path / "fork_conv.py"
    script.write_text(FORK_PROGRAM)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
