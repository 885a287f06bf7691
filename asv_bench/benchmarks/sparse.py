"""Sparse kernels and products beside SciPy's twins: SpMV (uniform and power-law rows), SpMM
with 16 dense columns, the transposed product, SpGEMM ``A @ A.T``, COO -> CSR with
duplicates, CSR -> CSC, the BSR and DIA conversions, and a 1%-dense SpMV against the dense product of the same matrix.

Products go through the lazy front end (``arrayforge.sparse``) and ``.compute()``;
conversions and SpGEMM call ``lowering.kernels.sparse`` (what the classes call).  Sizes are
a tenth of the issue's figures (``asv_bench/measure_sparse.py`` prints those) so a run fits
asv's timeouts on a shared machine.
"""
import numpy as np
import scipy.sparse as sp

from .inputs import warm, xp


def _csr(n, nnz, kind="uniform", seed=0):
    rng = np.random.default_rng(seed)
    u = rng.random(nnz)
    rows = (u * n if kind == "uniform" else u ** 3 * n).astype(np.int64)
    a = sp.csr_array((rng.standard_normal(nnz), (rows, rng.integers(0, n, nnz))), shape=(n, n))
    a.sum_duplicates()
    return a


def _ours(a):
    from arrayforge import sparse
    return sparse.csr_array(a)


class SpMV:
    """``A @ x``, 1e5 x 1e5 with 1e6 nonzeros: equal-nnz chunks (power-law rows split exactly)."""

    params = [["uniform", "power-law"]]
    param_names = ["rows"]
    timeout = 300

    def setup(self, rows):
        self.A_sp = _csr(10**5, 10**6, rows)
        self.x_np = np.random.default_rng(1).standard_normal(10**5)
        self.A, self.x = _ours(self.A_sp), xp.asarray(self.x_np)
        warm(self, rows, runs=2)

    def time_arrayforge(self, rows):
        (self.A @ self.x).compute()

    def time_numpy(self, rows):          # SciPy's twin (the name pairs it in asv's reports)
        self.A_sp @ self.x_np


class SpMVTransposed:
    """``A.T @ x`` on the CSR structure (private partial results, no transpose) vs SciPy's CSC matvec."""
    timeout = 300

    def setup(self):
        self.A_sp = _csr(10**5, 10**6)
        self.x_np = np.random.default_rng(1).standard_normal(10**5)
        self.A, self.x = _ours(self.A_sp), xp.asarray(self.x_np)
        warm(self, runs=2)

    def time_arrayforge(self):
        (self.A.T @ self.x).compute()

    def time_numpy(self):
        self.A_sp.T @ self.x_np


class SpMM:
    """``A @ X`` with 16 dense columns: rows in parallel, the dense dimension innermost."""
    timeout = 300

    def setup(self):
        self.A_sp = _csr(10**5, 10**6)
        self.X_np = np.random.default_rng(1).standard_normal((10**5, 16))
        self.A, self.X = _ours(self.A_sp), xp.asarray(self.X_np)
        warm(self, runs=2)

    def time_arrayforge(self):
        (self.A @ self.X).compute()

    def time_numpy(self):
        self.A_sp @ self.X_np


class SpGEMM:
    """``A @ A.T`` (two-pass, row-parallel; the transpose included on both sides)."""
    timeout = 300

    def setup(self):
        from lowering.kernels import sparse as K
        self.K = K
        self.A_sp = _csr(3 * 10**4, 3 * 10**5, seed=2)
        warm(self, runs=1)

    def time_arrayforge(self):
        a, K = self.A_sp, self.K
        tp, ti, td = K.compressed_transpose(a.indptr, a.indices, a.data, a.shape[1])
        K.spgemm(a.indptr, a.indices, a.data, tp, ti, td, a.shape[0])

    def time_numpy(self):
        self.A_sp @ self.A_sp.T


class Conversions:
    """COO -> CSR (random order, ~10% duplicates) and CSR -> CSC: parallel counting sorts."""

    params = [["coo->csr", "csr->csc"]]
    param_names = ["conversion"]
    timeout = 300

    def setup(self, conversion):
        from lowering.kernels import sparse as K
        self.K = K
        n, nnz = 10**5, 10**6
        rng = np.random.default_rng(3)
        r, c = rng.integers(0, n, nnz), rng.integers(0, n, nnz)
        dup = rng.random(nnz) < 0.1
        src = rng.integers(0, nnz, int(dup.sum()))
        r[dup], c[dup] = r[src], c[src]
        self.coo = (rng.standard_normal(nnz), r, c, n)
        self.A_sp = _csr(n, nnz, seed=4)
        warm(self, conversion, runs=1)

    def time_arrayforge(self, conversion):
        if conversion == "coo->csr":
            v, r, c, n = self.coo
            self.K.coo_to_compressed(r, c, v, n, n)
        else:
            a = self.A_sp
            self.K.compressed_transpose(a.indptr, a.indices, a.data, a.shape[1])

    def time_numpy(self, conversion):
        if conversion == "coo->csr":
            v, r, c, n = self.coo
            sp.coo_array((v, (r, c)), shape=(n, n)).tocsr()
        else:
            self.A_sp.tocsc()


class BlockAndDiagonal:
    """CSR -> BSR (3 x 3 blocks of a block-structured matrix), BSR -> CSR, CSR -> DIA and
    DIA -> CSR of a banded matrix (9 diagonals): the Numba counting kernels vs SciPy's."""

    params = [["csr->bsr", "bsr->csr", "csr->dia", "dia->csr"]]
    param_names = ["conversion"]
    timeout = 300

    def setup(self, conversion):
        from lowering.kernels import sparse as K
        self.K = K
        self.block_sp, self.bsr_sp, self.band_sp, self.dia_sp = _block_and_band(3 * 10**4)
        warm(self, conversion, runs=1)

    def time_arrayforge(self, conversion):
        K = self.K
        if conversion == "csr->bsr":
            a = self.block_sp
            K.to_bsr(a.indptr, a.indices, a.data, a.shape, (3, 3))
        elif conversion == "bsr->csr":
            b = self.bsr_sp
            K.bsr_to_csr(b.indptr, b.indices, b.data, b.shape)
        elif conversion == "csr->dia":
            a = self.band_sp
            K.to_dia(a.indptr, a.indices, a.data, a.shape)
        else:
            d = self.dia_sp
            K.dia_to_csr(d.offsets, d.data, d.shape)

    def time_numpy(self, conversion):
        if conversion == "csr->bsr":
            self.block_sp.tobsr(blocksize=(3, 3))
        elif conversion == "bsr->csr":
            self.bsr_sp.tocsr()
        elif conversion == "csr->dia":
            self.band_sp.todia()
        else:
            self.dia_sp.tocsr()


def _block_and_band(n, seed=6):
    """A block-structured CSR (3 x 3 dense blocks, ~8 per block row), its BSR, a 9-diagonal
    banded CSR and its DIA, all n x n (n divisible by 3)."""
    rng = np.random.default_rng(seed)
    nb = n // 3
    brow = np.repeat(np.arange(nb), 8)
    bcol = rng.integers(0, nb, len(brow))
    blocks = sp.coo_array((np.ones(len(brow)), (brow, bcol)), shape=(nb, nb))
    block = sp.csr_array(sp.kron(blocks, rng.standard_normal((3, 3)) + 2))
    block.sum_duplicates()
    band = sp.diags_array([rng.standard_normal(n - abs(k)) for k in range(-4, 5)], offsets=range(-4, 5),
                          format="csr")
    return block, block.tobsr(blocksize=(3, 3)), band, band.todia()


class SparseVsDense:
    """A 4000 x 4000 matrix at 1% density: our SpMV against NumPy's dense product of it."""

    def setup(self):
        a = _csr(4000, 160000, seed=5)
        self.D = a.toarray()
        self.x_np = np.random.default_rng(1).standard_normal(4000)
        self.A, self.x = _ours(a), xp.asarray(self.x_np)
        warm(self, runs=2)

    def time_arrayforge(self):
        (self.A @ self.x).compute()

    def time_numpy(self):
        self.D @ self.x_np
