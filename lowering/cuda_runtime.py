"""The CUDA executor: device buffers, transfers, and running a plan's kernels on a GPU.

Imported on the first use of a CUDA device only (``import arrayforge`` never imports
numba.cuda).  Runs under Numba's simulator too (``NUMBA_ENABLE_CUDASIM=1`` set before numba
is imported), which is how the tests run without a GPU.

A device value is a contiguous device array of its node's shape.  A kernel operand is the
flat array of a buffer with an element offset and a stride per dimension, computed on the
host from the load's views (applied to a zero-memory NumPy stand-in of the buffer), so
views are never copies; only a reshape that no strides can express is materialized first.
"""
from __future__ import annotations

import contextlib
import ctypes
import math
import os
import sys
import threading
import types
import weakref

import numpy as np

from . import cache as kcache
from .cuda import (BLOCK, WARP, CudaRowsPart, CudaRowsSpec, CudaSpec, copy_spec, render, render_scalar_helpers,
                   rows_operands)
from .fuse import iteration_shape, rows_substitutable
from .schedule import LOAD, POST_LOAD
from .interpret import apply_view_op
from .ir import Op, device_buffer_node
from .kernels import BY_NAME

_state = {"cuda": None, "helpers": None, "target": None}
_lock = threading.Lock()


def cuda():
    """numba.cuda, imported on first use; ValueError when Numba sees no CUDA device."""
    mod = _state["cuda"]
    if mod is None:
        from numba import cuda as mod
        if not mod.is_available():
            raise ValueError("no CUDA device: Numba sees no GPU (numba.cuda.is_available() is "
                             "False); set NUMBA_ENABLE_CUDASIM=1 before importing arrayforge to "
                             "use Numba's CUDA simulator")
        _state["cuda"] = mod
    return mod


def simulated():
    from numba.core import config
    return bool(config.ENABLE_CUDASIM)


def available():
    """Does Numba see a CUDA device (the simulator counts)?  Never raises."""
    try:
        from numba import cuda as mod
        return bool(mod.is_available())
    except Exception:       # pragma: no cover - a broken CUDA install
        return False


def device_count():
    if not available():
        return 0
    try:
        return len(cuda().gpus)
    except Exception:       # pragma: no cover
        return 1


def check_device(ordinal):
    """ValueError unless CUDA device ``ordinal`` exists."""
    n = device_count()
    if n == 0:
        cuda()              # raises the explanation
    if not 0 <= ordinal < n:
        raise ValueError(f"CUDA device {ordinal} does not exist (Numba sees {n})")


def target():
    """``"sim"``, or ``"gpu"`` with the compute capability (kernels are keyed by it)."""
    t = _state["target"]
    if t is None:
        if simulated():
            t = ("sim", None)
        else:
            t = ("gpu", tuple(cuda().get_current_device().compute_capability))
        _state["target"] = t
    return t


def scalar_helpers():
    """lowering.scalar rendered for this target (see cuda.render_scalar_helpers)."""
    mod = _state["helpers"]
    if mod is None:
        with _lock:
            mod = _state["helpers"]
            if mod is None:
                path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scalar.py")
                with open(path, encoding="utf-8") as fh:
                    source = render_scalar_helpers(fh.read(), target()[0])
                mod = types.ModuleType("arrayforge_kernels.cuda_scalar")
                mod.__file__ = path
                exec(compile(source, f"<arrayforge cuda scalar helpers ({target()[0]})>", "exec"), mod.__dict__)
                sys.modules[mod.__name__] = mod
                _state["helpers"] = mod
    return mod


# ---- buffers ---------------------------------------------------------------------------

class DevicePool:
    """Device allocations are slow (cudaMalloc synchronizes): a buffer whose array was
    collected goes back to a free list by (size, dtype) and is handed out again.  At most
    ``MAX_BYTES`` are kept free.

    Note: the buffer returns when the *handle* :meth:`empty` gave out is collected; a view of
    it (``reshape``, a slice) does not keep the handle alive (Numba's device views reference
    the root allocation, which the free list holds).  Code that keeps a view of a temporary
    must keep the handle too, for as long as the view is used."""
    MAX_BYTES = 1 << 31

    def __init__(self):
        self.free = {}
        self.free_bytes = 0
        self.lock = threading.Lock()

    def empty(self, shape, dtype):
        dtype = np.dtype(dtype)
        n = max(math.prod(shape), 1)
        key = (n, dtype.str)
        flat = None
        with self.lock:
            same = self.free.get(key)
            if same:
                flat = same.pop()
                self.free_bytes -= n * dtype.itemsize
        if flat is None:
            flat = cuda().device_array(n, dtype)
        # a handle of its own (the free list keeps ``flat``); a 0-d value keeps shape (1,): readers
        # take the shape from the node, and no device-array reshape to () is needed
        # (an empty shape views an empty slice: a 1-element buffer does not reshape to (3, 0))
        arr = flat[0:math.prod(shape)].reshape(tuple(shape)) if shape else flat[0:1]
        weakref.finalize(arr, self._release, key, flat, n * dtype.itemsize)
        return arr

    def _release(self, key, flat, nbytes):
        with self.lock:
            if self.free_bytes + nbytes <= self.MAX_BYTES:
                self.free.setdefault(key, []).append(flat)
                self.free_bytes += nbytes

    def clear(self):
        with self.lock:
            self.free.clear()
            self.free_bytes = 0


pool = DevicePool()


def to_device(array, ordinal=0):
    """A contiguous device copy of the host array ``array`` (an explicit transfer)."""
    check_device(ordinal)
    array = np.ascontiguousarray(array)
    out = pool.empty(array.shape, array.dtype)
    if array.size:
        flat(out).copy_to_device(array.reshape(-1))
    return out


def to_host(buf, shape=None):
    """A host (NumPy) copy of the device array ``buf`` (an explicit transfer), of ``shape``
    (default: the buffer's)."""
    host = np.empty(buf.shape, np.dtype(buf.dtype))
    if host.size:
        flat(buf).copy_to_host(host.reshape(-1))
    return host if shape is None else host.reshape(shape)


def flat(buf):
    """The 1-d view of a contiguous device array."""
    n = math.prod(buf.shape)        # (a 0-d value's buffer has shape (1,))
    return buf if buf.shape == (n,) else buf.reshape((n,))


def _check_dtype(dtype):
    if np.dtype(dtype).kind not in "biufc":
        raise NotImplementedError(f"{np.dtype(dtype)} has no kernels for device cuda")


def leaf(array, ordinal=0):
    """A device leaf holding a copy of host ``array`` on CUDA device ``ordinal``."""
    _check_dtype(array.dtype)
    return device_buffer_node(to_device(array, ordinal), ("cuda", ordinal), np.shape(array))


def adopt(device_array, ordinal=0, shape=None):
    """A device leaf of an existing device array (``__cuda_array_interface__`` and DLPack
    producers) of ``shape`` (default: the array's): shared when contiguous, else copied on
    the device."""
    _check_dtype(device_array.dtype)
    if not _contiguous(device_array):
        device_array = _copy_strided(device_array)
    return device_buffer_node(device_array, ("cuda", ordinal), shape)


def _copy_strided(device_array):
    """A contiguous device copy of a strided device array (a ``__cuda_array_interface__``
    producer's view): its memory is read as a flat extent with element strides."""
    dtype = np.dtype(device_array.dtype)
    strides = tuple(s // dtype.itemsize for s in device_array.strides)
    if simulated():
        ary = device_array._ary
        return _wrap_external(ary.__array_interface__["data"][0], device_array.shape, strides, dtype, ary)
    ptr = device_array.__cuda_array_interface__["data"][0]
    return _wrap_external(ptr, device_array.shape, strides, dtype, device_array)


def _wrap_external(pointer, shape, strides, dtype, owner):
    """A contiguous device array of the memory at ``pointer`` (``shape``, element ``strides``,
    ``dtype``) that another library owns (``owner`` is kept as long as the result needs the
    memory): the memory itself when it is C-contiguous, else a device copy made by the copy
    kernel.  Numba's external-memory device arrays (``from_cuda_array_interface``); under
    the simulator, "device" memory is host memory."""
    dtype = np.dtype(dtype)
    size = math.prod(shape)
    lo = sum(min(0, (n - 1) * s) for n, s in zip(shape, strides)) if size else 0
    hi = sum(max(0, (n - 1) * s) for n, s in zip(shape, strides)) if size else -1
    extent = hi - lo + 1
    base = pointer + lo * dtype.itemsize
    if simulated():
        from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray
        raw = (ctypes.c_char * max(extent * dtype.itemsize, 1)).from_address(base) if extent else \
            (ctypes.c_char * 1)()
        raw.owner = owner               # (the flat array's base is ``raw``: it keeps ``owner``)
        flat_arr = FakeCUDAArray(np.frombuffer(raw, dtype, count=extent))
    else:
        flat_arr = cuda().from_cuda_array_interface(
            {"shape": (extent,), "strides": None, "data": (base, False), "typestr": dtype.str,
             "version": 3}, owner=owner, sync=False)
    op = Operand(flat_arr, -lo, tuple(strides), tuple(shape))
    expect, contiguous = 1, True
    for n, s in zip(reversed(shape), reversed(strides)):
        if n != 1 and s != expect:
            contiguous = False
        expect *= n
    if contiguous:
        return flat_arr[0:size].reshape(tuple(shape)) if shape else flat_arr[0:1]
    out = _run_copy(op, dtype)
    if not simulated():     # the owner may free its memory once ``flat_arr`` is collected
        cuda().synchronize()
    return out


def _contiguous(a):
    itemsize = np.dtype(a.dtype).itemsize
    expect = itemsize
    for n, s in zip(reversed(a.shape), reversed(a.strides)):
        if n != 1 and s != expect:
            return False
        expect *= n
    return True


# ---- operands: flat buffer, element offset, strides -------------------------------------

def _stand_in(shape, dtype):
    """A zero-memory NumPy array with the layout of a contiguous ``shape``: views of it give
    the strides and offset of the same views of the device buffer (never read)."""
    dtype = np.dtype(dtype)
    base = np.empty(1, dtype)
    strides = []
    acc = dtype.itemsize
    for n in reversed(shape):
        strides.append(acc)
        acc *= max(n, 1)
    return np.lib.stride_tricks.as_strided(base, shape=shape, strides=tuple(reversed(strides)),
                                           writeable=False), base


def _view(op, arg, arr):
    """apply_view_op on a stand-in, except that a reshape needing a copy raises ValueError."""
    if op is Op.RESHAPE:
        out = arr.view()
        try:
            out.shape = arg
        except AttributeError:
            raise ValueError("reshape needs a copy") from None
        return out
    return apply_view_op(op, arg, arr)


class Operand:
    __slots__ = ("array", "offset", "strides", "shape")

    def __init__(self, array, offset, strides, shape):
        self.array, self.offset, self.strides, self.shape = array, offset, strides, shape


def _operand(ld, nodes, buffers):
    base = nodes[ld.base]
    buf = base.buffer if base.buffer is not None else buffers[ld.base]
    dtype = np.dtype(buf.dtype)
    arr, anchor = _stand_in(tuple(base.shape), dtype)      # (the node's shape: see DevicePool.empty)
    for v in ld.views:
        n = nodes[v]
        try:
            arr = _view(n.op, n.arg, arr)
        except ValueError:          # materialize the views so far, then continue from the copy
            buf = _run_copy(Operand(flat(buf), _offset(arr, anchor, dtype), _elem_strides(arr, dtype),
                                    arr.shape), dtype)
            arr, anchor = _stand_in(tuple(buf.shape), dtype)
            arr = _view(n.op, n.arg, arr)
    return Operand(flat(buf), _offset(arr, anchor, dtype), _elem_strides(arr, dtype), arr.shape)


def _offset(arr, anchor, dtype):
    return (arr.__array_interface__["data"][0] - anchor.__array_interface__["data"][0]) // dtype.itemsize


def _elem_strides(arr, dtype):
    return tuple(s // dtype.itemsize for s in arr.strides)


def _aligned(op, shape):
    """The operand's strides for the iteration ``shape`` (its size-1 dims broadcast: stride 0)."""
    pad = len(shape) - len(op.shape)
    osh = (1,) * pad + tuple(op.shape)
    st = (0,) * pad + tuple(op.strides)
    return tuple(0 if (o == 1 and n != 1) or n == 1 else s for o, n, s in zip(osh, shape, st))


def coalesce(shape, reduced, strides):
    """Drop unit dims and merge adjacent dims that every operand walks as one (same kind:
    reduced or kept).  Returns (shape, reduced, strides per operand)."""
    groups = []
    for d, n in enumerate(shape):
        if n == 1:
            continue
        if groups:
            last = groups[-1][-1]
            if reduced[last] == reduced[d] and all(st[last] == st[d] * n for st in strides):
                groups[-1].append(d)
                continue
        groups.append([d])
    new_shape = tuple(math.prod(shape[d] for d in g) for g in groups)
    new_red = tuple(reduced[g[0]] for g in groups)
    new_strides = [tuple(st[g[-1]] for g in groups) for st in strides]
    return new_shape, new_red, new_strides


# ---- kernels ---------------------------------------------------------------------------

def _kernel(spec, description):
    key = ("cuda", spec, target()[1])
    return kcache.get_kernel(key, lambda: render(spec), description,
                             entry=lambda key, function, description, source, path:
                             CudaKernel(spec, function, description, source, path))


class CudaKernel:
    """A generated kernel, launched as ``kernel[blocks, threads](*args)`` (the arguments of
    ``signature(spec)``).  The simulator runs the ``@cuda.jit`` dispatcher.  On a GPU the
    kernel is compiled once for ``signature(spec)`` to PTX for the device's compute
    capability, kept in the disk cache next to the kernel's source (``kernel_ptx``: verified
    by lowering.cache, so a new process skips Numba's compile) and loaded with numba-cuda's
    linker and module loading (``_kernel_from_ptx``)."""

    def __init__(self, spec, function, description, source, path):
        self.spec, self.function, self.description, self.source = spec, function, description, source
        self.name = os.path.splitext(os.path.basename(path))[0] if path else None
        self._loaded = None
        self._lock = threading.Lock()

    def __getitem__(self, config):
        cfg = self.function[config]     # numba-cuda's launch configuration (dims, stream)
        if target()[0] == "sim":
            return cfg
        kernel = self._loaded
        if kernel is None:
            with self._lock:
                if self._loaded is None:
                    ptx = kernel_ptx(self.spec, target()[1], self.function.py_func, self.name, self.source)
                    self._loaded = _kernel_from_ptx(ptx, signature(self.spec))
                kernel = self._loaded
        return lambda *args: kernel.launch(args, cfg.griddim, cfg.blockdim, cfg.stream, cfg.sharedmem)


def kernel_ptx(spec, cc, py_func=None, name=None, source=None):
    """The PTX of ``spec``'s kernel for compute capability ``cc``: from the disk cache (file
    ``<name>.sm<cc>.ptx``, keyed by the kernel's source, its signature and ``cc``), else
    compiled (``numba.cuda.compile_ptx``, no GPU needed) and stored there.  ``py_func``,
    ``name``, ``source``: of the kernel module when it was already made (default: rendered)."""
    from numba import cuda as numba_cuda
    if py_func is None:
        source = render(spec)
        name = kcache.module_name(source)
        ns = {"__name__": f"arrayforge_kernels.{name}"}
        exec(compile(source, f"<arrayforge cuda kernel {name}>", "exec"), ns)
        py_func = ns["kernel"].py_func
    sig = signature(spec)
    key = ("cuda ptx", tuple(cc), tuple(str(t) for t in sig))
    suffix = f"sm{cc[0]}{cc[1]}.ptx"
    if name is not None:
        blob = kcache.load_entry(name, suffix, source, key)
        if blob is not None:
            kcache.stats["disk_hits"] += 1
            return blob.decode("utf-8")
    with _device_cc(cc):
        ptx, _ = numba_cuda.compile_ptx(py_func, sig, cc=tuple(cc))
    kcache.stats["compiled"] += 1
    if os.environ.get("ARRAYFORGE_DEBUG"):
        print(f"arrayforge: compiled CUDA kernel [{spec.kind}] for sm_{cc[0]}{cc[1]}: its PTX is not in the "
              "disk cache", file=sys.stderr)
    if name is not None:
        kcache.store_entry(name, suffix, source, key, ptx.encode("utf-8"))
    return ptx


def _kernel_from_ptx(ptx, argtypes, cc=None):
    """A launchable numba-cuda kernel of PTX text (needs a GPU): a code library holding the
    PTX for the current device, linked to a cubin and loaded as a module on first launch
    (what numba-cuda does with the PTX of its own cache entries)."""
    import re
    from numba.core import types as nbtypes
    from numba.core.typing import signature as make_signature
    from numba.cuda.codegen import CUDACodeLibrary
    from numba.cuda.descriptor import cuda_target
    from numba.cuda.dispatcher import _Kernel
    entry = re.search(r"\.entry\s+([\w$]+)\s*\(", ptx).group(1)
    lib = CUDACodeLibrary._rebuild(codegen=cuda_target.target_context.codegen(), name=entry, entry_name=entry,
                                   llvm_strs=[], ptx_cache={}, cubin_cache={}, linkerinfo_cache={},
                                   max_registers=None, nvvm_options={"opt": 3}, needs_cudadevrt=False,
                                   nrt=False, use_cooperative=False, lto=False)
    lib._ptx_cache[lib._ensure_cc(cc)] = [ptx]       # (cc: the current device's, as numba-cuda keys it)
    return _Kernel._rebuild(cooperative=False, name=entry, signature=make_signature(nbtypes.void, *argtypes),
                            codelibrary=lib, debug=False, lineinfo=False, call_helper=None, extensions=[])


def accumulator(spec):
    from .interpret import accumulator_dtype
    return accumulator_dtype(spec.reduce[0], np.dtype(spec.reduce[1])) if spec.reduce else None


def signature(spec):
    """The kernel's argument types (Numba types) for ``spec``: the runtime passes exactly these."""
    from numba.core import types
    from numba.np.numpy_support import from_dtype

    def array(dt):
        return types.Array(from_dtype(np.dtype(dt)), 1, "A")
    sig = [array(spec.out_dtype)] + [types.int64] * spec.rank
    if spec.kind == "rows":
        dts = iter(spec.operand_dtypes)
        for (names, _), part in zip(rows_operands(spec), spec.parts):
            for _ in names:
                sig += [array(next(dts)), types.int64] + [types.int64] * spec.rank
            sig += [from_dtype(np.dtype(d)) for d in part.const_dtypes]
        return tuple(sig)
    for dt in spec.operand_dtypes:
        sig += [array(dt), types.int64] + [types.int64] * spec.rank
    sig += [from_dtype(np.dtype(d)) for d in spec.const_dtypes]
    if spec.kind == "reduce":
        sig += [types.int64, types.int64, array(accumulator(spec))]
    return tuple(sig)


def compile_ptx(spec, cc=(8, 0)):
    """PTX of the kernel of ``spec`` rendered for a GPU (no GPU needed; numba-cuda[cu12])."""
    from numba import cuda as numba_cuda
    ns = {"__name__": "arrayforge_kernels.ptx_check"}
    exec(compile(render(spec), "<arrayforge cuda kernel>", "exec"), ns)
    with _device_cc(cc):
        return numba_cuda.compile_ptx(ns["kernel"].py_func, signature(spec), cc=cc)


_cc_lock = threading.Lock()


class _FakeDevice:
    def __init__(self, cc):
        self.compute_capability = cc


@contextlib.contextmanager
def _device_cc(cc):
    """Numba compiles a kernel's non-inlined device functions (the complex helpers) for the
    current device's compute capability, which needs a driver; without a GPU, ``cc`` stands
    in (``compile_ptx`` itself takes it as an argument)."""
    from numba.cuda import dispatcher
    if available() and not simulated():
        yield
        return
    original = dispatcher.get_current_device
    with _cc_lock:
        dispatcher.get_current_device = lambda: _FakeDevice(cc)
        try:
            yield
        finally:
            dispatcher.get_current_device = original


def _launch_config(n):
    threads = BLOCK[target()[0]]
    if target()[0] == "sim":
        return 1, threads       # (each simulated block costs ~0.1 s: one, grid-striding)
    sms = cuda().get_current_device().MULTIPROCESSOR_COUNT
    return max(1, min(sms * 32, -(-n // threads))), threads


def _run_spec(spec, description, out, operands, consts, shape, acc_dtype=None):
    kernel = _kernel(spec, description)
    args = [out] + [np.int64(n) for n in shape]
    for op in operands:
        args += [op.array, np.int64(op.offset)] + [np.int64(s) for s in op.strides]
    args += list(consts)
    n = math.prod(shape)
    if spec.kind == "elementwise":
        blocks, threads = _launch_config(n)
        if n:
            kernel[blocks, threads](*args)
        return
    red = [s for s, r in zip(shape, spec.reduced) if r]
    kept = math.prod(s for s, r in zip(shape, spec.reduced) if not r)
    reduce_n = math.prod(red)
    threads = BLOCK[spec.target]
    if kept == 0:
        return
    if spec.strategy == "thread":
        blocks, threads = _launch_config(kept)
        kernel[blocks, threads](*args, np.int64(0), np.int64(1), pool.empty((1,), acc_dtype))
        return
    if spec.target == "sim":
        nsplit = max(1, min(2, -(-reduce_n // (threads * 8)), 2 // kept))
    else:
        sms = cuda().get_current_device().MULTIPROCESSOR_COUNT
        nsplit = max(1, min(-(-reduce_n // (threads * 16)), (sms * 8) // kept))
    if nsplit == 1:
        kernel[kept, threads](*args, np.int64(0), np.int64(1), pool.empty((1,), acc_dtype))
        return
    part = pool.empty((kept * nsplit,), acc_dtype)
    kernel[kept * nsplit, threads](*args, np.int64(0), np.int64(nsplit), part)
    kernel[kept, threads](*args, np.int64(1), np.int64(nsplit), part)


def _run_copy(src, dtype):
    """A contiguous device copy of the strided operand ``src``."""
    shape = tuple(src.shape)
    strides = [tuple(0 if n == 1 else s for n, s in zip(shape, src.strides))]
    new_shape, _, (st,) = coalesce(shape, (False,) * len(shape), strides)
    out = pool.empty(shape, dtype)
    spec = copy_spec(len(new_shape), dtype, target()[0])
    _run_spec(spec, "copy", flat(out), [Operand(src.array, src.offset, st, new_shape)], (), new_shape)
    return out


def _run(k, st, nodes, buffers):
    """Run kernel ``k`` (elementwise or reduce) of structure ``st``; returns its output."""
    root = nodes[k.root]
    if k.reduce is not None:
        rn = nodes[k.reduce]
        shape = rn.inputs[0].shape
        keep = tuple(1 if d in rn.arg else n for d, n in enumerate(shape))
        reduced = tuple(d in rn.arg for d in range(len(shape)))
    else:
        shape = keep = root.shape
        reduced = (False,) * len(shape)
    out = pool.empty(root.shape, root.dtype)
    pre = [_operand(ld, nodes, buffers) for ld in k.loads]
    post = [_post_operand(_operand(ld, nodes, buffers), keep, reduced) for ld in k.post_loads]
    strides = [_aligned(op, shape) for op in pre + post]
    new_shape, new_red, new_strides = coalesce(shape, reduced, strides)
    if not new_shape:
        new_shape, new_red, new_strides = (1,), (False,), [(0,) for _ in strides]
    operands = [Operand(op.array, op.offset, s, new_shape) for op, s in zip(pre + post, new_strides)]
    spec = make_spec(k, st, nodes, new_red, target()[0], _strategy(new_shape, new_red))
    acc = accumulator(spec)
    consts = [nodes[p].dtype.type(nodes[p].arg) for p in k.consts]
    _run_spec(spec, st.description, flat(out), operands, consts, new_shape, acc)
    return out


def _post_operand(op, keep, reduced):
    """An epilogue's operand (of the output's shape) in the output space ``keep`` (the
    iteration shape with the reduced dims 1): keepdims=False dropped the reduced dims."""
    if len(op.shape) == len(keep):
        return op
    it = iter(op.strides)
    return Operand(op.array, op.offset, tuple(0 if red else next(it) for red in reduced), keep)


# A rows kernel runs a warp per row when rows are this short (else a block per row); under
# the simulator (blocks of 8 threads) "a warp" is 4 threads, so both paths run in the tests.
ROWS_WARP_MAX = {"gpu": 1024, "sim": 8}
ROWS_WARP = {"gpu": WARP, "sim": 4}


# A few very long rows (fewer than the GPU's SMs, each longer than this) run as parts in
# turn: each part's reduction then splits across many blocks, where a fused kernel would
# leave all but a few SMs idle.
ROWS_SPLIT_MIN = 1 << 16


def rows_fused(k, nodes):
    """Run this rows kernel fused (else its parts in turn)?  When, for this run's sizes,
    every substituted read is a row broadcast (as the CPU checks), and there are rows enough
    to occupy the GPU or the rows are short (ROWS_SPLIT_MIN)."""
    shape = iteration_shape(k, nodes)
    if target()[0] == "gpu":
        rows = math.prod(n for d, n in enumerate(shape) if d not in k.axes)
        if math.prod(shape[d] for d in k.axes) >= ROWS_SPLIT_MIN and \
                rows < cuda().get_current_device().MULTIPROCESSOR_COUNT:
            return False
    return rows_substitutable(k, nodes, shape)


def _run_rows(k, st, nodes, buffers):
    """Run rows kernel ``k`` as one fused kernel (see cuda.render_rows)."""
    shape = iteration_shape(k, nodes)
    reduced = tuple(d in k.axes for d in range(len(shape)))
    keep = tuple(1 if r else n for n, r in zip(shape, reduced))
    root = nodes[k.root]
    out = pool.empty(root.shape, root.dtype)
    operands, counts = [], []
    for part, subst in zip(k.parts, st.subst):
        pre = [_operand(ld, nodes, buffers) for i, ld in enumerate(part.loads) if (LOAD, i) not in subst]
        post = [_post_operand(_operand(ld, nodes, buffers), keep, reduced)
                for i, ld in enumerate(part.post_loads) if (POST_LOAD, i) not in subst]
        operands += pre + post
        counts.append(len(pre) + len(post))
    strides = [_aligned(op, shape) for op in operands]
    new_shape, new_red, new_strides = coalesce(shape, reduced, strides)
    R = math.prod(n for n, r in zip(new_shape, new_red) if r)
    K = math.prod(n for n, r in zip(new_shape, new_red) if not r)
    tgt = target()[0]
    if R <= ROWS_WARP_MAX[tgt]:     # a warp per row, its elements in registers (a power of 2 per thread)
        group, per_thread = ROWS_WARP[tgt], 1 << max(0, (-(-R // ROWS_WARP[tgt]) - 1).bit_length())
    else:
        group, per_thread = BLOCK[tgt], 0
    spec = make_rows_spec(k, st, nodes, new_red, tgt, group, per_thread)
    if K == 0:
        return out
    kernel = _kernel(spec, st.description)
    args = [flat(out)] + [np.int64(n) for n in new_shape]
    at = 0
    for part, n in zip(k.parts, counts):
        for op, st_ in zip(operands[at:at + n], new_strides[at:at + n]):
            args += [op.array, np.int64(op.offset)] + [np.int64(x) for x in st_]
        args += [nodes[p].dtype.type(nodes[p].arg) for p in part.consts]
        at += n
    per_block = BLOCK[tgt] // spec.group
    if tgt == "sim":
        blocks = 1
    else:
        blocks = max(1, min(-(-K // per_block), cuda().get_current_device().MULTIPROCESSOR_COUNT * 32))
    kernel[blocks, BLOCK[tgt]](*args)
    return out


def make_rows_spec(k, st, nodes, reduced, tgt, group, per_thread=0):
    parts = tuple(CudaRowsPart(n_pre=len(part.loads), n_post=len(part.post_loads), const_dtypes=pst.const_dtypes,
                               body=pst.body, reduce=pst.reduce, post=pst.post, root=pst.root,
                               subst=tuple(sorted(subst.items())))
                  for part, pst, subst in zip(k.parts, st.parts, st.subst))
    dtypes = tuple(nodes[ld.base].dtype.str for part, subst in zip(k.parts, st.subst)
                   for space, lds in ((LOAD, part.loads), (POST_LOAD, part.post_loads))
                   for i, ld in enumerate(lds) if (space, i) not in subst)
    readers = {}        # the same memory (base and views) read by several parts: kept in registers
    for j, (part, subst) in enumerate(zip(k.parts, st.subst)):
        for i, ld in enumerate(part.loads):
            if (LOAD, i) not in subst:
                readers.setdefault((ld.base, ld.views), []).append((j, i))
    cached = tuple((nodes[base].dtype.str, tuple(refs)) for (base, _), refs in sorted(readers.items())
                   if len({j for j, _ in refs}) > 1) if per_thread else ()
    return CudaRowsSpec(rank=len(reduced), reduced=tuple(reduced), parts=parts, out_dtype=nodes[k.root].dtype.str,
                        target=tgt, group=group, operand_dtypes=dtypes,
                        per_thread=per_thread if cached or st.stash else 0, cached=cached,
                        stash=st.stash if per_thread else None)


# A reduction whose last (coalesced) dim is kept runs a thread per output (coalesced reads)
# when there are outputs enough to fill the GPU; else a block per output.
THREAD_STRATEGY_MIN = {"gpu": 1 << 14, "sim": 4}


def _strategy(shape, reduced):
    if not any(reduced) or reduced[-1]:
        return "block"
    kept = math.prod(n for n, r in zip(shape, reduced) if not r)
    return "thread" if kept >= THREAD_STRATEGY_MIN[target()[0]] else "block"


def make_spec(k, st, nodes, reduced, tgt, strategy="block"):
    """The CudaSpec of elementwise/reduce kernel ``k`` (structure ``st``) over an iteration
    space with these ``reduced`` flags (after coalescing), for target ``tgt``."""
    return CudaSpec(strategy=strategy if k.reduce is not None else "block", kind="reduce" if k.reduce is not None else "elementwise", rank=len(reduced),
                    reduced=tuple(reduced), n_pre=len(k.loads), n_post=len(k.post_loads),
                    const_dtypes=st.const_dtypes, body=st.body, reduce=st.reduce, post=st.post,
                    root=st.root, out_dtype=nodes[k.root].dtype.str, target=tgt,
                    operand_dtypes=tuple(nodes[ld.base].dtype.str for ld in k.loads + k.post_loads))


def plan_specs(outputs, tgt="gpu"):
    """The CudaSpecs a device would run for the graph of ``outputs`` (host nodes are fine:
    the plan is device-independent), without coalescing: for tests that compile every
    generated kernel to PTX without a GPU."""
    from .runtime import get_plan
    nodes, _, plan = get_plan(outputs)
    specs = []
    for k, st in zip(plan.kernels, plan.structures):
        if k.kind == "rows":
            shape = iteration_shape(k, nodes)
            reduced = tuple(d in k.axes for d in range(len(shape)))
            specs += [make_rows_spec(k, st, nodes, reduced, tgt, g, v) for g, v in ((WARP, 32), (BLOCK[tgt], 0))]
        parts = list(zip(k.parts, st.parts)) if k.kind == "rows" else [(k, st)]
        for part, pst in parts:
            if part.kind not in ("elementwise", "reduce"):
                continue
            shape = iteration_shape(part, nodes)
            axes = nodes[part.reduce].arg if part.reduce is not None else ()
            reduced = tuple(d in axes for d in range(len(shape))) or (False,)
            strategies = ("block", "thread") if any(reduced) and not reduced[-1] else ("block",)
            specs += [make_spec(part, pst, nodes, reduced, tgt, s) for s in strategies]
    return specs


def run_kernel(k, st, nodes, buffers):
    if k.kind == "rows" and rows_fused(k, nodes):
        return _run_rows(k, st, nodes, buffers)
    if k.kind == "rows":        # the parts in turn
        for part, pst in zip(k.parts[:-1], st.parts):
            buffers[part.root] = _run(part, pst, nodes, buffers)
        out = _run(k.parts[-1], st.parts[-1], nodes, buffers)
        for part in k.parts[:-1]:
            buffers.pop(part.root, None)
        return out
    if k.kind in ("elementwise", "reduce"):
        return _run(k, st, nodes, buffers)
    if k.kind == "view":
        return _run_copy(_operand(k.loads[0], nodes, buffers), nodes[k.root].dtype)
    barrier = BY_NAME.get(k.kind)
    if barrier is None or barrier.cuda_module is None:  # (make_node refuses these: defensive)
        raise NotImplementedError(f"{barrier.name if barrier else k.kind} has no CUDA kernel yet")
    root = nodes[k.root]
    if barrier.cuda_permuted_operands:
        operands = [permuted_operand(_operand(ld, nodes, buffers)) for ld in k.loads]
    else:
        operands = [dense_operand(_operand(ld, nodes, buffers)) for ld in k.loads]
    out = pool.empty(root.shape, root.dtype) if barrier.writes_out else None
    return barrier.cuda_run(root, operands, out)


def dense_operand(op):
    """A barrier's operand as a C-contiguous device array of its shape: the buffer itself
    (reshaped) when the view is contiguous, else a copy.  A 0-d operand has shape (1,), as
    every 0-d device value does (see DevicePool.empty)."""
    size = math.prod(op.shape)
    if not op.shape:
        return op.array[op.offset:op.offset + 1]
    expect, contiguous = 1, True
    for n, s in zip(reversed(op.shape), reversed(op.strides)):
        if n != 1 and s != expect:
            contiguous = False
            break
        expect *= n
    if not contiguous:
        return _run_copy(op, op.array.dtype)
    return op.array[op.offset:op.offset + size].reshape(op.shape)


def permuted_operand(op):
    """``(array, axes)`` with ``array`` C-contiguous and the operand ``array.transpose(axes)``:
    a transposed view (any permutation of a contiguous buffer) is handed over in place, any
    other layout as a contiguous copy (``axes`` the identity)."""
    dims = [d for d in range(len(op.shape)) if op.shape[d] != 1]
    order = sorted(dims, key=lambda d: -op.strides[d])
    expect = 1
    for d in reversed(order):
        if op.strides[d] != expect:
            return dense_operand(op), tuple(range(len(op.shape)))
        expect *= op.shape[d]
    # memory order: the unit dims where they are, the others sorted by stride
    it = iter(order)
    mem = [d if op.shape[d] == 1 else next(it) for d in range(len(op.shape))]
    array = op.array[op.offset:op.offset + math.prod(op.shape)]
    array = array.reshape(tuple(op.shape[d] for d in mem)) if op.shape else array
    return array, tuple(mem.index(d) for d in range(len(op.shape)))


def realize(todo, get_plan):
    """Compute device nodes ``todo`` with one plan on their device (runtime.realize's CUDA half)."""
    from .runtime import _GRAPH_REFS
    devices = {o.device for o in todo}
    if len(devices) > 1:
        for d in devices:
            realize([o for o in todo if o.device == d], get_plan)
        return
    nodes, pos, plan = get_plan(todo)
    buffers = {}
    for i, k in enumerate(plan.kernels):
        buffers[k.root] = run_kernel(k, plan.structures[i], nodes, buffers)
        n = nodes[k.root]
        if sys.getrefcount(n) > _GRAPH_REFS + plan.users[k.root] and n.buffer is None:
            n.realize_as(buffers[k.root])
        for p in plan.frees[i]:
            buffers.pop(p, None)
    plan.runs += 1
    for o in todo:
        if o.buffer is None:
            o.realize_as(buffers[pos[o]])


# ---- DLPack (kDLCUDA) -------------------------------------------------------------------

def _pointer(buf):
    """The device address of a device array (under the simulator: its host memory)."""
    if simulated():
        return buf._ary.__array_interface__["data"][0]
    return buf.__cuda_array_interface__["data"][0]


def device_copy(buf):
    out = pool.empty(buf.shape, buf.dtype)
    if math.prod(buf.shape):
        flat(out).copy_to_device(flat(buf))
    return out


def _order_for(stream):
    """Make this array's pending work visible to a consumer on ``stream`` (the DLPack
    convention for CUDA: None or 1 the legacy default stream, 2 the per-thread default
    stream, -1 no synchronization, else a ``cudaStream_t``).  Kernels here run on Numba's
    default stream (the legacy one), which orders work with every blocking stream; a
    per-thread default or user stream may be non-blocking, so it waits for the device."""
    if stream is None or stream in (1, -1):
        return
    if stream == 0:
        raise ValueError("__dlpack__: stream=0 is ambiguous for CUDA; pass 1 (the legacy default "
                         "stream), 2 (the per-thread default stream) or a stream handle")
    if not isinstance(stream, int) or stream < -1:
        raise ValueError(f"__dlpack__: stream must be None, -1, 1, 2 or a CUDA stream handle, not {stream!r}")
    if not simulated():
        cuda().synchronize()


def export_dlpack(buf, shape, ordinal, *, stream=None, max_version=None, dl_device=None, copy=None):
    """``__dlpack__`` of a realized GPU array (``buf``, the node's ``shape``) on device
    ``ordinal``, by the 2025.12 standard: a ``dltensor_versioned`` capsule (read-only flag:
    values are immutable) when the consumer's ``max_version`` is at least 1.0, else a legacy
    ``dltensor`` one, which cannot say read-only, so it gets a fresh copy unless
    ``copy=False`` (as the CPU's export); ``copy=True`` always exports a fresh copy (flagged
    IS_COPIED); ``dl_device=(1, 0)`` exports a host copy through NumPy (not with
    ``copy=False``); the capsule keeps the buffer alive until the consumer deletes it."""
    from . import dlpack
    versioned = max_version is not None and tuple(max_version) >= (1, 0)
    here = (dlpack.K_DLCUDA, ordinal)
    if dl_device is not None and tuple(dl_device) != here:
        if tuple(dl_device) != (dlpack.K_DLCPU, 0):
            raise BufferError(f"__dlpack__: cannot export a cuda:{ordinal} array to DLPack device {tuple(dl_device)}")
        if copy is False:
            raise BufferError(f"__dlpack__: exporting a cuda:{ordinal} array to the CPU needs a copy, "
                              "but copy=False")
        host = to_host(buf, tuple(shape))
        kwargs = {} if max_version is None else {"max_version": max_version}
        return host.__dlpack__(**kwargs, **({"copy": True} if versioned else {}))
    _order_for(stream)
    fresh = copy is True or (copy is None and not versioned)
    if fresh:
        buf = device_copy(buf)
    flags = (dlpack.FLAG_IS_COPIED if copy is True else 0) | (0 if fresh else dlpack.FLAG_READ_ONLY)
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= n
    return dlpack.capsule(_pointer(buf), tuple(shape), tuple(reversed(strides)), buf.dtype, here, buf,
                          versioned, flags if versioned else 0)


def import_dlpack(capsule, ordinal):
    """``(device array, shape)``: a contiguous device array of a kDLCUDA capsule's memory on
    device ``ordinal`` (of shape (1,) for a 0-d tensor, as every 0-d device value): shared
    (Numba external memory, which keeps the producer's tensor until it is collected, then
    calls the producer's deleter) when C-contiguous, else a device copy."""
    from . import dlpack
    t = dlpack.consume(capsule)
    if t.device != (dlpack.K_DLCUDA, ordinal):
        raise BufferError(f"from_dlpack: the capsule's memory is on DLPack device {t.device}, "
                          f"not cuda:{ordinal} (kDLCUDA, {ordinal})")
    _check_dtype(t.dtype)
    strides = t.strides
    if strides is None:
        strides, acc = [], 1
        for n in reversed(t.shape):
            strides.append(acc)
            acc *= n
        strides = tuple(reversed(strides))
    return _wrap_external(t.pointer, t.shape, strides, t.dtype, t.release), t.shape
