"""NumPy's protocols on sparse arrays, and Dask's chunk-type registration.

``np.matmul(A, x)``, ``np.multiply(A, 2)``, ``np.sum(A, axis=0, keepdims=True)``,
``np.concatenate([A, B])`` on arrayforge sparse arrays run arrayforge's sparse operations (the
namespace's rules: the result is sparse where it is sparse, and a function whose result would be
dense raises, never densifying silently).  This is what lets a Dask array hold arrayforge sparse
chunks (``da.from_array(A, chunks=...)``): Dask calls these functions on each chunk.  As for
dense arrays (``arrayforge/_interop.py``), reductions called through the protocols are computed
at once, and ``out=`` is refused.
"""
from __future__ import annotations

import numpy as np


def _xp():
    import arrayforge
    return arrayforge


def _operand(x):
    from .._interop import _convert
    return _convert(x)


def array_ufunc(self, ufunc, method, inputs, kwargs):
    from .._interop import _UFUNCS, _no_out
    from ._base import SparseArray
    from .._array import Array
    if any(not isinstance(x, (SparseArray, Array, np.ndarray, np.generic, bool, int, float, complex))
           for x in inputs):
        return NotImplemented
    kwargs = dict(kwargs)
    _no_out(kwargs, f"numpy.{ufunc.__name__}")
    name = _UFUNCS.get(ufunc.__name__)
    if method != "__call__" or name is None or kwargs:
        raise TypeError(f"no implementation found for numpy.{ufunc.__name__}"
                        f"{'' if method == '__call__' else '.' + method} on arrayforge sparse arrays; "
                        "densify explicitly with .todense() (never done silently)")
    return getattr(_xp(), name)(*[_operand(x) for x in inputs])


def _keepdims(result, shape, axis):
    """SciPy-style sparse reductions have no ``keepdims``: restore the reduced axes as 1s."""
    xp = _xp()
    axes = range(len(shape)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    axes = {a % len(shape) for a in axes}
    return xp.reshape(result, tuple(1 if i in axes else n for i, n in enumerate(shape)))


def _reduction(name):
    def impl(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        from .._interop import _no_out
        _no_out({"out": out}, f"numpy.{name}")
        if kwargs.pop("initial", None) is not None or kwargs.pop("where", True) is not True or kwargs:
            raise TypeError(f"numpy.{name}: initial=/where= are not supported on sparse arrays")
        if isinstance(axis, (tuple, list)):          # Dask passes axis tuples; SciPy takes one axis
            ndim = len(a.shape)
            axes = {ax % ndim for ax in axis}
            axis = None if len(axes) == ndim else (axes.pop() if len(axes) == 1 else tuple(sorted(axes)))
        method = getattr(a, name)
        result = method(axis=axis) if dtype is None or name in ("max", "min") else method(axis=axis, dtype=dtype)
        xp = _xp()
        if not isinstance(result, xp.Array):
            result = xp.asarray(result)
        if keepdims:
            result = _keepdims(result, a.shape, axis)
        return result.compute()
    return impl


def _concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    from .._interop import _no_out
    from . import hstack, vstack
    _no_out({"out": out}, "numpy.concatenate")
    arrays = list(arrays)
    if axis not in (0, 1, -1, -2) or any(getattr(a, "ndim", 2) != 2 for a in arrays):
        raise ValueError("sparse arrays concatenate along axis 0 or 1 of 2-D arrays")
    result = vstack(arrays) if axis in (0, -2) else hstack(arrays)
    return result.astype(dtype) if dtype is not None else result


def _functions():
    xp = _xp()
    from .._interop import numpy_function
    return {
        np.sum: _reduction("sum"), np.mean: _reduction("mean"), np.max: _reduction("max"),
        np.min: _reduction("min"), np.amax: _reduction("max"), np.amin: _reduction("min"),
        np.concatenate: _concatenate,
        np.matmul: lambda a, b, **kw: xp.matmul(_operand(a), _operand(b)),
        np.dot: lambda a, b, out=None: xp.matmul(_operand(a), _operand(b)),
        np.tensordot: lambda a, b, axes=2: xp.tensordot(_operand(a), _operand(b), axes=axes),
        np.transpose: lambda a, axes=None: a.transpose(axes),
        np.result_type: numpy_function(np.result_type), np.can_cast: numpy_function(np.can_cast),
        np.ndim: lambda a: a.ndim, np.shape: lambda a: a.shape,
    }


_SPARSE_TABLE: dict = {}


def array_function(self, func, types, args, kwargs):
    from ._base import SparseArray
    from .._array import Array
    if not all(issubclass(t, (SparseArray, Array, np.ndarray)) for t in types):
        return NotImplemented
    if not _SPARSE_TABLE:
        _SPARSE_TABLE.update(_functions())
    impl = _SPARSE_TABLE.get(func)
    if impl is None:
        return NotImplemented        # NumPy's TypeError ("no implementation found")
    return impl(*args, **kwargs)


def register_dask():
    """Dask: arrayforge sparse arrays as chunks (concatenate and tensordot dispatch)."""
    from dask.array import dispatch
    from dask.array.chunk_types import is_valid_chunk_type, register_chunk_type
    from ._base import SparseArray
    if not is_valid_chunk_type(SparseArray):
        register_chunk_type(SparseArray)
    dispatch.concatenate_lookup.register(SparseArray, _concatenate)
    xp = _xp()
    dispatch.tensordot_lookup.register(SparseArray, lambda a, b, axes=2: xp.tensordot(a, _operand(b), axes=axes))
