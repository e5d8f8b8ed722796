"""The driver: values at the vertices are computed once and carried, within the budget."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import regionscope as rs
import regionscope.compute.chain2d as chain2d
import regionscope.compute.driver as driver
from regionscope.compute.driver import cut_2d, evaluator, stage_plan
from regionscope.compute.limits import check_finite
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
    if hasattr(layer, "forward_into"):  # (a forward pass may write into its table)
        into = layer.forward_into

        def counted_into(x, out):
            rows.append(len(x))
            return into(x, out=out)

        monkeypatch.setattr(layer, "forward_into", counted_into)
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


def _arrays_equal(a, b) -> None:
    x, y = a.to_arrays(), b.to_arrays()
    for key in x:
        if key != "stats":
            np.testing.assert_array_equal(np.asarray(x[key]), np.asarray(y[key]), err_msg=key)


def _cut_widths(monkeypatch) -> list[int]:
    """The number of units handed to each cut by the driver, from now on."""
    widths: list[int] = []
    real = driver.cut

    def spy(mesh, z, *args, **kwargs):
        widths.append(z.shape[1])
        return real(mesh, z, *args, **kwargs)

    monkeypatch.setattr(driver, "cut", spy)
    monkeypatch.setattr(chain2d, "CHAIN_2D", False)  # the driver's own cuts
    return widths


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_layers_cut_by_their_live_units_only(monkeypatch, seed):
    """A ReLU layer on a stored input hands the cut only the units with both signs at the
    vertices; the partition's arrays are those of cutting every unit."""
    widths = _cut_widths(monkeypatch)
    net = rs.testing.random_mlp([2, 12, 40, 40], seed=seed)
    domain = rs.Box(2.0)
    monkeypatch.setattr(driver, "LIVE_UNITS_MIN_WIDTH", 0)
    live = rs.partition(net, domain)
    live_widths, widths[:] = list(widths), []
    monkeypatch.setattr(driver, "LIVE_UNITS_ONLY", False)
    every = rs.partition(net, domain)
    assert widths == [12, 40, 40]  # every unit of each layer (one chunk each)
    assert live_widths[0] == 12 and all(w <= 40 for w in live_widths[1:])
    _arrays_equal(live, every)


def test_a_unit_of_one_sign_is_not_cut_by_hand(monkeypatch):
    """relu(x0), relu(x1) on the box [-1, 1]^2, then relu(y0 - y1) and relu(y0 + y1 + 1):
    the second is positive everywhere, only the first is live."""
    seen = []
    real = driver.cut

    def spy(mesh, z, tol, codes, *args, **kwargs):
        seen.append(rs.geometry.decode_source(codes)[1].tolist())
        return real(mesh, z, tol, codes, *args, **kwargs)

    monkeypatch.setattr(driver, "cut", spy)
    monkeypatch.setattr(driver, "LIVE_UNITS_MIN_WIDTH", 0)
    monkeypatch.setattr(chain2d, "CHAIN_2D", False)  # the driver's own cuts
    net = rs.Sequential(rs.ReLU(), rs.Linear(np.array([[1.0, -1.0], [1.0, 1.0]]), [0.0, 1.0]),
                        rs.ReLU())  # fmt: skip
    part = rs.partition(net, rs.Box(1.0))
    assert seen[1:] == [[0]]
    # the quadrants; y0 = y1 splits the positive one
    assert part.num_regions == 5


def test_a_stored_input_that_overflows_is_refused():
    """The live units are found on the whole stored input, so an overflow in a unit that
    would never cut is still refused."""
    huge = np.array([[1.0, 0.0], [1e308, 1e308]])
    net = rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU(), rs.Linear(huge, [0.0, 0.0]),
                        rs.ReLU(), rs.Linear(np.array([[1.0, 1e308]])), rs.ReLU())  # fmt: skip
    with pytest.raises(ValueError, match="not finite"):
        rs.partition(net, rs.Box(1.0))


@pytest.mark.parametrize("seed", [0, 1])
def test_narrow_relu_layers_skip_the_live_search(monkeypatch, seed):
    """ReLU layers narrower than ``LIVE_UNITS_MIN_WIDTH`` hand the cut every unit, wider ones
    their live units only; the arrays are the same either way."""
    widths = _cut_widths(monkeypatch)
    net = rs.testing.random_mlp([2, 12, 40, 40], seed=seed)
    domain = rs.Box(2.0)
    monkeypatch.setattr(driver, "LIVE_UNITS_MIN_WIDTH", 41)
    narrow = rs.partition(net, domain)
    assert widths == [12, 40, 40]
    widths[:] = []
    monkeypatch.setattr(driver, "LIVE_UNITS_MIN_WIDTH", 40)
    wide = rs.partition(net, domain)
    assert widths[0] == 12 and min(widths[1:]) < 40  # some unit of one sign everywhere
    _arrays_equal(narrow, wide)


def test_finite_values_whose_sum_overflows_pass():
    """The finiteness check starts from the sum of the values; a sum that overflows is
    checked again value by value (finite: no error), an infinity is refused."""
    op = compile_model(rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU()), 2).ops[1]
    check_finite(np.full((4, 2), 1e308), op)
    with pytest.raises(ValueError, match="not finite"):
        check_finite(np.array([[1e308, np.inf], [-np.inf, 1.0]]), op)


def test_registers_advance_in_chunks_where_the_way_there_passes_the_budget(monkeypatch):
    """Between the second and the third ReLU layer runs a wide Linear layer (400 outputs).
    With a budget that holds the carried values but not that layer's output at every vertex,
    the values go on from the carried ones in chunks of vertices (each vertex once), not by
    a second forward pass from the domain (the first: the second ReLU layer's input, the
    first one's being affine on the domain); the partition is the one of an ample budget."""
    monkeypatch.setattr(chain2d, "CHAIN_2D", False)  # the driver's own passes
    rng = np.random.default_rng(4)
    net = rs.Sequential(
        rs.Linear(rng.normal(size=(8, 2)), rng.normal(size=8)), rs.ReLU(),
        rs.Linear(rng.normal(size=(8, 8)), rng.normal(size=8)), rs.ReLU(),
        rs.Linear(rng.normal(size=(400, 8)) / 3), rs.Linear(rng.normal(size=(6, 400)) / 20,
        rng.normal(size=6)), rs.ReLU(),
    )  # fmt: skip
    domain = rs.Box(1.0)
    ample = rs.partition(net, domain)
    mid = rs.partition(rs.Sequential(*net.layers[:4]), domain)
    nverts = mid.num_vertices
    forwards: list[int] = []
    real = rs.network.evaluate.Evaluator.forward_registers

    def spy(self, *args, **kwargs):
        forwards.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(rs.network.evaluate.Evaluator, "forward_registers", spy)
    rows = _count_rows(monkeypatch, net.layers[4])
    with rs.budget(memory_bytes=16 * nverts * 50, chunk_values=400 * 3):
        tight = rs.partition(net, domain)
    assert forwards == [1] and max(rows) <= 3 and sum(rows) == nverts
    assert tight.num_regions == ample.num_regions > mid.num_regions
    np.testing.assert_allclose(tight.vertices, ample.vertices, rtol=0, atol=1e-12)
    for layer in tight.piecewise_layers:
        np.testing.assert_array_equal(
            tight.activation_patterns(layer), ample.activation_patterns(layer)
        )
