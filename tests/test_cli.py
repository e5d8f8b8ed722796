"""Tests of the ``regionscope`` command line."""

from __future__ import annotations

import struct
import subprocess
import sys
import types
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import regionscope as rs
from regionscope import cli

SVG_NS = "{http://www.w3.org/2000/svg}"


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def count_region_paths(svg_text: str) -> int:
    root = ET.fromstring(svg_text)
    (group,) = [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "regions"]
    return len(list(group))


@pytest.fixture
def mlp_npz(tmp_path):
    rng = np.random.default_rng(5)
    arrays = {
        "W0": rng.normal(size=(6, 2)),
        "b0": rng.normal(scale=0.4, size=6),
        "W1": rng.normal(size=(3, 6)),
        "b1": rng.normal(scale=0.2, size=3),
        "argmax": np.array(True),
    }
    path = tmp_path / "mlp.npz"
    np.savez(path, **arrays)
    return path, arrays


def test_demo_writes_png_and_prints_summary(tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert cli.main(["demo", "--out", str(out), "--size", "160", "120"]) == 0
    assert png_size(out) == (160, 120)
    text = capsys.readouterr().out
    part = rs.partition(cli.demo_network(), rs.Box(1.0))
    assert f"regions: {part.num_regions}" in text
    assert f"vertices: {part.num_vertices}" in text
    assert f"edges: {part.num_edges}" in text
    assert "time:" in text


def test_demo_network_is_the_documented_one():
    net = cli.demo_network()
    prog = rs.partition(net, rs.Box(1.0)).program
    kinds = [type(op.layer).__name__ for op in prog.ops]
    assert kinds == ["Linear", "ReLU"] * 3 + ["Linear", "Argmax"]
    assert [op.out_width for op in prog.ops] == [32, 32, 32, 32, 32, 32, 3, 3]
    # fixed seed: the same network twice
    x = np.random.default_rng(0).uniform(-1, 1, size=(5, 2))
    np.testing.assert_array_equal(net.forward(x), cli.demo_network().forward(x))


def test_render_from_npz(tmp_path, mlp_npz, capsys):
    path, arrays = mlp_npz
    out = tmp_path / "r.svg"
    rc = cli.main(
        ["render", str(path), "--domain", "box:0,2,-1,1", "--out", str(out), "--color-by", "class"]
    )
    assert rc == 0
    net = rs.Sequential(
        rs.Linear(arrays["W0"], arrays["b0"]),
        rs.ReLU(),
        rs.Linear(arrays["W1"], arrays["b1"]),
        rs.Argmax(),
    )
    part = rs.partition(net, rs.Box(0.0, 2.0, -1.0, 1.0))
    assert count_region_paths(out.read_text()) == part.num_regions
    assert f"regions: {part.num_regions}" in capsys.readouterr().out
    # the loaded model computes what the arrays say
    model = cli.load_model(path)
    x = np.random.default_rng(1).normal(size=(4, 2))
    np.testing.assert_allclose(model.forward(x), net.forward(x))


def test_render_png_with_style_options(tmp_path, mlp_npz):
    path, _ = mlp_npz
    marks = tmp_path / "marks.npy"
    np.save(marks, np.array([[0.1, 0.2], [-0.5, 0.5]]))
    out = tmp_path / "r.png"
    args = ["render", str(path), "--out", str(out), "--size", "200", "150"]
    args += ["--edges", "neuron", "--decision-color", "#ff00ff", "--mark", str(marks)]
    assert cli.main(args) == 0
    assert png_size(out) == (200, 150)


def test_render_plane_domain(tmp_path):
    pts = tmp_path / "pts.npy"
    np.save(pts, np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    model = tmp_path / "m.npz"
    w0 = np.array([[1.0, -1.0, 0.5], [0.3, 1.0, -1.0]])
    np.savez(model, W0=w0, b0=np.zeros(2), W1=np.ones((1, 2)))
    out = tmp_path / "p.svg"
    assert cli.main(["render", str(model), "--domain", f"plane:{pts}", "--out", str(out)]) == 0
    net = rs.Sequential(rs.Linear(w0), rs.ReLU(), rs.Linear(np.ones((1, 2))))
    part = rs.partition(net, rs.Plane(np.load(pts)))
    assert part.num_regions == 4
    assert count_region_paths(out.read_text()) == part.num_regions


@pytest.mark.parametrize(
    "args, words",
    [
        (["render"], "required"),
        (["render", "MODEL.npz", "--out", "x.gif"], ".png or .svg"),
        (["render", "missing.npz", "--out", "x.png"], "does not exist"),
        (["render", "MODEL.npz", "--out", "x.png", "--domain", "disc:1"], "--domain"),
        (["render", "MODEL.npz", "--out", "x.png", "--domain", "box:1,a"], "numbers"),
        (["render", "MODEL.npz", "--out", "x.png", "--domain", "box:1,0,0,1"], "xmin < xmax"),
        (["render", "MODEL.npz", "--out", "x.png", "--color-by", "nonsense-map"], "colormap"),
        (["render", "MODEL.npz", "--out", "x.png", "--output", "9", "--color-by", "output"], "9"),
        (["render", "MODEL.npz", "--out", "x.png", "--size", "1", "2", "3"], "--size"),
        (["demo", "--size", "10"], "expected 2"),
        (["nosuchcommand"], "invalid choice"),
        ([], "choose a command"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, mlp_npz, capsys, args, words):
    path, _ = mlp_npz
    args = [str(path) if a == "MODEL.npz" else a for a in args]
    args = [str(tmp_path / a) if a.startswith("x.") else a for a in args]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert words in err


def test_bad_npz_contents(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    np.savez(bad, W0=np.ones((3, 2)), W1=np.ones((2, 4)))  # widths do not fit
    assert cli.main(["render", str(bad), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.ones((3, 2)))
    assert cli.main(["render", str(other), "--out", str(tmp_path / "x.png")]) == 2
    assert "W0" in capsys.readouterr().err
    # a model written by regionscope.io is read too
    io = pytest.importorskip("regionscope.io")
    net = rs.Sequential(rs.Linear(np.eye(2), [0.1, -0.2]), rs.ReLU())
    saved = tmp_path / "saved.npz"
    io.save_model(net, saved)
    out = tmp_path / "s.svg"
    assert cli.main(["render", str(saved), "--out", str(out)]) == 0
    assert count_region_paths(out.read_text()) == 4
    pickled = tmp_path / "obj.npz"
    np.savez(pickled, W0=np.array([{"a": 1}], dtype=object))
    assert cli.main(["render", str(pickled), "--out", str(tmp_path / "x.png")]) == 2
    assert "pickle" in capsys.readouterr().err.lower()


@pytest.mark.parametrize("command", [[], ["demo"], ["render"], ["lab01"]])
def test_help(command, capsys):
    assert cli.main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: regionscope")
    for word in {"demo": "--size", "render": "--trust-pickle", "lab01": "--out"}.get(
        command[0] if command else "", "demo"
    ).split():
        assert word in out


def test_lab01_is_called_lazily(tmp_path, monkeypatch, capsys):
    calls = []

    def run_lab01(out_dir, verbose=False):
        calls.append(out_dir)
        if verbose:
            print("regions: 42")
        return {"regions": 42}

    fake = types.ModuleType("regionscope.lab")
    fake.run_lab01 = run_lab01
    monkeypatch.setitem(sys.modules, "regionscope.lab", fake)
    monkeypatch.setattr(rs, "lab", fake, raising=False)
    assert cli.main(["lab01", "--out", str(tmp_path / "lab")]) == 0
    assert calls == [tmp_path / "lab"]
    assert "regions: 42" in capsys.readouterr().out


def test_torch_files_need_an_architecture(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    state = tmp_path / "state.pt"
    torch.save(model.state_dict(), state)
    assert cli.main(["render", str(state), "--out", str(tmp_path / "x.png")]) == 2
    assert "state dict" in capsys.readouterr().err
    whole = tmp_path / "whole.pt"
    torch.save(model, whole)
    # a whole pickled model is refused without --trust-pickle
    assert cli.main(["render", str(whole), "--out", str(tmp_path / "x.png")]) == 2
    assert "--trust-pickle" in capsys.readouterr().err
    out = tmp_path / "w.svg"
    assert cli.main(["render", str(whole), "--out", str(out), "--trust-pickle"]) == 0
    part = rs.partition(model, rs.Box(1.0))
    assert count_region_paths(out.read_text()) == part.num_regions


def test_console_script_entry_point(tmp_path):
    # python -m runs the same main; --help must exit 0 with the usage
    res = subprocess.run(
        [sys.executable, "-m", "regionscope.cli", "render", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0 and "--domain" in res.stdout


def test_render_interval_domain(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    model = tmp_path / "m1.npz"
    np.savez(model, W0=np.array([[1.0], [-1.0], [2.0]]), b0=[0.5, 0.2, -0.3], W1=np.ones((1, 3)))
    out = tmp_path / "line.png"
    assert cli.main(["render", str(model), "--domain", "interval:-1,1", "--out", str(out)]) == 0
    assert png_size(out) == (700, 350)
    # kinks at -0.5, 0.2 and 0.15: three breakpoints, four pieces
    assert "regions: 4, breakpoints: 3" in capsys.readouterr().out


def test_lab01_command_end_to_end(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert cli.main(["lab01", "--out", str(tmp_path / "lab")]) == 0
    out = capsys.readouterr().out
    assert "bound 11" in out and "exercise 4" in out
    for name in ["regions", "grid", "histogram", "perturbation", "widths"]:
        png = tmp_path / "lab" / f"lab01_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit itself is deprecated
def test_compiled_torch_files_are_refused_in_one_line(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU())
    scripted = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(model), str(scripted))
    assert cli.main(["render", str(scripted), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "TorchScript" in err and "\n" not in err
    assert not (tmp_path / "x.png").exists()


def svg_texts(path, group: str) -> list[str]:
    root = ET.parse(path).getroot()
    return [
        t.text
        for g in root.iter(f"{SVG_NS}g")
        if g.get("class") == group
        for t in g.iter(f"{SVG_NS}text")
    ]


def test_render_figure_options(tmp_path, mlp_npz):
    path, _ = mlp_npz
    out = tmp_path / "fig.svg"
    args = ["render", str(path), "--out", str(out), "--legend", "--title", "My net"]
    args += ["--axes", "--color-by", "class", "--class-names", "cat,dog,emu"]
    assert cli.main(args) == 0
    assert svg_texts(out, "title") == ["My net"]
    legend = svg_texts(out, "legend")
    assert legend[:4] == ["class", "cat", "dog", "emu"] and "decision boundary" in legend
    assert svg_texts(out, "labels") == ["input 0", "input 1"]
    # without the flags: no legend, no title, no axes
    assert cli.main(["render", str(path), "--out", str(out)]) == 0
    assert svg_texts(out, "legend") == svg_texts(out, "title") == svg_texts(out, "axes") == []


def test_demo_is_a_figure_by_default(tmp_path):
    out = tmp_path / "demo.svg"
    assert cli.main(["demo", "--out", str(out)]) == 0
    (title,) = svg_texts(out, "title")
    part = rs.partition(cli.demo_network(), rs.Box(1.0))
    assert f"{part.num_regions} regions" in title
    assert svg_texts(out, "legend") == [
        "edges made by", "ReLU 1", "ReLU 2", "ReLU 3", "decision boundary"
    ]  # fmt: skip
    assert svg_texts(out, "axes")
    assert cli.main(["demo", "--out", str(out), "--no-legend", "--no-axes", "--title", ""]) == 0
    assert svg_texts(out, "legend") == svg_texts(out, "title") == svg_texts(out, "axes") == []


def test_progress_flag(tmp_path, mlp_npz, capsys):
    path, _ = mlp_npz
    out = tmp_path / "p.svg"
    assert cli.main(["render", str(path), "--out", str(out), "--progress"]) == 0
    assert out.exists()
    assert "regions:" in capsys.readouterr().out


def test_segment_domain(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    model = tmp_path / "m3.npz"
    w0 = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    np.savez(model, W0=w0, b0=[-0.5, -0.25], W1=np.ones((1, 2)))
    out = tmp_path / "seg.png"
    spec = "segment:0,0,0:1,1,0"
    assert cli.main(["render", str(model), "--domain", spec, "--out", str(out)]) == 0
    net = rs.Sequential(rs.Linear(w0, [-0.5, -0.25]), rs.ReLU(), rs.Linear(np.ones((1, 2))))
    line = rs.partition(net, rs.Segment([0.0, 0.0, 0.0], [1.0, 1.0, 0.0]))
    assert f"regions: {line.num_regions}, breakpoints: {len(line.breakpoints)}" in (
        capsys.readouterr().out
    )
    pts = tmp_path / "ends.npy"
    np.save(pts, np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]]))
    assert cli.parse_domain(f"segment:{pts}").q.tolist() == [1.0, 1.0, 0.0]
    for bad in ("segment:1,2", "segment:1,a:2,3", "segment:1:2:3"):
        assert cli.main(["render", str(model), "--domain", bad, "--out", str(out)]) == 2
        assert "segment" in capsys.readouterr().err


def test_view_writes_one_self_contained_page(tmp_path, mlp_npz, capsys):
    path, _ = mlp_npz
    out = tmp_path / "page.html"
    rc = cli.main(
        ["view", str(path), "--domain", "box:0,2,-1,1", "--out", str(out), "--title", "T"]
    )
    assert rc == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<title>T</title>" in text
    assert "http://" not in text and "https://" not in text
    assert "regions:" in capsys.readouterr().out
    # the page holds this partition
    import json
    import re

    data = json.loads(re.search(r'id="rs-data">(.*?)</script>', text, re.S).group(1))
    net = cli.load_model(path)
    part = rs.partition(net, rs.Box(0.0, 2.0, -1.0, 1.0))
    assert data["steps"][0]["regions"] == part.num_regions
    # render writes the viewer too, from the extension; 1-D domains are refused
    assert cli.main(["render", str(path), "--out", str(tmp_path / "r.html")]) == 0
    assert cli.main(["view", str(path), "--out", str(tmp_path / "x.png")]) == 2
    assert ".html" in capsys.readouterr().err
    assert cli.main(["view", str(path), "--domain", "interval:0,1", "--out", str(out)]) == 2


def test_render_pdf(tmp_path, mlp_npz):
    pytest.importorskip("matplotlib")
    path, _ = mlp_npz
    out = tmp_path / "fig.pdf"
    assert cli.main(["render", str(path), "--out", str(out), "--legend", "--title", "x"]) == 0
    assert out.read_bytes()[:5] == b"%PDF-"
