"""Saving and loading partitions and networks."""

from __future__ import annotations

import io as _io
import os
import re
import struct
import sys
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import regionscope as rs
from regionscope.io import load_arrays, load_model, save_arrays, save_model
from regionscope.testing import random_mlp


@pytest.mark.parametrize(
    "domain",
    [rs.Box(1.0), rs.Polygon([[0, 0], [2, 0], [0, 2]]), "plane"],
)
def test_partition_round_trip(tmp_path, domain):
    rng = np.random.default_rng(0)
    if domain == "plane":
        domain = rs.Plane(rng.normal(size=(3, 2)))
    net = rs.Sequential(
        *random_mlp([2, 8, 8], seed=1).layers,
        rs.Residual(rs.Sequential(rs.Linear(rng.normal(size=(8, 8))), rs.ReLU())),
        rs.Linear(rng.normal(size=(3, 8))),
        rs.Argmax(),
    )
    part = rs.partition(net, domain)
    path = tmp_path / "part.npz"
    part.save(path)
    back = rs.load(path)
    for name in ["vertices", "region_vertices", "region_offsets", "edges", "edge_layer"]:
        np.testing.assert_array_equal(getattr(back, name), getattr(part, name))
    a1, c1 = part.affine_maps()
    a2, c2 = back.affine_maps()
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(back.pattern_keys(), part.pattern_keys())


def test_partition1d_round_trip(tmp_path):
    net = random_mlp([3, 6, 6], seed=2)
    part = rs.partition(net, rs.Segment(np.zeros(3), np.ones(3)))
    part.save(tmp_path / "p1")
    back = rs.load(tmp_path / "p1.npz")
    np.testing.assert_array_equal(back.points, part.points)
    assert isinstance(back.domain, rs.Segment)


def test_model_round_trip_and_no_pickles(tmp_path):
    net = random_mlp([2, 5, 4], seed=3, maxout=2)
    path = tmp_path / "net.npz"
    save_model(net, path)
    x = np.random.default_rng(0).normal(size=(7, 2))
    np.testing.assert_array_equal(load_model(path).forward(x), net.forward(x))
    # a file naming a class outside regionscope is refused, nothing is imported
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["model"] = np.array(str(arrays["model"]).replace("regionscope.network.layers", "os"))
    np.savez(tmp_path / "evil.npz", **arrays)
    with pytest.raises(ValueError, match="not one of regionscope's own layers"):
        load_model(tmp_path / "evil.npz")
    with pytest.raises(ValueError, match="not a regionscope"):
        (tmp_path / "junk.npz").write_bytes(b"junk")
        load_model(tmp_path / "junk.npz")


def test_interrupted_save_leaves_old_file(tmp_path, monkeypatch):
    part = rs.partition(random_mlp([2, 4], seed=0), rs.Box(1.0))
    path = tmp_path / "p.npz"
    part.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(KeyboardInterrupt):
        part.save(path)
    assert path.read_bytes() == before
    assert [p for p in os.listdir(tmp_path) if p != "p.npz"] == []


def test_unsavable_layer_is_named(tmp_path):
    class Custom(rs.ReLU):
        pass

    Custom.__module__ = "mypackage"
    part = rs.partition(rs.Sequential(rs.Linear(np.eye(2)), Custom()), rs.Box(1.0))
    with pytest.raises(TypeError, match="layer model.1 .*Custom"):
        part.save(tmp_path / "x.npz")


# --- regressions -------------------------------------------------------------------------------


def _net(seed: int = 0) -> rs.Sequential:
    return random_mlp([2, 6, 6], seed=seed)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A saved Box partition: (path, partition, its arrays)."""
    path = tmp_path_factory.mktemp("saved") / "part.npz"
    part = rs.partition(_net(), rs.Box(-0.5, 1.5, -1.0, 0.25))
    part.save(path)
    return path, part, part.to_arrays()


def _assert_refused(path, *loaders):
    for load in loaders or (rs.load, load_arrays, load_model):
        with pytest.raises(ValueError, match=re.escape(path.name)):
            load(path)


def _zip_with(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _npy(arr) -> bytes:
    buf = _io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=True)
    return buf.getvalue()


BAD_FILES = {
    "empty": lambda good: b"",
    "text": lambda good: b"vertices = [[0, 0], [1, 0]]\n",
    "truncated_half": lambda good: good[: len(good) // 2],
    "truncated_end": lambda good: good[:-1],
    "truncated_header": lambda good: good[:20],
    "random_bytes": lambda good: np.random.default_rng(0).bytes(5000),
    "npy_not_npz": lambda good: _npy(np.eye(3)),
    "pickle": lambda good: __import__("pickle").dumps({"vertices": [1, 2]}),
    "flipped_bytes": lambda good: good[:300] + bytes(b ^ 0x5A for b in good[300:340]) + good[340:],
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_files_raise_value_error_naming_file(tmp_path, saved, kind):
    good = saved[0].read_bytes()
    path = tmp_path / f"bad_{kind}.npz"
    path.write_bytes(BAD_FILES[kind](good))
    _assert_refused(path)


@pytest.mark.parametrize(
    "members",
    [
        {"readme.txt": b"hello"},
        {"a.npy": _npy(np.eye(2)), "notes/readme.md": b"hello"},
        {"sub/": b""},
        {},
        {"a.npy": b"\x93NUMPY\x01\x00garbage"},
        {"a.npy": b"not an array at all"},
        {"a.npy": _npy(np.eye(2))[:-3]},
        {"a.npy": _npy(np.eye(2)) + b"trailing"},
    ],
    ids=["text_member", "extra_member", "folder", "empty_zip", "bad_header", "no_magic",
         "short_data", "long_data"],
)  # fmt: skip
def test_bad_files_zip_of_other_things(tmp_path, members):
    path = tmp_path / "other.npz"
    _zip_with(path, members)
    _assert_refused(path)


@pytest.mark.parametrize(
    "key", ["vertices", "region_offsets", "format", "model", "model/0", "domain/bounds",
            "domain/kind", "kind", "num_corners"],
)  # fmt: skip
def test_bad_files_missing_key(tmp_path, saved, key):
    arrays = dict(saved[2])
    del arrays[key]
    path = tmp_path / "missing.npz"
    np.savez(path, **arrays)
    _assert_refused(path, rs.load)


def test_bad_files_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        rs.load(tmp_path / "nothing.npz")
    with pytest.raises(FileNotFoundError):
        load_arrays(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nothing.npz")
    (tmp_path / "folder.npz").mkdir()
    _assert_refused(tmp_path / "folder.npz")
    with pytest.raises(TypeError, match="path must be"):
        load_arrays(3)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("vertices", lambda v: v.astype(complex), "complex"),
        ("vertices", lambda v: v.astype(object), "object|pickle"),
        ("region_offsets", lambda v: v.astype(object), "object|pickle"),
        ("model/0", lambda v: v + 1j, "complex"),
        ("model/0", lambda v: np.where(v > 0, np.nan, v), "NaN"),
        ("model/1", lambda v: np.full_like(v, np.inf), "NaN|infinity"),
        ("vertices", lambda v: np.where(v > 0, np.nan, v), "NaN"),
        ("domain/bounds", lambda v: v.astype(complex), "complex"),
        ("vertices", lambda v: np.array([(1.0, 2)], dtype="f8,i4"), "dtype"),
    ],
)
def test_complex_object_and_nan_arrays_refused(tmp_path, saved, key, value, match):
    arrays = dict(saved[2])
    arrays[key] = value(np.asarray(arrays[key]))
    path = tmp_path / "odd.npz"
    np.savez(path, **arrays)  # allow_pickle=True here: the file may hold a pickle
    with pytest.raises(ValueError, match=re.escape(path.name)) as info:
        rs.load(path)
    assert re.search(match, str(info.value)), str(info.value)
    if key.startswith("model/"):
        with pytest.raises(ValueError, match=re.escape(path.name)):
            load_model(path)


def test_complex_object_arrays_not_saved(tmp_path):
    with pytest.raises(TypeError, match="'z' has dtype complex128"):
        save_arrays(tmp_path / "a.npz", {"z": np.ones(2) * 1j})
    with pytest.raises(TypeError, match="'o' has dtype object"):
        save_arrays(tmp_path / "a.npz", {"o": np.array([{}, 1], dtype=object)})
    with pytest.raises(ValueError, match="reserved"):
        save_arrays(tmp_path / "a.npz", {"allow_pickle": np.ones(2)})
    assert os.listdir(tmp_path) == []


# zip bombs: written by hand so the compressed stream of zeros costs no memory


def _zip_raw(path, members) -> None:
    """A zip file from ``(name, method, crc, compressed bytes, declared size)`` members."""
    out, central = bytearray(), bytearray()
    for name, method, crc, data, size in members:
        fn = name.encode()
        assert len(data) < 2**32 and size < 2**32  # no zip64 needed
        offset = len(out)
        out += struct.pack(
            "<4s5H3I2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(data), size, len(fn), 0
        )
        out += fn + data
        central += struct.pack(
            "<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, len(data), size,
            len(fn), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += fn
    n = len(members)
    out += central
    out += struct.pack(
        "<4s4H2IH", b"PK\x05\x06", 0, 0, n, n, len(central), len(out) - len(central), 0
    )
    path.write_bytes(bytes(out))


def _zeros_member(name: str, values: int, *, stream_values: int | None = None):
    """A deflated ``.npy`` member of ``values`` float64 zeros, built in O(1 MiB) memory.

    With ``stream_values`` larger than ``values`` the deflate stream holds that
    many zeros while the zip header (size and CRC) declares only ``values``.
    """
    header = _io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (values,)}
    )
    head = header.getvalue()
    chunk = 1 << 20
    zeros = bytes(chunk)

    def body(nbytes: int) -> bytes:
        co = zlib.compressobj(9, zlib.DEFLATED, -15)
        out = co.compress(head) + co.flush(zlib.Z_FULL_FLUSH)
        block = co.compress(zeros) + co.flush(zlib.Z_FULL_FLUSH)  # same bytes every time
        k, rest = divmod(nbytes, chunk)
        return out + block * k + co.compress(bytes(rest)) + co.flush()

    crc = zlib.crc32(head)
    k, rest = divmod(values * 8, chunk)
    for _ in range(k):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes(rest), crc)
    data = body(8 * (stream_values if stream_values is not None else values))
    return (name, zipfile.ZIP_DEFLATED, crc, data, len(head) + 8 * values)


def test_zip_bomb_helper_writes_valid_files(tmp_path, monkeypatch):
    path = tmp_path / "small.npz"
    _zip_raw(path, [_zeros_member("z.npy", 3 * (1 << 17) + 5)])
    with np.load(path) as data:
        assert data["z"].shape == (3 * (1 << 17) + 5,) and not data["z"].any()
    back = load_arrays(path)
    assert back["z"].shape == (3 * (1 << 17) + 5,) and not back["z"].any()


def test_zip_bomb_refused_before_decompressing(tmp_path):
    # declared: 128 MiB more than the limit; on disk: about a thousandth of that
    limit = rs.get_budget().file_member_bytes
    values = (limit + (1 << 27)) // 8
    path = tmp_path / "bomb.npz"
    _zip_raw(path, [_zeros_member("model/0.npy", values)])
    assert path.stat().st_size < limit // 500
    tracemalloc.start()
    start = time.perf_counter()
    try:
        for load in (load_arrays, rs.load, load_model):
            with pytest.raises(ValueError, match=re.escape(path.name) + ".*file_member_bytes"):
                load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 2.0
    assert peak < 8 << 20


def test_zip_bomb_with_small_limit(tmp_path):
    # a real (honest) 16 MiB array of zeros is refused under an 8 MiB limit...
    path = tmp_path / "zeros.npz"
    _zip_raw(path, [_zeros_member("z.npy", 2 << 20)])
    tracemalloc.start()
    try:
        with rs.budget(file_member_bytes=8 << 20):
            with pytest.raises(ValueError, match="zeros.npz.*declares 16777344 bytes"):
                load_arrays(path)
        assert tracemalloc.get_traced_memory()[1] < 4 << 20
    finally:
        tracemalloc.stop()
    # ...and read under a larger one
    with rs.budget(file_member_bytes=32 << 20):
        assert load_arrays(path)["z"].shape == (2 << 20,)
    # the total of all members has its own limit
    _zip_raw(path, [_zeros_member("a.npy", 1 << 20), _zeros_member("b.npy", 2 << 20)])
    with rs.budget(file_bytes=24 << 20):
        with pytest.raises(ValueError, match="zeros.npz.*in all.*file_bytes"):
            load_arrays(path)


def test_zip_bomb_forged_sizes(tmp_path):
    path = tmp_path / "forged.npz"
    name, method, crc, data, size = _zeros_member("z.npy", 1000)
    # a zip header declaring far more than its compressed bytes can inflate to
    _zip_raw(path, [(name, method, crc, data, 900 << 20)])
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="forged.npz.*more than its compression can produce"):
            load_arrays(path)
        assert tracemalloc.get_traced_memory()[1] < 4 << 20
    finally:
        tracemalloc.stop()
    # stored members must declare their stored size
    raw = _npy(np.zeros(10))
    _zip_raw(path, [("z.npy", zipfile.ZIP_STORED, zlib.crc32(raw), raw, len(raw) + 100)])
    _assert_refused(path, load_arrays)
    # a .npy header declaring a huge shape in a small member: never allocated
    for shape in [(10**15,), (2**40, 2**40), (10,), (-1, -11), (-11,)]:
        head = _io.BytesIO()
        np.lib.format.write_array_header_1_0(
            head, {"descr": "<f8", "fortran_order": False, "shape": shape}
        )
        raw = head.getvalue() + bytes(8 * 11)
        _zip_raw(path, [("z.npy", zipfile.ZIP_STORED, zlib.crc32(raw), raw, len(raw))])
        with pytest.raises(ValueError, match=r"forged.npz.*declares (a negative )?shape"):
            load_arrays(path)


def test_zip_bomb_never_reads_past_declared_size(tmp_path):
    # the zip header declares 100 values; the deflate stream goes on for 16 MiB
    path = tmp_path / "long.npz"
    _zip_raw(path, [_zeros_member("z.npy", 100, stream_values=2 << 20)])
    tracemalloc.start()
    try:
        back = load_arrays(path)
        assert tracemalloc.get_traced_memory()[1] < 4 << 20
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(back["z"], np.zeros(100))


def test_load_without_suffix(tmp_path, saved):
    _, part, _ = saved
    part.save(tmp_path / "x")
    assert os.listdir(tmp_path) == ["x.npz"]
    back = rs.load(tmp_path / "x")
    np.testing.assert_array_equal(back.vertices, part.vertices)
    assert str(tmp_path / "x") and load_arrays(str(tmp_path / "x"))["format"] == "regionscope-1"
    save_model(part.model, tmp_path / "net")
    x = np.random.default_rng(1).normal(size=(5, 2))
    np.testing.assert_array_equal(load_model(tmp_path / "net").forward(x), part.model.forward(x))
    # an existing file of that exact name wins
    (tmp_path / "x").write_bytes(b"not this one")
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "x")) + "'"):
        rs.load(tmp_path / "x")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002, 0o027])
def test_saved_file_mode_follows_umask(tmp_path, saved, umask):
    _, part, _ = saved
    old = os.umask(umask)
    try:
        part.save(tmp_path / "p.npz")
        save_model(part.model, tmp_path / "m")
        save_arrays(tmp_path / "a.npz", {"x": np.ones(2)})
        # replacing an existing file gives the new file the same mode
        save_arrays(tmp_path / "a.npz", {"x": np.zeros(2)})
    finally:
        os.umask(old)
    for name in ("p.npz", "m.npz", "a.npz"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(os.listdir(tmp_path)) == ["a.npz", "m.npz", "p.npz"]


def _same_partition(back, part) -> None:
    assert type(back) is type(part)
    assert type(back.domain) is type(part.domain)
    assert back.domain.input_shape == part.domain.input_shape
    if hasattr(part.domain, "bounds"):
        assert back.domain.bounds == part.domain.bounds
        np.testing.assert_array_equal(back.domain.polygon, part.domain.polygon)
    else:
        assert (back.domain.lo, back.domain.hi) == (part.domain.lo, part.domain.hi)
    a, b = part.to_arrays(), back.to_arrays()
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert back.timings == part.timings
    assert [op.name for op in back.layers] == [op.name for op in part.layers]
    assert back.num_regions == part.num_regions


@pytest.mark.parametrize(
    "domain",
    [
        rs.Box(-0.5, 1.5, -1.0, 0.25),
        rs.Box(1e6 - 1, 1e6 + 1, -1.0, 1.0),
        rs.Polygon([[0, 0], [2, 0], [0.5, 1.5]]),
        rs.Plane(np.array([[0.0, 0], [1, 0.2], [0.1, 1]])),
        rs.Interval(-2.0, 1.0),
        rs.Segment([0.0, 0.0], [1.0, 2.0]),
    ],
    ids=repr,
)
def test_partition_file_round_trip(tmp_path, domain):
    net = _net(1)
    if domain.input_dim == 1:
        net = random_mlp([1, 5, 5], seed=2)
    part = rs.partition(net, domain)
    path = tmp_path / "part.npz"
    part.save(path)
    back = rs.load(path)
    _same_partition(back, part)
    if isinstance(domain, rs.Box):
        assert isinstance(back.domain, rs.Box) and back.domain.to_arrays()["kind"] == "box"


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed, save_arrays])
def test_load_arrays_matches_numpy(tmp_path, save):
    rng = np.random.default_rng(5)
    arrays = {
        "f8": rng.normal(size=(4, 3)),
        "big_endian": np.arange(5, dtype=">f8"),
        "fortran": np.asfortranarray(rng.normal(size=(3, 4))),
        "f4": rng.normal(size=7).astype(np.float32),
        "ints": np.arange(-3, 9, dtype=np.int16).reshape(3, 4),
        "uints": np.arange(4, dtype=np.uint64),
        "bools": np.array([True, False, True]),
        "empty": np.zeros((0, 5)),
        "scalar": np.float64(2.5),
        "text": np.array("régions ✓"),
        "texts": np.array(["a", "bc", ""]),
        "texts_big_endian": np.array(["ab", "ç"], dtype=">U2"),
        "domain/kind": np.array("box"),
        "large": rng.normal(size=(1 << 17) + 7),  # two read chunks
    }
    path = tmp_path / "many.npz"
    if save is save_arrays:
        save_arrays(path, arrays)
    else:
        save(path, **arrays)
    back = load_arrays(path)
    assert sorted(back) == sorted(arrays)
    with np.load(path) as ref:
        for key in arrays:
            assert back[key].dtype == ref[key].dtype, key
            assert back[key].shape == ref[key].shape, key
            assert back[key].flags.f_contiguous == ref[key].flags.f_contiguous, key
            np.testing.assert_array_equal(back[key], ref[key], err_msg=key)


def test_save_into_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot save .*x.npz"):
        save_arrays(tmp_path / "no" / "x", {"a": np.ones(1)})
