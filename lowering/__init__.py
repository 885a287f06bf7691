"""lowering: the back end of arrayforge.

IR in, NumPy buffers out.  ``ir`` defines the primitive ops and interned nodes,
``fuse`` groups a graph into kernels, ``schedule`` orders them and plans buffers,
``interpret`` and ``cpu`` execute a plan, ``cache`` keeps compiled kernels in
memory and on disk.  This package never imports arrayforge.
"""
from .ir import Op, Node, OpKind, buffer_node, const_node, make_node, toposort
from .errors import KernelError
from .runtime import realize, realize_deep, run_now, reduce_now, ufunc_now, explain_plan, cache_info, clear_cache, set_executor

__all__ = ["Op", "OpKind", "Node", "buffer_node", "const_node", "make_node", "toposort",
           "KernelError", "realize", "explain_plan", "cache_info", "clear_cache", "set_executor"]
