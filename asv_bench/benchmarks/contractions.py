"""Contractions: tensordot (axes 1, 2 and 0), a GEMM with a fused epilogue, integer matmul.

Floating GEMMs are bounded by the BLAS peak, and this machine's OpenBLAS environment
(``OPENBLAS_CORETYPE``, ``OPENBLAS_L2_SIZE``) can halve it: the GEMM benchmarks take the BLAS
kernel that threadpoolctl reports as a parameter, so every result records the library
its ratio was measured against.
"""
from .inputs import np, warm, xp


def blas_kernel():
    """``"<library> <version> <kernel> threads=<n>"`` of each BLAS threadpoolctl sees."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    found = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} threads={i.get('num_threads')}"
             for i in threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(found) or "none"


BLAS = blas_kernel()


def _random(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).random(shape).astype(dtype)


class TensordotGEMM:
    """``tensordot(a, b, axes)`` reaching BLAS GEMM: no copies, the output written in place."""

    params = [["axes=1 2048x2048 float64", "axes=1 2048x2048 float32",
               "axes=2 (64,256,256)x(256,256,64) float64"], [BLAS]]
    param_names = ["case", "blas"]
    timeout = 300

    def setup(self, case, blas):
        if case.startswith("axes=2"):
            self.a_np, self.b_np, self.axes = _random((64, 256, 256)), _random((256, 256, 64), seed=1), 2
        else:
            dtype = np.float32 if case.endswith("float32") else np.float64
            self.a_np, self.b_np, self.axes = _random((2048, 2048), dtype), _random((2048, 2048), dtype, 1), 1
        self.a, self.b = xp.asarray(self.a_np), xp.asarray(self.b_np)
        warm(self, case, blas, runs=1)

    def time_arrayforge(self, case, blas):
        xp.tensordot(self.a, self.b, axes=self.axes).compute()

    def time_numpy(self, case, blas):
        np.tensordot(self.a_np, self.b_np, axes=self.axes)


class TensorProduct:
    """``tensordot(a, b, axes=0)``: a store-bound broadcast product (the parallel element-wise kernel)."""

    params = [["2000 x 2000", "(10,10,10) x (10,10,10)"]]
    param_names = ["shapes"]

    def setup(self, shapes):
        shape = (2000,) if shapes == "2000 x 2000" else (10, 10, 10)
        self.a_np, self.b_np = _random(shape), _random(shape, seed=1)
        self.a, self.b = xp.asarray(self.a_np), xp.asarray(self.b_np)
        warm(self, shapes)

    def time_arrayforge(self, shapes):
        xp.tensordot(self.a, self.b, axes=0).compute()

    def time_numpy(self, shapes):
        np.tensordot(self.a_np, self.b_np, axes=0)


class GEMMEpilogue:
    """``relu(A @ B + b)`` at 2048 float32: one GEMM, then one fused kernel reading the product once."""

    params = [[BLAS]]
    param_names = ["blas"]
    timeout = 300

    def setup(self, blas):
        self.a_np, self.b_np = _random((2048, 2048), np.float32), _random((2048, 2048), np.float32, 1)
        self.bias_np = _random(2048, np.float32, 2)
        self.a, self.b, self.bias = (xp.asarray(v) for v in (self.a_np, self.b_np, self.bias_np))
        warm(self, blas, runs=1)

    def time_arrayforge(self, blas):
        xp.maximum(self.a @ self.b + self.bias, 0.0).compute()

    def time_numpy(self, blas):
        np.maximum(self.a_np @ self.b_np + self.bias_np, 0.0)


class IntegerMatmul:
    """``A @ B`` of 512x512 int64: NumPy has no BLAS for integers; ours is a tiled parallel kernel."""

    def setup(self):
        rng = np.random.default_rng(0)
        self.a_np, self.b_np = (rng.integers(-1000, 1000, (512, 512)) for _ in range(2))
        self.a, self.b = xp.asarray(self.a_np), xp.asarray(self.b_np)
        warm(self, runs=1)

    def time_arrayforge(self):
        (self.a @ self.b).compute()

    def time_numpy(self):
        self.a_np @ self.b_np
