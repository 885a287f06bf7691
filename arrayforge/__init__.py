"""arrayforge: a lazy, fusing, Numba-compiled Array API (2025.12) namespace.

    import arrayforge as xp
    a = xp.asarray(numpy_array)
    y = xp.sum((a - 1.0) ** 2)      # recorded, not run
    float(y)                        # fused into one kernel, compiled (or interpreted), run
"""
__version__ = "0.1.0"
__array_api_version__ = "2025.12"

from lowering import KernelError, realize as _realize
from lowering import cache_info as _cache_info, clear_cache as _clear_cache, set_executor

from ._dtypes import (bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64,  # noqa: A004
                      float32, float64, complex64, complex128)
from ._array import Array, Device
from .creation import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .statistical import *  # noqa: F401,F403
from .manipulation import *  # noqa: F401,F403
from .datatypes import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .searching import *  # noqa: F401,F403
from .sorting import *  # noqa: F401,F403
from .sets import *  # noqa: F401,F403
from .utility import *  # noqa: F401,F403
from ._contract import einsum, matmul, outer, tensordot, vecdot
from . import linalg, fft  # noqa: E402  (the extensions, as submodules)
from . import signal  # noqa: E402  (convolution, scipy.signal-style)
from . import nn  # noqa: E402  (the neural-network family: conv, pooling, activations)
from . import sparse  # noqa: E402  (the sparse formats, as a submodule)
from ._info import __array_namespace_info__
from ._plan import explain, Plan
from . import _dask

_dask.install()         # Dask chunk-type registration when dask.array is imported; never imports it

e = 2.718281828459045
inf = float("inf")
nan = float("nan")
pi = 3.141592653589793
newaxis = None


def compute(*arrays):
    """Evaluate several arrays with one schedule (shared work is done once); returns them."""
    _realize([a._node for a in arrays])
    return arrays[0] if len(arrays) == 1 else arrays


def cache_info():
    """Kernel cache statistics: ``compiled`` (this process), ``memory_hits``, ``disk_hits``, ``dir``."""
    return _cache_info()


def clear_cache():
    """Empty the in-memory and on-disk kernel caches and the plan cache."""
    _clear_cache()


for _f in (compute, cache_info, clear_cache):
    _f.__module__ = "arrayforge"
del _f
