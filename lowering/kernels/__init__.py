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

And for the CUDA back end (``lowering.cuda_runtime``):

* ``cuda_module``: the module (relative to this package) whose ``run(root, operands, out)``
  computes the node on a GPU; imported on first use, so ``import arrayforge`` never imports
  numba.cuda.  ``operands`` are contiguous device arrays of the loads' shapes (with
  ``cuda_permuted_operands``: ``(array, axes)`` pairs, a transposed view not copied), ``out``
  a device array of the root's shape from the device pool (None unless ``writes_out``);
* ``cuda_unsupported(op, arg, dtype, inputs)``: why such a node has no GPU kernel (None: it
  has one).  ``make_node`` asks it when the node is recorded on a device, so an unsupported
  call raises NotImplementedError at the line that made it, naming the function and device;
* ``cuda_describe(root)``: the variant ``explain()`` shows for the node on a device.

fuse.py, schedule.py and runtime.py dispatch through :data:`BARRIERS` / :data:`BY_NAME`,
so a new kind is one file here plus its front end (JAX registers lowerings per primitive
in the same way), and a device back end adds a run module per entry.
"""
from __future__ import annotations

import importlib

from ..ir import OpKind, register_device_check, register_structural_arg

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

    #: the module with this kind's CUDA ``run(root, operands, out)`` (None: no GPU kernel)
    cuda_module = None
    #: are the CUDA operands ``(array, axes)`` pairs, a transposed view handed over in place
    #: as its contiguous buffer (the operand is ``array.transpose(axes)``)?  Else contiguous.
    cuda_permuted_operands = False

    def cuda_unsupported(self, op, arg, dtype, inputs):
        """Why a node of this kind (``op``, ``arg``, result ``dtype``) has no CUDA kernel;
        None when it has one."""
        return None if self.cuda_module else "has no CUDA kernel yet"

    def cuda_describe(self, root):
        """The variant ``explain()`` shows for this node on a CUDA device (backend "cuda")."""
        return "-"

    def cuda_run(self, root, operands, out):
        return importlib.import_module(self.cuda_module, __name__).run(root, operands, out)


def register(kind: OpKind, barrier: Barrier):
    """Make ``kind`` a barrier kind handled by ``barrier``."""
    BARRIERS[kind] = barrier
    BY_NAME[barrier.name] = barrier
    register_structural_arg(kind, barrier.structural_arg)
    register_device_check(kind, "cuda", barrier.cuda_unsupported)
    return barrier


from . import contract, conv, correlate, extern, sparse  # noqa: E402,F401  (each registers its entry)
