"""Axis reductions and a row softmax on a 2000 x 2000 float64 matrix."""
from .inputs import np, random_arrays, row_softmax, warm, xp

SHAPE = (2000, 2000)


class AxisMean:
    """``mean(x, axis=axis)``: axis 0 reduces across rows (strided), axis 1 along them."""

    params = [0, 1]
    param_names = ["axis"]

    def setup(self, axis):
        (self.x_np,) = random_arrays(1, SHAPE)
        self.x = xp.asarray(self.x_np)
        warm(self, axis)

    def time_arrayforge(self, axis):
        xp.mean(self.x, axis=axis).compute()

    def time_numpy(self, axis):
        np.mean(self.x_np, axis=axis)


class RowSoftmax:
    """``exp(x - max(x, axis=1)) / sum(exp(...), axis=1)``."""

    def setup(self):
        (self.x_np,) = random_arrays(1, SHAPE)
        self.x = xp.asarray(self.x_np)
        warm(self)

    def time_arrayforge(self):
        row_softmax(xp, self.x).compute()

    def time_numpy(self):
        row_softmax(np, self.x_np)


class SumSquaredDifferenceFloat32:
    """``sum((a - b)**2)`` of two 4096 x 4096 float32 matrices: a full reduction streaming 128 MB.

    float32 sums add blocks of 256 elements in float32 and the block sums in float64, so the loop
    runs at the full float32 vector width; its bound is the machine's read bandwidth.
    """

    def setup(self):
        rng = np.random.default_rng(0)
        self.a_np = rng.standard_normal((4096, 4096), dtype=np.float32)
        self.b_np = rng.standard_normal((4096, 4096), dtype=np.float32)
        self.a, self.b = xp.asarray(self.a_np), xp.asarray(self.b_np)
        warm(self)

    def time_arrayforge(self):
        float(xp.sum((self.a - self.b) ** 2))

    def time_numpy(self):
        float(np.sum((self.a_np - self.b_np) ** 2))
