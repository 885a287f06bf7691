"""EXTERN: a NumPy function run as a kernel of its own (sorts, sets, linalg, fft).

The node's ``arg`` is ``(fn, params)``: the kernel runs ``fn(*operands, *params)`` and casts
the result to the node's dtype and shape.  ``fn`` is a module-level function, so plans key
on (and pickles refer to) its module and qualified name.
"""
from __future__ import annotations

import numpy as np

from ..ir import OpKind
from . import Barrier, register


class Extern(Barrier):
    name = "extern"
    writes_out = False

    def structural_arg(self, arg):
        fn = arg[0]
        return (getattr(fn, "__module__", ""), getattr(fn, "__qualname__", repr(fn)))

    def executor(self, root, operand_shapes, mode, policy):
        return "numpy"          # NumPy/SciPy/LAPACK work, whatever the executor policy

    def run(self, root, operands, out, executor):
        fn, params = root.arg
        return np.asarray(fn(*operands, *params)).astype(root.dtype, copy=False).reshape(root.shape)


register(OpKind.EXTERN, Extern())
