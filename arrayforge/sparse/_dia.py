"""DIA: stored diagonals, the format for banded matrices.  ``data[k, j]`` holds
``A[j - offsets[k], j]`` (SciPy's layout); the value block is a lazy 2-D Array."""
import numpy as np

from lowering.kernels import sparse as kernels

from ._base import SparseArray
from . import _structure as st


class dia_array(SparseArray):
    """DIAgonal sparse array: ``dia_array((data, offsets), shape=(M, N))``.

    Other constructor forms as ``scipy.sparse.dia_array``: a dense or sparse array, and
    ``(M, N)`` (empty).  Offsets must be distinct integers.

    >>> dia_array(([[1, 2, 3], [4, 5, 6]], [0, 1]), shape=(3, 3)).toarray()
    """
    format = "dia"

    def __init__(self, arg1, shape=None, dtype=None, copy=False, *, maxprint=None):
        if isinstance(arg1, tuple) and len(arg1) == 2 and not all(isinstance(a, (int, np.integer))
                                                                  for a in arg1):
            self._from_diagonals(arg1[0], arg1[1], shape, dtype, copy)
            return
        from ._convert import parse_arguments
        form, parts = parse_arguments(arg1, shape, "dia")
        if form == "empty":
            self._set(st.frozen(np.zeros(0, np.int32)),
                      st.values(np.zeros((0, 0), dtype if dtype is not None else np.float64)), parts)
            return
        from ._compressed import csr_array
        if form == "sparse":
            src = parts if parts.format == "dia" else dia_array._from_csr(parts.tocsr())
        elif form == "compressed":
            raise ValueError("dia_array takes (data, offsets), not (data, indices, indptr)")
        else:
            src = dia_array._from_csr(csr_array(parts, shape=shape))
        if dtype is not None:
            src = src.astype(dtype, copy=False)
        self._set(src._offsets, src._data, src._shape)

    def _from_diagonals(self, data, offsets, shape, dtype, copy):
        if shape is None:
            raise ValueError("dia_array((data, offsets)) needs shape=")
        shape = st.check_shape(shape, 2)
        data = st.values(data, dtype, copy)
        if data.ndim == 1:
            from ..manipulation import reshape
            data = reshape(data, (1, data.shape[0]))
        if data.ndim != 2:
            raise ValueError(f"DIA data must be 2-dimensional, got shape {data.shape}")
        offsets = np.atleast_1d(st.to_numpy(offsets))
        if offsets.ndim != 1 or (offsets.dtype.kind not in "iu" and len(offsets)):
            raise ValueError("offsets must be a 1-D array of integers")
        if len(offsets) != data.shape[0]:
            raise ValueError(f"there are {len(offsets)} offsets but {data.shape[0]} diagonals in data")
        if len(np.unique(offsets)) != len(offsets):
            raise ValueError("offset array contains duplicate values")
        self._set(st.frozen(offsets, st.index_dtype(max(shape), 0)), data, shape)

    def _set(self, offsets, data, shape):
        self._offsets, self._data, self._shape = offsets, data, tuple(shape)

    @classmethod
    def _new(cls, offsets, data, shape):
        self = object.__new__(cls)
        self._set(st.frozen(offsets), data, shape)
        return self

    @classmethod
    def _from_csr(cls, csr):
        offsets, data = kernels.to_dia(csr._indptr, csr._indices, st.realized(csr._data), csr.shape)
        return cls._new(offsets, st.values(data), csr.shape)

    @property
    def data(self):
        return self._data

    @property
    def offsets(self):
        return st.leaf(self._offsets)

    def _inside(self):
        """Mask (n_diagonals, L) of the stored positions that lie inside the matrix."""
        m, n = self._shape
        L = self._data.shape[1]
        j = np.arange(L, dtype=np.int64)
        rows = j[None, :] - self._offsets.astype(np.int64)[:, None]
        return (rows >= 0) & (rows < m) & (j[None, :] < n)

    def _nnz(self):
        return int(self._inside().sum())

    def _with_data(self, data, copy=False):
        if copy:
            from ..creation import asarray
            data = asarray(data, copy=True)
        return dia_array._new(self._offsets, data, self._shape)

    def copy(self):
        return self._with_data(self._data, copy=True)

    def tocoo(self, copy=False):
        """The stored positions inside the matrix, diagonal by diagonal (values lazy;
        explicit zeros kept)."""
        from ._coo import coo_array
        from .._graph import reshape_node
        from .._array import Array
        inside = self._inside()
        nd, L = self._data.shape
        j = np.broadcast_to(np.arange(L, dtype=np.int64), (nd, L))
        rows = j - self._offsets.astype(np.int64)[:, None]
        pos = np.flatnonzero(inside.reshape(-1))
        idt = st.index_dtype(max(self._shape), len(pos))
        flat = Array._new(reshape_node(self._data._node, (nd * L,)))
        return coo_array._new((rows.reshape(-1)[pos].astype(idt), j.reshape(-1)[pos].astype(idt)),
                              st.gather(flat, pos), self._shape, None)

    def tocsr(self, copy=False):
        """Every stored position inside the matrix (explicit zeros kept: the values are lazy),
        sorted by column within each row; the values a lazy gather of the diagonals."""
        from ._compressed import csr_array
        from .._graph import reshape_node
        from .._array import Array
        nd, L = self._data.shape
        perm = np.arange(nd * L, dtype=np.int64).reshape(nd, L)
        indptr, indices, perm = kernels.dia_to_csr(self._offsets, perm, self._shape, keep_zeros=True)
        flat = Array._new(reshape_node(self._data._node, (nd * L,)))
        return csr_array._new(indptr, indices, st.gather(flat, perm), self._shape, True)

    def todia(self, copy=False):
        return self.copy() if copy else self

    def toarray(self, order=None, out=None):
        return self.tocoo().toarray(order, out)

    def _to_scipy(self):
        import scipy.sparse
        return scipy.sparse.dia_array((st.realized(self._data), self._offsets), shape=self._shape)
