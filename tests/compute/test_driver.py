"""The driver: values at the vertices are computed once and carried, within the budget."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import regionscope as rs
from regionscope.compute.driver import cut_2d, evaluator, stage_plan
from regionscope.geometry import Mesh
from regionscope.network.program import compile_model

sys.path.insert(0, str(Path(__file__).parent))
from test_merge import plane, small_cnn  # noqa: E402


def _count_rows(monkeypatch, layer) -> list[int]:
    rows: list[int] = []
    forward = layer.forward

    def counted(x):
        rows.append(len(x))
        return forward(x)

    monkeypatch.setattr(layer, "forward", counted)
    return rows


@pytest.mark.parametrize("memory, once", [(1 << 32, True), (1, False)])
def test_a_layer_is_evaluated_once_when_the_budget_allows(monkeypatch, memory, once):
    """With an ample budget the second convolution runs once, at the vertices of the mesh the
    first ReLU layer made: later layers get their inputs by interpolation.  With no budget
    it runs again for every group of units (the test can fail)."""
    net, domain = small_cnn(3, argmax=True), plane(3)
    square = Mesh.from_polygon(domain.polygon)
    first = compile_model(rs.Sequential(*net.layers[:2]), 36)
    mid, _ = cut_2d(evaluator(domain, first), domain, square, 0)  # the first ReLU layer alone
    ev = evaluator(domain, compile_model(net, 36))
    assert stage_plan(ev.program, 0)[0] == (1, 0)
    rows = _count_rows(monkeypatch, net.layers[2])  # after the magnitudes
    with rs.budget(memory_bytes=memory):
        mesh, _ = cut_2d(ev, domain, square, 0)
    assert mesh.num_regions > 2 * mid.num_regions
    if once:
        assert rows == [mid.num_vertices]
    else:
        assert sum(rows) > 3 * mid.num_vertices
