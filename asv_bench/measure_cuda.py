"""Plain timing of the CUDA figures of issue 15 (needs a GPU Numba sees; says so otherwise).

    PYTHONPATH=. python asv_bench/measure_cuda.py [n]

Prints the device-to-device copy bandwidth, then the 10-op chain and ``sum((a-b)**2)`` on
``n`` float32 (default 1e8) as a fraction of it.  ``python -m arrayforge.gpucheck`` runs the
CUDA tests first and then prints the same figures.
"""
import sys

from arrayforge import gpucheck

if __name__ == "__main__":
    from lowering import cuda_runtime
    if not cuda_runtime.available() or cuda_runtime.simulated():
        print("no CUDA GPU visible to Numba: nothing to measure (see python -m arrayforge.gpucheck)")
        sys.exit(0)
    gpucheck.figures(int(float(sys.argv[1])) if len(sys.argv) > 1 else 10**8, 10)
