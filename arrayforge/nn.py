"""arrayforge.nn: the neural-network family of convolutions, pooling and activations.

PyTorch's layout and argument names (``torch.nn.functional``): inputs are ``(N, C, *spatial)``
(or unbatched ``(C, *spatial)``), weights ``(C_out, C_in / groups, *kernel)``.

* ``conv1d/2d/3d`` and ``conv_transpose1d/2d/3d`` record one CONV / CONV_TRANSPOSE node (a
  barrier kind, ``lowering.kernels.conv``): the back end picks im2col + BLAS GEMM in cache-sized
  blocks, a GEMM over channels for 1x1 kernels, or a direct parallel loop for depthwise and
  integer convolutions.  ``bias`` and any element-wise consumer (``relu(conv2d(x, w) + b)``)
  fuse into the one kernel that follows (the epilogue).
* ``unfold``/``fold`` are im2col/col2im (UNFOLD/FOLD nodes).
* Pooling is an element-wise chain over the K strided views of the (padded) input, so a
  ``max_pool2d`` is one fused kernel (plus a padding step when ``padding`` > 0).
* ``linear`` is a matmul; the activations are fused element-wise (or row) work.

Every argument is validated at the recording call (ValueError/TypeError naming it, as torch
would raise).

>>> import arrayforge as xp
>>> from arrayforge import nn
>>> x = xp.ones((1, 3, 8, 8)); w = xp.ones((4, 3, 3, 3))
>>> nn.conv2d(x, w, padding=1).shape
(1, 4, 8, 8)
"""
import math
import operator

import numpy as np

from lowering import Op

from . import _array
from . import _dtypes as dt
from ._graph import new_node
from .creation import asarray
from .elementwise import exp, log, maximum, tanh, where
from .manipulation import matrix_transpose, reshape
from ._contract import matmul
from .statistical import max as _max, sum as _sum

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "unfold", "fold", "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d",
           "avg_pool3d", "adaptive_avg_pool2d", "linear", "relu", "gelu", "silu", "sigmoid", "softmax",
           "log_softmax", "pad"]

_PADDING_MODES = {"zeros": None, "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


# ---- argument checking


def _check_array(x, name, fn):
    if not isinstance(x, _array.Array):
        raise TypeError(f"{fn}: {name} must be an arrayforge array, got {type(x).__name__}")
    if x.dtype not in dt.CATEGORIES["real numeric"]:
        raise TypeError(f"{fn}: {name} must have a real numeric dtype, got {x.dtype}")


def _ints(value, nd, name, fn, minimum):
    """An int or a sequence of ``nd`` ints, each >= ``minimum`` -> a tuple of ``nd`` ints."""
    if isinstance(value, bool):
        raise TypeError(f"{fn}: {name} must be an int or a tuple of {nd} ints, got {value!r}")
    if isinstance(value, (int, np.integer)):
        out = (int(value),) * nd
    else:
        try:
            out = tuple(operator.index(v) for v in value)
        except TypeError:
            raise TypeError(f"{fn}: {name} must be an int or a tuple of {nd} ints, got {value!r}") from None
        if any(isinstance(v, bool) for v in value):
            raise TypeError(f"{fn}: {name} must be an int or a tuple of {nd} ints, got {value!r}")
        if len(out) == 1:
            out = out * nd
        if len(out) != nd:
            raise ValueError(f"{fn}: {name} must be an int or a tuple of {nd} ints, got {value!r}")
    if any(v < minimum for v in out):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{fn}: {name} must be {what}, got {value!r}")
    return out


def _groups(groups, fn):
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{fn}: groups must be an int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"{fn}: groups must be a positive integer, got {groups}")
    return int(groups)


def _batched(x, nd, fn):
    """``x`` as (N, C, *spatial) and whether it was unbatched."""
    if x.ndim == nd + 1:
        return reshape(x, (1,) + x.shape), True
    if x.ndim != nd + 2:
        raise ValueError(f"{fn}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, "
                         f"got shape {x.shape}")
    return x, False


def _same_dtype(x, weight, fn):
    if x.dtype != weight.dtype:
        raise TypeError(f"{fn}: input and weight must have the same dtype, got {x.dtype} and {weight.dtype}")


def _node(op, dtype, shape, inputs, arg):
    return _array.Array._new(new_node(op, dtype, shape, tuple(i._node for i in inputs), arg))


def _add_bias(out, bias, nd, fn):
    if bias is None:
        return out
    _check_array(bias, "bias", fn)
    if bias.dtype != out.dtype:
        raise TypeError(f"{fn}: bias must have the input's dtype {out.dtype}, got {bias.dtype}")
    if bias.shape != (out.shape[1],):
        raise ValueError(f"{fn}: bias must have shape ({out.shape[1]},), got {bias.shape}")
    return out + reshape(bias, (out.shape[1],) + (1,) * nd)


def _pad(x, pads, mode="constant", value=0):
    """``x`` padded by ``pads`` = ((before, after) per dim) with NumPy's ``mode``
    ("constant", "reflect", "edge" or "wrap"): one PAD node (validated by the callers)."""
    pads = tuple((int(b), int(a)) for b, a in pads)
    if not any(b or a for b, a in pads):
        return x
    shape = tuple(n + b + a for (b, a), n in zip(pads, x.shape))
    value = x.dtype.type(value).item() if mode == "constant" else 0
    return _node(Op.PAD, x.dtype, shape, (x,), (pads, mode, value))


def pad(x, pad, mode="constant", value=None):
    """Pad the last ``len(pad) // 2`` dims of ``x`` (as torch.nn.functional.pad): ``pad`` is
    ``(left, right)`` of the last dim, then of the one before, ...; ``mode`` is
    ``"constant"`` (with ``value``, default 0), ``"reflect"``, ``"replicate"`` or ``"circular"``.

    >>> pad(xp.ones((1, 2, 3)), (1, 1), value=7.0).shape
    (1, 2, 5)
    """
    fn = "pad"
    _check_array(x, "input", fn)
    try:
        widths = [operator.index(v) for v in pad]
    except TypeError:
        raise TypeError(f"{fn}: pad must be a sequence of ints, got {pad!r}") from None
    if len(widths) % 2 or len(widths) // 2 > x.ndim:
        raise ValueError(f"{fn}: pad must have an even length of at most 2 * {x.ndim}, got {pad!r}")
    if any(v < 0 for v in widths):
        raise ValueError(f"{fn}: negative padding (cropping) is not supported, got {pad!r}")
    modes = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
    if mode not in modes:
        raise ValueError(f"{fn}: mode must be one of {sorted(modes)}, got {mode!r}")
    if value is not None and mode != "constant":
        raise ValueError(f"{fn}: value is only used with mode='constant'")
    k = len(widths) // 2
    pairs = [(0, 0)] * (x.ndim - k) + [(widths[2 * i], widths[2 * i + 1]) for i in reversed(range(k))]
    for (b, a), n in zip(pairs, x.shape):
        if mode == "reflect" and max(b, a) >= n and (b or a):
            raise ValueError(f"{fn}: padding {max(b, a)} must be less than the input size {n} for mode='reflect'")
        if mode == "circular" and max(b, a) > n:
            raise ValueError(f"{fn}: padding {max(b, a)} must be at most the input size {n} for mode='circular'")
        if mode == "replicate" and n == 0 and (b or a):
            raise ValueError(f"{fn}: cannot replicate-pad an empty dimension")
    return _pad(x, pairs, modes[mode], 0 if value is None else value)


# ---- convolution


def _conv_args(fn, nd, x, weight, stride, dilation, groups, weight_layout):
    """The checks and normalised arguments every convolution shares: ``(x, unbatched,
    stride, dilation, groups)`` with ``x`` batched."""
    _check_array(x, "input", fn)
    _check_array(weight, "weight", fn)
    _same_dtype(x, weight, fn)
    if weight.ndim != nd + 2:
        raise ValueError(f"{fn}: weight must be {nd + 2}-D ({weight_layout}, *kernel), got shape {weight.shape}")
    x, unbatched = _batched(x, nd, fn)
    return (x, unbatched, _ints(stride, nd, "stride", fn, 1), _ints(dilation, nd, "dilation", fn, 1),
            _groups(groups, fn))


def _conv(fn, nd, x, weight, bias, stride, padding, dilation, groups, padding_mode):
    x, unbatched, stride, dilation, groups = _conv_args(fn, nd, x, weight, stride, dilation, groups,
                                                        "C_out, C_in/groups")
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f"{fn}: padding_mode must be one of {sorted(_PADDING_MODES)}, got {padding_mode!r}")
    n, cin = x.shape[:2]
    cout, cg = weight.shape[:2]
    kernel = weight.shape[2:]
    if cin % groups:
        raise ValueError(f"{fn}: groups={groups} does not divide the {cin} input channels")
    if cout % groups:
        raise ValueError(f"{fn}: groups={groups} does not divide the {cout} output channels of weight")
    if cg * groups != cin:
        raise ValueError(f"{fn}: weight of shape {weight.shape} expects {cg * groups} input channels "
                         f"(C_in/groups = {cg}, groups = {groups}), got input with {cin} channels")
    if isinstance(padding, str):
        if padding == "valid":
            before = after = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{fn}: padding='same' is not supported for strided convolutions")
            total = tuple(d * (k - 1) for d, k in zip(dilation, kernel))
            before = tuple(t // 2 for t in total)
            after = tuple(t - b for t, b in zip(total, before))
        else:
            raise ValueError(f"{fn}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
    else:
        before = after = _ints(padding, nd, "padding", fn, 0)
    mode = _PADDING_MODES[padding_mode]
    if mode is not None and any(before + after):
        spatial = x.shape[2:]
        for b, a, s in zip(before, after, spatial):
            if mode == "reflect" and max(b, a) >= s:
                raise ValueError(f"{fn}: padding {max(b, a)} must be less than the input size {s} "
                                 f"for padding_mode='reflect'")
            if mode == "wrap" and max(b, a) > s:
                raise ValueError(f"{fn}: padding {max(b, a)} must be at most the input size {s} "
                                 f"for padding_mode='circular'")
        x = _pad(x, ((0, 0), (0, 0)) + tuple(zip(before, after)), mode)
        before = after = (0,) * nd
    out_spatial = []
    for size, k, s, b, a, d in zip(x.shape[2:], kernel, stride, before, after, dilation):
        if size + b + a < d * (k - 1) + 1:
            raise ValueError(f"{fn}: the (dilated) kernel size {d * (k - 1) + 1} can't be greater than "
                             f"the padded input size {size + b + a} (input {x.shape}, weight {weight.shape})")
        out_spatial.append((size + b + a - d * (k - 1) - 1) // s + 1)
    out = _node(Op.CONV, x.dtype, (n, cout) + tuple(out_spatial), (x, weight),
                (stride, before, after, dilation, groups))
    out = _add_bias(out, bias, nd, fn)
    return reshape(out, out.shape[1:]) if unbatched else out


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """1-D convolution (cross-correlation, as torch.nn.functional.conv1d) of ``x`` (N, C_in, L)
    or (C_in, L) with ``weight`` (C_out, C_in/groups, K)."""
    return _conv("conv1d", 1, x, weight, bias, stride, padding, dilation, groups, padding_mode)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """2-D convolution (as torch.nn.functional.conv2d; ``padding_mode`` as torch.nn.Conv2d).

    ``x`` (N, C_in, H, W) or (C_in, H, W); ``weight`` (C_out, C_in/groups, KH, KW); ``bias``
    (C_out,) or None; ``padding`` an int, a pair, ``"valid"`` or ``"same"``; ``padding_mode``
    ``"zeros"|"reflect"|"replicate"|"circular"``.

    >>> x = xp.ones((2, 4, 5, 5)); w = xp.ones((4, 1, 3, 3))
    >>> conv2d(x, w, padding="same", groups=4).shape     # depthwise
    (2, 4, 5, 5)
    """
    return _conv("conv2d", 2, x, weight, bias, stride, padding, dilation, groups, padding_mode)


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """3-D convolution (as torch.nn.functional.conv3d) of ``x`` (N, C_in, D, H, W)."""
    return _conv("conv3d", 3, x, weight, bias, stride, padding, dilation, groups, padding_mode)


def _conv_transpose(fn, nd, x, weight, bias, stride, padding, output_padding, groups, dilation):
    x, unbatched, stride, dilation, groups = _conv_args(fn, nd, x, weight, stride, dilation, groups,
                                                        "C_in, C_out/groups")
    padding = _ints(padding, nd, "padding", fn, 0)
    output_padding = _ints(output_padding, nd, "output_padding", fn, 0)
    n, cin = x.shape[:2]
    kernel = weight.shape[2:]
    if weight.shape[0] != cin:
        raise ValueError(f"{fn}: weight of shape {weight.shape} expects {weight.shape[0]} input channels, "
                         f"got input with {cin} channels")
    if cin % groups:
        raise ValueError(f"{fn}: groups={groups} does not divide the {cin} input channels")
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= s and op_ >= d:
            raise ValueError(f"{fn}: output_padding {output_padding} must be smaller than either "
                             f"stride {stride} or dilation {dilation}")
    out_spatial = []
    for size, k, s, p, d, op_ in zip(x.shape[2:], kernel, stride, padding, dilation, output_padding):
        o = (size - 1) * s - 2 * p + d * (k - 1) + op_ + 1
        if o <= 0:
            raise ValueError(f"{fn}: the output size would be {o} (input {x.shape}, weight {weight.shape}, "
                             f"padding {padding}): padding is too large")
        out_spatial.append(o)
    cout = weight.shape[1] * groups
    out = _node(Op.CONV_TRANSPOSE, x.dtype, (n, cout) + tuple(out_spatial), (x, weight),
                (stride, padding, dilation, groups))
    out = _add_bias(out, bias, nd, fn)
    return reshape(out, out.shape[1:]) if unbatched else out


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution (the adjoint of conv1d; as torch.nn.functional.conv_transpose1d)."""
    return _conv_transpose("conv_transpose1d", 1, x, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution (as torch.nn.functional.conv_transpose2d): a GEMM with the
    transposed weight (C_in, C_out/groups, KH, KW), then col2im sums the columns into the output.

    >>> z = xp.ones((1, 8, 4, 4)); w = xp.ones((8, 4, 4, 4))
    >>> conv_transpose2d(z, w, stride=2, padding=1).shape    # a DCGAN generator step
    (1, 4, 8, 8)
    """
    return _conv_transpose("conv_transpose2d", 2, x, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution (as torch.nn.functional.conv_transpose3d)."""
    return _conv_transpose("conv_transpose3d", 3, x, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """im2col (as torch.nn.functional.unfold): (N, C, H, W) -> (N, C*KH*KW, L), the sliding
    blocks as columns, L = number of blocks; an unbatched (C, H, W) gives (C*KH*KW, L)."""
    fn = "unfold"
    _check_array(x, "input", fn)
    x, unbatched = _batched(x, 2, fn)
    kernel = _ints(kernel_size, 2, "kernel_size", fn, 1)
    dilation = _ints(dilation, 2, "dilation", fn, 1)
    padding = _ints(padding, 2, "padding", fn, 0)
    stride = _ints(stride, 2, "stride", fn, 1)
    grid = []
    for size, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation):
        if size + 2 * p < d * (k - 1) + 1:
            raise ValueError(f"{fn}: the (dilated) kernel size {d * (k - 1) + 1} can't be greater than the "
                             f"padded input size {size + 2 * p}")
        grid.append((size + 2 * p - d * (k - 1) - 1) // s + 1)
    shape = (x.shape[0], x.shape[1] * math.prod(kernel), math.prod(grid))
    out = _node(Op.UNFOLD, x.dtype, shape, (x,), (kernel, stride, padding, dilation))
    return reshape(out, shape[1:]) if unbatched else out


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im (as torch.nn.functional.fold): (N, C*KH*KW, L) -> (N, C, *output_size), summing
    the overlapping entries; the adjoint of :func:`unfold`."""
    fn = "fold"
    _check_array(x, "input", fn)
    if x.ndim == 2:
        x, unbatched = reshape(x, (1,) + x.shape), True
    elif x.ndim == 3:
        unbatched = False
    else:
        raise ValueError(f"{fn}: expected a 2-D (unbatched) or 3-D (batched) input, got shape {x.shape}")
    output_size = _ints(output_size, 2, "output_size", fn, 1)
    kernel = _ints(kernel_size, 2, "kernel_size", fn, 1)
    dilation = _ints(dilation, 2, "dilation", fn, 1)
    padding = _ints(padding, 2, "padding", fn, 0)
    stride = _ints(stride, 2, "stride", fn, 1)
    k = math.prod(kernel)
    if x.shape[1] % k:
        raise ValueError(f"{fn}: the input's dimension 1 ({x.shape[1]}) must be divisible by the product "
                         f"of kernel_size {kernel} ({k})")
    grid = []
    for size, kk, s, p, d in zip(output_size, kernel, stride, padding, dilation):
        g = (size + 2 * p - d * (kk - 1) - 1) // s + 1
        if g < 1:
            raise ValueError(f"{fn}: kernel_size {kernel} is too large for output_size {output_size}")
        grid.append(g)
    if x.shape[2] != math.prod(grid):
        raise ValueError(f"{fn}: expected the input's dimension 2 to match the {math.prod(grid)} sliding "
                         f"blocks ({grid[0]} x {grid[1]}) of output_size {output_size}, got {x.shape[2]}")
    shape = (x.shape[0], x.shape[1] // k) + output_size
    out = _node(Op.FOLD, x.dtype, shape, (x,), (kernel, stride, padding, dilation))
    return reshape(out, shape[1:]) if unbatched else out


# ---- pooling


def _pool_geometry(fn, nd, x, kernel_size, stride, padding, dilation, ceil_mode):
    x, unbatched = _batched(x, nd, fn)
    kernel = _ints(kernel_size, nd, "kernel_size", fn, 1)
    stride = kernel if stride is None or (not isinstance(stride, (int, np.integer)) and len(stride) == 0) \
        else _ints(stride, nd, "stride", fn, 1)
    padding = _ints(padding, nd, "padding", fn, 0)
    dilation = _ints(dilation, nd, "dilation", fn, 1)
    out, extra = [], []
    for size, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(f"{fn}: padding {padding} should be at most half of the effective kernel "
                             f"size {kernel}")
        span = size + 2 * p - d * (k - 1) - 1
        if span < 0:
            raise ValueError(f"{fn}: kernel_size {kernel} is larger than the padded input {x.shape}")
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= size + p:     # the last window must start inside the input
            o -= 1
        out.append(o)
        extra.append(max(0, (o - 1) * s + d * (k - 1) + 1 - (size + 2 * p)))
    return x, unbatched, kernel, stride, padding, dilation, tuple(out), tuple(extra)


def _windows(x, kernel, stride, dilation, out):
    """The strided views of ``x`` (N, C, *padded), one per kernel offset: each (N, C, *out)."""
    for offset in np.ndindex(*kernel):
        key = (slice(None), slice(None)) + tuple(
            slice(i * d, i * d + (o - 1) * s + 1, s) for i, d, s, o in zip(offset, dilation, stride, out))
        yield x[key]


def _max_pool(fn, nd, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    _check_array(x, "input", fn)
    if return_indices:
        raise ValueError(f"{fn}: return_indices=True is not supported")
    x, unbatched, kernel, stride, padding, dilation, out, extra = _pool_geometry(
        fn, nd, x, kernel_size, stride, padding, dilation, ceil_mode)
    if any(padding) or any(extra):
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        x = _pad(x, ((0, 0), (0, 0)) + tuple((p, p + e) for p, e in zip(padding, extra)), "constant", low)
    result = None
    for v in _windows(x, kernel, stride, dilation, out):
        result = v if result is None else maximum(result, v)
    return reshape(result, result.shape[1:]) if unbatched else result


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling (as torch.nn.functional.max_pool1d): one fused kernel over the K strided views."""
    return _max_pool("max_pool1d", 1, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling (as torch.nn.functional.max_pool2d; padding counts as -inf).

    >>> max_pool2d(xp.reshape(xp.arange(16.0), (1, 1, 4, 4)), 2)[0, 0]   # doctest: +SKIP
    [[5., 7.], [13., 15.]]
    """
    return _max_pool("max_pool2d", 2, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-D max pooling (as torch.nn.functional.max_pool3d)."""
    return _max_pool("max_pool3d", 3, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _counts(size, k, s, p, o, include_pad):
    """Per output position along one dim: the divisor torch's avg_pool uses."""
    start = np.arange(o) * s - p
    end = np.minimum(start + k, size + p)
    if include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def _avg_pool(fn, nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    _check_array(x, "input", fn)
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: input must have a floating-point dtype, got {x.dtype}")
    x, unbatched, kernel, stride, padding, _, out, extra = _pool_geometry(
        fn, nd, x, kernel_size, stride, padding, 1, ceil_mode)
    spatial = x.shape[2:]
    if any(padding) or any(extra):
        x = _pad(x, ((0, 0), (0, 0)) + tuple((p, p + e) for p, e in zip(padding, extra)))
    total = None
    for v in _windows(x, kernel, stride, (1,) * nd, out):
        total = v if total is None else total + v
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)) \
                or divisor_override == 0:
            raise ValueError(f"{fn}: divisor_override must be a non-zero int, got {divisor_override!r}")
        result = total / float(divisor_override)
    else:
        div = np.ones((), np.float64)
        for size, k, s, p, o in zip(spatial, kernel, stride, padding, out):
            div = np.multiply.outer(div, _counts(size, k, s, p, o, count_include_pad))
        if np.all(div == div.flat[0]):
            result = total / float(div.flat[0])
        else:
            result = total / asarray(div.astype(x.dtype), device=x.device)     # (a table of the shape: copied once)
    return reshape(result, result.shape[1:]) if unbatched else result


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling (as torch.nn.functional.avg_pool1d)."""
    return _avg_pool("avg_pool1d", 1, x, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling (as torch.nn.functional.avg_pool2d): the sum of the K strided views,
    divided by the window size (``count_include_pad=False``: by the part inside the input)."""
    return _avg_pool("avg_pool2d", 2, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """3-D average pooling (as torch.nn.functional.avg_pool3d)."""
    return _avg_pool("avg_pool3d", 3, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def _adaptive_matrix(size, o):
    """(o, size) 0/1 matrix of torch's adaptive windows [floor(i*size/o), ceil((i+1)*size/o))."""
    m = np.zeros((o, size))
    for i in range(o):
        m[i, (i * size) // o:-((-(i + 1) * size) // o)] = 1.0
    return m


def adaptive_avg_pool2d(x, output_size):
    """Adaptive 2-D average pooling (as torch.nn.functional.adaptive_avg_pool2d): window i along
    a dim covers [floor(i*n/o), ceil((i+1)*n/o)); two small matmuls with 0/1 window matrices."""
    fn = "adaptive_avg_pool2d"
    _check_array(x, "input", fn)
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: input must have a floating-point dtype, got {x.dtype}")
    x, unbatched = _batched(x, 2, fn)
    if output_size is None or isinstance(output_size, (int, np.integer)):
        output_size = (output_size, output_size)
    if len(output_size) != 2:
        raise ValueError(f"{fn}: output_size must be an int or a pair, got {output_size!r}")
    oh, ow = (n if o is None else o for o, n in zip(output_size, x.shape[2:]))
    if oh < 1 or ow < 1:
        raise ValueError(f"{fn}: output_size must be positive, got {output_size!r}")
    mh, mw = _adaptive_matrix(x.shape[2], oh), _adaptive_matrix(x.shape[3], ow)
    counts = np.multiply.outer(mh.sum(1), mw.sum(1))
    y = matmul(matmul(asarray(mh.astype(x.dtype)), x), asarray(mw.T.astype(x.dtype)))
    y = y / asarray(counts.astype(x.dtype))
    return reshape(y, y.shape[1:]) if unbatched else y


# ---- linear and activations


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` (as torch.nn.functional.linear): weight (out, in), bias (out,)."""
    fn = "linear"
    _check_array(x, "input", fn)
    _check_array(weight, "weight", fn)
    if weight.ndim != 2:
        raise ValueError(f"{fn}: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"{fn}: input's last dimension must be in_features={weight.shape[1]}, got shape {x.shape}")
    y = matmul(x, matrix_transpose(weight))
    if bias is not None:
        _check_array(bias, "bias", fn)
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"{fn}: bias must have shape ({weight.shape[0]},), got {bias.shape}")
        y = y + bias
    return y


def relu(x):
    """``max(x, 0)``, element-wise (fuses with its producer and consumers)."""
    _check_array(x, "input", "relu")
    return maximum(x, 0 if x.dtype.kind in "iu" else 0.0)


def sigmoid(x):
    """``1 / (1 + exp(-x))``, element-wise (floating-point)."""
    _float(x, "sigmoid")
    return 1.0 / (1.0 + exp(-x))


def silu(x):
    """``x * sigmoid(x)`` (swish), element-wise."""
    _float(x, "silu")
    return x / (1.0 + exp(-x))


# erfc(z) = t * exp(-z*z + P(t)), t = 2 / (2 + z), z >= 0: P is a Chebyshev series in u = 2t - 1,
# fitted to erfc (40-digit reference) at the Chebyshev nodes; relative error of erfc below 1e-13
# for every z (it is limited by the rounding of z*z inside exp), so float64 gelu agrees with torch.
_ERFC_CHEB = (-0.6513268598908547, 0.6419697923564902, 0.019476473204185836, -0.009561514786808632,
              -0.0009465953444820369, 0.00036683949785276145, 4.252332480690777e-05, -2.0278578112534242e-05,
              -1.6242900046470256e-06, 1.3036558355805232e-06, 1.5626441722066142e-08, -8.523809591492654e-08,
              6.5290544390988515e-09, 5.059343495551469e-09, -9.91364156493033e-10, -2.273651222931836e-10,
              9.646791102015527e-11, 2.3940380830391146e-12, -6.886027526497553e-12, 8.944879273090725e-13,
              3.130921399342958e-13, -1.1270822361367252e-13, 3.810905255189232e-16, 7.106097613609237e-15,
              -1.5230282014571043e-15, -9.457494571291233e-17)


def _erfc_nonneg(z):
    """erfc(z) for z >= 0, as fused element-wise work (Clenshaw's recurrence)."""
    t = 2.0 / (2.0 + z)
    u2 = 4.0 * t - 2.0          # 2u
    b1, b2 = _ERFC_CHEB[-1], 0.0
    for c in reversed(_ERFC_CHEB[1:-1]):
        b1, b2 = u2 * b1 - b2 + c, b1
    p = 0.5 * u2 * b1 - b2 + _ERFC_CHEB[0]
    return t * exp(p - z * z)


def gelu(x, approximate="none"):
    """GELU, ``x * Phi(x)`` (as torch.nn.functional.gelu): ``approximate="none"`` with erfc as a
    fused Chebyshev series (float64-accurate), ``"tanh"`` with torch's tanh formula."""
    _float(x, "gelu")
    if approximate == "tanh":
        return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    e = _erfc_nonneg(abs(x) * 0.7071067811865476)
    return x * where(x >= 0.0, 1.0 - 0.5 * e, 0.5 * e)


def softmax(x, axis=-1):
    """``exp(x - max) / sum(exp(x - max))`` along ``axis`` (one fused rows kernel for the last axis)."""
    _float(x, "softmax")
    e = exp(x - _max(x, axis=axis, keepdims=True))
    return e / _sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """``x - max - log(sum(exp(x - max)))`` along ``axis``."""
    _float(x, "log_softmax")
    s = x - _max(x, axis=axis, keepdims=True)
    return s - log(_sum(exp(s), axis=axis, keepdims=True))


def _float(x, fn):
    if not isinstance(x, _array.Array):
        raise TypeError(f"{fn}: input must be an arrayforge array, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: input must have a real floating-point dtype, got {x.dtype}")
