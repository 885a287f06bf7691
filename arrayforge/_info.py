"""The inspection namespace returned by ``__array_namespace_info__()``."""
from . import _dtypes as dt
from ._graph import MAX_NDIM
from . import _array  # noqa: E402  (circular at import time; used at call time)

_KINDS = {"bool": dt._boolean, "signed integer": dt._signed, "unsigned integer": dt._unsigned,
          "integral": dt._integer, "real floating": dt._real_floating,
          "complex floating": dt._complex_floating, "numeric": dt._numeric}


def _check_device(device):
    if device is not None and device != _array.CPU:
        raise ValueError(f"unsupported device {device!r}; arrayforge has the 'cpu' device")


class Info:
    """Array API inspection object: what this namespace supports, and its defaults.

    >>> info = arrayforge.__array_namespace_info__()
    >>> info.default_dtypes()["real floating"]          # dtype('float64')
    """

    def capabilities(self):
        # Note: data-dependent shapes (nonzero, unique_*, boolean masks, repeat with array
        # counts) realize their inputs at the recording call, then recording continues from
        # the result; so both are supported, eagerly at that one point.
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": MAX_NDIM}

    def default_device(self):
        return _array.CPU

    def default_dtypes(self, *, device=None):
        _check_device(device)
        return {"real floating": dt.float64, "complex floating": dt.complex128,
                "integral": dt.int64, "indexing": dt.int64}

    def devices(self):
        return (_array.CPU,)

    def dtypes(self, *, device=None, kind=None):
        """The supported dtypes ``{name: dtype}``, optionally of a kind (or tuple of kinds)."""
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
