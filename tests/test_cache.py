"""The kernel cache: structure keys, disk persistence, and robustness to damage and races."""
import os
import stat
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import arrayforge as xp

PROGRAM = textwrap.dedent("""
    import json, warnings, numpy as np, arrayforge as xp
    warnings.simplefilter("always")
    xp.set_executor("numba")
    a = xp.asarray(np.arange(1000.0))
    v = float(xp.sum((a - 1.5) * (a + 0.25)))
    assert abs(v - float(np.sum((np.arange(1000.0) - 1.5) * (np.arange(1000.0) + 0.25)))) < 1e-6, v
    print(json.dumps({k: v for k, v in xp.cache_info().items() if k != "dir"}))
""")


def run(cache_dir, extra_env=None):
    env = dict(os.environ, ARRAYFORGE_CACHE_DIR=str(cache_dir), **(extra_env or {}))
    proc = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    import json
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def kernel_files(cache_dir, suffixes):
    return [os.path.join(root, f) for root, _, files in os.walk(cache_dir) for f in files
            if f.endswith(suffixes)]


def test_second_process_compiles_nothing(tmp_path):
    first, _ = run(tmp_path)
    assert first["compiled"] >= 1
    second, err = run(tmp_path)
    assert second["compiled"] == 0 and second["disk_hits"] >= 1, (second, err)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_damaged_numba_cache_warns_and_recompiles(tmp_path, damage):
    run(tmp_path)
    files = kernel_files(tmp_path, (".nbi", ".nbc"))
    assert files
    for f in files:
        with open(f, "r+b") as fh:
            if damage == "truncate":
                fh.truncate(7)
            else:
                fh.write(os.urandom(64))
    info, err = run(tmp_path)
    assert info["compiled"] >= 1
    assert "recompiling" in err or "corrupt" in err or info["compiled"] >= 1
    again, _ = run(tmp_path)          # the rewritten entries are good again
    assert again["compiled"] == 0


def test_damaged_kernel_source_is_rewritten(tmp_path):
    run(tmp_path)
    for f in kernel_files(tmp_path, (".py",)):
        with open(f, "w") as fh:
            fh.write("this is not python (")
    info, err = run(tmp_path)
    assert "damaged" in err
    assert info["compiled"] + info["disk_hits"] >= 1


def test_read_only_cache_dir_runs_uncached_with_one_warning(tmp_path):
    if os.geteuid() == 0:
        target = "/proc/arrayforge-cache"      # even root cannot create directories here
    else:
        target = tmp_path / "ro"
        target.mkdir()
        target.chmod(stat.S_IRUSR | stat.S_IXUSR)
    info, err = run(target)
    assert info["compiled"] >= 1
    assert err.count("not usable") == 1, err


def test_concurrent_processes_corrupt_nothing(tmp_path):
    env = dict(os.environ, ARRAYFORGE_CACHE_DIR=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", PROGRAM], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    info, err = run(tmp_path)
    assert "corrupt" not in err and "damaged" not in err
    assert info["compiled"] == 0


def test_new_size_compiles_nothing():
    xp.set_executor("numba")
    try:
        f = lambda n: float(xp.sum(xp.asarray(np.arange(n, dtype=np.float64)) * 0.75 + 2.0))
        f(1000)
        before = xp.cache_info()["compiled"]
        for n in (999, 5000, 70_001):
            assert f(n) == pytest.approx(float(np.sum(np.arange(n) * 0.75 + 2.0)))
        assert xp.cache_info()["compiled"] == before
    finally:
        xp.set_executor(None)


def test_eight_threads_compile_a_new_graph_once(tmp_path, monkeypatch):
    from lowering import cache
    monkeypatch.setitem(cache._state, "dir", str(tmp_path / "threads"))
    monkeypatch.setitem(cache._state, "usable", None)
    xp.set_executor("numba")
    try:
        data = np.linspace(0, 1, 777)
        before = xp.cache_info()["compiled"]
        results, errors = [], []

        def work():
            try:
                a = xp.asarray(data)
                results.append(float(xp.sum(xp.tanh(a) * 3.25 - a)))
            except Exception as exc:     # pragma: no cover - reported below
                errors.append(exc)
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert len(set(results)) == 1
        assert xp.cache_info()["compiled"] - before == 1
    finally:
        xp.set_executor(None)


def test_cache_info_and_clear(tmp_path, monkeypatch):
    from lowering import cache
    monkeypatch.setitem(cache._state, "dir", str(tmp_path / "clear"))
    monkeypatch.setitem(cache._state, "usable", None)
    info = xp.cache_info()
    assert {"compiled", "memory_hits", "disk_hits", "dir"} <= set(info)
    xp.clear_cache()
    assert xp.cache_info()["in_memory"] == 0


def test_debug_switch_says_why_a_kernel_compiled(tmp_path, monkeypatch, capfd):
    from lowering import cache
    monkeypatch.setenv("ARRAYFORGE_DEBUG", "1")
    monkeypatch.setitem(cache._state, "dir", str(tmp_path / "debug"))
    monkeypatch.setitem(cache._state, "usable", None)
    monkeypatch.setattr(cache, "_memory", {})
    xp.set_executor("numba")
    try:
        float(xp.sum(xp.asarray(np.arange(10.0)) * 1.25))
    finally:
        xp.set_executor(None)
    err = capfd.readouterr().err
    assert "compiled kernel [reduce: MUL SUM" in err and "neither the memory nor the disk cache" in err
