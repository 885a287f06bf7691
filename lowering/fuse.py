"""Fusion: group a graph into kernels.

Every node is addressed by its position in the canonical post-order of the graph
(see ``schedule.graph_key``), so a fused plan is independent of sizes and leaf data
and is reused for every graph of the same structure.

Rules:
* an elementwise region (unary/binary/ternary ops, constants, loads through views
  of materialized values) is one kernel;
* a reduction ends a kernel: the region below it is its prologue and a single-use
  reduction feeding an elementwise region (through reshapes that only add or drop
  unit dims, as ``keepdims=False`` records) is fused with that region as epilogue;
* views are index maps applied to materialized buffers (free NumPy views); a view of
  an unmaterialized value makes that value a kernel output;
* reductions over trailing axes broadcast back along them merge with their consumer
  into one "rows" kernel (see ``merge_rows``).
* barrier kinds (EXTERN, CONTRACT, ...: the registry in ``lowering.kernels``) run as
  kernels of their own: an operand that is a view of a materialized buffer stays a view
  (a transposed leaf reaches BLAS as a strided NumPy view, never a copy), a computed
  operand is materialized; elementwise consumers of the result form the following
  kernel (its epilogue), which reads the result once.
Elementwise nodes shared by two kernels are recomputed in each, never stored.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .ir import Op, OpKind, unit_reshape
from .kernels import BARRIERS

ELEMENTWISE = (OpKind.UNARY, OpKind.BINARY, OpKind.TERNARY)


@dataclass(frozen=True)
class Load:
    """An operand array: ``base`` (a leaf or kernel output) seen through ``views`` (bottom to top)."""
    top: int
    base: int
    views: tuple


@dataclass
class Kernel:
    kind: str                      # "elementwise" | "reduce" | "view" | a barrier's name ("extern", "contract", ...)
    root: int                      # the node this kernel materializes
    loads: list = field(default_factory=list)       # Load, in the iteration space of ``body``
    post_loads: list = field(default_factory=list)  # Load, in the output space (reduce epilogue)
    consts: list = field(default_factory=list)      # CONST node positions (scalar arguments)
    body: list = field(default_factory=list)        # elementwise positions, iteration space
    reduce: int | None = None
    post: list = field(default_factory=list)        # epilogue positions, output space
    sources: set = field(default_factory=set)       # kernel roots this one reads
    alias: dict = field(default_factory=dict)       # view-of-CONST position -> CONST position
    reduce_views: tuple = ()                        # unit reshapes from the epilogue down to reduce
    parts: list = field(default_factory=list)       # "rows": the merged kernels, producers first
    axes: tuple = ()                                # "rows": the reduced (trailing) axes

    def ops(self, nodes):
        if self.parts:
            return [op for part in self.parts for op in part.ops(nodes)]
        seq = self.body + ([self.reduce] if self.reduce is not None else []) + self.post
        if not seq and nodes[self.root].op is not Op.CONST:
            seq = [self.root]
        return [nodes[p].op.name for p in seq]


def fuse(nodes, outputs, users):
    """Group ``nodes`` (canonical post-order) into kernels computing ``outputs`` (positions)."""
    pos = {n: i for i, n in enumerate(nodes)}
    roots = {p for p in outputs if not _is_leaf(nodes[p])}
    kernels = {}
    pending = sorted(roots, reverse=True)

    def is_leaf(p):
        return _is_leaf(nodes[p])

    def materialize(p):
        if p not in roots:
            roots.add(p)
            pending.append(p)
            pending.sort(reverse=True)

    def resolve(p, kernel):
        """Follow views down to a base; return a Load (materializing the base if computed)."""
        views = []
        while nodes[p].op.kind is OpKind.VIEW and nodes[p].buffer is None and p not in roots:
            views.append(p)
            p = pos[nodes[p].inputs[0]]
        if not is_leaf(p):
            materialize(p)
            kernel.sources.add(p)
        return Load(views[0] if views else p, p, tuple(reversed(views)))

    def region(start, kernel, level, allow_reduce):
        """Collect the elementwise region above leaves/loads; returns positions in order."""
        body, seen, loads = [], set(), (kernel.loads if level == "pre" else kernel.post_loads)
        stack = [start]
        while stack:
            p = stack.pop()
            if p in seen:
                continue
            seen.add(p)
            n = nodes[p]
            if n.op is Op.CONST and n.buffer is None:
                if p not in kernel.consts:
                    kernel.consts.append(p)
                continue
            if (p in roots and p != kernel.root) or is_leaf(p):
                loads.append(Load(p, p, ()))
                if not is_leaf(p):
                    kernel.sources.add(p)
                continue
            kind = n.op.kind
            if kind in ELEMENTWISE:
                body.append(p)
                shared = users[p] > 1 and p != kernel.root
                for inp in n.inputs:
                    stack.append(pos[inp])
                if shared:
                    allow_reduce = False
                continue
            if kind is OpKind.VIEW or kind is OpKind.REDUCE:
                # a reduce fused as epilogue source: directly or through unit reshapes
                chain, q = [], p
                while nodes[q].op is Op.RESHAPE and nodes[q].buffer is None and q not in roots \
                        and users[q] == 1 and unit_reshape(nodes[q].shape, nodes[q].inputs[0].shape):
                    chain.append(q)
                    q = pos[nodes[q].inputs[0]]
                rq = nodes[q]
                if (level == "post" and allow_reduce and kernel.reduce is None and rq.buffer is None
                        and rq.op.kind is OpKind.REDUCE and q not in roots and users[q] == 1):
                    kernel.reduce = q
                    kernel.reduce_views = tuple(chain)
                    kernel.body = region(pos[rq.inputs[0]], kernel, "pre", False)
                    continue
                if kind is OpKind.REDUCE:
                    materialize(p)
                    kernel.sources.add(p)
                    loads.append(Load(p, p, ()))
                    continue
                load = resolve(p, kernel)
                if nodes[load.base].op is Op.CONST and nodes[load.base].buffer is None:
                    if load.base not in kernel.consts:
                        kernel.consts.append(load.base)
                    kernel.alias[p] = load.base     # a view of a constant is the same scalar
                    continue
                loads.append(load)
                continue
            # EXTERN, CONTRACT or anything else: a barrier
            materialize(p)
            kernel.sources.add(p)
            loads.append(Load(p, p, ()))
        return sorted(body)

    while pending:
        r = pending.pop(0)
        if r in kernels:
            continue
        n = nodes[r]
        kind = n.op.kind
        if kind in BARRIERS:        # a kernel of its own; its operands are loads
            k = Kernel(BARRIERS[kind].name, r)
            for inp in n.inputs:
                k.loads.append(resolve(pos[inp], k))
        elif kind is OpKind.VIEW:
            k = Kernel("view", r)
            inner = pos[n.inputs[0]]
            base_load = resolve(inner, k)
            k.loads.append(Load(r, base_load.base, base_load.views + (r,)))
        elif kind is OpKind.REDUCE:
            k = Kernel("reduce", r, reduce=r)
            k.body = region(pos[n.inputs[0]], k, "pre", False)
        else:   # elementwise or CONST root
            k = Kernel("elementwise", r)
            k.post = region(r, k, "post", True)
            if k.reduce is not None:
                k.kind = "reduce"
            else:
                k.body, k.post, k.loads, k.post_loads = k.post, [], k.post_loads, []
        kernels[r] = k
    # Note: ``region`` calls itself through its closure cell, a reference cycle that would keep
    # ``pos`` (so the graph and its buffers) alive until a GC pass; emptying the cell breaks it.
    del region
    return merge_rows([kernels[r] for r in sorted(kernels)], nodes, set(outputs))


def iteration_shape(k, nodes):
    """The loop space of an elementwise or reduce kernel."""
    return nodes[k.reduce].inputs[0].shape if k.reduce is not None else nodes[k.root].shape


def merge_rows(kernels, nodes, outputs):
    """Merge chains of row reductions and their consumer into one "rows" kernel.

    ``softmax`` (max, subtract, exp, sum, divide) and ``layer norm`` (mean, var, scale) are
    reductions over the trailing axes whose results are broadcast back along those axes.
    Fused per row, each row is read from memory once and revisited in cache by the later
    stages; as separate kernels every stage streams the whole array again.  A producer is
    merged when it reduces the same trailing axes of the same loop space, is not an output,
    and every read of it in the group is a broadcast along the reduced axes.
    """
    by_root = {k.root: k for k in kernels}
    readers = {}
    for k in kernels:
        for s in k.sources:
            readers.setdefault(s, set()).add(k.root)
    merged = {}
    for k in reversed(kernels):
        if k.root in merged or k.kind not in ("elementwise", "reduce"):
            continue
        shape = iteration_shape(k, nodes)
        axes = nodes[k.reduce].arg if k.reduce is not None else None
        group = {}
        frontier = [k]
        while frontier:
            c = frontier.pop()
            for s in c.sources:
                p = by_root.get(s)
                if (p is None or s in group or s in merged or s in outputs or p.kind != "reduce"
                        or iteration_shape(p, nodes) != shape):
                    continue
                a = nodes[p.reduce].arg
                if axes is None:
                    axes = a
                if a != axes:
                    continue
                group[s] = p
                frontier.append(p)
        if not group or axes is None or tuple(axes) != tuple(range(len(shape) - len(axes), len(shape))):
            continue
        changed = True
        while changed and group:      # drop members read from outside the group or not row-wise
            changed = False
            members = set(group) | {k.root}
            for s, p in list(group.items()):
                if not readers.get(s, set()) <= members or not all(
                        row_broadcast(ld, nodes, shape, axes, space)
                        for part in list(group.values()) + [k]
                        for space, lds in (("pre", part.loads), ("post", part.post_loads))
                        for ld in lds if ld.base == s):
                    del group[s]
                    changed = True
        if not group:
            continue
        parts = [group[s] for s in sorted(group)] + [k]
        rows = Kernel("rows", k.root, parts=parts, axes=tuple(axes), reduce=k.reduce)
        for part in parts:
            rows.sources |= part.sources
        rows.sources -= set(group)
        for s in group:
            merged[s] = k.root
        merged[k.root] = k.root
        by_root[k.root] = rows
    return [by_root[k.root] for k in kernels if k.root not in merged or merged[k.root] == k.root]


def rows_substitutable(k, nodes, shape):
    """Does every read of a part's value in rows kernel ``k`` stay a row broadcast for an
    iteration space of ``shape`` (this run's sizes)?  Then the parts can run as one fused
    kernel, each part's row value substituted for its buffer (both executors check it)."""
    roots = {part.root for part in k.parts[:-1]}
    return all(row_broadcast(ld, nodes, shape, k.axes, space)
               for part in k.parts
               for space, lds in (("pre", part.loads), ("post", part.post_loads))
               for ld in lds if ld.base in roots)


def row_broadcast(ld, nodes, shape, axes, space):
    """Does ``ld`` read its base (a row-space value) as a broadcast along ``axes`` of
    ``shape`` (``space="pre"``) or in the row space itself (``"post"``)?  Decided on
    the nodes' shapes, so the runtime checks it again for each run's sizes."""
    kept = [d for d in range(len(shape)) if d not in axes]
    keep = tuple(1 if d in axes else n for d, n in enumerate(shape))
    base = nodes[ld.base].shape
    if base == keep:
        labels = [d if d not in axes else None for d in range(len(shape))]
    elif base == tuple(shape[d] for d in kept):
        labels = list(kept)
    else:
        return False
    cur = base
    for v in ld.views:
        n = nodes[v]
        if n.op is Op.RESHAPE:
            if not unit_reshape(n.shape, cur):
                return False
            real = iter([lab for lab, s in zip(labels, cur) if s != 1])
            labels = [None if s == 1 else next(real) for s in n.shape]
        elif n.op is Op.EXPAND:
            labels = [lab if s == t else None for lab, s, t in zip(labels, cur, n.shape)]
        else:
            return False
        cur = n.shape
    want = shape if space == "pre" else keep
    if tuple(cur) != tuple(want):
        return False
    return all(want[d] == 1 or labels[d] == (None if d in axes else d) for d in range(len(want)))


def _is_leaf(n):
    return n.buffer is not None or n.op is Op.BUFFER
