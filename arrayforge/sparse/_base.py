"""The base class of the seven formats: attributes, operators, conversions and the
never-densify rule.

A sparse array is a sparsity structure (realized, read-only index buffers, validated once
at construction) plus a value vector, an ordinary lazy arrayforge Array.  Value-wise work
(``abs(A) * 2``, ``A.astype(...)``) returns a new array with the same structure and a
recorded element-wise node over the values; pattern-changing work realizes what it needs.
The formats implement ``tocsr``/``tocoo`` and their own natural conversions; everything
else has a default here that goes through CSR (as SciPy does).
"""
from .. import _sparse_dispatch
from .._array import CPU

_FORMAT_NAMES = {"csr": "Compressed Sparse Row", "csc": "Compressed Sparse Column",
                 "coo": "COOrdinate", "bsr": "Block Sparse Row", "dia": "DIAgonal",
                 "dok": "Dictionary Of Keys", "lil": "List of Lists"}
FORMATS = tuple(_FORMAT_NAMES)


class SparseArray:
    """Common base of ``csr_array``, ``csc_array``, ``coo_array``, ``bsr_array``,
    ``dia_array``, ``dok_array`` and ``lil_array``."""
    format = None
    __array_priority__ = 10.1

    # ---- NumPy's protocols (arrayforge/sparse/_numpy.py): NumPy-API code such as Dask's chunk
    # functions runs arrayforge's sparse operations; nothing densifies silently
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from ._numpy import array_ufunc
        return array_ufunc(self, ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from ._numpy import array_function
        return array_function(self, func, types, args, kwargs)

    # ---- attributes (never evaluate)
    @property
    def shape(self):
        return self._shape

    @property
    def ndim(self):
        return len(self._shape)

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def nnz(self):
        """Number of stored values, explicit zeros included (SciPy's ``nnz``)."""
        return self._nnz()

    @property
    def size(self):
        # Note: SciPy's ``size`` of a sparse array is its number of stored values.
        return self._nnz()

    @property
    def device(self):
        from ._device import device
        return device(self)

    def _index_buffers(self):
        """The structure's index buffers (NumPy arrays, or DeviceIndex on a device)."""
        return ()

    @property
    def T(self):
        return self.transpose()

    @property
    def mT(self):
        return self.transpose()

    def __array_namespace__(self, /, *, api_version=None):
        if api_version not in (None, "2021.12", "2022.12", "2023.12", "2024.12", "2025.12"):
            raise ValueError(f"unsupported api_version {api_version!r}")
        import arrayforge
        return arrayforge

    def to_device(self, device, /, *, stream=None):
        """This array on ``device`` ("cpu", "cuda"): itself if it is there, else an explicit
        copy of its structure and values (CSR, CSC and COO go to a GPU)."""
        if stream is not None:
            raise ValueError("to_device: streams are not supported (stream must be None)")
        from ._device import to_device
        return to_device(self, device)

    # ---- never densify silently
    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"a {self.format}_array is not converted to a dense NumPy array implicitly; "
                        f"call .toarray() (an arrayforge array) or .to_scipy()")

    def __len__(self):
        raise TypeError("sparse array length is ambiguous; use .shape or .nnz")

    def __bool__(self):
        if self._shape in ((1,), (1, 1)):
            return bool(self.count_nonzero() != 0)
        raise ValueError("the truth value of a sparse array with more than one element is ambiguous")

    def __iter__(self):
        for i in range(self._shape[0]):
            yield self[i]

    def __hash__(self):
        raise TypeError(f"unhashable type: '{type(self).__name__}'")

    def __repr__(self):
        return (f"<{_FORMAT_NAMES[self.format]} sparse array of dtype '{self.dtype}'\n"
                f"\twith {self.nnz} stored elements and shape {self._shape}>")

    __str__ = __repr__

    # ---- conversions (each format overrides the ones it does directly)
    def asformat(self, format, copy=False):
        """This array in ``format`` (``"csr"``, ``"csc"``, ``"coo"``, ``"bsr"``, ``"dia"``,
        ``"dok"``, ``"lil"``); ``None`` or its own format returns it (a copy with ``copy``)."""
        if format is None or format == self.format:
            return self.copy() if copy else self
        if format not in FORMATS:
            raise ValueError(f"format {format!r} is not one of {FORMATS}")
        return getattr(self, "to" + format)(copy=copy)

    def tocsr(self, copy=False):
        return self.tocoo(copy=copy).tocsr()

    def tocsc(self, copy=False):
        return self.tocsr(copy=copy).tocsc()

    def tocoo(self, copy=False):
        return self.tocsr(copy=copy).tocoo()

    def tobsr(self, blocksize=None, copy=False):
        return self.tocsr(copy=copy).tobsr(blocksize=blocksize)

    def todia(self, copy=False):
        return self.tocsr(copy=copy).todia()

    def todok(self, copy=False):
        return self.tocoo(copy=copy).todok()

    def tolil(self, copy=False):
        return self.tocsr(copy=copy).tolil()

    def toarray(self, order=None, out=None):
        """The dense arrayforge array (explicitly asked for; recorded lazily)."""
        if out is not None:
            raise TypeError("toarray(out=...) is not supported: arrayforge arrays are immutable")
        return self.tocoo().toarray()

    def todense(self, order=None, out=None):
        """The dense arrayforge array: same as :meth:`toarray` (SciPy arrays return ndarrays)."""
        return self.toarray(order=order, out=out)

    def to_scipy(self):
        """The SciPy sparse array of the same format, sharing the index and value buffers."""
        from ._device import device_key
        if device_key(self) is not None:
            raise ValueError(f"to_scipy: this {self.format}_array is on {self.device}; SciPy arrays live "
                             "on the host: call A.to_device('cpu').to_scipy()")
        return self._to_scipy()

    def _to_scipy(self):
        return self.tocsr().to_scipy().asformat(self.format)

    def copy(self):
        return self._with_data(self._data, copy=True)

    # ---- value-wise work: a new array with the same structure
    def _with_data(self, data, copy=False):
        """Same structure, ``data`` as the values (formats with a value vector override)."""
        return self._like(self.tocsr()._with_data(data, copy=copy))

    def astype(self, dtype, casting="unsafe", copy=True):
        from . import _ops
        return _ops.astype(self, dtype, copy=copy)

    def conj(self, copy=True):
        return self._value_function("conj")

    conjugate = conj

    @property
    def real(self):
        return self._value_function("real")

    @property
    def imag(self):
        return self._value_function("imag")

    def _value_function(self, name):
        from . import _ops
        return _ops.unary(name, self)

    def __neg__(self):
        return self._value_function("negative")

    def __pos__(self):
        return self._value_function("positive")

    def __abs__(self):
        return self._value_function("abs")

    def __round__(self, ndigits=0):
        if ndigits:
            from . import _ops
            return _ops.round_digits(self, ndigits)
        return self._value_function("round")

    def sqrt(self):
        return self._value_function("sqrt")

    def count_nonzero(self, axis=None):
        from . import _reduce
        return _reduce.count_nonzero(self, axis)

    # ---- structure work
    def transpose(self, axes=None, copy=False):
        if axes is not None and tuple(axes) != tuple(range(self.ndim))[::-1]:
            raise ValueError("sparse arrays transpose only by reversing the axes")
        out = self.tocsr(copy=copy).transpose()
        return out if self.format in _TRANSPOSED else self._like(out)

    def sum_duplicates(self):
        """Sum duplicate entries and sort the indices, in place (SciPy's semantics)."""
        self._become(self.tocsr()._canonical_copy())

    def eliminate_zeros(self):
        """Remove stored zeros, in place (realizes the values: the pattern depends on them)."""
        self._become(self.tocsr()._without_zeros())

    def _like(self, other):
        """``other`` in this array's format (a BSR keeps its block size where it divides)."""
        if self.format == "bsr" and other.format != "bsr":
            R, C = self._blocksize
            fits = other.ndim == 2 and other.shape[0] % R == 0 and other.shape[1] % C == 0
            return other.tobsr(blocksize=self._blocksize if fits else None)
        return other.asformat(self.format)

    @property
    def _node(self):
        # the value vector's node: xp.compute(A) and xp.explain(A) act on the stored values
        return self._data._node

    def compute(self):
        """Compute the stored values now (one fused plan); returns ``self``."""
        self._data.compute()
        return self

    def _become(self, other):
        """Rebind this array to ``other``'s structure and values (in-place SciPy methods)."""
        if type(other) is not type(self):
            other = self._like(other)
        if other is self:
            return
        self.__dict__.clear()
        self.__dict__.update(other.__dict__)

    def reshape(self, *args, shape=None, order="C", copy=False):
        from . import _ops
        if shape is None:
            shape = args[0] if len(args) == 1 else args
        out = _ops.reshape(self, shape, order)
        return self._like(out) if out.ndim == 2 and self.format != "coo" else out

    def resize(self, *shape):
        from . import _ops
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        self._become(_ops.resize(self, shape))

    def diagonal(self, k=0):
        return self.tocsr().diagonal(k)

    def trace(self, offset=0):
        from ..statistical import sum as _sum
        return _sum(self.diagonal(offset))

    def setdiag(self, values, k=0):
        from . import _ops
        self._become(_ops.setdiag(self, values, k))

    def nonzero(self):
        from . import _ops
        return _ops.nonzero(self)

    def __getitem__(self, key):
        from . import _index
        return _index.getitem(self, key)

    def __setitem__(self, key, value):
        raise TypeError(f"a {self.format}_array's structure is immutable; build with lil_array or "
                        f"dok_array (item assignment), then convert with .tocsr()")

    # ---- reductions (SciPy's methods)
    def sum(self, axis=None, dtype=None, out=None):
        from . import _reduce
        return _reduce.sum(self, axis, dtype)

    def mean(self, axis=None, dtype=None, out=None):
        from . import _reduce
        return _reduce.mean(self, axis, dtype)

    def max(self, axis=None, out=None, *, explicit=False):
        from . import _reduce
        return _reduce.extremum("max", self, axis, explicit)

    def min(self, axis=None, out=None, *, explicit=False):
        from . import _reduce
        return _reduce.extremum("min", self, axis, explicit)

    def argmax(self, axis=None, out=None, *, explicit=False):
        from . import _reduce
        return _reduce.arg_extremum("argmax", self, axis, explicit)

    def argmin(self, axis=None, out=None, *, explicit=False):
        from . import _reduce
        return _reduce.arg_extremum("argmin", self, axis, explicit)

    # ---- element-wise with another operand (SciPy's methods and the operators)
    def multiply(self, other):
        from . import _ops
        return _ops.binary("multiply", self, other)

    def maximum(self, other):
        from . import _ops
        return _ops.binary("maximum", self, other)

    def minimum(self, other):
        from . import _ops
        return _ops.binary("minimum", self, other)

    def power(self, n, dtype=None):
        from . import _ops
        out = _ops.binary("pow", self, n)
        return out if dtype is None else out.astype(dtype)

    def dot(self, other):
        from . import _ops
        return _ops.matmul(self, other)

    def __matmul__(self, other):
        from . import _ops
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        from . import _ops
        return _ops.matmul(other, self)


_TRANSPOSED = {"csr": "csc", "csc": "csr"}


def _operator(name, reflected=False):
    if reflected:
        def method(self, other):
            from . import _ops
            return _ops.binary(name, other, self)
    else:
        def method(self, other):
            from . import _ops
            return _ops.binary(name, self, other)
    return method


for _op, _name in {"add": "add", "sub": "subtract", "mul": "multiply", "truediv": "divide",
                   "floordiv": "floor_divide", "mod": "remainder", "pow": "pow",
                   "and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor"}.items():
    setattr(SparseArray, f"__{_op}__", _operator(_name))
    setattr(SparseArray, f"__r{_op}__", _operator(_name, reflected=True))
for _op, _name in {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal",
                   "gt": "greater", "ge": "greater_equal"}.items():
    setattr(SparseArray, f"__{_op}__", _operator(_name))
del _op, _name

_sparse_dispatch.register_type(SparseArray)


def issparse(x):
    """True for the sparse arrays of ``arrayforge.sparse`` (and SciPy's sparse objects)."""
    if isinstance(x, SparseArray):
        return True
    try:
        import scipy.sparse
    except ImportError:
        return False
    return scipy.sparse.issparse(x)


def as_sparse_operand(x):
    """SciPy sparse arrays and matrices taken as arrayforge sparse arrays (shared buffers)."""
    if isinstance(x, SparseArray):
        return x
    from ._convert import from_scipy
    return from_scipy(x)
