"""The inspection namespace returned by ``__array_namespace_info__()``."""
from . import _dtypes as dt
from . import _array  # noqa: E402  (circular at import time; used at call time)


class Info:
    """Array API inspection object."""

    def capabilities(self):
        # Note: data-dependent shapes realize their inputs, then recording continues.
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": 64}

    def default_device(self):
        return _array.CPU

    def default_dtypes(self, *, device=None):
        return {"real floating": dt.float64, "complex floating": dt.complex128,
                "integral": dt.int64, "indexing": dt.int64}

    def devices(self):
        return [_array.CPU]

    def dtypes(self, *, device=None, kind=None):
        kinds = {"bool": dt._boolean, "signed integer": dt._signed, "unsigned integer": dt._unsigned,
                 "integral": dt._integer, "real floating": dt._real_floating,
                 "complex floating": dt._complex_floating, "numeric": dt._numeric}
        if kind is None:
            sel = dt._all
        elif isinstance(kind, str):
            if kind not in kinds:
                raise ValueError(f"unknown dtype kind {kind!r}")
            sel = kinds[kind]
        else:
            sel = tuple(d for k in kind for d in self.dtypes(kind=k).values())
        return {d.name: d for d in dt._all if d in sel}


def __array_namespace_info__():
    return Info()


__array_namespace_info__.__module__ = "arrayforge"
