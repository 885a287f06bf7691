"""CSR and CSC: one compressed structure ``(indptr, indices, data)`` over a major axis
(rows for CSR, columns for CSC).  The two classes differ only in which axis is major, so
``A.T`` of one is the other over the same buffers (nothing is copied or transposed), and
the methods here are written once in major/minor terms."""
import numpy as np

from lowering.kernels import sparse as kernels

from ._base import SparseArray
from . import _device, _structure as st


class _CompressedArray(st.IndexPointerFormat, SparseArray):
    _major = 0      # the compressed axis: 0 for CSR (rows), 1 for CSC (columns)

    def __init__(self, arg1, shape=None, dtype=None, copy=False, *, maxprint=None, device=None):
        from ._device import place
        self._init(arg1, shape, dtype, copy)
        place(self, device)

    def _init(self, arg1, shape, dtype, copy):
        from ._convert import parse_arguments
        form, parts = parse_arguments(arg1, shape, self.format)
        if form == "sparse":
            other = parts.asformat(self.format)
            if dtype is not None:
                other = other.astype(dtype, copy=False)
            self._become_parts(other, copy)
            return
        if form == "empty":
            shape = parts
            n_major = shape[self._major]
            idt = st.index_dtype(max(shape, default=0))
            self._set(st.frozen(np.zeros(n_major + 1, idt)), st.frozen(np.zeros(0, idt)),
                      st.values(np.zeros(0, dtype if dtype is not None else np.float64)), shape, True)
            return
        if form == "compressed":
            data, indices, indptr, shape = parts
            self._from_compressed(data, indices, indptr, shape, dtype, copy)
            return
        if form == "coo":
            from ._coo import coo_array
            coo = coo_array(parts[:2], shape=parts[2], dtype=dtype, copy=copy)
            self._become_parts(coo.asformat(self.format), False)
            return
        # form == "dense": the stored entries are the nonzero values
        from ._coo import coo_array
        coo = coo_array(parts, shape=shape, dtype=dtype)
        if coo.ndim != 2:
            raise ValueError(f"{self.format}_array needs a 2-D input, got shape {coo.shape}")
        self._become_parts(coo.asformat(self.format), False)

    # ---- construction
    def _from_compressed(self, data, indices, indptr, shape, dtype, copy):
        indices = st.index_buffer(indices, "indices")
        indptr = st.index_buffer(indptr, "indptr")
        nnz = len(indices)
        if shape is None:
            n_major = len(indptr) - 1
            if n_major < 0:
                raise ValueError("indptr must have at least one entry")
            n_minor = int(indices.max()) + 1 if nnz else 0
            shape = (n_major, n_minor) if self._major == 0 else (n_minor, n_major)
        shape = st.check_shape(shape, 2)
        n_major, n_minor = shape[self._major], shape[1 - self._major]
        st.check_index_dtype(indices, nnz, "indices")
        st.check_index_dtype(indptr, nnz, "indptr")
        data = st.values(data, dtype, copy, length=nnz)
        if data.ndim != 1:
            raise ValueError(f"data must be 1-dimensional, got shape {data.shape}")
        st.check_indptr(indptr, n_major, nnz)
        st.check_range(indices, n_minor, "column" if self._major == 0 else "row", 1 - self._major)
        idt = st.index_dtype(max(shape), nnz)
        if copy:
            indices, indptr = indices.copy(), indptr.copy()
        self._set(st.frozen(indptr, idt), st.frozen(indices, idt), data, shape, None)

    def _set(self, indptr, indices, data, shape, canonical):
        self._indptr, self._indices, self._data = indptr, indices, data
        self._shape = shape
        self._canonical = canonical

    def _become_parts(self, other, copy):
        self._set(other._indptr.copy() if copy else other._indptr,
                  other._indices.copy() if copy else other._indices,
                  other._data, other._shape, other._canonical)

    @classmethod
    def _new(cls, indptr, indices, data, shape, canonical=None):
        """A trusted structure (already validated, right dtypes)."""
        self = object.__new__(cls)
        self._set(st.frozen(indptr), st.frozen(indices), data, tuple(shape), canonical)
        return self

    # ---- attributes
    def _nnz(self):
        return len(self._indices)

    def _index_buffers(self):
        return (self._indptr, self._indices)

    @property
    def has_canonical_format(self):
        """Indices sorted within each row (column for CSC) and no duplicates."""
        if self._canonical is None and isinstance(self._indices, _device.DeviceIndex):
            return False            # (a device structure of unknown order: treated as not canonical)
        if self._canonical is None:
            self._canonical = kernels.has_canonical_format(self._indptr, self._indices)
        return self._canonical

    @property
    def has_sorted_indices(self):
        return self._canonical or kernels.has_sorted_indices(self._indptr, self._indices)

    def _n_major_minor(self):
        return self._shape[self._major], self._shape[1 - self._major]

    # ---- value-wise
    def _with_data(self, data, copy=False):
        if copy:
            from ..creation import asarray
            data = asarray(data, copy=True)
        return type(self)._new(self._indptr, self._indices, data, self._shape, self._canonical)

    # ---- conversions
    def _major_minor_coords(self):
        return kernels.expand_indptr(self._indptr), self._indices

    def tocoo(self, copy=False):
        from ._coo import coo_array
        if isinstance(self._indices, _device.DeviceIndex):
            out = _device.compressed_tocoo(self)
            return out.copy() if copy else out
        major, minor = self._major_minor_coords()
        coords = (major, minor) if self._major == 0 else (minor, major)
        out = coo_array._new(coords, self._data, self._shape,
                             canonical=bool(self._major == 0 and self.has_canonical_format))
        return out.copy() if copy else out

    def _other(self):
        """The same matrix compressed along the other axis (CSR <-> CSC); the values are a
        lazy gather of these (the structure's permutation is computed from the indices)."""
        cls = csc_array if self._major == 0 else csr_array
        if isinstance(self._indices, _device.DeviceIndex):
            return _device.compressed_other(self, cls)
        n_major, n_minor = self._n_major_minor()
        indptr, indices, data = st.permuted(
            lambda ip, ix, d: kernels.compressed_transpose(ip, ix, d, n_minor),
            self._data, self._indptr, self._indices)
        # the output rows are sorted by the old major index; duplicates are kept
        return cls._new(indptr, indices, data, self._shape,
                        canonical=True if self._canonical else None)

    def transpose(self, axes=None, copy=False):
        if axes is not None and tuple(axes) != (1, 0):
            raise ValueError("sparse arrays transpose only by reversing the axes")
        cls = csc_array if self._major == 0 else csr_array
        out = cls._new(self._indptr, self._indices, self._data, self._shape[::-1], self._canonical)
        return out.copy() if copy else out

    def toarray(self, order=None, out=None):
        if out is not None:
            raise TypeError("toarray(out=...) is not supported: arrayforge arrays are immutable")
        if isinstance(self._indices, _device.DeviceIndex):
            return _device.todense(self)
        major, minor = self._major_minor_coords()
        coords = (major, minor) if self._major == 0 else (minor, major)
        return st.scatter(self._data, coords, self._shape, unique=self.has_canonical_format)

    def _canonical_copy(self):
        """Canonical (sorted, duplicates summed): this array if it already is."""
        if self.has_canonical_format:
            return self
        if isinstance(self._indices, _device.DeviceIndex):     # (GPU: expand, then the counting sort)
            return self.tocoo().asformat(self.format)
        if self._no_duplicates():
            # only unsorted: a permutation of the values, kept lazy
            indices, data = st.permuted(kernels.sort_indices, self._data, self._indptr, self._indices)
            return type(self)._new(self._indptr, indices, data, self._shape, True)
        indptr, indices, data = kernels.canonicalize(self._indptr, self._indices, st.realized(self._data))
        return type(self)._new(indptr, indices, st.values(data), self._shape, True)

    def _no_duplicates(self):
        major = kernels.expand_indptr(self._indptr).astype(np.int64)
        key = major * max(self._n_major_minor()[1], 1) + self._indices
        return len(np.unique(key)) == len(key)

    def _without_zeros(self):
        indptr, indices, data = kernels.eliminate_zeros(self._indptr, self._indices, st.realized(self._data))
        return type(self)._new(indptr, indices, st.values(data), self._shape, self._canonical)

    def sorted_indices(self):
        return self._canonical_copy() if self._no_duplicates() else self._sorted_copy()

    def _sorted_copy(self):
        indices, data = st.permuted(kernels.sort_indices, self._data, self._indptr, self._indices)
        return type(self)._new(self._indptr, indices, data, self._shape, None)

    def sort_indices(self):
        """Sort the indices within each row (column), in place."""
        if not self.has_sorted_indices:
            self._become(self._sorted_copy())

    def copy(self):
        from ..creation import asarray
        return type(self)._new(self._indptr, self._indices, asarray(self._data, copy=True),
                               self._shape, self._canonical)

    def diagonal(self, k=0):
        m, n = self._shape
        if not -m < k < n and (m or n):
            return _zeros_1d(0, self.dtype)
        length = max(0, min(m + min(k, 0), n - max(k, 0)))
        major, minor = self._major_minor_coords()
        rows, cols = (major, minor) if self._major == 0 else (minor, major)
        pos = np.flatnonzero(cols.astype(np.int64) - rows == k)
        where = (rows[pos] if k >= 0 else cols[pos]).astype(np.int64)
        return st.scatter(st.gather(self._data, pos), (where,), (length,))

    def _to_scipy(self):
        import scipy.sparse
        cls = scipy.sparse.csr_array if self._major == 0 else scipy.sparse.csc_array
        out = cls((st.realized(self._data), self._indices, self._indptr), shape=self._shape, copy=False)
        if self._canonical:
            out.has_canonical_format = True
        return out


def _zeros_1d(n, dtype):
    from ..creation import zeros
    return zeros((n,), dtype=dtype)


class csr_array(_CompressedArray):
    """Compressed Sparse Row array: the format for row slicing and products with vectors.

    Constructor forms as ``scipy.sparse.csr_array``: ``csr_array(D)`` (dense),
    ``csr_array(S)`` (any sparse array, ours or SciPy's), ``csr_array((M, N))`` (empty),
    ``csr_array((data, (row, col)), shape=)`` (duplicates summed) and
    ``csr_array((data, indices, indptr), shape=)``.

    >>> A = csr_array(([1.0, 2.0], ([0, 1], [2, 0])), shape=(2, 3))
    >>> A.toarray()          # [[0, 0, 1], [2, 0, 0]]
    """
    format = "csr"
    _major = 0

    def tocsr(self, copy=False):
        return self.copy() if copy else self

    def tocsc(self, copy=False):
        return self._other()

    def tobsr(self, blocksize=None, copy=False):
        from ._bsr import bsr_array
        return bsr_array._from_csr(self, blocksize)

    def todia(self, copy=False):
        from ._dia import dia_array
        return dia_array._from_csr(self)

    def tolil(self, copy=False):
        from ._builders import lil_array
        return lil_array._from_csr(self)


class csc_array(_CompressedArray):
    """Compressed Sparse Column array: the format for column slicing and ``x @ A``.

    Constructor forms as ``scipy.sparse.csc_array`` (see :class:`csr_array`), with
    ``(data, indices, indptr)`` holding row indices per column."""
    format = "csc"
    _major = 1

    def tocsc(self, copy=False):
        return self.copy() if copy else self

    def tocsr(self, copy=False):
        return self._other()
