"""The NumPy executor: runs a kernel's ops one by one with NumPy, no compile.

It is the interpreter tier for small or cold work and the oracle the compiled
kernels are tested against: every rule here (dtype of each step, NaN, wrapping)
is what the generated code must reproduce.
"""
import numpy as np

from .ir import Op


def _float_kind(dt):
    return dt.kind in "fc"


def _floor(x):
    return np.floor(x) if _float_kind(x.dtype) else x


def _shift(fn):
    def run(a, b):
        bits = a.dtype.itemsize * 8
        ok = (b >= 0) & (b < bits)
        out = fn(a, np.where(ok, b, 0).astype(b.dtype, copy=False))
        fill = (a * 0 - (a < 0).astype(a.dtype)) if fn is np.right_shift else a * 0
        return np.where(ok, out, fill)
    return run


def _floor_divide(a, b):
    out = np.floor_divide(a, b)
    if out.dtype.kind == "f":
        # The standard's special cases where NumPy differs: one infinite operand gives the
        # signed infinity or zero of the true quotient (NumPy: NaN, or -1 for -1 // inf).
        one_inf = (np.isinf(a) & np.isfinite(b) & (b != 0)) | (np.isinf(b) & np.isfinite(a) & (a != 0))
        if one_inf.any():
            out = np.where(one_inf, np.true_divide(a, b, dtype=out.dtype), out)
    return out


def _power(a, b):
    """``np.power``, except that an integer base to a negative integer exponent (NumPy: a
    ValueError at compute time) gives the value the compiled kernels give: the true power
    truncated toward zero, ``1 ** -n == 1``, ``(-1) ** -n == +-1``, else 0 (``0 ** -n`` too)."""
    if np.result_type(a, b).kind == "i":
        neg = b < 0
        if np.any(neg):
            out = np.power(a, np.where(neg, 0, b))
            fix = np.where(a == 1, 1, np.where(a == -1, np.where(b & 1, -1, 1), 0))
            return np.where(neg, fix, out).astype(out.dtype)
    return np.power(a, b)


def _truncate(x, bits):
    """x86's cvttsd2si: ``trunc(x)`` as int64 where it fits ``bits`` signed bits, else the most
    negative such integer (NaN too)."""
    lim = 2.0 ** (bits - 1)
    ok = (x >= -lim) & (x < lim)        # (trunc(x) == -lim just above -lim - 1: the same value)
    return np.where(ok, np.where(ok, x, 0).astype(np.int64), np.int64(-2 ** (bits - 1)))


def _float_to_int(x, dt):
    """``x.astype(dt)`` for a float ``x``, with scalar.py's defined values (x86's, NumPy's
    there) where the truncated value does not fit: NaN, +-inf, overflow."""
    info = np.iinfo(dt)
    out = x.astype(dt)
    fits = (x > info.min - 1.0) & (x < info.max + 1.0)
    if fits.all():
        return out
    if dt.itemsize == 8 and dt.kind == "u":
        big = x >= 2.0 ** 63
        wide = np.where(big, _truncate(x - 2.0 ** 63, 64) ^ np.int64(-2 ** 63), _truncate(x, 64))
    elif dt.itemsize == 8:
        wide = _truncate(x, 64)
    elif dt.itemsize == 4 and dt.kind == "u":
        wide = np.where(x >= 2.0 ** 31, _truncate(x - 2.0 ** 31, 32) ^ -2 ** 31, _truncate(x, 32))
    else:
        wide = _truncate(x, 32)
    return np.where(fits, out, wide.astype(dt))      # int64 -> dt wraps


def _sign(x):
    if x.dtype.kind == "c":
        a = np.abs(x)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(a == 0, np.zeros((), x.dtype), x / np.where(a == 0, 1, a))   # sign(+-0+-0j) is +0+0j
    return np.sign(x)


UNARY = {
    Op.NEG: np.negative, Op.ABS: np.abs, Op.SQRT: np.sqrt, Op.SQUARE: np.square,
    Op.RECIPROCAL: np.reciprocal, Op.EXP: np.exp, Op.EXPM1: np.expm1, Op.LOG: np.log,
    Op.LOG1P: np.log1p, Op.LOG2: np.log2, Op.LOG10: np.log10, Op.SIN: np.sin, Op.COS: np.cos,
    Op.TAN: np.tan, Op.ASIN: np.arcsin, Op.ACOS: np.arccos, Op.ATAN: np.arctan, Op.SINH: np.sinh,
    Op.COSH: np.cosh, Op.TANH: np.tanh, Op.ASINH: np.arcsinh, Op.ACOSH: np.arccosh,
    Op.ATANH: np.arctanh, Op.FLOOR: _floor, Op.CEIL: np.ceil, Op.TRUNC: np.trunc, Op.ROUND: np.rint,
    Op.SIGN: _sign, Op.ISNAN: np.isnan, Op.ISINF: np.isinf, Op.ISFINITE: np.isfinite,
    Op.SIGNBIT: np.signbit, Op.LOGICAL_NOT: np.logical_not, Op.INVERT: np.invert,
    Op.CONJ: np.conj, Op.REAL: np.real, Op.IMAG: np.imag,
}

def _complex_expm1(z):
    """expm1 with the standard's complex special cases (NumPy's is exp(z) - 1 in effect)."""
    z = np.asarray(z)
    x, y = z.real, z.imag
    out = np.exp(z) - 1                      # non-finite inputs: Annex G exp, then - 1
    finite = np.isfinite(x) & np.isfinite(y) & (x <= 1)
    if finite.any():                         # accurate near 0: expm1(x) cos y - 2 sin^2(y/2)
        xf, yf = np.where(finite, x, 0), np.where(finite, y, 0)
        near = np.empty(np.shape(z), z.dtype)
        near.real = np.expm1(xf) * np.cos(yf) - 2 * np.sin(yf / 2) ** 2
        near.imag = np.exp(xf) * np.sin(yf)
        out = np.where(finite, near, out)
    zero = (x == 0) & (y == 0)
    if zero.any():
        fixed = np.empty(np.shape(z), z.dtype)
        fixed.real, fixed.imag = 0.0, y
        out = np.where(zero, fixed, out)
    return out


def _complex_tanh(z):
    """tanh with the standard's special case tanh(+-inf + yj) = +-1 + copysign(0, y) j."""
    out = np.tanh(z)
    fix = np.isinf(np.real(z)) & np.isfinite(np.imag(z))
    if fix.any():
        fixed = np.empty(np.shape(out), out.dtype)
        fixed.real, fixed.imag = np.real(out), np.copysign(0.0, np.imag(z))
        out = np.where(fix, fixed, out)
    return out


# complex inputs where NumPy's answer differs from the standard's special cases
COMPLEX_UNARY = {Op.EXPM1: _complex_expm1, Op.TANH: _complex_tanh}

BINARY = {
    Op.ADD: np.add, Op.SUB: np.subtract, Op.MUL: np.multiply, Op.DIV: np.divide,
    Op.FLOORDIV: _floor_divide, Op.REMAINDER: np.remainder, Op.POW: _power,
    Op.MAXIMUM: np.maximum, Op.MINIMUM: np.minimum, Op.ATAN2: np.arctan2, Op.HYPOT: np.hypot,
    Op.COPYSIGN: np.copysign, Op.LOGADDEXP: np.logaddexp, Op.NEXTAFTER: np.nextafter,
    Op.EQ: np.equal, Op.NE: np.not_equal, Op.LT: np.less, Op.LE: np.less_equal,
    Op.GT: np.greater, Op.GE: np.greater_equal, Op.LOGICAL_AND: np.logical_and,
    Op.LOGICAL_OR: np.logical_or, Op.LOGICAL_XOR: np.logical_xor, Op.BITWISE_AND: np.bitwise_and,
    Op.BITWISE_OR: np.bitwise_or, Op.BITWISE_XOR: np.bitwise_xor,
    Op.LSHIFT: _shift(np.left_shift), Op.RSHIFT: _shift(np.right_shift),
}

REDUCE = {Op.SUM: np.add.reduce, Op.PROD: np.multiply.reduce,     # ufunc.reduce: np.sum's
          Op.MAX: np.maximum.reduce, Op.MIN: np.minimum.reduce}   # wrapper costs 1 us more


_ACCUMULATOR = {np.dtype("float32"): np.dtype("float64"), np.dtype("complex64"): np.dtype("complex128")}


def accumulator_dtype(op, dtype):
    """Sums of float32/complex64 accumulate in double precision (products do not: their
    overflow to inf must match NumPy's)."""
    return _ACCUMULATOR.get(dtype, dtype) if op is Op.SUM else dtype


def apply_view(node, array):
    """Apply one VIEW node to a NumPy array; a view, except a reshape NumPy must copy."""
    return apply_view_op(node.op, node.arg, array)


def apply_view_op(op, arg, array):
    if op is Op.RESHAPE:
        return array.reshape(arg)
    if op is Op.PERMUTE:
        return array.transpose(arg)
    if op is Op.EXPAND:
        return np.broadcast_to(array, arg)
    if op is Op.SLICE:
        return array[tuple(slice(*s) for s in arg)]
    raise AssertionError(op)


def evaluate(node, args):
    """Evaluate one non-leaf, non-view node on NumPy arrays (or scalars) ``args``.

    The caller sets ``np.errstate`` once per kernel (NaN/inf are values here, not errors)."""
    ins = node.inputs
    return evaluate_op(node.op, node.dtype, node.shape, ins[0].dtype if ins else None,
                       ins[0].shape if ins else None, node.arg, args)


def evaluate_op(op, dt, shape, in_dtype, in_shape, arg, args):
    """:func:`evaluate` of an op not (yet) recorded as a node: the eager tier calls it."""
    if op in REDUCE:
        x = args[0]
        if type(x) is not np.ndarray or x.ndim != len(in_shape):   # work on constants only: a scalar
            x = np.broadcast_to(x, in_shape)
        keep = len(shape) == len(in_shape)       # the node keeps the reduced dims as 1s, or drops them
        if op is Op.SUM or op is Op.PROD:
            out = REDUCE[op](x, axis=arg, dtype=accumulator_dtype(op, dt), keepdims=keep)
        elif dt == np.bool_:      # all/any: empty reductions have an identity
            out = REDUCE[op](x, axis=arg, keepdims=keep, initial=op is Op.MIN)
        else:
            out = REDUCE[op](x, axis=arg, keepdims=keep)
    elif op is Op.CAST:
        x = args[0]
        if np.asarray(x).dtype.kind == "c" and dt.kind != "c":
            x = x.real if dt != np.bool_ else x
        x = np.asarray(x)
        out = _float_to_int(x, dt) if x.dtype.kind == "f" and dt.kind in "iu" else x.astype(dt)
    elif op in UNARY:
        fn = COMPLEX_UNARY.get(op) if in_dtype.kind == "c" else None
        out = (fn or UNARY[op])(args[0])
    elif op in BINARY:
        out = BINARY[op](args[0], args[1])
    elif op is Op.WHERE:
        out = np.where(args[0], args[1], args[2])
    else:
        raise AssertionError(op)
    if type(out) is not np.ndarray or out.dtype != dt:
        out = np.asarray(out, dtype=dt)
    return out


_COMPLEX_DIRECT = frozenset({Op.NEG, Op.SQUARE, Op.EXP, Op.LOG, Op.SQRT, Op.CONJ})


def direct_ufunc(op, in_dtype):
    """The NumPy ufunc that computes ``op`` on operands of ``in_dtype`` (all of one dtype)
    giving exactly :func:`evaluate_op`'s result, or None where that needs more (casts,
    reductions, the standard's special cases, shifts past the width)."""
    if op is Op.POW and in_dtype.kind in "fc":
        return np.power          # (integer powers need _power's defined values)
    if op in BINARY:
        fn = BINARY[op]
    elif op in UNARY and op is not Op.SIGN and (in_dtype.kind != "c" or op in _COMPLEX_DIRECT):
        fn = UNARY[op]
    else:
        return None
    return fn if isinstance(fn, np.ufunc) else None


def evaluator(node):
    """A function of NumPy arrays computing ``node`` (built once per plan, reused every run),
    or None when the computation depends on sizes (reductions, casts, ...)."""
    direct = direct_ufunc(node.op, node.inputs[0].dtype) if node.inputs else None
    if direct is not None:
        # NumPy returns the node's dtype for same-dtype operands: no cast needed
        if direct.nin == 2:
            return lambda a, b: direct(a, b)
        return lambda a: direct(a)
    return None       # needs the run's own node (its shape): the runtime calls evaluate()


def render_program(kernel, steps, nodes):
    """The Python renderer: one plain Python function per fused kernel for the NumPy executor.

    ``steps`` are (position, input positions, evaluator-or-None).  The function reads this
    run's nodes (sizes, constants) and buffers, so it is built once per plan and reused.
    """
    ns = {"evaluate": evaluate, "reshape": np.reshape}
    lines = ["def program(nodes, buffers, load):"]
    for i, ld in enumerate(kernel.loads + kernel.post_loads):
        if ld.views:
            ns[f"L{i}"] = ld
            lines.append(f"    v{ld.top} = load(L{i}, nodes, buffers, False)")
        else:
            lines.append(f"    v{ld.top} = nodes[{ld.base}].buffer")
            lines.append(f"    if v{ld.top} is None:")
            lines.append(f"        v{ld.top} = buffers[{ld.base}]")
    for p in kernel.consts:
        ns[f"T{p}"] = nodes[p].dtype.type
        lines.append(f"    v{p} = T{p}(nodes[{p}].arg)")
    for view, const in kernel.alias.items():
        lines.append(f"    v{view} = v{const}")
    for p, inputs, fn in steps:
        args = ", ".join(f"v{q}" for q in inputs)
        if fn is not None:
            ns[f"f{p}"] = fn
            lines.append(f"    v{p} = f{p}({args})")
        elif nodes[p].op is Op.RESHAPE:
            lines.append(f"    v{p} = reshape(v{inputs[0]}, nodes[{p}].shape)")
        else:
            lines.append(f"    v{p} = evaluate(nodes[{p}], [{args}])")
    lines.append(f"    return v{kernel.root}")
    exec(compile("\n".join(lines), f"<arrayforge interpreter kernel {kernel.root}>", "exec"), ns)
    return ns["program"]
