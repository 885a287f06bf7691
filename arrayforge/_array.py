"""The Array object: a handle to an IR node.  Operators record; a few methods evaluate.

Evaluation points: ``compute()``, ``__array__``, ``__dlpack__``, ``tolist``, the scalar
conversions (``bool``, ``int``, ``float``, ``complex``, ``index``) and ``repr``.  A
realized result is kept.  Values never change once recorded: ``x[...] = v`` and
``x += v`` rebind ``x`` to a new node, so ``y = x + 1`` recorded earlier keeps its value.
"""
import operator

import numpy as np

from lowering import Op, buffer_node, realize, ufunc_now

from . import _dtypes as dt
from . import elementwise as ew
from ._graph import MAX_NDIM, new_node, reshape_node, scalar_node, view


class Device:
    """A device: ``Device("cpu")`` (the host, ``arrayforge.CPU``) or ``Device("cuda", n)``.

    Compares equal to its name (``"cpu"``, ``"cuda"`` for ordinal 0, ``"cuda:1"``).  Creating
    a CUDA Device never touches CUDA; using one for an array needs a GPU Numba sees (or
    Numba's simulator, ``NUMBA_ENABLE_CUDASIM=1``) and raises ValueError otherwise.

    >>> x = arrayforge.asarray([1.0, 2.0], device=arrayforge.Device("cuda", 0))
    """
    __slots__ = ("type", "index")

    def __new__(cls, type="cpu", index=None):
        if isinstance(type, Device):
            return type
        if not isinstance(type, str):
            raise TypeError(f"device must be a string or an arrayforge.Device, not {type!r}")
        name = type
        if ":" in name and index is None:
            name, _, num = name.partition(":")
            try:
                index = int(num)
            except ValueError:
                raise ValueError(f"unsupported device {type!r}") from None
        if name == "cpu":
            if index not in (None, 0):
                raise ValueError(f"unsupported device {type!r}: there is one CPU device")
            return CPU if "CPU" in globals() else _make_device(cls, "cpu", None)
        if name == "cuda":
            index = 0 if index is None else operator.index(index)
            if index < 0:
                raise ValueError(f"unsupported device {type!r} (index {index})")
            dev = _CUDA_DEVICES.get(index)
            if dev is None:
                dev = _CUDA_DEVICES[index] = _make_device(cls, "cuda", index)
            return dev
        raise ValueError(f"unsupported device {type!r}; arrayforge has 'cpu' and 'cuda' devices")

    @property
    def key(self):
        """The IR's name of this device: None (the host) or ``("cuda", index)``."""
        return None if self.type == "cpu" else ("cuda", self.index)

    def __repr__(self):
        return "arrayforge.Device('cpu')" if self.type == "cpu" else f"arrayforge.Device('cuda', {self.index})"

    def __str__(self):
        return "cpu" if self.type == "cpu" else f"cuda:{self.index}"

    def __eq__(self, other):
        if isinstance(other, Device):
            return self is other
        if isinstance(other, str):
            try:
                return Device(other) is self
            except (ValueError, TypeError):
                return False
        return NotImplemented

    def __hash__(self):
        return hash(str(self))

    def __reduce__(self):
        return (Device, (self.type, self.index))


def _make_device(cls, type, index):
    dev = object.__new__(cls)
    dev.type, dev.index = type, index
    return dev


_CUDA_DEVICES: dict = {}


def as_device(device):
    """``device`` (None, a Device or a name) -> its IR key (None for the host), checking that a
    CUDA device exists (ValueError naming it otherwise)."""
    if device is None or device is CPU:
        return None
    dev = Device(device)
    if dev is CPU:
        return None
    from lowering import cuda_runtime
    cuda_runtime.check_device(dev.index)
    return dev.key


def device_of(key):
    return CPU if key is None else Device(key[0], key[1])


CPU = Device()


class Array:
    """An array: a node of the graph, or a small value the eager tier computed at once.

    ``_node`` is the node; ``_buf`` is None, or the value of an eager result (a fresh NumPy
    array owned by this Array) whose leaf node is made on the first use of ``_node``
    (:meth:`__getattr__`).  Most eager values only feed further eager operations, so they
    never need a node: a small op costs the ufunc, one check and one object."""
    __slots__ = ("_node", "_buf", "__weakref__")

    @classmethod
    def _new(cls, node):
        self = object.__new__(cls)
        self._node = node
        self._buf = None
        return self

    def __getattr__(self, name):
        # (called only for an unset slot: the leaf of an eager value, on first use)
        if name == "_node":
            buf = self._buf
            if buf is None:
                raise AttributeError("_node")
            node = self._node = buffer_node(buf, own=True)
            return node
        if name == "_buf":          # (an Array made with only its node set)
            self._buf = None
            return None
        raise AttributeError(f"'arrayforge.Array' object has no attribute '{name}'")

    def _rebind(self, other):
        """Make this Array the value of ``other`` (the functional in-place update)."""
        buf = other._buf
        self._buf = buf
        if buf is None:
            self._node = other._node
        else:
            try:
                del self._node
            except AttributeError:
                pass

    def __init__(self, *args, **kwargs):
        raise TypeError("create arrays with arrayforge.asarray(), zeros(), ... not Array()")

    # ---- static properties: never evaluate
    @property
    def dtype(self):
        buf = self._buf
        return self._node.dtype if buf is None else buf.dtype

    @property
    def shape(self):
        buf = self._buf
        return self._node.shape if buf is None else buf.shape

    @property
    def ndim(self):
        buf = self._buf
        return len(self._node.shape) if buf is None else buf.ndim

    @property
    def size(self):
        buf = self._buf
        return self._node.size if buf is None else buf.size

    @property
    def device(self):
        if self._buf is not None:
            return CPU
        key = self._node.device
        return CPU if key is None else device_of(key)

    @property
    def mT(self):
        if self.ndim < 2:
            raise ValueError("mT requires an array of at least 2 dimensions")
        from .manipulation import permute_dims
        return permute_dims(self, tuple(range(self.ndim - 2)) + (self.ndim - 1, self.ndim - 2))

    @property
    def T(self):
        if self.ndim != 2:
            raise ValueError("T is only defined for 2-D arrays; use mT or permute_dims")
        from .manipulation import permute_dims
        return permute_dims(self, (1, 0))

    def __array_namespace__(self, /, *, api_version=None):
        if api_version not in (None, "2021.12", "2022.12", "2023.12", "2024.12", "2025.12"):
            raise ValueError(f"unsupported api_version {api_version!r}")
        import arrayforge
        return arrayforge

    def to_device(self, device, /, *, stream=None):
        """This array on ``device``: itself if it is there, else an explicit copy (evaluates).

        >>> g = x.to_device("cuda")        # host -> GPU
        >>> h = g.to_device("cpu")         # GPU -> host
        """
        if stream is not None:
            raise ValueError("to_device: streams are not supported (stream must be None)")
        target = as_device(device)
        here = self._node.device
        if target == here:
            return self
        from lowering import cuda_runtime
        if here is None:        # host -> device
            return Array._new(cuda_runtime.leaf(self._value(), target[1]))
        host = self._value()
        if target is None:      # device -> host
            return Array._new(buffer_node(host, own=True))
        # device -> another device: through the host (explicit, as asked)
        return Array._new(cuda_runtime.leaf(host, target[1]))

    # ---- evaluation
    def compute(self):
        """Evaluate this array now (one fused plan); returns ``self`` for chaining."""
        if self._buf is None and self._node.buffer is None:
            realize([self._node])
        return self

    def _value(self):
        """The value as a NumPy array.  Note: a device array is copied to the host (the
        evaluation points that leave arrayforge: ``__array__``, ``tolist``, ``repr``, the
        scalar conversions, ``item``, pickling)."""
        if self._buf is not None:
            return self._buf
        buf = realize([self._node])[0]
        if self._node.device is not None:
            from lowering import cuda_runtime
            return cuda_runtime.to_host(buf, self._node.shape)
        return buf

    def _export(self):
        """The value for a consumer outside arrayforge: read-only (values never change).
        Eager results are kept writeable inside (setting the flag costs as much as the op)."""
        node = self._node
        if node.device is not None:     # Note: a device array is copied to the host
            buf = self._value()
            buf.setflags(write=False)
            return buf
        buf = realize([node])[0]
        if buf.flags.writeable:     # the first export: the leaf keeps the read-only view from now on
            buf = buf.view()
            buf.setflags(write=False)
            node.buffer = buf
            if self._buf is not None:
                self._buf = buf
        return buf

    def __array__(self, dtype=None, copy=None):
        buf = self._export()
        if dtype is not None and np.dtype(dtype) != buf.dtype:
            if copy is False:
                raise ValueError("converting to another dtype needs a copy, but copy=False")
            return buf.astype(dtype)
        return buf.copy() if copy else buf

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """Export through DLPack (evaluates).  ``copy=True`` exports a fresh copy.  A GPU array
        exports a kDLCUDA capsule of its device memory (see cuda_runtime.export_dlpack)."""
        if self._node.device is not None:
            from lowering import cuda_runtime
            buf = realize([self._node])[0]
            return cuda_runtime.export_dlpack(buf, self._node.shape, self._node.device[1], stream=stream,
                                              max_version=max_version, dl_device=dl_device, copy=copy)
        if dl_device is not None and tuple(dl_device) != (1, 0):
            raise BufferError("arrayforge arrays live on the CPU (kDLCPU, device 0)")
        buf = self._export()
        if copy:
            buf = np.array(buf)
        kwargs = {} if max_version is None else {"max_version": max_version}
        try:
            return buf.__dlpack__(**kwargs)
        except BufferError:
            if max_version is not None and tuple(max_version) >= (1, 0):
                raise
            # A legacy (unversioned) consumer cannot be told that the memory is read-only.
            if copy is False:
                # Note: copy=False must not copy, so the consumer gets a writeable alias of the
                # value; writing through it is the consumer's error (values are immutable).
                alias = buf.view()
                try:
                    alias.flags.writeable = True
                except ValueError:
                    raise BufferError("this array's memory is read-only and a legacy DLPack "
                                      "consumer cannot be told so; use copy=None or max_version=(1, 0)") from None
                return alias.__dlpack__(**kwargs)
            return np.array(buf).__dlpack__(**kwargs)

    def __dlpack_device__(self):
        key = self._node.device
        return (1, 0) if key is None else (2, key[1])       # kDLCPU, kDLCUDA

    @property
    def __cuda_array_interface__(self):
        """The CUDA array interface of a GPU array (evaluates); AttributeError for host arrays
        (so ``hasattr`` tells consumers like CuPy which arrays live on a GPU)."""
        if self._node.device is None:
            raise AttributeError("__cuda_array_interface__: this array lives on the CPU")
        buf = realize([self._node])[0]
        try:
            cai = dict(buf.__cuda_array_interface__)
            cai["shape"], cai["strides"] = self._node.shape, None      # (a 0-d value's buffer is (1,))
            return cai
        except AttributeError:      # Numba's simulator has none
            raise AttributeError("__cuda_array_interface__ is not available under Numba's CUDA "
                                 "simulator") from None

    def tolist(self):
        return self._value().tolist()

    def _scalar(self, kind):
        buf = self._buf
        if buf is not None and buf.size == 1:
            return buf.item()
        node = self._node
        if node.shape and node.size != 1:
            raise TypeError(f"only arrays of size 1 can be converted to Python {kind.__name__}, "
                            f"this one has shape {self.shape}")
        if node.device is not None:     # Note: copies the one element to the host
            return self._value().item()
        buf = node.buffer
        return (buf if buf is not None else realize([node])[0]).item()

    def __bool__(self):
        return bool(self._scalar(bool))

    def __int__(self):
        if self.dtype.kind == "c":
            raise TypeError("cannot convert a complex array to int")
        return int(self._scalar(int))

    def __float__(self):
        buf = self._buf
        if buf is not None and buf.size == 1 and buf.dtype.kind != "c":   # (the eager fast path)
            return float(buf.item())
        if self.dtype.kind == "c":
            raise TypeError("cannot convert a complex array to float")
        return float(self._scalar(float))

    def __complex__(self):
        return complex(self._scalar(complex))

    def __index__(self):
        if self.dtype.kind not in "iu":
            raise TypeError(f"only integer arrays can be used as an index, not {self.dtype}")
        return int(self._scalar(int))

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __repr__(self):
        body = np.array2string(self._value(), separator=", ", prefix="Array(")
        return f"Array({body}, dtype={self.dtype})"

    __str__ = __repr__

    def __reduce__(self):
        from .creation import asarray
        if self._node.device is not None:
            return (_restore, (np.array(self._value()), str(self.device)))
        return (asarray, (np.array(self._value()),))

    def __hash__(self):
        raise TypeError("unhashable type: 'Array'")

    # ---- NumPy's protocols (NEP 13, NEP 18) and the NumPy-style methods that NumPy-API code
    # (Dask's chunk functions) calls; they follow NumPy's semantics: see arrayforge/_interop.py
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from ._interop import array_ufunc
        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from ._interop import array_function
        return array_function(func, types, args, kwargs)

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        """NumPy's ``ndarray.astype`` (the namespace's ``astype(x, dtype)`` is the standard one)."""
        from ._interop import _astype
        return _astype(self, dtype, copy=copy)

    def reshape(self, *shape, order="C", copy=None):
        from ._interop import _reshape
        return _reshape(self, shape[0] if len(shape) == 1 else shape, order, copy=copy)

    def transpose(self, *axes):
        from ._interop import _transpose
        return _transpose(self, (axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes) or None)

    def ravel(self, order="C"):
        from ._interop import _ravel
        return _ravel(self, order)

    def copy(self, order="C"):
        from ._interop import _copy
        return _copy(self)

    def squeeze(self, axis=None):
        from ._interop import _squeeze
        return _squeeze(self, axis)

    def swapaxes(self, axis1, axis2):
        from .manipulation import moveaxis
        return moveaxis(self, (axis1, axis2), (axis2, axis1))

    def flatten(self, order="C"):
        return self.ravel(order)

    def dot(self, b, out=None):
        from ._interop import _dot
        return _dot(self, b, out)

    def conj(self):
        return ew.conj(self)

    conjugate = conj

    def clip(self, min=None, max=None, out=None, **kwargs):
        from ._interop import _clip
        return _clip(self, min, max, out, **kwargs)

    def round(self, decimals=0, out=None):
        from ._interop import _round
        return _round(self, decimals, out)

    def cumsum(self, axis=None, dtype=None, out=None):
        from ._interop import _cumulative
        return _cumulative("cumsum")(self, axis, dtype, out)

    def cumprod(self, axis=None, dtype=None, out=None):
        from ._interop import _cumulative
        return _cumulative("cumprod")(self, axis, dtype, out)

    def nonzero(self):
        from ._interop import _nonzero
        return _nonzero(self)

    def item(self, *args):
        return self._value().item(*args)

    # ---- indexing
    def __getitem__(self, key):
        return _getitem(self, key)

    def __setitem__(self, key, value):
        """Functional update: records a new value and rebinds this array to it."""
        self._rebind(_setitem(self, key, value))

    # ---- operators are installed below from the element-wise table


def _restore(value, device):
    from .creation import asarray
    return asarray(value, device=device)


def _binop(fn, reflected=False):
    # Note: a NumPy array operand gives NotImplemented, so NumPy's reflected operator calls
    # __array_ufunc__, which converts it (arrayforge wins, with NumPy's promotion).
    if reflected:
        def method(self, other):
            if _numpy_operand(other):
                return NotImplemented
            return fn(other, self)
        return method
    op = getattr(fn, "op", None)
    if op is None or op is Op.POW:     # not a table function, or x ** 2 (rewritten by the function)
        return lambda self, other: NotImplemented if _numpy_operand(other) else fn(self, other)
    allowed, bool_result = fn.allowed, fn.bool_result

    def method(self, other):
        # Fast path of the two commonest cases; everything else goes through ``fn``.
        t = type(other)
        b1 = self._buf
        if b1 is None:
            n1 = self._node
            b1 = n1.buffer
        if b1 is not None:          # small work on realized values runs at once
            d = b1.dtype
            if t is Array:
                b2 = other._buf
                if b2 is None:
                    b2 = other._node.buffer
                if b2 is not None and b2.dtype == d and b1.shape == b2.shape and d in allowed:
                    r = ufunc_now(op, b1, b2)
                    if r is not None:
                        out = _new_array(Array)
                        out._buf = r
                        return out
            elif t is float and d.kind == "f" and d in allowed:
                # (a Python float is what NumPy casts fastest; float32 gets the constant's rounding)
                r = ufunc_now(op, b1, other if d is _FLOAT64 else d.type(other))
                if r is not None:
                    out = _new_array(Array)
                    out._buf = r
                    return out
            n1 = self._node
        d = n1.dtype
        if t is Array:
            n2 = other._node
            if d != n2.dtype or n1.shape != n2.shape or d not in allowed:
                return fn(self, other)
        elif t is float and d.kind == "f" and d in allowed:
            n2 = scalar_node(other, d)
        elif _numpy_operand(other):
            return NotImplemented
        else:
            return fn(self, other)
        out = _new_array(Array)
        out._node = new_node(op, dt.bool if bool_result else d, n1.shape, (n1, n2))
        out._buf = None
        return out
    return method


def _numpy_operand(x):
    """A NumPy array or a NumPy scalar that is not a Python scalar (np.float32(2), not np.float64(2))."""
    return isinstance(x, (np.ndarray, np.generic)) and not isinstance(x, (int, float, complex))


_new_array = object.__new__


def _eager(buf):
    """The Array of an eager result ``buf`` (see :class:`Array`)."""
    out = _new_array(Array)
    out._buf = buf
    return out
_FLOAT64 = np.dtype(np.float64)


def _inplace(fn):
    def method(self, other):
        out = fn(self, other)
        if out.dtype != self.dtype:
            raise TypeError(f"in-place operation would change the dtype {self.dtype} to {out.dtype}")
        if out.shape != self.shape:
            raise ValueError(f"in-place operation would change the shape {self.shape} to {out.shape}")
        self._rebind(out)
        return self
    return method


_OPERATORS = {
    "add": ew.add, "sub": ew.subtract, "mul": ew.multiply, "truediv": ew.divide,
    "floordiv": ew.floor_divide, "mod": ew.remainder, "pow": ew.pow, "and": ew.bitwise_and,
    "or": ew.bitwise_or, "xor": ew.bitwise_xor, "lshift": ew.bitwise_left_shift,
    "rshift": ew.bitwise_right_shift,
}
for _name, _fn in _OPERATORS.items():
    setattr(Array, f"__{_name}__", _binop(_fn))
    setattr(Array, f"__r{_name}__", _binop(_fn, reflected=True))
    setattr(Array, f"__i{_name}__", _inplace(_fn))
for _name, _fn in {"eq": ew.equal, "ne": ew.not_equal, "lt": ew.less, "le": ew.less_equal,
                   "gt": ew.greater, "ge": ew.greater_equal}.items():
    setattr(Array, f"__{_name}__", _binop(_fn))
Array.__neg__ = lambda self: ew.negative(self)
Array.__pos__ = lambda self: ew.positive(self)
Array.__abs__ = lambda self: ew.abs(self)
Array.__invert__ = lambda self: ew.bitwise_invert(self)


def _matmul(a, b):
    from ._contract import matmul
    return matmul(a, b)


def _numpy_method(name):
    """NumPy's ``ndarray.<name>`` reduction method: the ``numpy.<name>`` implementation of
    arrayforge/_interop.py (the methods take the functions' arguments after the array, in
    the same order), so it is computed at once like the function."""
    def method(self, *args, **kwargs):
        from ._interop import numpy_function
        return numpy_function(getattr(np, name))(self, *args, **kwargs)
    method.__name__ = name
    method.__doc__ = f"NumPy's ``ndarray.{name}``: computed at once (see arrayforge/_interop.py)."
    return method


for _name in ("sum", "prod", "mean", "std", "var", "max", "min", "any", "all", "argmax", "argmin"):
    setattr(Array, _name, _numpy_method(_name))

Array.__matmul__ = _binop(_matmul)
Array.__rmatmul__ = _binop(_matmul, reflected=True)


def _normalize_key(x, key):
    """Basic-index key -> (per-dim (start, stop, step), final shape), or None when the key
    needs advanced indexing."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(isinstance(k, Array) or isinstance(k, (list, np.ndarray)) for k in key):
        return None
    n_ell = sum(k is Ellipsis for k in key)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(1 for k in key if k is not None and k is not Ellipsis)
    if consumed > x.ndim:
        raise IndexError(f"too many indices for array: array is {x.ndim}-dimensional, "
                         f"but {consumed} were indexed")
    if n_ell == 0:
        key = key + (Ellipsis,)
    slices, shape = [], []
    dim = 0
    for k in key:
        if k is Ellipsis:
            for _ in range(x.ndim - consumed):
                n = x.shape[dim]
                slices.append((0, n, 1))
                shape.append(n)
                dim += 1
            continue
        if k is None:
            shape.append(1)
            continue
        n = x.shape[dim]
        if isinstance(k, slice):
            start, stop, step = k.indices(n)
            length = len(range(start, stop, step))
            slices.append((start, stop if stop >= 0 else None, step))
            shape.append(length)
        else:
            if isinstance(k, bool) or isinstance(k, np.bool_):
                return None
            try:
                i = operator.index(k)
            except TypeError:
                raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and "
                                 f"integer or boolean arrays are valid indices, got {k!r}") from None
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis {dim} with size {n}")
            i %= n
            slices.append((i, i + 1, 1))
        dim += 1
    if len(shape) > MAX_NDIM:       # Note: NumPy raises IndexError here (ValueError elsewhere)
        raise IndexError(f"number of dimensions must be within [0, {MAX_NDIM}], "
                         f"indexing result would have {len(shape)}")
    return tuple(slices), tuple(shape)


def _getitem(x, key):
    norm = _normalize_key(x, key)
    if norm is None:
        return _advanced_getitem(x, key)
    slices, shape = norm
    node = x._node
    full = tuple((0, n, 1) for n in x.shape)
    if slices != full:
        sliced = tuple(len(range(*(s[0], s[1] if s[1] is not None else -1, s[2]))) for s in slices)
        node = view(Op.SLICE, node, sliced, slices)
    return Array._new(reshape_node(node, shape)) if node.shape != shape else Array._new(node)


def _advanced_getitem(x, key):
    from .indexing import getitem
    return getitem(x, key)


def _setitem(x, key, value):
    from .indexing import setitem
    norm = _normalize_key(x, key)
    return setitem(x, key, value, basic_shape=norm[1] if norm is not None else None)
