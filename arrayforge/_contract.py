"""Contractions: tensordot, matmul, vecdot, outer and einsum.

Every contraction of two operands is one CONTRACT node whose ``arg`` is its einsum
subscripts in canonical form: letters renamed in order of first appearance
(``"bij,bjk->bik"`` is recorded as ``"abc,acd->abd"``), a leading ``*`` on a conjugated
operand (``vecdot`` of complex arrays).  The arg holds no sizes, so plans and kernels are
shared by every size.  The recording functions here establish what the back end
(``lowering.kernels.contract``) relies on:

* no letter repeats within an operand (einsum diagonals are strided views) and every
  letter is in the output or in the other operand (einsum sums a letter that only one
  operand has with a SUM node first);
* a letter shared by both operands has one size: broadcast dims are EXPAND views (free,
  stride 0), except that the batch dims of ``A @ B`` with an unbatched ``B`` become free
  dims of ``A``, so ``(b, m, k) @ (k, n)`` is one GEMM instead of ``b`` small ones;
* the output is ordered batch, free dims of the first operand, free dims of the second;
  the operands are swapped, or the product is permuted (a view), for other orders.

A product with no contracted letter (``tensordot(axes=0)``, ``outer``, ``"i,j->ij"``) is
element-wise: it is recorded as a MUL of broadcast views, so it runs as the parallel,
store-bound element-wise kernel and fuses with its epilogue.  All validation happens
here, at the recording call, with NumPy's exception types.
"""
import operator
import string

import numpy as np

from lowering import Op, make_node

from . import _dtypes as dt
from ._graph import bounded, broadcast_shapes, cast, expand, reshape_node, view
from ._sparse_dispatch import any_sparse as _any_sparse, call as _sparse_call
from . import _array  # noqa: E402  (circular at import time; used at call time)

__all__ = ["matmul", "tensordot", "vecdot", "outer", "einsum"]

_EINSUM_LETTERS = string.ascii_letters


def _letter(i):
    """The i-th subscript letter (past the 52 ASCII letters, any other character will do)."""
    return _EINSUM_LETTERS[i] if i < 52 else chr(0x100 + i)


def _check(x1, x2, name):
    if not isinstance(x1, _array.Array) or not isinstance(x2, _array.Array):
        raise TypeError(f"{name} expects two arrayforge arrays, got {type(x1).__name__} "
                        f"and {type(x2).__name__}")
    dtype = dt.promote(x1.dtype, x2.dtype)
    if dtype not in dt.CATEGORIES["numeric"]:
        raise TypeError(f"{name} is only defined for numeric dtypes, got {x1.dtype} and {x2.dtype}")
    return dtype


def _wrap(node):
    return _array.Array._new(bounded(node))


# ---- the one recording primitive


def _layout(node, letters, out, shape):
    """``node`` (dims named by ``letters``) as a view broadcast to the dims ``out`` (sizes ``shape``)."""
    where = {c: i for i, c in enumerate(letters)}
    perm = tuple([where[c] for c in out if c in where])
    if perm != tuple(range(len(perm))):
        node = view(Op.PERMUTE, node, tuple([node.shape[p] for p in perm]), perm)
    dims = iter(node.shape)      # the permuted dims, in the order they appear in ``out``
    node = reshape_node(node, tuple([next(dims) if c in where else 1 for c in out]))
    return expand(node, shape)


def _canonical_order(s1, s2, out):
    return ([c for c in s1 if c in s2 and c in out] + [c for c in s1 if c not in s2]
            + [c for c in s2 if c not in s1])


def _rename(s1, s2, out, conj1, conj2):
    names = {}
    for c in s1 + s2 + out:
        if c not in names:
            names[c] = _letter(len(names))
    a = ("*" if conj1 else "") + "".join(names[c] for c in s1)
    b = ("*" if conj2 else "") + "".join(names[c] for c in s2)
    return f"{a},{b}->{''.join(names[c] for c in out)}"


def contract(n1, s1, n2, s2, out, dtype, conj1=False):
    """Record the contraction of node ``n1`` (dims named by the letters ``s1``) with ``n2``
    (``s2``) into the dims ``out`` (a list of letters); returns the node.

    Preconditions (see the module docstring): letters are unique per operand; every letter
    is in ``out`` or in both operands; shared letters have equal sizes in both operands.
    ``conj1`` conjugates ``n1`` (complex ``vecdot``).
    """
    s1, s2, out = list(s1), list(s2), list(out)
    n1, n2 = cast(n1, dtype), cast(n2, dtype)
    sizes = dict(zip(s1, n1.shape)) | dict(zip(s2, n2.shape))
    shape = tuple(sizes[c] for c in out)
    conj1 = conj1 and dtype.kind == "c"
    if not any(c in s2 and c not in out for c in s1):
        # nothing contracted: an element-wise product of broadcast views
        a, b = _layout(n1, s1, out, shape), _layout(n2, s2, out, shape)
        if conj1:
            a = make_node(Op.CONJ, dtype, shape, (a,))
        return make_node(Op.MUL, dtype, shape, (a, b))
    operands = (n1, s1, conj1), (n2, s2, False)
    if _canonical_order(s1, s2, out) != out and _canonical_order(s2, s1, out) == out:
        operands = operands[::-1]       # (a @ b).T is b.T @ a.T: write the output in its order
    (na, sa, ca), (nb, sb, cb) = operands
    order = _canonical_order(sa, sb, out)
    node = make_node(Op.CONTRACT, dtype, tuple(sizes[c] for c in order), (na, nb),
                     _rename(sa, sb, order, ca, cb))
    if order != out:
        perm = tuple(order.index(c) for c in out)
        node = view(Op.PERMUTE, node, shape, perm)
    return node


# ---- the standard's functions


def tensordot(x1, x2, /, axes=2):
    """Tensor contraction of ``x1`` and ``x2`` over ``axes`` (Array API standard).

    ``axes`` is an int ``N`` (the last ``N`` axes of ``x1`` with the first ``N`` of ``x2``;
    0 is the tensor product) or a pair of sequences of axes (negative axes count from the
    end).  Floating dtypes run on BLAS; element-wise epilogues fuse after the product.

    >>> s = arrayforge.asarray([[[1, 2], [3, 4]]]); t = arrayforge.asarray([[[5, 6], [7, 8]]])
    >>> arrayforge.tensordot(s, t, axes=0).shape
    (1, 2, 2, 1, 2, 2)
    """
    # Note: the standard makes ``axes`` keyword-only; NumPy's (and the textbook's)
    # ``tensordot(s, t, 0)`` passes it by position, which is accepted too.
    if (type(x1) is not _array.Array or type(x2) is not _array.Array) and _any_sparse(x1, x2):
        return _sparse_call("tensordot", x1, x2, axes=axes)
    dtype = _check(x1, x2, "tensordot")
    nd1, nd2 = x1.ndim, x2.ndim
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        axes = int(axes)
        if axes < 0 or axes > min(nd1, nd2):
            raise ValueError(f"tensordot: axes={axes} must be between 0 and {min(nd1, nd2)} for "
                             f"shapes {x1.shape} and {x2.shape}")
        a1, a2 = list(range(nd1 - axes, nd1)), list(range(axes))
    else:
        try:
            first, second = axes
        except (TypeError, ValueError):
            raise ValueError(f"tensordot: axes must be an int or a pair of sequences of ints, "
                             f"got {axes!r}") from None
        a1, a2 = _axis_list(first, nd1, "x1"), _axis_list(second, nd2, "x2")
        if len(a1) != len(a2):
            raise ValueError(f"tensordot: axes sequences have different lengths ({len(a1)} and {len(a2)})")
    for i, j in zip(a1, a2):
        if x1.shape[i] != x2.shape[j]:
            raise ValueError(f"tensordot: shape mismatch on contracted axes: axis {i} of {x1.shape} "
                             f"has size {x1.shape[i]}, axis {j} of {x2.shape} has size {x2.shape[j]}")
    s1 = [_letter(d) for d in range(nd1)]
    s2 = [_letter(nd1 + d) for d in range(nd2)]
    for i, j in zip(a1, a2):
        s2[j] = s1[i]
    out = [c for d, c in enumerate(s1) if d not in a1] + [c for d, c in enumerate(s2) if d not in a2]
    return _wrap(contract(x1._node, s1, x2._node, s2, out, dtype))


def _axis_list(axes, ndim, name):
    items = [axes] if isinstance(axes, (int, np.integer)) else list(axes)
    out = []
    for a in items:
        if isinstance(a, bool):
            raise TypeError(f"tensordot: axes must be integers, got {a!r}")
        a = operator.index(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"tensordot: axis {a} is out of bounds for {name} of dimension {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"tensordot: repeated axis in {name}'s axes {tuple(items)}")
    return out


def matmul(x1, x2, /):
    """Matrix product (Array API standard): batch dims broadcast; a 1-D ``x1`` is a row and
    a 1-D ``x2`` a column, and that dim is dropped from the result.

    >>> (arrayforge.ones((5, 4)) @ arrayforge.ones(4)).shape
    (5,)
    """
    if (type(x1) is not _array.Array or type(x2) is not _array.Array) and _any_sparse(x1, x2):
        return _sparse_call("matmul", x1, x2)
    dtype = _check(x1, x2, "matmul")
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError(f"matmul: operands must be at least 1-dimensional, got shapes {x1.shape} and {x2.shape}")
    k1 = x1.shape[-1]
    k2 = x2.shape[0] if x2.ndim == 1 else x2.shape[-2]
    if k1 != k2:
        raise ValueError(f"matmul: contracted dimensions differ: {x1.shape} @ {x2.shape} ({k1} != {k2})")
    b1, b2 = x1.shape[:-2], x2.shape[:-2]
    batch = broadcast_shapes(b1, b2)
    bl = [_letter(3 + i) for i in range(len(batch))]
    m, k, n = _letter(0), _letter(1), _letter(2)
    core1 = [m, k] if x1.ndim > 1 else [k]
    core2 = [k, n] if x2.ndim > 1 else [k]
    n1, n2 = x1._node, x2._node
    if all(d == 1 for d in b2):
        # x2 is one matrix: x1's batch dims are free dims of x1, merged into one GEMM's rows
        n2 = reshape_node(n2, x2.shape[-len(core2):])
        n1 = reshape_node(n1, batch + x1.shape[-len(core1):])
        s1, s2 = bl + core1, core2
    else:
        n1 = expand(n1, batch + x1.shape[-len(core1):])   # stride-0 views: nothing is copied
        n2 = expand(n2, batch + x2.shape[-len(core2):])
        s1, s2 = bl + core1, bl + core2
    out = bl + core1[:-1] + core2[1:]
    return _wrap(contract(n1, s1, n2, s2, out, dtype))


def vecdot(x1, x2, /, *, axis=-1):
    """Dot products of vectors along ``axis`` (Array API standard): ``sum(conj(x1) * x2)``.

    The dims other than ``axis`` broadcast; ``axis`` counts from the end (negative) and a
    non-negative ``axis`` names that axis of each operand, as in NumPy.
    """
    if (type(x1) is not _array.Array or type(x2) is not _array.Array) and _any_sparse(x1, x2):
        return _sparse_call("vecdot", x1, x2, axis=axis)
    dtype = _check(x1, x2, "vecdot")
    nd = min(x1.ndim, x2.ndim)
    if isinstance(axis, bool) or not -nd <= operator.index(axis) < nd:
        raise ValueError(f"vecdot: axis {axis} is out of range for shapes {x1.shape} and {x2.shape}")
    a1, a2 = axis % x1.ndim, axis % x2.ndim
    if x1.shape[a1] != x2.shape[a2]:
        raise ValueError(f"vecdot: the contracted axis differs in size: {x1.shape[a1]} (x1 {x1.shape}) "
                         f"and {x2.shape[a2]} (x2 {x2.shape})")
    rest1 = tuple(n for d, n in enumerate(x1.shape) if d != a1)
    rest2 = tuple(n for d, n in enumerate(x2.shape) if d != a2)
    batch = broadcast_shapes(rest1, rest2)
    bl = [_letter(1 + i) for i in range(len(batch))]
    k = _letter(0)
    kk = x1.shape[a1]

    def last(x, a):      # the contracted axis moved last (a view)
        perm = tuple(d for d in range(x.ndim) if d != a) + (a,)
        node = x._node
        return view(Op.PERMUTE, node, tuple(x.shape[d] for d in perm), perm) if a != x.ndim - 1 else node

    n1, n2 = last(x1, a1), last(x2, a2)
    if all(d == 1 for d in rest2):       # one vector: x1's dims are free (one GEMV)
        n1, n2 = reshape_node(n1, batch + (kk,)), reshape_node(n2, (kk,))
        s1, s2 = bl + [k], [k]
    elif all(d == 1 for d in rest1):
        n1, n2 = reshape_node(n1, (kk,)), reshape_node(n2, batch + (kk,))
        s1, s2 = [k], bl + [k]
    else:
        n1, n2 = expand(n1, batch + (kk,)), expand(n2, batch + (kk,))
        s1, s2 = bl + [k], bl + [k]
    return _wrap(contract(n1, s1, n2, s2, bl, dtype, conj1=True))


def outer(x1, x2, /):
    """Outer product of two 1-D arrays (Array API ``linalg.outer``): ``x1[:, None] * x2[None, :]``."""
    _check(x1, x2, "outer")
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"outer: both operands must be 1-dimensional, got shapes {x1.shape} and {x2.shape}")
    return tensordot(x1, x2, axes=0)


# ---- einsum


def einsum(subscripts, /, *operands):
    """Einstein summation with NumPy's syntax: ``"ij,jk->ik"``, implicit output
    (``"ij,jk"``), ``...`` broadcasting, repeated letters within one operand (diagonals)
    and letters summed out of a single operand.

    Each pair of operands is one CONTRACT node; with more than two operands the pairwise
    order is chosen for cost (NumPy's greedy ``einsum_path``).  The operands are promoted
    with the standard's rules (mixed kinds raise TypeError); bool operands give OR of ANDs.

    >>> a = arrayforge.ones((2, 3)); b = arrayforge.ones((3, 4))
    >>> arrayforge.einsum("ij,jk->ik", a, b).shape
    (2, 4)
    """
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a string, got {type(subscripts).__name__}")
    if not operands:
        raise ValueError("einsum: at least one operand is required")
    for x in operands:
        if not isinstance(x, _array.Array):
            raise TypeError(f"einsum expects arrayforge arrays, got {type(x).__name__}")
    dtype = operands[0].dtype
    for x in operands[1:]:
        dtype = dt.promote(dtype, x.dtype)
    if dtype not in dt.CATEGORIES["numeric"] and dtype != dt.bool:
        raise TypeError(f"einsum is not defined for {dtype}")
    inputs, out = _parse_einsum(subscripts, [x.ndim for x in operands])
    # the size of each letter; size-1 dims broadcast, as in NumPy
    sizes = {}
    for i, (s, x) in enumerate(zip(inputs, operands)):
        for c, d in zip(s, x.shape):
            if sizes.get(c, 1) == 1:
                sizes[c] = d
            elif d not in (1, sizes[c]):
                raise ValueError(f"einsum: size {d} of index {c!r} in operand {i} does not match its size "
                                 f"{sizes[c]} elsewhere in {subscripts!r}")
    terms = []
    for s, x in zip(inputs, operands):
        node, s = _diagonal(cast(x._node, dtype), list(s))
        node = _broadcast_letters(node, s, sizes)
        terms.append((node, s))
    # letters in one term only and not in the output are summed out of that term first
    for i, (node, s) in enumerate(terms):
        others = set(out).union(*(set(t[1]) for j, t in enumerate(terms) if j != i))
        gone = [c for c in s if c not in others]
        if gone:
            axes = tuple(s.index(c) for c in gone)
            keep = [c for c in s if c in others]
            op = Op.MAX if dtype == dt.bool else Op.SUM      # a bool sum is OR
            node = make_node(op, dtype, tuple(sizes[c] for c in keep), (node,), axes)
            terms[i] = (node, keep)
    while len(terms) > 1:
        i, j = _next_pair(terms, out, sizes)
        (n1, s1), (n2, s2) = terms[i], terms[j]
        rest = [t for q, t in enumerate(terms) if q not in (i, j)]
        if not rest:
            keep = out
        else:
            needed = set(out).union(*(set(t[1]) for t in rest))
            keep = [c for c in _canonical_order(s1, s2, s1 + s2) if c in needed]
        terms = rest + [(contract(n1, s1, n2, s2, keep, dtype), keep)]
    node, s = terms[0]
    if s != out:                     # one operand: a permutation of what is left
        perm = tuple(s.index(c) for c in out)
        node = view(Op.PERMUTE, node, tuple(sizes[c] for c in out), perm)
    return _wrap(node)


def _broadcast_letters(node, letters, sizes):
    """Broadcast the size-1 dims of ``node`` whose letter is bigger elsewhere (EXPAND view)."""
    shape = tuple(sizes[c] for c in letters)
    return expand(node, shape) if shape != node.shape else node


def _parse_einsum(subscripts, ndims):
    """Per-operand lists of letters and the output list, with ``...`` made explicit."""
    spec = subscripts.replace(" ", "")
    if "->" in spec:
        lhs, rhs = spec.split("->", 1)
        for c in rhs.replace("...", ""):
            if c not in _EINSUM_LETTERS:
                raise ValueError(f"einsum: invalid output subscript {c!r} in {subscripts!r}")
    else:
        lhs, rhs = spec, None
    parts = lhs.split(",")
    if len(parts) != len(ndims):
        raise ValueError(f"einsum: {len(parts)} operand subscripts given for {len(ndims)} operands")
    ell_dims = 0
    parsed = []
    for i, (p, nd) in enumerate(zip(parts, ndims)):
        if p.count("...") > 1 or "." in p.replace("...", ""):
            raise ValueError(f"einsum: invalid ellipsis in operand {i}'s subscripts {p!r}")
        for c in p.replace("...", ""):
            if c not in _EINSUM_LETTERS:
                raise ValueError(f"einsum: invalid subscript {c!r}: only letters a-z, A-Z are allowed")
        explicit = len(p.replace("...", ""))
        if "..." in p:
            if explicit > nd:
                raise ValueError(f"einsum: operand {i} has {nd} dims but subscripts {p!r} name {explicit}")
            ell_dims = max(ell_dims, nd - explicit)
        elif explicit != nd:
            raise ValueError(f"einsum: operand {i} has {nd} dims but subscripts {p!r} name {explicit}")
        parsed.append((p, nd - explicit))
    ell = [chr(0x100 + i) for i in range(ell_dims)]     # letters for the broadcast dims
    inputs = []
    for p, n_ell in parsed:
        head, _, tail = p.partition("...")
        inputs.append(list(head) + (ell[ell_dims - n_ell:] if "..." in p else []) + list(tail))
    counts = {}
    for s in inputs:
        for c in s:
            counts[c] = counts.get(c, 0) + 1
    if rhs is None:
        out = ell + sorted(c for c, n in counts.items() if n == 1 and c in _EINSUM_LETTERS)
    else:
        if rhs.count("...") > 1 or "." in rhs.replace("...", ""):
            raise ValueError(f"einsum: invalid ellipsis in the output subscripts {rhs!r}")
        if "..." not in rhs and ell_dims:
            raise ValueError("einsum: output has more dimensions than subscripts given in einstein sum, "
                             "but no '...' ellipsis provided to broadcast the extra dimensions.")
        head, _, tail = rhs.partition("...")
        out = list(head) + (ell if "..." in rhs else []) + list(tail)
        for c in out:
            if c not in counts:
                raise ValueError(f"einsum: output subscript {c!r} does not appear in the input subscripts")
        if len(set(out)) != len(out):
            raise ValueError(f"einsum: output subscripts {rhs!r} repeat an index")
    return inputs, out


def _diagonal(node, letters):
    """Take the diagonal of every letter repeated within one operand, as strided views:
    move the repeated dims last, merge them and slice with the diagonal's step."""
    while True:
        rep = next((c for c in letters if letters.count(c) > 1), None)
        if rep is None:
            return node, letters
        dims = [d for d, c in enumerate(letters) if c == rep]
        size = node.shape[dims[0]]
        if any(node.shape[d] != size for d in dims):
            raise ValueError(f"einsum: dimensions for the repeated index {rep!r} differ: "
                             f"{[node.shape[d] for d in dims]}")
        rest = [d for d in range(len(letters)) if d not in dims]
        perm = tuple(rest + dims)
        if perm != tuple(range(len(perm))):
            node = view(Op.PERMUTE, node, tuple(node.shape[d] for d in perm), perm)
        base = tuple(node.shape[:len(rest)])
        node = reshape_node(node, base + (size ** len(dims),))
        step = sum(size ** e for e in range(len(dims)))       # (i, i, ..., i) in the merged dim
        slices = tuple((0, n, 1) for n in base) + ((0, size ** len(dims), step),)
        node = view(Op.SLICE, node, base + (size,), slices)
        letters = [letters[d] for d in rest] + [rep]


def _next_pair(terms, out, sizes):
    """The pair of terms to contract next: NumPy's greedy path (cost-ordered) when all
    letters are ASCII, else left to right."""
    if len(terms) == 2:
        return 0, 1
    names = {}
    for _, s in terms:
        for c in s:
            names.setdefault(c, _EINSUM_LETTERS[len(names)] if len(names) < 52 else None)
    if None in names.values():
        return 0, 1
    spec = ",".join("".join(names[c] for c in s) for _, s in terms) + "->" + "".join(names[c] for c in out)
    # shape-only stand-ins: broadcast views of one element, no memory
    dummies = [np.broadcast_to(np.empty((), np.float64), tuple(sizes[c] for c in s)) for _, s in terms]
    path = np.einsum_path(spec, *dummies, optimize="greedy")[0]
    i, j = path[1][:2] if len(path[1]) >= 2 else (0, 1)
    return min(i, j), max(i, j)


for _name in __all__:
    globals()[_name].__module__ = "arrayforge"
del _name
