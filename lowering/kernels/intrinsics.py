"""Numba intrinsics the generated CPU kernels use (imported by kernel sources; nothing here
compiles at import).

``prefetch(a, i)``: a software prefetch (LLVM's ``llvm.prefetch``: read, high locality) of
flat element ``i`` of the C-contiguous array ``a``.  A hint only: it never faults, so an
index past the end is harmless, but callers keep it in range anyway.  Sparse products
gather at random; asking for what an entry a few dozen ahead reads lets the memory system
fetch many at once (measured on a 1e6 x 1e6, 1e7-nonzero matrix with 2 threads: SpMV 80-106
-> 20-35 ms, SpMM with 16 columns 500 -> 250-300 ms; see ``sparse_numba._gather_dot`` and
``SOURCES["spmm"]``).
"""
from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, arr, idx):
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer(), i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        # (address, rw = read, locality = 3: keep in all cache levels, cache type = data)
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()
    return sig, codegen
