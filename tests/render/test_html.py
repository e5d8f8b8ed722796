"""Tests of regionscope.render.html: the page's data, and the viewer in a real browser.

The browser tests drive Debian's headless Chromium (/usr/bin/chromium) with
Playwright for Python (``executable_path`` set: no browser is downloaded).
They skip, with the reason, where either is missing.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
import zlib

import numpy as np
import pytest

import regionscope as rs
from regionscope.render import html as rhtml

# --------------------------------------------------------------------------------------
# the page's data, read back in Python


def unpack(d: dict) -> np.ndarray:
    """Independent decoder of :func:`pack_array` (base64, zlib, byte shuffle)."""
    dtype = {"f8": "<f8", "f4": "<f4", "u1": "u1", "u2": "<u2", "u4": "<u4", "i4": "<i4"}[d["t"]]
    raw = base64.b64decode(d["b"])
    if d["z"]:
        raw = zlib.decompress(raw)
    size = np.dtype(dtype).itemsize
    buf = np.frombuffer(raw, np.uint8)
    if d["s"]:
        buf = buf.reshape(size, d["n"]).T.reshape(-1)
    return np.frombuffer(buf.tobytes(), dtype)


def page_data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="rs-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1).replace("<\\/", "</"))


@pytest.mark.parametrize("dtype", ["<f8", "<f4", "u1", "<u2", "<u4", "<i4"])
@pytest.mark.parametrize("compress", [True, False])
def test_pack_array_round_trip(dtype, compress):
    rng = np.random.default_rng(3)
    arr = (rng.normal(size=37) * 1000).astype(dtype)
    d = rhtml.pack_array(arr.reshape(-1, 1), compress)
    assert d["n"] == 37 and d["z"] == compress
    assert d["s"] == (compress and np.dtype(dtype).kind == "f")
    np.testing.assert_array_equal(unpack(d), arr)
    with pytest.raises(TypeError, match="dtype"):
        rhtml.pack_array(np.zeros(3, dtype=np.int64))


def test_page_holds_the_partition(mlp):
    data = page_data(mlp.to_html(color_by="class", class_names=["a", "b", "c"]))
    (step,) = data["steps"]
    arrays = {k: unpack(v) for k, v in step["arrays"].items()}
    assert step["regions"] == mlp.num_regions
    np.testing.assert_array_equal(arrays["xy"].reshape(-1, 2), mlp.vertices)
    np.testing.assert_array_equal(arrays["rv"], mlp.region_vertices)
    np.testing.assert_array_equal(np.cumsum(arrays["sizes"]), mlp.region_offsets[1:])
    a_maps, c_maps = mlp.affine_maps()
    np.testing.assert_array_equal(arrays["A"].reshape(a_maps.shape), a_maps)
    np.testing.assert_array_equal(arrays["c"].reshape(c_maps.shape), c_maps)
    assert [e["label"] for e in step["legend"]] == ["a", "b", "c"]
    for layer in step["layers"]:
        want = mlp.activation_patterns(layer["index"])
        got = unpack(layer["pattern"]["data"])
        if layer["pattern"]["kind"] == "bits":
            bits = np.unpackbits(got.reshape(mlp.num_regions, -1), axis=1, bitorder="little")
            np.testing.assert_array_equal(bits[:, : want.shape[1]].astype(bool), want)
        else:
            np.testing.assert_array_equal(
                got.reshape(want.shape) + layer["pattern"]["offset"], want
            )


def test_side_codes_name_the_layer_of_each_edge(mlp):
    data = page_data(mlp.to_html())
    (step,) = data["steps"]
    side = unpack(step["arrays"]["side"])
    code_layer = {layer["code"]: layer["index"] for layer in step["layers"] if layer["code"]}
    # the decision boundary (Argmax) is drawn on its own, not as a layer's edges
    assert sorted(code_layer.values()) == [1, 3]  # not 5, the Argmax
    edge_of = {tuple(sorted(e)): i for i, e in enumerate(mlp.edges.tolist())}
    rv, off = mlp.region_vertices, mlp.region_offsets
    for f in range(mlp.num_regions):
        corners = rv[off[f] : off[f + 1]]
        for k, (a, b) in enumerate(zip(corners, np.roll(corners, -1), strict=True)):
            layer = mlp.edge_layer[edge_of[tuple(sorted((int(a), int(b))))]]
            assert code_layer.get(int(side[off[f] + k]), -1) == (layer if layer in (1, 3) else -1)


def test_page_is_self_contained(quad, tmp_path):
    path = tmp_path / "page.html"
    text = quad.to_html(path, title="<quad & co>")
    assert path.read_text(encoding="utf-8") == text
    assert "<title>&lt;quad &amp; co&gt;</title>" in text
    # nothing is fetched: no external scripts, styles, images or fonts
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", text)
    assert "http://" not in text and "https://" not in text and "@import" not in text
    assert text.count("</script>") == 2  # the data and the viewer, both inline


def test_write_html_checks_its_input(quad, mlp):
    with pytest.raises(ValueError, match="at least one"):
        rhtml.write_html([])
    with pytest.raises(ValueError, match="share one domain"):
        rhtml.write_html([quad, mlp])
    with pytest.raises(ValueError, match="steps has 1 labels for 2"):
        rhtml.write_html([mlp, mlp], steps=["a"])
    with pytest.raises(TypeError, match="2-D"):
        rhtml.write_html([mlp.slice([-1, 0], [1, 0])])
    with pytest.raises(TypeError, match="unknown option"):
        rhtml.to_html(mlp, size=300)
    with pytest.raises(ValueError, match="max_outputs"):
        rhtml.to_html(mlp, max_outputs=-1)


def test_series_coloured_by_values_share_one_range(mlp):
    scaled = rs.partition(
        rs.Sequential(*mlp.model.layers[:-2], rs.Linear(2 * mlp.model.layers[-2].weight)),
        rs.Box(1.0),
    )
    data = page_data(rhtml.write_html([mlp, scaled], color_by="output", steps=["x1", "x2"]))
    ranges = {(s["values"]["vmin"], s["values"]["vmax"]) for s in data["steps"]}
    assert len(ranges) == 1
    vals = np.concatenate([p.region_values(p.centroids())[:, 0] for p in (mlp, scaled)])
    assert ranges.pop() == (vals.min(), vals.max())  # the union of both steps' ranges
    assert [s["label"] for s in data["steps"]] == ["x1", "x2"]


def test_max_outputs_limits_the_maps(mlp):
    (step,) = page_data(mlp.to_html(max_outputs=2))["steps"]
    assert step["shown_outputs"] == 2 and step["outputs"] == 3
    assert unpack(step["arrays"]["c"]).size == 2 * mlp.num_regions


# --------------------------------------------------------------------------------------
# in a real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Viewer:
    """A page of the viewer open in the browser, with its console errors collected."""

    def __init__(self, browser, path, size=(1000, 700)):
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "console", lambda m: self.errors.append(m.text) if m.type == "error" else None
        )
        t0 = time.perf_counter()
        self.page.goto(path.as_uri())
        self.page.wait_for_function(
            "window.regionscope && (regionscope.ready || regionscope.error)", timeout=120_000
        )
        self.seconds = time.perf_counter() - t0
        assert self.page.evaluate("regionscope.error") is None

    def hover(self, xy) -> dict:
        """Move the mouse over domain point ``xy``; the info panel's fields."""
        x, y = self.screen(xy)
        self.page.mouse.move(x, y)
        return self.info()

    def screen(self, xy) -> list[float]:
        """Page pixel of domain point ``xy``."""
        return self.page.evaluate("([x, y]) => regionscope.toScreen(x, y)", [float(v) for v in xy])

    def locate(self, xy) -> int:
        return self.page.evaluate("([x, y]) => regionscope.locate(x, y)", [float(v) for v in xy])

    def info(self) -> dict:
        return self.page.evaluate(
            """() => {
              const box = document.getElementById('rs-info');
              const out = {region: Number(box.dataset.region), layers: {}};
              for (const td of box.querySelectorAll('[data-field]'))
                out[td.dataset.field] = td.dataset.value ?? td.textContent;
              for (const c of box.querySelectorAll('code[data-layer]'))
                out.layers[c.dataset.layer] = c.textContent;
              out.region = Number(box.dataset.region);
              return out;
            }"""
        )

    def canvas_pixels(self) -> np.ndarray:
        shot = self.page.locator("#rs-canvas").screenshot()
        from regionscope.render.png import PNG_SIGNATURE

        assert shot[:8] == PNG_SIGNATURE
        return np.frombuffer(shot, np.uint8)

    def close(self):
        self.page.close()


def pattern_text(pattern: np.ndarray) -> str:
    if pattern.dtype == bool:
        return "".join("1" if v else "0" for v in pattern)
    return ",".join(str(int(v)) for v in pattern)


def inner_radius(poly: np.ndarray, point: np.ndarray) -> float:
    a, b = poly, np.roll(poly, -1, axis=0)
    d = b - a
    cross = d[:, 0] * (point[1] - a[:, 1]) - d[:, 1] * (point[0] - a[:, 0])
    return float((cross / np.hypot(d[:, 0], d[:, 1])).min())


def roomy_regions(part, pixels_per_unit: float, min_px: float = 4.0) -> list[int]:
    return [
        f
        for f in range(part.num_regions)
        if inner_radius(part.polygon(f), part.centroids()[f]) * pixels_per_unit >= min_px
    ]


def check_region(part, info: dict, f: int, point) -> None:
    """The panel shows region ``f``: id, area, every layer's pattern, output and affine map."""
    assert info["region"] == f
    assert float(info["area"]) == pytest.approx(part.areas()[f], rel=1e-12)
    for layer in part.piecewise_layers:
        assert info["layers"][str(layer)] == pattern_text(part.activation_patterns(layer)[f])
    a_maps, c_maps = part.affine_maps()
    shown = np.array(json.loads(info["affine"]))  # JSON numbers round-trip float64 exactly
    np.testing.assert_array_equal(shown[:, :2], a_maps[f])
    np.testing.assert_array_equal(shown[:, 2], c_maps[f])
    out = part.region_values(np.array([point]))[0]
    assert int(info["class"]) == int(np.argmax(out))


def test_hover_shows_each_regions_patterns(browser, mlp, tmp_path):
    path = tmp_path / "mlp.html"
    mlp.to_html(path, color_by="class")
    v = Viewer(browser, path)
    scale = v.page.evaluate("regionscope.view().s")
    regions = roomy_regions(mlp, scale)
    assert len(regions) >= 15
    for f in regions:
        c = mlp.centroids()[f]
        check_region(mlp, v.hover(c), f, c)
        assert v.locate(c) == f
    outside = v.screen([1.03, 0.0])  # in the page margin, beside the domain
    v.page.mouse.move(*outside)
    assert v.info()["region"] == -1
    v.page.screenshot(path=str(tmp_path / "hover.png"))
    assert v.errors == []
    v.close()


def test_zoom_and_pan_keep_the_region_under_a_point(browser, mlp, tmp_path):
    path = tmp_path / "mlp.html"
    mlp.to_html(path)
    v = Viewer(browser, path)
    scale0 = v.page.evaluate("regionscope.view().s")
    # the smallest regions are too small to hover before zooming in
    small = [f for f in range(mlp.num_regions) if f not in roomy_regions(mlp, scale0, 2.0)]
    f = min(small, key=lambda g: abs(inner_radius(mlp.polygon(g), mlp.centroids()[g]) - 0.01))
    target = mlp.centroids()[f]
    for _ in range(12):  # wheel towards the region, keeping it under the mouse
        x, y = v.screen(target)
        v.page.mouse.move(x, y)
        v.page.mouse.wheel(0, -300)
        v.page.wait_for_timeout(30)
    scale = v.page.evaluate("regionscope.view().s")
    assert scale > 20 * scale0
    # the domain point under the mouse is still the target, and so is its region
    x, y = v.screen(target)
    back = v.page.evaluate("([x, y]) => regionscope.toDomain(x, y)", [x, y])
    assert back == pytest.approx(target, abs=1e-9)
    check_region(mlp, v.hover(target), f, target)
    # drag: the view moves by the mouse's path, and the region follows the pixels
    v.page.mouse.down()
    v.page.mouse.move(x + 40, y + 25, steps=4)
    v.page.mouse.up()
    moved = v.screen(target)
    assert moved == pytest.approx([x + 40, y + 25], abs=1e-6)
    check_region(mlp, v.hover(target), f, target)
    v.page.wait_for_timeout(200)  # the full drawing after the gesture
    v.page.screenshot(path=str(tmp_path / "zoomed.png"))
    assert v.errors == []
    v.close()


def test_toggles_hide_and_show_edges(browser, mlp, tmp_path):
    path = tmp_path / "mlp.html"
    mlp.to_html(path)
    v = Viewer(browser, path)
    before = v.canvas_pixels()
    boxes = v.page.locator("#rs-toggles input")
    kinds = [boxes.nth(i).get_attribute("data-toggle") for i in range(boxes.count())]
    assert kinds == ["fill", "layer", "layer", "decision"]
    for i in range(1, boxes.count()):
        boxes.nth(i).uncheck()
        hidden = v.canvas_pixels()
        assert not np.array_equal(hidden, before), kinds[i]
        boxes.nth(i).check()
        np.testing.assert_array_equal(v.canvas_pixels(), before)
    assert v.errors == []
    v.close()


def test_slider_steps_through_a_series(browser, mlp, tmp_path):
    w = np.random.default_rng(1).normal(size=(2, 8))
    other = rs.partition(
        rs.Sequential(*mlp.model.layers[:2], rs.Linear(w), rs.Argmax()), rs.Box(1.0)
    )
    path = tmp_path / "series.html"
    rhtml.write_html([mlp, other], path, steps=["epoch 1", "epoch 2"])
    v = Viewer(browser, path)
    assert "epoch 1" in v.page.inner_text("#rs-step-label")
    v.page.locator("#rs-step").fill("1")
    v.page.wait_for_function("regionscope.step === 1")
    assert "epoch 2" in v.page.inner_text("#rs-step-label")
    scale = v.page.evaluate("regionscope.view().s")
    for f in roomy_regions(other, scale)[:10]:
        c = other.centroids()[f]
        check_region(other, v.hover(c), f, c)
    assert v.errors == []
    v.close()


@pytest.mark.slow
def test_a_hundred_thousand_regions_load_and_stay_interactive(browser, tmp_path):
    rng = np.random.default_rng(0)
    n = 450  # a [2, 450] layer with lines through the middle: ~10^5 regions
    net = rs.Sequential(
        rs.Linear(rng.normal(size=(n, 2)), 0.3 * rng.normal(size=n)),
        rs.ReLU(),
        rs.Linear(rng.normal(size=(3, n)) / 20),
        rs.Argmax(),
    )
    part = rs.partition(net, rs.Box(4.0))
    assert part.num_regions > 90_000
    path = tmp_path / "big.html"
    text = part.to_html(path)
    megabytes = len(text.encode()) / 1e6
    v = Viewer(browser, path)
    timings = v.page.evaluate("regionscope.timings")
    print(
        f"\n{part.num_regions} regions: page {megabytes:.1f} MB, loaded in {v.seconds:.2f} s "
        f"(browser: {timings})"
    )
    assert megabytes < 150 * part.num_regions / 1e6  # about 120 bytes per region
    assert v.seconds < 30
    # hovering answers within a frame or two, and is right
    scale = v.page.evaluate("regionscope.view().s")
    picks = roomy_regions(part, scale, 3.0)[::997][:10]
    t0 = time.perf_counter()
    for f in picks:
        c = part.centroids()[f]
        info = v.hover(c)
        assert info["region"] == f
        assert info["layers"]["1"] == pattern_text(part.activation_patterns(1)[f])
    per_hover = (time.perf_counter() - t0) / len(picks)
    assert per_hover < 1.0
    # a full redraw after zooming
    v.page.mouse.wheel(0, -500)
    v.page.wait_for_timeout(400)
    assert v.page.evaluate("regionscope.drawMs") < 5000
    v.page.screenshot(path=str(tmp_path / "big.png"))
    assert v.errors == []
    v.close()
