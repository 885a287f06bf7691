"""Data types and the standard's type promotion (not NumPy's).

dtypes are ``numpy.dtype`` instances, so ``xp.float64 == numpy.dtype("float64")``.
"""
import numpy as np

bool = np.dtype("bool")
int8, int16, int32, int64 = (np.dtype(f"int{b}") for b in (8, 16, 32, 64))
uint8, uint16, uint32, uint64 = (np.dtype(f"uint{b}") for b in (8, 16, 32, 64))
float32, float64 = np.dtype("float32"), np.dtype("float64")
complex64, complex128 = np.dtype("complex64"), np.dtype("complex128")

_boolean = (bool,)
_signed = (int8, int16, int32, int64)
_unsigned = (uint8, uint16, uint32, uint64)
_integer = _signed + _unsigned
_real_floating = (float32, float64)
_complex_floating = (complex64, complex128)
_floating = _real_floating + _complex_floating
_real_numeric = _integer + _real_floating
_numeric = _integer + _floating
_all = _boolean + _numeric

CATEGORIES = {   # frozensets: dtype membership is a hash lookup, not a chain of dtype __eq__ calls
    "all": _all,
    "numeric": _numeric,
    "real numeric": _real_numeric,
    "integer": _integer,
    "integer or boolean": _integer + _boolean,
    "boolean": _boolean,
    "floating-point": _floating,
    "real floating-point": _real_floating,
    "complex floating-point": _complex_floating,
}
CATEGORIES = {k: frozenset(v) for k, v in CATEGORIES.items()}
_SIGNED_SET, _UNSIGNED_SET = frozenset(_signed), frozenset(_unsigned)

_real_to_complex = {float32: complex64, float64: complex128}
_complex_to_real = {complex64: float32, complex128: float64}


def _build_promotion():
    table = {}
    order = {d: i for i, d in enumerate((int8, int16, int32, int64))}
    uorder = {d: i for i, d in enumerate(_unsigned)}
    for a in _signed:
        for b in _signed:
            table[a, b] = max(a, b, key=order.get)
    for a in _unsigned:
        for b in _unsigned:
            table[a, b] = max(a, b, key=uorder.get)
    # mixed signedness: the smallest signed type holding both; uint64 + signed is undefined
    mixed = {uint8: int16, uint16: int32, uint32: int64}
    for u in (uint8, uint16, uint32):
        for s in _signed:
            r = max(mixed[u], s, key=order.get)
            table[u, s] = table[s, u] = r
    for a in _floating:
        for b in _floating:
            complex_ = a in _complex_floating or b in _complex_floating
            wide = float64 in (a, b) or complex128 in (a, b)
            table[a, b] = (complex128 if wide else complex64) if complex_ else (float64 if wide else float32)
    table[bool, bool] = bool
    return table


_PROMOTION = _build_promotion()


def promote(a, b):
    """The standard's result dtype of two array dtypes; TypeError where it defines none."""
    try:
        return _PROMOTION[a, b]
    except KeyError:
        raise TypeError(f"{a} and {b} cannot be type promoted together "
                        "(the Array API standard defines no mixed-kind promotion)") from None


SUPPORTED = ", ".join(d.name for d in _all)


def unsupported(dtype, what="dtype"):
    """The TypeError for a dtype outside the standard's (float16, longdouble, ...): never
    converted silently, so a result's dtype is always the one NumPy would give."""
    hint = " (convert with .astype(numpy.float32) first)" if np.dtype(dtype) == np.float16 else ""
    return TypeError(f"{what} {dtype} is not supported: arrayforge has the Array API standard's "
                     f"dtypes only ({SUPPORTED}){hint}")


def check_dtype(dt):
    """Normalize a dtype argument; TypeError for anything that is not a standard dtype."""
    try:
        dt = np.dtype(dt)
    except TypeError:
        raise TypeError(f"{dt!r} is not a supported dtype") from None
    if dt not in _all:
        raise unsupported(dt)
    return dt


def scalar_dtype_for(value, dtype):
    """The dtype a Python scalar takes when combined with an array of ``dtype``.

    Raises TypeError for a scalar kind the array's dtype does not admit and
    OverflowError for an int out of an integer dtype's range (standard rules).
    """
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, builtins_bool):
        if dtype != bool:
            raise TypeError("Python bool scalars can only be combined with bool arrays")
        return dtype
    if isinstance(value, int):
        if dtype == bool:
            raise TypeError("Python int scalars cannot be combined with bool arrays")
        if dtype in _integer:
            info = np.iinfo(dtype)
            if not info.min <= value <= info.max:
                raise OverflowError(f"Python int {value} is out of bounds for {dtype}")
        return dtype
    if isinstance(value, float):
        if dtype not in _floating:
            raise TypeError(f"Python float scalars can only be combined with floating-point arrays, not {dtype}")
        return dtype
    if isinstance(value, complex):
        if dtype not in _floating:
            raise TypeError(f"Python complex scalars can only be combined with floating-point arrays, not {dtype}")
        return _real_to_complex.get(dtype, dtype)
    raise TypeError(f"unsupported operand type {type(value).__name__!r}")


import builtins as _builtins  # noqa: E402
builtins_bool = _builtins.bool
