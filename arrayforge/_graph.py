"""Recording helpers shared by every chapter: validation, broadcasting, node creation."""
import math
import operator
import sys

import numpy as np

from lowering import Op, OpKind, const_node, make_node, realize, realize_deep, run_now
from lowering import ir
from lowering.ir import COSTLY, device_name

from . import _dtypes as dt
from . import _array  # noqa: E402  (circular at import time; used at call time)

MAX_NDIM = ir.MAX_NDIM
MAX_DEPTH = 256       # graphs deeper than this are realized as they are recorded


def check_shape(shape, dtype=None):
    """Validate a shape argument the way NumPy does, before anything is allocated."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"shape must be a sequence of integers, got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"negative dimensions are not allowed: {shape}")
    ir.check_shape(shape, np.dtype(dtype if dtype is not None else "u1"))
    return shape


def check_array(x, name, category):
    """TypeError unless ``x`` is an arrayforge array of a dtype in the standard's ``category``."""
    if not isinstance(x, _array.Array):
        from ._sparse_dispatch import unsupported
        raise unsupported(name, x)
    if x.dtype not in dt.CATEGORIES[category]:
        raise TypeError(f"{name} is only defined for {category} dtypes, got {x.dtype}")


def broadcast_shapes(*shapes):
    """The broadcast shape of ``shapes``; ValueError naming them if incompatible."""
    if len(shapes) == 2 and shapes[0] == shapes[1]:
        return tuple(shapes[0])
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(ndim):
        size = 1
        for s in shapes:
            d = s[len(s) - ndim + i] if len(s) - ndim + i >= 0 else 1
            if d != 1:
                if size != 1 and d != size:
                    raise ValueError("operands could not be broadcast together with shapes "
                                     + " ".join(str(tuple(x)) for x in shapes))
                size = d
        out.append(size)
    return tuple(out)


def bounded(node):
    """Realize ``node`` now if its graph grew deeper than MAX_DEPTH (bounds compile time and
    memory of long chains); returns it."""
    if node.depth > MAX_DEPTH and node.buffer is None:
        realize_deep(node)
    return node


def new_node(op, dtype, shape, inputs=(), arg=None):
    """The node for one validated operation: the door every recording goes through.

    Small work on realized inputs runs at once (the runtime's eager tier, ``run_now``) and
    becomes a leaf; anything else is recorded (and realized if the graph grew too deep)."""
    if inputs:
        leaf = run_now(op, dtype, shape, inputs, arg)
        if leaf is not None:
            return leaf
    try:
        return bounded(make_node(op, dtype, shape, inputs, arg))
    except NotImplementedError as exc:      # an op with no kernel on the operands' device
        raise NotImplementedError(f"{public_name()}: {exc}") from None


def public_name():
    """The arrayforge function the user called (the outermost arrayforge frame on the stack),
    for messages raised deep in recording."""
    frame, name = sys._getframe(1), "arrayforge"
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module == "arrayforge" or module.startswith("arrayforge."):
            code = frame.f_code.co_name
            if not code.startswith(("_", "<")) and code not in ("method", "wrapper"):
                name = code
        frame = frame.f_back
    return name


def check_host(name, nodes):
    """NotImplementedError unless every node is on the host: ``name`` runs host code
    (NumPy, SciPy, BLAS) that has no GPU kernel yet.  Never a silent round trip."""
    for n in nodes:
        if n.device is not None:
            raise NotImplementedError(
                f"{name} is not implemented for device {device_name(n.device)} yet (it has no GPU "
                "kernel); move the array explicitly with x.to_device('cpu') and back with "
                "to_device('cuda')")


def record(op, dtype, shape, inputs=(), arg=None):
    """Record one node and return the Array for it."""
    return _array.Array._new(new_node(op, dtype, shape, inputs, arg))


_ELEMENTWISE = (OpKind.UNARY, OpKind.BINARY, OpKind.TERNARY)
# Broadcasting through these would repeat costly work per broadcast element; other views never add work.
_NO_EXPAND_THROUGH = COSTLY
PUSH_BUDGET = 32


def view(op, node, shape, arg):
    """Record a view of ``node``.  Views of unrealized element-wise work are pushed down to
    its inputs (``(a*b).T`` records ``a.T * b.T``), so they stay index maps inside one fused
    kernel instead of forcing ``a*b`` to be materialized.  The rewrite is bounded (at most
    PUSH_BUDGET new nodes), so recording stays O(1) per call."""
    if node.shape == shape and (op is Op.RESHAPE or op is Op.EXPAND):
        return node
    if node.op is Op.CONST and node.buffer is None:      # a view of a constant is a constant
        return const_node(node.arg, node.dtype, shape)
    if node.buffer is not None:
        return new_node(op, node.dtype, shape, (node,), arg)

    def pushable(n):
        return (n.buffer is None and n.op.kind in _ELEMENTWISE
                and not (op is Op.EXPAND and n.op in _NO_EXPAND_THROUGH))

    # All or nothing: push only when the whole element-wise region below fits the budget.  A
    # region cut part-way would materialize an arbitrary inner node (recomputed by every later
    # view, e.g. a periodic ``float(x[0])`` in a loop); viewing the top materializes ``node``
    # itself, which the runtime keeps when the user holds it, and later work starts from it.
    seen, stack = set(), [node]
    while stack:
        n = stack.pop()
        if n in seen or not pushable(n):
            continue
        seen.add(n)
        if len(seen) > PUSH_BUDGET:
            return bounded(make_node(op, node.dtype, shape, (node,), arg))
        stack.extend(n.inputs)
    memo = {}

    def push(n):
        if n in memo:
            return memo[n]
        if n.op is Op.CONST and n.buffer is None:    # 0-d constants are scalar operands
            out = n if n.shape == () else const_node(n.arg, n.dtype, shape)
        elif n in seen:
            out = make_node(n.op, n.dtype, shape, [push(i) for i in n.inputs], n.arg)
        else:
            out = make_node(op, n.dtype, shape, (n,), arg)
        memo[n] = out
        return out

    # Note: the recursion depth is bounded by PUSH_BUDGET, not by the graph's depth.
    return bounded(push(node))


def cast(node, dtype):
    if node.dtype == dtype:
        return node
    if node.op is Op.CONST and node.buffer is None:
        return const_node(np.asarray(node.arg).astype(dtype).item(), dtype, node.shape)
    return new_node(Op.CAST, dtype, node.shape, (node,))


def expand(node, shape):
    """Broadcast ``node`` to ``shape``: unit dims prepended by reshape, then EXPAND."""
    if node.shape == shape:
        return node
    if node.op is Op.CONST and node.buffer is None:
        # a 0-d constant stays a scalar operand: kernels take constants as scalar arguments
        return node if node.shape == () else const_node(node.arg, node.dtype, shape)
    if len(node.shape) < len(shape):
        new = (1,) * (len(shape) - len(node.shape)) + node.shape
        node = view(Op.RESHAPE, node, new, new)
        if new == shape:
            return node
    return view(Op.EXPAND, node, shape, shape)


def reshape_node(node, shape):
    return view(Op.RESHAPE, node, shape, shape)


def normalize_axis(axis, ndim, allow_none=True):
    """Axis argument to a sorted tuple of non-negative axes (AxisError as NumPy)."""
    if axis is None:
        if not allow_none:
            raise TypeError("axis must be an integer")
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool) else tuple(axis)
    out = []
    for a in axes:
        a = operator.index(a)
        if not -ndim <= a < max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for array of dimension {ndim}")
        if ndim == 0:
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for array of dimension 0")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate value in 'axis': {axis}")
    return tuple(sorted(out))


_SCALARS: dict = {}


def scalar_node(value, dtype):
    """A 0-d constant, memoized: recording ``x * 0.5`` in a loop reuses one node."""
    t = type(value)
    # keep 0.0 and -0.0 (and complex zeros) apart: they compare equal
    key = (dtype.char, t, value, math.copysign(1.0, value) if t is float else repr(value) if t is complex else 0)
    node = _SCALARS.get(key)
    if node is None or node.buffer is not None:
        # (the interned constant is shared with full()/asarray(): once something realized it,
        # it is a 0-d leaf that kernels would read as an operand, not a scalar argument)
        if len(_SCALARS) > 4096:
            _SCALARS.clear()
        node = _SCALARS[key] = const_node(value, dtype, ())
    return node


def as_operands(x1, x2, category, name):
    """Promote two operands (Arrays or Python scalars) per the standard; returns nodes and dtype."""
    array_type = _array.Array
    if type(x1) is array_type:      # fast paths: same dtype and shape, or an array and a float
        n1 = x1._node
        t2 = type(x2)
        if t2 is array_type:
            n2 = x2._node
            if n1.dtype == n2.dtype and n1.shape == n2.shape and n1.dtype in dt.CATEGORIES[category]:
                return n1, n2, n1.dtype, n1.shape
        elif t2 is float and n1.dtype.kind == "f" and n1.dtype in dt.CATEGORIES[category]:
            return n1, scalar_node(x2, n1.dtype), n1.dtype, n1.shape
    a1, a2 = isinstance(x1, _array.Array), isinstance(x2, _array.Array)
    if not a1 and not a2:
        raise TypeError(f"{name}: at least one argument must be an array")
    if a1 and a2:
        dtype = dt.promote(x1.dtype, x2.dtype)
        n1, n2 = x1._node, x2._node
    else:
        arr, scalar = (x1, x2) if a1 else (x2, x1)
        if not isinstance(scalar, (bool, int, float, complex)):
            raise TypeError(f"{name}: unsupported operand type {type(scalar).__name__!r}; "
                            "use an arrayforge array or a Python scalar")
        if arr.dtype not in dt.CATEGORIES[category]:     # the dtype category is checked first
            raise TypeError(f"{name} is only defined for {category} dtypes, got {arr.dtype}")
        dtype = dt.scalar_dtype_for(scalar, arr.dtype)
        sn = scalar_node(scalar, dtype)
        n1, n2 = (arr._node, sn) if a1 else (sn, arr._node)
    allowed = dt.CATEGORIES[category]
    for n in (n1, n2):
        if n.dtype not in allowed and not (n.op is Op.CONST and dtype in allowed):
            raise TypeError(f"{name} is only defined for {category} dtypes, got {n.dtype}")
    if dtype not in allowed:
        raise TypeError(f"{name} is only defined for {category} dtypes, got {dtype}")
    shape = broadcast_shapes(n1.shape, n2.shape)
    return expand(cast(n1, dtype), shape), expand(cast(n2, dtype), shape), dtype, shape


def extern(fn, params, dtype, shape, inputs=()):
    """Record an EXTERN node: ``fn(*input_buffers, *params)`` runs (NumPy) when the plan runs.

    ``fn`` must be a module-level function (plans and pickles refer to it by name)."""
    nodes = tuple(i._node if isinstance(i, _array.Array) else i for i in inputs)
    check_host(public_name(), nodes)
    return record(Op.EXTERN, dtype, shape, nodes, (fn, tuple(params)))


def _run_packed(*args):
    """Run a several-output function and pack its results into one flat buffer."""
    *inputs, fn, params, pack = args
    outs = fn(*inputs, *params)
    if not outs:
        return np.empty(0, pack)
    return np.concatenate([np.asarray(o).astype(pack, copy=False).ravel() for o in outs])


def extern_outputs(fn, params, outputs, inputs=()):
    """Record one EXTERN computing several floating-point arrays (``fn`` returns a tuple).

    The results are packed into one flat buffer of their common dtype and read back as
    views, so the work runs once however many of them are used.  ``outputs`` is a list of
    (dtype, shape); returns one Array per output."""
    pack = np.result_type(*[d for d, _ in outputs])
    sizes = [math.prod(s) for _, s in outputs]
    packed = extern(_run_packed, (fn, tuple(params), pack), pack, (sum(sizes),), inputs)._node
    results, start = [], 0
    for (dtype, shape), n in zip(outputs, sizes):
        node = packed if n == packed.shape[0] else view(Op.SLICE, packed, (n,), ((start, start + n, 1),))
        node = cast(reshape_node(node, tuple(shape)), np.dtype(dtype))
        results.append(_array.Array._new(node))
        start += n
    return results


def concrete(x):
    """The NumPy value of ``x`` now (realizes it): for data-dependent shapes and for
    validating index values at the recording call."""
    check_host(public_name(), (x._node,))
    return realize([x._node])[0]


def check_axis(axis, ndim, name="axis"):
    """One integer axis in ``[-ndim, ndim)`` -> non-negative (AxisError otherwise)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"{name} {axis} is out of bounds for array of dimension {ndim}")
    return int(axis) % ndim
