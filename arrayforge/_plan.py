"""explain(): what compute() would run, as data and as text."""
from dataclasses import dataclass

from lowering import explain_plan


@dataclass(frozen=True)
class KernelInfo:
    kind: str
    ops: tuple
    shape: tuple
    dtype: object
    executor: str       # "numba" or "numpy"
    backend: str        # "cpu" (compiled) or "numpy" (interpreted)
    variant: str        # "parallel" / "serial" / "-"
    inputs: int

    def __str__(self):
        ops = " ".join(self.ops) or "fill"
        return (f"{self.kind:<11} {ops:<40} -> {str(self.shape):<14} {str(self.dtype):<9} "
                f"[{self.executor}{'/' + self.variant if self.variant != '-' else ''}]")


class Plan:
    """The fused plan of some arrays: ``.kernels`` lists one :class:`KernelInfo` per kernel."""

    def __init__(self, steps):
        self.steps = steps
        self.kernels = [k for k in steps if k.kind != "view"]   # views are free NumPy views, not loops

    def __len__(self):
        return len(self.kernels)

    def __str__(self):
        if not self.kernels:
            return "Plan: nothing to compute (all inputs are realized)"
        lines = [f"Plan: {len(self.kernels)} kernel(s)"]
        lines += [f"  [{i}] {k}" for i, k in enumerate(self.kernels)]
        views = len(self.steps) - len(self.kernels)
        if views:
            lines.append(f"  (+{views} free view step(s) on kernel outputs)")
        return "\n".join(lines)

    __repr__ = __str__


def explain(*arrays):
    """The plan ``compute(*arrays)`` would run: fused kernels, their ops and executors."""
    infos = explain_plan([a._node for a in arrays])
    return Plan([KernelInfo(d["kind"], tuple(d["ops"]), d["shape"], d["dtype"], d["executor"],
                            d["backend"], d["variant"], d["inputs"]) for d in infos])


explain.__module__ = "arrayforge"
