"""BSR: a CSR structure over dense ``(R, C)`` blocks, the format for block-structured
matrices (finite elements, multi-component PDEs).  The value vector is a lazy
``(nnz_blocks, R, C)`` Array."""
import numpy as np

from lowering.kernels import sparse as kernels

from ._base import SparseArray
from . import _structure as st


class bsr_array(st.IndexPointerFormat, SparseArray):
    """Block Sparse Row array.

    Constructor forms as ``scipy.sparse.bsr_array``: a dense or sparse array (with
    ``blocksize=``), ``(M, N)`` (empty), ``(data, (row, col))`` and
    ``(data, indices, indptr)`` with ``data`` of shape ``(nnz_blocks, R, C)``.
    The block size must divide the shape (ValueError otherwise).

    >>> B = bsr_array(A, blocksize=(2, 2))
    """
    format = "bsr"

    def __init__(self, arg1, shape=None, dtype=None, copy=False, blocksize=None, *, maxprint=None):
        from ._convert import parse_arguments
        form, parts = parse_arguments(arg1, shape, "bsr")
        if form == "compressed":
            data, indices, indptr, shape = parts
            self._from_blocks(data, indices, indptr, shape, blocksize, dtype, copy)
            return
        if form == "empty":
            shape = parts
            R, C = _check_blocksize(blocksize or (1, 1), shape)
            idt = st.index_dtype(max(shape))
            data = st.values(np.zeros((0, R, C), dtype if dtype is not None else np.float64))
            self._set(st.frozen(np.zeros(shape[0] // R + 1, idt)), st.frozen(np.zeros(0, idt)), data,
                      shape, (R, C))
            return
        from ._compressed import csr_array
        if form == "sparse":
            src = parts.tocsr()
            if parts.format == "bsr" and blocksize in (None, parts.blocksize):
                src = parts
        elif form == "coo":
            src = csr_array(parts[:2], shape=parts[2])
        else:
            src = csr_array(parts, shape=shape)
        if src.format != "bsr":
            src = bsr_array._from_csr(src, blocksize)
        if dtype is not None:
            src = src.astype(dtype, copy=False)
        self._set(src._indptr, src._indices, src._data, src._shape, src._blocksize)

    def _from_blocks(self, data, indices, indptr, shape, blocksize, dtype, copy):
        data = st.values(data, dtype, copy)
        if data.ndim != 3:
            raise ValueError(f"BSR data must be 3-dimensional (nnz_blocks, R, C), got shape {data.shape}")
        R, C = data.shape[1:]
        if blocksize is not None and tuple(blocksize) != (R, C):
            raise ValueError(f"blocksize {tuple(blocksize)} differs from the data's blocks {(R, C)}")
        indices = st.index_buffer(indices, "indices")
        indptr = st.index_buffer(indptr, "indptr")
        nnzb = len(indices)
        if data.shape[0] != nnzb:
            raise ValueError(f"data has {data.shape[0]} blocks but there are {nnzb} block indices")
        if shape is None:
            shape = ((len(indptr) - 1) * R, (int(indices.max()) + 1 if nnzb else 0) * C)
        shape = st.check_shape(shape, 2)
        _check_blocksize((R, C), shape)
        st.check_indptr(indptr, shape[0] // R, nnzb)
        st.check_range(indices, shape[1] // C, "block column", 1)
        idt = st.index_dtype(max(shape), nnzb)
        self._set(st.frozen(indptr, idt), st.frozen(indices, idt), data, shape, (R, C))

    def _set(self, indptr, indices, data, shape, blocksize):
        self._indptr, self._indices, self._data = indptr, indices, data
        self._shape, self._blocksize = tuple(shape), tuple(blocksize)

    @classmethod
    def _new(cls, indptr, indices, data, shape, blocksize):
        self = object.__new__(cls)
        self._set(st.frozen(indptr), st.frozen(indices), data, shape, blocksize)
        return self

    @classmethod
    def _from_csr(cls, csr, blocksize):
        R, C = _check_blocksize(blocksize or (1, 1), csr.shape)
        indptr, indices, data = kernels.to_bsr(csr._indptr, csr._indices, st.realized(csr._data),
                                               csr.shape, (R, C))
        return cls._new(indptr, indices, st.values(data), csr.shape, (R, C))

    @property
    def blocksize(self):
        return self._blocksize

    def _nnz(self):
        R, C = self._blocksize
        return len(self._indices) * R * C

    def _with_data(self, data, copy=False):
        if copy:
            from ..creation import asarray
            data = asarray(data, copy=True)
        return bsr_array._new(self._indptr, self._indices, data, self._shape, self._blocksize)

    def copy(self):
        return self._with_data(self._data, copy=True)

    def tocsr(self, copy=False):
        """Every entry of every block becomes a CSR entry (explicit zeros kept, as SciPy);
        the values are a lazy permutation of the blocks."""
        from ._compressed import csr_array
        from .._graph import reshape_node
        from .._array import Array
        perm = np.arange(self._nnz(), dtype=np.int64).reshape((len(self._indices),) + self._blocksize)
        indptr, indices, perm = kernels.bsr_to_csr(self._indptr, self._indices, perm, self._shape)
        flat = Array._new(reshape_node(self._data._node, (self._nnz(),)))
        return csr_array._new(indptr, indices, st.gather(flat, perm), self._shape, None)

    def tobsr(self, blocksize=None, copy=False):
        if blocksize is None or tuple(blocksize) == self._blocksize:
            return self.copy() if copy else self
        return bsr_array._from_csr(self.tocsr(), blocksize)

    def toarray(self, order=None, out=None):
        return self.tocsr().toarray(order, out)

    def transpose(self, axes=None, copy=False):
        return self.tocsr().transpose().tobsr(blocksize=self._blocksize[::-1])

    def _to_scipy(self):
        import scipy.sparse
        return scipy.sparse.bsr_array((st.realized(self._data), self._indices, self._indptr),
                                      shape=self._shape, blocksize=self._blocksize)


def _check_blocksize(blocksize, shape):
    try:
        R, C = (int(b) for b in blocksize)
    except (TypeError, ValueError):
        raise ValueError(f"blocksize must be a pair of integers, got {blocksize!r}") from None
    if R < 1 or C < 1:
        raise ValueError(f"blocksize must be positive, got {(R, C)}")
    if shape[0] % R or shape[1] % C:
        raise ValueError(f"blocksize {(R, C)} does not divide the shape {tuple(shape)}")
    return R, C
