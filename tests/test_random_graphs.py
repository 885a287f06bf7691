"""Random expression graphs (element-wise ops, views, broadcasts, reductions) evaluated by the
fused Numba kernels, the NumPy interpreter and plain NumPy must agree."""
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

import arrayforge as xp

UNARY = [("negative", np.negative), ("abs", np.abs), ("square", np.square), ("tanh", np.tanh)]
BINARY = [("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply), ("maximum", np.maximum)]


@st.composite
def programs(draw):
    """A list of steps building values from two (3, 4, 5) inputs."""
    steps = []
    n_values = 2
    for _ in range(draw(st.integers(2, 7))):
        kind = draw(st.sampled_from(["unary", "binary", "scalar", "view", "reduce"]))
        i = draw(st.integers(0, n_values - 1))
        if kind == "unary":
            steps.append(("unary", draw(st.integers(0, len(UNARY) - 1)), i))
        elif kind == "binary":
            steps.append(("binary", draw(st.integers(0, len(BINARY) - 1)), i,
                          draw(st.integers(0, n_values - 1))))
        elif kind == "scalar":
            steps.append(("scalar", draw(st.sampled_from([0.5, -2.0, 3.0])), i))
        elif kind == "view":
            steps.append(("view", draw(st.sampled_from(["T", "flip", "slice", "reshape"])), i))
        else:
            steps.append(("reduce", draw(st.sampled_from(["sum", "max", "mean"])), i,
                          draw(st.sampled_from([0, 1, 2])), draw(st.booleans())))
        n_values += 1
    return steps


def run(ns, steps, a, b):
    vals = [a, b]
    for step in steps:
        kind, arg, i = step[0], step[1], step[2]
        x = vals[i]
        if kind == "unary":
            name, fn = UNARY[arg]
            y = getattr(xp, name)(x) if ns is xp else fn(x)
        elif kind == "binary":
            name, fn = BINARY[arg]
            z = vals[step[3]]
            if x.shape != z.shape:           # make them broadcastable: reduce both to scalars' shape
                z = ns.reshape(ns.sum(z), (1,) * x.ndim) if x.ndim else ns.sum(z)
            y = getattr(xp, name)(x, z) if ns is xp else fn(x, z)
        elif kind == "scalar":
            y = x * arg
        elif kind == "view":
            if x.ndim == 0:
                y = x
            elif arg == "T":
                y = ns.permute_dims(x, tuple(reversed(range(x.ndim)))) if ns is xp else np.transpose(x)
            elif arg == "flip":
                y = x[::-1]
            elif arg == "slice":
                y = x[1:] if x.shape[0] > 1 else x
            else:
                y = ns.reshape(x, (-1,))
        else:
            axis = min(step[3], x.ndim - 1) if x.ndim else None
            y = getattr(ns, arg)(x, axis=axis, keepdims=step[4])
        vals.append(y)
    return vals[-1]


@given(programs(), st.sampled_from([np.float64, np.float32, np.int64]))
@settings(deadline=None, max_examples=25, suppress_health_check=list(HealthCheck))
def test_random_graphs_agree(steps, dtype):
    rng = np.random.default_rng(1)
    a_np = rng.uniform(-2, 2, (3, 4, 5)).astype(dtype) if dtype != np.int64 else rng.integers(-5, 5, (3, 4, 5))
    b_np = rng.uniform(-2, 2, (3, 4, 5)).astype(dtype) if dtype != np.int64 else rng.integers(-5, 5, (3, 4, 5))
    if dtype == np.int64:       # integer programs: same steps, integer-valid ops (numbering kept)
        steps = [("unary", 0, step[2]) if step[0] == "scalar" or (step[0] == "unary" and step[1] == 3)
                 else ("reduce", "sum") + step[2:] if step[:2] == ("reduce", "mean") else step
                 for step in steps]
    with np.errstate(all="ignore"):
        expected = run(np, steps, a_np, b_np)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    for executor in ("numpy", "numba"):
        xp.set_executor(executor)
        try:
            got = run(xp, steps, xp.asarray(a_np), xp.asarray(b_np))
            got = np.asarray(got)
            assert got.dtype == np.asarray(expected).dtype, (got.dtype, np.asarray(expected).dtype, steps)
            np.testing.assert_allclose(got, expected, rtol=tol, atol=tol, err_msg=f"{executor}: {steps}")
        finally:
            xp.set_executor(None)
