"""Sparse arrays on a device (CUDA): where the structure lives, moving it, and the GPU
paths of the formats (CSR, CSC, COO).

A device sparse array holds its index buffers as :class:`DeviceIndex` objects (a read-only
device array inside a device leaf node, validated on the host before it was copied) and its
values as a device Array, so value-wise work (``abs(A) * 2``) fuses into CUDA kernels like
any dense chain.  Products (``A @ x``, ``A.T @ x``, ``A @ X``) and ``toarray()`` are
SPARSE_MATMUL nodes whose CUDA entry is ``lowering.kernels.sparse_cuda``; COO -> CSR and
CSR <-> CSC run as counting-sort kernels on the device.

Everything else has no GPU kernel yet, and says so: a DeviceIndex refuses to be read as a
NumPy array (``NotImplementedError`` naming the function and the device), so no host code
path can quietly copy a device structure back.
"""
import weakref

import numpy as np

from lowering import Op, buffer_node, make_node
from lowering.ir import ArrayMemo, device_buffer_node, device_name

from .._array import CPU, Array, as_device, device_of


def unsupported(device, what=None):
    from .._graph import public_name
    name = what or public_name()
    return NotImplementedError(
        f"{name} is not implemented for sparse arrays on device {device_name(device)} yet (it has no "
        "GPU kernel); move the array explicitly with A.to_device('cpu') and back with A.to_device('cuda')")


class DeviceIndex:
    """An index buffer (indptr, indices, coordinates) of a sparse structure on a device.

    ``len``, ``shape``, ``dtype`` and ``device`` work; reading it as a NumPy array (NumPy
    functions, indexing, methods) raises NotImplementedError: the host code that would do so
    has no GPU kernel.  ``plan`` caches the SpMV kernel choice of an indptr."""
    __slots__ = ("node", "_plan")

    def __init__(self, array, device, plan=None):
        self.node = device_buffer_node(array, device)
        self._plan = plan

    @property
    def array(self):
        return self.node.buffer

    @property
    def shape(self):
        return self.node.shape

    @property
    def dtype(self):
        return self.node.dtype

    @property
    def ndim(self):
        return len(self.node.shape)

    @property
    def size(self):
        return self.node.shape[0]

    @property
    def device(self):
        return device_of(self.node.device)

    def __len__(self):
        return self.node.shape[0]

    def copy(self):
        return self             # (read-only: sharing is a copy)

    def _refuse(self, *args, **kwargs):
        raise unsupported(self.node.device)

    __array__ = __getitem__ = __setitem__ = __iter__ = __index__ = __int__ = __float__ = _refuse

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise unsupported(self.node.device)

    def spmv_plan(self):
        """``(variant, lanes)`` of SpMV over the rows this indptr describes, chosen once from
        the row lengths (on the device for structures built there)."""
        if self._plan is None:
            from lowering.kernels import sparse_cuda
            m = self.shape[0] - 1
            if m <= 0:
                self._plan = ("rows", 1)
            else:
                ip = Array._new(self.node)
                from ..statistical import max as _max
                longest = int(_max(ip[1:] - ip[:-1]))
                nnz = int(ip[m])
                self._plan = sparse_cuda.spmv_plan_of(m, nnz, longest)
        return self._plan


# ---- where a sparse array lives


def device_key(x):
    """The IR device key of the sparse array ``x``'s structure (None: the host)."""
    for b in x._index_buffers():
        if isinstance(b, DeviceIndex):
            return b.node.device
    return None


def device(x):
    return device_of(device_key(x))


def index_node(a):
    """The graph leaf of an index buffer (a NumPy array or a DeviceIndex).  A read-only
    array (the sparse classes' frozen structure) is held as it is, not as a fresh view: the
    kernels then see the same array on every product (``lowering.kernels.sparse`` keeps
    per-structure work keyed on it)."""
    if isinstance(a, DeviceIndex):
        return a.node
    a = np.asarray(a)
    if a.flags.writeable:
        return buffer_node(a)
    ref = _INDEX_NODES.get(a)               # (one leaf per frozen buffer, while the leaf is used)
    node = ref() if ref is not None else None
    if node is None:
        node = buffer_node(a, own=True)
        _INDEX_NODES.put(a, weakref.ref(node))
    return node


_INDEX_NODES = ArrayMemo(1024)      # frozen index array -> weak reference to its leaf


def product_arg(arg, indptr):
    """The SPARSE_MATMUL ``arg`` of a product over the CSR buffers with ``indptr``: "n"/"t"
    on the host, ``(trans, variant, lanes)`` on a device (the kernel chosen per structure)."""
    if not isinstance(indptr, DeviceIndex):
        return arg
    return (arg,) + tuple(indptr.spmv_plan())


def realized_values(v):
    """The device array of the value vector ``v`` (computed now: pattern work needs values)."""
    v.compute()
    return v._node.buffer


def _to_host(a):
    from lowering import cuda_runtime
    from . import _structure as st
    return st.frozen(cuda_runtime.to_host(a.array, a.shape))


def _to_gpu(a, key, plan=None):
    from lowering import cuda_runtime
    return DeviceIndex(cuda_runtime.to_device(np.ascontiguousarray(a), key[1]), key, plan)


def to_device(x, device_arg):
    """``x`` (a sparse array) on ``device_arg``: itself if it is there, else an explicit copy
    of its structure and values."""
    target = as_device(device_arg)
    here = device_key(x)
    if target == here and x._data._node.device == target:
        return x
    if here is not None:            # device -> host (and on to another device, explicitly)
        host = _structure_to_host(x)
        return host if target is None else to_device(host, device_arg)
    if target is None:              # a host structure whose values were put on a device
        return x._with_data(x._data.to_device("cpu"))
    if x.format not in ("csr", "csc", "coo"):
        raise NotImplementedError(f"to_device: a {x.format}_array has no kernels for device "
                                  f"{device_name(target)} yet; convert it with .tocsr() (or .tocoo()) first")
    if x.format == "coo" and x.ndim != 2:
        raise NotImplementedError(f"to_device: only 2-D coo_arrays have kernels for device "
                                  f"{device_name(target)} yet")
    canonical = bool(x.has_canonical_format)
    data = x._data.to_device(device_arg)
    if x.format == "coo":
        return type(x)._new(tuple(_to_gpu(c, target) for c in x._coords), data, x._shape, canonical)
    from lowering.kernels import sparse_cuda
    indptr = _to_gpu(x._indptr, target, sparse_cuda.spmv_plan(x._indptr))
    return type(x)._new(indptr, _to_gpu(x._indices, target), data, x._shape, canonical)


def _structure_to_host(x):
    data = x._data.to_device("cpu")
    if x.format == "coo":
        return type(x)._new(tuple(_to_host(c) for c in x._coords), data, x._shape, x._canonical)
    return type(x)._new(_to_host(x._indptr), _to_host(x._indices), data, x._shape, x._canonical)


def place(x, device_arg):
    """Put the just-constructed sparse array ``x`` on ``device_arg`` (constructors'
    ``device=``; default: where its values are, so values given on a GPU take the validated
    host index arrays there)."""
    if device_arg is None:
        device_arg = device_of(x._data._node.device)
    other = to_device(x, device_arg)
    if other is not x:
        x.__dict__.clear()
        x.__dict__.update(other.__dict__)


def check_host_structure(x, name):
    """NotImplementedError when ``x`` lives on a device (for host-only conversions)."""
    key = device_key(x)
    if key is not None:
        raise unsupported(key, name)


# ---- the GPU paths of the formats


def todense(x):
    """``toarray()`` of a device CSR/CSC: one scatter kernel (a SPARSE_MATMUL node with
    arg ``("dense", major, unique)``), lazy like any node."""
    from .._graph import bounded
    unique = bool(x._canonical)
    inputs = (x._indptr.node, x._indices.node, x._data._node)
    node = make_node(Op.SPARSE_MATMUL, x.dtype, tuple(x._shape), inputs, ("dense", x._major, unique))
    return Array._new(bounded(node))


def compressed_tocoo(x):
    """CSR/CSC -> COO on the device: the major index of each entry is expanded by a kernel;
    the values stay as they are (lazy)."""
    from lowering.kernels import sparse_cuda
    from ._coo import coo_array
    key = device_key(x)
    major = DeviceIndex(sparse_cuda.expand_indptr(x._indptr.array, x._nnz(), x._indices.dtype), key)
    coords = (major, x._indices) if x._major == 0 else (x._indices, major)
    return coo_array._new(coords, x._data, x._shape, canonical=bool(x._major == 0 and x._canonical))


def coo_tocompressed(x, cls, major_axis):
    """COO -> CSR (``major_axis`` 0) or CSC (1) on the device: a counting sort by the major
    index, each row sorted by (minor, original position), duplicates summed in that order
    (deterministic).  Computes the values first."""
    from lowering.kernels import sparse_cuda
    from . import _structure as st
    x._need_2d(cls.format)
    key = device_key(x)
    major, minor = x._coords[major_axis], x._coords[1 - major_axis]
    n_major, n_minor = x._shape[major_axis], x._shape[1 - major_axis]
    idt = st.index_dtype(max(x._shape), x._nnz())
    indptr, indices, data = sparse_cuda.coo_to_compressed(
        major.array, minor.array, realized_values(x._data), n_major, idt)
    return cls._new(DeviceIndex(indptr, key), DeviceIndex(indices, key),
                    Array._new(device_buffer_node(data, key)), x._shape, True)


def compressed_other(x, cls):
    """CSR <-> CSC on the device (a counting sort of the entries by minor index; each output
    row keeps the old major order).  Computes the values first."""
    from lowering.kernels import sparse_cuda
    from . import _structure as st
    key = device_key(x)
    n_minor = x._shape[1 - x._major]
    idt = st.index_dtype(max(x._shape), x._nnz())
    indptr, indices, data = sparse_cuda.transpose(x._indptr.array, x._indices.array,
                                                  realized_values(x._data), n_minor, idt)
    return cls._new(DeviceIndex(indptr, key), DeviceIndex(indices, key),
                    Array._new(device_buffer_node(data, key)), x._shape, True if x._canonical else False)
