"""Element-wise functions, generated from tables of ``name -> (op, dtype category)``."""
import sys

import numpy as np

from lowering import Op, const_node, ufunc_now

from . import _dtypes as dt
from ._graph import as_operands, cast, check_array, record
from ._sparse_dispatch import any_sparse as _any_sparse, call as _sparse_call, is_sparse as _is_sparse
from . import _array  # noqa: E402  (circular at import time; used at call time)

_BINARY = {
    "add": (Op.ADD, "numeric"), "subtract": (Op.SUB, "numeric"), "multiply": (Op.MUL, "numeric"),
    "divide": (Op.DIV, "floating-point"), "floor_divide": (Op.FLOORDIV, "real numeric"),
    "remainder": (Op.REMAINDER, "real numeric"), "pow": (Op.POW, "numeric"),
    "maximum": (Op.MAXIMUM, "real numeric"), "minimum": (Op.MINIMUM, "real numeric"),
    "atan2": (Op.ATAN2, "real floating-point"), "hypot": (Op.HYPOT, "real floating-point"),
    "copysign": (Op.COPYSIGN, "real floating-point"), "logaddexp": (Op.LOGADDEXP, "real floating-point"),
    "nextafter": (Op.NEXTAFTER, "real floating-point"),
    "equal": (Op.EQ, "all"), "not_equal": (Op.NE, "all"), "less": (Op.LT, "real numeric"),
    "less_equal": (Op.LE, "real numeric"), "greater": (Op.GT, "real numeric"),
    "greater_equal": (Op.GE, "real numeric"),
    "logical_and": (Op.LOGICAL_AND, "boolean"), "logical_or": (Op.LOGICAL_OR, "boolean"),
    "logical_xor": (Op.LOGICAL_XOR, "boolean"),
    "bitwise_and": (Op.BITWISE_AND, "integer or boolean"), "bitwise_or": (Op.BITWISE_OR, "integer or boolean"),
    "bitwise_xor": (Op.BITWISE_XOR, "integer or boolean"),
    "bitwise_left_shift": (Op.LSHIFT, "integer"), "bitwise_right_shift": (Op.RSHIFT, "integer"),
}
_COMPARISONS = {Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE}

_UNARY = {
    "abs": (Op.ABS, "numeric"), "negative": (Op.NEG, "numeric"), "sqrt": (Op.SQRT, "floating-point"),
    "square": (Op.SQUARE, "numeric"), "reciprocal": (Op.RECIPROCAL, "floating-point"),
    "exp": (Op.EXP, "floating-point"), "expm1": (Op.EXPM1, "floating-point"),
    "log": (Op.LOG, "floating-point"), "log1p": (Op.LOG1P, "floating-point"),
    "log2": (Op.LOG2, "floating-point"), "log10": (Op.LOG10, "floating-point"),
    "sin": (Op.SIN, "floating-point"), "cos": (Op.COS, "floating-point"), "tan": (Op.TAN, "floating-point"),
    "asin": (Op.ASIN, "floating-point"), "acos": (Op.ACOS, "floating-point"),
    "atan": (Op.ATAN, "floating-point"), "sinh": (Op.SINH, "floating-point"),
    "cosh": (Op.COSH, "floating-point"), "tanh": (Op.TANH, "floating-point"),
    "asinh": (Op.ASINH, "floating-point"), "acosh": (Op.ACOSH, "floating-point"),
    "atanh": (Op.ATANH, "floating-point"),
    "floor": (Op.FLOOR, "real numeric"), "ceil": (Op.CEIL, "real numeric"),
    "trunc": (Op.TRUNC, "real numeric"), "round": (Op.ROUND, "numeric"),
    "sign": (Op.SIGN, "numeric"), "signbit": (Op.SIGNBIT, "real floating-point"),
    "isnan": (Op.ISNAN, "numeric"), "isinf": (Op.ISINF, "numeric"), "isfinite": (Op.ISFINITE, "numeric"),
    "logical_not": (Op.LOGICAL_NOT, "boolean"), "bitwise_invert": (Op.INVERT, "integer or boolean"),
    "conj": (Op.CONJ, "numeric"), "real": (Op.REAL, "numeric"), "imag": (Op.IMAG, "complex floating-point"),
    "positive": (None, "numeric"),
}
_BOOL_RESULT = {Op.ISNAN, Op.ISINF, Op.ISFINITE, Op.SIGNBIT, Op.LOGICAL_NOT}
_TO_REAL = {Op.ABS, Op.REAL, Op.IMAG}
# ops that are the identity on integers (and bool for none) / constant on integers
_IDENTITY_ON_INT = {Op.FLOOR, Op.CEIL, Op.TRUNC, Op.ROUND}
_CONST_ON_NON_FLOAT = {Op.ISNAN: False, Op.ISINF: False, Op.ISFINITE: True}


def _make_binary(name, op, category):
    def func(x1, x2, /):
        if (type(x1) is not _array.Array or type(x2) is not _array.Array) and _any_sparse(x1, x2):
            return _sparse_call(name, x1, x2)
        if op is Op.POW and isinstance(x2, (int, float)) and not isinstance(x2, bool) and x2 == 2 \
                and not isinstance(x1, (int, float, complex)):
            return square(x1) if x1.dtype.kind in "fc" or isinstance(x2, int) else pow(x1, float(x2))
        n1, n2, dtype, shape = as_operands(x1, x2, category, name)
        if op is Op.POW and dtype.kind in "iu" and n2.op is Op.CONST and n2.buffer is None and n2.arg < 0:
            # NumPy's error, raised by the recording call for a constant exponent (for an array
            # exponent with negative values the kernels give a defined value: see interpret._power)
            raise ValueError("Integers to negative integer powers are not allowed.")
        return record(op, dt.bool if op in _COMPARISONS else dtype, shape, (n1, n2))
    # for the operator fast path in _array (same dtype and shape, or an array and a float)
    func.op, func.allowed, func.bool_result = op, dt.CATEGORIES[category], op in _COMPARISONS
    return func


def _make_unary(name, op, category):
    # the float dtypes for which this function is the plain op with the input's dtype
    plain = frozenset(d for d in dt.CATEGORIES[category] if d.kind == "f") \
        if op is not None and op not in _BOOL_RESULT else frozenset()

    def func(x, /):
        if type(x) is _array.Array:
            b = x._buf
            if b is None:
                b = x._node.buffer
            if b is not None and b.dtype in plain:
                r = ufunc_now(op, b)        # small work on a realized value runs at once
                if r is not None:
                    return _array._eager(r)
        if type(x) is not _array.Array and _is_sparse(x):
            return _sparse_call(name, x)
        check_array(x, name, category)
        if op is None or (op is Op.CONJ and x.dtype.kind != "c") or (op is Op.REAL and x.dtype.kind != "c"):
            return x       # Note: positive, and conj/real of real arrays, return the input unchanged
        if op in _IDENTITY_ON_INT and x.dtype.kind in "iub":
            return x
        if op in _CONST_ON_NON_FLOAT and x.dtype.kind in "iub":
            from .creation import full
            return full(x.shape, _CONST_ON_NON_FLOAT[op], dtype=dt.bool)
        if op is Op.ABS and x.dtype.kind in "ub":
            return x
        out = dt.bool if op in _BOOL_RESULT else x.dtype
        if op in _TO_REAL and x.dtype.kind == "c":
            out = dt._complex_to_real[x.dtype]
        return record(op, out, x.shape, (x._node,))
    return func


def _install(table, maker):
    module = sys.modules[__name__]
    names = []
    for name, (op, category) in table.items():
        fn = maker(name, op, category)
        fn.__name__ = fn.__qualname__ = name
        fn.__module__ = "arrayforge"     # pickles by reference as arrayforge.<name>
        fn.__doc__ = (f"Element-wise ``{name}`` (Array API standard), defined for {category} dtypes.\n\n"
                      f"Recorded lazily; fuses with neighbouring element-wise ops.")
        setattr(module, name, fn)
        names.append(name)
    return names


__all__ = _install(_BINARY, _make_binary) + _install(_UNARY, _make_unary)


def clip(x, /, min=None, max=None):
    """Clamp ``x`` to ``[min, max]`` (NaN propagates, as in NumPy)."""
    check_array(x, "clip", "real numeric")
    out = x
    if min is not None:
        out = maximum(out, min) if not isinstance(min, (int, float)) else _clip_scalar(out, min, maximum)
    if max is not None:
        out = minimum(out, max) if not isinstance(max, (int, float)) else _clip_scalar(out, max, minimum)
    if out.dtype != x.dtype:
        raise TypeError("clip bounds must not change the dtype of x")
    return out


def _clip_scalar(x, bound, fn):
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        bound = int(np.clip(bound, info.min, info.max)) if float(bound) == int(bound) else bound
    return fn(x, bound)


def where(condition, x1, x2, /):
    """Select ``x1`` where ``condition`` is true, else ``x2`` (scalars allowed for x1/x2)."""
    from ._graph import broadcast_shapes, expand
    if not isinstance(condition, _array.Array) or condition.dtype != dt.bool:
        raise TypeError("where: condition must be a boolean array")
    n1, n2, dtype, shape = as_operands(x1, x2, "all", "where")
    shape = broadcast_shapes(condition.shape, shape)
    return record(Op.WHERE, dtype, shape, (expand(condition._node, shape), expand(n1, shape), expand(n2, shape)))


for _f in (clip, where):
    _f.__module__ = "arrayforge"
__all__ += ["clip", "where"]
del _f, const_node, cast
