"""Data type functions: can_cast, finfo, iinfo, isdtype, result_type (astype lives with the
other recording functions in manipulation.py).  All follow the standard's promotion
lattice, not NumPy's."""
import builtins
from dataclasses import dataclass

import numpy as np

from . import _dtypes as dt
from . import _array  # noqa: E402  (circular at import time; used at call time)

__all__ = ["can_cast", "finfo", "iinfo", "isdtype", "result_type"]


def _dtype_of(x, name):
    if isinstance(x, _array.Array):
        return x.dtype
    try:
        return dt.check_dtype(x)
    except TypeError:
        raise TypeError(f"{name}: expected an arrayforge array or dtype, got {x!r}") from None


def can_cast(from_, to, /):
    """True if ``from_`` (dtype or array) casts to ``to`` by the standard's promotion rules.

    >>> can_cast(int8, int64), can_cast(float64, float32)      # (True, False)
    """
    src = _dtype_of(from_, "can_cast")
    to = _dtype_of(to, "can_cast")
    try:
        return dt.promote(src, to) == to
    except TypeError:
        # Note: the standard leaves casts across kinds (bool -> int, int -> float, ...)
        # unspecified; we answer as NumPy's "safe" casting does.
        return builtins.bool(np.can_cast(src, to, casting="safe"))


@dataclass(frozen=True, eq=False)
class finfo_object:
    """Machine limits of a floating-point dtype (``dtype`` is the real dtype of a complex one)."""
    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: np.dtype


@dataclass(frozen=True, eq=False)
class iinfo_object:
    """Machine limits of an integer dtype."""
    bits: int
    max: int
    min: int
    dtype: np.dtype


def finfo(type, /):
    """Limits of a floating-point dtype (or of an array's dtype)."""
    d = _dtype_of(type, "finfo")
    if d not in dt.CATEGORIES["floating-point"]:
        raise ValueError(f"finfo is defined for floating-point dtypes, not {d}")
    fi = np.finfo(d)
    return finfo_object(int(fi.bits), float(fi.eps), float(fi.max), float(fi.min),
                        float(fi.smallest_normal), np.dtype(fi.dtype))


def iinfo(type, /):
    """Limits of an integer dtype (or of an array's dtype)."""
    d = _dtype_of(type, "iinfo")
    if d not in dt.CATEGORIES["integer"]:
        raise ValueError(f"iinfo is defined for integer dtypes, not {d}")
    ii = np.iinfo(d)
    return iinfo_object(int(ii.bits), int(ii.max), int(ii.min), d)


_KINDS = {"bool": dt._boolean, "signed integer": dt._signed, "unsigned integer": dt._unsigned,
          "integral": dt._integer, "real floating": dt._real_floating,
          "complex floating": dt._complex_floating, "numeric": dt._numeric}


def isdtype(dtype, kind):
    """Whether ``dtype`` is ``kind``: a dtype, one of the standard's kind names, or a tuple of them.

    >>> isdtype(float32, ("integral", "real floating"))      # True
    """
    if not isinstance(dtype, np.dtype) or dtype not in dt.CATEGORIES["all"]:
        raise TypeError(f"isdtype: expected a dtype, got {dtype!r}")
    if isinstance(kind, tuple):
        if any(isinstance(k, tuple) for k in kind):
            raise TypeError("isdtype: kind must be a dtype, a string or a tuple of them (not nested)")
        return any(isdtype(dtype, k) for k in kind)
    if isinstance(kind, str):
        if kind not in _KINDS:
            raise ValueError(f"isdtype: unknown dtype kind {kind!r}")
        return dtype in _KINDS[kind]
    if isinstance(kind, np.dtype) and kind in dt.CATEGORIES["all"]:
        return dtype == kind
    raise TypeError(f"isdtype: kind must be a dtype, a string or a tuple of them, not {kind!r}")


def result_type(*arrays_and_dtypes):
    """The standard's result dtype of arrays, dtypes and (2024.12+) Python scalars.

    >>> result_type(int8, uint8), result_type(float32, 1.0)    # (int16, float32)
    """
    dtypes, scalars = [], []
    for a in arrays_and_dtypes:
        if isinstance(a, _array.Array):
            dtypes.append(a.dtype)
        elif isinstance(a, (bool, int, float, complex)):
            scalars.append(a)
        else:
            dtypes.append(_dtype_of(a, "result_type"))
    if not dtypes:
        raise ValueError("result_type needs at least one array or dtype")
    out = dtypes[0]
    for d in dtypes[1:]:
        out = dt.promote(out, d)
    for s in scalars:
        out = dt.scalar_dtype_for(s, out)
    return out


for _name in __all__:
    globals()[_name].__module__ = "arrayforge"
del _name
