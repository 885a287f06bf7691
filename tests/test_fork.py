"""Processes forked after a parallel kernel ran must work (GNU OpenMP would abort them)."""
import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent("""
    import multiprocessing as mp
    import numpy as np
    import arrayforge as xp

    def child(i):
        xp.set_executor("numba")
        return float(xp.sum(xp.asarray(np.ones(300_000)) * (i + 3.0)))

    if __name__ == "__main__":
        xp.set_executor("numba")
        assert float(xp.sum(xp.asarray(np.ones(200_000)) * 2.0)) == 400_000.0
        with mp.get_context("fork").Pool(2) as pool:
            assert pool.map(child, range(2)) == [900_000.0, 1_200_000.0]
        print("ok")
""")


def test_fork_after_parallel_kernels(tmp_path):
    script = tmp_path / "fork_program.py"
    script.write_text(PROGRAM)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
