"""Fused element-wise chains and map-reduce on large float64 vectors."""
from .inputs import chain, np, random_arrays, warm, xp


class ElementwiseChain:
    """``((a*b + c)*0.5 - d)*(a + 1.0) + (b - c)*d*2.0 - a/(d + 1.0)``: one fused kernel."""

    params = [10**5, 10**7]
    param_names = ["n"]

    def setup(self, n):
        self.np_inputs = random_arrays(4, (n,))
        self.xp_inputs = [xp.asarray(v) for v in self.np_inputs]
        warm(self, n)

    def time_arrayforge(self, n):
        chain(*self.xp_inputs).compute()     # record afresh each call: recording is part of the cost

    def time_numpy(self, n):
        chain(*self.np_inputs)


class MapReduce:
    """``sum((a - b)**2)``: element-wise map fused into the reduction, evaluated with float()."""

    params = [10**5, 10**7]
    param_names = ["n"]

    def setup(self, n):
        self.a_np, self.b_np = random_arrays(2, (n,))
        self.a, self.b = xp.asarray(self.a_np), xp.asarray(self.b_np)
        warm(self, n)

    def time_arrayforge(self, n):
        float(xp.sum((self.a - self.b) ** 2))

    def time_numpy(self, n):
        float(np.sum((self.a_np - self.b_np) ** 2))


class SmallArrayDispatch:
    """A 5-op expression on 100 elements: the cost of recording, planning and dispatch.

    Note: no ``setup`` method on purpose.  asv re-runs setup before every timed call of a
    class that has one and then times single calls, which measures a cold first call; the
    inputs are built at import instead, so asv batches many calls per sample and reports
    the per-call cost of a hot loop, which is what small-array dispatch is about.
    """

    np_inputs = random_arrays(4, (100,))
    xp_inputs = [xp.asarray(v) for v in np_inputs]

    def time_arrayforge(self):
        a, b, c, d = self.xp_inputs
        float(xp.sum(a * b + c - d * 0.5))

    def time_numpy(self):
        a, b, c, d = self.np_inputs
        float(np.sum(a * b + c - d * 0.5))


class TinyExpression:
    """``float(sum(sqrt(s*2.0 + 1.0) - s))`` on 100 elements (issue 11's reproducer): small
    work on realized inputs runs at once (the eager tier), so it costs a few NumPy calls
    rather than a graph, a plan lookup and an interpreted program.  Goal: <= 2x NumPy."""

    s_np = random_arrays(1, (100,))[0]
    s = xp.asarray(s_np)

    def time_arrayforge(self):
        s = self.s
        float(xp.sum(xp.sqrt(s * 2.0 + 1.0) - s))

    def time_numpy(self):
        s = self.s_np
        float(np.sum(np.sqrt(s * 2.0 + 1.0) - s))


class TinyOp:
    """``(a + b).compute()`` on 100 elements: one small op.  Goal: <= 4x NumPy's ``a + b``."""

    a_np, b_np = random_arrays(2, (100,))
    a, b = xp.asarray(a_np), xp.asarray(b_np)

    def time_arrayforge(self):
        (self.a + self.b).compute()

    def time_numpy(self):
        self.a_np + self.b_np
