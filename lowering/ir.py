"""The IR: one enum of primitive ops, grouped by kind, and interned immutable nodes.

A node is ``(op, dtype, shape, inputs, arg)``.  Nodes are hash-consed: recording the
same operation on the same inputs twice returns the same object, so identical
subexpressions are one node.  The only mutable slot is ``buffer``: once a node is
realized it holds its NumPy result, forgets its inputs, and acts as a leaf.
"""
from __future__ import annotations

import enum
import itertools
import math
import operator
import weakref

import numpy as np


class OpKind(enum.Enum):
    LEAF = "leaf"          # BUFFER, CONST: data enters the graph
    UNARY = "unary"        # elementwise, one input
    BINARY = "binary"      # elementwise, two inputs of one dtype
    TERNARY = "ternary"    # elementwise select
    REDUCE = "reduce"      # reduces axes (arg); its shape keeps them as 1s or drops them
    VIEW = "view"          # reshape / permute / expand / slice: an index map, never a copy
    EXTERN = "extern"      # a NumPy function run as its own kernel (a fusion barrier)
    CONTRACT = "contract"  # a two-operand tensor contraction (BLAS / tiled kernel; a fusion barrier)
    CORRELATE = "correlate"  # direct N-D correlation of an array with one small kernel (a fusion barrier)
    CONV = "conv"          # convolutions, im2col/col2im and padding (lowering.kernels.conv; a fusion barrier)
    SPARSE_MATMUL = "sparse_matmul"  # compressed sparse matrix @ dense vector/matrix (a fusion barrier)


class Op(enum.Enum):
    # leaves
    BUFFER = (OpKind.LEAF, 0)
    CONST = (OpKind.LEAF, 0)
    # unary
    CAST = (OpKind.UNARY, 1)
    NEG = (OpKind.UNARY, 1)
    ABS = (OpKind.UNARY, 1)
    SQRT = (OpKind.UNARY, 1)
    SQUARE = (OpKind.UNARY, 1)
    RECIPROCAL = (OpKind.UNARY, 1)
    EXP = (OpKind.UNARY, 1)
    EXPM1 = (OpKind.UNARY, 1)
    LOG = (OpKind.UNARY, 1)
    LOG1P = (OpKind.UNARY, 1)
    LOG2 = (OpKind.UNARY, 1)
    LOG10 = (OpKind.UNARY, 1)
    SIN = (OpKind.UNARY, 1)
    COS = (OpKind.UNARY, 1)
    TAN = (OpKind.UNARY, 1)
    ASIN = (OpKind.UNARY, 1)
    ACOS = (OpKind.UNARY, 1)
    ATAN = (OpKind.UNARY, 1)
    SINH = (OpKind.UNARY, 1)
    COSH = (OpKind.UNARY, 1)
    TANH = (OpKind.UNARY, 1)
    ASINH = (OpKind.UNARY, 1)
    ACOSH = (OpKind.UNARY, 1)
    ATANH = (OpKind.UNARY, 1)
    FLOOR = (OpKind.UNARY, 1)
    CEIL = (OpKind.UNARY, 1)
    TRUNC = (OpKind.UNARY, 1)
    ROUND = (OpKind.UNARY, 1)
    SIGN = (OpKind.UNARY, 1)
    ISNAN = (OpKind.UNARY, 1)
    ISINF = (OpKind.UNARY, 1)
    ISFINITE = (OpKind.UNARY, 1)
    SIGNBIT = (OpKind.UNARY, 1)
    LOGICAL_NOT = (OpKind.UNARY, 1)
    INVERT = (OpKind.UNARY, 1)
    CONJ = (OpKind.UNARY, 1)
    REAL = (OpKind.UNARY, 1)
    IMAG = (OpKind.UNARY, 1)
    # binary
    ADD = (OpKind.BINARY, 2)
    SUB = (OpKind.BINARY, 2)
    MUL = (OpKind.BINARY, 2)
    DIV = (OpKind.BINARY, 2)
    FLOORDIV = (OpKind.BINARY, 2)
    REMAINDER = (OpKind.BINARY, 2)
    POW = (OpKind.BINARY, 2)
    MAXIMUM = (OpKind.BINARY, 2)
    MINIMUM = (OpKind.BINARY, 2)
    ATAN2 = (OpKind.BINARY, 2)
    HYPOT = (OpKind.BINARY, 2)
    COPYSIGN = (OpKind.BINARY, 2)
    LOGADDEXP = (OpKind.BINARY, 2)
    NEXTAFTER = (OpKind.BINARY, 2)
    EQ = (OpKind.BINARY, 2)
    NE = (OpKind.BINARY, 2)
    LT = (OpKind.BINARY, 2)
    LE = (OpKind.BINARY, 2)
    GT = (OpKind.BINARY, 2)
    GE = (OpKind.BINARY, 2)
    LOGICAL_AND = (OpKind.BINARY, 2)
    LOGICAL_OR = (OpKind.BINARY, 2)
    LOGICAL_XOR = (OpKind.BINARY, 2)
    BITWISE_AND = (OpKind.BINARY, 2)
    BITWISE_OR = (OpKind.BINARY, 2)
    BITWISE_XOR = (OpKind.BINARY, 2)
    LSHIFT = (OpKind.BINARY, 2)
    RSHIFT = (OpKind.BINARY, 2)
    # ternary
    WHERE = (OpKind.TERNARY, 3)
    # reductions: arg = tuple of reduced axes; the output shape keeps them as 1s or drops them
    SUM = (OpKind.REDUCE, 1)
    PROD = (OpKind.REDUCE, 1)
    MAX = (OpKind.REDUCE, 1)
    MIN = (OpKind.REDUCE, 1)
    # views: arg = new shape / permutation / target shape / ((start, step), ...) per dim
    RESHAPE = (OpKind.VIEW, 1)
    PERMUTE = (OpKind.VIEW, 1)
    EXPAND = (OpKind.VIEW, 1)
    SLICE = (OpKind.VIEW, 1)
    # barrier: arg = (picklable function, params); runs fn(*input_arrays, *params)
    EXTERN = (OpKind.EXTERN, -1)
    # contraction: arg = canonical einsum subscripts of the pair, e.g. "abc,acd->abd" (letters renamed
    # by first appearance; a leading "*" conjugates that operand); see lowering.kernels.contract
    CONTRACT = (OpKind.CONTRACT, 2)
    # correlation: inputs (array, kernel); arg = (pads ((lo, hi) per dim), boundary "fill"|"wrap"|"symm",
    # (fill value, its repr), conjugate array?, conjugate kernel?); out[i] = sum_j padded(array)[i + j] *
    # kernel[j]; see lowering.kernels.correlate
    CORRELATE = (OpKind.CORRELATE, 2)
    # convolution family (layout (N, C, *spatial), PyTorch's): see lowering.kernels.conv for each arg.
    # CONV: (x, weight), arg = (stride, pad_before, pad_after, dilation, groups), one int per spatial dim
    CONV = (OpKind.CONV, 2)
    # CONV_TRANSPOSE: (x, weight (C_in, C_out/groups, *k)), arg = (stride, padding, dilation, groups)
    CONV_TRANSPOSE = (OpKind.CONV, 2)
    # UNFOLD (im2col): x (N, C, *spatial) -> (N, C*prod(k), L), arg = (kernel, stride, pad, dilation)
    UNFOLD = (OpKind.CONV, 1)
    # FOLD (col2im, summing overlaps): (N, C*prod(k), L) -> (N, C, *out), arg = (kernel, stride, pad, dilation)
    FOLD = (OpKind.CONV, 1)
    # PAD: arg = (((before, after) per dim), mode "constant"|"reflect"|"edge"|"wrap", constant value)
    PAD = (OpKind.CONV, 1)
    # sparse product: inputs (indptr, indices, data, dense), the first three the CSR structure B of
    # the buffers; arg = "n" (B @ dense) or "t" (B.T @ dense); see lowering.kernels.sparse
    SPARSE_MATMUL = (OpKind.SPARSE_MATMUL, 4)

    def __new__(cls, kind, arity):
        member = object.__new__(cls)
        member._value_ = len(cls.__members__)     # unique: equal (kind, arity) must not alias
        member.kind = kind
        member.arity = arity
        return member

    def __repr__(self):
        return f"Op.{self.name}"

    __hash__ = object.__hash__     # members are singletons; Enum's name hash is slow on the hot path


# Elementwise ops costing far more than a load: not repeated per broadcast element, and
# worth keeping in memory rather than recomputing.
COSTLY = frozenset({Op.EXP, Op.EXPM1, Op.LOG, Op.LOG1P, Op.LOG2, Op.LOG10, Op.SIN, Op.COS, Op.TAN,
                    Op.ASIN, Op.ACOS, Op.ATAN, Op.SINH, Op.COSH, Op.TANH, Op.ASINH, Op.ACOSH,
                    Op.ATANH, Op.POW, Op.ATAN2, Op.HYPOT, Op.LOGADDEXP, Op.SQRT, Op.DIV})


_SEQ = itertools.count()      # creation order: inputs are always created before their users
_next_seq = _SEQ.__next__
_new_node = object.__new__
_KeyedRef = weakref.KeyedRef
_INTERN: dict = {}          # structural key -> weak reference to the unique node


def _forget(ref):
    if _INTERN.get(ref.key) is ref:
        try:
            del _INTERN[ref.key]
        except KeyError:
            pass


class Node:
    """One interned IR node.  Build with :func:`make_node`, never directly.

    ``device`` is None for host (NumPy) values; a :class:`DeviceNode` lives on an accelerator."""
    __slots__ = ("op", "dtype", "shape", "inputs", "arg", "buffer", "depth", "seq", "skey", "_key",
                 "__weakref__")
    device = None

    def __repr__(self):
        state = "realized" if self.buffer is not None else f"{len(self.inputs)} inputs"
        return f"Node({self.op.name}, {self.dtype}, {self.shape}, {state})"

    @property
    def size(self):
        return math.prod(self.shape)

    def realize_as(self, array):
        """Attach the computed buffer; the node becomes a leaf and releases its inputs.

        The node holds a read-only view; the owner stays writeable, so a no-copy export to a
        consumer that cannot be told "read-only" (legacy DLPack) can alias it."""
        array = array.view()
        array.setflags(write=False)     # (~2x faster than flags.writeable = False)
        self.buffer = array
        self.inputs = ()
        self.depth = 0          # a leaf again: a loop that realizes keeps fusing its later steps
        self.skey = ("leaf", self.dtype, len(self.shape))
        key, self._key = self._key, None     # the key holds the inputs: drop it, or every
        if key is not None:                   # realized buffer of a loop's chain stays reachable
            ref = _INTERN.get(key)
            if ref is not None and ref() is self:
                _INTERN.pop(key, None)


MAX_NDIM = 64
_MAX_BYTES = np.iinfo(np.intp).max


def check_shape(shape, dtype):
    """ValueError unless an array of ``shape`` and ``dtype`` can exist, by NumPy's rule: at
    most 64 dims, and the product of the non-zero dims times the itemsize fits ``intp``
    (so ``(2**62, 2**62, 0)`` is rejected as NumPy does, ``(2**62, 0)`` is not).

    :func:`make_node` calls it for every node whose shape is not its input's, so every
    recorded shape is validated here, at the recording call."""
    if len(shape) > MAX_NDIM:
        raise ValueError(f"maximum supported dimension for an array is {MAX_NDIM}, found {len(shape)}")
    size = math.prod(shape)
    if size == 0:
        size = math.prod(s for s in shape if s)
    if size * dtype.itemsize > _MAX_BYTES:
        raise ValueError(f"array is too big: shape {shape} of {dtype} needs more bytes "
                         f"than the largest possible array ({_MAX_BYTES})")


def make_node(op, dtype, shape, inputs=(), arg=None):
    """Return the unique node for ``(op, dtype, shape, inputs, arg)``.

    This is the hottest function of recording: keep it flat (measured ~1 us per new node).
    """
    if not isinstance(dtype, np.dtype):
        dtype = np.dtype(dtype)
    if type(shape) is not tuple:
        shape = tuple(shape)
    if type(inputs) is not tuple:
        inputs = tuple(inputs)
    if op is _CONST_OP:
        key = (op, dtype, shape, inputs, (type(arg), repr(arg)))   # 0.0 vs -0.0; nan != nan
    elif op is _EXTERN_OP:
        key = (op, dtype, shape, inputs, (id(arg[0]), arg[1]))
        try:
            hash(key)
        except TypeError:       # unhashable extern params: never shared
            key = (op, object())
    else:
        key = (op, dtype, shape, inputs, arg)
    # Note: no lock; a lookup racing with an insert only costs a duplicate node (less sharing).
    ref = _INTERN.get(key)
    if ref is not None:
        node = ref()
        if node is not None:
            return node
    if not inputs or shape is not inputs[0].shape or dtype.itemsize > inputs[0].dtype.itemsize:
        check_shape(shape, dtype)         # (an element-wise node of its input's shape is valid)
    device = _device_of(op, dtype, inputs, arg) if _DEVICES_IN_USE[0] and inputs else None
    if device is None:
        node = _new_node(Node)
    else:
        node = _new_node(DeviceNode)
        node.device = device
    node.op = op
    node.dtype = dtype
    node.shape = shape
    node.inputs = inputs
    node.arg = arg
    node.buffer = None
    depth = 0
    for i in inputs:
        if i.depth > depth:
            depth = i.depth
    node.depth = depth + 1 if inputs else 0
    node.seq = _next_seq()
    if op is _CONST_OP:
        node.skey = ("const", dtype, len(shape))
    elif op.kind in _STRUCTURAL_KINDS:
        node.skey = (op, dtype, len(shape), _structural_arg(op, dtype, shape, inputs, arg))
    else:
        node.skey = (op, dtype, len(shape), None)
    node._key = key
    _INTERN[key] = _KeyedRef(node, _forget, key)
    return node


_CONST_OP, _EXTERN_OP, _BUFFER_OP = Op.CONST, Op.EXTERN, Op.BUFFER
_STRUCTURAL_KINDS = {OpKind.REDUCE, OpKind.VIEW}     # and the barrier kinds, as they register
_BARRIER_ARGS: dict = {}      # barrier OpKind -> arg -> its structural part (lowering.kernels)


def register_structural_arg(kind, fn):
    """How a barrier kind's ``arg`` enters the plan key (called by lowering.kernels.register)."""
    _BARRIER_ARGS[kind] = fn
    _STRUCTURAL_KINDS.add(kind)


class Leaf(Node):
    """A buffer entering the graph (:func:`buffer_node`).  What every leaf shares is class
    data, so making one sets 5 slots, not 10 (the eager tier makes one per small op)."""
    __slots__ = ()
    op, inputs, arg, _key, depth = Op.BUFFER, (), None, None, 0


class DeviceNode(Node):
    """A node whose value lives on an accelerator: ``device`` is ``("cuda", ordinal)``.

    A node's device is derived from its inputs when it is recorded (:func:`make_node`), so a
    plan never mixes devices; a device leaf's structural key names its device, so plans and
    kernels of different devices never share a cache entry.  Its ``buffer`` is a contiguous
    device array (numba.cuda), never a NumPy array."""
    __slots__ = ("device",)

    def realize_as(self, array):
        self.buffer = array
        self.inputs = ()
        self.depth = 0
        self.skey = ("leaf", self.dtype, len(self.shape), self.device)
        key, self._key = self._key, None
        if key is not None:
            ref = _INTERN.get(key)
            if ref is not None and ref() is self:
                _INTERN.pop(key, None)


# Set once the first device node exists: until then recording pays nothing for devices.
_DEVICES_IN_USE = [False]
# Kinds every device renders (element-wise, reductions, views, leaves: lowering.cuda); the
# barrier kinds say per node whether they have a kernel there (register_device_check).
_DEVICE_KINDS = frozenset({OpKind.LEAF, OpKind.UNARY, OpKind.BINARY, OpKind.TERNARY, OpKind.REDUCE,
                           OpKind.VIEW})
_DEVICE_CHECKS: dict = {}     # (OpKind, device kind) -> check(op, arg, dtype, inputs) -> reason or None


def register_device_check(kind, device_kind, check):
    """How a barrier kind says whether a node has a kernel on ``device_kind`` ("cuda"):
    ``check(op, arg, dtype, inputs)`` returns None, or why not (called by lowering.kernels)."""
    _DEVICE_CHECKS[kind, device_kind] = check


class DeviceError(ValueError):
    """Operands on different devices (raised when the operation is recorded)."""


def device_name(device):
    return "cpu" if device is None else f"{device[0]}:{device[1]}"


def device_buffer_node(array, device, shape=None):
    """A leaf holding a contiguous device array on ``device`` (``("cuda", ordinal)``) with the
    value's ``shape`` (default: the array's; a 0-d value's buffer has shape (1,))."""
    _DEVICES_IN_USE[0] = True
    node = _new_node(DeviceNode)
    node.op, node.inputs, node.arg, node._key, node.depth = Op.BUFFER, (), None, None, 0
    node.dtype = dtype = np.dtype(array.dtype)
    node.shape = shape = tuple(array.shape) if shape is None else tuple(shape)
    node.seq = _next_seq()
    node.device = device
    node.skey = ("leaf", dtype, len(shape), device)
    node.buffer = array
    return node


def _op_name(op, arg):
    """The name of the operation for messages (an EXTERN's function name)."""
    if op is _EXTERN_OP and type(arg) is tuple and arg and callable(arg[0]):
        return getattr(arg[0], "__name__", "extern").strip("_")
    return op.name.lower()


def _device_of(op, dtype, inputs, arg=None):
    """The device of a node with these inputs (None: the host); DeviceError if they differ,
    NotImplementedError if ``op`` or ``dtype`` has no kernel there.  (Unrealized constants are
    scalars that kernels take as arguments: they belong to every device.)"""
    devices = {i.device for i in inputs if i.device is not None or i.op is not _CONST_OP or i.buffer is not None}
    if len(devices) > 1:
        names = ", ".join(sorted(device_name(d) for d in devices))
        raise DeviceError(f"{op.name.lower()}: operands are on different devices ({names}); "
                          "arrayforge never copies between devices silently: move one explicitly "
                          "with x.to_device(...)")
    device = devices.pop() if devices else None
    if device is not None:
        if op.kind not in _DEVICE_KINDS:
            check = _DEVICE_CHECKS.get((op.kind, device[0]))
            why = "has no kernel" if check is None else check(op, arg, dtype, inputs)
            if why is not None:
                raise NotImplementedError(f"{_op_name(op, arg)} {why} for device {device_name(device)}; "
                                          "move the operands explicitly with x.to_device('cpu')")
    return device


class ArrayMemo:
    """Values derived from read-only NumPy arrays, kept per array object while it lives.

    Keyed by the array's identity (checked through a weak reference, so a new array at a
    reused address misses); at most ``limit`` entries (then it starts over).  For
    immutable inputs only: the sparse classes' frozen index buffers, whose per-structure
    work (a leaf, an SpMV split) is then done once per structure, not once per product."""

    __slots__ = ("_entries", "_limit")

    def __init__(self, limit):
        self._entries = {}
        self._limit = limit

    def get(self, array):
        """The value kept for ``array``, or None."""
        hit = self._entries.get(id(array))
        return hit[1] if hit is not None and hit[0]() is array else None

    def put(self, array, value):
        """Keep ``value`` for ``array`` (read-only); returns ``value``."""
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[id(array)] = (weakref.ref(array), value)
        return value


def buffer_node(array, own=False):
    """A leaf holding an existing NumPy array (never shared with another leaf).

    The leaf keeps a read-only view: the caller's array keeps its own flags.  ``own``: the
    array is the runtime's fresh result, which nothing else references; it is kept as it is
    (setting a flag costs ~0.35 us, as much as a small op) and the front end exports it
    read-only.  Hot on the eager path."""
    if not own:
        array = array.view()
        array.setflags(write=False)
    node = _new_node(Leaf)
    node.dtype = dtype = array.dtype
    node.shape = shape = array.shape
    node.seq = _next_seq()
    node.skey = ("leaf", dtype, len(shape))
    node.buffer = array
    return node


def const_node(value, dtype, shape=()):
    """A scalar ``value`` of ``dtype`` broadcast to ``shape`` (no memory)."""
    dtype = np.dtype(dtype)
    return make_node(Op.CONST, dtype, shape, (), dtype.type(value).item())


def unit_reshape(shape, source_shape):
    """A reshape that only inserts or removes size-1 dims (flat order and dims unchanged)."""
    return [s for s in shape if s != 1] == [s for s in source_shape if s != 1]


def _structural_arg(op, dtype, shape, inputs, arg):
    """The part of ``arg`` that shapes a plan (sizes never do)."""
    kind = op.kind
    if kind is OpKind.REDUCE:
        return arg
    if kind in _BARRIER_ARGS:
        return _BARRIER_ARGS[kind](arg)
    if op is Op.RESHAPE:      # does it only insert/remove unit dims (fusable after a reduce)?
        if not unit_reshape(shape, inputs[0].shape):
            return False
        # where the unit dims sit decides whether a broadcast back is along rows or columns
        return tuple(s == 1 for s in shape), tuple(s == 1 for s in inputs[0].shape)
    return None


def toposort(outputs):
    """Nodes below ``outputs`` in creation order (a topological order); realized nodes are leaves.

    Iterative: collects the reachable set with an explicit stack, then sorts by creation
    sequence number, so a chain of 100,000 nodes needs no recursion.
    """
    seen = set(outputs)             # nodes hash by identity
    stack = list(outputs)
    pop, push, add = stack.pop, stack.append, seen.add
    while stack:
        node = pop()
        if node.buffer is None:
            for inp in node.inputs:
                if inp not in seen:
                    add(inp)
                    push(inp)
    return sorted(seen, key=_seq_of)


_seq_of = operator.attrgetter("seq")
