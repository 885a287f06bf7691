"""DOK and LIL: the builders.  Item assignment edits them in place (``lil[3, 4] = 1.0``,
``dok[i, j] += v``, row and column assignment); ``tocsr()`` hands over to the computing
formats.  Their values are Python-side containers, not lazy: building is the point.
Reading operations (products, reductions, element-wise work) go through ``tocsr()``."""
import bisect
import operator

import numpy as np

from ._base import SparseArray
from . import _structure as st


def _pairs(key, shape):
    """The (row, col) pairs a 2-D key addresses, broadcast as NumPy would, and their shape."""
    from ._index import _normalize, _split_key
    rk, ck = _split_key(key, 2)
    r = _normalize(rk, shape[0], 0)
    c = _normalize(ck, shape[1], 1)
    rows, cols = np.asarray(r[1]), np.asarray(c[1])
    if r[0] != "int" and c[0] != "int" and not (r[0] == "array" and c[0] == "array"):
        rows = rows[:, None]      # a slice with anything, or an array with a slice: outer
    out_shape = np.broadcast_shapes(rows.shape, cols.shape)
    rows, cols = np.broadcast_arrays(rows, cols)
    return rows.reshape(-1), cols.reshape(-1), out_shape


def _value_grid(value, out_shape, dtype):
    if isinstance(value, SparseArray):
        value = value.toarray()
    v = np.asarray(value)
    try:
        return np.broadcast_to(v, out_shape).reshape(-1).astype(dtype, copy=False)
    except ValueError:
        raise ValueError(f"cannot assign a value of shape {v.shape} to an index of shape {out_shape}") from None


class _Builder(SparseArray):
    @property
    def dtype(self):
        return self._dtype

    @property
    def _data(self):
        return self.tocsr()._data

    def _scalar(self, v):
        return self._dtype.type(v)

    def _check_ij(self, i, j):
        m, n = self._shape
        i, j = operator.index(i), operator.index(j)
        if not -m <= i < m:
            raise IndexError(f"row index {i} is out of bounds for axis 0 with size {m}")
        if not -n <= j < n:
            raise IndexError(f"column index {j} is out of bounds for axis 1 with size {n}")
        return i % m, j % n

    @staticmethod
    def _is_point(key):
        return (isinstance(key, tuple) and len(key) == 2
                and all(isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)) for k in key))

    def __getitem__(self, key):
        if self._is_point(key):
            i, j = self._check_ij(*key)
            return self._scalar(self._get(i, j))
        return self.tocsr()[key]

    def __setitem__(self, key, value):
        if self._is_point(key):
            i, j = self._check_ij(*key)
            v = np.asarray(value)
            if v.size != 1:
                raise ValueError(f"cannot assign {v.size} values to one entry")
            self._put(i, j, self._cast(v.reshape(())[()]))
            return
        rows, cols, out_shape = _pairs(key, self._shape)
        vals = _value_grid(value, out_shape, self._dtype)
        for i, j, v in zip(rows.tolist(), cols.tolist(), vals.tolist()):
            self._put(i, j, self._cast(v))

    def _cast(self, v):
        c = np.asarray(v)
        if c.dtype.kind == "c" and self._dtype.kind != "c":
            raise TypeError(f"cannot assign a complex value to a {self._dtype} array")
        return self._dtype.type(v)

    def _init_common(self, arg1, shape, dtype, fmt):
        """Returns the COO to load, or None for an empty array (sets shape and dtype)."""
        from ._convert import parse_arguments
        from ._coo import coo_array
        form, parts = parse_arguments(arg1, shape, fmt)
        if form == "empty":
            self._shape = parts
            self._dtype = st.value_dtype(dtype if dtype is not None else np.float64)
            return None
        if form == "sparse":
            coo = parts.tocoo()
        elif form == "coo":
            coo = coo_array(parts[:2], shape=parts[2])
        elif form == "compressed":
            from ._compressed import csr_array
            coo = csr_array(parts, shape=shape).tocoo()
        else:
            coo = coo_array(parts, shape=shape)
        if coo.ndim != 2:
            raise ValueError(f"{fmt}_array is 2-dimensional, got shape {coo.shape}")
        if dtype is not None:
            coo = coo.astype(dtype, copy=False)
        self._shape, self._dtype = coo.shape, coo.dtype
        return coo

    def copy(self):
        out = object.__new__(type(self))
        out._copy_from(self)
        return out

    def _with_data(self, data, copy=False):
        return self.tocsr()._with_data(data, copy).asformat(self.format)

    def transpose(self, axes=None, copy=False):
        return self.tocsr().transpose().asformat(self.format)


class dok_array(_Builder):
    """Dictionary Of Keys array: ``dok[i, j] = v``, ``dok[i, j] += v``; ``tocsr()`` to compute.

    >>> d = dok_array((3, 3)); d[0, 1] = 2.0; d[0, 1] += 1.0; d.tocsr().toarray()
    """
    format = "dok"

    def __init__(self, arg1, shape=None, dtype=None, copy=False, *, maxprint=None):
        self._dict = {}
        coo = self._init_common(arg1, shape, dtype, "dok")
        if coo is not None:
            self._load(coo)

    def _load(self, coo):
        canon = coo._canonical_copy()
        rows, cols = canon._coords
        vals = st.realized(canon._data)
        self._dict = {(int(i), int(j)): v for i, j, v in zip(rows.tolist(), cols.tolist(), vals.tolist())}

    @classmethod
    def _from_coo(cls, coo):
        out = cls(coo.shape, dtype=coo.dtype)
        out._load(coo)
        return out

    def _copy_from(self, other):
        self._dict, self._shape, self._dtype = dict(other._dict), other._shape, other._dtype

    def _get(self, i, j):
        return self._dict.get((i, j), 0)

    def _put(self, i, j, v):
        if v == 0:
            self._dict.pop((i, j), None)
        else:
            self._dict[(i, j)] = v

    def _nnz(self):
        return len(self._dict)

    def keys(self):
        return self._dict.keys()

    def values(self):
        return self._dict.values()

    def items(self):
        return self._dict.items()

    def get(self, key, default=0.0):
        i, j = self._check_ij(*key)
        return self._dict.get((i, j), default)

    def __contains__(self, key):
        return tuple(key) in self._dict

    def tocoo(self, copy=False):
        from ._coo import coo_array
        n = len(self._dict)
        idt = st.index_dtype(max(self._shape), n)
        keys = np.array(list(self._dict.keys()), dtype=np.int64).reshape(n, 2)
        vals = np.fromiter(self._dict.values(), dtype=self._dtype, count=n)
        return coo_array._new((keys[:, 0].astype(idt), keys[:, 1].astype(idt)), st.values(vals),
                              self._shape, None)

    def todok(self, copy=False):
        return self.copy() if copy else self

    def toarray(self, order=None, out=None):
        return self.tocoo().toarray(order, out)

    def _to_scipy(self):
        return self.tocoo().to_scipy().todok()


class lil_array(_Builder):
    """List of Lists array: per row, sorted column indices and their values.
    ``lil[3, 4] = 1.0``, ``lil[1, :] = row``, ``lil[:, 2] = 0``; ``tocsr()`` to compute.

    >>> L = lil_array((1000, 1000)); L[3, 4] = 1.0; L.tocsr().nnz
    1
    """
    format = "lil"

    def __init__(self, arg1, shape=None, dtype=None, copy=False, *, maxprint=None):
        coo = self._init_common(arg1, shape, dtype, "lil")
        self._rows = [[] for _ in range(self._shape[0])]
        self._vals = [[] for _ in range(self._shape[0])]
        if coo is not None:
            self._load(coo.tocsr()._canonical_copy())

    def _load(self, csr):
        indptr = csr._indptr.tolist()
        indices = csr._indices.tolist()
        vals = st.realized(csr._data).tolist()
        for i in range(len(indptr) - 1):
            p, q = indptr[i], indptr[i + 1]
            self._rows[i] = indices[p:q]
            self._vals[i] = vals[p:q]

    @classmethod
    def _from_csr(cls, csr):
        return cls(csr)

    def _copy_from(self, other):
        self._shape, self._dtype = other._shape, other._dtype
        self._rows = [list(r) for r in other._rows]
        self._vals = [list(v) for v in other._vals]

    def _get(self, i, j):
        r = self._rows[i]
        p = bisect.bisect_left(r, j)
        return self._vals[i][p] if p < len(r) and r[p] == j else 0

    def _put(self, i, j, v):
        r = self._rows[i]
        p = bisect.bisect_left(r, j)
        present = p < len(r) and r[p] == j
        if v == 0:
            if present:
                del r[p]
                del self._vals[i][p]
        elif present:
            self._vals[i][p] = v
        else:
            r.insert(p, j)
            self._vals[i].insert(p, v)

    def _nnz(self):
        return sum(len(r) for r in self._rows)

    @property
    def rows(self):
        out = np.empty(len(self._rows), dtype=object)
        out[:] = [list(r) for r in self._rows]
        return out

    @property
    def data(self):
        out = np.empty(len(self._vals), dtype=object)
        out[:] = [list(v) for v in self._vals]
        return out

    def tocsr(self, copy=False):
        from ._compressed import csr_array
        counts = np.fromiter((len(r) for r in self._rows), dtype=np.int64, count=len(self._rows))
        nnz = int(counts.sum())
        idt = st.index_dtype(max(self._shape), nnz)
        indptr = np.zeros(len(counts) + 1, idt)
        np.cumsum(counts, out=indptr[1:])
        indices = np.fromiter((j for r in self._rows for j in r), dtype=idt, count=nnz)
        vals = np.fromiter((v for r in self._vals for v in r), dtype=self._dtype, count=nnz)
        return csr_array._new(indptr, indices, st.values(vals), self._shape, True)

    def tolil(self, copy=False):
        return self.copy() if copy else self

    def toarray(self, order=None, out=None):
        return self.tocsr().toarray(order, out)

    def _to_scipy(self):
        return self.tocsr().to_scipy().tolil()
