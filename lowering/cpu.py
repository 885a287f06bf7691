"""CPU renderer: Python source for Numba loop nests over ``prange``.

A kernel is rendered from a :class:`KernelSpec`, a purely structural description
(ops, dtypes, rank, which dims are reduced, which operand dims are broadcast).
Sizes are arguments, so one source serves every size.  Each module holds one
``@njit(parallel=True)`` function with a prange nest for large work and a plain
range nest for small work (a parallel launch costs ~2-4 us), chosen by an argument.
Loop indices are unsigned so LLVM drops the negative-index wraparound and emits
contiguous vector loads instead of gathers.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .interpret import accumulator_dtype
from .ir import Op
from .schedule import CONST, LOAD, POST_LOAD, REDUCED, VALUE

try:
    from . import vmath
except ImportError:      # pragma: no cover
    vmath = None

# ARRAYFORGE_FAST_MATH=0: call libm (bit for bit what math.exp & co. give) instead of the
# vectorised implementations of lowering.vmath.  Read once, at import.
FAST_MATH = os.environ.get("ARRAYFORGE_FAST_MATH", "1").strip().lower() not in ("0", "false", "no", "off")
_VM_UNARY = {Op.EXP: "exp", Op.EXPM1: "expm1", Op.LOG: "log", Op.LOG1P: "log1p", Op.LOG2: "log2",
             Op.LOG10: "log10", Op.SIN: "sin", Op.COS: "cos", Op.TAN: "tan", Op.SINH: "sinh",
             Op.COSH: "cosh", Op.TANH: "tanh", Op.ATAN: "atan", Op.ASIN: "asin", Op.ACOS: "acos"}
_VM_BINARY = {Op.ATAN2: "atan2", Op.POW: "pow", Op.LOGADDEXP: "logaddexp"}


# Checked ops: a cheaper variant valid on a predicate's complement.  Element-wise kernels call
# the cheap one, OR the predicate (``bad``) over a chunk, and redo a flagged chunk with the full
# expression.  sin/cos/tan: Cody-Waite only, bad for |x| > 2**40 (float32: 2**20), where the full
# functions' Payne-Hanek reduction costs ~5x.  Complex exp/sinh/cosh/sin/cos: the textbook
# formula on the vectorised real functions, bad where a part is non-finite or could overflow
# (the full expression is scalar.py's C99 helper, which owns the special values).
_TRIG = frozenset({Op.SIN, Op.COS, Op.TAN})
_VM_COMPLEX = {Op.EXP: ("cexp", "cexp"), Op.SINH: ("csinh", "cexp"), Op.COSH: ("ccosh", "cexp"),
               Op.SIN: ("csin", "csin"), Op.COS: ("ccos", "csin")}


def _vectorised(op, a, table, suffix=""):
    """``vm.<name>_f32/_f64`` for a real float op when fast math is on, else None."""
    if not FAST_MATH or vmath is None or a.kind != "f" or op not in table:
        return None
    name = f"{table[op]}_f{a.itemsize * 8}{suffix}"
    return f"vm.{name}({{0}}{', {1}' if table is _VM_BINARY else ''})" if hasattr(vmath, name) else None

# Complex accumulations cannot carry the per-instruction reassoc flag (see scalar.radd), so
# kernels that have one are compiled with this flag set (it keeps NaN/inf semantics).
REDUCE_FASTMATH = "{'reassoc', 'contract'}"


def _fastmath(reductions):
    """The njit fastmath argument for kernels with these (op, dtype) reductions."""
    complex_acc = any(accumulator_dtype(op, np.dtype(dt)).kind == "c" for op, dt in reductions)
    return f", fastmath={REDUCE_FASTMATH}" if complex_acc else ""
COLUMN_BLOCK = 256
SPLIT_MAX_COLUMNS = 32768       # partial rows of at most 256 KB (float64) per chunk


def _t(dt):
    return "np.bool_" if dt == np.bool_ else f"np.{np.dtype(dt).name}"


def _fl(dt):
    return np.dtype(dt).kind in "fc"


_COMPLEX_HELPERS = {Op.EXP: "c_exp", Op.EXPM1: "c_expm1", Op.COSH: "c_cosh", Op.SINH: "c_sinh", Op.TANH: "c_tanh", Op.SIN: "c_sin",
                    Op.COS: "c_cos", Op.TAN: "c_tan", Op.ACOS: "c_acos", Op.ACOSH: "c_acosh", Op.ASIN: "c_asin",
                    Op.ASINH: "c_asinh", Op.ATAN: "c_atan", Op.ATANH: "c_atanh", Op.SQRT: "c_sqrt",
                    Op.LOG: "c_log", Op.LOG2: "c_log2", Op.LOG10: "c_log10", Op.RECIPROCAL: "creciprocal"}


def _checked(op, a):
    """(cheap expression, bad-flag expression) of a checked op on input dtype ``a``, or None."""
    if not FAST_MATH or vmath is None:
        return None
    if a.kind == "c" and op in _VM_COMPLEX:
        fast, bad = _VM_COMPLEX[op]
        return f"vm.{fast}_fast({{0}})", f"vm.{bad}_bad({{0}})"
    cheap = _vectorised(op, a, _VM_UNARY, "_fast") if op in _TRIG else None
    return (cheap, f"vm.trig_big_f{a.itemsize * 8}({{0}})") if cheap else None


_FLOAT_TO_INT = {"i8": "f2i64", "u4": "f2u32", "u8": "f2u64"}     # others: f2i32, then wrap


def _unary(op, dt, a, use_cheap=False, fast=True):
    """Expression for a unary op on input dtype ``a``; result dtype ``dt``.  ``fast``: may
    use lowering.vmath (the CPU target; another target passes False)."""
    x = "{0}"
    table = {
        Op.NEG: "-{0}", Op.ABS: "abs({0})", Op.SQRT: "np.sqrt({0})",
        Op.SQUARE: "{0} * {0}", Op.RECIPROCAL: f"{_t(dt)}(1) / {{0}}",
        Op.EXP: "np.exp({0})", Op.EXPM1: "np.expm1({0})", Op.LOG: "np.log({0})",
        Op.LOG1P: "np.log1p({0})", Op.LOG2: "np.log2({0})", Op.LOG10: "np.log10({0})",
        Op.SIN: "np.sin({0})", Op.COS: "np.cos({0})", Op.TAN: "np.tan({0})",
        Op.ASIN: "np.arcsin({0})", Op.ACOS: "np.arccos({0})", Op.ATAN: "np.arctan({0})",
        Op.SINH: "np.sinh({0})", Op.COSH: "np.cosh({0})", Op.TANH: "np.tanh({0})",
        Op.ASINH: "np.arcsinh({0})", Op.ACOSH: "np.arccosh({0})", Op.ATANH: "np.arctanh({0})",
        Op.FLOOR: "np.floor({0})" if _fl(a) else x, Op.CEIL: "np.ceil({0})" if _fl(a) else x,
        Op.TRUNC: "np.trunc({0})" if _fl(a) else x, Op.ROUND: "np.rint({0})" if _fl(a) else x,
        Op.SIGN: ("sc.sign_complex({0})" if a.kind == "c" else
                  "sc.sign_float({0})" if a.kind == "f" else "sc.sign_int({0})"),
        Op.ISNAN: "np.isnan({0})", Op.ISINF: "np.isinf({0})", Op.ISFINITE: "np.isfinite({0})",
        Op.SIGNBIT: "sc.signbit({0})", Op.LOGICAL_NOT: "not {0}",
        Op.INVERT: "not {0}" if a == np.bool_ else "~{0}",
        Op.CONJ: "np.conj({0})", Op.REAL: "{0}.real", Op.IMAG: "{0}.imag",
    }
    checked = _checked(op, a) if use_cheap else None
    if checked:
        return checked[0]
    vec = _vectorised(op, a, _VM_UNARY) if fast else None
    if vec:
        return vec
    if a.kind == "c" and op in _COMPLEX_HELPERS:      # C99 Annex G special values (see scalar.py)
        return f"sc.{_COMPLEX_HELPERS[op]}({{0}})"
    if op is Op.CAST:
        if dt == np.bool_:
            return "{0} != 0"
        real = "{0}.real" if a.kind == "c" and dt.kind != "c" else x
        if a.kind in "fc" and dt.kind in "iu":      # defined for NaN/inf/overflow (see scalar.py)
            return f"sc.{_FLOAT_TO_INT.get(dt.str[1:], 'f2i32')}({real})"
        return real
    return table[op]


# Ops whose Numba lowering can raise a Python exception (lost inside a prange, see scalar.py)
# or differs from NumPy, by operand kind: each goes through a scalar.py helper instead.
_SAFE_BINARY = {
    ("c", Op.DIV): "sc.cdiv({0}, {1})",                     # ZeroDivisionError; Smith's scaling
    ("c", Op.POW): "sc.c_pow({0}, {1})",                    # 0 ** b; exact small integer powers
    ("i", Op.FLOORDIV): "sc.floordiv_int({0}, {1})",        # INT_MIN // -1
    ("i", Op.POW): "sc.ipow(U({0}), U({1}), True)",         # Numba's: float64, can raise
    ("u", Op.POW): "sc.ipow(U({0}), U({1}), False)",
}


def _binary(op, dt, a, fast=True):
    bits = a.itemsize * 8
    fl = a.kind in "fc"
    if a == np.bool_ and op in (Op.LOGICAL_AND, Op.BITWISE_AND, Op.MUL):
        return "{0} & {1}"
    vec = _vectorised(op, a, _VM_BINARY) if fast else None
    if vec:
        return vec
    if (a.kind, op) in _SAFE_BINARY:
        return _SAFE_BINARY[a.kind, op]
    table = {
        Op.ADD: "{0} + {1}", Op.SUB: "{0} - {1}", Op.MUL: "{0} * {1}", Op.DIV: "{0} / {1}",
        Op.FLOORDIV: "sc.floordiv_float({0}, {1})" if fl else "{0} // {1}",
        Op.REMAINDER: "sc.remainder_float({0}, {1})" if fl else "{0} % {1}",
        Op.POW: "{0} ** {1}",
        Op.MAXIMUM: "sc.maximum({0}, {1})" if fl else "sc.int_max({0}, {1})",
        Op.MINIMUM: "sc.minimum({0}, {1})" if fl else "sc.int_min({0}, {1})",
        Op.ATAN2: "np.arctan2({0}, {1})", Op.HYPOT: "np.hypot({0}, {1})",
        Op.COPYSIGN: "np.copysign({0}, {1})", Op.LOGADDEXP: "sc.logaddexp({0}, {1})",
        Op.NEXTAFTER: "np.nextafter({0}, {1})",
        Op.EQ: "{0} == {1}", Op.NE: "{0} != {1}", Op.LT: "{0} < {1}", Op.LE: "{0} <= {1}",
        Op.GT: "{0} > {1}", Op.GE: "{0} >= {1}",
        Op.LOGICAL_AND: "{0} & {1}", Op.LOGICAL_OR: "{0} | {1}", Op.LOGICAL_XOR: "{0} != {1}",
        Op.BITWISE_AND: "{0} & {1}", Op.BITWISE_OR: "{0} | {1}", Op.BITWISE_XOR: "{0} ^ {1}",
        Op.LSHIFT: f"sc.lshift({{0}}, {{1}}, {bits})", Op.RSHIFT: f"sc.rshift({{0}}, {{1}}, {bits})",
    }
    return table[op]


def expression(op, dt, in_dtypes, args, use_cheap=False, target=None):
    """The Numba expression of one elementwise op, cast back to its dtype (so ints wrap).

    ``target``: None for this (CPU) renderer; another renderer (lowering.cuda) passes a
    function ``(op, dtype, input dtype) -> template or None`` giving the entries that differ
    on its target, and the CPU-only vectorised math is not used."""
    dt = np.dtype(dt)
    fast = target is None
    expr = None if fast else target(op, dt, np.dtype(in_dtypes[0]))
    if expr is not None:
        pass
    elif op is Op.WHERE:
        expr = "{1} if {0} else {2}"
    elif op.kind.value == "unary":
        expr = _unary(op, dt, np.dtype(in_dtypes[0]), use_cheap and fast, fast)
    else:
        expr = _binary(op, dt, np.dtype(in_dtypes[0]), fast)
    return f"{_t(dt)}({expr.format(*args)})"


_INIT = {Op.SUM: "0", Op.PROD: "1"}


def _reduce_parts(op, acc):
    """(initial value, combine template) of a reduction in accumulator dtype ``acc``."""
    acc = np.dtype(acc)
    if op in _INIT:
        if acc.kind == "f":
            return f"{_t(acc)}({_INIT[op]})", ("sc.radd({0}, {1})" if op is Op.SUM else "sc.rmul({0}, {1})")
        return f"{_t(acc)}({_INIT[op]})", ("{0} + {1}" if op is Op.SUM else "{0} * {1}")
    big = op is Op.MAX
    if acc == np.bool_:
        return ("False" if big else "True"), ("{0} | {1}" if big else "{0} & {1}")
    if acc.kind == "f":
        return (f"{_t(acc)}({'-' if big else ''}np.inf)",
                "sc.nan_max({0}, {1})" if big else "sc.nan_min({0}, {1})")
    info = np.iinfo(acc)
    return (f"{_t(acc)}({info.min if big else info.max})",
            "sc.int_max({0}, {1})" if big else "sc.int_min({0}, {1})")


@dataclass(frozen=True)
class KernelSpec:
    """Everything the renderer needs; hashable, size-free: the kernel cache key."""
    kind: str                 # "elementwise" | "reduce"
    rank: int
    reduced: tuple            # per dim: reduced? (all False for elementwise)
    pre_masks: tuple          # per pre load: per dim broadcast?
    post_masks: tuple         # per post load (reduce epilogue)
    const_dtypes: tuple
    body: tuple               # (op, dtype, in_dtypes, arg refs); refs: schedule.LOAD, POST_LOAD, CONST, VALUE, REDUCED
    reduce: tuple | None      # (op, dtype, input ref)
    post: tuple               # like body, in output space
    root: tuple               # ref of the value stored in out
    out_dtype: str

    @property
    def strategy(self):
        if self.kind == "elementwise":
            return "map"
        if all(self.reduced):
            return "full"
        return "row" if self.reduced[-1] else "column"


# the generated code's variable for each reference space (see schedule.LOAD ...)
_PREFIX = {LOAD: "l", POST_LOAD: "p", CONST: "c", VALUE: "v"}


def _ref(ref):
    kind, k = ref
    return "red" if kind == REDUCED else f"{_PREFIX[kind]}{k}"


def _index(mask, r, idx=None):
    """Index expression of a load with broadcast ``mask``; ``idx`` renames the loop variables."""
    if r == 0:
        return "0"
    return ", ".join("0" if m else (idx[d] if idx else f"i{d}") for d, m in enumerate(mask))


class _Writer:
    def __init__(self):
        self.lines = []
        self.depth = 1

    def __call__(self, line):
        self.lines.append("    " * self.depth + line)

    def indent(self):
        self.depth += 1

    def dedent(self):
        self.depth -= 1


def _value(spec, ref, pfx="", subst=None, idx=None):
    """Expression of a value reference at the current loop indices.  ``pfx`` names the
    part of a rows kernel; ``subst`` maps its loads of earlier parts to their row values;
    ``idx`` renames the index variables (a rows kernel reads the next row with ``j``s)."""
    if subst and ref in subst:
        return f"s{subst[ref][1]}"
    kind, k = ref
    if kind == LOAD or kind == POST_LOAD:
        mask = (spec.pre_masks if kind == LOAD else spec.post_masks)[k]
        if kind == POST_LOAD:      # output space: reduced dims are index 0
            mask = tuple(m or red for m, red in zip(mask, spec.reduced))
        return f"{pfx}{_ref(ref)}[{_index(mask, spec.rank, idx)}]"
    return (pfx + "n" if idx is not None and kind == VALUE else pfx) + _ref(ref)


def _emit_values(w, entries, spec, pfx="", subst=None, given=None, use_cheap=False, idx=None):
    """Assign each entry's value; with ``use_cheap``, checked ops (see ``_checked``) use their
    cheap variant and OR their bad-flag into ``bad``.  With ``idx`` the
    values are those at the renamed indices, named with an extra ``n`` (``q0_nv3``)."""
    vp = pfx if idx is None else pfx + "n"
    for j, (op, dt, in_dts, refs) in entries:
        if given and j in given:
            w(f"{vp}v{j} = {given[j]}")
            continue
        args = [_value(spec, ref, pfx, subst, idx) for ref in refs]
        checked = _checked(op, np.dtype(in_dts[0])) if use_cheap else None
        cheap = checked is not None
        if cheap:
            w(f"bad |= {checked[1].format(args[0])}")
        w(f"{vp}v{j} = {expression(op, dt, in_dts, args, cheap)}")


@dataclass(frozen=True)
class PartSpec:
    """One part of a rows kernel (see ``fuse.merge_rows``): like a KernelSpec's body,
    reduction and epilogue, plus ``subst``: its loads that read an earlier part's row value."""
    pre_masks: tuple
    post_masks: tuple
    const_dtypes: tuple
    body: tuple
    reduce: tuple | None
    post: tuple
    root: tuple
    subst: tuple              # sorted ((space, k), (STAGE, part)) pairs


@dataclass(frozen=True)
class RowsSpec:
    """A rows kernel: loop over the kept (leading) dims in parallel; per row, each part in
    turn loops over the reduced (trailing) dims while the row is in cache."""
    rank: int
    reduced: tuple
    parts: tuple              # PartSpec, producers first; the last one writes ``out``
    out_dtype: str
    stash: tuple | None       # (part, value, final value): see schedule._stash


class _PartView:
    """What ``_value`` needs of a part: its masks, with the rows kernel's rank."""
    def __init__(self, spec, part):
        self.rank, self.reduced = spec.rank, spec.reduced
        self.pre_masks, self.post_masks = part.pre_masks, part.post_masks


def rows_arguments(spec):
    """The operand names of a rows kernel, in call order (substituted loads are no argument)."""
    args = []
    for j, part in enumerate(spec.parts):
        subst = dict(part.subst)
        args += [f"q{j}_l{k}" for k in range(len(part.pre_masks)) if (LOAD, k) not in subst]
        args += [f"q{j}_p{k}" for k in range(len(part.post_masks)) if (POST_LOAD, k) not in subst]
        args += [f"q{j}_c{k}" for k in range(len(part.const_dtypes))]
    return args


def render_rows(spec: RowsSpec) -> str:
    """Python source of a rows kernel (``kernel(parallel, out, shp, *operands)``).

    Each thread takes one contiguous block of rows.  The first part's reduction (the
    only stage that reads its inputs from memory rather than from cache: softmax's max,
    layer norm's mean) is software-pipelined: it runs for the *next* row inside the
    second part's loop over this row, so the memory stream overlaps the costly stage
    (softmax's ``exp``) instead of alternating with it."""
    r = spec.rank
    kept = [d for d in range(r) if not spec.reduced[d]]
    red = [d for d in range(r) if spec.reduced[d]]
    out_t = _t(spec.out_dtype)
    branches = []
    base = 2
    last = len(spec.parts) - 1
    nxt = tuple(f"j{d}" if d in kept else f"i{d}" for d in range(r))
    first = spec.parts[0]
    pipelined = last >= 1 and not (spec.stash and spec.stash[0] == 0)
    p0 = _PartView(spec, first)
    if pipelined:
        rop0, rdt0, rin0 = first.reduce
        init0, comb0 = _reduce_parts(rop0, accumulator_dtype(rop0, np.dtype(rdt0)))
        acc0_t = _t(accumulator_dtype(rop0, np.dtype(rdt0)))

    def next_row_step(w):
        """Part 0's body and accumulation at the next row (indices ``j``)."""
        _emit_values(w, list(enumerate(first.body)), p0, "q0_", None, idx=nxt)
        w("nacc = " + comb0.format("nacc", f"{acc0_t}({_value(p0, rin0, 'q0_', None, nxt)})"))

    for rng in ("prange", "range"):
        w = _Writer()
        w.depth = base
        for d in range(r):
            w(f"n{d} = U(shp[{d}])")
        nk = " * ".join(f"n{d}" for d in kept) or "U(1)"
        if pipelined:
            w(f"nk = {nk}")
            # shp[r] is the thread count (get_num_threads would make the kernel uncacheable)
            w(f"nch = U(min(nk, U(shp[{r}])))" if rng == "prange" else "nch = U(1)")
            _blocks(w, rng, "nk")
            _unravel(w, kept, "lo", var="j")
            w(f"nacc = {init0}")
            top = w.depth
            for d in red:
                w(f"for i{d} in range(n{d}):")
                w.indent()
            next_row_step(w)
            w.depth = top
            w("for f in range(lo, hi):")
            w.indent()
            _unravel(w, kept, "f")
            _unravel(w, kept, "f + U(1) if f + U(1) < hi else f", var="j")
        else:
            w(f"for f in {rng}({nk}):")
            w.indent()
            _unravel(w, kept, "f")
        row = w.depth
        for j, part in enumerate(spec.parts):
            pv = _PartView(spec, part)
            pfx, subst = f"q{j}_", dict(part.subst)
            body = list(enumerate(part.body))
            post = [(len(part.body) + m, e) for m, e in enumerate(part.post)]
            if part.reduce is None:           # the final elementwise part: write the row
                for d in red:
                    w(f"for i{d} in range(n{d}):")
                    w.indent()
                allidx = _index((False,) * r, r)
                given = {spec.stash[2]: f"out[{allidx}]"} if spec.stash else None
                _emit_values(w, body, pv, pfx, subst, given)
                if pipelined and j == 1:
                    next_row_step(w)
                w(f"out[{allidx}] = {out_t}({_value(pv, part.root, pfx, subst)})")
                w.depth = row
                continue
            rop, rdt, rin = part.reduce
            acc = accumulator_dtype(rop, np.dtype(rdt))
            init, comb = _reduce_parts(rop, acc)
            if pipelined and j == 0:          # this row's reduction ran in the last row's loop
                w("acc = nacc")
                w(f"nacc = {init0}")
            else:
                w(f"acc = {init}")
                for d in red:
                    w(f"for i{d} in range(n{d}):")
                    w.indent()
                _emit_values(w, body, pv, pfx, subst)
                if pipelined and j == 1:
                    next_row_step(w)
                allidx = _index((False,) * r, r)
                if spec.stash and spec.stash[0] == j:
                    w(f"out[{allidx}] = {out_t}({pfx}v{spec.stash[1]})")
                    if rin == (VALUE, spec.stash[1]) and np.dtype(rdt) == np.dtype(spec.out_dtype):
                        # accumulate from the stored row in a loop of its own: a wider accumulator
                        # (float32 sums add in float64) would halve the vector width of the body
                        w.depth = row
                        for d in red:
                            w(f"for i{d} in range(n{d}):")
                            w.indent()
                        w("acc = " + comb.format("acc", f"{_t(acc)}(out[{allidx}])"))
                        w.depth = row
                        rin = None
                if rin is not None:
                    w("acc = " + comb.format("acc", f"{_t(acc)}({_value(pv, rin, pfx, subst)})"))
            w.depth = row
            for d in red:
                w(f"i{d} = U(0)")
            w(f"{pfx}red = {_t(rdt)}(acc)")
            _emit_values(w, post, pv, pfx, subst)
            if j < last:
                w(f"s{j} = {_value(pv, part.root, pfx, subst)}")
            else:
                w(f"out[{_index(spec.reduced, r)}] = {out_t}({_value(pv, part.root, pfx, subst)})")
        branches.append("\n".join(w.lines))
    args = ", ".join(["out", "shp"] + rows_arguments(spec))
    fm = _fastmath([part.reduce[:2] for part in spec.parts if part.reduce])
    func = (f"@njit(parallel=True, cache=True, error_model='numpy', boundscheck=False, nogil=True{fm})\n"
            f"def kernel(parallel, {args}):\n"
            f"    if parallel:\n{branches[0]}\n    else:\n{branches[1]}\n")
    return _head(spec, func) + func


def _blocks(w, rng, total):
    """Open a loop over ``nch`` contiguous blocks of ``total`` iterations: ``lo``..``hi``."""
    w(f"for c in {rng}(nch):")
    w.indent()
    w(f"lo = U(c) * {total} // nch")
    w(f"hi = (U(c) + U(1)) * {total} // nch")


# A float32 sum accumulates in float64 (interpret.accumulator_dtype); converting every element and
# adding it in double precision halves the vector width and doubles the instructions of the loop,
# which made sum((a-b)**2) float32 compute-bound (0.54 of bandwidth).  Instead the innermost
# reduced loop adds blocks of SUM_BLOCK elements in the input precision (reassociated: ~8 values
# per vector lane, fewer roundings than NumPy's float32 pairwise sum) and each block's partial sum
# into the float64 accumulator.  A block whose float32 partial is not finite (an overflow of the
# narrow partial, or an inf/NaN input) is redone in float64, so overflow behaves as before.
SUM_BLOCK = 256


def _block_dtype(rop, rdt, acc):
    """The dtype of per-block partial sums for this reduction, or None (accumulate directly)."""
    rdt, acc = np.dtype(rdt), np.dtype(acc)
    if rop is Op.SUM and rdt.kind == "f" and acc.kind == "f" and acc.itemsize > rdt.itemsize:
        return rdt
    return None


def _accumulate(w, var, lo, hi, inner_body, value, comb, acc, block):
    """Emit ``for {var} in range(lo, hi): inner_body(); acc = comb(acc, value)`` for a float
    reduction into ``acc`` (a dtype).  With ``block`` (see ``_block_dtype``), whole blocks of
    SUM_BLOCK iterations (a constant trip count: no vector epilogue) sum in ``block`` first."""
    wide = f"{_t(acc)}({value})"
    if block is None:
        w(f"for {var} in range({lo}, {hi}):")
        w.indent()
        inner_body()
        w("acc = " + comb.format("acc", wide))
        w.dedent()
        return
    narrow = f"{_t(block)}({value})"
    w(f"qb = ({hi} - {lo}) // U({SUM_BLOCK})")
    w("for q in range(qb):")
    w.indent()
    w(f"qs = {lo} + q * U({SUM_BLOCK})")
    w(f"qp = {_t(block)}(0)")
    w(f"for qj in range(U({SUM_BLOCK})):")
    w.indent()
    w(f"{var} = qs + qj")
    inner_body()
    w("qp = " + comb.format("qp", narrow))
    w.dedent()
    w("if np.isfinite(qp):")
    w(f"    acc = " + comb.format("acc", f"{_t(acc)}(qp)"))
    w("else:      # the narrow partial overflowed, or an inf/NaN was summed: redo the block wide")
    w.indent()
    w(f"for qj in range(U({SUM_BLOCK})):")
    w.indent()
    w(f"{var} = qs + qj")
    inner_body()
    w("acc = " + comb.format("acc", wide))
    w.dedent()
    w.dedent()
    w.dedent()
    w(f"for {var} in range({lo} + qb * U({SUM_BLOCK}), {hi}):")
    w.indent()
    inner_body()
    w("acc = " + comb.format("acc", wide))
    w.dedent()


def _unravel(w, dims, flat, extra_div=None, var="i"):
    """Emit index variables ``{var}{d}`` for ``dims`` (row-major) from unsigned flat index ``flat``."""
    w(f"g = U({flat})")
    if extra_div is not None:
        w(f"blk = g % {extra_div}")
        w(f"g = g // {extra_div}")
    for d in reversed(dims[1:]):
        w(f"{var}{d} = g % n{d}")
        w(f"g = g // n{d}")
    if dims:
        w(f"{var}{dims[0]} = g")


def render(spec: KernelSpec, name_prefix="k") -> str:
    """Python source for the module of one kernel (one function, ``kernel(parallel, ...)``)."""
    r = spec.rank
    body = list(enumerate(spec.body))          # value j is named v{j}; post continues the numbering
    post = [(len(spec.body) + j, e) for j, e in enumerate(spec.post)]
    args = ["out", "shp"] + [f"l{k}" for k in range(len(spec.pre_masks))] \
        + [f"p{k}" for k in range(len(spec.post_masks))] + [f"c{k}" for k in range(len(spec.const_dtypes))]
    out_t = _t(spec.out_dtype)
    branches = []
    base = 2
    for variant, rng, par in (("parallel", "prange", True), ("serial", "range", False)):
        w = _Writer()
        w.depth = base
        for d in range(r):
            w(f"n{d} = U(shp[{d}])")
        strategy = spec.strategy
        allidx = _index((False,) * r, r)
        outidx = _index(spec.reduced, r) if r else "0"
        if strategy == "map":
            checked = any(_checked(op, np.dtype(in_dts[0])) for op, _, in_dts, _ in spec.body)
            last = r - 1
            if r == 1 and checked:   # chunks, so a chunk with a flagged argument is redone alone
                w("nch = max(U(1), min(U(256), n0 // U(4096)))")
                _blocks(w, rng, "n0")
                inner = "range(lo, hi)"
            elif r == 1:
                inner = f"{rng}(n0)"
            else:
                outer = " * ".join(f"n{d}" for d in range(r - 1))
                w(f"for f in {rng}({outer}):")
                w.indent()
                _unravel(w, list(range(r - 1)), "f")
                inner = f"range(n{last})"
            if checked:
                w("bad = False")
            w(f"for i{last} in {inner}:")
            w.indent()
            _emit_values(w, body, spec, use_cheap=checked)
            w(f"out[{allidx}] = {out_t}({_value(spec, spec.root)})")
            if checked:
                w.dedent()
                w("if bad:")
                w.indent()
                w(f"for i{last} in {inner}:")
                w.indent()
                _emit_values(w, body, spec)
                w(f"out[{allidx}] = {out_t}({_value(spec, spec.root)})")
        else:
            rop, rdt, _ = spec.reduce
            acc = accumulator_dtype(rop, np.dtype(rdt))
            init, comb = _reduce_parts(rop, acc)
            value = _value(spec, spec.reduce[2])
            pre_val = f"{_t(acc)}({value})"
            block = _block_dtype(rop, rdt, acc)
            kept = [d for d in range(r) if not spec.reduced[d]]
            red = [d for d in range(r) if spec.reduced[d]]

            def inner_body():
                _emit_values(w, body, spec)

            def epilogue():
                w(f"red = {_t(rdt)}(acc)")
                _emit_values(w, post, spec)
                w(f"out[{outidx}] = {out_t}({_value(spec, spec.root)})")

            if strategy == "full":
                if r == 1:
                    w("N = n0")
                    w("nch = max(U(1), min(U(256), N // U(4096)))")
                else:
                    w("N = " + " * ".join(f"n{d}" for d in range(r - 1)))
                    w("nch = max(U(1), min(U(256), N))")
                w(f"part = np.empty(nch, {_t(acc)})")
                _blocks(w, rng, "N")
                w(f"acc = {init}")
                if r == 1:
                    _accumulate(w, "i0", "lo", "hi", inner_body, value, comb, acc, block)
                else:
                    w("for f in range(lo, hi):")
                    w.indent()
                    _unravel(w, list(range(r - 1)), "f")
                    _accumulate(w, f"i{r-1}", "U(0)", f"n{r-1}", inner_body, value, comb, acc, block)
                w.depth = base + 1
                w("part[c] = acc")
                w.depth = base
                w(f"acc = {init}")
                w("for c in range(nch):")
                w.indent()
                w("acc = " + comb.format("acc", "part[c]"))
                w.dedent()
                for d in range(r):
                    w(f"i{d} = U(0)")
                epilogue()
            elif strategy == "row":
                nk = " * ".join(f"n{d}" for d in kept)
                w(f"for f in {rng}({nk}):")
                w.indent()
                _unravel(w, kept, "f")
                w(f"acc = {init}")
                for d in red[:-1]:
                    w(f"for i{d} in range(n{d}):")
                    w.indent()
                _accumulate(w, f"i{red[-1]}", "U(0)", f"n{red[-1]}", inner_body, value, comb, acc, block)
                w.depth = base + 1
                for d in red:
                    w(f"i{d} = U(0)")
                epilogue()
            else:   # column: blocks of the contiguous kept last dim, vector accumulators per chunk
                cb = base
                if r == 2 and spec.reduced == (True, False):
                    # [rows reduced, columns kept] with few columns: split the rows across chunks,
                    # each streaming whole rows into its own partial row (NumPy's order, parallel)
                    w(f"if n1 <= U({SPLIT_MAX_COLUMNS}):")
                    w.indent()
                    w("nch = max(U(1), min(U(16), n0 // U(64)))")
                    w(f"part = np.empty((nch, n1), {_t(acc)})")
                    w(f"for c in {rng}(nch):")
                    w.indent()
                    w("for i1 in range(n1):")
                    w(f"    part[c, i1] = {init}")
                    w("for i0 in range(U(c) * n0 // nch, (U(c) + U(1)) * n0 // nch):")
                    w.indent()
                    w("for i1 in range(n1):")
                    w.indent()
                    inner_body()
                    w("part[c, i1] = " + comb.format("part[c, i1]", pre_val))
                    w.depth = base + 1
                    w("i0 = U(0)")
                    w(f"for i1 in {rng}(n1):")
                    w.indent()
                    w("acc = part[0, i1]")
                    w("for c in range(U(1), nch):")
                    w("    acc = " + comb.format("acc", "part[c, i1]"))
                    epilogue()
                    w.depth = base
                    w("else:")
                    w.indent()
                    cb = base + 1
                last = r - 1
                head = kept[:-1]
                w(f"nb = (n{last} + U({COLUMN_BLOCK - 1})) // U({COLUMN_BLOCK})")
                w("total = " + " * ".join([f"n{d}" for d in head] + ["nb"]))
                w("nch = max(U(1), min(U(256), total))")
                w(f"for c in {rng}(nch):")
                w.indent()
                w(f"accs = np.empty({COLUMN_BLOCK}, {_t(acc)})")   # one allocation per chunk, not per block
                w("for f in range(U(c) * total // nch, (U(c) + U(1)) * total // nch):")
                w.indent()
                _unravel(w, head, "f", extra_div="nb")
                w(f"lo = blk * U({COLUMN_BLOCK})")
                w(f"hi = min(lo + U({COLUMN_BLOCK}), n{last})")
                w("for j in range(hi - lo):")
                w(f"    accs[j] = {init}")
                for d in red:
                    w(f"for i{d} in range(n{d}):")
                    w.indent()
                w(f"for i{last} in range(lo, hi):")
                w.indent()
                inner_body()
                w(f"accs[i{last} - lo] = " + comb.format(f"accs[i{last} - lo]", pre_val))
                w.depth = cb + 2
                for d in red:
                    w(f"i{d} = U(0)")
                w(f"for i{last} in range(lo, hi):")
                w.indent()
                w(f"acc = accs[i{last} - lo]")
                epilogue()
        branches.append("\n".join(w.lines))
    fm = _fastmath([spec.reduce[:2]] if spec.reduce else [])
    # One function holds both loop nests, so a kernel compiles once whatever the size:
    # ``parallel`` picks the prange nest (threads) or the range nest (no launch cost).
    func = (f"@njit(parallel=True, cache=True, error_model='numpy', boundscheck=False, nogil=True{fm})\n"
            f"def kernel(parallel, {', '.join(args)}):\n"
            f"    if parallel:\n{branches[0]}\n    else:\n{branches[1]}\n")
    return _head(spec, func) + func


# Latency-bound vmath functions: kernels calling them compile with this LLVM interleave count
# (lowering.cache reads the "# interleave:" line).  Measured on 1e7 elements, two threads:
# pow f64 32 -> 18 ms, pow f32 13.7 -> 10.3 ms (4), logaddexp f64 12.9 -> 10.1 ms; atan2 f32
# got slower, so it is not listed.
_INTERLEAVE = {"vm.pow_f64": 2, "vm.pow_f32": 4, "vm.logaddexp_f64": 2, "vm.logaddexp_f32": 2}


def _head(spec, func):
    count = max([n for name, n in _INTERLEAVE.items() if name + "(" in func], default=0)
    return (_HEAD.format(spec=spec) + (f"# interleave: {count}\n" if count else "")
            + ("import lowering.vmath as vm\n\n\n" if "vm." in func else ""))


_HEAD = ("# Generated by arrayforge's lowering.cpu; do not edit.\n"
         "# spec: {spec!r}\n"
         "import numpy as np\nfrom numba import njit, prange\nimport lowering.scalar as sc\n"
         "U = np.uint64\n\n\n")
