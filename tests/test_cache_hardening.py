"""A cache that cannot lie: every entry is verified against the key it was looked up by, a
damaged or foreign file is a warning and a repair, the cache tree is private, and nothing at
import needs a writable directory."""
import contextlib
import gc
import importlib.util
import marshal
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import arrayforge as xp
from lowering import cache

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

A = np.linspace(0.1, 1.0, 1000)
B = np.linspace(1.0, 2.0, 1000)
C = np.linspace(-1.0, 1.0, 1000)
# Three kernels: the first two have the same signature (5 arguments), the third has 6.
# (The case was sin(a)*b answered by exp(a)*b; these compile several times faster.)
EXPRS = {
    "mul": (lambda a, b, c: a * b, A * B),
    "sub": (lambda a, b, c: a - b, A - B),
    "mul+c": (lambda a, b, c: a * b + c, A * B + C),
}


@contextlib.contextmanager
def cache_at(path):
    """The kernel cache pointed at ``path`` with an empty memory cache (a new process, as far
    as the cache can tell), the Numba executor forced; warnings recorded."""
    saved_state, saved_memory = dict(cache._state), cache._memory
    cache._state.update(dir=None if path is None else str(path), usable=None, warned=False)
    cache._memory = {}
    xp.set_executor("numba")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield caught
    finally:
        xp.set_executor(None)
        cache._state.clear()
        cache._state.update(saved_state)
        cache._memory = saved_memory


def compute_all():
    """Each expression's result, checked; and the cache's counters for this run."""
    before = dict(cache.stats)
    a, b, c = xp.asarray(A), xp.asarray(B), xp.asarray(C)
    for name, (fn, expected) in EXPRS.items():
        np.testing.assert_allclose(np.asarray(fn(a, b, c)), expected, rtol=1e-13, err_msg=name)
    return {k: cache.stats[k] - before[k] for k in before}


def messages(caught, text):
    return [str(w.message) for w in caught if text in str(w.message)]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A cache directory holding the three kernels, and each kernel's source path."""
    path = tmp_path_factory.mktemp("built") / "v"
    paths = {}
    with cache_at(path):
        a, b, c = xp.asarray(A), xp.asarray(B), xp.asarray(C)
        for name, (fn, _) in EXPRS.items():
            before = set(cache._memory)
            np.asarray(fn(a, b, c))
            (key,) = set(cache._memory) - before
            paths[name] = os.path.basename(cache._memory[key].source_path)
    return path, paths


@pytest.fixture
def copied(built, tmp_path):
    """A copy of the built cache (timestamps kept, so Numba's index still matches)."""
    path, paths = built
    target = tmp_path / "v"
    shutil.copytree(path, target)
    return target, paths


def nbc(path, source_name):
    stem = os.path.splitext(source_name)[0]
    (f,) = [f for f in os.listdir(path / "__pycache__") if f.startswith(stem + ".") and f.endswith(".nbc")]
    return path / "__pycache__" / f


def test_copied_cache_is_warm(copied):
    path, _ = copied
    with cache_at(path) as caught:
        counts = compute_all()
    assert counts["compiled"] == 0 and counts["disk_hits"] == 3, counts
    assert not messages(caught, "arrayforge"), [str(w.message) for w in caught]


def test_swapped_numba_entries_are_verified_and_recompiled(copied):
    """Rotate the .nbc files of three kernels: "mul" gets sub's code (same signature: wrong
    results unless verified), "sub" gets a 6-argument kernel and "mul+c" a 5-argument one."""
    path, names = copied
    files = [nbc(path, names[k]) for k in ("mul", "sub", "mul+c")]
    blobs = [f.read_bytes() for f in files]
    for f, blob in zip(files, blobs[1:] + blobs[:1]):
        f.write_bytes(blob)
    with cache_at(path) as caught:
        counts = compute_all()
    assert counts["compiled"] == 3, counts
    assert len(messages(caught, "was not saved for this kernel")) == 3, [str(w.message) for w in caught]
    with cache_at(path) as caught:        # the recompiled entries replaced the foreign ones
        counts = compute_all()
    assert counts["compiled"] == 0 and counts["disk_hits"] == 3, counts
    assert not messages(caught, "arrayforge")


def test_altered_numba_entry_is_recompiled(copied):
    """One byte changed inside an entry's compiled code: the digest covers the entry's bytes."""
    path, names = copied
    f = nbc(path, names["mul"])
    blob = bytearray(f.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    f.write_bytes(bytes(blob))
    with cache_at(path) as caught:
        counts = compute_all()
    assert counts["compiled"] == 1 and counts["disk_hits"] == 2, counts
    assert len(messages(caught, "was not saved for this kernel")) == 1, [str(w.message) for w in caught]


def foreign_pyc(path, victim, donor):
    """Plant, as ``victim``'s compiled module, ``donor``'s code with a header that matches
    ``victim``'s source file (what Python's import checks)."""
    victim_py, donor_py = path / victim, path / donor
    code = compile(donor_py.read_text(), str(victim_py), "exec")
    st = os.stat(victim_py)
    header = (importlib.util.MAGIC_NUMBER + (0).to_bytes(4, "little")
              + (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little") + (st.st_size & 0xFFFFFFFF).to_bytes(4, "little"))
    pyc = importlib.util.cache_from_source(str(victim_py))
    os.makedirs(os.path.dirname(pyc), exist_ok=True)
    with open(pyc, "wb") as fh:
        fh.write(header + marshal.dumps(code))


@pytest.mark.parametrize("damage", ["binary", "swapped", "foreign-pyc"])
def test_kernel_source_must_match_its_spec(copied, damage):
    """A kernel's .py holding binary garbage or another kernel's source is a warning and a
    rewrite; another kernel's compiled module (.pyc) is never run."""
    path, names = copied
    mul_py, sub_py = path / names["mul"], path / names["sub"]
    if damage == "binary":
        mul_py.write_bytes(bytes(range(0x80, 0x100)) * 4)
        expected = 1
    elif damage == "swapped":
        s, e = mul_py.read_bytes(), sub_py.read_bytes()
        mul_py.write_bytes(e)
        sub_py.write_bytes(s)
        expected = 2
    else:
        foreign_pyc(path, names["mul"], names["sub"])
        expected = 0
    with cache_at(path) as caught:
        counts = compute_all()
    assert len(messages(caught, "was damaged; rewriting it")) == expected, [str(w.message) for w in caught]
    with cache_at(path) as caught:
        counts = compute_all()
    assert counts["compiled"] == 0 and counts["disk_hits"] == 3, counts
    assert not messages(caught, "arrayforge")


def test_every_created_level_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv("ARRAYFORGE_CACHE_DIR", str(tmp_path / "a" / "b"))
    monkeypatch.setitem(cache._state, "dir", None)
    monkeypatch.setitem(cache._state, "usable", None)
    old = os.umask(0o022)
    try:
        assert cache._usable()
    finally:
        os.umask(old)
    version = cache.cache_dir()
    for d in (tmp_path / "a", tmp_path / "a" / "b", version, os.path.join(version, "__pycache__")):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700, d


@pytest.mark.parametrize("unsafe", ["world-writable", "group-writable", "other-owner"])
def test_unsafe_cache_dir_is_refused(tmp_path, monkeypatch, unsafe):
    shared = tmp_path / "shared"
    shared.mkdir()
    if unsafe != "world-writable" and os.geteuid() != 0:
        pytest.skip("needs root to give a directory to another user or group")
    if unsafe == "other-owner":
        os.chown(shared, 65534, 65534)
    elif unsafe == "group-writable":
        os.chown(shared, 0, 65534)      # a group shared with others (not root's private group)
        shared.chmod(0o770)
    else:
        shared.chmod(0o777)
    monkeypatch.setenv("ARRAYFORGE_CACHE_DIR", str(shared))
    with cache_at(None) as caught:
        assert not cache._usable() and not cache._usable()
        if unsafe == "world-writable":      # and kernels still run, compiled in memory
            assert float(xp.sum(xp.asarray(np.arange(10.0)) * 1.25)) == 56.25
    assert len(messages(caught, "not usable")) == 1, [str(w.message) for w in caught]
    assert os.listdir(shared) == []


def test_private_group_writable_dir_is_accepted(tmp_path, monkeypatch):
    """umask 002 (Debian/Ubuntu: each user has a private group) made earlier versions create
    the base directory 0775: group-writable by the user's own private group is private."""
    import grp
    import pwd
    user = pwd.getpwuid(os.geteuid())
    try:
        group = grp.getgrgid(user.pw_gid)
    except KeyError:
        pytest.skip("no group entry")
    if group.gr_name != user.pw_name or set(group.gr_mem) - {user.pw_name}:
        pytest.skip("this user has no private group")
    base = tmp_path / "upgraded"
    base.mkdir()
    base.chmod(0o775)
    monkeypatch.setenv("ARRAYFORGE_CACHE_DIR", str(base))
    with cache_at(None) as caught:
        assert cache._usable()
    assert not messages(caught, "not usable")


def test_empty_home_is_not_the_root_directory(monkeypatch):
    import pwd
    monkeypatch.delenv("ARRAYFORGE_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", "")
    monkeypatch.setitem(cache._state, "dir", None)
    got = cache.cache_dir()
    home = pwd.getpwuid(os.geteuid()).pw_dir
    if home in ("", "/"):
        assert got is None
    else:
        assert got == os.path.join(home, ".cache", "arrayforge", cache._version_tag())
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")       # the XDG spec: ignore a relative one
    monkeypatch.setitem(cache._state, "dir", None)
    assert cache.cache_dir() == got
    monkeypatch.setenv("HOME", "/")
    monkeypatch.setitem(cache._state, "dir", None)
    assert cache.cache_dir() is None


def test_version_tag_leaves_no_file_open(monkeypatch):
    monkeypatch.setitem(cache._state, "tag", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cache._version_tag()
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


NO_HOME = textwrap.dedent("""
    import os, warnings
    import numpy as np, numpy.ma, numba
    if os.geteuid() == 0:
        # The interpreter may live where nobody cannot read (/root): load what compiling needs first.
        @numba.njit(parallel=True)
        def warm(a):
            s = 0
            for i in numba.prange(a.shape[0]):
                s += a[i]
            return s
        warm(np.arange(10))
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    warnings.simplefilter("always")
    import arrayforge as xp
    xp.set_executor("numba")
    a = np.arange(12, dtype=np.int32).reshape(3, 4)
    b = np.arange(8, dtype=np.int32).reshape(4, 2)
    assert (np.asarray(xp.asarray(a) @ xp.asarray(b)) == a @ b).all()
    assert float(xp.sum(xp.asarray(np.arange(100.0)) * 2.0)) == 9900.0
    print("ok")
""")


def test_import_and_run_without_a_writable_home(tmp_path):
    """No writable home (as root: nobody, with HOME unset): importing needs no directory, and
    kernels (the integer GEMM included) compile in memory after one warning."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("HOME", "XDG_CACHE_HOME", "ARRAYFORGE_CACHE_DIR", "NUMBA_CACHE_DIR")}
    if os.geteuid() != 0:
        home = tmp_path / "home"
        home.mkdir()
        home.chmod(0o500)
        env["HOME"] = str(home)
    proc = subprocess.run([sys.executable, "-c", NO_HOME], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    assert proc.stderr.count("not usable") == 1, proc.stderr
