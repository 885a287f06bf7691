"""Barrier kinds: node kinds that run as kernels of their own, one registry entry each.

A barrier node (EXTERN, CONTRACT; later sparse products, convolutions) is not fused into a
loop nest: fuse.py gives it a kernel of its own whose operands are loads (a view of a
buffer stays a view, computed operands are materialized first), and its element-wise
consumers fuse into the next kernel.  Everything else about the kind lives in its
:class:`Barrier` entry, registered by its ``OpKind``:

* ``structural_arg(arg)``: the part of the node's ``arg`` that shapes a plan (sizes never do);
* ``executor(root, operand_shapes, mode, policy)``: ``"numpy"`` or ``"numba"`` for these sizes
  (``mode`` is the forced executor or ``"auto"``; ``policy(work)`` is the runtime's choice for
  that much work);
* ``describe(root, executor)``: ``(backend, variant)`` for ``explain()``;
* ``run(root, operands, out, executor)``: compute into ``out`` (or return a new array).

fuse.py, schedule.py and runtime.py dispatch through :data:`BARRIERS` / :data:`BY_NAME`,
so a new kind is one file here plus its front end (JAX registers lowerings per primitive
in the same way), and a CUDA back end adds a run function per entry.
"""
from __future__ import annotations

from ..ir import OpKind, register_structural_arg

BARRIERS: dict = {}      # OpKind -> Barrier
BY_NAME: dict = {}       # Kernel.kind -> Barrier


class Barrier:
    """The default entry: runs with NumPy, always; the whole arg is structural."""
    name = "barrier"
    #: does ``run`` take a preallocated output (else it returns its result)?
    writes_out = True

    def structural_arg(self, arg):
        return arg

    def executor(self, root, operand_shapes, mode, policy):
        return "numpy"

    def describe(self, root, executor):
        return ("cpu" if executor == "numba" else "numpy"), "-"

    def run(self, root, operands, out, executor):
        raise NotImplementedError(self.name)


def register(kind: OpKind, barrier: Barrier):
    """Make ``kind`` a barrier kind handled by ``barrier``."""
    BARRIERS[kind] = barrier
    BY_NAME[barrier.name] = barrier
    register_structural_arg(kind, barrier.structural_arg)
    return barrier


from . import contract, conv, correlate, extern, sparse  # noqa: E402,F401  (each registers its entry)
