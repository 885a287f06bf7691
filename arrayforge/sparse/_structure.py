"""Shared pieces of the formats: validating index buffers, value vectors, and the lazy
gathers and scatters that move values between structures.

An index buffer is a realized, read-only, contiguous NumPy array of int32 or int64
(int32 when every index value and nnz fit, as SciPy does).  A value vector is an ordinary
arrayforge Array: the gathers and scatters here are EXTERN nodes that read it lazily, so
the work on values stays in the recorded graph.
"""
import operator

import numpy as np

from lowering import buffer_node
from lowering.kernels import sparse as kernels

from .. import _dtypes as dt
from .._array import Array
from .._graph import extern
from ._device import DeviceIndex, index_node, unsupported

index_dtype = kernels.index_dtype

# the value dtypes a sparse array holds: arrayforge's (SciPy's, without float16/longdouble)
VALUE_DTYPES = frozenset(dt.CATEGORIES["all"])


def frozen(a, dtype=None):
    """``a`` as a read-only contiguous NumPy array (a view when no copy is needed)."""
    if isinstance(a, DeviceIndex):
        return a                # (validated and read-only already; dtype chosen on the host)
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.flags.writeable:
        a = a.view()
        a.setflags(write=False)
    return a


def to_numpy(x):
    """The realized NumPy value of an index-like argument (arrayforge Array, NumPy, list)."""
    return np.asarray(x)        # an Array is realized by its __array__


def index_buffer(x, name, length=None):
    """A 1-D integer index argument as a NumPy array (TypeError/ValueError naming ``name``)."""
    a = to_numpy(x)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {a.shape}")
    if a.dtype.kind not in "iu":
        if a.size == 0:
            a = a.astype(np.int64)
        else:
            raise TypeError(f"{name} must have an integer dtype, got {a.dtype}")
    if length is not None and len(a) != length:
        raise ValueError(f"{name} has {len(a)} entries, expected {length}")
    return a


def check_range(a, n, name, axis):
    """IndexError unless every value of ``a`` is in ``[0, n)``."""
    if len(a):
        lo, hi = a.min(), a.max()
        if lo < 0:
            raise IndexError(f"negative {name} index {int(lo)} (axis {axis})")
        if hi >= n:
            raise IndexError(f"{name} index {int(hi)} is out of bounds for axis {axis} with size {n}")


def narrow(a, max_value, nnz):
    """``a`` in the index dtype for ``max_value``/``nnz`` (int32 when they fit), read-only."""
    return frozen(a, index_dtype(max_value, nnz))


def check_indptr(indptr, n_major, nnz, name="indptr"):
    """ValueError unless ``indptr`` has ``n_major + 1`` non-decreasing entries from 0 to nnz."""
    if len(indptr) != n_major + 1:
        raise ValueError(f"{name} has {len(indptr)} entries; a structure with {n_major} major "
                         f"rows needs {n_major + 1}")
    if indptr[0] != 0:
        raise ValueError(f"{name}[0] must be 0, got {int(indptr[0])}")
    if indptr[-1] != nnz:
        raise ValueError(f"{name}[-1] is {int(indptr[-1])} but there are {nnz} indices and values")
    if n_major and (np.diff(indptr) < 0).any():
        raise ValueError(f"{name} must be non-decreasing")


def check_index_dtype(a, nnz, name):
    """ValueError if ``a``'s integer dtype cannot hold nnz (e.g. int8 indices with nnz 300)."""
    if a.dtype.kind in "iu" and nnz > np.iinfo(a.dtype).max:
        raise ValueError(f"{name} dtype {a.dtype} cannot hold nnz={nnz}")


def check_shape(shape, ndim=None, name="shape"):
    """A shape argument as a tuple of non-negative ints."""
    try:
        shape = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of integers, got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"negative dimensions are not allowed: {shape}")
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"this format is {ndim}-dimensional; {name} {shape} has {len(shape)} dimensions")
    return shape


def value_dtype(dtype):
    """``dtype`` checked as a value dtype of a sparse array."""
    dtype = np.dtype(dtype)
    if dtype not in VALUE_DTYPES:
        raise TypeError(f"sparse arrays hold bool, integer, float32/64 or complex64/128 values, not {dtype}")
    return dtype


def values(x, dtype=None, copy=False, name="data", length=None):
    """A value argument (arrayforge Array, NumPy array, list) as a 1-D... N-D arrayforge Array."""
    from ..creation import asarray
    from ..manipulation import astype
    if isinstance(x, Array):
        a = x
    else:
        n = np.asarray(x)
        if n.dtype.kind not in "biufc":
            raise TypeError(f"{name} must be numeric, got dtype {n.dtype}")
        if n.dtype == np.float16:
            n = n.astype(np.float32)
        value_dtype(n.dtype)
        a = asarray(n, copy=None if copy else False)
    value_dtype(a.dtype)
    if dtype is not None:
        dtype = value_dtype(dtype)
        if dtype != a.dtype:
            a = astype(a, dtype)
    if length is not None and (a.ndim < 1 or a.shape[0] != length):
        raise ValueError(f"{name} has {a.shape[0] if a.ndim else 0} entries but there are {length} indices")
    return a


def leaf(a):
    """A realized NumPy array (or DeviceIndex) as an arrayforge Array (no copy)."""
    return Array._new(index_node(a))


# ---- lazy value movement (EXTERN nodes whose NumPy work runs when the plan runs)


def _gather_np(v, pos):
    return v[pos]


def _gather_or_zero_np(v, pos):
    out = np.zeros(len(pos), v.dtype)
    hit = pos >= 0
    out[hit] = v[pos[hit]]
    return out


def gather(v, pos):
    """``v[pos]`` along the first axis, lazily; positions ``-1`` give 0 (absent entries)."""
    pos = np.asarray(pos)
    if len(pos) == v.shape[0] and (len(pos) == 0 or (pos[0] == 0 and pos[-1] == len(pos) - 1
                                                    and (np.diff(pos) == 1).all())):
        return v      # the identity
    fn = _gather_or_zero_np if len(pos) and pos.min() < 0 else _gather_np
    return extern(fn, (), v.dtype, (len(pos),) + v.shape[1:], (v, buffer_node(frozen(pos))))


def _take_dense_np_2(d, i, j, shape):
    return np.broadcast_to(d, shape)[i, j]


def take_dense(d, shape, coords):
    """The entries of the dense Array ``d`` (broadcast to ``shape``) at ``coords``, lazily."""
    coords = [buffer_node(frozen(c)) for c in coords]
    if len(coords) == 2:
        return extern(_take_dense_np_2, (tuple(shape),), d.dtype, (len(coords[0].buffer),), (d, *coords))
    return extern(_take_dense_np_nd, (tuple(shape), len(coords)), d.dtype,
                  (len(coords[0].buffer),), (d, *coords))


def _take_dense_np_nd(d, *args):
    *coords, shape, _ = args
    return np.broadcast_to(d, shape)[tuple(coords)]


def _scatter_np(v, *args):
    *coords, shape, unique = args
    out = np.zeros(shape, v.dtype)
    if unique:
        out[tuple(coords)] = v          # one store per entry (no duplicates to add up)
    else:
        np.add.at(out, tuple(coords), v)
    return out


def scatter(v, coords, shape, unique=False):
    """A dense Array of ``shape`` holding ``v`` at ``coords`` (duplicates summed unless the
    caller knows there are none: ``unique``), lazily."""
    nodes = [buffer_node(frozen(c)) for c in coords]
    return extern(_scatter_np, (tuple(shape), bool(unique)), v.dtype, tuple(shape), (v, *nodes))


def _sum_at_np(v, pos):
    return v[pos].sum(dtype=v.dtype) if len(pos) else np.zeros((), v.dtype)


def sum_at(v, pos):
    """The 0-d sum of ``v[pos]`` (0 when ``pos`` is empty), lazily."""
    return extern(_sum_at_np, (), v.dtype, (), (v, buffer_node(frozen(np.asarray(pos, np.int64)))))


def is_realized(v):
    """Has the value vector ``v`` been computed (so moving it costs no laziness)?"""
    return v._node.buffer is not None


def permuted(kernel, v, *args):
    """Run a structure ``kernel(*args, values)`` that permutes values, keeping ``v`` lazy:
    a realized ``v`` goes through the kernel itself; a lazy one is replaced by the positions
    ``arange(nnz)``, and the values become a lazy gather of the permutation.  Returns the
    kernel's outputs with its last one (the values) replaced by an Array."""
    if is_realized(v):
        *structure, out = kernel(*args, realized(v))
        return (*structure, values(out))
    *structure, perm = kernel(*args, np.arange(v.shape[0], dtype=np.int64))
    return (*structure, gather(v, perm))


def realized(v):
    """The NumPy value of an Array (realizes it; pattern-changing work needs values).  A
    device Array raises (host pattern work has no GPU kernel: never a silent round trip)."""
    if v._node.device is not None:
        raise unsupported(v._node.device)
    return np.asarray(v)


class IndexPointerFormat:
    """The attributes of the formats with an index pointer (CSR, CSC, BSR; a mixin before
    SparseArray): ``data`` (the values) and ``indices``/``indptr`` (the index buffers as
    read-only arrayforge arrays)."""

    @property
    def data(self):
        return self._data

    @property
    def indices(self):
        return leaf(self._indices)

    @property
    def indptr(self):
        return leaf(self._indptr)
