import warnings

import numpy as np
import pytest

import arrayforge as xp


@pytest.fixture(params=["auto", "numba"])
def executor(request):
    """Numeric tests run under the default policy and under the forced Numba executor."""
    xp.set_executor(request.param)
    yield request.param
    xp.set_executor(None)


def assert_same(got, expected, exact=True):
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    if exact:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-6 if got.dtype.itemsize > 4 else 2e-4, equal_nan=True)


def outcome(fn):
    """(result, None), or (None, exception type) when ``fn`` raises: compared with a reference."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(), None
        except Exception as exc:        # compare the exception type with the reference
            return None, type(exc)


@pytest.fixture
def lazy(monkeypatch):
    """Record everything, however small (no eager tier): for tests of plans and fusion."""
    from lowering import runtime
    monkeypatch.setattr(runtime, "EAGER_MAX", 0)


def pytest_ignore_collect(collection_path, config):
    """The CUDA simulator files (tests/test_cuda*_sim.py) need Numba's simulator, which must be
    switched on before numba is imported: without a GPU they run in the subprocess of
    tests/test_cuda.py::test_simulator_suite, so here they are not collected (rather than
    reported as a hundred skips).  On a GPU, or under NUMBA_ENABLE_CUDASIM=1, they run here."""
    name = collection_path.name
    if not (name.startswith("test_cuda") and name.endswith("_sim.py")):
        return None
    import os
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return None
    from lowering import cuda_runtime
    return None if cuda_runtime.available() else True
