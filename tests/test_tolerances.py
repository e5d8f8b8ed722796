"""Tolerances and budgets: one place, context variables, validated."""

from __future__ import annotations

import threading

import pytest

import regionscope as rs
from regionscope.testing import assert_partitions_equal, random_mlp
from regionscope.tolerances import Budget, Tolerance, budget, get_budget, get_tolerance, tolerance


def test_item8_tolerance_changes_stay_in_their_thread():
    # two threads with overlapping `with` blocks, and a third that partitions meanwhile
    inside = threading.Barrier(3)
    leave = threading.Barrier(3)
    seen: dict[str, float] = {}

    def change(name: str, value: float) -> None:
        with tolerance(value_rtol=value):
            inside.wait()
            seen[name] = get_tolerance().value_rtol
            leave.wait()

    def observe() -> None:
        inside.wait()
        seen["third"] = get_tolerance().value_rtol
        seen["parts"] = rs.partition(random_mlp([2, 8], 0), rs.Box(1.0)).num_regions
        leave.wait()

    threads = [
        threading.Thread(target=change, args=("a", 1e-5)),
        threading.Thread(target=change, args=("b", 1e-3)),
        threading.Thread(target=observe),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    default = Tolerance().value_rtol
    assert seen["a"] == 1e-5 and seen["b"] == 1e-3 and seen["third"] == default
    assert seen["parts"] == rs.partition(random_mlp([2, 8], 0), rs.Box(1.0)).num_regions
    assert get_tolerance().value_rtol == default


def test_bad_tolerances_and_budgets_are_refused():
    with pytest.raises(TypeError, match="unexpected keyword|got an unexpected"):
        with tolerance(value_tol=1e-3):
            pass
    with pytest.raises(ValueError, match="value_rtol must be in"):
        Tolerance(value_rtol=-1.0)
    with pytest.raises(TypeError, match="strict must be True or False"):
        Tolerance(strict="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk_values must be a positive integer"):
        Budget(chunk_values=0)


def test_budgets_do_not_change_the_partition():
    net = random_mlp([2, 20, 20], seed=3)
    reference = rs.partition(net, rs.Box(1.0))
    with budget(chunk_values=50, table_values=40, register_values=1):
        assert get_budget().chunk_values == 50
        small = rs.partition(net, rs.Box(1.0))
    assert get_budget() == Budget()
    assert_partitions_equal(reference, small)
