"""Kernel cache: in memory (by spec) and on disk (generated source + Numba's cache; for CUDA
kernels, their PTX per compute capability: ``load_entry``/``store_entry``).

Source files live in a per-user directory under a subdirectory named by the versions
that affect code (arrayforge, Numba, NumPy, llvmlite, CPU), and each kernel module is
executed from the source generated for its spec, under the file's name, so Numba's
``cache=True`` works: a second process compiles nothing.

A cache that cannot lie:

* Every level of the tree that this module creates is 0700.  A cache directory (or
  its version or ``__pycache__`` directory) owned by another user, or writable by others
  or by a group other than the user's private group, is refused: Numba's entries are pickles, and whoever can write them
  can run code in this process.  A refused, read-only or missing directory, or no
  directory at all (no ``ARRAYFORGE_CACHE_DIR``, no absolute ``XDG_CACHE_HOME``, no
  home), gives one warning and in-memory compiles.
* The code that runs is the source generated for the spec: a kernel's ``.py`` is only
  compared with it (as bytes; any difference, binary garbage included, is a warning
  and a rewrite) and never imported, so neither a foreign ``.py`` nor a stale or
  foreign ``.pyc`` can stand in for it.
* Every Numba entry is stored with a digest of (version tag, kernel source, Numba's
  index key: signature, target, bytecode hash; the entry's bytes) and verified against
  the key it was looked up by before it is unpickled: a swapped, moved, foreign or
  altered ``.nbc`` is a warning and a recompile, and the recompiled entry replaces it.
* Numba's own cache fails hard on a truncated or garbage file (numba#10434): every
  read is guarded, a bad entry gives a warning and a recompile.  Writes go to a
  temporary file and ``os.replace``, and a per-key lock makes 8 threads that need the
  same new kernel compile it once.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import re
import stat
import sys
import tempfile
import threading
import types
import warnings

import numpy as np

from .errors import KernelError

VERSION = "0.1.0"

_lock = threading.Lock()
_usable_lock = threading.Lock()
_key_locks: dict = {}
_memory: dict = {}
stats = {"compiled": 0, "memory_hits": 0, "disk_hits": 0}
_state = {"dir": None, "usable": None, "warned": False, "tag": None}
# The files whose text shapes generated kernels or their cache entries (Numba only checks the
# kernel file itself, so the helpers that kernels inline are part of the version tag).
_TAGGED_FILES = ("scalar.py", "vmath.py", "cpu.py", "cache.py", "cuda.py")


def _version_tag():
    if _state["tag"] is None:
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
        here = os.path.dirname(os.path.abspath(__file__))
        code = hashlib.sha256()
        for f in _TAGGED_FILES:
            try:
                with open(os.path.join(here, f), "rb") as fh:
                    code.update(fh.read())
            except FileNotFoundError:   # pragma: no cover - a trimmed install
                pass
        raw = (f"{code.hexdigest()}|{VERSION}|{numba.__version__}|{llvmlite.__version__}|{np.__version__}"
               f"|{cpu}|{feats}|{sys.version_info[:2]}")
        _state["tag"] = hashlib.sha256(raw.encode()).hexdigest()[:16]
    return _state["tag"]


def _home():
    """The user's home directory, or None: ``HOME`` unset or empty falls back to the password
    database; a relative home or ``/`` is none (``HOME=''`` must not mean ``/.cache``)."""
    home = os.environ.get("HOME")
    if not home:
        try:
            import pwd
            home = pwd.getpwuid(os.geteuid()).pw_dir
        except (ImportError, KeyError):
            home = None
    if not home or not os.path.isabs(home) or os.path.normpath(home) == os.sep:
        return None
    return home


def _base_dir():
    """``ARRAYFORGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/arrayforge`` (an absolute one: the XDG
    spec says to ignore a relative one), else ``~/.cache/arrayforge``; None when there is none."""
    base = os.environ.get("ARRAYFORGE_CACHE_DIR")
    if base:
        return os.path.abspath(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "arrayforge")
    home = _home()
    return os.path.join(home, ".cache", "arrayforge") if home else None


def cache_dir():
    """The directory of this version's kernels (created on first use), or None when there is
    no place for one."""
    if _state["dir"] is None:
        base = _base_dir()
        _state["dir"] = os.path.join(base, _version_tag()) if base else ""
    return _state["dir"] or None


def _make_private_dirs(path):
    """Create ``path`` and every missing level above it with mode 0700 (``os.makedirs``
    gives the levels above the leaf the umask's mode)."""
    missing = []
    p = path
    while not os.path.isdir(p):
        missing.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:     # a concurrent process made it (checked by the caller)
            pass


def _unsafe(path):
    """Why ``path`` must not hold cache entries (they are pickles), or None when it may."""
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        return f"{path} is not a directory"
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return f"{path} is owned by uid {st.st_uid}, not by this user (uid {os.geteuid()})"
    if st.st_mode & stat.S_IWOTH or (st.st_mode & stat.S_IWGRP and not _private_group(st.st_gid)):
        return f"{path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):#o})"
    return None


def _private_group(gid):
    """Is ``gid`` this user's private group (named after the user, the user's primary group,
    no other member)?  Then group-writable is private: with umask 002, the Debian/Ubuntu
    convention, earlier versions created the cache's base directory 0775."""
    try:
        import grp
        import pwd
        user, group = pwd.getpwuid(os.geteuid()), grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    return group.gr_name == user.pw_name and user.pw_gid == gid and set(group.gr_mem) <= {user.pw_name}


def _usable():
    if _state["usable"] is None:
        with _usable_lock:          # threads that need their first kernels at once: one warning
            if _state["usable"] is None:
                _check_usable()
    return _state["usable"]


def _check_usable():
    """Decide once whether the cache directory may be used; warn once when it may not."""
    path = cache_dir()
    problem = None
    if path is None:
        problem = "no directory: ARRAYFORGE_CACHE_DIR and XDG_CACHE_HOME are unset and there is no home"
    else:
        try:
            # the base, this version's directory, Numba's entries (Numba would create it 0755):
            # each checked before anything is made inside it
            for d in (os.path.dirname(path), path, os.path.join(path, "__pycache__")):
                _make_private_dirs(d)
                problem = _unsafe(d)
                if problem is not None:
                    break
            else:
                probe = tempfile.NamedTemporaryFile(dir=path, prefix=".probe", delete=True)
                probe.close()
        except OSError as exc:
            problem = str(exc)
    _state["usable"] = problem is None
    if problem is not None:
        warnings.warn(f"arrayforge: kernel cache directory {path!r} is not usable ({problem}); "
                      "kernels will be compiled in memory only", RuntimeWarning, stacklevel=5)


def _write_atomic(path, data):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp", suffix=".py")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _entry_digest(source):
    """The digest that binds a Numba cache entry to this kernel: of the version tag, the kernel's
    source, Numba's index key (signature, target, bytecode hash) and the entry's bytes."""
    base = hashlib.sha256(b"arrayforge cache entry\0" + _version_tag().encode() + b"\0"
                          + source.encode("utf-8") + b"\0")

    def digest(key, blob):
        h = base.copy()
        h.update(repr(key).encode("utf-8") + b"\0")
        h.update(blob)
        return h.hexdigest()
    return digest


def _guard_numba_cache(dispatcher, path, source):
    """Store every Numba cache entry of ``dispatcher`` as (digest, pickled entry), the digest
    binding it to the key it was saved under; verify it against the key it is looked up by
    before unpickling it; make a wrong or corrupt entry a warning and a recompile (the
    recompiled entry then replaces it)."""
    cache = getattr(dispatcher, "_cache", None)
    if cache is None or not hasattr(cache, "load_overload"):
        return
    cfile = getattr(cache, "_cache_file", None)
    if cfile is None or not all(callable(getattr(cfile, f, None)) for f in ("load", "save", "_dump")):
        # A Numba whose cache we cannot tag: no entry could be verified, so use none.
        from numba.core.caching import NullCache
        dispatcher._cache = NullCache()
        return
    original, load, save, dump = cache.load_overload, cfile.load, cfile.save, cfile._dump
    digest = _entry_digest(source)
    name = os.path.basename(path)

    def tagged_save(key, data):
        blob = dump(data)
        try:
            return save(key, (digest(key, blob), blob))
        except OSError as exc:      # the directory went away (another process's clear_cache)...
            warnings.warn(f"arrayforge: could not store the compiled {name} in the disk cache "
                          f"({type(exc).__name__}: {exc}); it stays compiled in memory",
                          RuntimeWarning, stacklevel=2)

    def verified_load(key):
        entry = load(key)
        if entry is None:
            return None
        if (type(entry) is tuple and len(entry) == 2 and type(entry[1]) is bytes
                and entry[0] == digest(key, entry[1])):
            return pickle.loads(entry[1])
        try:
            sig = "(" + ", ".join(map(str, key[0])) + ")"
        except Exception:   # pragma: no cover - a Numba with another key layout
            sig = "this signature"
        warnings.warn(f"arrayforge: Numba cache entry of {name} for {sig} was not saved for this "
                      "kernel and signature (moved, swapped, foreign or altered); recompiling",
                      RuntimeWarning, stacklevel=2)
        return None

    def load_overload(sig, target_context):
        try:
            return original(sig, target_context)
        except Exception as exc:    # UnpicklingError, EOFError, ValueError, ... (numba#10434)
            warnings.warn(f"arrayforge: corrupt Numba cache entry for {name} "
                          f"({type(exc).__name__}: {exc}); recompiling", RuntimeWarning, stacklevel=2)
            cache_dir_ = os.path.join(os.path.dirname(path), "__pycache__")
            stem = os.path.splitext(name)[0]
            try:
                for f in os.listdir(cache_dir_):
                    if f.startswith(stem + "."):
                        os.unlink(os.path.join(cache_dir_, f))
            except OSError:
                pass
            return None
    cfile.load, cfile.save = verified_load, tagged_save
    cache.load_overload = load_overload


_ENTRY_MAGIC = b"arrayforge entry "


def load_entry(name, suffix, source, key):
    """The bytes that ``store_entry`` kept for kernel ``name`` (its ``source``) under ``key``
    in file ``name.suffix`` of the cache directory, or None: missing (or no usable directory)
    silently; unreadable, corrupt, or stored for another source or key (moved, swapped,
    altered: the digest of ``_entry_digest`` says) with a warning, and the caller recompiles
    and stores the entry again.  Another target's compiled code (lowering.cuda_runtime's PTX)
    is cached this way: verified before use, never unpickled."""
    if not _usable():
        return None
    path = os.path.join(cache_dir(), f"{name}.{suffix}")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        warnings.warn(f"arrayforge: cannot read cache entry {path} ({exc}); recompiling", RuntimeWarning,
                      stacklevel=3)
        return None
    header, sep, blob = data.partition(b"\n")
    if sep and header == _ENTRY_MAGIC + _entry_digest(source)(key, blob).encode():
        return blob
    warnings.warn(f"arrayforge: cache entry {os.path.basename(path)} is corrupt or was not stored for "
                  "this kernel and key (moved, swapped, foreign or altered); recompiling", RuntimeWarning,
                  stacklevel=3)
    return None


def store_entry(name, suffix, source, key, blob):
    """Keep ``blob`` for ``load_entry`` (an atomic write; a failure is a warning: the entry
    stays in memory only)."""
    if not _usable():
        return
    path = os.path.join(cache_dir(), f"{name}.{suffix}")
    try:
        _write_atomic(path, _ENTRY_MAGIC + _entry_digest(source)(key, blob).encode() + b"\n" + blob)
    except OSError as exc:
        warnings.warn(f"arrayforge: could not store cache entry {path} ({type(exc).__name__}: {exc})",
                      RuntimeWarning, stacklevel=3)


def _import(source, name):
    """Run kernel module ``name`` from ``source`` under the name of its file in the cache
    directory (Numba's cache needs a real file; the file is checked, rewritten if it differs
    by a byte, and never imported: the code that runs is ``source``)."""
    path = os.path.join(cache_dir(), name + ".py")
    data = source.encode("utf-8")
    try:
        with open(path, "rb") as fh:
            current = fh.read()
    except FileNotFoundError:
        current = None
    if current != data:
        if current is not None:
            warnings.warn(f"arrayforge: kernel source {path} was damaged; rewriting it", RuntimeWarning,
                          stacklevel=4)
        _write_atomic(path, data)
    code = compile(source, path, "exec")
    module = types.ModuleType(f"arrayforge_kernels.{name}")
    module.__file__ = path
    sys.modules[module.__name__] = module      # Numba's cache pickles references to the module by name
    exec(code, module.__dict__)
    return module, path


def _exec(source, name):
    namespace = {"__name__": f"arrayforge_kernels.{name}"}
    exec(compile(source.replace("cache=True", "cache=False"), f"<arrayforge kernel {name}>", "exec"), namespace)
    return namespace


_LAYOUT_FLAGS = 0x1 | 0x2 | 0x100 | 0x400    # NPY_ARRAY_C_CONTIGUOUS | F_CONTIGUOUS | ALIGNED | WRITEABLE


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
        # what Numba's typing of an array depends on: dtype, ndim, layout (C/F contiguous),
        # alignment and writeability (one ``flags.num`` read: ~5 us less per 13-array call)
        sig_key = tuple([(a.dtype, a.ndim, a.flags.num & _LAYOUT_FLAGS) if isinstance(a, np.ndarray)
                         else type(a) for a in args])
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


def module_name(source):
    """The name of a kernel's module (and of its files) in the cache directory (whose name
    is the version)."""
    return "k_" + hashlib.sha256(source.encode("utf-8")).hexdigest()[:24]


def get_kernel(key, make_source, description, entry=None):
    """The compiled kernel for ``key`` (a hashable spec), generating it if needed.

    ``entry``: for another target's kernels (lowering.cuda_runtime), a function
    ``(key, function, description, source, path)`` making the cached object; the CPU's
    Numba-cache guard is not applied to them."""
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
        name = module_name(source)
        function = path = None
        if _usable():
            try:
                module, path = _import(source, name)
                function = module.kernel
                if entry is None:
                    _guard_numba_cache(function, path, source)
            except OSError as exc:
                if not _state["warned"]:
                    _state["warned"] = True
                    warnings.warn(f"arrayforge: cannot use kernel cache ({exc}); compiling in memory",
                                  RuntimeWarning, stacklevel=3)
        if function is None:
            function = _exec(source, name)["kernel"]
        if entry is None:
            k = CompiledKernel(key, function, description, source, path)
        else:       # (another target counts its own compiles: lowering.cuda_runtime.kernel_ptx)
            k = entry(key, function, description, source, path)
        _memory[key] = k
        return k


def clear():
    """Empty the memory cache and delete this version's disk cache."""
    import shutil
    with _lock:
        _memory.clear()
        _key_locks.clear()
    path = cache_dir()
    if path and os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    _state["usable"] = None


def info():
    return dict(stats, dir=cache_dir(), in_memory=len(_memory))
