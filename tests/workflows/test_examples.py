"""The two workflow examples run (small settings) and write sane pictures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
Image = pytest.importorskip("PIL.Image")

ROOT = Path(__file__).resolve().parents[2]


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(
        f"{name}_example", ROOT / "examples" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_training_movie(tmp_path, capsys):
    example = load_example("training_movie")
    out = example.main(
        ["--out", str(tmp_path), "--steps", "40", "--every", "20", "--size", "120", "--width", "8"]
    )
    timeline = out["timeline"]
    assert timeline.steps == (0, 20, 40)
    with Image.open(out["path"]) as gif:
        assert gif.format == "GIF" and gif.n_frames == 3
        assert gif.size[0] == 120
    table = out["table"]
    assert [row["step"] for row in table] == [0, 20, 40]
    assert all(
        row["regions"] == part.num_regions for row, part in zip(table, timeline, strict=True)
    )
    assert all(row["area_total"] == pytest.approx(25.0) for row in table)  # Box(2.5)
    assert "wrote" in capsys.readouterr().out


def test_local_complexity(tmp_path):
    pytest.importorskip("matplotlib")
    example = load_example("local_complexity")
    out = example.main(
        ["--out", str(tmp_path), "--epochs", "1", "--checkpoints", "0", "1",
         "--images", "2", "--radius", "0.1"]
    )  # fmt: skip
    rows = out["rows"]
    assert [r["step"] for r in rows] == [0, 23]  # 1438 training images, batches of 64
    for row in rows:
        assert row["test"].shape == (2,) and row["train"].shape == (2,)
        assert (row["test"] >= 1).all() and (row["train"] >= 1).all()
        assert 0.0 <= row["accuracy"] <= 1.0
    assert rows[-1]["accuracy"] > rows[0]["accuracy"]
    with Image.open(out["path"]) as png:
        assert png.format == "PNG"
        pixels = np.asarray(png.convert("RGB"))
    assert pixels.shape[1] > 400 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10
