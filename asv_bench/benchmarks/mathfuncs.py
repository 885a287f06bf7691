"""Transcendental math inside fused kernels (vectorised polynomial implementations).

Each arrayforge benchmark sits beside its NumPy twin; ``ARRAYFORGE_FAST_MATH=0`` in the
environment makes the arrayforge side call libm instead, for comparison.
"""
from .inputs import np, row_softmax, warm, xp


def sin_expression(ns, a, b, c, d, e):
    """``a*b + c*sin(d) - sqrt(abs(e))``: one transcendental in a memory-bound chain."""
    return a * b + c * ns.sin(d) - ns.sqrt(ns.abs(e))


class FusedSin:
    params = ["float64", "float32"]
    param_names = ["dtype"]

    def setup(self, dtype):
        rng = np.random.default_rng(0)
        self.np_inputs = [(rng.random(10**7) * 200 - 100).astype(dtype) for _ in range(5)]
        self.xp_inputs = [xp.asarray(v) for v in self.np_inputs]
        warm(self, dtype)

    def time_arrayforge(self, dtype):
        sin_expression(xp, *self.xp_inputs).compute()

    def time_numpy(self, dtype):
        sin_expression(np, *self.np_inputs)


class RowSoftmaxFloat32:
    """Row softmax of a 4096 x 4096 float32 matrix: one rows kernel, ``exp`` kept in the row."""

    def setup(self):
        self.x_np = np.random.default_rng(0).standard_normal((4096, 4096)).astype(np.float32)
        self.x = xp.asarray(self.x_np)
        warm(self)

    def time_arrayforge(self):
        row_softmax(xp, self.x).compute()

    def time_numpy(self):
        row_softmax(np, self.x_np)


class UnaryMath:
    """One function over 1e7 elements (memory-bound when vectorised)."""

    params = (["exp", "log", "sin", "tanh", "atan"], ["float64", "float32"])
    param_names = ["function", "dtype"]

    def setup(self, function, dtype):
        rng = np.random.default_rng(0)
        x = rng.random(10**7) * 10 + 0.1
        self.x_np = x.astype(dtype)
        self.x = xp.asarray(self.x_np)
        self.fn_xp, self.fn_np = getattr(xp, function), getattr(np, function.replace("atan", "arctan"))
        warm(self, function, dtype)

    def time_arrayforge(self, function, dtype):
        self.fn_xp(self.x).compute()

    def time_numpy(self, function, dtype):
        self.fn_np(self.x_np)


class ComplexMath:
    """Complex functions built from the vectorised real ones, 4e6 elements."""

    params = (["exp", "sin", "cosh"], ["complex128", "complex64"])
    param_names = ["function", "dtype"]

    def setup(self, function, dtype):
        rng = np.random.default_rng(0)
        n = 4 * 10**6
        self.x_np = (rng.standard_normal(n) * 3 + 1j * rng.standard_normal(n) * 3).astype(dtype)
        self.x = xp.asarray(self.x_np)
        self.fn_xp, self.fn_np = getattr(xp, function), getattr(np, function)
        warm(self, function, dtype)

    def time_arrayforge(self, function, dtype):
        self.fn_xp(self.x).compute()

    def time_numpy(self, function, dtype):
        self.fn_np(self.x_np)
