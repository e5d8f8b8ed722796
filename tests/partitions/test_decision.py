"""Decision boundaries of plain classifiers (K logits, no Argmax layer), checked against the
model on both sides of every boundary segment."""

from __future__ import annotations

import numpy as np
import pytest

import regionscope as rs
from regionscope.testing import random_mlp

torch = pytest.importorskip("torch")


def torch_classifier(seed: int, k: int = 4) -> torch.nn.Module:
    torch.manual_seed(seed)
    return (
        torch.nn.Sequential(
            torch.nn.Linear(2, 16),
            torch.nn.ReLU(),
            torch.nn.Linear(16, 16),
            torch.nn.ReLU(),
            torch.nn.Linear(16, k),
        )
        .double()
        .eval()
    )


def sides(segments: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    mid = segments.mean(axis=1)
    d = segments[:, 1] - segments[:, 0]
    normal = np.stack([-d[:, 1], d[:, 0]], axis=1) / np.linalg.norm(d, axis=1)[:, None]
    return mid + eps * normal, mid - eps * normal


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_k_logit_boundary_separates_classes_of_the_real_model(seed):
    model = torch_classifier(seed)
    part = rs.partition(model, rs.Box(2.0))
    seg = part.decision_segments()
    assert len(seg) > 0
    mid = seg.mean(axis=1)
    with torch.no_grad():
        logits = model(torch.from_numpy(mid)).numpy()
    top2 = np.sort(logits, axis=1)[:, -2:]
    np.testing.assert_allclose(top2[:, 1], top2[:, 0], atol=1e-9)  # a tie of the top two
    long = np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1) > 1e-4
    a, b = sides(seg[long], 1e-7)
    with torch.no_grad():
        ca = model(torch.from_numpy(a)).argmax(1).numpy()
        cb = model(torch.from_numpy(b)).argmax(1).numpy()
    assert (ca != cb).all()  # the class changes across every segment


def test_classes_and_counts():
    model = torch_classifier(3)
    part = rs.partition(model, rs.Box(2.0))
    cut = part.with_decision()
    assert cut is part.with_decision()  # kept
    assert cut.num_regions > part.num_regions
    assert rs.partition(model, rs.Box(2.0), decision=True).num_regions == cut.num_regions
    with torch.no_grad():
        want = model(torch.from_numpy(cut.centroids().copy())).argmax(1).numpy()
    np.testing.assert_array_equal(cut.classes(), want)
    with pytest.raises(ValueError, match="with_decision"):
        part.classes()


def test_one_logit_and_argmax_networks_are_their_own_decision():
    one = random_mlp([2, 8, 1], seed=5)
    part = rs.partition(one, rs.Box(1.0))
    assert part.with_decision() is part
    seg = part.decision_segments()
    vals = part.region_values(seg.mean(axis=1))
    np.testing.assert_allclose(vals[:, 0], 0.0, atol=1e-9)
    with_argmax = rs.Sequential(*random_mlp([2, 8, 3], seed=5).layers, rs.Argmax())
    p2 = rs.partition(with_argmax, rs.Box(1.0))
    assert p2.with_decision() is p2
    assert rs.partition(with_argmax, rs.Box(1.0), decision=True).num_regions == p2.num_regions


def test_explicit_output_gives_its_zero_set():
    part = rs.partition(random_mlp([2, 8, 3], seed=6), rs.Box(1.0))
    seg = part.decision_segments(output=1)
    np.testing.assert_allclose(part.region_values(seg.mean(axis=1))[:, 1], 0.0, atol=1e-9)


def test_class_pictures_use_the_decision_cut():
    from regionscope.render.fills import drawn_partition

    net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0]]))  # two logits, one region
    part = rs.partition(net, rs.Box(1.0))
    assert part.num_regions == 1
    drawn = drawn_partition(part, {"color_by": "class"})
    assert drawn.num_regions == 2 and sorted(drawn.classes().tolist()) == [0, 1]
    assert drawn_partition(part, {"color_by": "pattern"}) is part
    svg = part.to_svg(color_by="class", legend=False, axes=False, title=None)
    regions = svg.split('class="regions"')[1].split("</g>")[0]
    assert regions.count("<path") == 2  # one path per class region
    png = part.to_png(color_by="class", engine="numpy", size=(64, 64), padding=0)
    import io

    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    upper_left, lower_right = pixels[5 * 64 + 5], pixels[58 * 64 + 58]
    # x > y on the lower right (class 0), y > x on the upper left (class 1)
    assert tuple(upper_left) != tuple(lower_right)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_decision_cut_takes_the_logits_from_the_maps(monkeypatch, seed):
    """with_decision() reads the logits at the vertices from the regions' affine maps: no
    forward pass at the vertices, and the regions and classes of cutting with the logits
    of a forward pass (``add(Argmax())``)."""
    model = torch_classifier(seed)
    part = rs.partition(model, rs.Box(2.0))
    by_forward = part.add(rs.Argmax())
    calls = []
    real = rs.network.evaluate.Evaluator.forward_registers

    def spy(self, coords, index):
        calls.append(len(coords))
        return real(self, coords, index)

    monkeypatch.setattr(rs.network.evaluate.Evaluator, "forward_registers", spy)
    cut = part.with_decision()
    assert calls == []
    assert cut.num_regions == by_forward.num_regions > part.num_regions
    probe = cut.centroids()
    np.testing.assert_array_equal(cut.classes(), by_forward.classes()[by_forward.locate(probe)])
    np.testing.assert_allclose(np.sort(cut.areas()), np.sort(by_forward.areas()), atol=1e-12)
    with torch.no_grad():
        want = model(torch.from_numpy(probe.copy())).argmax(1).numpy()
    np.testing.assert_array_equal(cut.classes(), want)


def test_a_wrong_start_input_is_refused():
    part = rs.partition(random_mlp([2, 8, 3], seed=1), rs.Box(1.0))
    start, ev = 3, rs.compute.evaluator(part.domain, part.program.extend(rs.Argmax()))
    with pytest.raises(ValueError, match="start_input must be a float64 array of shape"):
        rs.compute.cut_2d(ev, part.domain, part.mesh, start, start_input=np.zeros((2, 3)))
