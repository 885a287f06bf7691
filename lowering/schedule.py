"""Schedule: the canonical form of a graph, its structural key, and the plan.

A plan is the list of fused kernels in dependency order, the buffers each step
may free afterwards, and per kernel the size-free structure the renderer needs.
Plans are cached by the graph's structural key (ops, dtypes, ranks, reduce axes,
sharing), so re-running an expression on new data or a new size skips fusion.
"""
from __future__ import annotations

from .fuse import Kernel, fuse
from .interpret import evaluator, render_program
from .ir import COSTLY, Op, toposort


# Operand references in kernel structures, (space, index), read by the renderers (cpu.py):
LOAD = "load"              # (LOAD, k): the k-th load of the kernel's body (its input space)
POST_LOAD = "post_load"    # (POST_LOAD, k): the k-th load of a reduction's epilogue (output space)
CONST = "const"            # (CONST, k): the k-th scalar constant argument
VALUE = "value"            # (VALUE, j): the value computed by the j-th entry of body + post
REDUCED = "reduced"        # (REDUCED, 0): the reduction's result
STAGE = "stage"            # (STAGE, i): the row value of part i of a rows kernel (subst targets)


def graph_key(outputs):
    """``(nodes, pos, key)``: the nodes in creation order, their positions, and a hashable,
    size-free structure key (ops, dtypes, ranks, reduce axes, sharing)."""
    nodes = toposort(outputs)
    pos = {}
    key = []
    append = key.append
    i = 0
    for n in nodes:        # realized nodes have no inputs and a leaf skey (see Node.realize_as)
        pos[n] = i
        i += 1
        ins = n.inputs     # unrolled for the common arities: this loop is on every realize
        if not ins:
            append((n.skey, ()))
        elif len(ins) == 2:
            append((n.skey, (pos[ins[0]], pos[ins[1]])))
        elif len(ins) == 1:
            append((n.skey, (pos[ins[0]],)))
        else:
            append((n.skey, tuple([pos[x] for x in ins])))
    append(tuple([pos[o] for o in outputs]))
    return nodes, pos, tuple(key)


class KernelStructure:
    """Size-free description of one kernel's body, shared by every run of its plan."""
    __slots__ = ("body", "post", "reduce", "root", "const_dtypes", "description", "ops")

    def __init__(self, k: Kernel, nodes, pos):
        pre_ref = {ld.top: (LOAD, i) for i, ld in enumerate(k.loads)}
        post_ref = {ld.top: (POST_LOAD, i) for i, ld in enumerate(k.post_loads)}
        const_ref = {p: (CONST, i) for i, p in enumerate(k.consts)}
        for view, const in k.alias.items():
            const_ref[view] = const_ref[const]
        self.const_dtypes = tuple(nodes[p].dtype.str for p in k.consts)
        vals = {}

        def ref(p, space):
            if p in vals:
                return vals[p]
            if p in const_ref:
                return const_ref[p]
            return (pre_ref if space == "pre" else post_ref)[p]

        def entries(positions, space, offset):
            out = []
            for j, p in enumerate(positions):
                n = nodes[p]
                out.append((n.op, n.dtype.str, tuple(x.dtype.str for x in n.inputs),
                            tuple(ref(pos[x], space) for x in n.inputs)))
                vals[p] = (VALUE, offset + j)
            return tuple(out)

        self.body = entries(k.body, "pre", 0)
        self.reduce = None
        if k.reduce is not None:
            rn = nodes[k.reduce]
            self.reduce = (rn.op, rn.dtype.str, ref(pos[rn.inputs[0]], "pre"))
            vals[k.reduce] = (REDUCED, 0)
            for q in k.reduce_views:      # unit reshapes of the reduced value are that value
                vals[q] = (REDUCED, 0)
        self.post = entries(k.post, "post", len(self.body))
        if k.root == k.reduce:
            self.root = (REDUCED, 0)
        else:
            self.root = ref(k.root, "post" if k.reduce is not None else "pre")
        self.ops = k.ops(nodes)
        dts = sorted({nodes[k.root].dtype.name} | {nodes[ld.base].dtype.name for ld in k.loads})
        self.description = f"{k.kind}: {' '.join(self.ops) or 'fill'} | {','.join(dts)}"


class RowsStructure:
    """A "rows" kernel: the parts' structures, and which loads read an earlier part's
    row value: ``subst[j]`` maps (LOAD, k) / (POST_LOAD, k) of part j to (STAGE, i)."""
    __slots__ = ("parts", "subst", "stash", "description", "ops")

    def __init__(self, k: Kernel, nodes, pos):
        self.parts = tuple(KernelStructure(part, nodes, pos) for part in k.parts)
        stage = {part.root: i for i, part in enumerate(k.parts)}
        self.subst = tuple(
            {(space, i): (STAGE, stage[ld.base])
             for space, lds in ((LOAD, part.loads), (POST_LOAD, part.post_loads))
             for i, ld in enumerate(lds) if ld.base in stage}
            for part in k.parts)
        self.stash = _stash(k, nodes, pos)
        self.ops = k.ops(nodes)
        dts = sorted({nodes[k.root].dtype.name} | {nodes[ld.base].dtype.name for part in k.parts
                                                    for ld in part.loads})
        self.description = f"rows: {' | '.join(' '.join(p.ops) for p in self.parts)} | {','.join(dts)}"


def _stash(k, nodes, pos):
    """``(part, value, final value)`` when the final (elementwise) part of a rows kernel would
    recompute a costly value an earlier part computed (softmax's ``exp``): that part stores it
    in the output row, which the final part then reads and overwrites.  Else None."""
    final = k.parts[-1]
    if final.reduce is not None:
        return None
    fb = set(final.body)
    for j in reversed(range(len(k.parts) - 1)):
        body = k.parts[j].body
        shared = fb.intersection(body)
        if not shared or final.root in shared:
            continue
        frontier = {pos[x] for q in final.body if q not in shared for x in nodes[q].inputs} & shared
        if (len(frontier) == 1 and any(nodes[p].op in COSTLY for p in shared)
                and nodes[min(frontier)].dtype == nodes[final.root].dtype):
            f = frontier.pop()
            return j, body.index(f), final.body.index(f)
        return None
    return None


def _structure(k, nodes, pos):
    if k.kind == "rows":
        return RowsStructure(k, nodes, pos)
    if k.kind in ("elementwise", "reduce"):
        return KernelStructure(k, nodes, pos)
    return None


class Plan:
    """``kernels`` in order; ``frees[i]``: the buffers kernel i reads last; ``users[p]``: how
    many nodes of the graph read node ``p`` (the runtime tells from it whether anything
    outside the graph holds an intermediate, and then keeps its value)."""
    __slots__ = ("kernels", "structures", "frees", "users", "runs")

    def __init__(self, kernels, structures, frees, users):
        self.kernels = kernels
        self.structures = structures
        self.frees = frees
        self.users = users
        self.runs = 0


def build_plan(nodes, pos, outputs):
    """Fuse and order the graph; compute when each intermediate buffer can be freed."""
    users = [0] * len(nodes)
    for n in nodes:
        if n.buffer is None:
            for x in n.inputs:
                users[pos[x]] += 1
    out_pos = [pos[o] for o in outputs]
    kernels = fuse(nodes, out_pos, users)
    structures = [_structure(k, nodes, pos) for k in kernels]
    for k in kernels:
        _interpreter_steps(k, nodes, pos)
        for part in k.parts:
            _interpreter_steps(part, nodes, pos)
    last_use = {}
    for i, k in enumerate(kernels):
        for s in k.sources:
            last_use[s] = i
    keep = set(out_pos)
    frees = [[] for _ in kernels]
    for s, i in last_use.items():
        if s not in keep:
            frees[i].append(s)
    return Plan(kernels, structures, frees, users)


def _interpreter_steps(k, nodes, pos):
    """Render the NumPy executor's program for kernel ``k`` (see interpret.render_program)."""
    if k.kind not in ("elementwise", "reduce"):
        k.program = None
        return
    todo = set(k.body) | set(k.post) | set(k.reduce_views)
    if k.reduce is not None:
        todo.add(k.reduce)
    # steps without an evaluator read this run's node (a RESHAPE's target shape, a reduction's)
    steps = [(p, tuple(pos[x] for x in nodes[p].inputs),
              None if nodes[p].op is Op.RESHAPE else evaluator(nodes[p]))
             for p in sorted(todo)]
    k.program = render_program(k, steps, nodes)
