"""CUDA renderer: Python source for ``numba.cuda`` kernels of the same kernel structures
that :mod:`lowering.cpu` renders (``schedule.KernelStructure``: fused element-wise bodies,
reductions with their prologue and epilogue).

What the two renderers share lives in ``cpu.py``: the expression of every element-wise op
(``cpu.expression``), the reductions' initial values and combine templates
(``cpu._reduce_parts``) and the accumulator rule (``interpret.accumulator_dtype``).  What
differs per target is a table here (``GPU_EXPRESSIONS``: the entries whose CPU form does not
compile for a GPU) and the loop structure:

* element-wise: a grid-stride loop over the flat index of the (coalesced) iteration space;
  consecutive threads take consecutive elements, so contiguous operands are read coalesced;
* reduce, "thread" strategy (the last dim is kept and there are many outputs: column
  reductions): a grid-stride loop over the outputs, each thread reducing its output's range
  serially; consecutive threads take consecutive outputs, so the reads stay coalesced;
* reduce, "block" strategy: a block per (output element, split of the reduced range); each thread accumulates
  a strided part of the range, then the block combines the partials in a shared-memory tree
  (the last warp with ``shfl_down_sync`` on a GPU; the simulator has no shuffles); a
  reduction split across several blocks writes partials that a second launch of the same
  kernel (``stage=1``) combines and finishes with the epilogue.

Operands are flat device arrays with an element offset and one stride per dimension (views,
broadcasts and negative steps are index arithmetic; nothing is copied), so a kernel is keyed
by structure only and serves every size and layout.  This module is text only: it imports
neither numba nor numba.cuda (``lowering.cuda_runtime`` runs the kernels).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cpu import _reduce_parts, _t, expression
from .interpret import accumulator_dtype
from .ir import Op
from .schedule import CONST, LOAD, POST_LOAD, REDUCED, VALUE

# Threads per block, per target.  The simulator runs every thread as a Python thread and
# every ``syncthreads`` costs milliseconds there, so its blocks are small.
BLOCK = {"gpu": 256, "sim": 8}
WARP = 32

# Element-wise entries whose CPU expression does not compile for a GPU (numba.cuda has no
# NumPy ufunc lowering for them on scalars): math.* (libdevice underneath) and libdevice.
_GPU_MATH = {Op.SQRT: "sqrt", Op.EXP: "exp", Op.EXPM1: "expm1", Op.LOG: "log", Op.LOG1P: "log1p",
             Op.LOG2: "log2", Op.LOG10: "log10", Op.SIN: "sin", Op.COS: "cos", Op.TAN: "tan",
             Op.ASIN: "asin", Op.ACOS: "acos", Op.ATAN: "atan", Op.SINH: "sinh", Op.COSH: "cosh",
             Op.TANH: "tanh", Op.ASINH: "asinh", Op.ACOSH: "acosh", Op.ATANH: "atanh",
             Op.ISNAN: "isnan", Op.ISINF: "isinf", Op.ISFINITE: "isfinite"}
_GPU_MATH2 = {Op.ATAN2: "atan2", Op.HYPOT: "hypot", Op.COPYSIGN: "copysign"}
_GPU_LIBDEVICE = {Op.FLOOR: "floor", Op.CEIL: "ceil", Op.TRUNC: "trunc", Op.ROUND: "rint"}


_GPU_COMPLEX = {Op.ISNAN: "math.isnan({0}.real) or math.isnan({0}.imag)",
                Op.ISINF: "math.isinf({0}.real) or math.isinf({0}.imag)",
                Op.ISFINITE: "math.isfinite({0}.real) and math.isfinite({0}.imag)",
                Op.CONJ: "{0}.conjugate()"}


def gpu_expression(op, dt, a):
    """The GPU table: a template where the CPU one does not compile for a GPU, else None."""
    if a.kind == "c":       # NaN/inf if either part is (NumPy's answer); the rest: scalar.py's helpers
        return _GPU_COMPLEX.get(op)
    if a.kind != "f":
        # integers and booleans are never NaN or infinite (NumPy's answer, without a ufunc)
        return {Op.ISNAN: "False", Op.ISINF: "False", Op.ISFINITE: "True"}.get(op)
    f32 = "f" if a == np.float32 else ""
    if op in _GPU_MATH:
        return f"math.{_GPU_MATH[op]}({{0}})"
    if op in _GPU_MATH2:
        return f"math.{_GPU_MATH2[op]}({{0}}, {{1}})"
    if op in _GPU_LIBDEVICE:
        return f"libdevice.{_GPU_LIBDEVICE[op]}{f32}({{0}})"
    if op is Op.NEXTAFTER:
        return f"libdevice.nextafter{f32}({{0}}, {{1}})"
    return None


def sim_expression(op, dt, a):
    """The simulator runs kernels as Python on NumPy scalars: the CPU expressions serve as
    they are (without the CPU's vectorised math)."""
    return None


_TARGET_TABLE = {"gpu": gpu_expression, "sim": sim_expression}


@dataclass(frozen=True)
class CudaSpec:
    """Everything the renderer needs; hashable and size-free: with the target (and the
    compute capability, in the runtime's key) it is the kernel cache key."""
    kind: str                 # "elementwise" | "reduce"
    rank: int
    reduced: tuple            # per dim: reduced?  (all False for elementwise)
    n_pre: int                # loads of the body (iteration space)
    n_post: int               # loads of the epilogue (output space: stride 0 on reduced dims)
    const_dtypes: tuple
    body: tuple               # (op, dtype, in_dtypes, refs), as schedule.KernelStructure.body
    reduce: tuple | None      # (op, dtype, input ref)
    post: tuple
    root: tuple
    out_dtype: str
    target: str               # "gpu" | "sim"
    operand_dtypes: tuple = ()    # of the pre then post loads (for the signature)
    strategy: str = "block"       # reduce: "block" (a block per output) | "thread" (a thread per output)


_PREFIX = {LOAD: "l", POST_LOAD: "p", CONST: "c", VALUE: "v"}


def operand_names(spec):
    return [f"l{k}" for k in range(spec.n_pre)] + [f"p{k}" for k in range(spec.n_post)]


def arguments(spec):
    """The kernel's parameters, in call order (the runtime builds its arguments in this order)."""
    args = ["out"] + [f"n{d}" for d in range(spec.rank)]
    if spec.kind == "rows":
        for names, consts in rows_operands(spec):
            for name in names:
                args += [name, f"{name}_o"] + [f"{name}_s{d}" for d in range(spec.rank)]
            args += consts
        return args
    for name in operand_names(spec):
        args += [name, f"{name}_o"] + [f"{name}_s{d}" for d in range(spec.rank)]
    args += [f"c{k}" for k in range(len(spec.const_dtypes))]
    if spec.kind == "reduce":
        args += ["stage", "nsplit", "part"]
    return args


def _value(spec, ref, pfx="", subst=None):
    """The expression of ``ref`` at the current indices; ``pfx`` names a rows kernel's part
    (``q1_``), whose ``subst`` maps its loads of an earlier part to that part's row value."""
    if subst and ref in subst:
        val = subst[ref]
        return val if isinstance(val, str) else f"s{val[1]}"
    kind, k = ref
    if kind == REDUCED:
        return f"{pfx}red"
    name = f"{pfx}{_PREFIX[kind]}{k}"
    if kind in (LOAD, POST_LOAD):
        terms = [f"{name}_o"] + [f"i{d} * {name}_s{d}" for d in range(spec.rank)]
        return f"{name}[{' + '.join(terms)}]"
    return name


def _emit_values(w, entries, spec, table, pfx="", subst=None, given=None):
    """Assign each entry's value (``given``: entries whose value is an expression at hand)."""
    for j, (op, dt, in_dts, refs) in entries:
        if given and j in given:
            w(f"{pfx}v{j} = {given[j]}")
            continue
        args = [_value(spec, r, pfx, subst) for r in refs]
        w(f"{pfx}v{j} = {expression(op, dt, in_dts, args, target=table)}")


class _Writer:
    def __init__(self, depth=1):
        self.lines = []
        self.depth = depth

    def __call__(self, line):
        self.lines.append("    " * self.depth + line)


def _unravel(w, dims, flat):
    """Index variables ``i{d}`` for ``dims`` (row-major) from the flat index ``flat``."""
    if not dims:
        return
    w(f"q = {flat}")
    for d in reversed(dims[1:]):
        w(f"i{d} = q % n{d}")
        w(f"q = q // n{d}")
    w(f"i{dims[0]} = q")


def _shuffle(var, arg, dtype, fn="shfl_down_sync"):
    """``cuda.<fn>`` of ``var`` (of ``dtype``; ``arg``: the lane offset, xor mask or source
    lane): a shuffle moves 32- or 64-bit words, so a complex value moves as its real and
    imaginary parts."""
    if np.dtype(dtype).kind != "c":
        return f"cuda.{fn}(0xffffffff, {var}, {arg})"
    return (f"{_t(dtype)}(complex(cuda.{fn}(0xffffffff, {var}.real, {arg}), "
            f"cuda.{fn}(0xffffffff, {var}.imag, {arg})))")


def _shuffles(target, dtype):
    """Can values of ``dtype`` move by warp shuffles on ``target``?  (The simulator has none.)"""
    return target == "gpu" and np.dtype(dtype).kind in "iufc" and np.dtype(dtype).itemsize >= 4


def render(spec) -> str:
    """Source of the module of one CUDA kernel (one function, ``kernel``)."""
    if spec.kind == "rows":
        return render_rows(spec)
    table = _TARGET_TABLE[spec.target]
    r = spec.rank
    body = list(enumerate(spec.body))
    post = [(len(spec.body) + j, e) for j, e in enumerate(spec.post)]
    out_t = _t(spec.out_dtype)
    w = _Writer()
    if spec.kind == "reduce" and spec.strategy == "thread":
        rop, rdt, rin = spec.reduce
        acc = accumulator_dtype(rop, np.dtype(rdt))
        init, comb = _reduce_parts(rop, acc)
        kept = [d for d in range(r) if not spec.reduced[d]]
        red = [d for d in range(r) if spec.reduced[d]]
        w("K = " + (" * ".join(f"n{d}" for d in kept) if kept else "1"))
        w("R = " + (" * ".join(f"n{d}" for d in red) if red else "1"))
        w("o = cuda.grid(1)")
        w("step = cuda.gridsize(1)")
        w("while o < K:")
        w.depth += 1
        _unravel(w, kept, "o")
        w(f"acc = {init}")
        w("j = 0")
        w("while j < R:")
        w.depth += 1
        _unravel(w, red, "j")
        _emit_values(w, body, spec, table)
        w("acc = " + comb.format("acc", f"{_t(acc)}({_value(spec, rin)})"))
        w("j += 1")
        w.depth -= 1
        for d in red:
            w(f"i{d} = 0")
        w(f"red = {_t(rdt)}(acc)")
        _emit_values(w, post, spec, table)
        w(f"out[o] = {out_t}({_value(spec, spec.root)})")
        w("o += step")
    elif spec.kind == "elementwise":
        w("N = " + (" * ".join(f"n{d}" for d in range(r)) if r else "1"))
        w("g = cuda.grid(1)")
        w("step = cuda.gridsize(1)")
        w("while g < N:")
        w.depth += 1
        _unravel(w, list(range(r)), "g")
        _emit_values(w, body, spec, table)
        w(f"out[g] = {out_t}({_value(spec, spec.root)})")
        w("g += step")
    else:
        block = BLOCK[spec.target]
        rop, rdt, rin = spec.reduce
        acc = accumulator_dtype(rop, np.dtype(rdt))
        init, comb = _reduce_parts(rop, acc)
        kept = [d for d in range(r) if not spec.reduced[d]]
        red = [d for d in range(r) if spec.reduced[d]]
        w("R = " + (" * ".join(f"n{d}" for d in red) if red else "1"))
        w("t = cuda.threadIdx.x")
        w("b = cuda.blockIdx.x")
        w(f"sh = cuda.shared.array({block}, {_t(acc)})")
        w(f"acc = {init}")
        w("if stage == 0:")
        w.depth += 1
        w("o = b // nsplit")
        w("c = b % nsplit")
        _unravel(w, kept, "o")
        w(f"j = c * {block} + t")
        w("while j < R:")
        w.depth += 1
        _unravel(w, red, "j")
        _emit_values(w, body, spec, table)
        w("acc = " + comb.format("acc", f"{_t(acc)}({_value(spec, rin)})"))
        w(f"j += nsplit * {block}")
        w.depth -= 2
        w("else:")
        w.depth += 1
        w("o = b")
        w("c = 0")
        w("j = t")
        w("while j < nsplit:")
        w(f"    acc = " + comb.format("acc", "part[o * nsplit + j]"))
        w(f"    j += {block}")
        w.depth -= 1
        w("sh[t] = acc")
        w("cuda.syncthreads()")
        shuffle = _shuffles(spec.target, acc)
        w(f"s = {block // 2}")
        w(f"while s >= {WARP if shuffle else 1}:")
        w("    if t < s:")
        w("        sh[t] = " + comb.format("sh[t]", "sh[t + s]"))
        w("    cuda.syncthreads()")
        w("    s //= 2")
        if shuffle:     # the last warp: registers instead of shared memory and barriers
            w(f"if t < {WARP}:")
            w.depth += 1
            w("acc = sh[t]")
            off = WARP // 2
            while off:
                w("acc = " + comb.format("acc", _shuffle("acc", off, acc)))
                off //= 2
            w.depth -= 1
        else:
            w("acc = sh[0]")
        w("if t == 0:")
        w.depth += 1
        w("if stage == 0 and nsplit > 1:")
        w("    part[o * nsplit + c] = acc")
        w("else:")
        w.depth += 1
        _unravel(w, kept, "o")
        for d in red:
            w(f"i{d} = 0")
        w(f"red = {_t(rdt)}(acc)")
        _emit_values(w, post, spec, table)
        w(f"out[o] = {out_t}({_value(spec, spec.root)})")
    return _module(spec, w)


def _module(spec, w):
    src = "\n".join(w.lines)
    head = (f"# Generated by arrayforge's lowering.cuda; do not edit.\n# spec: {spec!r}\n"
            "import math\nimport numpy as np\nfrom numba import cuda\n"
            + ("from numba.cuda import libdevice\n" if spec.target == "gpu" else "")
            + "import lowering.cuda_runtime as _rt\nsc = _rt.scalar_helpers()\nU = np.uint64\n\n\n")
    return (head + f"@cuda.jit\ndef kernel({', '.join(arguments(spec))}):\n{src}\n")


@dataclass(frozen=True)
class CudaRowsPart:
    """One part of a rows kernel (``fuse.merge_rows``): a KernelStructure's body, reduction,
    epilogue and root, its load counts (substituted ones included) and ``subst``: its loads
    that read an earlier part's row value, sorted ((space, k), (STAGE, part)) pairs."""
    n_pre: int
    n_post: int
    const_dtypes: tuple
    body: tuple
    reduce: tuple | None
    post: tuple
    root: tuple
    subst: tuple


@dataclass(frozen=True)
class CudaRowsSpec:
    """A fused rows kernel (softmax, layer norm, var): a group of ``group`` threads per row
    (a warp for short rows, else the block); per row each part in turn reduces the row (its
    reduction a group reduction whose result every thread of the group gets) and computes
    its row value; the last part writes the row (or the row's reduction)."""
    rank: int
    reduced: tuple            # per dim (after coalescing): kept dims lead, reduced dims trail
    parts: tuple              # CudaRowsPart, producers first
    out_dtype: str
    target: str
    group: int
    operand_dtypes: tuple = ()    # of the passed (unsubstituted) loads, in argument order
    kind: str = "rows"
    per_thread: int = 0       # > 0: a row has at most group * per_thread elements, and ...
    cached: tuple = ()        # ... these loads, (dtype, ((part, k), ...)) each, read by several
    #                           parts from the same memory, are read once into registers, and
    stash: tuple | None = None    # a costly value the last part would recompute (schedule._stash:
    #                               (part, value, last part's value)) is kept in registers too


def rows_operands(spec):
    """Per part: (its passed load names (``q{j}_l{k}``, ``q{j}_p{k}``), its const names)."""
    out = []
    for j, part in enumerate(spec.parts):
        subst = dict(part.subst)
        names = [f"q{j}_l{k}" for k in range(part.n_pre) if (LOAD, k) not in subst]
        names += [f"q{j}_p{k}" for k in range(part.n_post) if (POST_LOAD, k) not in subst]
        out.append((names, [f"q{j}_c{k}" for k in range(len(part.const_dtypes))]))
    return out


def _group_reduce(w, j, comb, acc, spec):
    """Combine ``acc`` over the threads of each row's group; every thread gets the result
    (the same value: floating-point sums are not reassociated per thread)."""
    G, block = spec.group, BLOCK[spec.target]
    if _shuffles(spec.target, acc) and G == WARP:       # a warp per row: registers only
        off = WARP // 2
        while off:
            w("acc = " + comb.format("acc", _shuffle("acc", off, acc, "shfl_xor_sync")))
            off //= 2
        w("acc = " + _shuffle("acc", 0, acc, "shfl_sync"))     # lane 0's order for every lane
        return
    shuffle = _shuffles(spec.target, acc) and G == block
    w(f"sh{j}[t] = acc")
    w("cuda.syncthreads()")
    w(f"s = {G // 2}")
    w(f"while s >= {WARP if shuffle else 1}:")
    w("    if lane < s:")
    w(f"        sh{j}[t] = " + comb.format(f"sh{j}[t]", f"sh{j}[t + s]"))
    w("    cuda.syncthreads()")
    w("    s //= 2")
    if shuffle:             # the last warp of the block: shuffles, then lane 0 publishes
        w(f"if t < {WARP}:")
        w(f"    acc = sh{j}[t]")
        off = WARP // 2
        while off:
            w("    acc = " + comb.format("acc", _shuffle("acc", off, acc)))
            off //= 2
        w("    if t == 0:")
        w(f"        sh{j}[0] = acc")
        w("cuda.syncthreads()")
    w(f"acc = sh{j}[grp * {G}]")
    w("cuda.syncthreads()")     # (before the next row overwrites sh)


def render_rows(spec: CudaRowsSpec) -> str:
    """Source of a fused rows kernel: groups of ``spec.group`` threads take rows in turn
    (a grid-stride loop over blocks of rows, uniform across the block so every thread meets
    every barrier: a group past the last row computes row K - 1 and stores nothing); each
    thread takes the row's elements lane, lane + group, ... (coalesced), so an element is
    read by the same thread in every part (the row stays in L1/L2 between the parts)."""
    table = _TARGET_TABLE[spec.target]
    r, G, block, V = spec.rank, spec.group, BLOCK[spec.target], spec.per_thread
    kept = [d for d in range(r) if not spec.reduced[d]]
    red = [d for d in range(r) if spec.reduced[d]]
    out_t = _t(spec.out_dtype)
    last = len(spec.parts) - 1
    first_reader = {}           # (part, k) -> (register array, does this part fill it?)
    for c, (_, readers) in enumerate(spec.cached if V else ()):
        for n, ref in enumerate(sorted(readers)):
            first_reader[ref] = (f"rc{c}", n == 0 or ref[0] == sorted(readers)[0][0])
    w = _Writer()
    w("K = " + (" * ".join(f"n{d}" for d in kept) if kept else "1"))
    w("R = " + (" * ".join(f"n{d}" for d in red) if red else "1"))
    w("t = cuda.threadIdx.x")
    w(f"lane = t % {G}")
    w(f"grp = t // {G}")
    for j, part in enumerate(spec.parts):
        if part.reduce is not None:
            acc = accumulator_dtype(part.reduce[0], np.dtype(part.reduce[1]))
            if not (_shuffles(spec.target, acc) and G == WARP):
                w(f"sh{j} = cuda.shared.array({block}, {_t(acc)})")
    for c, (dt, _) in enumerate(spec.cached if V else ()):
        w(f"rc{c} = cuda.local.array({V}, {_t(dt)})")      # (unrolled loops: registers)
    stash = spec.stash if V else None
    if stash:
        w(f"rs = cuda.local.array({V}, {_t(spec.parts[stash[0]].body[stash[1]][1])})")
    w("rb = cuda.blockIdx.x")
    w(f"while rb * {block // G} < K:")
    w.depth += 1
    w(f"o = rb * {block // G} + grp")
    w("live = o < K")
    w("if not live:")
    w("    o = K - 1")
    _unravel(w, kept, "o")
    row = w.depth
    def row_loop(j, pfx, subst):
        """Open the loop over this thread's elements of the row (``e``, reduced indices);
        returns ``subst`` with the part's cached loads read from (and first written to)
        registers."""
        if V:
            w(f"for m in range({V}):")
            w(f"    e = lane + m * {G}")
            w("    if e < R:")
            w.depth += 2
        else:
            w("e = lane")
            w("while e < R:")
            w.depth += 1
        _unravel(w, red, "e")
        subst = dict(subst)
        for (jj, k), (reg, fill) in first_reader.items():
            if jj == j:
                if fill:
                    w(f"{reg}[m] = {_value(spec, (LOAD, k), pfx)}")
                subst[(LOAD, k)] = f"{reg}[m]"
        return subst

    def row_next():
        if not V:
            w(f"e += {G}")

    for j, part in enumerate(spec.parts):
        pfx, subst = f"q{j}_", dict(part.subst)
        body = list(enumerate(part.body))
        post = [(len(part.body) + m, e) for m, e in enumerate(part.post)]
        if part.reduce is None:             # the last part, element-wise: write the row
            esub = row_loop(j, pfx, subst)
            _emit_values(w, body, spec, table, pfx, esub, {stash[2]: "rs[m]"} if stash else None)
            w("if live:")
            w(f"    out[o * R + e] = {out_t}({_value(spec, part.root, pfx, esub)})")
            row_next()
            w.depth = row
            continue
        rop, rdt, rin = part.reduce
        acc = accumulator_dtype(rop, np.dtype(rdt))
        init, comb = _reduce_parts(rop, acc)
        w(f"acc = {init}")
        esub = row_loop(j, pfx, subst)
        _emit_values(w, body, spec, table, pfx, esub)
        if stash and stash[0] == j:
            w(f"rs[m] = {pfx}v{stash[1]}")
        w("acc = " + comb.format("acc", f"{_t(acc)}({_value(spec, rin, pfx, esub)})"))
        row_next()
        w.depth = row
        _group_reduce(w, j, comb, acc, spec)
        for d in red:
            w(f"i{d} = 0")
        w(f"{pfx}red = {_t(rdt)}(acc)")
        _emit_values(w, post, spec, table, pfx, subst)
        if j < last:
            w(f"s{j} = {_value(spec, part.root, pfx, subst)}")
        else:
            w("if live and lane == 0:")
            w(f"    out[o] = {out_t}({_value(spec, part.root, pfx, subst)})")
    w("rb += cuda.gridDim.x")
    return _module(spec, w)


def copy_spec(rank, dtype, target):
    """The spec of a strided copy (a view materialized on the device)."""
    return CudaSpec(kind="elementwise", rank=rank, reduced=(False,) * rank, n_pre=1, n_post=0,
                    const_dtypes=(), body=(), reduce=None, post=(), root=(LOAD, 0),
                    out_dtype=np.dtype(dtype).str, target=target, operand_dtypes=(np.dtype(dtype).str,))


# ---- the scalar helpers (lowering.scalar) for a CUDA target -------------------------------
# numba.cuda compiles the @njit helpers of lowering.scalar for the device, except where they
# call NumPy ufuncs numba.cuda does not lower; those calls are rewritten here, and the module
# is rendered from scalar.py's text (one source of truth for the semantics).  The simulator
# runs kernels as Python: there the helpers are plain Python functions (compiling each for
# the CPU on first call cost seconds per test run), and the LLVM intrinsics (radd, nan_max,
# ...), which only compiled code can call, get Python definitions.
_GPU_REWRITES = {"np.fmod(": "math.fmod(", "np.floor(": "_gpu_floor("}
_GPU_EXTRA = '''

@njit(**_NJ)
def _gpu_floor(x):
    # floor without NumPy's ufunc (math.floor returns an integer in Numba)
    if x != x or math.isinf(x):
        return x
    f = x - math.fmod(x, 1.0)
    return f - 1.0 if f > x else f


@njit(**_NJ)
def _gpu_order(a, b):
    return (b, a) if abs(a) > abs(b) else (a, b)


@njit(**_CX)
def x2y2m1(x, y):
    # scalar.x2y2m1 without its array (no np.empty in device code): the same stable
    # sort by magnitude (bubble passes of compare-exchanges) and exact two-sums
    v1, v0 = _two_prod(x, x)
    v3, v2 = _two_prod(y, y)
    v4 = -1.0
    for _ in range(4):
        v0, v1 = _gpu_order(v0, v1)
        v1, v2 = _gpu_order(v1, v2)
        v2, v3 = _gpu_order(v2, v3)
        v3, v4 = _gpu_order(v3, v4)
    hi = v1 + v0
    v0 = (v1 - hi) + v0
    v1 = hi
    for _ in range(3):
        v1, v2 = _gpu_order(v1, v2)
        v2, v3 = _gpu_order(v2, v3)
        v3, v4 = _gpu_order(v3, v4)
    hi = v2 + v1
    v1 = (v2 - hi) + v1
    v2 = hi
    for _ in range(2):
        v2, v3 = _gpu_order(v2, v3)
        v3, v4 = _gpu_order(v3, v4)
    hi = v3 + v2
    v2 = (v3 - hi) + v2
    v3 = hi
    v3, v4 = _gpu_order(v3, v4)
    hi = v4 + v3
    v3 = (v4 - hi) + v3
    v4 = hi
    return v4 + v3 + v2 + v1 + v0
'''
_SIM_HEAD = '''def njit(*args, **kwargs):     # the simulator: helpers run as Python
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda fn: fn


'''
_SIM_EXTRA = '''

@njit(**_NJ)
def radd(a, b):
    return a + b


@njit(**_NJ)
def rmul(a, b):
    return a * b


@njit(**_NJ)
def nan_max(a, b):
    return a if (a > b or a != a or (a == b and b == 0 and not signbit(a))) else b


@njit(**_NJ)
def nan_min(a, b):
    return a if (a < b or a != a or (a == b and b == 0 and signbit(a))) else b


def _sim_real(x):      # the real NumPy type of a simulated kernel's scalar (a Python float: float64)
    return np.float32 if isinstance(x, (np.float32, np.complex64)) else np.float64


def real_const(x, value):      # (scalar.py's are Numba overloads: the simulator needs Python ones)
    return _sim_real(x)(value)


def cpack(x, re, im):
    return (np.complex64 if _sim_real(x) is np.float32 else np.complex128)(complex(re, im))


def float_info(x):
    fi = np.finfo(_sim_real(x))
    t = fi.dtype.type
    return t(fi.max), t(fi.smallest_normal), t(fi.eps), int(fi.nmant) + 1


class _SimMath:
    """``math`` for the helpers run as Python: Python's math raises where compiled code gives
    inf or NaN (``exp(1e300)``, ``log(0)``, ``cos(inf)``); NumPy's scalar functions do not."""
    def __init__(self):
        import math as m
        self.__dict__.update({k: getattr(m, k) for k in dir(m) if not k.startswith("_")})
        for name in ("exp", "expm1", "log", "log1p", "sqrt", "sin", "cos", "tan", "sinh", "cosh",
                     "tanh", "hypot", "ldexp", "floor", "fmod"):
            setattr(self, name, self._quiet(getattr(np, name)))

    @staticmethod
    def _quiet(f):
        def g(*args):
            with np.errstate(all="ignore"):
                return f(*args)
        return g


math = _SimMath()
'''


def render_scalar_helpers(source, target):
    """The text of lowering.scalar for ``target`` ("gpu" or "sim")."""
    if target == "gpu":
        for old, new in _GPU_REWRITES.items():
            source = source.replace(old, new)
        return source + _GPU_EXTRA
    source = source.replace("from numba import njit\n", "")
    return _SIM_HEAD + source + _SIM_EXTRA
