"""Indexing functions (take, take_along_axis) and the advanced forms of ``x[key]`` and
``x[key] = v``: integer-array and boolean-mask indices.

Note: index *values* decide whether an index is in bounds and, for boolean masks, the
result's shape.  So index arrays are realized at the recording call (the indexed array
stays lazy), bounds are checked there, and an out-of-bounds index raises IndexError naming
the axis and its size before anything runs: no kernel ever reads or writes out of bounds.
"""
import operator

import numpy as np

from lowering import buffer_node

from . import _dtypes as dt
from ._graph import broadcast_shapes, check_axis, concrete, extern
from . import _array  # noqa: E402  (circular at import time; used at call time)

__all__ = ["take", "take_along_axis"]


def _index_values(indices, name):
    """Realized integer index values of an Array (TypeError for other dtypes)."""
    if not isinstance(indices, _array.Array):
        raise TypeError(f"{name}: indices must be an arrayforge array, got {type(indices).__name__}")
    if indices.dtype not in dt.CATEGORIES["integer"]:
        raise TypeError(f"{name}: indices must have an integer dtype, got {indices.dtype}")
    return concrete(indices)


def _check_bounds(values, axis, size):
    """IndexError unless every value is in ``[-size, size)``."""
    if values.size == 0:
        return
    lo, hi = values.min(), values.max()
    if hi >= size or lo < -size:
        bad = hi if hi >= size else lo
        raise IndexError(f"index {int(bad)} is out of bounds for axis {axis} with size {size}")


def _leaf(values):
    return _array.Array._new(buffer_node(np.asarray(values)))


def _take_np(x, indices, axis):
    return np.take(x, indices, axis=axis)


def take(x, indices, /, *, axis=None):
    """Elements of ``x`` at ``indices`` (1-D integer array) along ``axis``.

    Indices may be negative (counted from the end); out-of-bounds indices raise IndexError here.

    >>> take(asarray([10, 20, 30]), asarray([2, 0, -1]))      # [30, 10, 30]
    """
    if not isinstance(x, _array.Array):
        raise TypeError(f"take expects an arrayforge array, got {type(x).__name__}")
    if axis is None:
        if x.ndim > 1:
            raise ValueError("take: axis is required for arrays of more than one dimension")
        # Note: a 0-d x (unspecified by the standard) is taken from as a flat array, as in NumPy.
        axis = 0 if x.ndim == 1 else None
    else:
        axis = check_axis(axis, x.ndim)
    values = _index_values(indices, "take")
    if values.ndim != 1:
        raise ValueError(f"take: indices must be one-dimensional, got shape {values.shape}")
    size = x.shape[axis] if axis is not None else x.size
    _check_bounds(values, 0 if axis is None else axis, size)
    shape = values.shape if axis is None else x.shape[:axis] + values.shape + x.shape[axis + 1:]
    return extern(_take_np, (axis,), x.dtype, shape, (x, indices))


def _take_along_axis_np(x, indices, axis):
    shape = np.broadcast_shapes(x.shape[:axis] + (1,) + x.shape[axis + 1:],
                                indices.shape[:axis] + (1,) + indices.shape[axis + 1:])
    xs = np.broadcast_to(x, shape[:axis] + (x.shape[axis],) + shape[axis + 1:])
    idx = np.broadcast_to(indices, shape[:axis] + (indices.shape[axis],) + shape[axis + 1:])
    return np.take_along_axis(xs, idx, axis=axis)


def take_along_axis(x, indices, /, *, axis=-1):
    """Elements of ``x`` at the 1-D ``indices`` along ``axis`` (shapes broadcast elsewhere)."""
    if not isinstance(x, _array.Array):
        raise TypeError(f"take_along_axis expects an arrayforge array, got {type(x).__name__}")
    values = _index_values(indices, "take_along_axis")
    if values.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices must have as many dimensions as x "
                         f"({x.ndim}), got {values.ndim}")
    axis = check_axis(axis, x.ndim)
    rest = broadcast_shapes(x.shape[:axis] + (1,) + x.shape[axis + 1:],
                            values.shape[:axis] + (1,) + values.shape[axis + 1:])
    _check_bounds(values, axis, x.shape[axis])
    shape = rest[:axis] + (values.shape[axis],) + rest[axis + 1:]
    return extern(_take_along_axis_np, (axis,), x.dtype, shape, (x, indices))


for _name in __all__:
    globals()[_name].__module__ = "arrayforge"
del _name


# ---- x[key] and x[key] = value with integer arrays or boolean masks

def _key_parts(x, key):
    """Split an advanced key into a hashable template and the realized index arrays.

    The template holds ``("index", i)`` where the i-th array goes; slices become
    ``("slice", start, stop, step)``.  Raises IndexError/TypeError for invalid parts."""
    if not isinstance(key, tuple):
        key = (key,)
    template, arrays = [], []
    for k in key:
        if isinstance(k, _array.Array):
            if k.dtype != dt.bool and k.dtype not in dt.CATEGORIES["integer"]:
                raise IndexError(f"arrays used as indices must be of integer or boolean type, not {k.dtype}")
            template.append(("index", len(arrays)))
            arrays.append(concrete(k))
        elif isinstance(k, (list, np.ndarray)):
            # Note: NumPy arrays and lists are accepted as index arrays, as NumPy does.
            a = np.asarray(k)
            if a.size == 0 and a.dtype.kind == "f":
                a = a.astype(np.intp)
            if a.dtype.kind not in "iub":
                raise IndexError(f"arrays used as indices must be of integer or boolean type, not {a.dtype}")
            template.append(("index", len(arrays)))
            arrays.append(a)
        elif isinstance(k, slice):
            parts = []
            for v in (k.start, k.stop, k.step):
                if v is not None and not isinstance(v, (int, np.integer)):
                    try:
                        v = operator.index(v)
                    except TypeError:
                        raise IndexError(f"slice indices must be integers or None, got {v!r}") from None
                parts.append(None if v is None else int(v))
            if parts[2] == 0:
                raise ValueError("slice step cannot be zero")
            template.append(("slice", *parts))
        elif k is None or k is Ellipsis:
            template.append(k)
        elif isinstance(k, (bool, np.bool_)):
            template.append(("bool", bool(k)))
        else:
            try:
                template.append(("int", operator.index(k)))
            except TypeError:
                raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and integer or "
                                 f"boolean arrays are valid indices, got {k!r}") from None
    return tuple(template), arrays


def _numpy_key(template, arrays):
    key = []
    for t in template:
        if t is None or t is Ellipsis:
            key.append(t)
        elif t[0] == "index":
            key.append(arrays[t[1]])
        elif t[0] == "slice":
            key.append(slice(*t[1:]))
        else:
            key.append(t[1])
    return tuple(key)


def _check_index_arrays(x, template, arrays):
    """Bounds of integer index arrays and shapes of boolean masks, per axis (IndexError)."""
    n_ell = sum(t is Ellipsis for t in template)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = 0
    for t in template:
        if t is None or t is Ellipsis or t[0] == "bool":
            continue
        consumed += arrays[t[1]].ndim if t[0] == "index" and arrays[t[1]].dtype == np.bool_ else 1
    if consumed > x.ndim:
        raise IndexError(f"too many indices for array: array is {x.ndim}-dimensional, "
                         f"but {consumed} were indexed")
    dim = 0
    for t in template:
        if t is None or (t is not Ellipsis and t[0] == "bool"):
            continue
        if t is Ellipsis:
            dim += x.ndim - consumed
            continue
        if t[0] == "index":
            a = arrays[t[1]]
            if a.dtype == np.bool_:
                # Note: as NumPy, a mask axis of size 0 selects nothing from an axis of any size.
                if len(x.shape[dim:dim + a.ndim]) != a.ndim or not all(
                        k == n or k == 0 for k, n in zip(a.shape, x.shape[dim:dim + a.ndim])):
                    raise IndexError(f"boolean index of shape {a.shape} does not match the indexed "
                                     f"dimensions {x.shape[dim:dim + a.ndim]} starting at axis {dim}")
                dim += a.ndim
                continue
            _check_bounds(a, dim, x.shape[dim])
        elif t[0] == "int":
            n = x.shape[dim]
            if not -n <= t[1] < n:
                raise IndexError(f"index {t[1]} is out of bounds for axis {dim} with size {n}")
        dim += 1


def _result_shape(x, template, arrays):
    """Shape of ``x[key]``, found by indexing a zero-strided stand-in (no data read)."""
    _check_index_arrays(x, template, arrays)
    stand_in = np.broadcast_to(np.zeros((), np.bool_), x.shape)
    try:
        return stand_in[_numpy_key(template, arrays)].shape
    except IndexError as exc:
        raise IndexError(str(exc)) from None


def _gather_np(x, *args):
    *arrays, template = args
    return x[_numpy_key(template, arrays)]


def _scatter_np(x, value, *args):
    *arrays, template = args
    out = np.array(x)
    out[_numpy_key(template, arrays)] = value
    return out


def _index_leaves(arrays):
    return tuple(_leaf(a) for a in arrays)


def getitem(x, key):
    """``x[key]`` for keys holding integer arrays or boolean masks (basic keys are views)."""
    template, arrays = _key_parts(x, key)
    shape = _result_shape(x, template, arrays)
    return extern(_gather_np, (template,), x.dtype, shape, (x,) + _index_leaves(arrays))


def setitem(x, key, value, basic_shape=None):
    """The array ``x`` with ``x[key] = value`` applied (a new node; ``x`` itself is unchanged).

    ``basic_shape`` is the target's shape when the key is a basic index (already validated)."""
    from .creation import asarray
    if isinstance(value, _array.Array):
        if value.dtype != x.dtype and (x.dtype not in dt.CATEGORIES["all"] or
                                       _promotes_to(value.dtype, x.dtype) is False):
            raise TypeError(f"cannot assign {value.dtype} values into a {x.dtype} array")
    elif isinstance(value, (bool, int, float, complex)):
        dt.scalar_dtype_for(value, x.dtype)
        if isinstance(value, complex) and x.dtype.kind != "c":
            raise TypeError(f"cannot assign a complex value into a {x.dtype} array")
    else:
        raise TypeError(f"cannot assign {type(value).__name__} into an arrayforge array")
    template, arrays = _key_parts(x, key)
    target = basic_shape if basic_shape is not None else _result_shape(x, template, arrays)
    vshape = value.shape if isinstance(value, _array.Array) else ()
    try:
        ok = broadcast_shapes(target, vshape) == tuple(target)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"could not broadcast input array from shape {vshape} into shape {tuple(target)}")
    if isinstance(value, _array.Array):
        from .manipulation import astype
        v = astype(value, x.dtype)
    else:
        v = asarray(value, dtype=x.dtype)
    return extern(_scatter_np, (template,), x.dtype, x.shape, (x, v) + _index_leaves(arrays))


def _promotes_to(src, dst):
    try:
        return dt.promote(src, dst) == dst
    except TypeError:
        return False
