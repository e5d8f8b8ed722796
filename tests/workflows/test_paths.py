"""Paths: transitions by hand on tiny networks, and equal to dense sampling on generic ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import regionscope as rs
from regionscope.workflows.paths import Path


def relu_x() -> rs.Sequential:
    return rs.testing.tiny_lines([[1.0, 0.0, 0.0]])


def test_square_loop_around_the_cross():
    square = [[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]
    along = Path(square, closed=True).partition(rs.testing.tiny_cross())
    assert along.transitions.tolist() == [1, 1, 1, 1]
    assert along.join_transitions.tolist() == [0, 0, 0, 0]
    assert along.total_transitions == 4
    assert along.breakpoints().tolist() == pytest.approx([1.0, 3.0, 5.0, 7.0])
    # open: the last leg is missing
    open_path = Path(square).partition(rs.testing.tiny_cross())
    assert open_path.transitions.tolist() == [1, 1, 1]
    assert open_path.join_transitions.tolist() == [0, 0]


def test_change_exactly_at_a_join_counts_once():
    # relu(x): off along the first leg up to x = 0, on along the second from x = 0
    along = Path([[-1.0, -1.0], [0.0, 1.0], [1.0, -1.0]]).partition(relu_x())
    assert along.transitions.tolist() == [0, 0]
    assert along.join_transitions.tolist() == [1]
    assert along.total_transitions == 1
    assert along.breakpoints().tolist() == pytest.approx([np.sqrt(5.0)])


def test_touching_the_zero_line_at_a_join_is_no_change():
    along = Path([[-1.0, -1.0], [0.0, 0.0], [-1.0, 1.0]]).partition(relu_x())
    assert along.total_transitions == 0


def test_a_leg_along_the_zero_line():
    # relu(y) is zero along the first leg (off, by the snapping rule), on along the second
    relu_y = rs.testing.tiny_lines([[0.0, 1.0, 0.0]])
    along = Path([[-1.0, 0.0], [1.0, 0.0], [1.0, 1.0]]).partition(relu_y)
    assert along.transitions.tolist() == [0, 0]
    assert along.join_transitions.tolist() == [1]
    # closed: back from (1, 1) to (-1, 0) the unit is on until the end point, on the line
    loop = Path([[-1.0, 0.0], [1.0, 0.0], [1.0, 1.0]], closed=True).partition(relu_y)
    assert loop.join_transitions.tolist() == [1, 0, 1]
    assert loop.total_transitions == 2


def mlp_patterns(layers, x):
    """Activation pattern of a Linear/ReLU stack at inputs ``x``: a plain forward pass."""
    out = []
    for layer in layers:
        if isinstance(layer, rs.Linear):
            x = x @ layer.weight.T + layer.bias
        else:
            out.append(x > 0)
            x = np.maximum(x, 0.0)
    return np.concatenate(out, axis=1)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 5), st.booleans())
def test_transitions_equal_dense_sampling(seed, k, closed):
    assume(k >= 3 or not closed)
    rng = np.random.default_rng(seed)
    dim = 4
    net = rs.testing.random_mlp([dim, 8, 8], seed=seed)
    points = rng.normal(size=(k, dim))
    path = Path(points, closed=closed)
    along = path.partition(net)
    t = np.linspace(0.0, path.length, 40_001)
    pats = mlp_patterns(net.layers, path.lift(t))
    changed = (pats[1:] != pats[:-1]).any(axis=1)
    # pieces shorter than the sampling step could hide a change: skip those draws
    lengths = np.concatenate([np.diff(p.points) for p in along.pieces])
    assume(lengths.min() > 3 * (t[1] - t[0]))
    assert along.total_transitions == int(changed.sum())
    spots = 0.5 * (t[1:] + t[:-1])[changed]
    found = np.sort(along.breakpoints())
    assert len(found) == len(spots)  # (none where the path crosses no unit's zero set)
    assert (np.abs(found - spots) <= t[1] - t[0]).all()


def test_path_works_with_images_and_torch_models():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(16, 12), torch.nn.ReLU(), torch.nn.Linear(12, 3)
    )
    images = np.random.default_rng(0).normal(size=(3, 1, 4, 4))
    path = Path(images, closed=True)
    assert path.input_shape == (1, 4, 4) and len(path.segments) == 3
    along = path.partition(model)
    t = np.linspace(0.0, path.length, 20_001)
    with torch.no_grad():
        x = torch.from_numpy(path.lift(t).reshape(-1, 1, 4, 4))
        h = model[1].double()(model[0](x)).numpy() > 0
    changes = int((h[1:] != h[:-1]).any(axis=1).sum())
    assert along.total_transitions == changes
    assert along.total_transitions > 0


def test_geometry_and_checks():
    path = Path([[0.0, 0.0], [3.0, 4.0], [3.0, 0.0]], closed=True)
    assert path.lengths.tolist() == [5.0, 4.0, 3.0] and path.length == 12.0
    assert path.lift([0.0, 5.0, 9.0, 12.0]).tolist() == [[0, 0], [3, 4], [3, 0], [0, 0]]
    with pytest.raises(ValueError, match="t must be in"):
        path.lift([13.0])
    with pytest.raises(ValueError, match="closed path needs at least 3 points"):
        Path([[0.0, 0.0], [1.0, 1.0]], closed=True)
    with pytest.raises(ValueError, match="points 1 and 2 of the path"):
        Path([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(TypeError, match="closed must be a bool"):
        Path([[0.0, 0.0], [1.0, 1.0]], closed="yes")
