"""Shape manipulation.  Most functions are views (index maps, never copies); concat, roll and
repeat are EXTERN nodes that run NumPy's routine when the plan runs."""
import operator

import numpy as np

from lowering import Op

from . import _dtypes as dt
from ._graph import (broadcast_shapes as _broadcast_shapes, cast, check_axis, check_shape, concrete, expand,
                     extern, normalize_axis, reshape_node, view)
from ._sparse_dispatch import call as _sparse_call, is_sparse as _is_sparse
from . import _array  # noqa: E402  (circular at import time; used at call time)

__all__ = ["reshape", "permute_dims", "broadcast_to", "expand_dims", "squeeze", "astype", "broadcast_shapes",
           "broadcast_arrays", "concat", "stack", "unstack", "flip", "roll", "repeat", "tile", "moveaxis",
           "matrix_transpose"]


def _check(x, name):
    if not isinstance(x, _array.Array):
        from ._sparse_dispatch import unsupported
        raise unsupported(name, x)


def broadcast_shapes(*shapes):
    """The shape that ``shapes`` broadcast to (ValueError if they do not).

    >>> broadcast_shapes((2, 1), (3,))       # (2, 3)
    """
    return _broadcast_shapes(*(tuple(operator.index(n) for n in s) for s in shapes))


def reshape(x, /, shape, *, copy=None):
    """Reshape without copying (values are immutable, so ``copy`` never matters)."""
    if type(x) is not _array.Array and _is_sparse(x):
        return _sparse_call("reshape", x, shape, copy=copy)
    _check(x, "reshape")
    shape = tuple(operator.index(s) for s in ((shape,) if isinstance(shape, int) else shape))
    if shape.count(-1) > 1:
        raise ValueError("can only specify one unknown dimension (-1)")
    if -1 in shape:
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        if known == 0 or x.size % known:
            raise ValueError(f"cannot reshape array of size {x.size} into shape {shape}")
        shape = tuple(x.size // known if s == -1 else s for s in shape)
    shape = check_shape(shape, x.dtype)
    n = 1
    for s in shape:
        n *= s
    if n != x.size:
        raise ValueError(f"cannot reshape array of size {x.size} into shape {shape}")
    if copy is False:
        pass  # Note: a view is always possible for us; copy=False never raises.
    return _array.Array._new(reshape_node(x._node, shape))


def permute_dims(x, /, axes):
    if type(x) is not _array.Array and _is_sparse(x):
        return _sparse_call("permute_dims", x, axes)
    _check(x, "permute_dims")
    axes = tuple(operator.index(a) for a in axes)
    if sorted(a % x.ndim if x.ndim else a for a in axes) != list(range(x.ndim)) or len(axes) != x.ndim:
        raise ValueError(f"axes {axes} is not a permutation of the {x.ndim} dimensions")
    axes = tuple(a % x.ndim for a in axes)
    if axes == tuple(range(x.ndim)):
        return x
    return _array.Array._new(view(Op.PERMUTE, x._node, tuple(x.shape[a] for a in axes), axes))


def broadcast_to(x, /, shape):
    _check(x, "broadcast_to")
    shape = check_shape(shape, x.dtype)
    if len(shape) < x.ndim or broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"cannot broadcast array of shape {x.shape} to shape {shape}")
    return _array.Array._new(expand(x._node, shape))


def expand_dims(x, /, axis=0):
    """Insert unit axes at ``axis`` (an int or, since 2025.12, a tuple of output positions)."""
    _check(x, "expand_dims")
    axes = (axis,) if not isinstance(axis, tuple) else axis
    nd = x.ndim + len(axes)
    out = set()
    for a in axes:
        a = operator.index(a)
        if not -nd <= a < nd:
            # Note: the standard says IndexError should be raised; AxisError subclasses it.
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for array of dimension {nd}")
        out.add(a % nd)
    if len(out) != len(axes):
        raise ValueError(f"expand_dims: repeated axis in {axis}")
    dims = iter(x.shape)
    return _array.Array._new(reshape_node(x._node, tuple(1 if d in out else next(dims) for d in range(nd))))


def squeeze(x, /, axis):
    _check(x, "squeeze")
    axes = normalize_axis(axis, x.ndim)
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"cannot squeeze axis {a}: its size is {x.shape[a]}, not 1")
    return _array.Array._new(reshape_node(x._node, tuple(n for d, n in enumerate(x.shape) if d not in axes)))


def astype(x, dtype, /, *, copy=True, device=None):
    """Cast to ``dtype`` (recorded; fuses with neighbours)."""
    if type(x) is not _array.Array and _is_sparse(x):
        return _sparse_call("astype", x, dtype, copy=copy, device=device)
    _check(x, "astype")
    from .creation import _check_device
    if device is not None and _check_device(device) != x._node.device:
        x = x.to_device(device)       # an explicit request: copies
    dtype = dt.check_dtype(dtype)
    if x.dtype.kind == "c" and dtype.kind not in "cb":
        # Note: the standard says complex -> real casts should not be permitted (the imaginary
        # part would be dropped silently); complex -> bool (nonzero) is allowed, as in NumPy.
        raise TypeError(f"casting {x.dtype} to {dtype} would discard the imaginary part")
    if dtype == x.dtype:
        return _array.Array._new(x._node) if copy else x     # a new handle is a copy (values are immutable)
    return _array.Array._new(cast(x._node, dtype))


def broadcast_arrays(*arrays):
    """The arrays broadcast against each other (views)."""
    for a in arrays:
        _check(a, "broadcast_arrays")
    shape = _broadcast_shapes(*(a.shape for a in arrays))
    return tuple(broadcast_to(a, shape) for a in arrays)


def _concat_np(*args):
    *arrays, axis = args
    return np.concatenate(arrays, axis=axis)


def _common_dtype(arrays, name):
    if not arrays:
        raise ValueError(f"{name} needs at least one array")
    for a in arrays:
        _check(a, name)
    dtype = arrays[0].dtype
    for a in arrays[1:]:
        dtype = dt.promote(dtype, a.dtype)
    return dtype


def concat(arrays, /, *, axis=0):
    """Join arrays along an existing ``axis`` (``None``: flatten first); dtypes promote."""
    arrays = list(arrays)
    dtype = _common_dtype(arrays, "concat")
    if axis is None:
        arrays = [reshape(a, (-1,)) if a.ndim != 1 else a for a in arrays]
        axis = 0
    nd = arrays[0].ndim
    if nd == 0:
        raise ValueError("concat: zero-dimensional arrays cannot be concatenated")
    axis = check_axis(axis, nd)
    for a in arrays:
        if a.ndim != nd or a.shape[:axis] + a.shape[axis + 1:] != arrays[0].shape[:axis] + arrays[0].shape[axis + 1:]:
            raise ValueError(f"concat: all shapes must match except along axis {axis}, got "
                             + ", ".join(str(b.shape) for b in arrays))
    if len(arrays) == 1:
        return astype(arrays[0], dtype, copy=False)
    shape = arrays[0].shape[:axis] + (sum(a.shape[axis] for a in arrays),) + arrays[0].shape[axis + 1:]
    check_shape(shape, dtype)
    return extern(_concat_np, (axis,), dtype, shape, [cast(a._node, dtype) for a in arrays])


def stack(arrays, /, *, axis=0):
    """Join same-shaped arrays along a new ``axis``; dtypes promote."""
    arrays = list(arrays)
    _common_dtype(arrays, "stack")
    if len({a.shape for a in arrays}) != 1:
        raise ValueError("stack: all input arrays must have the same shape, got "
                         + ", ".join(str(a.shape) for a in arrays))
    axis = check_axis(axis, arrays[0].ndim + 1)
    return concat([expand_dims(a, axis) for a in arrays], axis=axis)


def unstack(x, /, *, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple of views."""
    _check(x, "unstack")
    if x.ndim == 0:
        raise ValueError("unstack requires an array of at least one dimension")
    axis = check_axis(axis, x.ndim)
    return tuple(x[(slice(None),) * axis + (i,)] for i in range(x.shape[axis]))


def flip(x, /, *, axis=None):
    """Reverse the order of elements along ``axis`` (all axes if None): a strided view."""
    _check(x, "flip")
    axes = normalize_axis(axis, x.ndim)
    if not axes:
        return x
    return x[tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(x.ndim))]


def _roll_np(x, shift, axis):
    return np.roll(x, shift, axis=axis)


def roll(x, /, shift, *, axis=None):
    """Shift elements along ``axis`` (flattened if None), wrapping around."""
    _check(x, "roll")
    if isinstance(shift, tuple) != isinstance(axis, tuple) and axis is not None:
        raise ValueError("roll: shift and axis must both be integers or both be tuples")
    if isinstance(shift, tuple):
        shift = tuple(operator.index(s) for s in shift)
        if axis is None or len(shift) != len(axis):
            raise ValueError("roll: shift and axis tuples must have the same length")
        axis = tuple(check_axis(a, x.ndim) for a in axis)
    else:
        shift = operator.index(shift)
        if axis is not None:
            axis = check_axis(axis, x.ndim) if not isinstance(axis, tuple) else tuple(
                check_axis(a, x.ndim) for a in axis)
    return extern(_roll_np, (shift, axis), x.dtype, x.shape, (x,))


def _repeat_int_np(x, repeats, axis):
    return np.repeat(x, repeats, axis=axis)


def repeat(x, repeats, /, *, axis=None):
    """Repeat each element ``repeats`` times along ``axis`` (the flattened array if None).

    Note: with an array of counts the output size depends on their values: the counts are
    realized here (``x`` stays lazy), as the standard allows."""
    _check(x, "repeat")
    if axis is None:
        src = reshape(x, (-1,))
        ax = 0
    else:
        ax = check_axis(axis, x.ndim)
        src = x
    n = src.shape[ax]
    if isinstance(repeats, _array.Array):
        if repeats.dtype not in dt.CATEGORIES["integer"]:
            raise TypeError(f"repeat: repeats must have an integer dtype, got {repeats.dtype}")
        if repeats.ndim != 1 or repeats.shape[0] not in (1, n):
            raise ValueError(f"repeat: repeats of shape {repeats.shape} does not broadcast to ({n},)")
        counts = concrete(repeats)
        if (counts < 0).any():
            raise ValueError("repeat: repeats must be non-negative")
        total = int(counts.sum()) if counts.shape[0] == n else int(counts[0]) * n
        shape = src.shape[:ax] + (total,) + src.shape[ax + 1:]
        check_shape(shape, x.dtype)
        return extern(_repeat_int_np, (ax,), x.dtype, shape, (src, repeats))
    if isinstance(repeats, bool):
        raise TypeError("repeat: repeats must be an int or an integer array")
    repeats = operator.index(repeats)
    if repeats < 0:
        raise ValueError("repeat: repeats must be non-negative")
    shape = check_shape(src.shape[:ax] + (n * repeats,) + src.shape[ax + 1:], x.dtype)
    return extern(_repeat_int_np, (repeats, ax), x.dtype, shape, (src,))


def tile(x, repetitions, /):
    """Repeat the whole array ``repetitions[i]`` times along each dim: a broadcast view, reshaped."""
    _check(x, "tile")
    reps = tuple(operator.index(r) for r in repetitions)
    if any(r < 0 for r in reps):
        raise ValueError("tile: repetitions must be non-negative")
    d = max(x.ndim, len(reps))
    shape = (1,) * (d - x.ndim) + x.shape
    reps = (1,) * (d - len(reps)) + reps
    out = tuple(r * n for r, n in zip(reps, shape))
    check_shape(out, x.dtype)
    inter = tuple(v for n in shape for v in (1, n))
    wide = tuple(v for r, n in zip(reps, shape) for v in (r, n))
    return reshape(broadcast_to(reshape(x, inter), wide), out)


def moveaxis(x, source, destination, /):
    """Move axes ``source`` to positions ``destination`` (a permutation view)."""
    _check(x, "moveaxis")
    src = (source,) if not isinstance(source, tuple) else source
    dst = (destination,) if not isinstance(destination, tuple) else destination
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same number of elements")
    src = [check_axis(a, x.ndim, "source") for a in src]
    dst = [check_axis(a, x.ndim, "destination") for a in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError("moveaxis: repeated axis")
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute_dims(x, tuple(order))


def matrix_transpose(x, /):
    """Transpose the innermost two dimensions (``x.mT``)."""
    if type(x) is not _array.Array and _is_sparse(x):
        return _sparse_call("matrix_transpose", x)
    _check(x, "matrix_transpose")
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose requires at least two dimensions, got shape {x.shape}")
    return permute_dims(x, tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))


for _name in __all__:
    globals()[_name].__module__ = "arrayforge"
del _name
