"""Kernel cache: in memory (by spec) and on disk (generated source + Numba's cache).

Source files live in a per-user directory (mode 0700) under a subdirectory named by
the versions that affect code (arrayforge, Numba, NumPy, llvmlite, CPU), and are
imported so Numba's ``cache=True`` works: a second process compiles nothing.

Numba's own cache fails hard on a truncated or garbage file (numba#10434) and on
races; here every cache read is guarded: a bad entry gives a warning and a
recompile, a read-only or missing directory runs uncached with one warning, writes
go to a temporary file and ``os.replace``, and a per-key lock makes 8 threads that
need the same new kernel compile it once.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import re
import sys
import tempfile
import threading
import warnings

import numpy as np

from .errors import KernelError

VERSION = "0.1.0"

_lock = threading.Lock()
_key_locks: dict = {}
_memory: dict = {}
stats = {"compiled": 0, "memory_hits": 0, "disk_hits": 0}
_state = {"dir": None, "usable": None, "warned": False}


def _version_tag():
    import llvmlite
    import numba
    from numba.core import config
    cpu = getattr(config, "CPU_NAME", None) or ""
    try:
        import llvmlite.binding as ll
        cpu = cpu or ll.get_host_cpu_name()
        feats = config.CPU_FEATURES or ll.get_host_cpu_features().flatten()
    except Exception:   # pragma: no cover - exotic hosts
        feats = ""
    # Numba's cache only checks the kernel file's own timestamp, so the helpers that kernels
    # inline (scalar.py, vmath.py) and the renderer are part of the key: editing them invalidates.
    here = os.path.dirname(os.path.abspath(__file__))
    code = b"".join(open(os.path.join(here, f), "rb").read() for f in ("scalar.py", "vmath.py", "cpu.py")
                    if os.path.exists(os.path.join(here, f)))
    raw = f"{hashlib.sha256(code).hexdigest()}|{VERSION}|{numba.__version__}|{llvmlite.__version__}|{np.__version__}|{cpu}|{feats}|{sys.version_info[:2]}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def cache_dir():
    """The directory of this version's kernels (created on first use)."""
    if _state["dir"] is None:
        base = os.environ.get("ARRAYFORGE_CACHE_DIR")
        if not base:
            root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
            base = os.path.join(root, "arrayforge")
        _state["dir"] = os.path.join(base, _version_tag())
    return _state["dir"]


def _usable():
    if _state["usable"] is None:
        path = cache_dir()
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=path, prefix=".probe", delete=True)
            probe.close()
            _state["usable"] = True
        except OSError as exc:
            _state["usable"] = False
            warnings.warn(f"arrayforge: kernel cache directory {path!r} is not usable ({exc}); "
                          "kernels will be compiled in memory only", RuntimeWarning, stacklevel=4)
    return _state["usable"]


def _write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp", suffix=".py")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _guard_numba_cache(dispatcher, path):
    """Make a corrupt Numba cache entry a warning and a recompile, never an exception."""
    cache = getattr(dispatcher, "_cache", None)
    if cache is None or not hasattr(cache, "load_overload"):
        return
    original = cache.load_overload

    def load_overload(sig, target_context):
        try:
            return original(sig, target_context)
        except Exception as exc:    # UnpicklingError, EOFError, ValueError, ... (numba#10434)
            warnings.warn(f"arrayforge: corrupt Numba cache entry for {os.path.basename(path)} "
                          f"({type(exc).__name__}: {exc}); recompiling", RuntimeWarning, stacklevel=2)
            cache_dir_ = os.path.join(os.path.dirname(path), "__pycache__")
            stem = os.path.splitext(os.path.basename(path))[0]
            try:
                for f in os.listdir(cache_dir_):
                    if f.startswith(stem + "."):
                        os.unlink(os.path.join(cache_dir_, f))
            except OSError:
                pass
            return None
    cache.load_overload = load_overload


def _import(source, name):
    path = os.path.join(cache_dir(), name + ".py")
    try:
        with open(path) as fh:
            current = fh.read()
    except OSError:
        current = None
    if current != source:
        if current:
            warnings.warn(f"arrayforge: kernel source {path} was damaged; rewriting it", RuntimeWarning,
                          stacklevel=4)
        _write_atomic(path, source)
    spec = importlib.util.spec_from_file_location(f"arrayforge_kernels.{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module      # Numba's cache pickles references to the module by name
    spec.loader.exec_module(module)
    return module, path


def _exec(source, name):
    namespace = {"__name__": f"arrayforge_kernels.{name}"}
    exec(compile(source.replace("cache=True", "cache=False"), f"<arrayforge kernel {name}>", "exec"), namespace)
    return namespace


class CompiledKernel:
    """The entry point of one generated module, with first-call bookkeeping."""

    def __init__(self, key, function, description, source, source_path=None):
        self.key = key
        self.source_path = source_path
        self.function = function
        self.description = description
        self.source = source
        m = re.search(r"^# interleave: (\d+)$", source, re.M)
        self.interleave = int(m.group(1)) if m else 0
        self.seen = set()

    def __call__(self, parallel, *args):
        fn = self.function
        sig_key = tuple(
            (a.dtype.str, a.ndim, a.flags.c_contiguous, a.flags.writeable) if isinstance(a, np.ndarray)
            else type(a) for a in args)
        if sig_key in self.seen:
            return fn(parallel, *args)
        with _key_lock(("call",) + sig_key + (self.key,)):
            hits_before = _cache_hits(fn)
            nsig = len(fn.signatures)
            try:
                with _interleave(self.interleave):
                    result = fn(parallel, *args)
            except Exception as exc:
                raise KernelError(f"arrayforge kernel [{self.description}] failed: "
                                  f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
            if len(fn.signatures) > nsig:
                if _cache_hits(fn) > hits_before:
                    stats["disk_hits"] += 1
                else:
                    stats["compiled"] += 1
                    if os.environ.get("ARRAYFORGE_DEBUG"):
                        print(f"arrayforge: compiled kernel [{self.description}]: its structure and "
                              f"argument types are in neither the memory nor the disk cache "
                              f"({os.path.basename(self.source_path or '<memory>')})", file=sys.stderr)
            self.seen.add(sig_key)
            return result


@contextlib.contextmanager
def _interleave(count):
    """Compile with LLVM's loop interleave forced to ``count`` (0: LLVM's choice).

    Kernels whose body is one long dependency chain (pow, logaddexp: ~180 cycles) leave
    the core idle unless two vector iterations are in flight, and LLVM does not interleave
    big loop bodies by itself.  The option is process-wide, so it is set and reset under
    Numba's compiler lock (a kernel compiles inside its first call)."""
    if not count:
        yield
        return
    import llvmlite.binding as ll
    from numba.core.compiler_lock import global_compiler_lock
    with global_compiler_lock:
        ll.set_option("", f"-force-vector-interleave={count}")
        try:
            yield
        finally:
            ll.set_option("", "-force-vector-interleave=0")


def _cache_hits(fn):
    st = getattr(fn, "stats", None)
    return sum(st.cache_hits.values()) if st is not None else 0


def _key_lock(key):
    with _lock:
        lk = _key_locks.get(key)
        if lk is None:
            lk = _key_locks[key] = threading.Lock()
        return lk


def get_kernel(key, make_source, description):
    """The compiled kernel for ``key`` (a hashable spec), generating it if needed."""
    k = _memory.get(key)
    if k is not None:
        stats["memory_hits"] += 1
        return k
    with _key_lock(("load", key)):
        k = _memory.get(key)
        if k is not None:
            stats["memory_hits"] += 1
            return k
        source = make_source()
        name = "k_" + hashlib.sha256((cache_dir() + source).encode()).hexdigest()[:24]
        function = path = None
        if _usable():
            try:
                module, path = _import(source, name)
                function = module.kernel
                _guard_numba_cache(function, path)
            except OSError as exc:
                if not _state["warned"]:
                    _state["warned"] = True
                    warnings.warn(f"arrayforge: cannot use kernel cache ({exc}); compiling in memory",
                                  RuntimeWarning, stacklevel=3)
        if function is None:
            function = _exec(source, name)["kernel"]
        k = CompiledKernel(key, function, description, source, path)
        _memory[key] = k
        return k


def clear():
    """Empty the memory cache and delete this version's disk cache."""
    import shutil
    with _lock:
        _memory.clear()
        _key_locks.clear()
    path = cache_dir()
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    _state["usable"] = None


def info():
    return dict(stats, dir=cache_dir(), in_memory=len(_memory))
