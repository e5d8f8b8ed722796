"""Tolerances and budgets: one place, context variables, validated."""

from __future__ import annotations

import threading

import pytest

import regionscope as rs
from regionscope.testing import assert_partitions_equal, random_mlp
from regionscope.tolerances import (
    MEMORY_FALLBACK_BYTES,
    Budget,
    Tolerance,
    available_memory,
    budget,
    default_memory_bytes,
    get_budget,
    get_tolerance,
    tolerance,
)


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


def test_the_memory_budget_is_in_bytes_from_the_available_memory():
    avail = available_memory()
    assert avail is None or avail > 0
    assert Budget().memory_bytes >= 256 << 20
    if avail is not None:  # a quarter of what was available at import (it moves since)
        assert Budget().memory_bytes <= max(avail, 256 << 20)
    assert default_memory_bytes(None) == MEMORY_FALLBACK_BYTES
    assert default_memory_bytes(40 << 30) == 10 << 30  # a quarter
    assert default_memory_bytes(1 << 20) == 256 << 20  # never below 256 MiB
    assert Budget() == Budget()  # read once, at import


def test_stored_values_count_their_interpolation_copy():
    b = Budget(memory_bytes=8 * 2 * 100)
    assert b.stored_bytes == 1600
    assert b.stores(10, 10) and b.stores(100, 1) and not b.stores(10, 11)
    assert Budget(memory_bytes=1).stores(0, 1000)
    assert not Budget(memory_bytes=1).stores(1, 1)
    # the deprecated count of values replaces the bytes
    assert Budget(memory_bytes=1, register_values=100).stored_bytes == 800
    with pytest.raises(ValueError, match="memory_bytes must be a positive integer"):
        Budget(memory_bytes=0)
    with pytest.raises(ValueError, match="register_values must be a positive integer"):
        Budget(register_values=0)


@pytest.mark.parametrize("memory", [1, 1 << 14, 1 << 40])
def test_tiny_and_huge_memory_budgets_give_one_partition(memory):
    net = rs.Sequential(*random_mlp([2, 16, 16], seed=5).layers, rs.Linear([[1.0] * 16] * 3),
                        rs.Argmax())  # fmt: skip
    reference = rs.partition(net, rs.Box(1.0))
    with budget(memory_bytes=memory):
        assert get_budget().memory_bytes == memory
        part = rs.partition(net, rs.Box(1.0))
    assert_partitions_equal(reference, part)
