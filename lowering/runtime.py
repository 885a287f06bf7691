"""Runtime: realize outputs by running a (cached) plan on the NumPy or Numba executor.

Policy (``ARRAYFORGE_EXECUTOR=auto``, the default): a kernel runs compiled when its
work is large (>= ``COMPILE_MIN`` elements), when its plan is hot (run >= ``HOT_RUNS``
times), or when its compiled form is already loaded; otherwise the NumPy executor
runs it op by op, so a first call on a tiny array never waits for a compile.
Compiled kernels run the parallel variant above ``PARALLEL_MIN`` elements, the
serial one below.  Output buffers are allocated here with NumPy, never in a kernel.
"""
from __future__ import annotations

import contextvars
import math
import os
import sys
import threading

import numba
import numpy as np

from . import cache as kcache
from .cpu import KernelSpec, PartSpec, RowsSpec, render, render_rows
from .fuse import iteration_shape as _iteration_shape, rows_substitutable
from .interpret import apply_view, apply_view_op, direct_ufunc, evaluate_op
from .ir import _DEVICES_IN_USE, Op, OpKind, buffer_node, toposort
from .kernels import BY_NAME
from .schedule import LOAD, POST_LOAD, build_plan, graph_key

# Parallel kernels run on TBB when installed (a dependency on x86-64), else on Numba's
# workqueue rather than OpenMP: GNU OpenMP terminates any process forked after a parallel
# region ran (multiprocessing, joblib), which a library must not impose on its users.
if "NUMBA_THREADING_LAYER" not in os.environ and "NUMBA_THREADING_LAYER_PRIORITY" not in os.environ:
    import numba
    numba.config.THREADING_LAYER_PRIORITY = ["tbb", "workqueue", "omp"]

COMPILE_MIN = 1 << 16
PARALLEL_MIN = 1 << 15
HOT_RUNS = 32
HOT_MIN = 4096

try:    # np.errstate(all="ignore") without rebuilding its state object on every realize (~0.6 us)
    from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj
    _IGNORE_ERRORS = _make_extobj(all="ignore")
    _set_errors = _extobj_contextvar.set

    class _ignore_fp_errors:
        __slots__ = ("token",)

        def __enter__(self):
            self.token = _extobj_contextvar.set(_IGNORE_ERRORS)

        def __exit__(self, *exc):
            _extobj_contextvar.reset(self.token)
except (ImportError, AttributeError, TypeError):    # other NumPy versions: the public API
    def _ignore_fp_errors():
        return np.errstate(all="ignore")

    _IGNORE_ERRORS = None

    def _set_errors(_):         # (inside the eager tier's own context only)
        np.seterr(all="ignore")

class BufferPool:
    """Reuse the memory of large kernel outputs that nobody references any more.

    A fresh 80 MB output costs its page faults on first touch, and from parallel threads
    that was measured here at 11-110 ms, longer than the kernel itself (~10 ms).  Outputs of
    at least ``MIN_BYTES`` are views of pooled byte buffers; a buffer is handed out again
    only when its reference count shows no array (ours or a user's view: NumPy points every
    view at the owning buffer) still uses it.  Allocation holds a lock, so two threads never
    get the same buffer.  At most ``MAX_BYTES`` are pooled; beyond that, plain ``np.empty``.
    """
    MIN_BYTES = 1 << 20
    MAX_BYTES = 1 << 31
    _UNUSED_REFS = sys.getrefcount(object()) + 2    # the pool's list and the loop variable

    def __init__(self):
        self.buffers = {}        # nbytes -> [uint8 buffers]
        self.total = 0
        self.lock = threading.Lock()

    def empty(self, shape, dtype):
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes < self.MIN_BYTES:
            return np.empty(shape, dtype)
        with self.lock:
            same = self.buffers.setdefault(nbytes, [])
            for buf in same:
                if sys.getrefcount(buf) <= self._UNUSED_REFS:
                    return buf.view(dtype).reshape(shape)
            if self.total + nbytes > self.MAX_BYTES:
                return np.empty(shape, dtype)
            buf = np.empty(nbytes, np.uint8)
            same.append(buf)
            self.total += nbytes
            return buf.view(dtype).reshape(shape)

    def clear(self):
        with self.lock:
            self.buffers.clear()
            self.total = 0


pool = BufferPool()
_plans: dict = {}
_plans_lock = threading.Lock()
_launch_lock = threading.Lock()     # Numba's workqueue layer must not be entered by two threads
_forced = {"executor": None, "env": None}


def set_executor(name):
    """Force ``"numpy"``, ``"numba"`` or ``"auto"`` (None: follow ARRAYFORGE_EXECUTOR)."""
    if name not in (None, "numpy", "numba", "auto"):
        raise ValueError(f"executor must be 'numpy', 'numba' or 'auto', not {name!r}")
    _forced["executor"] = name if name is not None else _forced.get("env")


def executor_mode():
    mode = _forced["executor"]
    if mode is None:       # read once: os.environ lookups cost ~1 us on the small-array path
        mode = _forced["executor"] = _forced["env"] = os.environ.get("ARRAYFORGE_EXECUTOR", "auto")
    if mode not in ("numpy", "numba", "auto"):
        raise ValueError(f"ARRAYFORGE_EXECUTOR must be numpy, numba or auto, not {mode!r}")
    return mode


def get_plan(outputs):
    nodes, pos, key = graph_key(outputs)
    plan = _plans.get(key)
    if plan is None:
        with _plans_lock:
            plan = _plans.get(key)
            if plan is None:
                plan = _plans[key] = build_plan(nodes, pos, outputs)
    return nodes, pos, plan


_size = math.prod
_CONST, _VIEW, _REDUCE, _ndarray = Op.CONST, OpKind.VIEW, OpKind.REDUCE, np.ndarray
ROW_BYTES_MAX = 1 << 18     # a rows kernel keeps each row in L2 while its stages revisit it
ROWS_MIN = 16               # ... and needs enough rows to share among the threads


def choose_executor(k, nodes, plan, mode=None):
    """``"numpy"`` or ``"numba"`` for kernel ``k`` of ``plan`` on these sizes."""
    mode = mode or executor_mode()
    if k.kind == "view":
        return "numpy"
    n = _size(_iteration_shape(k, nodes))
    if n == 0:
        return "numpy"
    hot = plan.runs >= HOT_RUNS

    def policy(work):
        # Note: below HOT_MIN elements Numba's argument unboxing costs as much as NumPy's
        # op-by-op dispatch, so tiny work stays interpreted even when hot.
        return "numba" if work >= COMPILE_MIN or (hot and work >= HOT_MIN) else "numpy"

    barrier = BY_NAME.get(k.kind)
    if barrier is not None:
        return barrier.executor(nodes[k.root], [nodes[ld.top].shape for ld in k.loads], mode, policy)
    return mode if mode != "auto" else policy(n)


def _load(ld, nodes, buffers, skip_expand):
    """The operand array of a load.  Views that NumPy must copy (a reshape of a slice) are
    made once per realize and shared by every kernel that reads them."""
    if not ld.views:
        base = nodes[ld.base]
        return base.buffer if base.buffer is not None else buffers[ld.base]
    key = (ld.base, ld.views, skip_expand)
    cached = buffers.get(key)
    if cached is None:
        cached = buffers[key] = _apply_views(ld, nodes, buffers, skip_expand)
    return cached


def _apply_views(ld, nodes, buffers, skip_expand):
    base = nodes[ld.base]
    arr = base.buffer if base.buffer is not None else buffers[ld.base]
    views = ld.views
    if skip_expand and views and nodes[views[-1]].op is Op.EXPAND:
        views = views[:-1]       # broadcast by indexing size-1 dims with 0 instead
    for v in views:
        arr = apply_view(nodes[v], arr)
    return arr


def _const(p, nodes):
    n = nodes[p]
    return n.dtype.type(n.arg)


def _drop(buffers, p):
    """Forget buffer ``p`` and the views of it made by ``_load``."""
    buffers.pop(p, None)
    for key in [key for key in buffers if type(key) is tuple and key[0] == p]:
        del buffers[key]


def _run_barrier(barrier, k, nodes, buffers, executor):
    root = nodes[k.root]
    operands = [_load(ld, nodes, buffers, False) for ld in k.loads]
    out = pool.empty(root.shape, root.dtype) if barrier.writes_out else None
    return barrier.run(root, operands, out, executor)


def _run_numpy(k, nodes, buffers):
    root = nodes[k.root]
    if k.kind == "rows":      # the parts in turn; their row values live only for this kernel
        for part in k.parts[:-1]:
            buffers[part.root] = _run_numpy(part, nodes, buffers)
        out = _run_numpy(k.parts[-1], nodes, buffers)
        for part in k.parts[:-1]:
            _drop(buffers, part.root)
        return out
    barrier = BY_NAME.get(k.kind)
    if barrier is not None:
        return _run_barrier(barrier, k, nodes, buffers, "numpy")
    if k.kind == "view":
        return _load(k.loads[0], nodes, buffers, False)
    out = k.program(nodes, buffers, _load)      # (np.errstate is set once, in realize)
    if type(out) is not np.ndarray or out.dtype != root.dtype:
        out = np.asarray(out, dtype=root.dtype)
    if out.shape != root.shape:
        out = np.broadcast_to(out, root.shape)
    return out if out.flags.c_contiguous else np.array(out, order="C")   # (ascontiguousarray makes 0-d 1-d)


def coalesce(shape, operands, reduced):
    """Merge adjacent dims that every operand walks contiguously (NumPy's iterator trick).

    Returns the new shape, the reduced flags per new dim, and each operand reshaped to
    it (always a view).  Size-1 dims of an operand are broadcast dims.
    """
    layouts = [(a.shape, a.strides) for a in operands]     # (each attribute access builds a tuple)
    groups = []
    last = -1
    for d, n in enumerate(shape):
        if n == 1:
            continue
        if last >= 0 and reduced[last] == reduced[d]:
            for sh, st in layouts:
                if (sh[last] == 1) != (sh[d] == 1) or (sh[d] != 1 and st[last] != st[d] * sh[d]):
                    break
            else:
                groups[-1].append(d)
                last = d
                continue
        groups.append([d])
        last = d
    if not groups:
        new_shape, new_red = (1,), (False,)
        return new_shape, new_red, [a.reshape(1) for a in operands]
    new_shape = tuple([_size([shape[d] for d in g]) for g in groups])
    new_red = tuple([reduced[g[0]] for g in groups])
    reshaped = []
    for a, (sh, _) in zip(operands, layouts):
        s = tuple([1 if sh[g[0]] == 1 else _size([sh[d] for d in g]) for g in groups])
        reshaped.append(a if s == sh else a.reshape(s))
    return new_shape, new_red, reshaped


def _launch(kernel, n, args):
    """Run a compiled kernel: its prange nest (threads) for ``n`` >= PARALLEL_MIN iterations."""
    if n >= PARALLEL_MIN:
        with _launch_lock:
            kernel(True, *args)
    else:
        kernel(False, *args)


_launches: dict = {}        # (structure, sizes, operand layouts) -> (spec, shape argument, operand shapes)
LAUNCHES_MAX = 4096


def _run_numba(k, st, nodes, buffers):
    barrier = BY_NAME.get(k.kind)
    if barrier is not None:
        return _run_barrier(barrier, k, nodes, buffers, "numba")
    root = nodes[k.root]
    if k.reduce is not None:
        rn = nodes[k.reduce]
        shape = rn.inputs[0].shape
        keep = tuple(1 if d in rn.arg else n for d, n in enumerate(shape))   # reduced dims as 1s
        reduced = tuple(d in rn.arg for d in range(len(shape)))
    else:
        shape = keep = root.shape
        reduced = (False,) * len(shape)
    out = pool.empty(root.shape, root.dtype)
    out_k = out.reshape(keep)
    pre = [_load(ld, nodes, buffers, True) for ld in k.loads]
    post = []
    for ld in k.post_loads:
        a = _load(ld, nodes, buffers, True)
        if a.shape != keep:
            a = np.broadcast_to(a, root.shape).reshape(keep)
        post.append(a)
    arrays = [out_k] + pre + post
    # The coalesced operand shapes and the spec depend only on the structure, the sizes and
    # the operands' layouts: remembered, a repeated call skips coalesce and building the spec.
    key = (st, shape, reduced, tuple([(a.shape, a.strides) for a in arrays]))
    launch = _launches.get(key)
    if launch is None:
        new_shape, new_red, arrays = coalesce(shape, arrays, reduced)
        pre_c = arrays[1:1 + len(pre)]
        post_c = arrays[1 + len(pre):]
        spec = KernelSpec(
            kind="reduce" if k.reduce is not None else "elementwise", rank=len(new_shape), reduced=new_red,
            pre_masks=tuple(tuple(s == 1 and n != 1 for s, n in zip(a.shape, new_shape)) for a in pre_c),
            post_masks=tuple(tuple(s == 1 and n != 1 for s, n in zip(a.shape, new_shape)) for a in post_c),
            const_dtypes=st.const_dtypes, body=st.body, reduce=st.reduce, post=st.post, root=st.root,
            out_dtype=root.dtype.str)
        shp = np.array(new_shape, dtype=np.int64)
        if len(_launches) >= LAUNCHES_MAX:
            _launches.clear()
        _launches[key] = (spec, shp, tuple([a.shape for a in arrays]))
    else:
        spec, shp, shapes = launch
        arrays = [a if a.shape == s else a.reshape(s) for a, s in zip(arrays, shapes)]
    kernel = kcache.get_kernel(spec, lambda: render(spec), st.description)
    args = [arrays[0], shp] + arrays[1:] + [_const(p, nodes) for p in k.consts]
    _launch(kernel, _size(shape), args)
    return out


def _rows_fused(k, nodes):
    """Run this rows kernel fused?  Only when a row fits in cache, there are rows enough
    for the threads, and (for this run's sizes) every substituted read is a row broadcast."""
    shape = _iteration_shape(k, nodes)
    row = _size(shape[d] for d in k.axes)
    width = max(nodes[ld.base].dtype.itemsize for part in k.parts for ld in part.loads + part.post_loads)
    if row * width > ROW_BYTES_MAX or _size(shape) // max(row, 1) < ROWS_MIN:
        return False
    return rows_substitutable(k, nodes, shape)


def _run_rows(k, st, nodes, buffers):
    if not _rows_fused(k, nodes):
        for part, pst in zip(k.parts[:-1], st.parts):
            buffers[part.root] = _run_numba(part, pst, nodes, buffers)
        out = _run_numba(k.parts[-1], st.parts[-1], nodes, buffers)
        for part in k.parts[:-1]:
            _drop(buffers, part.root)
        return out
    root = nodes[k.root]
    shape = _iteration_shape(k, nodes)
    keep = tuple(1 if d in k.axes else n for d, n in enumerate(shape))
    reduced = tuple(d in k.axes for d in range(len(shape)))
    out = pool.empty(root.shape, root.dtype)
    arrays = [out.reshape(keep if k.reduce is not None else shape)]
    layout = []       # per part: (pre arrays, post arrays) counts, to rebuild masks after coalescing
    for part, subst in zip(k.parts, st.subst):
        pre = [_load(ld, nodes, buffers, True) for i, ld in enumerate(part.loads) if (LOAD, i) not in subst]
        post = []
        for i, ld in enumerate(part.post_loads):
            if (POST_LOAD, i) in subst:
                continue
            a = _load(ld, nodes, buffers, True)
            if a.shape != keep:
                a = np.broadcast_to(a, nodes[part.root].shape).reshape(keep)
            post.append(a)
        layout.append((len(pre), len(post)))
        arrays += pre + post
    new_shape, new_red, arrays = coalesce(shape, arrays, reduced)

    def masks(arrs):
        return tuple(tuple(s == 1 and n != 1 for s, n in zip(a.shape, new_shape)) for a in arrs)

    specs, at = [], 1
    for (npre, npost), pst, subst in zip(layout, st.parts, st.subst):
        pre, post = arrays[at:at + npre], arrays[at + npre:at + npre + npost]
        at += npre + npost
        it_pre, it_post = iter(masks(pre)), iter(masks(post))
        specs.append(PartSpec(
            pre_masks=tuple(() if (LOAD, i) in subst else next(it_pre) for i in range(_count(subst, LOAD, npre))),
            post_masks=tuple(() if (POST_LOAD, i) in subst else next(it_post) for i in range(_count(subst, POST_LOAD, npost))),
            const_dtypes=pst.const_dtypes, body=pst.body, reduce=pst.reduce, post=pst.post, root=pst.root,
            subst=tuple(sorted(subst.items()))))
    spec = RowsSpec(rank=len(new_shape), reduced=new_red, parts=tuple(specs), out_dtype=root.dtype.str,
                    stash=st.stash)
    kernel = kcache.get_kernel(spec, lambda: render_rows(spec), st.description)
    args = [arrays[0], np.array(new_shape + (numba.get_num_threads(),), dtype=np.int64)]
    at = 1
    for (npre, npost), part in zip(layout, k.parts):
        args += arrays[at:at + npre + npost] + [_const(p, nodes) for p in part.consts]
        at += npre + npost
    _launch(kernel, _size(shape), args)
    return out


def _count(subst, space, present):
    """The number of loads of ``space`` in a part: those passed plus those substituted."""
    return present + sum(1 for (sp, _) in subst if sp == space)


def realize(outputs):
    """Compute ``outputs`` (nodes) with one plan; attach and return their buffers."""
    todo = [o for o in outputs if o.buffer is None]
    if todo and _DEVICES_IN_USE[0] and any(o.device is not None for o in todo):
        from . import cuda_runtime      # (imports numba.cuda: only once a device array exists)
        host = [o for o in todo if o.device is None]
        if host:
            realize(host)
        cuda_runtime.realize([o for o in todo if o.device is not None], get_plan)
        return [o.buffer for o in outputs]
    if todo:
        nodes, pos, plan = get_plan(todo)
        mode = executor_mode()
        buffers = {}
        with _ignore_fp_errors():      # NaN and inf are values, never warnings
            for i, k in enumerate(plan.kernels):
                if choose_executor(k, nodes, plan, mode) == "numba":
                    run = _run_rows if k.kind == "rows" else _run_numba
                    buffers[k.root] = run(k, plan.structures[i], nodes, buffers)
                else:
                    buffers[k.root] = _run_numpy(k, nodes, buffers)
                if _held_elsewhere(nodes, k.root, plan.users):
                    nodes[k.root].realize_as(buffers[k.root])
                for p in plan.frees[i]:
                    _drop(buffers, p)
        plan.runs += 1
        for o in todo:
            if o.buffer is None:
                q = pos[o]
                o.realize_as(buffers[q] if q in buffers else _const_array(o))
    return [o.buffer for o in outputs]


_GRAPH_REFS = 3    # the ``nodes`` list, the ``pos`` dict, getrefcount's own argument


def _held_elsewhere(nodes, p, users):
    """Does anything outside this graph (a user's Array, another pending graph) hold node
    ``p``?  Then the value just computed for it is kept (``realize_as``): a realized result
    is never recomputed, and work recorded later starts from it (``float(x[0])`` in a loop
    realizes ``x``, so the loop's chain restarts at depth 0 instead of being recomputed).
    Intermediates nobody holds are freed as before, so peak memory does not grow."""
    return sys.getrefcount(nodes[p]) > _GRAPH_REFS + users[p] and nodes[p].buffer is None


# the eager tier's limit (elements): such work is never compiled anyway; 0 turns it off
EAGER_MAX = int(os.environ.get("ARRAYFORGE_EAGER_MAX", HOT_MIN))
_EAGER_OPS = frozenset(op for op in Op if op.kind in (
    OpKind.UNARY, OpKind.BINARY, OpKind.TERNARY, OpKind.REDUCE, OpKind.VIEW))


def _eager(work):
    """May work of this many elements run at once?  (Only in ``auto`` mode.)"""
    return work <= EAGER_MAX and (_forced["executor"] == "auto" or executor_mode() == "auto")


def run_now(op, dtype, shape, inputs, arg):
    """The eager tier: compute an operation at once, with NumPy, when it is about to be
    recorded on realized inputs and its work is small; returns the realized leaf, or None
    (then the caller records the operation).

    Recording and realizing a graph costs ~20 us of Python (keys, plan lookup, the
    interpreted program) where NumPy takes ~1 us per op on 100 elements, so a loop over
    small arrays would pay that on every step.  Such work always runs on the NumPy executor
    (it is below ``HOT_MIN``), op by op, through the same ``evaluate_op``: the results are
    identical, and fusion has nothing to save.  Only in ``auto`` mode: a forced executor
    runs every op through plans, so the numba and numpy executors stay testable on any size.
    Errors stay at the recording call: the front end validated the op before asking."""
    if op not in _EAGER_OPS or not _eager(_size(shape)):
        return None
    if _DEVICES_IN_USE[0] and any(n.device is not None for n in inputs):
        return None             # (device values never run on the host)
    first = inputs[0]
    if len(inputs) == 1:        # a unary op, a cast, a reduction or a view
        b = first.buffer
        if b is None:           # (of a constant: it stays a free constant)
            return None
        kind = op.kind
        if kind is _VIEW:
            return buffer_node(apply_view_op(op, arg, b))
        if kind is _REDUCE:
            out = reduce_now(op, dtype, shape, b, arg)
            return None if out is None else buffer_node(out, own=True)
        args = (b,)
    else:
        args = []
        realized = False
        for n in inputs:
            b = n.buffer
            if b is None:
                if n.op is not _CONST:
                    return None
                b = n.dtype.type(n.arg)         # a constant is a scalar operand, as in kernels
            else:
                realized = True
            args.append(b)
        if not realized:        # constants only: they stay free until used
            return None
    in_shape, first = first.shape, first.dtype
    fn = _DIRECT[first.kind].get(op)
    quiet = _QUIET.context        # NaN and inf are values, never warnings
    if fn is not None:
        out = quiet.run(fn, *args)
    else:
        out = quiet.run(evaluate_op, op, dtype, shape, first, in_shape, arg, args)
    if type(out) is not _ndarray or (out.dtype is not dtype and out.dtype != dtype):   # 0-d: a NumPy scalar
        out = np.asarray(out).astype(dtype, copy=False)
    if out.shape != shape:
        out = np.broadcast_to(out, shape)
    if not out.flags.c_contiguous:
        out = np.array(out, order="C")
    return buffer_node(out, own=True)


def ufunc_now(op, a, b=None):
    """The eager tier's commonest calls, without a graph or a node: ``op`` on the realized
    array ``a`` and, for a binary op, an array of ``a``'s dtype and shape or a NumPy scalar
    of ``a``'s dtype.  Returns the result (a fresh C-contiguous array that nothing else
    references), or None (then the caller records)."""
    if a.size > EAGER_MAX or _forced["executor"] != "auto" and executor_mode() != "auto":   # (_eager, inlined)
        return None
    if _DEVICES_IN_USE[0] and not (type(a) is _ndarray and (b is None or _on_host(b))):
        return None             # a device array: the caller records (and checks devices)
    fn = _DIRECT[a.dtype.kind].get(op)
    if fn is None:
        return None
    out = _QUIET.context.run(fn, a) if b is None else _QUIET.context.run(fn, a, b)
    if type(out) is not _ndarray:        # 0-d operands give a NumPy scalar
        return np.asarray(out)
    if out.ndim > 1 and not out.flags.c_contiguous:     # (a new 1-D result always is)
        return np.array(out, order="C")
    return out


def reduce_now(op, dtype, shape, a, axes):
    """The eager tier's reduction of the realized array ``a`` over ``axes`` (also the front
    end's fast path for ``sum``): the result as a fresh array, or None."""
    if a.size > EAGER_MAX or _forced["executor"] != "auto" and executor_mode() != "auto":   # (_eager, inlined)
        return None
    if _DEVICES_IN_USE[0] and type(a) is not _ndarray:
        return None
    if op is _SUM and dtype is a.dtype and not shape and dtype.char in "dD":
        # the commonest case, a float64/complex128 sum to a scalar: evaluate_op's result, directly
        out = _QUIET.context.run(_add_reduce, a, axes)
        return np.asarray(out) if type(out) is not _ndarray else out
    # (evaluate_op returns a fresh array of the node's dtype and shape)
    return _QUIET.context.run(evaluate_op, op, dtype, shape, a.dtype, a.shape, axes, (a,))


_SUM = Op.SUM
_add_reduce = np.add.reduce


def _on_host(x):
    return isinstance(x, (np.ndarray, np.generic, bool, int, float, complex))


class _QuietContext(threading.local):
    """Per thread, a ``contextvars.Context`` whose NumPy error state ignores everything: the
    eager tier runs each op in it (``Context.run`` costs ~nothing; setting and resetting the
    error state around a 100-element op cost as much as the op)."""

    def __init__(self):
        self.context = contextvars.Context()
        self.context.run(_set_errors, _IGNORE_ERRORS)


_QUIET = _QuietContext()


# per dtype kind and op, the ufunc computing it exactly as evaluate_op does (interpret.direct_ufunc)
_DIRECT = {kind: {op: f for op in Op if (f := direct_ufunc(op, np.dtype(example))) is not None}
           for kind, example in (("f", "float64"), ("c", "complex128"), ("i", "int64"),
                                 ("u", "uint64"), ("b", "bool"))}


MAX_DEPTH_AFTER_CUT = 64      # a cut at held nodes must leave at most this depth above it


def realize_deep(node):
    """Cut the graph of ``node``, which grew past the depth bound.

    The cut is made at the nodes that something outside the graph holds (the loop variable
    of ``x = f(x)``, values on the stack of the expression being built), taking the lowest
    of them: realizing the previous ``x`` computes the chain below it once, in one kernel,
    and the current step stays recorded on top of it, so every later realization has the
    same structure.  When no held node cuts the depth enough, ``node`` is realized with the
    held nodes as extra outputs, so none of them is recomputed later (in
    ``x = a(x) + b(x)``, ``b(x)`` must not compute ``x`` again)."""
    nodes = toposort([node])
    readers = dict.fromkeys(nodes, 0)
    for m in nodes:
        if m.buffer is None:
            for i in m.inputs:
                readers[i] += 1
    del m       # (a reference of its own to the last node)
    # references to a node here: ``nodes``, ``readers``' key, the loop variable, getrefcount's
    held = [n for n in nodes if n.buffer is None and n is not node and n.op is not _CONST
            and sys.getrefcount(n) > 4 + readers[n]]
    if held:
        held_set = set(held)
        above = set()           # unrealized nodes with a held node below them
        for m in nodes:
            if m.buffer is None and any(i in held_set or i in above for i in m.inputs):
                above.add(m)
        realize([m for m in held if m not in above])
        for m in nodes:         # the depths above the cut restart from the realized leaves
            if m.buffer is None:
                m.depth = 1 + max((i.depth for i in m.inputs), default=-1)
        if node.buffer is not None or node.depth <= MAX_DEPTH_AFTER_CUT:
            return node.buffer
    return realize([node] + [m for m in held if m.buffer is None])[0]


def _const_array(node):
    return np.full(node.shape, node.arg, dtype=node.dtype)


def explain_plan(outputs):
    """A list of dicts, one per kernel, describing what ``realize`` would run."""
    todo = [o for o in outputs if o.buffer is None]
    if not todo:
        return []
    nodes, _, plan = get_plan(todo)
    mode = executor_mode()
    on_device = _DEVICES_IN_USE[0] and any(o.device is not None for o in todo)
    out = []
    for i, k in enumerate(plan.kernels):
        root = nodes[k.root]
        st = plan.structures[i]
        n = _size(_iteration_shape(k, nodes))
        if on_device:       # (lowering.cuda_runtime runs every kernel of a device plan)
            from . import cuda_runtime
            ex, backend = "cuda", "cuda"
            variant = ("fused" if cuda_runtime.rows_fused(k, nodes) else "parts") if k.kind == "rows" else "-"
        else:
            ex = choose_executor(k, nodes, plan, mode)
            variant = ("parallel" if n >= PARALLEL_MIN else "serial") if ex == "numba" else "-"
            backend = "cpu" if ex == "numba" else "numpy"
        barrier = BY_NAME.get(k.kind)
        if barrier is not None:
            backend, variant = ("cuda", barrier.cuda_describe(root)) if on_device else barrier.describe(root, ex)
        out.append({
            "kind": k.kind, "ops": k.ops(nodes) if st is None else st.ops,
            "shape": root.shape, "dtype": root.dtype, "executor": ex,
            "backend": backend, "variant": variant,
            "inputs": len(k.loads) + len(k.post_loads), "iterations": n,
            "reads": [nodes[ld.base].shape for ld in k.loads + k.post_loads],
        })
    return out


def cache_info():
    return dict(kcache.info(), plans=len(_plans))


def clear_cache():
    kcache.clear()
    pool.clear()
    _launches.clear()
    with _plans_lock:
        _plans.clear()
