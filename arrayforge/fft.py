"""The fft extension: all 14 functions of the standard.

Transforms are EXTERN nodes running NumPy's pocketfft when the plan runs (a generated loop
nest is not the point here); shapes and dtypes are known when recorded, so they stay lazy
and fuse with element-wise work around them.  Single precision stays single precision.
"""
import operator

import numpy as np

from . import _dtypes as dt
from ._graph import cast, check_axis, check_shape, extern
from . import _array  # noqa: E402  (circular at import time; used at call time)

__all__ = ["fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft", "ihfft",
           "fftfreq", "rfftfreq", "fftshift", "ifftshift"]

_NORMS = ("backward", "ortho", "forward")


def _transform_np(x, name, size, axes, norm):
    fn = getattr(np.fft, name)
    if name.endswith("n"):
        return fn(x, s=size, axes=axes, norm=norm)
    return fn(x, n=size, axis=axes, norm=norm)


def _check(x, name, norm, kind):
    """Validate; returns the input node cast to the dtype the transform reads."""
    if not isinstance(x, _array.Array):
        raise TypeError(f"fft.{name} expects an arrayforge array, got {type(x).__name__}")
    if norm not in _NORMS:
        raise ValueError(f"fft.{name}: norm must be one of {_NORMS}, not {norm!r}")
    if x.ndim == 0:
        raise ValueError(f"fft.{name} requires an array of at least one dimension")
    if kind == "real":
        if x.dtype not in dt.CATEGORIES["real floating-point"]:
            raise TypeError(f"fft.{name} is only defined for real floating-point dtypes, got {x.dtype}")
        return x._node
    if x.dtype not in dt.CATEGORIES["floating-point"]:
        raise TypeError(f"fft.{name} is only defined for floating-point dtypes, got {x.dtype}")
    # Note: the standard asks for complex input; a real input is promoted to complex, as NumPy does.
    return cast(x._node, dt._real_to_complex.get(x.dtype, x.dtype))


def _length(n, default, name):
    if n is None:
        n = default
    n = operator.index(n)
    if n < 1:
        raise ValueError(f"fft.{name}: invalid number of data points {n}; it must be at least 1")
    return n


def _one_axis(name, x, n, axis, norm, kind, out_kind):
    node = _check(x, name, norm, "real" if kind == "real" else "complex")
    axis = check_axis(axis, x.ndim)
    m = x.shape[axis]
    if out_kind == "half":                 # rfft, ihfft: n real points in, n//2+1 out
        n = _length(n, m, name)
        out_n = n // 2 + 1
    elif out_kind == "full":               # irfft, hfft: n real points out
        n = _length(n, 2 * (m - 1), name)
        out_n = n
    else:
        n = out_n = _length(n, m, name)
    real = x.dtype if x.dtype in dt.CATEGORIES["real floating-point"] else dt._complex_to_real[x.dtype]
    dtype = real if out_kind == "full" else dt._real_to_complex[real]
    shape = check_shape(x.shape[:axis] + (out_n,) + x.shape[axis + 1:], dtype)
    return extern(_transform_np, (name, n, axis, norm), dtype, shape, (node,))


def _axes_and_sizes(name, x, s, axes):
    if axes is None:
        axes = tuple(range(x.ndim - len(s), x.ndim)) if s is not None else tuple(range(x.ndim))
    else:
        axes = tuple(check_axis(a, x.ndim) for a in axes)
        if len(set(axes)) != len(axes):
            raise ValueError(f"fft.{name}: repeated axis in {axes}")
    if s is None:
        s = [None] * len(axes)
    else:
        s = list(s)
        if len(s) != len(axes):
            raise ValueError(f"fft.{name}: s and axes must have the same length")
        if len(s) > x.ndim:
            raise ValueError(f"fft.{name}: s has more entries than x has dimensions")
    return axes, s


def _many_axes(name, x, s, axes, norm, kind, out_kind):
    node = _check(x, name, norm, "real" if kind == "real" else "complex")
    axes, s = _axes_and_sizes(name, x, s, axes)
    shape = list(x.shape)
    sizes = []
    for i, (a, n) in enumerate(zip(axes, s)):
        last = i == len(axes) - 1
        m = x.shape[a]
        if n == -1:
            n = None      # -1: use the whole input along that axis (no padding or trimming)
        if last and out_kind == "full":
            n = _length(n, 2 * (m - 1), name)
            shape[a] = n
        elif last and out_kind == "half":
            n = _length(n, m, name)
            shape[a] = n // 2 + 1
        else:
            n = _length(n, m, name)
            shape[a] = n
        sizes.append(n)
    real = x.dtype if x.dtype in dt.CATEGORIES["real floating-point"] else dt._complex_to_real[x.dtype]
    dtype = real if out_kind == "full" else dt._real_to_complex[real]
    shape = check_shape(tuple(shape), dtype)
    return extern(_transform_np, (name, tuple(sizes), axes, norm), dtype, shape, (node,))


def fft(x, /, *, n=None, axis=-1, norm="backward"):
    """One-dimensional discrete Fourier transform along ``axis`` (``n``: crop or zero-pad).

    >>> fft(asarray([1, 0, 0, 0], dtype=complex128))       # [1+0j, 1+0j, 1+0j, 1+0j]
    """
    return _one_axis("fft", x, n, axis, norm, "complex", "same")


def ifft(x, /, *, n=None, axis=-1, norm="backward"):
    """One-dimensional inverse discrete Fourier transform along ``axis``."""
    return _one_axis("ifft", x, n, axis, norm, "complex", "same")


def fftn(x, /, *, s=None, axes=None, norm="backward"):
    """n-dimensional discrete Fourier transform over ``axes`` (``s``: sizes per axis)."""
    return _many_axes("fftn", x, s, axes, norm, "complex", "same")


def ifftn(x, /, *, s=None, axes=None, norm="backward"):
    """n-dimensional inverse discrete Fourier transform over ``axes``."""
    return _many_axes("ifftn", x, s, axes, norm, "complex", "same")


def rfft(x, /, *, n=None, axis=-1, norm="backward"):
    """Transform of a real signal: the ``n//2 + 1`` non-negative frequency terms."""
    return _one_axis("rfft", x, n, axis, norm, "real", "half")


def irfft(x, /, *, n=None, axis=-1, norm="backward"):
    """Inverse of rfft: ``n`` real points (default ``2 * (m - 1)``)."""
    return _one_axis("irfft", x, n, axis, norm, "complex", "full")


def rfftn(x, /, *, s=None, axes=None, norm="backward"):
    """n-dimensional transform of a real array (the last axis halved)."""
    return _many_axes("rfftn", x, s, axes, norm, "real", "half")


def irfftn(x, /, *, s=None, axes=None, norm="backward"):
    """Inverse of rfftn (the last axis has ``s[-1]``, default ``2 * (m - 1)``, real points)."""
    return _many_axes("irfftn", x, s, axes, norm, "complex", "full")


def hfft(x, /, *, n=None, axis=-1, norm="backward"):
    """Transform of a signal with Hermitian symmetry: ``n`` real points (default ``2 * (m - 1)``)."""
    return _one_axis("hfft", x, n, axis, norm, "complex", "full")


def ihfft(x, /, *, n=None, axis=-1, norm="backward"):
    """Inverse of hfft: the ``n//2 + 1`` terms of a real signal's Hermitian spectrum."""
    return _one_axis("ihfft", x, n, axis, norm, "real", "half")


def _fftfreq_np(n, d, dtype):
    return np.fft.fftfreq(n, d).astype(dtype)


def _rfftfreq_np(n, d, dtype):
    return np.fft.rfftfreq(n, d).astype(dtype)


def _freq(fn, name, n, d, dtype, device, length):
    from .creation import _check_device, _place
    device = _check_device(device)
    if isinstance(n, bool):
        raise TypeError(f"fft.{name}: n must be an integer")
    n = operator.index(n)
    if n < 1:
        raise ValueError(f"fft.{name}: n must be positive, got {n}")
    dtype = dt.float64 if dtype is None else dt.check_dtype(dtype)
    if dtype not in dt.CATEGORIES["real floating-point"]:
        raise ValueError(f"fft.{name}: dtype must be a real floating-point dtype, not {dtype}")
    return _place(extern(fn, (n, float(d), dtype), dtype, (length(n),)), device)


def fftfreq(n, /, *, d=1.0, dtype=None, device=None):
    """Sample frequencies of an ``n``-point fft with sample spacing ``d``."""
    return _freq(_fftfreq_np, "fftfreq", n, d, dtype, device, lambda n: n)


def rfftfreq(n, /, *, d=1.0, dtype=None, device=None):
    """Sample frequencies of an ``n``-point rfft (the ``n//2 + 1`` non-negative ones)."""
    return _freq(_rfftfreq_np, "rfftfreq", n, d, dtype, device, lambda n: n // 2 + 1)


def _shift(x, axes, name, sign):
    from .manipulation import roll
    if not isinstance(x, _array.Array):
        raise TypeError(f"fft.{name} expects an arrayforge array, got {type(x).__name__}")
    if axes is None:
        axes = tuple(range(x.ndim))
    elif not isinstance(axes, (tuple, list)):
        axes = (axes,)
    axes = tuple(check_axis(a, x.ndim) for a in axes)
    if not axes:
        return x
    shift = tuple(sign * (x.shape[a] // 2) for a in axes)
    return roll(x, shift, axis=axes)


def fftshift(x, /, *, axes=None):
    """Move the zero-frequency term to the centre along ``axes`` (all if None)."""
    return _shift(x, axes, "fftshift", 1)


def ifftshift(x, /, *, axes=None):
    """Inverse of fftshift."""
    return _shift(x, axes, "ifftshift", -1)


for _name in __all__:
    globals()[_name].__module__ = "arrayforge.fft"
del _name
