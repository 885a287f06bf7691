"""NumPy's protocols on arrayforge arrays: NEP 13 (``__array_ufunc__``) and NEP 18
(``__array_function__``).

``np.sin(x)``, ``np.sum(x, axis=0)``, ``np.concatenate([x, y])``, ``np.matmul(x, y)`` on
arrayforge arrays return arrayforge arrays, recorded lazily like the namespace's own functions,
so NumPy-API code (Dask's chunk functions among it) runs on arrayforge's fused kernels.  The
semantics are NumPy's where they differ from the standard's (mixed-kind promotion,
``np.mean`` of integers, ``np.divide`` of integers), because the caller wrote NumPy code.

* A NumPy function or ufunc with no counterpart here raises ``TypeError`` (NumPy's "no
  implementation found" error), as CuPy does: call ``np.asarray(x)`` first to fall back to NumPy
  explicitly.  Nothing densifies or converts silently.
* ``out=`` is refused with a ``TypeError``: arrayforge values are immutable.
* A reduction called through these protocols (``np.sum``, ``np.max``, ``x.sum()``, ...) runs its
  fused plan at once.  Its result is small and computing it frees what it read: a Dask
  reduction's chunk step is exactly such a call, so each chunk's element-wise work and its
  partial reduction run as one kernel and no chunk outlives its task.  Element-wise calls stay
  lazy, which is what lets Dask's blockwise layers reach the reduction as one chain.
* NumPy arrays mixed with arrayforge arrays are converted (arrayforge wins, as CuPy's arrays do).
"""
from __future__ import annotations

import numpy as np

from . import _dtypes as dt

_UFUNCS = {        # NumPy ufunc name -> arrayforge namespace function name
    "add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide",
    "true_divide": "divide", "floor_divide": "floor_divide", "remainder": "remainder",
    "power": "pow", "negative": "negative", "positive": "positive", "absolute": "abs",
    "sqrt": "sqrt", "square": "square", "reciprocal": "reciprocal", "exp": "exp", "expm1": "expm1",
    "log": "log", "log1p": "log1p", "log2": "log2", "log10": "log10", "sin": "sin", "cos": "cos",
    "tan": "tan", "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sinh": "sinh",
    "cosh": "cosh", "tanh": "tanh", "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh",
    "arctan2": "atan2", "hypot": "hypot", "floor": "floor", "ceil": "ceil", "trunc": "trunc",
    "rint": "round", "sign": "sign", "isnan": "isnan", "isinf": "isinf", "isfinite": "isfinite",
    "signbit": "signbit", "logical_not": "logical_not", "logical_and": "logical_and",
    "logical_or": "logical_or", "logical_xor": "logical_xor", "bitwise_and": "bitwise_and",
    "bitwise_or": "bitwise_or", "bitwise_xor": "bitwise_xor", "invert": "bitwise_invert",
    "left_shift": "bitwise_left_shift", "right_shift": "bitwise_right_shift", "equal": "equal",
    "not_equal": "not_equal", "less": "less", "less_equal": "less_equal", "greater": "greater",
    "greater_equal": "greater_equal", "maximum": "maximum", "minimum": "minimum",
    "copysign": "copysign", "logaddexp": "logaddexp", "nextafter": "nextafter",
    "conjugate": "conj", "matmul": "matmul",
}
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
           "logical_and": "all", "logical_or": "any"}
_ACCUMULATE = {"add": "cumulative_sum", "multiply": "cumulative_prod"}


def _xp():
    import arrayforge
    return arrayforge


def _is_array(x):
    from ._array import Array
    return isinstance(x, Array)


def _convert(x):
    """An operand for the namespace: arrayforge arrays as they are, NumPy arrays and NumPy
    scalars converted (arrayforge wins), Python scalars kept (they stay weakly typed)."""
    if _is_array(x) or isinstance(x, (bool, int, float, complex)) and type(x) in (bool, int, float, complex):
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        return _xp().asarray(x)
    return x


def _promote(args):
    """NumPy's promotion of the operands (mixed kinds allowed), applied as explicit casts."""
    arrays = [a for a in args if _is_array(a)]
    if len({a.dtype for a in arrays}) <= 1:
        return args
    target = np.result_type(*[a.dtype for a in arrays])
    xp = _xp()
    return [xp.astype(a, target) if _is_array(a) and a.dtype != target else a for a in args]


def _no_out(kwargs, name):
    out = kwargs.pop("out", None)
    if out is not None and not (isinstance(out, tuple) and all(o is None for o in out)):
        raise TypeError(f"{name}: out= is not supported on arrayforge arrays (their values are "
                        "immutable); use the returned array")


def array_ufunc(ufunc, method, inputs, kwargs):
    """``Array.__array_ufunc__``: the namespace function for ``ufunc``; NotImplemented when
    another duck array type takes part; a TypeError when arrayforge has no counterpart."""
    result = _array_ufunc(ufunc, method, inputs, kwargs)
    if result is NotImplemented and all(
            _is_array(x) or isinstance(x, (np.ndarray, np.generic, bool, int, float, complex)) for x in inputs):
        # (NumPy's own message would print the operands, which evaluates them)
        raise TypeError(f"no implementation found for numpy.{ufunc.__name__}"
                        f"{'' if method == '__call__' else '.' + method} with these arguments on "
                        "arrayforge arrays; convert explicitly with numpy.asarray(x) to use NumPy's")
    return result


def _array_ufunc(ufunc, method, inputs, kwargs):
    if any(not (_is_array(x) or isinstance(x, (np.ndarray, np.generic, bool, int, float, complex)))
           for x in inputs):
        return NotImplemented           # another duck array (a Dask array...) decides
    kwargs = dict(kwargs)
    _no_out(kwargs, f"numpy.{ufunc.__name__}")
    xp = _xp()
    args = [_convert(x) for x in inputs]
    dtype = kwargs.pop("dtype", None)
    if method == "__call__":
        name = _UFUNCS.get(ufunc.__name__)
        if name is None or kwargs.pop("where", True) is not True:
            return NotImplemented
        kwargs.pop("casting", None), kwargs.pop("order", None), kwargs.pop("subok", None)
        if kwargs:
            return NotImplemented
        args = _promote(args)
        if ufunc.__name__ in ("divide", "true_divide") and all(
                not _is_array(a) or a.dtype.kind in "iub" for a in args):
            args = [xp.astype(a, dt.float64) if _is_array(a) else float(a) for a in args]
        out = getattr(xp, name)(*args)
        return xp.astype(out, np.dtype(dtype)) if dtype is not None else out
    if method == "reduce" and ufunc.__name__ in _REDUCE and len(args) == 1:
        if kwargs.get("initial", 0) is None:        # initial=None is no initial value
            del kwargs["initial"]
        axis = kwargs.pop("axis", 0)
        keepdims = kwargs.pop("keepdims", False)
        if kwargs:
            return NotImplemented
        return _reduce(_REDUCE[ufunc.__name__], args[0], axis, keepdims, dtype)
    if method == "accumulate" and ufunc.__name__ in _ACCUMULATE and len(args) == 1:
        axis = kwargs.pop("axis", 0)
        if kwargs:
            return NotImplemented
        x = args[0]
        if dtype is not None:
            x = xp.astype(x, np.dtype(dtype))
        return getattr(xp, _ACCUMULATE[ufunc.__name__])(x, axis=axis)
    return NotImplemented


def _reduce(name, x, axis, keepdims, dtype=None, **extra):
    """A NumPy-protocol reduction: NumPy's dtype rules, and computed at once (see the module
    docstring)."""
    xp = _xp()
    if not _is_array(x):
        x = xp.asarray(x)
    if isinstance(axis, list):
        axis = tuple(axis)
    if name in ("mean", "std", "var") and x.dtype.kind in "iub" and dtype is None:
        dtype = dt.float64          # Note: NumPy averages integers in float64; the standard refuses
    if name not in ("sum", "prod"):      # only sum and prod take a dtype
        if dtype is not None:
            x = xp.astype(x, np.dtype(dtype))
        out = getattr(xp, name)(x, axis=axis, keepdims=keepdims, **extra)
    else:
        if x.dtype.kind == "b":         # Note: NumPy sums booleans as integers; the standard refuses
            x = xp.astype(x, dt.int64)
        out = getattr(xp, name)(x, axis=axis, keepdims=keepdims,
                                dtype=None if dtype is None else np.dtype(dtype), **extra)
    return out.compute()


# ---- NEP 18: NumPy functions with NumPy's signatures, mapped onto the namespace

def _reduction(name, *, numpy_dtype=True):
    def impl(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        _no_out({"out": out}, f"numpy.{name}")
        extra = {}
        if "ddof" in kwargs:
            extra["correction"] = kwargs.pop("ddof")
        if kwargs.pop("initial", None) is not None or kwargs.pop("where", True) is not True or kwargs:
            raise TypeError(f"numpy.{name}: initial=/where= are not supported on arrayforge arrays")
        return _reduce(name, a, axis, keepdims, dtype if numpy_dtype else None, **extra)
    return impl


def _arg_reduction(name):
    def impl(a, axis=None, out=None, *, keepdims=False):
        _no_out({"out": out}, f"numpy.{name}")
        return _reduce(name, a, axis, keepdims)
    return impl


def _extremum(name):
    def impl(a, axis=None, out=None, keepdims=False, initial=None, where=True):
        _no_out({"out": out}, f"numpy.{name}")
        if initial is not None or where is not True:
            raise TypeError(f"numpy.{name}: initial=/where= are not supported on arrayforge arrays")
        return _reduce(name, a, axis, keepdims)
    return impl


def _seq(arrays):
    return [_convert(a) if not _is_array(a) else a for a in arrays]


def _concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    _no_out({"out": out}, "numpy.concatenate")
    xp = _xp()
    arrays = _promote(_seq(arrays))
    if axis is None:
        arrays, axis = [xp.reshape(a, (-1,)) for a in arrays], 0
    out = xp.concat(arrays, axis=axis)
    return xp.astype(out, np.dtype(dtype)) if dtype is not None else out


def _stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    _no_out({"out": out}, "numpy.stack")
    xp = _xp()
    out = xp.stack(_promote(_seq(arrays)), axis=axis)
    return xp.astype(out, np.dtype(dtype)) if dtype is not None else out


def _transpose(a, axes=None):
    xp = _xp()
    return xp.permute_dims(a, tuple(reversed(range(a.ndim))) if axes is None else tuple(axes))


def _reshape(a, shape=None, order="C", *, copy=None, newshape=None):
    if order != "C":
        raise TypeError("numpy.reshape: arrayforge arrays reshape in C order only")
    shape = newshape if shape is None else shape
    return _xp().reshape(a, (shape,) if isinstance(shape, int) else tuple(shape), copy=copy)


def _where(condition, x=None, y=None):
    xp = _xp()
    if x is None and y is None:
        return xp.nonzero(_convert(condition))
    x, y = _promote([_convert(x), _convert(y)])
    return xp.where(_convert(condition), x, y)


def _like(fill):
    def impl(prototype, dtype=None, order="K", subok=True, shape=None, device=None, **kwargs):
        xp = _xp()
        shape = prototype.shape if shape is None else ((shape,) if isinstance(shape, int) else tuple(shape))
        dtype = prototype.dtype if dtype is None else np.dtype(dtype)
        if fill == "full":
            return xp.full(shape, kwargs["fill_value"], dtype=dtype)
        return getattr(xp, fill)(shape, dtype=dtype)
    return impl


def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, device=None):
    return _like("full")(a, dtype, order, subok, shape, device, fill_value=fill_value)


def _astype(x, dtype, /, *, copy=True, device=None):
    return _xp().astype(x, np.dtype(dtype), copy=copy)


def _clip(a, a_min=None, a_max=None, out=None, **kwargs):
    _no_out({"out": out}, "numpy.clip")
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    return _xp().clip(a, a_min, a_max)


def _round(a, decimals=0, out=None):
    _no_out({"out": out}, "numpy.round")
    if decimals != 0:
        raise TypeError("numpy.round: only decimals=0 is supported on arrayforge arrays")
    return _xp().round(a)


def _tensordot(a, b, axes=2):
    a, b = _promote([_convert(a), _convert(b)])
    if not isinstance(axes, int):
        axes = tuple(tuple(ax) if isinstance(ax, (list, tuple)) else (ax,) for ax in axes)
    return _xp().tensordot(a, b, axes=axes)


def _dot(a, b, out=None):
    _no_out({"out": out}, "numpy.dot")
    xp = _xp()
    a, b = _promote([_convert(a), _convert(b)])
    if a.ndim == 0 or b.ndim == 0:
        return xp.multiply(a, b)
    if b.ndim <= 2:
        return xp.matmul(a, b)
    return xp.tensordot(a, b, axes=((a.ndim - 1,), (b.ndim - 2,)))


def _einsum(subscripts, *operands, out=None, dtype=None, order="K", casting="safe", optimize=False):
    _no_out({"out": out}, "numpy.einsum")
    xp = _xp()
    result = xp.einsum(subscripts, *_promote(_seq(operands)))
    return xp.astype(result, np.dtype(dtype)) if dtype is not None else result


def _result_type(*arrays_and_dtypes):
    return np.result_type(*[a.dtype if _is_array(a) else a for a in arrays_and_dtypes])


def _can_cast(from_, to, casting="safe"):
    return np.can_cast(from_.dtype if _is_array(from_) else from_, to, casting=casting)


def _nonzero(a):
    return _xp().nonzero(a)


def _squeeze(a, axis=None):
    xp = _xp()
    if axis is None:
        axis = tuple(i for i, n in enumerate(a.shape) if n == 1)
    return xp.squeeze(a, axis=axis)


def _cumulative(name):
    def impl(a, axis=None, dtype=None, out=None):
        _no_out({"out": out}, f"numpy.{name}")
        xp = _xp()
        if axis is None:
            a, axis = xp.reshape(a, (-1,)), 0
        return getattr(xp, "cumulative_sum" if name == "cumsum" else "cumulative_prod")(
            a, axis=axis, dtype=None if dtype is None else np.dtype(dtype))
    return impl


def _ndim(a):
    return a.ndim


def _shape(a):
    return a.shape


def _size(a, axis=None):
    return a.size if axis is None else a.shape[axis]


def _copy(a, order="K", subok=False):
    return _xp().asarray(a, copy=True)


def _ravel(a, order="C"):
    return _xp().reshape(a, (-1,))


def _functions():
    xp = _xp()
    table = {
        np.sum: _reduction("sum"), np.prod: _reduction("prod"), np.mean: _reduction("mean"),
        np.std: _reduction("std"), np.var: _reduction("var"),
        np.max: _extremum("max"), np.min: _extremum("min"), np.amax: _extremum("max"),
        np.amin: _extremum("min"), np.any: _extremum("any"), np.all: _extremum("all"),
        np.argmax: _arg_reduction("argmax"), np.argmin: _arg_reduction("argmin"),
        np.cumsum: _cumulative("cumsum"), np.cumprod: _cumulative("cumprod"),
        np.concatenate: _concatenate, np.stack: _stack, np.transpose: _transpose,
        np.reshape: _reshape, np.where: _where, np.zeros_like: _like("zeros"),
        np.ones_like: _like("ones"), np.empty_like: _like("empty"), np.full_like: _full_like,
        np.astype: _astype, np.clip: _clip, np.round: _round, np.around: _round,
        np.tensordot: _tensordot, np.dot: _dot, np.einsum: _einsum, np.result_type: _result_type,
        np.can_cast: _can_cast, np.nonzero: _nonzero, np.squeeze: _squeeze,
        np.expand_dims: lambda a, axis: xp.expand_dims(a, axis=axis),
        np.broadcast_to: lambda array, shape, subok=False: xp.broadcast_to(array, tuple(shape)),
        np.moveaxis: lambda a, source, destination: xp.moveaxis(a, source, destination),
        np.flip: lambda m, axis=None: xp.flip(m, axis=axis),
        np.roll: lambda a, shift, axis=None: xp.roll(a, shift, axis=axis),
        np.take: lambda a, indices, axis=None, out=None, mode="raise": _take(a, indices, axis, out),
        np.sort: lambda a, axis=-1, kind=None, order=None, stable=None: xp.sort(a, axis=axis),
        np.argsort: lambda a, axis=-1, kind=None, order=None, stable=None: xp.argsort(a, axis=axis),
        np.outer: lambda a, b, out=None: xp.outer(*_promote([_convert(a), _convert(b)])),
        np.ndim: _ndim, np.shape: _shape, np.size: _size, np.copy: _copy, np.ravel: _ravel,
        np.isclose: _isclose, np.allclose: _allclose, np.array_equal: _array_equal,
    }
    for name in ("array", "asarray", "asanyarray", "ascontiguousarray", "empty", "zeros", "ones",
                 "full", "arange", "eye", "identity"):
        table[getattr(np, name)] = _creation(name)
    return table


def _creation(name):
    """``np.array(..., like=x)`` and the creation functions with ``like=``: arrayforge arrays."""
    def impl(*args, like=None, **kwargs):
        xp = _xp()
        if name in ("array", "asarray", "asanyarray", "ascontiguousarray"):
            kwargs.pop("order", None), kwargs.pop("subok", None)
            return xp.asarray(np.array(*args, **kwargs), copy=None)
        return xp.asarray(getattr(np, name)(*args, **kwargs))
    return impl


def _take(a, indices, axis, out):
    _no_out({"out": out}, "numpy.take")
    xp = _xp()
    if axis is None:
        a, axis = xp.reshape(a, (-1,)), 0
    return xp.take(a, _convert(np.asarray(indices) if not _is_array(indices) else indices), axis=axis)


def _isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    xp = _xp()
    a, b = _promote([_convert(a), _convert(b)])
    close = xp.abs(a - b) <= atol + rtol * xp.abs(b)
    close = xp.logical_or(close, a == b)          # equal infinities
    if equal_nan:
        close = xp.logical_or(close, xp.logical_and(xp.isnan(a), xp.isnan(b)))
    return close


def _allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(_xp().all(_isclose(a, b, rtol, atol, equal_nan)))


def _array_equal(a1, a2, equal_nan=False):
    xp = _xp()
    a1, a2 = _convert(a1), _convert(a2)
    if tuple(a1.shape) != tuple(a2.shape):
        return False
    eq = a1 == a2
    if equal_nan:
        eq = xp.logical_or(eq, xp.logical_and(xp.isnan(a1), xp.isnan(a2)))
    return bool(xp.all(eq))


_TABLE: dict = {}


def array_function(func, types, args, kwargs):
    """``Array.__array_function__``: the arrayforge implementation of ``func``."""
    from ._array import Array
    if not all(issubclass(t, (Array, np.ndarray)) for t in types):
        return NotImplemented           # another duck array type decides
    if not _TABLE:
        _TABLE.update(_functions())
    impl = _TABLE.get(func)
    if impl is None:
        return NotImplemented           # NumPy raises its TypeError ("no implementation found")
    return impl(*args, **kwargs)


def numpy_function(func):
    """arrayforge's implementation of the NumPy function ``func`` (KeyError if none)."""
    if not _TABLE:
        _TABLE.update(_functions())
    return _TABLE[func]


def handled_functions():
    """The NumPy functions arrayforge arrays implement through ``__array_function__``."""
    if not _TABLE:
        _TABLE.update(_functions())
    return frozenset(_TABLE)
