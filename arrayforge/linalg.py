"""Matrix products.

Note: until the CONTRACT node lands (contractions issue), matmul/tensordot/vecdot are
EXTERN nodes that call NumPy's BLAS-backed routines: correct, validated at record
time, but a fusion barrier.
"""
import numpy as np

from lowering import Op

from . import _dtypes as dt
from ._graph import broadcast_shapes, record
from . import _array  # noqa: E402  (circular at import time; used at call time)

__all__ = ["matmul", "tensordot", "vecdot"]


def _matmul_np(a, b):
    return np.matmul(a, b)


def _tensordot_np(a, b, axes):
    return np.tensordot(a, b, axes=axes)


def _vecdot_np(a, b, axis):
    return np.vecdot(a, b, axis=axis)


def _check(x1, x2, name):
    if not isinstance(x1, _array.Array) or not isinstance(x2, _array.Array):
        raise TypeError(f"{name} expects two arrayforge arrays")
    dtype = dt.promote(x1.dtype, x2.dtype)
    if dtype not in dt._numeric:
        raise TypeError(f"{name} is only defined for numeric dtypes, got {dtype}")
    return dtype


def matmul(x1, x2, /):
    """Matrix product with batch broadcasting and the standard's 1-D rules."""
    dtype = _check(x1, x2, "matmul")
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError("matmul: operands must be at least 1-dimensional")
    k1 = x1.shape[-1]
    k2 = x2.shape[0] if x2.ndim == 1 else x2.shape[-2]
    if k1 != k2:
        raise ValueError(f"matmul: contracted dimensions differ: {x1.shape} @ {x2.shape} ({k1} != {k2})")
    s1 = x1.shape if x1.ndim > 1 else (1,) + x1.shape
    s2 = x2.shape if x2.ndim > 1 else x2.shape + (1,)
    batch = broadcast_shapes(s1[:-2], s2[:-2])
    shape = batch + (s1[-2], s2[-1])
    if x1.ndim == 1:
        shape = shape[:-2] + shape[-1:]
    if x2.ndim == 1:
        shape = shape[:-1]
    from ._graph import cast
    return record(Op.EXTERN, dtype, shape, (cast(x1._node, dtype), cast(x2._node, dtype)), (_matmul_np, ()))


def tensordot(x1, x2, /, *, axes=2):
    dtype = _check(x1, x2, "tensordot")
    if isinstance(axes, int):
        if axes < 0 or axes > min(x1.ndim, x2.ndim):
            raise ValueError(f"tensordot: axes={axes} is out of range for shapes {x1.shape} and {x2.shape}")
        a1, a2 = list(range(x1.ndim - axes, x1.ndim)), list(range(axes))
    else:
        a1, a2 = [list(a) if not isinstance(a, int) else [a] for a in axes]
        if len(a1) != len(a2):
            raise ValueError("tensordot: axes sequences must have equal length")
        a1 = [a % x1.ndim for a in a1]
        a2 = [a % x2.ndim for a in a2]
        if len(set(a1)) != len(a1) or len(set(a2)) != len(a2):
            raise ValueError("tensordot: repeated axis")
    for i, j in zip(a1, a2):
        if x1.shape[i] != x2.shape[j]:
            raise ValueError(f"tensordot: shape mismatch on contracted axes: {x1.shape[i]} != {x2.shape[j]}")
    shape = tuple(n for d, n in enumerate(x1.shape) if d not in a1) + \
        tuple(n for d, n in enumerate(x2.shape) if d not in a2)
    from ._graph import cast
    return record(Op.EXTERN, dtype, shape, (cast(x1._node, dtype), cast(x2._node, dtype)),
                  (_tensordot_np, ((tuple(a1), tuple(a2)),)))


def vecdot(x1, x2, /, *, axis=-1):
    dtype = _check(x1, x2, "vecdot")
    n = max(x1.ndim, x2.ndim)
    if not -min(x1.ndim, x2.ndim) <= axis < min(x1.ndim, x2.ndim) or x1.shape[axis] != x2.shape[axis]:
        raise ValueError(f"vecdot: axis {axis} does not match for shapes {x1.shape} and {x2.shape}")
    shape = broadcast_shapes(x1.shape, x2.shape)
    out = shape[:axis % n] + shape[axis % n + 1:]
    from ._graph import cast
    return record(Op.EXTERN, dtype, out, (cast(x1._node, dtype), cast(x2._node, dtype)), (_vecdot_np, (axis,)))


for _name in __all__:
    globals()[_name].__module__ = "arrayforge"
