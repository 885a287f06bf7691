"""Contractions on a CUDA device (lowering/kernels/cuda_gemm.py, contract_cuda.py), differential
against NumPy and the CPU executor.  Run like tests/test_cuda_sim.py: under Numba's simulator by
``tests/test_cuda.py::test_simulator_suite`` (sizes stay tiny: the simulator is an interpreter,
and its tiles are 8x8), on a real GPU by ``python -m arrayforge.gpucheck``."""
import numpy as np
import pytest

from lowering import cuda_runtime

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not cuda_runtime.available(),
                                 reason="no CUDA device (run with NUMBA_ENABLE_CUDASIM=1, see tests/test_cuda.py)")]

rng = np.random.default_rng(7)


def _values(shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.3
    if dtype.kind in "iu":
        lo, hi = (0, 255) if dtype.kind == "u" else (-128, 127)
        return rng.integers(lo, hi, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _reference(A, B, dtype):
    """NumPy's product, integers wrapping as the CPU's int-gemm does (int64, cast back)."""
    if np.dtype(dtype) == np.bool_:
        return (A.astype(np.int64) @ B.astype(np.int64)) != 0
    if np.dtype(dtype).kind in "iu":
        wide = np.uint64 if np.dtype(dtype) == np.uint64 else np.int64
        return (A.astype(wide) @ B.astype(wide)).astype(dtype)
    return A @ B


def _gemm_case(m, n, k, dtype, trans_a=False, trans_b=False, ba=1, bb=1, accumulate=False):
    from numba import cuda
    from lowering.kernels import cuda_gemm
    A, B = _values((ba, m, k), dtype), _values((bb, k, n), dtype)
    a = np.ascontiguousarray(A.transpose(0, 2, 1)) if trans_a else A
    b = np.ascontiguousarray(B.transpose(0, 2, 1)) if trans_b else B
    start = _values((max(ba, bb), m, n), dtype)
    out = cuda.to_device(start)
    cuda_gemm.gemm(cuda.to_device(a), cuda.to_device(b), out, trans_a=trans_a, trans_b=trans_b,
                   accumulate=accumulate, variant="tiled")
    got, ref = out.copy_to_host(), _reference(A, B, dtype)
    if accumulate:
        ref = (ref | start) if np.dtype(dtype) == np.bool_ else (ref + start).astype(dtype)
    if np.dtype(dtype).kind == "f":
        tol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-12
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * max(k, 1))
    else:
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int8", "int32", "uint8", "uint64", "int64", "bool"])
def test_gemm_dtypes(dtype):
    _gemm_case(9, 7, 10, dtype)                     # tile edges in M, N and K


@pytest.mark.parametrize("trans_a, trans_b", [(True, False), (False, True), (True, True)])
def test_gemm_transposed_layouts(trans_a, trans_b):
    _gemm_case(17, 9, 11, "float64", trans_a, trans_b)
    _gemm_case(5, 10, 9, "int16", trans_a, trans_b)


def test_gemm_sizes_batches_and_accumulate():
    _gemm_case(1, 1, 1, "float64")
    _gemm_case(33, 1, 7, "float64")                 # a column (GEMV) past several tiles of M
    _gemm_case(1, 33, 7, "float32")
    _gemm_case(4, 5, 33, "int64")                   # K over several slices
    _gemm_case(3, 4, 5, "float64", ba=3, bb=3)
    _gemm_case(3, 4, 5, "float64", ba=1, bb=4)      # broadcast batch
    _gemm_case(3, 4, 5, "int8", ba=3, bb=1, trans_b=True)
    _gemm_case(6, 5, 4, "float64", accumulate=True)
    _gemm_case(6, 5, 4, "bool", accumulate=True)


def test_gemm_integer_wrapping_matches_the_cpu():
    from numba import cuda
    from lowering.kernels import contract, cuda_gemm
    A = np.full((1, 3, 40), 127, np.int8)
    B = np.full((1, 40, 2), -128, np.int8)
    out = cuda.to_device(np.zeros((1, 3, 2), np.int8))
    cuda_gemm.gemm(cuda.to_device(A), cuda.to_device(B), out)
    cpu = np.zeros((1, 3, 2), np.int8)
    contract._int_gemm(A, B, cpu)
    np.testing.assert_array_equal(out.copy_to_host(), cpu)
    big = np.full((1, 2, 3), 2**62 + 3, np.int64)
    out = cuda.to_device(np.zeros((1, 2, 2), np.int64))
    cuda_gemm.gemm(cuda.to_device(big), cuda.to_device(big.transpose(0, 2, 1).copy()), out)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(out.copy_to_host(), big @ big.transpose(0, 2, 1))


def test_gemm_empty_and_bad_shapes():
    from numba import cuda
    from lowering.kernels import cuda_gemm
    out = cuda.to_device(np.ones((2, 3, 4)))
    cuda_gemm.gemm(cuda.to_device(np.ones((2, 3, 0))), cuda.to_device(np.ones((1, 0, 4))), out)
    np.testing.assert_array_equal(out.copy_to_host(), np.zeros((2, 3, 4)))      # K = 0: zeros
    cuda_gemm.gemm(cuda.to_device(np.ones((1, 0, 5))), cuda.to_device(np.ones((1, 5, 4))),
                   cuda.device_array((1, 0, 4)))                                    # M = 0: nothing
    with pytest.raises(ValueError, match="gemm"):
        cuda_gemm.gemm(cuda.to_device(np.ones((1, 3, 5))), cuda.to_device(np.ones((1, 4, 4))),
                       cuda.device_array((1, 3, 4)))


def test_batched_dot():
    from numba import cuda
    from lowering.kernels import cuda_gemm
    for dtype in ("float64", "int8", "bool"):
        a, b = _values((5, 13), dtype), _values((1, 13), dtype)
        out = cuda.device_array(5, dtype)
        cuda_gemm.batched_dot(cuda.to_device(a), cuda.to_device(b), out)
        np.testing.assert_allclose(out.copy_to_host(), _reference(a, b.T, dtype)[:, 0], rtol=1e-12)
