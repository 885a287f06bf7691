"""IR structure: interning, iterative traversal, deep graphs."""
import numpy as np
import pytest

import arrayforge as xp
from lowering import Op, toposort

pytestmark = pytest.mark.usefixtures("lazy")     # small arrays are recorded, not run at once


def test_identical_subexpressions_are_one_node():
    a = xp.asarray(np.arange(5.0))
    assert (a * 2 + 1)._node is (a * 2 + 1)._node
    assert (a * 2)._node is not (a * 3)._node


def test_signed_zero_constants_are_distinct():
    a = xp.asarray(np.ones(3))
    assert (a * 0.0)._node is not (a * -0.0)._node
    assert np.signbit(np.asarray(a * -0.0)).all()


def test_toposort_is_iterative_on_long_chain():
    a = xp.asarray(np.ones(4))
    x = a
    for _ in range(200):
        x = x + 1.0
    order = toposort([x._node])
    assert order[-1] is x._node
    assert len(order) <= 202


def test_chain_of_100000_ops_evaluates():
    x = xp.asarray(np.zeros(3))
    for _ in range(100_000):
        x = x + 1.0
    np.testing.assert_array_equal(np.asarray(x), np.full(3, 100_000.0))


def test_ops_enum_is_grouped_and_unique():
    assert Op.ADD is not Op.SUB
    assert Op.ADD.kind.name == "BINARY" and Op.SUM.kind.name == "REDUCE"
    assert len({op.value for op in Op}) == len(Op)
