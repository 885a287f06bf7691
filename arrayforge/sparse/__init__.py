"""arrayforge.sparse: the seven scipy.sparse formats as lazy arrayforge arrays.

    from arrayforge import sparse
    A = sparse.csr_array((data, (row, col)), shape=(m, n))   # duplicates summed
    y = A @ x * 2 + b        # one SpMV kernel plus a fused epilogue (xp.explain shows it)
    A.toarray()              # dense, only when asked: never densified silently

A sparse array is a realized, validated sparsity structure plus a lazy value vector, so
value-wise work (``abs(A) * 2``) fuses like any dense chain.  CSR is the format for row
slicing and products, CSC for column slicing, COO for building from triplets, LIL/DOK for
incremental edits, DIA for banded matrices, BSR for block structure.
"""
from ._base import SparseArray, issparse
from ._compressed import csr_array, csc_array
from ._coo import coo_array
from ._bsr import bsr_array
from ._dia import dia_array
from ._builders import dok_array, lil_array
from ._convert import from_scipy
from ._construct import (block_diag, diags, diags_array, eye, hstack, identity, kron, random,
                         vstack)
from . import _ops, _reduce  # noqa: F401  (register the namespace's sparse handlers)
from ._numpy import register_dask as _register_dask  # (called by arrayforge._dask when Dask is imported)

__all__ = ["SparseArray", "issparse", "csr_array", "csc_array", "coo_array", "bsr_array",
           "dia_array", "dok_array", "lil_array", "from_scipy", "random", "eye", "identity",
           "diags", "diags_array", "kron", "hstack", "vstack", "block_diag"]
