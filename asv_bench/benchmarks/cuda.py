"""The CUDA back end on a GPU: the fused 10-op chain and ``sum((a-b)**2)`` on float32, each
beside its bound, a device-to-device copy of the same bytes (and CuPy's twin when CuPy is
importable); GEMM float32 beside cuBLAS; the convolution issue's conv2d and depthwise conv beside
PyTorch's.  Every benchmark skips (setup raises NotImplementedError) without a GPU that
Numba sees; under the simulator too (an interpreter: no timing means anything there)."""
import os

from .inputs import np, xp


def _gpu():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        raise NotImplementedError("CUDA simulator: no GPU timings")
    from lowering import cuda_runtime
    if not cuda_runtime.available():
        raise NotImplementedError("no CUDA GPU")
    from numba import cuda
    return cuda


def _cupy():
    try:
        import cupy
        return cupy
    except ImportError:
        return None


class _Base:
    params = [10**7, 10**8]
    param_names = ["n"]
    timeout = 300

    def setup(self, n):
        self.cuda = _gpu()
        rng = np.random.default_rng(0)
        self.a = xp.asarray(rng.standard_normal(n, dtype=np.float32), device="cuda")
        self.b = xp.asarray(rng.standard_normal(n, dtype=np.float32), device="cuda")
        self.src = self.cuda.device_array(n, np.float32)
        self.dst = self.cuda.device_array(n, np.float32)
        cp = _cupy()
        self.ca = cp.asarray(self.a) if cp is not None else None
        self.cb = cp.asarray(self.b) if cp is not None else None
        for _ in range(2):
            self.time_arrayforge(n)
            self.time_device_copy(n)

    def time_device_copy(self, n):
        """The bandwidth bound: copy one input's bytes device to device."""
        self.dst.copy_to_device(self.src)
        self.cuda.synchronize()


class Chain10(_Base):
    """``arrayforge.gpucheck.chain10``: ten element-wise ops on two inputs, one fused kernel
    (reads 2n, writes n float32: 1.5x the copy's bytes)."""

    def time_arrayforge(self, n):
        from arrayforge.gpucheck import chain10
        chain10(self.a, self.b).compute()
        self.cuda.synchronize()

    def time_cupy(self, n):
        if self.ca is None:
            raise NotImplementedError("CuPy is not installed")
        from arrayforge.gpucheck import chain10
        chain10(self.ca, self.cb)
        self.cuda.synchronize()


class SumSquaredDifference(_Base):
    """``sum((a - b)**2)``: the map fused into a block-tree reduction (reads 2n float32)."""

    def time_arrayforge(self, n):
        float(xp.sum((self.a - self.b) ** 2))

    def time_cupy(self, n):
        if self.ca is None:
            raise NotImplementedError("CuPy is not installed")
        float(((self.ca - self.cb) ** 2).sum())


class Gemm:
    """``a @ b`` on n x n float32 device arrays (cuBLAS through CuPy when importable, else the
    tiled Numba kernel), beside the tiled kernel alone and CuPy's matmul (cuBLAS) alone."""
    params = [1024, 4096]
    param_names = ["n"]
    timeout = 300

    def setup(self, n):
        self.cuda = _gpu()
        from lowering.kernels import cuda_gemm
        self.gemm = cuda_gemm.gemm
        rng = np.random.default_rng(0)
        self.a = xp.asarray(rng.standard_normal((n, n), dtype=np.float32), device="cuda")
        self.b = xp.asarray(rng.standard_normal((n, n), dtype=np.float32), device="cuda")
        self.A = self.cuda.as_cuda_array(self.a).reshape((1, n, n))
        self.B = self.cuda.as_cuda_array(self.b).reshape((1, n, n))
        self.out = self.cuda.device_array((1, n, n), np.float32)
        cp = _cupy()
        self.ca = cp.asarray(self.a) if cp is not None else None
        self.cb = cp.asarray(self.b) if cp is not None else None
        self.time_arrayforge(n)
        self.time_tiled(n)

    def time_arrayforge(self, n):
        (self.a @ self.b).compute()
        self.cuda.synchronize()

    def time_tiled(self, n):
        self.gemm(self.A, self.B, self.out, variant="tiled")
        self.cuda.synchronize()

    def time_cupy(self, n):
        if self.ca is None:
            raise NotImplementedError("CuPy is not installed")
        self.ca @ self.cb


class SparseSpMV:
    """``A @ x`` and ``A @ X`` (16 columns) for a 1e6-row, 1e7-nonzero float64 CSR on the GPU
    (``arrayforge.gpucheck.sparse_matrix``: uniform or power-law rows), beside cuSPARSE through
    CuPy when it is importable.  Skips without a GPU."""
    params = [[False, True]]
    param_names = ["power_law"]
    timeout = 300

    def setup(self, power_law):
        self.cuda = _gpu()
        from arrayforge import sparse
        from arrayforge.gpucheck import sparse_matrix
        S = sparse_matrix(10**6, 10, power_law)
        self.A = sparse.from_scipy(S, device="cuda")
        rng = np.random.default_rng(0)
        self.x = xp.asarray(rng.standard_normal(S.shape[1]), device="cuda")
        self.X = xp.asarray(rng.standard_normal((S.shape[1], 16)), device="cuda")
        cp = _cupy()
        if cp is not None:
            import cupyx.scipy.sparse as csp
            self.cA, self.cx, self.cX = csp.csr_matrix(S), cp.asarray(self.x), cp.asarray(self.X)
        else:
            self.cA = None
        self.time_spmv(power_law)

    def time_spmv(self, power_law):
        (self.A @ self.x).compute()
        self.cuda.synchronize()

    def time_spmm(self, power_law):
        (self.A @ self.X).compute()
        self.cuda.synchronize()

    def time_cupy_spmv(self, power_law):
        if self.cA is None:
            raise NotImplementedError("CuPy is not installed")
        self.cA @ self.cx
        self.cuda.synchronize()


def _torch_cuda():
    try:
        import torch
        return torch if torch.cuda.is_available() else None
    except Exception:
        return None


class Conv2d:
    """The convolution issue's conv2d (32, 64, 56, 56) * (64, 64, 3, 3), padding 1, float32 on
    the GPU (im2col + GEMM), its fused ``relu(conv + b)`` epilogue, the depthwise 3x3 (the direct
    kernel), and PyTorch's twins (true float32: TF32 off) when torch imports with CUDA."""
    timeout = 300

    def setup(self):
        self.cuda = _gpu()
        rng = np.random.default_rng(0)
        X = rng.standard_normal((32, 64, 56, 56), dtype=np.float32)
        W = rng.standard_normal((64, 64, 3, 3), dtype=np.float32) * 0.05
        B = rng.standard_normal(64, dtype=np.float32)
        Wd = rng.standard_normal((64, 1, 3, 3), dtype=np.float32)
        self.x, self.w, self.b, self.wd = (xp.asarray(a, device="cuda") for a in (X, W, B, Wd))
        torch = _torch_cuda()
        self.torch = torch
        if torch is not None:
            torch.backends.cudnn.allow_tf32 = False
            self.tx, self.tw, self.twd = (torch.as_tensor(a, device="cuda") for a in (X, W, Wd))
        for _ in range(2):
            self.time_arrayforge()
            self.time_arrayforge_depthwise()

    def time_arrayforge(self):
        from arrayforge import nn
        nn.conv2d(self.x, self.w, padding=1).compute()
        self.cuda.synchronize()

    def time_arrayforge_relu_bias(self):
        from arrayforge import nn
        nn.relu(nn.conv2d(self.x, self.w, padding=1) + self.b[:, None, None]).compute()
        self.cuda.synchronize()

    def time_arrayforge_depthwise(self):
        from arrayforge import nn
        nn.conv2d(self.x, self.wd, padding=1, groups=64).compute()
        self.cuda.synchronize()

    def time_torch(self):
        if self.torch is None:
            raise NotImplementedError("torch with CUDA is not importable")
        self.torch.nn.functional.conv2d(self.tx, self.tw, padding=1)
        self.torch.cuda.synchronize()

    def time_torch_depthwise(self):
        if self.torch is None:
            raise NotImplementedError("torch with CUDA is not importable")
        self.torch.nn.functional.conv2d(self.tx, self.twd, padding=1, groups=64)
        self.torch.cuda.synchronize()
