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
