"""Sparse x dense products: the recording side of the SPARSE_MATMUL barrier.

A compressed sparse array (CSR/CSC) holds its structure as realized read-only NumPy index
arrays and its values as a lazy 1-D Array.  A product with a dense operand is ONE
SPARSE_MATMUL node whose inputs are the index buffers (BUFFER leaves), the value node and
the dense node; its ``arg`` is "n" (``B @ dense``) or "t" (``B.T @ dense``), where ``B`` is
the CSR matrix that the buffers describe.  The CSC buffers of ``A`` are the CSR of ``A.T``,
so ``CSC @ x`` is the "t" product and no structure is ever transposed or copied:

==================  ==========================  ======================================
product             CSR buffers (B = A)         CSC buffers (B = A.T)
==================  ==========================  ======================================
``A @ x``, ``A @ X``  "n" on x / X                "t" on x / X
``x @ A``, ``X @ A``  "t" on x / X.T, then .T      "n" on x / X.T, then .T
==================  ==========================  ======================================

(``X @ A = (A.T @ X.T).T``: the transposes of the dense operand and of the result are
views.)  Values fuse: the value node may be lazy work (``(2 * A) @ x`` computes ``2 * data``
inside the plan), and element-wise consumers of the product fuse into the next kernel
(``A @ x * 2 + y`` is one SpMV kernel and one epilogue kernel).  The back end is
``lowering.kernels.sparse`` (``SparseMatmul``).  Validation happens here, at the call,
with SciPy's messages ("dimension mismatch"): formats, shapes, array lengths and dtypes.
The structure itself (``indptr`` non-decreasing from 0 to nnz, every index in range) is
assumed valid: the sparse classes validate it when they are constructed, and the kernels
rely on it (they never bounds-check).
"""
from __future__ import annotations

import numpy as np

from lowering import Op, make_node

from .._array import Array
from .._graph import bounded, view
from ._device import index_node, product_arg      # (index buffers on a device: see _device)

__all__ = ["compressed_dense_matmul", "dense_compressed_matmul", "result_dtype"]


def result_dtype(data_dtype, dense_dtype):
    """The dtype of a sparse x dense product (SciPy's upcast: NumPy's ``result_type``)."""
    dtype = data_dtype if data_dtype == dense_dtype else np.result_type(data_dtype, dense_dtype)
    if dtype.kind not in "biufc":
        raise TypeError(f"matmul: unsupported dtypes {data_dtype} and {dense_dtype}")
    return dtype


def _check(fmt, shape, indptr, indices, data, dense, name):
    if fmt not in ("csr", "csc"):
        raise ValueError(f"{name}: fmt must be 'csr' or 'csc', not {fmt!r}")
    if not isinstance(dense, Array):
        raise TypeError(f"{name}: the dense operand must be an arrayforge Array, got {type(dense).__name__}")
    if not isinstance(data, Array) or data.ndim != 1:
        raise TypeError(f"{name}: data must be a 1-D arrayforge Array")
    if len(shape) != 2:
        raise ValueError(f"{name}: the sparse operand must be 2-D, got shape {tuple(shape)}")
    n_major = shape[0] if fmt == "csr" else shape[1]
    if len(indptr) != n_major + 1 or len(indices) != data.shape[0]:
        raise ValueError(f"{name}: the structure does not match shape {tuple(shape)} "
                         f"(indptr {len(indptr)}, indices {len(indices)}, data {data.shape[0]})")
    if dense.ndim not in (1, 2):
        raise ValueError(f"{name}: the dense operand must be 1-D or 2-D, got shape {dense.shape}")
    return result_dtype(data.dtype, dense.dtype)


def _node(arg, indptr, indices, data, dense_node, dtype, shape):
    inputs = (index_node(indptr), index_node(indices), data._node, dense_node)
    return bounded(make_node(Op.SPARSE_MATMUL, dtype, shape, inputs, product_arg(arg, indptr)))


def compressed_dense_matmul(fmt, shape, indptr, indices, data, dense):
    """``A @ dense`` for the sparse ``A`` of format ``fmt`` ("csr"/"csc"), shape ``shape``
    and structure ``(indptr, indices, data)`` (realized index arrays, lazy 1-D ``data``),
    and ``dense`` a 1-D (SpMV) or 2-D (SpMM) arrayforge Array: a lazy Array of shape
    ``(shape[0],) + dense.shape[1:]`` and dtype ``result_type(data, dense)``.  Raises
    ValueError("dimension mismatch") when ``dense.shape[0] != shape[1]``."""
    dtype = _check(fmt, shape, indptr, indices, data, dense, "matmul")
    m, n = shape
    if dense.shape[0] != n:
        raise ValueError(f"dimension mismatch: {tuple(shape)} @ {dense.shape}")
    out_shape = (m,) + dense.shape[1:]
    return Array._new(_node("n" if fmt == "csr" else "t", indptr, indices, data, dense._node, dtype, out_shape))


def dense_compressed_matmul(dense, fmt, shape, indptr, indices, data):
    """``dense @ A`` (``dense`` 1-D or 2-D, ``A`` as in :func:`compressed_dense_matmul`):
    shape ``dense.shape[:-1] + (shape[1],)``, computed as ``(A.T @ dense.T).T`` with the
    transposes as views.  Raises ValueError("dimension mismatch") when
    ``dense.shape[-1] != shape[0]``."""
    dtype = _check(fmt, shape, indptr, indices, data, dense, "matmul")
    m, n = shape
    if dense.shape[-1] != m:
        raise ValueError(f"dimension mismatch: {dense.shape} @ {tuple(shape)}")
    arg = "t" if fmt == "csr" else "n"
    if dense.ndim == 1:
        return Array._new(_node(arg, indptr, indices, data, dense._node, dtype, (n,)))
    p = dense.shape[0]
    dt = view(Op.PERMUTE, dense._node, (m, p), (1, 0))
    prod = _node(arg, indptr, indices, data, dt, dtype, (n, p))
    return Array._new(view(Op.PERMUTE, prod, (p, n), (1, 0)))
