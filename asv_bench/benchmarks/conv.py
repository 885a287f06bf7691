"""arrayforge.nn convolutions beside their NumPy twins (and PyTorch's, where it imports).

The twins are the textbook NumPy programs (asv_bench/measure_conv.py defines them once): im2col by
sliding windows + one GEMM per image, depthwise as a sum of shifted views, transposed conv by its
definition.  The GEMM-bound cases take the BLAS kernel threadpoolctl reports as a parameter.
"""
import os
import sys

from .contractions import BLAS
from .inputs import np, warm, xp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from measure_conv import conv_transpose_numpy, depthwise_numpy, im2col_numpy  # noqa: E402

from arrayforge import nn  # noqa: E402


def _torch():
    try:
        import torch
        return torch
    except Exception:       # not installed, or a CUDA wheel without its libraries
        return None


class Conv2d:
    """conv2d, float32, NCHW; ``relu(conv2d + b)`` reads the conv output once more (the epilogue)."""

    params = [["(32,64,56,56)*(64,64,3,3) pad 1", "(128,3,28,28)*(16,3,3,3) pad 1",
               "(32,64,56,56)*(64,64,1,1)"], [BLAS]]
    param_names = ["case", "blas"]
    timeout = 300

    def setup(self, case, blas):
        rng = np.random.default_rng(0)
        if case.startswith("(128"):
            xs, ws, self.pad = (128, 3, 28, 28), (16, 3, 3, 3), 1
        elif case.endswith("(64,64,1,1)"):
            xs, ws, self.pad = (32, 64, 56, 56), (64, 64, 1, 1), 0
        else:
            xs, ws, self.pad = (32, 64, 56, 56), (64, 64, 3, 3), 1
        self.X = rng.standard_normal(xs, dtype=np.float32)
        self.W = rng.standard_normal(ws, dtype=np.float32)
        self.B = rng.standard_normal(ws[0], dtype=np.float32)
        self.x, self.w, self.b = xp.asarray(self.X), xp.asarray(self.W), xp.asarray(self.B)
        warm(self, case, blas, runs=1)

    def time_arrayforge(self, case, blas):
        nn.conv2d(self.x, self.w, padding=self.pad).compute()

    def time_numpy(self, case, blas):
        im2col_numpy(self.X, self.W, self.pad)

    def time_arrayforge_relu_bias(self, case, blas):
        nn.relu(nn.conv2d(self.x, self.w, padding=self.pad) + self.b[:, None, None]).compute()

    def time_numpy_relu_bias(self, case, blas):
        np.maximum(im2col_numpy(self.X, self.W, self.pad) + self.B[:, None, None], 0)


class Depthwise:
    """Depthwise 3x3 (groups = channels), float32: memory-bound."""

    params = [["(32,64,56,56)", "(8,256,28,28)"]]
    param_names = ["case"]

    def setup(self, case):
        rng = np.random.default_rng(0)
        shape = (32, 64, 56, 56) if case == "(32,64,56,56)" else (8, 256, 28, 28)
        self.X = rng.standard_normal(shape, dtype=np.float32)
        self.W = rng.standard_normal((shape[1], 1, 3, 3), dtype=np.float32)
        self.x, self.w = xp.asarray(self.X), xp.asarray(self.W)
        self.groups = shape[1]
        warm(self, case, runs=1)

    def time_arrayforge(self, case):
        nn.conv2d(self.x, self.w, padding=1, groups=self.groups).compute()

    def time_numpy(self, case):
        depthwise_numpy(self.X, self.W, 1)


class ConvTranspose2d:
    """A DCGAN generator step: conv_transpose2d, stride 2, doubles H and W (GEMM, then col2im)."""

    params = [[BLAS]]
    param_names = ["blas"]
    timeout = 300

    def setup(self, blas):
        rng = np.random.default_rng(0)
        self.Z = rng.standard_normal((32, 128, 16, 16), dtype=np.float32)
        self.W = rng.standard_normal((128, 64, 4, 4), dtype=np.float32)
        self.z, self.w = xp.asarray(self.Z), xp.asarray(self.W)
        warm(self, blas, runs=1)

    def time_arrayforge(self, blas):
        nn.conv_transpose2d(self.z, self.w, stride=2, padding=1).compute()

    def time_numpy(self, blas):
        conv_transpose_numpy(self.Z, self.W, 2, 1)


class Conv2dTorch:
    """The first Conv2d case against torch.nn.functional.conv2d (skipped where torch does not import)."""

    def setup(self):
        self.torch = _torch()
        if self.torch is None:
            raise NotImplementedError("torch does not import")
        rng = np.random.default_rng(0)
        X = rng.standard_normal((32, 64, 56, 56), dtype=np.float32)
        W = rng.standard_normal((64, 64, 3, 3), dtype=np.float32)
        self.x, self.w = xp.asarray(X), xp.asarray(W)
        self.tx, self.tw = self.torch.from_numpy(X), self.torch.from_numpy(W)
        nn.conv2d(self.x, self.w, padding=1).compute()

    def time_arrayforge(self):
        nn.conv2d(self.x, self.w, padding=1).compute()

    def time_torch(self):
        self.torch.nn.functional.conv2d(self.tx, self.tw, padding=1)
