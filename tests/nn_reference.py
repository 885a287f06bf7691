"""An independent NumPy reference for arrayforge.nn (tests only): sliding windows + einsum,
and transposed convolution by its definition (every input element scatters its kernel)."""
import itertools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


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
