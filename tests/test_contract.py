"""Contractions (tensordot, matmul, vecdot, outer, einsum): values against NumPy, plans, errors.

Kept cheap to compile: floating dtypes run BLAS (no compile), every integer dtype shares the
one int64 Numba kernel, and only a few dtypes reach the element-wise kernels (axes=0).
"""
import numpy as np
import pytest

import arrayforge as xp
from conftest import assert_same
from lowering.kernels import contract as kcontract

FLOATS = [np.float64, np.float32, np.complex128, np.complex64]
INTS = [np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint64]
RNG = np.random.default_rng(7)


def data(shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return RNG.random(shape) < 0.3
    if dtype.kind in "iu":
        info = np.iinfo(dtype)      # the whole range: products and sums overflow and wrap
        return RNG.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    x = RNG.uniform(-1, 1, shape)
    if dtype.kind == "c":
        x = x + 1j * RNG.uniform(-1, 1, shape)
    return x.astype(dtype)


def check(got, expected):
    assert_same(got, expected, exact=np.dtype(expected.dtype).kind not in "fc")


# ---- the textbook example


def test_textbook_tensor_product_and_hadamard():
    s = xp.asarray([[[1, 2], [3, 4]]])
    t = xp.asarray([[[5, 6], [7, 8]]])
    outer = xp.tensordot(s, t, 0)
    assert outer.shape == (1, 2, 2, 1, 2, 2)
    np.testing.assert_array_equal(np.asarray(outer), np.tensordot(np.asarray(s), np.asarray(t), 0))
    assert (s * t).tolist() == [[[5, 12], [21, 32]]]


# ---- tensordot


TENSORDOT_CASES = [
    ((4, 5), (5, 3), 1),
    ((2, 3, 4), (3, 4, 5), 2),
    ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])),
    ((2, 3, 4), (5, 4, 3), ([-1, -2], [1, 2])),
    ((3, 4), (4, 3), ([0, 1], [1, 0])),          # a full contraction to 0-d
    ((6,), (6,), 1),
    ((3, 0), (0, 2), 1),                          # empty contracted axis: zeros
    ((0, 3), (3, 2), 1),
]


@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("shapes", TENSORDOT_CASES, ids=str)
def test_tensordot_matches_numpy(executor, dtype, shapes):
    s1, s2, axes = shapes
    a, b = data(s1, dtype), data(s2, dtype)
    check(xp.tensordot(xp.asarray(a), xp.asarray(b), axes=axes), np.tensordot(a, b, axes=axes))


@pytest.mark.parametrize("dtype", [np.float64, np.int8, np.complex64])
def test_tensordot_axes_zero_is_the_outer_product(executor, dtype):
    a, b = data((3, 2), dtype), data((2, 1, 2), dtype)
    check(xp.tensordot(xp.asarray(a), xp.asarray(b), axes=0), np.tensordot(a, b, axes=0))
    v, w = data(5, dtype), data(4, dtype)
    check(xp.linalg.outer(xp.asarray(v), xp.asarray(w)), np.outer(v, w))


def test_int8_products_wrap_like_numpy(executor):
    a = np.full((3, 300), 127, np.int8)
    b = np.full((300, 2), -128, np.int8)
    got = xp.asarray(a) @ xp.asarray(b)
    assert_same(got, a @ b)
    assert_same(xp.tensordot(xp.asarray(a), xp.asarray(b), axes=1), np.tensordot(a, b, axes=1))


def test_large_integer_matmul_uses_the_tiled_kernel(executor):
    a, b = data((70, 300), np.int64), data((300, 290), np.int64)     # spans several tiles
    x = xp.asarray(a) @ xp.asarray(b)
    assert xp.explain(x).kernels[0].variant == "int-gemm"
    assert_same(x, a @ b)
    u = data((2, 65, 40), np.uint16)
    w = data((2, 40, 257), np.uint16)
    assert_same(xp.asarray(u) @ xp.asarray(w), u @ w)


def test_tensordot_of_views_and_transposes(executor):
    a, b = data((6, 8), np.float64), data((8, 10), np.float64)
    A, B = xp.asarray(a), xp.asarray(b)
    check(xp.tensordot(A.T, B.T, axes=([0], [1])), np.tensordot(a.T, b.T, axes=([0], [1])))
    check(xp.tensordot(A[::2, 1:], B[1:, ::3], axes=1), np.tensordot(a[::2, 1:], b[1:, ::3], axes=1))
    ai, bi = data((6, 8), np.int32), data((8, 10), np.int32)
    check(xp.tensordot(xp.asarray(ai).T[::-1], xp.asarray(bi)[:, ::2], axes=([0], [0])),
          np.tensordot(ai.T[::-1], bi[:, ::2], axes=([0], [0])))


def test_tensordot_promotes_with_the_standard_rules():
    a, b = data((3, 4), np.int8), data((4, 2), np.int16)
    got = xp.tensordot(xp.asarray(a), xp.asarray(b), axes=1)
    assert got.dtype == xp.int16
    assert_same(got, np.tensordot(a.astype(np.int16), b, axes=1))
    f = xp.tensordot(xp.ones((2, 3), dtype=xp.float32), xp.ones(3, dtype=xp.complex128), axes=1)
    assert f.dtype == xp.complex128


# ---- matmul


MATMUL_CASES = [
    ((4, 5), (5, 3)),
    ((5,), (5, 3)),
    ((4, 5), (5,)),
    ((5,), (5,)),
    ((3, 1, 4, 5), (2, 5, 6)),       # batch broadcasting
    ((2, 4, 5), (5, 6)),             # one GEMM over the merged batch
    ((4, 5), (2, 5, 6)),
    ((1, 4, 5), (3, 5, 6)),
    ((2, 4, 5), (1, 5, 6)),
    ((5,), (2, 5, 6)),
    ((2, 3, 5), (5,)),
    ((0, 5), (5, 3)),
    ((4, 0), (0, 3)),
    ((2, 0, 4, 5), (5, 6)),
    ((3, 4, 5), (0, 1, 5, 2)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.complex64, np.int16, np.int64])
@pytest.mark.parametrize("shapes", MATMUL_CASES, ids=str)
def test_matmul_matches_numpy(executor, dtype, shapes):
    a, b = data(shapes[0], dtype), data(shapes[1], dtype)
    check(xp.asarray(a) @ xp.asarray(b), a @ b)
    check(xp.linalg.matmul(xp.asarray(a), xp.asarray(b)), np.matmul(a, b))


def test_matmul_of_transposed_and_sliced_views(executor):
    a, b = data((2, 7, 6), np.float32), data((2, 7, 5), np.float32)
    A, B = xp.asarray(a), xp.asarray(b)
    check(A.mT @ B, a.transpose(0, 2, 1) @ b)
    check(A[:, ::2].mT @ B[:, ::2], a[:, ::2].transpose(0, 2, 1) @ b[:, ::2])
    check(A[1].T @ A[0], a[1].T @ a[0])


def test_rmatmul_and_matmul_of_computed_operands(executor):
    a, b = data((4, 5), np.float64), data((5, 3), np.float64)
    A, B = xp.asarray(a), xp.asarray(b)
    check(B.__rmatmul__(A), a @ b)
    check((A * 2.0 + 1.0) @ xp.exp(B), (a * 2.0 + 1.0) @ np.exp(b))


# ---- vecdot


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.complex64, np.int32])
def test_vecdot_conjugates_the_first_operand(executor, dtype):
    a, b, c = data((3, 4), dtype), data((3, 4), dtype), data(4, dtype)
    A, B, C = xp.asarray(a), xp.asarray(b), xp.asarray(c)
    check(xp.vecdot(A, B), np.vecdot(a, b))
    check(xp.vecdot(A, C), np.vecdot(a, c))
    check(xp.vecdot(C, A), np.vecdot(c, a))
    check(xp.vecdot(A, B, axis=0), np.vecdot(a, b, axis=0))
    check(xp.vecdot(A, B, axis=-2), np.vecdot(a, b, axis=-2))
    check(xp.linalg.vecdot(C, C), np.vecdot(c, c))
    d = data((2, 1, 4), dtype)
    check(xp.vecdot(xp.asarray(d), A), np.vecdot(d, a))


# ---- einsum


EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),                   # implicit output
    ("ij,kj->ik", [(3, 4), (5, 4)]),
    ("ij,jk->ki", [(2, 3), (3, 4)]),               # output in the transposed order
    ("bij,bjk->ibk", [(2, 3, 4), (2, 4, 5)]),      # permuted output
    ("ijk,jil->kl", [(2, 3, 4), (3, 2, 5)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("i,i", [(5,), (5,)]),
    ("i,i", [(1,), (5,)]),                         # size-1 broadcasting
    ("i,j->ij", [(3,), (4,)]),
    ("bi,bj->bij", [(2, 3), (2, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iji->ij", [(3, 2, 3)]),
    ("iij,jk->ik", [(3, 3, 4), (4, 2)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ij,jk->i", [(2, 3), (3, 4)]),                # k summed out of one operand
    ("...ij,...jk", [(5, 2, 3), (3, 4)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),
    ("i...,i...->...", [(3, 2), (3, 1)]),
    ("ij,jk,kl->il", [(2, 3), (3, 9), (9, 2)]),
    ("ab,bc,cd,de->ae", [(2, 8), (8, 3), (3, 7), (7, 2)]),
    ("ij,j,jk->ik", [(2, 3), (3,), (3, 4)]),
]


@pytest.mark.parametrize("spec", EINSUM_CASES, ids=lambda c: c[0])
def test_einsum_matches_numpy(executor, spec):
    subscripts, shapes = spec
    for dtype in (np.float64, np.int8):
        ops = [data(s, dtype) for s in shapes]
        check(xp.einsum(subscripts, *[xp.asarray(o) for o in ops]), np.einsum(subscripts, *ops))


def test_einsum_bool_is_or_of_ands(executor):
    a, b = data((5, 70), np.bool_), data((70, 3), np.bool_)
    assert_same(xp.einsum("ij,jk->ik", xp.asarray(a), xp.asarray(b)), np.einsum("ij,jk->ik", a, b))
    assert_same(xp.einsum("ij->i", xp.asarray(a)), np.einsum("ij->i", a))


def test_einsum_complex(executor):
    a, b = data((3, 4), np.complex128), data((4, 2), np.complex128)
    check(xp.einsum("ij,jk", xp.asarray(a), xp.asarray(b)), np.einsum("ij,jk", a, b))


def test_einsum_with_many_operands_records_one_contract_per_pair():
    ops = [xp.ones(s) for s in [(2, 30), (30, 40), (40, 3), (3, 2)]]
    plan = xp.explain(xp.einsum("ab,bc,cd,de->ae", *ops))
    assert [k.kind for k in plan.kernels].count("contract") == 3


# ---- plans: kernels and copies


def matrices(n=64, dtype=np.float64):
    return [xp.asarray(data((n, n), dtype)) for _ in range(2)]


def test_matmul_is_one_blas_kernel():
    a, b = matrices()
    plan = xp.explain(a @ b)
    assert [k.kind for k in plan.kernels] == ["contract"]
    assert plan.kernels[0].backend == "blas" and plan.kernels[0].variant == "blas gemm"


def test_epilogues_fuse_into_one_kernel_after_the_gemm():
    a, b = matrices()
    bias = xp.asarray(data(64, np.float64))
    for y in (xp.maximum(a @ b + bias, 0.0), (a @ b) * 0.5, xp.tensordot(a, b, axes=1) + bias):
        plan = xp.explain(y)
        assert [k.kind for k in plan.kernels] == ["contract", "elementwise"], plan
    x3 = xp.asarray(data((4, 8, 64), np.float32))
    w = xp.asarray(data((64, 16), np.float32))
    plan = xp.explain(xp.tensordot(x3, w, axes=1) + xp.asarray(data(16, np.float32)))
    assert [k.kind for k in plan.kernels] == ["contract", "elementwise"]


def test_epilogue_values(executor):
    a, b = (data((40, 30), np.float32), data((30, 50), np.float32))
    bias = data(50, np.float32)
    got = xp.maximum(xp.asarray(a) @ xp.asarray(b) + xp.asarray(bias), 0.0)
    check(got, np.maximum(a @ b + bias, np.float32(0)))


def test_transposed_and_sliced_leaves_reach_blas_without_copies():
    a, b = matrices()
    for y in (a.T @ b, a @ b.T, a.T @ b.T, a[:, :32].T @ b[:, 5:37], xp.tensordot(a, b, axes=([0], [1]))):
        plan = xp.explain(y)
        assert [k.kind for k in plan.kernels] == ["contract"], plan     # no copy kernel
        before = kcontract.stats["operand_copies"]
        y.compute()
        assert kcontract.stats["operand_copies"] == before


def test_batched_matmul_against_one_matrix_is_one_gemm_without_copies():
    x = xp.asarray(data((3, 5, 8), np.float64))
    w = xp.asarray(data((8, 4), np.float64))
    before = kcontract.stats["operand_copies"]
    y = (x @ w).compute()
    assert kcontract.stats["operand_copies"] == before
    assert y._node.shape == (3, 5, 4)


def test_outer_product_is_one_elementwise_kernel():
    v, w = (xp.asarray(data(300, np.float64)) for _ in range(2))
    plan = xp.explain(xp.tensordot(v, w, axes=0) + 1.0)
    assert [k.kind for k in plan.kernels] == ["elementwise"]


def test_contract_arg_is_size_free():
    a, b = matrices(8)
    c, d = matrices(16)
    assert (a @ b)._node.arg == (c @ d)._node.arg == "ab,bc->ac"
    x, y = xp.ones((2, 3, 4)), xp.ones((2, 4, 5))
    assert xp.einsum("bij,bjk->bik", x, y)._node.arg == "abc,acd->abd"
    assert xp.vecdot(xp.ones((3, 4), dtype=xp.complex64), xp.ones((3, 4), dtype=xp.complex64))._node.arg \
        == "*ab,ab->a"


def test_computed_operands_are_materialized_once(lazy):
    a, b = matrices()
    plan = xp.explain((a * 2.0) @ (b + 1.0))
    assert sorted(k.kind for k in plan.kernels) == ["contract", "elementwise", "elementwise"]


# ---- errors at the recording call


def test_shape_errors():
    with pytest.raises(ValueError, match="contracted"):
        xp.ones((3, 4)) @ xp.ones((3, 4))
    with pytest.raises(ValueError, match="at least 1-dimensional"):
        xp.matmul(xp.asarray(1.0), xp.ones(3))
    with pytest.raises(ValueError, match="broadcast"):
        xp.ones((2, 3, 4)) @ xp.ones((3, 4, 5))
    with pytest.raises(ValueError, match="shape mismatch"):
        xp.tensordot(xp.ones((3, 4)), xp.ones((3, 4)), axes=1)
    with pytest.raises(ValueError, match="between 0 and"):
        xp.tensordot(xp.ones((3, 4)), xp.ones((4, 3)), axes=3)
    with pytest.raises(ValueError, match="between 0 and"):
        xp.tensordot(xp.ones((3, 4)), xp.ones((4, 3)), axes=-1)
    with pytest.raises(ValueError, match="out of bounds"):
        xp.tensordot(xp.ones((3, 4)), xp.ones((4, 3)), axes=([2], [0]))
    with pytest.raises(ValueError, match="repeated axis"):
        xp.tensordot(xp.ones((3, 3)), xp.ones((3, 3)), axes=([0, 0], [0, 1]))
    with pytest.raises(ValueError, match="different lengths"):
        xp.tensordot(xp.ones((3, 3)), xp.ones((3, 3)), axes=([0, 1], [0]))
    with pytest.raises(ValueError, match="axis"):
        xp.vecdot(xp.ones((3, 4)), xp.ones((3, 5)))
    with pytest.raises(ValueError, match="out of range"):
        xp.vecdot(xp.ones((3, 4)), xp.ones(4), axis=-2)
    with pytest.raises(ValueError, match="1-dimensional"):
        xp.linalg.outer(xp.ones((2, 2)), xp.ones(2))


def test_dtype_errors():
    with pytest.raises(TypeError, match="numeric"):
        xp.ones((2, 2), dtype=xp.bool) @ xp.ones((2, 2), dtype=xp.bool)
    with pytest.raises(TypeError):
        xp.ones((2, 2), dtype=xp.int64) @ xp.ones((2, 2))
    with pytest.raises(TypeError):
        xp.tensordot(xp.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(TypeError):
        xp.ones((2, 2)) @ 2.0
    with pytest.raises(TypeError):
        xp.einsum("ij,jk", xp.ones((2, 2), dtype=xp.int8), xp.ones((2, 2)))


def test_einsum_errors():
    a = xp.ones((2, 3))
    with pytest.raises(ValueError, match="operand subscripts"):
        xp.einsum("ij,jk", a)
    with pytest.raises(ValueError, match="dims"):
        xp.einsum("ijk", a)
    with pytest.raises(ValueError, match="index 'i'"):
        xp.einsum("ii", a)
    with pytest.raises(ValueError, match="does not"):
        xp.einsum("ij,jk->ik", a, xp.ones((4, 2)))
    with pytest.raises(ValueError, match="output subscript"):
        xp.einsum("ij->k", a)
    with pytest.raises(ValueError, match="repeat"):
        xp.einsum("ij->ii", a)
    with pytest.raises(ValueError, match="ellipsis"):
        xp.einsum("...i->i", a)
    with pytest.raises(ValueError, match="invalid subscript"):
        xp.einsum("i1", a)


def test_namespace_exports():
    assert xp.linalg.matmul is xp.matmul and xp.linalg.tensordot is xp.tensordot
    assert xp.linalg.vecdot is xp.vecdot and xp.linalg.outer is xp.outer
    assert xp.einsum.__module__ == "arrayforge"


# ---- random programs: shapes, axes and strided or transposed views


def _random_view(rng, a):
    """An arrayforge array with ``a``'s values, seen through a transpose or a stride-2 slice."""
    how = rng.integers(0, 3) if a.ndim else 0
    if how == 1:
        perm = rng.permutation(a.ndim)
        return xp.permute_dims(xp.asarray(np.ascontiguousarray(a.transpose(perm))), tuple(np.argsort(perm)))
    if how == 2:
        big = np.zeros(tuple(2 * s for s in a.shape), a.dtype)
        big[(slice(None, None, 2),) * a.ndim] = a
        return xp.asarray(big)[(slice(None, None, 2),) * a.ndim]
    return xp.asarray(a)


def _random_values(rng, shape, dtype):
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-50, 50, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def test_random_matmuls_and_tensordots(executor):
    rng = np.random.default_rng(3)
    for trial in range(60):
        dtype = (np.float64, np.int32)[trial % 2]
        batch = tuple(rng.integers(1, 4, rng.integers(0, 3)))
        m, k, n = rng.integers(0, 5, 3)
        b1 = tuple(s if rng.random() < .7 else 1 for s in batch)[rng.integers(0, len(batch) + 1):]
        b2 = tuple(s if rng.random() < .7 else 1 for s in batch)[rng.integers(0, len(batch) + 1):]
        s1 = b1 + (m, k) if rng.random() < .85 else (k,)
        s2 = b2 + (k, n) if rng.random() < .85 else (k,)
        a, b = _random_values(rng, s1, dtype), _random_values(rng, s2, dtype)
        check(_random_view(rng, a) @ _random_view(rng, b), a @ b)
        nd1, nd2 = rng.integers(1, 4, 2)
        na = rng.integers(1, min(nd1, nd2) + 1)       # axes=0 is element-wise: tested above
        ax1, ax2 = list(rng.permutation(nd1)[:na]), list(rng.permutation(nd2)[:na])
        sh1, sh2 = list(rng.integers(0, 4, nd1)), list(rng.integers(0, 4, nd2))
        for i, j in zip(ax1, ax2):
            sh2[j] = sh1[i]
        a, b = _random_values(rng, tuple(sh1), dtype), _random_values(rng, tuple(sh2), dtype)
        negative = [int(j) - nd2 for j in ax2]
        check(xp.tensordot(_random_view(rng, a), _random_view(rng, b), axes=(ax1, negative)),
              np.tensordot(a, b, axes=(ax1, ax2)))


def test_random_einsums():
    rng = np.random.default_rng(4)
    done = 0
    while done < 60:
        sizes = {c: int(rng.integers(1, 4)) for c in "abcdef"}
        subs = ["".join(rng.choice(list("abcdef"), rng.integers(0, 4))) for _ in range(rng.integers(1, 5))]
        letters = sorted(set("".join(subs)))
        spec = ",".join(subs) + "->" + "".join(c for c in rng.permutation(letters) if rng.random() < .5)
        dtype = (np.float64, np.int16)[done % 2]
        ops = [_random_values(rng, tuple(sizes[c] for c in s), dtype) for s in subs]
        expected = np.einsum(spec, *ops)
        check(xp.einsum(spec, *[_random_view(rng, o) for o in ops]), expected)
        done += 1
