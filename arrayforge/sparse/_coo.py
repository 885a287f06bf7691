"""COO: coordinates and values, the format for building from triplets.  1-D, 2-D and N-D
as ``scipy.sparse.coo_array`` allows.  Duplicates are allowed and summed on conversion."""
import numpy as np

from lowering.kernels import sparse as kernels

from ._base import SparseArray
from . import _device, _structure as st


class coo_array(SparseArray):
    """COOrdinate sparse array: ``coo_array((data, (row, col)), shape=(M, N))``.

    Other constructor forms as ``scipy.sparse.coo_array``: a dense array (its nonzero
    entries are stored), a sparse array, ``(M, N)`` (empty), and N-D
    ``(data, (i0, i1, ..., ik))``.  Duplicate coordinates are kept until
    :meth:`sum_duplicates` or a conversion sums them.

    >>> A = coo_array(([1.0, 2.0, 3.0], ([0, 0, 1], [1, 1, 2])), shape=(2, 3))
    >>> A.tocsr().toarray()      # [[0, 3, 0], [0, 0, 3]]
    """
    format = "coo"

    def __init__(self, arg1, shape=None, dtype=None, copy=False, *, maxprint=None, device=None):
        from ._device import place
        self._init(arg1, shape, dtype, copy)
        place(self, device)

    def _init(self, arg1, shape, dtype, copy):
        from ._convert import parse_arguments
        form, parts = parse_arguments(arg1, shape, "coo")
        if form == "sparse":
            other = parts.tocoo()
            if dtype is not None:
                other = other.astype(dtype, copy=False)
            self._set(other._coords, other._data, other._shape, other._canonical)
            return
        if form == "empty":
            shape = parts
            idt = st.index_dtype(max(shape, default=0))
            self._set(tuple(st.frozen(np.zeros(0, idt)) for _ in shape),
                      st.values(np.zeros(0, dtype if dtype is not None else np.float64)), shape, True)
            return
        if form == "compressed":
            raise ValueError("coo_array takes (data, (row, col)), not (data, indices, indptr)")
        if form == "coo":
            data, coords, shape = parts
            self._from_triplets(data, coords, shape, dtype, copy)
            return
        self._from_dense(parts, dtype)

    def _from_triplets(self, data, coords, shape, dtype, copy):
        coords = [st.index_buffer(c, f"coords[{i}]" if len(coords) > 2 else ("row", "col")[i])
                  for i, c in enumerate(coords)]
        if not coords:
            raise ValueError("coo_array needs at least one coordinate array")
        nnz = len(coords[0])
        for i, c in enumerate(coords):
            if len(c) != nnz:
                raise ValueError(f"coordinate arrays differ in length: {len(c)} and {nnz}")
            st.check_index_dtype(c, nnz, "coords")
        data = st.values(data, dtype, copy, length=nnz)
        if data.ndim != 1:
            raise ValueError(f"data must be 1-dimensional, got shape {data.shape}")
        if shape is None:
            if nnz == 0:
                raise ValueError("cannot infer the shape of an empty coo_array: pass shape=")
            shape = tuple(int(c.max()) + 1 for c in coords)
        shape = st.check_shape(shape)
        if len(shape) != len(coords):
            raise ValueError(f"shape {shape} has {len(shape)} dimensions but {len(coords)} coordinate "
                             f"arrays were given")
        for axis, (c, n) in enumerate(zip(coords, shape)):
            st.check_range(c, n, ("row", "column")[axis] if len(shape) == 2 else "coordinate", axis)
        idt = st.index_dtype(max(shape), nnz)
        self._set(tuple(st.frozen(c.copy() if copy else c, idt) for c in coords), data, shape, None)

    def _from_dense(self, value, dtype):
        a = np.asarray(value)       # an Array is realized (the pattern depends on its values)
        if a.dtype.kind not in "biufc":
            raise TypeError(f"cannot build a sparse array from dtype {a.dtype}")
        if a.dtype == np.float16:
            a = a.astype(np.float32)
        if a.ndim == 0:
            raise ValueError("sparse arrays need at least 1 dimension, got a 0-d array")
        coords = np.nonzero(a)
        idt = st.index_dtype(max(a.shape), len(coords[0]))
        self._set(tuple(st.frozen(c, idt) for c in coords), st.values(a[coords], dtype), a.shape, True)

    def _set(self, coords, data, shape, canonical):
        self._coords, self._data, self._shape = tuple(coords), data, tuple(shape)
        self._canonical = canonical

    @classmethod
    def _new(cls, coords, data, shape, canonical=None):
        self = object.__new__(cls)
        self._set(tuple(st.frozen(c) for c in coords), data, shape, canonical)
        return self

    # ---- attributes
    @property
    def data(self):
        return self._data

    @property
    def coords(self):
        return tuple(st.leaf(c) for c in self._coords)

    @property
    def row(self):
        self._need_2d("row")
        return st.leaf(self._coords[0])

    @property
    def col(self):
        self._need_2d("col")
        return st.leaf(self._coords[1])

    def _need_2d(self, what):
        if self.ndim != 2:
            raise ValueError(f"{what} is defined for 2-D arrays; this one has shape {self._shape}")

    def _nnz(self):
        return len(self._coords[0])

    def _index_buffers(self):
        return self._coords

    @property
    def has_canonical_format(self):
        """Coordinates sorted in row-major (C) order without duplicates."""
        if self._canonical is None and isinstance(self._coords[0], _device.DeviceIndex):
            return False            # (a device structure of unknown order: treated as not canonical)
        if self._canonical is None:
            key = self._flat_keys()
            self._canonical = bool(len(key) < 2 or (np.diff(key) > 0).all())
        return self._canonical

    def _flat_keys(self):
        if self.ndim == 1:
            return self._coords[0].astype(np.int64)
        return np.ravel_multi_index(tuple(c.astype(np.int64) for c in self._coords),
                                    tuple(max(n, 1) for n in self._shape))

    # ---- value-wise
    def _with_data(self, data, copy=False):
        if copy:
            from ..creation import asarray
            data = asarray(data, copy=True)
        return coo_array._new(self._coords, data, self._shape, self._canonical)

    # ---- conversions
    def _compressed(self, cls, major_axis):
        if isinstance(self._coords[0], _device.DeviceIndex):
            return _device.coo_tocompressed(self, cls, major_axis)
        self._need_2d(cls.format)
        major, minor = self._coords[major_axis], self._coords[1 - major_axis]
        n_major, n_minor = self._shape[major_axis], self._shape[1 - major_axis]
        if major_axis == 0 and self._canonical:
            # already in CSR order (sorted by row, then column; no duplicates): count the rows
            idt = st.index_dtype(max(self._shape), self._nnz())
            indptr = np.zeros(n_major + 1, idt)
            np.cumsum(np.bincount(major, minlength=n_major), out=indptr[1:])
            return cls._new(indptr, st.frozen(minor, idt), self._data, self._shape, True)
        if st.is_realized(self._data):
            indptr, indices, data = kernels.coo_to_compressed(major, minor, st.realized(self._data),
                                                              n_major, n_minor, sum_duplicates=True)
            return cls._new(indptr, indices, st.values(data), self._shape, True)
        # lazy values: sort the structure once, then the values are a permutation (a lazy
        # gather) whose runs of duplicates are summed (a lazy segment sum, in stored order)
        perm = np.arange(self._nnz(), dtype=np.int64)
        indptr, indices, perm = kernels.coo_to_compressed(major, minor, perm, n_major, n_minor,
                                                          sum_duplicates=False)
        data = st.gather(self._data, perm)
        nnz = len(indices)
        if nnz and not kernels.has_canonical_format(indptr, indices):
            first = np.ones(nnz, bool)
            first[1:] = indices[1:] != indices[:-1]
            first[indptr[:-1][np.diff(indptr) > 0]] = True
            starts = np.flatnonzero(first)
            counts = np.zeros(nnz + 1, np.int64)
            np.cumsum(first, out=counts[1:])
            indptr = counts[indptr].astype(indptr.dtype)
            indices = indices[starts]
            data = _segment_sum(data, np.r_[starts, nnz].astype(np.int64))
        return cls._new(indptr, indices, data, self._shape, True)

    def tocsr(self, copy=False):
        from ._compressed import csr_array
        return self._compressed(csr_array, 0)

    def tocsc(self, copy=False):
        from ._compressed import csc_array
        return self._compressed(csc_array, 1)

    def tocoo(self, copy=False):
        return self.copy() if copy else self

    def todok(self, copy=False):
        from ._builders import dok_array
        return dok_array._from_coo(self)

    def toarray(self, order=None, out=None):
        if out is not None:
            raise TypeError("toarray(out=...) is not supported: arrayforge arrays are immutable")
        if isinstance(self._coords[0], _device.DeviceIndex):
            return self.tocsr().toarray()       # (the GPU scatter sums duplicates in a fixed order)
        return st.scatter(self._data, self._coords, self._shape, unique=self.has_canonical_format)

    def copy(self):
        from ..creation import asarray
        return coo_array._new(self._coords, asarray(self._data, copy=True), self._shape, self._canonical)

    def transpose(self, axes=None, copy=False):
        axes = tuple(range(self.ndim))[::-1] if axes is None else tuple(axes)
        if sorted(axes) != list(range(self.ndim)):
            raise ValueError(f"axes {axes} do not match an array of {self.ndim} dimensions")
        return coo_array._new(tuple(self._coords[a] for a in axes), self._data,
                              tuple(self._shape[a] for a in axes), None)

    def _canonical_copy(self):
        if self.has_canonical_format:
            return self
        if self.ndim == 2:
            return self.tocsr().tocoo()
        key = self._flat_keys()
        order = np.argsort(key, kind="stable")
        key = key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
        indptr = np.r_[starts, len(key)].astype(np.int64)
        data = _segment_sum(st.gather(self._data, order), indptr)
        coords = np.unravel_index(key[starts], self._shape)
        idt = st.index_dtype(max(self._shape), len(starts))
        return coo_array._new(tuple(c.astype(idt) for c in coords), data, self._shape, True)

    def sum_duplicates(self):
        """Sum duplicate coordinates and sort them in row-major order, in place."""
        self._become(self._canonical_copy())

    def eliminate_zeros(self):
        keep = st.realized(self._data) != 0
        if not keep.all():
            pos = np.flatnonzero(keep)
            self._become(coo_array._new(tuple(c[pos] for c in self._coords), st.gather(self._data, pos),
                                        self._shape, self._canonical))

    def _to_scipy(self):
        import scipy.sparse
        out = scipy.sparse.coo_array((st.realized(self._data), self._coords), shape=self._shape)
        if self._canonical:
            out.has_canonical_format = True
        return out


def _segment_sum_np(v, indptr):
    return kernels.segment_reduce("sum", indptr, v)


def _segment_sum(v, indptr):
    """Lazy per-segment sums of ``v`` (segments given by ``indptr``)."""
    from .._graph import extern
    from lowering import buffer_node
    return extern(_segment_sum_np, (), v.dtype, (len(indptr) - 1,), (v, buffer_node(st.frozen(indptr))))


def _raveled(coords, axes, dims):
    """The row-major flat index of ``coords`` over ``axes`` (int64; zeros for no axes)."""
    if not axes:
        return np.zeros(len(coords[0]), np.int64)
    return np.ravel_multi_index(tuple(coords[i].astype(np.int64) for i in axes),
                                tuple(max(d, 1) for d in dims))


def matricize(coo, row_axes, col_axes):
    """The 2-D COO array ``(prod(row dims), prod(col dims))`` of the N-D ``coo`` whose row
    index ravels the coordinates of ``row_axes`` and column index those of ``col_axes`` (in
    the given orders): the values are shared (no gather), only the coordinates change.  A
    reduction or contraction over ``col_axes`` is then a 2-D one over axis 1."""
    row_axes, col_axes = tuple(row_axes), tuple(col_axes)
    rdims = tuple(coo.shape[i] for i in row_axes)
    cdims = tuple(coo.shape[i] for i in col_axes)
    m, n = int(np.prod(rdims, dtype=np.int64)), int(np.prod(cdims, dtype=np.int64))
    rows, cols = _raveled(coo._coords, row_axes, rdims), _raveled(coo._coords, col_axes, cdims)
    idt = st.index_dtype(max(m, n), coo._nnz())
    in_order = row_axes + col_axes == tuple(range(coo.ndim))
    return coo_array._new((rows.astype(idt), cols.astype(idt)), coo._data, (m, n),
                          coo._canonical if in_order else None)
