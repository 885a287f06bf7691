"""Shape manipulation: every function here is a view (an index map), never a copy."""
import operator

from lowering import Op

from . import _dtypes as dt
from ._graph import broadcast_shapes, cast, check_shape, expand, normalize_axis, reshape_node, view
from . import _array  # noqa: E402  (circular at import time; used at call time)

__all__ = ["reshape", "permute_dims", "broadcast_to", "expand_dims", "squeeze", "astype", "broadcast_shapes"]


def reshape(x, /, shape, *, copy=None):
    """Reshape without copying (values are immutable, so ``copy`` never matters)."""
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
    axes = tuple(operator.index(a) for a in axes)
    if sorted(a % x.ndim if x.ndim else a for a in axes) != list(range(x.ndim)) or len(axes) != x.ndim:
        raise ValueError(f"axes {axes} is not a permutation of the {x.ndim} dimensions")
    axes = tuple(a % x.ndim for a in axes)
    if axes == tuple(range(x.ndim)):
        return x
    return _array.Array._new(view(Op.PERMUTE, x._node, tuple(x.shape[a] for a in axes), axes))


def broadcast_to(x, /, shape):
    shape = check_shape(shape, x.dtype)
    if len(shape) < x.ndim or broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"cannot broadcast array of shape {x.shape} to shape {shape}")
    return _array.Array._new(expand(x._node, shape))


def expand_dims(x, /, axis=0):
    nd = x.ndim + 1
    a = operator.index(axis)
    if not -nd <= a < nd:
        import numpy as np
        raise np.exceptions.AxisError(f"axis {axis} is out of bounds for array of dimension {nd}")
    a %= nd
    return _array.Array._new(reshape_node(x._node, x.shape[:a] + (1,) + x.shape[a:]))


def squeeze(x, /, axis):
    axes = normalize_axis(axis, x.ndim)
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"cannot squeeze axis {a}: its size is {x.shape[a]}, not 1")
    return _array.Array._new(reshape_node(x._node, tuple(n for d, n in enumerate(x.shape) if d not in axes)))


def astype(x, dtype, /, *, copy=True, device=None):
    """Cast to ``dtype`` (recorded; fuses with neighbours)."""
    dtype = dt.check_dtype(dtype)
    if x.dtype.kind == "c" and dtype.kind not in "cb":
        raise TypeError(f"casting {x.dtype} to {dtype} would discard the imaginary part")
    return _array.Array._new(cast(x._node, dtype))


for _name in __all__:
    globals()[_name].__module__ = "arrayforge"
del _name
