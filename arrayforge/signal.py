"""Convolution and correlation with SciPy's names and semantics (``scipy.signal``), and NumPy's
``numpy.convolve`` as :func:`convolve1d`.

    from arrayforge import signal
    signal.convolve2d(A, K, mode="same", boundary="symm")     # recorded, not run
    signal.convolve(x, h, method="auto")                      # direct or FFT, by estimated cost

Every function validates its arguments at the call (SciPy's exception types, the argument
named) and records a lazy node; element-wise work on the result fuses into the next kernel.

* The direct method is one CORRELATE node (``lowering.kernels.correlate``): the valid
  correlation of an extended array with one kernel.  Every mode is that node with some pads:
  a convolution is a correlation with the flipped kernel (a view), a correlation of complex
  input conjugates its second operand (a flag of the node), the full convolution is
  commutative (the smaller operand becomes the kernel, as SciPy swaps them), and a mode's
  output is a window of the full result (pads where it extends past the input, a slice view
  where it stays inside).  ``boundary`` of :func:`convolve2d` fills the extension.
  Integer inputs keep their dtype and are exact (wrapping like SciPy's and NumPy's loops).
* The FFT method (:func:`fftconvolve`, ``method="fft"``) and the overlap-add method
  (:func:`oaconvolve`) are EXTERN nodes running pocketfft through ``scipy.fft`` with SciPy's
  algorithm and transform sizes (``next_fast_len``), on all of this process's threads.
* ``method="auto"`` chooses by estimated cost (:func:`choose_conv_method`, no timing runs).

Note: deliberate deviations from SciPy, each where SciPy has no usable answer or its answer
depends on the hardware: see :func:`choose_conv_method` (arrayforge's own cost model; integer
inputs always take the exact direct path under ``"auto"``); ``method="fft"`` refuses empty
inputs with ValueError (SciPy fails with IndexError); ``convolve2d`` with ``boundary="wrap"`` or
``"symm"`` refuses an empty ``in1`` (SciPy's loop reads out of bounds).
"""
import math
import operator
import time

import numpy as np

from lowering import Op, make_node
from lowering.kernels import correlate as _kc     # registers the CORRELATE barrier kind

from . import _dtypes as dt
from ._graph import bounded, extern, public_name
from . import _array  # noqa: E402  (circular at import time; used at call time)

__all__ = ["convolve", "correlate", "convolve2d", "correlate2d", "fftconvolve", "oaconvolve",
           "choose_conv_method", "convolve1d"]

_MODES = ("full", "same", "valid")
_METHODS = ("auto", "direct", "fft")
# SciPy's spellings of the boundary conditions -> the CORRELATE node's
_BOUNDARIES = {"fill": "fill", "pad": "fill", "wrap": "wrap", "circular": "wrap",
               "symm": "symm", "symmetric": "symm"}


# ---- validation


def _as_array(x, fn, name):
    """``x`` as an arrayforge Array (array_like is converted, as SciPy's ``asarray`` does)."""
    if isinstance(x, _array.Array):
        return x
    from .creation import asarray
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{fn}: {name} must be an array, got {type(x).__name__}")
    return asarray(x)


def _check_mode(mode, fn):
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"{fn}: mode must be one of 'full', 'same' or 'valid', not {mode!r}")
    return mode


def _check_method(method, fn):
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"{fn}: method must be one of 'auto', 'direct' or 'fft', not {method!r}")
    return method


def _check_boundary(boundary, fn):
    if not isinstance(boundary, str) or boundary not in _BOUNDARIES:
        raise ValueError(f"{fn}: boundary must be one of 'fill', 'wrap' or 'symm' (or SciPy's "
                         f"'pad', 'circular', 'symmetric'), not {boundary!r}")
    return _BOUNDARIES[boundary]


def _result_dtype(d1, d2, fn):
    """NumPy's result dtype of the two inputs (SciPy's direct methods keep it)."""
    dtype = np.result_type(d1, d2)
    if dtype not in dt.CATEGORIES["numeric"] and dtype != np.bool_:
        raise TypeError(f"{fn}: unsupported dtypes {d1} and {d2}")
    return dtype


def _fft_dtype(d1, d2):
    """The dtype of an FFT convolution: integers and bool are transformed as float64."""
    def as_float(d):
        return np.dtype(np.float64) if d.kind in "biu" else d
    return np.result_type(as_float(d1), as_float(d2))


def _valid_swap(s1, s2, axes, fn):
    """SciPy's rule for "valid": one input at least as large as the other in every dimension
    (of ``axes``); True when the inputs must be swapped."""
    ok1 = all(s1[i] >= s2[i] for i in axes)
    ok2 = all(s2[i] >= s1[i] for i in axes)
    if not (ok1 or ok2):
        raise ValueError(f"{fn}: for 'valid' mode, one must be at least as large as the other in "
                         f"every dimension (in1 {tuple(s1)}, in2 {tuple(s2)})")
    return not ok1


def _same_rank(in1, in2, fn):
    if in1.ndim != in2.ndim:
        raise ValueError(f"{fn}: in1 and in2 should have the same dimensionality, "
                         f"got {in1.ndim} and {in2.ndim}")


def _fill_value(fillvalue, dtype, fn):
    """``fillvalue`` as a Python scalar of ``dtype``, converted as SciPy does (through complex)."""
    if isinstance(fillvalue, _array.Array):
        fillvalue = np.asarray(fillvalue)
    try:
        v = np.asarray(fillvalue)
    except Exception:
        v = None
    if v is None or v.dtype.kind not in "biufc":
        raise ValueError(f"{fn}: fillvalue must be a number, got {fillvalue!r}")
    if v.size != 1:
        raise ValueError(f"{fn}: fillvalue must be a scalar or an array with one element, "
                         f"got shape {v.shape}")
    c = complex(v.reshape(()).item())
    if dtype.kind in "iu":      # SciPy refuses a value its cast would make invalid
        info = np.iinfo(dtype)
        ok = math.isfinite(c.real) and info.min <= math.trunc(c.real) <= info.max
    else:
        ok = True
    if not ok or (dtype.kind != "c" and c.imag != 0):
        raise ValueError(f"{fn}: could not cast fillvalue {fillvalue!r} to the output dtype {dtype}")
    with np.errstate(all="ignore"):
        return np.array(c if dtype.kind == "c" else c.real).astype(dtype).item()


# ---- recording helpers


def _astype(x, dtype):
    from .manipulation import astype
    return x if x.dtype == dtype else astype(x, dtype)


def _flip(x):
    from .manipulation import flip
    return flip(x) if x.ndim else x


def _conj(x):
    if x.dtype.kind != "c":
        return x
    from .elementwise import conj
    return conj(x)


def _zeros(shape, dtype, like):
    """Zeros on the device of the array ``like`` (an empty sum, or no output at all)."""
    from .creation import zeros
    return zeros(shape, dtype=dtype, device=like.device)


def _correlate_node(a, w, pads, boundary, fill, dtype, conj_a=False, conj_w=False):
    """Record CORRELATE: the valid correlation of ``a`` extended by ``pads`` with kernel ``w``,
    in ``dtype``, conjugating the operands flagged.  The operands keep their own dtypes and
    values: the kernel converts and conjugates them while it extends the array (a cast or a
    conjugate recorded here would be one more kernel and pass over memory)."""
    pads = tuple((int(lo), int(hi)) for lo, hi in pads)
    shape = _kc.output_shape(a.shape, w.shape, pads)
    if any(s < 0 for s in shape):
        raise ValueError(f"negative dimensions are not allowed: output shape {shape}")
    if w.size == 0 or math.prod(shape) == 0:
        return _zeros(shape, dtype, a)         # an empty sum (or no output at all)
    conj_a, conj_w = conj_a and a.dtype.kind == "c", conj_w and w.dtype.kind == "c"
    try:
        node = make_node(Op.CORRELATE, dtype, shape, (a._node, w._node),
                         (pads, boundary, (fill, repr(fill)), conj_a, conj_w))
    except NotImplementedError as exc:      # no kernel on the operands' device
        raise NotImplementedError(f"{public_name()}: {exc}") from None
    return _array.Array._new(bounded(node))


def _full_window(a, h, starts, lengths, dtype, conj_h=False):
    """The window ``[start, start + length)`` (per dim) of the full convolution of ``a`` and
    ``h`` (conjugated if ``conj_h``), zero-filled, computed directly.  The full convolution is
    commutative: the smaller operand becomes the kernel.  Where the window extends past the
    input it is padded, where it stays inside the input is sliced (a view)."""
    conj_a = False
    if h.size > a.size:
        a, h, conj_a, conj_h = h, a, conj_h, conj_a
    pads, crop = [], []
    for n, k, s, length in zip(a.shape, h.shape, starts, lengths):
        lo, hi = k - 1 - s, s + length - n
        pads.append((max(lo, 0), max(hi, 0)))
        crop.append(slice(max(0, -lo), n - max(0, -hi)))
    if any(c.start or c.stop != n for c, n in zip(crop, a.shape)):
        a = a[tuple(crop)]
    return _correlate_node(a, _flip(h), pads, "fill", dtype.type(0).item(), dtype, conj_a, conj_h)


def _window(mode, s1, s2):
    """(starts, lengths) of ``mode``'s output within the full convolution of shapes s1, s2."""
    if mode == "full":
        return [0] * len(s1), [n + k - 1 for n, k in zip(s1, s2)]
    if mode == "same":
        return [(k - 1) // 2 for k in s2], list(s1)
    return [min(n, k) - 1 for n, k in zip(s1, s2)], [abs(n - k) + 1 for n, k in zip(s1, s2)]


def _scalar_product(in1, in2, conj_second):
    dtype = _result_dtype(in1.dtype, in2.dtype, "convolve")
    b = _conj(in2) if conj_second else in2
    return _astype(in1, dtype) * _astype(b, dtype)


def _np_conv_ok(in1, in2, mode):
    """SciPy passes 1-D direct work to NumPy (where bool works) when NumPy's modes agree."""
    return in1.ndim == in2.ndim == 1 and (mode != "same" or in1.size >= in2.size)


def _direct_empty(s1, s2, mode, fn):
    """The result shape of SciPy's direct method when an input is empty (its values are empty
    sums: zeros), or its ValueError.  1-D work NumPy takes refuses empty inputs; otherwise SciPy
    swaps the inputs ("full" when ``in2`` is larger, "valid" when needed), zero-pads ``in1`` to
    the full shape by broadcasting assignment, and correlates."""
    size1, size2 = math.prod(s1), math.prod(s2)
    if len(s1) == 1 and (mode != "same" or size1 >= size2):
        raise ValueError(f"{fn}: {'in1' if size1 == 0 else 'in2'} cannot be empty")
    if (mode == "full" and size2 > size1) or (mode == "valid" and _valid_swap(s1, s2, range(len(s1)), fn)):
        s1, s2 = s2, s1
    if mode == "valid":
        shape = [n - k + 1 for n, k in zip(s1, s2)]
    else:
        full = [n + k - 1 for n, k in zip(s1, s2)]
        if any(d < 0 for d in full):
            raise ValueError(f"{fn}: negative dimensions are not allowed: {tuple(full)} (an empty input)")
        if not all(n == min(n, d) or n == 1 for n, d in zip(s1, full)):
            raise ValueError(f"{fn}: in1 of shape {tuple(s1)} does not fit the full shape {tuple(full)} "
                             "(an empty input)")
        shape = full if mode == "full" else s1
    if any(d < 0 for d in shape):
        raise ValueError(f"{fn}: negative dimensions are not allowed: {tuple(shape)} (an empty input)")
    return tuple(shape)


def _direct(in1, in2, mode, fn, correlation):
    dtype = _result_dtype(in1.dtype, in2.dtype, fn)
    if in1.size == 0 or in2.size == 0:
        return _zeros(_direct_empty(in1.shape, in2.shape, mode, fn), dtype, in1)
    if dtype == np.bool_ and not _np_conv_ok(in1, in2, mode):
        # Note: as SciPy's direct N-D method ("Unsupported type"); 1-D goes through NumPy's loop
        raise ValueError(f"{fn}: the direct method does not support bool inputs of rank "
                         f"{in1.ndim} (nor does SciPy's); convert them to an integer dtype")
    h = _flip(in2) if correlation else in2
    starts, lengths = _window(mode, in1.shape, in2.shape)
    return _full_window(in1, h, starts, lengths, dtype, conj_h=correlation)


# ---- the functions


def convolve(in1, in2, mode="full", method="auto"):
    """Convolve two N-dimensional arrays, as ``scipy.signal.convolve``.

    Parameters
    ----------
    in1, in2 : Array (or array_like)
        The inputs, of the same rank.
    mode : {"full", "same", "valid"}
        "full": the whole convolution; "same": the size of ``in1``, centred; "valid": only
        what does not depend on the zero padding (one input must be at least as large as the
        other in every dimension).
    method : {"auto", "direct", "fft"}
        "direct": the sum (integer dtypes stay exact); "fft": :func:`fftconvolve` (rounded
        for integer results); "auto": by estimated cost (:func:`choose_conv_method`).

    Returns
    -------
    Array of NumPy's result dtype of the inputs.

    Examples
    --------
    >>> signal.convolve(xp.asarray([1.0, 2.0, 3.0]), xp.asarray([0.0, 1.0, 0.5]))   # [0, 1, 2.5, 4, 1.5]
    """
    fn = "convolve"
    in1, in2 = _as_array(in1, fn, "in1"), _as_array(in2, fn, "in2")
    _check_mode(mode, fn)
    _check_method(method, fn)
    if in1.ndim == in2.ndim == 0:
        return _scalar_product(in1, in2, False)
    _same_rank(in1, in2, fn)
    if mode == "valid" and in1.ndim and _valid_swap(in1.shape, in2.shape, range(in1.ndim), fn):
        in1, in2 = in2, in1
    if method == "auto":
        method = _choose(in1, in2, mode)
    if method == "fft":
        dtype = _result_dtype(in1.dtype, in2.dtype, fn)
        if in1.size == 0 or in2.size == 0:
            # Note: SciPy raises IndexError here (its NaN check reads element 0 of an empty result)
            raise ValueError(f"{fn}: method 'fft' needs non-empty inputs, got shapes {in1.shape} and "
                             f"{in2.shape}")
        return _fft(in1, in2, mode, None, fn, "fft", dtype)
    return _direct(in1, in2, mode, fn, correlation=False)


def correlate(in1, in2, mode="full", method="auto"):
    """Cross-correlate two N-dimensional arrays, as ``scipy.signal.correlate``:
    ``z[k] = sum_l in1[l] * conj(in2[l - k])`` (shifted by the mode).

    Parameters and result as :func:`convolve`.  The correlation is the convolution of ``in1``
    with ``in2`` reversed and conjugated (which both methods use).

    Examples
    --------
    >>> signal.correlate(xp.asarray([1.0, 2.0, 3.0]), xp.asarray([0.0, 1.0, 0.5]))  # [0.5, 2, 3.5, 3, 0]
    """
    fn = "correlate"
    in1, in2 = _as_array(in1, fn, "in1"), _as_array(in2, fn, "in2")
    _check_mode(mode, fn)
    _check_method(method, fn)
    if in1.ndim == in2.ndim == 0:
        return _scalar_product(in1, in2, True)
    _same_rank(in1, in2, fn)
    if method in ("fft", "auto"):
        return convolve(in1, _flip(_conj(in2)), mode, method)
    if mode == "valid" and in1.ndim:
        _valid_swap(in1.shape, in2.shape, range(in1.ndim), fn)
    return _direct(in1, in2, mode, fn, correlation=True)


def convolve1d(a, v, mode="full"):
    """The discrete linear convolution of two 1-D arrays, as ``numpy.convolve``.

    ``mode``: "full" (length ``N + M - 1``), "same" (``max(M, N)``), "valid"
    (``max(M, N) - min(M, N) + 1``).  0-d inputs count as one element; the result has NumPy's
    result dtype (integers exact, bool as logical or of ands).

    Examples
    --------
    >>> signal.convolve1d(xp.asarray([1, 2, 3]), xp.asarray([0, 1, 2]), mode="same")   # [1, 4, 7]
    """
    fn = "convolve1d"
    a, v = _as_array(a, fn, "a"), _as_array(v, fn, "v")
    _check_mode(mode, fn)
    if a.ndim > 1 or v.ndim > 1:
        raise ValueError(f"{fn}: a and v must be 1-D (numpy.convolve's rule), got "
                         f"shapes {a.shape} and {v.shape}")
    from .manipulation import reshape
    a = reshape(a, (1,)) if a.ndim == 0 else a
    v = reshape(v, (1,)) if v.ndim == 0 else v
    if a.size == 0:
        raise ValueError(f"{fn}: a cannot be empty")
    if v.size == 0:
        raise ValueError(f"{fn}: v cannot be empty")
    dtype = _result_dtype(a.dtype, v.dtype, fn)
    n, m = a.shape[0], v.shape[0]
    if mode == "full":
        start, length = 0, n + m - 1
    elif mode == "same":
        start, length = (min(n, m) - 1) // 2, max(n, m)
    else:
        start, length = min(n, m) - 1, abs(n - m) + 1
    return _full_window(a, v, [start], [length], dtype)


def _boundary_2d(fn, in1, in2, mode, boundary, fillvalue, correlation):
    in1, in2 = _as_array(in1, fn, "in1"), _as_array(in2, fn, "in2")
    if not in1.ndim == in2.ndim == 2:
        raise ValueError(f"{fn} inputs must both be 2-D arrays, got shapes {in1.shape} and {in2.shape}")
    _check_mode(mode, fn)
    boundary = _check_boundary(boundary, fn)
    dtype = _result_dtype(in1.dtype, in2.dtype, fn)
    if dtype == np.bool_:
        raise ValueError(f"{fn} is not available for bool inputs (as SciPy's); convert them to "
                         "an integer dtype")
    # (SciPy reads fillvalue only for "fill"; the other boundaries ignore it, whatever it is)
    fill = _fill_value(fillvalue, dtype, fn) if boundary == "fill" else dtype.type(0).item()
    swapped = mode == "valid" and _valid_swap(in1.shape, in2.shape, range(2), fn)
    if swapped:
        in1, in2 = in2, in1
    if boundary != "fill" and in1.size == 0:
        # Note: SciPy's C loop reads out of bounds here; an empty array has nothing to repeat
        raise ValueError(f"{fn}: boundary {boundary!r} needs a non-empty in1, got shape {in1.shape}")
    k = in2.shape
    if mode == "full":
        pads = [(kk - 1, kk - 1) for kk in k]
    elif mode == "same":
        # the window's start in the full result: SciPy centres convolve2d at (k-1)//2, correlate2d at k//2
        starts = [(kk - 1) // 2 if not correlation else kk // 2 for kk in k]
        pads = [(kk - 1 - s, s) for kk, s in zip(k, starts)]
    else:
        pads = [(0, 0), (0, 0)]
    if in2.size == 0:
        shape = tuple(n + lo + hi - kk + 1 for n, kk, (lo, hi) in zip(in1.shape, k, pads))
        if any(s < 0 for s in shape):
            raise ValueError(f"{fn}: negative dimensions are not allowed: output shape {shape}")
        return _zeros(shape, dtype, in1)
    w = in2 if correlation else _flip(in2)
    out = _correlate_node(in1, w, pads, boundary, fill, dtype, conj_w=correlation)
    if swapped and correlation:
        out = out[::-1, ::-1]       # as SciPy's correlate2d (which then does not conjugate)
    return out


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """Convolve two 2-D arrays, as ``scipy.signal.convolve2d``.

    Parameters
    ----------
    in1, in2 : 2-D Array (or array_like)
    mode : {"full", "same", "valid"}
        As :func:`convolve` ("valid" swaps the inputs when ``in2`` is the larger, as SciPy).
    boundary : {"fill", "wrap", "symm"}
        How ``in1`` is extended: with ``fillvalue``, periodically, or mirrored (the edge
        sample repeated).  SciPy's other spellings ("pad", "circular", "symmetric") work too.
    fillvalue : scalar
        The value of the extension for "fill" (converted to the result dtype as SciPy does).

    Examples
    --------
    >>> A = xp.reshape(xp.arange(1.0, 10.0), (3, 3)); K = xp.asarray([[1.0, 0.0], [0.0, -1.0]])
    >>> signal.convolve2d(A, K, mode="valid")      # [[4, 4], [4, 4]]
    """
    return _boundary_2d("convolve2d", in1, in2, mode, boundary, fillvalue, correlation=False)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """Cross-correlate two 2-D arrays, as ``scipy.signal.correlate2d`` (``in2`` conjugated).

    Parameters as :func:`convolve2d`.  Note that SciPy centres "same" differently from
    :func:`correlate` for even kernel sizes; this function follows ``correlate2d``.

    Examples
    --------
    >>> signal.correlate2d(A, K, mode="valid")     # [[-4, -4], [-4, -4]]
    """
    return _boundary_2d("correlate2d", in1, in2, mode, boundary, fillvalue, correlation=True)


# ---- the FFT methods


def _fft_axes(in1, in2, mode, axes, fn):
    """SciPy's ``_init_freq_conv_axes``: (in1, in2, axes) with axes of length 1 dropped, the
    other axes checked for broadcasting, and the inputs swapped for "valid" when needed."""
    s1, s2 = in1.shape, in2.shape
    if axes is None:
        axes = list(range(in1.ndim))
    else:
        if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
            axes = [axes]
        try:
            axes = [operator.index(a) for a in axes]
        except TypeError:
            raise ValueError(f"{fn}: axes must be an integer or a sequence of integers, got {axes!r}") from None
        if not axes:
            raise ValueError(f"{fn}: when provided, axes cannot be empty")
        axes = [a + in1.ndim if a < 0 else a for a in axes]
        if any(a >= in1.ndim or a < 0 for a in axes):
            raise ValueError(f"{fn}: axes exceeds dimensionality of input ({in1.ndim})")
        if len(set(axes)) != len(axes):
            raise ValueError(f"{fn}: all axes must be unique, got {axes}")
    axes = [a for a in axes if s1[a] != 1 and s2[a] != 1]
    if not all(s1[a] == s2[a] or s1[a] == 1 or s2[a] == 1 for a in range(in1.ndim) if a not in axes):
        raise ValueError(f"{fn}: incompatible shapes for in1 and in2: {s1} and {s2}")
    if mode == "valid" and in1.ndim and _valid_swap(s1, s2, axes, fn):
        in1, in2 = in2, in1
    return in1, in2, axes


def _fft_shape(s1, s2, mode, axes):
    """The result shape of SciPy's ``fftconvolve``/``oaconvolve`` (after ``_fft_axes``)."""
    full = [max(s1[i], s2[i]) if i not in axes else s1[i] + s2[i] - 1 for i in range(len(s1))]
    if mode == "full":
        return tuple(full)
    if mode == "same":
        return tuple(s1)
    return tuple(full[a] if a not in axes else s1[a] - s2[a] + 1 for a in range(len(s1)))


def _fft(in1, in2, mode, axes, fn, method, convolve_dtype=None):
    """Record the FFT (or overlap-add) convolution.  ``convolve_dtype``: ``convolve``'s result
    dtype (integers rounded, as SciPy's ``method="fft"``); otherwise SciPy's float result."""
    if in1.ndim == in2.ndim == 0:
        return _scalar_product(in1, in2, False)
    _same_rank(in1, in2, fn)
    if convolve_dtype is None and (in1.size == 0 or in2.size == 0):
        return _zeros((0,), np.float64, in1)       # as SciPy (``xp.asarray([])``)
    in1, in2, axes = _fft_axes(in1, in2, mode, axes, fn)
    # (with no axis longer than 1 left SciPy multiplies the inputs: NumPy's product dtype)
    dtype = _fft_dtype(in1.dtype, in2.dtype) if axes else np.result_type(in1.dtype, in2.dtype)
    shape = _fft_shape(in1.shape, in2.shape, mode, axes)
    runner = _kc.fft_convolve if method == "fft" else _kc.oa_convolve
    rounding = convolve_dtype is not None and convolve_dtype.kind in "iu"
    out_dtype = convolve_dtype if convolve_dtype is not None else dtype
    return extern(runner, (mode, tuple(axes), rounding, convolve_dtype is not None), out_dtype, shape,
                  (in1, in2))


def fftconvolve(in1, in2, mode="full", axes=None):
    """Convolve two N-dimensional arrays with FFTs, as ``scipy.signal.fftconvolve``.

    pocketfft (``scipy.fft.rfftn``/``irfftn``, complex transforms for complex input) at
    ``next_fast_len`` sizes, SciPy's algorithm; integer and bool inputs give float64.
    ``axes``: the axes to convolve over (others broadcast).  Empty inputs give an empty
    float64 array, as SciPy.

    Examples
    --------
    >>> signal.fftconvolve(xp.asarray([1.0, 2.0, 3.0]), xp.asarray([0.0, 1.0, 0.5]))   # ~[0, 1, 2.5, 4, 1.5]
    """
    fn = "fftconvolve"
    in1, in2 = _as_array(in1, fn, "in1"), _as_array(in2, fn, "in2")
    _check_mode(mode, fn)
    return _fft(in1, in2, mode, axes, fn, "fft")


def oaconvolve(in1, in2, mode="full", axes=None):
    """Convolve two N-dimensional arrays by overlap-add, as ``scipy.signal.oaconvolve``:
    the larger input is cut into blocks of SciPy's optimal FFT size, each block convolved by
    FFT, the overlapping tails added.  Falls back to :func:`fftconvolve` where SciPy does
    (equal shapes, one block).  Parameters and result as :func:`fftconvolve`."""
    fn = "oaconvolve"
    in1, in2 = _as_array(in1, fn, "in1"), _as_array(in2, fn, "in2")
    _check_mode(mode, fn)
    return _fft(in1, in2, mode, axes, fn, "oa")


# ---- choosing the method

# Seconds per unit of work on one core (CPU time measured with NUMBA_NUM_THREADS=1 on the
# development machine, an AMD EPYC; both methods scale about alike with threads, and only their
# ratio matters): a multiply-add of the direct kernel (x the dtype factor below), and one
# ``n log n`` step of the three transforms of the FFT method (rfftn; complex transforms cost more).
# They put the crossover on 512x512 float64 ("same") between 21x21 and 27x27 kernels, as measured
# (asv_bench/measure_signal.py prints the table).
DIRECT_SECONDS_PER_MAC = 1.2e-10
FFT_SECONDS_PER_NLOGN = 1.4e-9
_DIRECT_FACTOR = {"f4": 0.6, "f8": 1.0, "c8": 2.5, "c16": 4.0}
_FFT_FACTOR = {"f4": 0.7, "f8": 1.0, "c8": 1.4, "c16": 2.0}
OVERHEAD_SECONDS = 3e-5      # an extern FFT node's fixed cost (three transforms, plan lookups)


def _estimates(s1, s2, mode, dtype):
    """(direct seconds, fft seconds) estimated for convolving shapes s1 and s2 in ``mode``."""
    starts, lengths = _window(mode, s1, s2)
    direct_macs = math.prod(lengths) * min(math.prod(s1), math.prod(s2))
    full = [n + k - 1 for n, k in zip(s1, s2)]
    size = math.prod(full)
    key = np.dtype(dtype).str[1:]
    direct = DIRECT_SECONDS_PER_MAC * _DIRECT_FACTOR.get(key, 1.0) * direct_macs
    fft = FFT_SECONDS_PER_NLOGN * _FFT_FACTOR.get(key, 1.0) * 3 * size * math.log(max(size, 2)) + OVERHEAD_SECONDS
    return direct, fft


def _choose(in1, in2, mode):
    dtype = _result_dtype(in1.dtype, in2.dtype, "choose_conv_method")
    if in1.device != "cpu" or in2.device != "cpu":
        return "direct"         # (the FFT methods have no GPU kernel; the direct one does)
    if dtype.kind in "biu":
        return "direct"         # exact integer arithmetic (SciPy: direct when float64 could round)
    if in1.size == 0 or in2.size == 0:
        return "direct"
    direct, fft = _estimates(in1.shape, in2.shape, mode, dtype)
    return "fft" if fft < direct else "direct"


def choose_conv_method(in1, in2, mode="full", measure=False):
    """The method ``convolve``/``correlate`` with ``method="auto"`` use for these inputs:
    ``"direct"`` or ``"fft"``, as ``scipy.signal.choose_conv_method``.

    The estimate compares the multiply-adds of the direct sum with the ``n log n`` work of the
    three transforms, each weighted by a time per unit measured for arrayforge's kernels
    (``DIRECT_SECONDS_PER_MAC``, ``FFT_SECONDS_PER_NLOGN``); nothing is run.  With
    ``measure=True`` both methods are run and timed, and ``(method, times)`` is returned as
    SciPy does.

    Note: SciPy's constants describe SciPy's own (serial, unvectorised) direct loop; arrayforge's
    direct kernel is several times faster, so it is chosen for larger kernels than in SciPy.
    Integer and bool inputs always take the exact direct method (SciPy also does when float64
    could round the result, which it decides by reading the data).
    """
    fn = "choose_conv_method"
    in1, in2 = _as_array(in1, fn, "in1"), _as_array(in2, fn, "in2")
    _check_mode(mode, fn)
    if measure:
        times = {}
        for method in ("fft", "direct"):
            def run():
                convolve(in1, in2, mode=mode, method=method).compute()
            run()
            best = math.inf
            for _ in range(3):
                t = time.perf_counter()
                run()
                best = min(best, time.perf_counter() - t)
            times[method] = best
        return ("fft" if times["fft"] < times["direct"] else "direct"), times
    if in1.ndim != in2.ndim or in1.ndim == 0:
        return "direct"
    return _choose(in1, in2, mode)
