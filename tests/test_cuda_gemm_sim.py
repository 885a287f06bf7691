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


# ---- the CONTRACT node on a device: the namespace's products, differential against the CPU ----

import arrayforge as xp  # noqa: E402
from test_cuda_sim import both  # noqa: E402  (tests/ is on sys.path: pytest's rootdir insertion)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int8", "int32", "uint8", "uint64", "bool"])
def test_matmul_dtypes(dtype):
    a, b = _values((7, 9), dtype), _values((9, 5), dtype)
    if dtype == "bool":                                          # (matmul is numeric only; einsum ORs ANDs)
        both(lambda x, y: xp.einsum("ij,jk->ik", x, y), a, b)
        return
    both(lambda x, y: x @ y, a, b, rtol=1e-5 if dtype == "float32" else 1e-12)


def test_matmul_odd_sizes_and_vectors():
    for m, k, n in [(1, 1, 1), (1, 7, 33), (33, 7, 1), (7, 33, 7)]:
        both(lambda x, y: x @ y, _values((m, k), "float64"), _values((k, n), "float64"))
    a = _values((7, 9), "float64")
    both(lambda x: x @ x[0], a)                                  # matrix @ vector (a dot per row)
    both(lambda x: x[:, 0] @ x, a)                               # vector @ matrix
    both(lambda x: x[0] @ x[1], a)                               # vector @ vector: 0-d


def test_matmul_batched_broadcast_and_transposed_views():
    a, b = _values((3, 5, 4), "float64"), _values((3, 4, 6), "float64")
    both(lambda x, y: x @ y, a, b)                               # batched
    both(lambda x, y: x @ y[0], a, b)                            # one matrix: merged into M
    both(lambda x, y: x[:1] @ y, a, b)                           # broadcast batch
    both(lambda x, y: xp.reshape(x, (3, 1, 5, 4)) @ y[None], a, b)
    both(lambda x, y: x.mT @ x, a, b)                            # transposed views
    both(lambda x, y: y @ y.mT, a, b)
    both(lambda x, y: xp.linalg.matrix_transpose(y) @ xp.linalg.matrix_transpose(x), a, b)
    both(lambda x, y: x[:, ::2, 1:] @ y[:, 1:, ::-1], a, b)      # strided views
    i = _values((2, 5, 4), "int16")
    both(lambda x: x.mT @ x, i)


def test_tensordot_vecdot_einsum_and_linalg():
    a, b = _values((3, 4, 5), "float64"), _values((4, 5, 2), "float64")
    both(lambda x, y: xp.tensordot(x, y, axes=2), a, b)
    both(lambda x, y: xp.tensordot(x, y, axes=1), a.transpose(0, 2, 1), b)
    both(lambda x, y: xp.tensordot(x, y, axes=0), a[0], b[:, 0, 0])
    both(lambda x, y: xp.tensordot(x, y, axes=([1, 2], [0, 1])), a, b)
    both(lambda x, y: xp.tensordot(x, y, axes=([2, 1], [1, 0])), a, b)     # K in another order: copied
    both(lambda x, y: xp.tensordot(x, y, axes=([0], [2])), _values((2, 3), "float64"), b)
    c = _values((3, 4, 5), "float64")
    both(lambda x, y: xp.vecdot(x, y), a, c)
    both(lambda x, y: xp.vecdot(x, y, axis=1), a, c)
    both(lambda x, y: xp.vecdot(x, y[0]), a, c)                  # broadcast: a GEMV
    both(lambda x, y: xp.linalg.vecdot(x, y, axis=0), a, c)
    both(lambda x, y: xp.linalg.matmul(x, y), a[0], b[0])
    both(lambda x, y: xp.linalg.tensordot(x, y, axes=2), a, b)
    both(lambda x, y: xp.einsum("ijk,jkl->il", x, y), a, b)
    both(lambda x, y: xp.einsum("ijk,ijk->j", x, y), a, c)
    i8 = _values((6, 40), "int8")
    both(lambda x: xp.vecdot(x, x), i8)                          # int8 wraps as on the CPU
    both(lambda x: x @ x.T, i8)


def test_empty_contractions():
    both(lambda x, y: x @ y, np.ones((3, 0)), np.ones((0, 4)))   # K = 0: zeros
    both(lambda x, y: x @ y, np.ones((0, 3)), np.ones((3, 4)))   # M = 0
    both(lambda x, y: xp.vecdot(x, y), np.ones((3, 0)), np.ones((3, 0)))
    both(lambda x, y: x @ y, np.ones((2, 3, 0), np.int32), np.ones((2, 0, 4), np.int32))


def test_epilogue_fuses_after_the_gemm():
    a, b, c = _values((7, 9), "float64"), _values((9, 5), "float64"), _values((7, 5), "float64")
    both(lambda x, y, z: xp.sqrt(xp.abs((x @ y) * 2 + z)), a, b, c)
    g = [xp.asarray(v, device="cuda") for v in (a, b, c)]
    kernels = xp.explain((g[0] @ g[1]) * 2 + g[2]).kernels
    assert [k.kind for k in kernels] == ["contract", "elementwise"]
    assert kernels[0].backend == "cuda" and kernels[0].variant in ("tiled", "cublas")
    assert kernels[1].backend == "cuda"
    assert xp.explain(xp.vecdot(g[0], g[0])).kernels[0].variant == "dot"


def test_transposed_views_are_not_copied(monkeypatch):
    # a transposed operand reaches the GEMM in place, as its transpose flag; K in another order is one copy
    calls = []
    real = cuda_runtime._run_copy
    monkeypatch.setattr(cuda_runtime, "_run_copy", lambda *a: calls.append(a) or real(*a))
    a, b = _values((5, 4), "float64"), _values((5, 6), "float64")
    g, h = xp.asarray(a, device="cuda"), xp.asarray(b, device="cuda")
    np.testing.assert_allclose(np.asarray(g.T @ h), a.T @ b, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(h.T @ g), b.T @ a, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(xp.tensordot(g, h, axes=([0], [0]))), a.T @ b, rtol=1e-12)
    assert not calls
    t = _values((3, 4, 4), "float64")
    np.testing.assert_allclose(np.asarray(xp.tensordot(xp.asarray(t, device="cuda"), xp.asarray(t, device="cuda"),
                                                       axes=([1, 2], [2, 1]))),
                               np.tensordot(t, t, axes=([1, 2], [2, 1])), rtol=1e-12)
    assert len(calls) == 1


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_barriers_on_the_device(dtype):
    # complex operands through every barrier kind with a GPU kernel: the GEMM (generic over
    # its accumulator), vecdot (conj(a) . b: the conjugated operand copied by one kernel),
    # SpMV, and signal's direct correlation
    import scipy.sparse as sps
    import arrayforge as xp
    from arrayforge import signal, sparse

    def c(*shape):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)

    def dev(x):
        return xp.asarray(x, device="cuda")

    def host(x):
        assert x.device == xp.Device("cuda", 0)
        return np.asarray(x.to_device("cpu"))

    tol = dict(rtol=2e-5, atol=2e-5) if dtype == "complex64" else dict(rtol=1e-12, atol=1e-12)
    a, b, q = c(5, 7), c(7, 3), c(5, 7)
    np.testing.assert_allclose(host(dev(a) @ dev(b)), a @ b, **tol)
    np.testing.assert_allclose(host(xp.vecdot(dev(a), dev(q))), np.sum(np.conj(a) * q, axis=-1), **tol)
    np.testing.assert_allclose(host(xp.vecdot(dev(a), dev(q), axis=0)), np.sum(np.conj(a) * q, axis=0), **tol)
    S = (sps.random_array((6, 5), density=0.5, format="csr", random_state=0) * (1 + 2j)).astype(dtype)
    v = c(5)
    np.testing.assert_allclose(host(sparse.from_scipy(S, device="cuda") @ dev(v)), S @ v, **tol)
    img, k = c(6, 6), c(3, 3)
    want = np.asarray(signal.convolve2d(xp.asarray(img), xp.asarray(k)))
    np.testing.assert_allclose(host(signal.convolve2d(dev(img), dev(k))), want, **tol)
