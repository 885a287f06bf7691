"""The inspection namespace returned by ``__array_namespace_info__()``."""
from . import _dtypes as dt
from ._graph import MAX_NDIM
from . import _array  # noqa: E402  (circular at import time; used at call time)

_KINDS = {"bool": dt._boolean, "signed integer": dt._signed, "unsigned integer": dt._unsigned,
          "integral": dt._integer, "real floating": dt._real_floating,
          "complex floating": dt._complex_floating, "numeric": dt._numeric}


def _check_device(device):
    """The IR key of ``device`` (None: the host); ValueError for an unknown or absent one."""
    return _array.as_device(device)


def _cuda_devices():
    """The CUDA devices Numba sees (the simulator counts); none without a GPU.  Imports
    numba.cuda only when asked (``devices()``), never at ``import arrayforge``."""
    from lowering import cuda_runtime
    return tuple(_array.Device("cuda", i) for i in range(cuda_runtime.device_count()))


class Info:
    """Array API inspection object: what this namespace supports, and its defaults.

    >>> info = arrayforge.__array_namespace_info__()
    >>> info.default_dtypes()["real floating"]          # dtype('float64')
    """

    def capabilities(self, *, device=None):
        # Note: data-dependent shapes (nonzero, unique_*, boolean masks, repeat with array
        # counts) realize their inputs at the recording call, then recording continues from
        # the result; so both are supported, eagerly at that one point.  On a CUDA device they
        # need host work (sorting, nonzero) that has no GPU kernel yet: not supported there.
        on_gpu = _check_device(device) is not None
        return {"boolean indexing": not on_gpu, "data-dependent shapes": not on_gpu,
                "max dimensions": MAX_NDIM}

    def default_device(self):
        return _array.CPU

    def default_dtypes(self, *, device=None):
        _check_device(device)
        return {"real floating": dt.float64, "complex floating": dt.complex128,
                "integral": dt.int64, "indexing": dt.int64}

    def devices(self):
        """The CPU, then the CUDA devices Numba sees (only when it sees any)."""
        return (_array.CPU,) + _cuda_devices()

    def dtypes(self, *, device=None, kind=None):
        """The supported dtypes ``{name: dtype}``, optionally of a kind (or tuple of kinds);
        the same on every device (CUDA kernels exist for every dtype, complex included)."""
        _check_device(device)
        if kind is None:
            sel = dt._all
        elif isinstance(kind, str):
            if kind not in _KINDS:
                raise ValueError(f"unknown dtype kind {kind!r}")
            sel = _KINDS[kind]
        elif isinstance(kind, tuple):
            sel = tuple(d for k in kind for d in self.dtypes(kind=k).values())
        else:
            raise ValueError(f"dtype kind must be a string or a tuple of strings, not {kind!r}")
        return {d.name: d for d in dt._all if d in sel}


def __array_namespace_info__():
    return Info()


__array_namespace_info__.__module__ = "arrayforge"
