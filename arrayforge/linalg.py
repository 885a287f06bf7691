"""The linalg extension: matrix products (the contractions live in ``_contract``)."""
from ._contract import matmul, outer, tensordot, vecdot

__all__ = ["matmul", "outer", "tensordot", "vecdot"]
