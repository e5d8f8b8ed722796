"""Tests of regionscope.lab.lab01 (run_lab01), the example script and the notebook."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import regionscope as rs
from regionscope import lab

ROOT = Path(__file__).resolve().parents[2]


def _load_example():
    spec = importlib.util.spec_from_file_location("lab01_example", ROOT / "examples" / "lab01.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_main_writes_figures_and_numbers(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    example = _load_example()
    res = example.main(["--out", str(tmp_path), "--num-seeds", "6"])
    names = sorted(os.path.basename(p) for p in res["figures"])
    assert names == [
        "lab01_grid.png",
        "lab01_histogram.png",
        "lab01_perturbation.png",
        "lab01_regions.png",
        "lab01_widths.png",
    ]
    for p in res["figures"]:
        assert Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the numbers agree with independent computations
    net = lab.lab_network([2, 4, 1], lab.LAB_SEED)
    assert res["regions"] == rs.partition(net, rs.Box(2.0)).num_regions
    assert res["bound"] == 11 and res["regions"] <= 11
    assert res["regions_plane"] == 11  # random lines: general position
    assert res["max_regions_4"] == 11
    assert res["max_regions_m_count"] == res["max_regions_m_bound"]
    assert res["max_regions_m_grid"] + res["max_regions_m_missed"] == res["max_regions_m_count"]
    assert len(res["counts_window"]) == 6 and all(c <= 11 for c in res["counts_window"])
    assert res["counts_plane"] == [11] * 6
    assert res["affine_ok"] and res["affine_max_error"] < 1e-12
    assert res["width_counts_plane"] == res["width_bounds"] == [11, 37, 137]
    assert all(c <= b for c, b in zip(res["width_counts"], res["width_bounds"], strict=True))
    assert res["W1"] == net[0].weight.tolist()
    out = capsys.readouterr().out
    assert "exercise 4" in out and "lab01_widths.png" in out


def test_example_help_runs():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "lab01.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--num-seeds" in proc.stdout and "--out" in proc.stdout


def test_run_lab01_without_out_dir_draws_nothing():
    res = lab.run_lab01(None, seed=4, num_seeds=2, resolution=50)
    assert res["figures"] == []
    assert res["regions"] == rs.partition(lab.lab_network([2, 4, 1], 4), rs.Box(2.0)).num_regions


def test_run_lab01_numbers_match_the_tools(capsys):
    seed, resolution = 3, 40
    res = lab.run_lab01(None, seed=seed, num_seeds=3, resolution=resolution, verbose=True)
    net = lab.lab_network([2, 4, 1], seed)
    part = rs.partition(net, lab.LAB_DOMAIN)
    assert res["seed"] == seed
    assert res["grid_patterns"] == rs.grid_patterns(net, lab.LAB_DOMAIN, resolution).num_patterns
    assert res["grid_missed"] == rs.compare_with_grid(part, resolution).num_missed
    assert res["counts_window"] == rs.region_count_stats([2, 4, 1], 3).counts.tolist()
    assert res["perturb_eps"] == [0.01, 0.1, 0.5, 1.0]
    series = rs.perturbation_series(net, res["perturb_eps"], seed=seed)
    assert res["perturb_counts"] == series.counts.tolist()
    origin = int(part.locate([[0.0, 0.0]])[0])
    assert res["origin_region"] == origin
    assert res["origin_pattern"] == part.activation_patterns(1)[origin].astype(int).tolist()
    assert res["widths"] == [4, 8, 16]
    # one line per step, in order
    out = capsys.readouterr().out.splitlines()
    firsts = [line.split(":")[0] for line in out]
    assert firsts[0] == f"[2, 4, 1] network, seed {seed}"
    assert firsts[-4:] == ["exercise 1", "exercise 2", "exercise 3", "exercise 4"]
    assert all(isinstance(v, (int, float, bool, list, type(None))) for v in res.values())


def test_run_lab01_validation():
    with pytest.raises(ValueError, match="num_seeds must be at least 1, got 0"):
        lab.run_lab01(None, num_seeds=0)
    with pytest.raises(ValueError, match="resolution must be at least 2, got 1"):
        lab.run_lab01(None, resolution=1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        lab.run_lab01(None, seed="0")
    with pytest.raises(TypeError, match="out_dir must be a path or None, got int"):
        lab.run_lab01(3)


def test_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    nb = nbformat.read(ROOT / "examples" / "lab01.ipynb", as_version=4)
    # a kernel running this interpreter, whatever kernels the machine has installed
    kernel_dir = tmp_path / "kernels" / "python3"
    kernel_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3",
        "language": "python",
    }
    (kernel_dir / "kernel.json").write_text(json.dumps(spec))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    km = KernelManager(kernel_name="python3", kernel_spec_manager=ksm)
    monkeypatch.setenv("REGIONSCOPE_FAST", "1")
    client = nbclient.NotebookClient(
        nb, km=km, timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "bound 11" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5
