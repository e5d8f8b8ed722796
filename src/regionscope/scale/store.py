"""The directory of a tiled partition: one file per tile, tied to its task, so a run resumes.

A run of :func:`~regionscope.scale.tiled.partition_tiles` with a directory
writes, as each tile is done, the tile's file ``tile_<i>_<j>.npz``
(:func:`tile_file`): an ordinary partition file (:func:`regionscope.load`
reads it) with the whole domain's tolerances (:data:`~.grid.SCALE_KEYS`),
the tile's border summary (``summary/<name>``, :func:`~.grid.tile_summary`)
and the digest of the task (:data:`TASK_KEY`).  The *task* is what decides
the tiles' contents: the network, the domain, the grid and the tolerances
(:func:`task_digest`); the directory's manifest :data:`MANIFEST_NAME` holds
its digest.  Every file is written atomically (a temporary file, then a
rename), so a run stopped at any moment leaves only whole tiles, and the
next run with the same task loads them instead of computing them again
(:func:`done_tiles`).  A directory of another task is refused
(:func:`open_directory`): tiles of two tasks are never mixed.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> folder = tempfile.mkdtemp()
>>> open_directory(folder, "abc", {"what": "a test"})
>>> store_tile(os.path.join(folder, tile_file((0, 1))), {"num_regions": np.array(3)}, {}, "abc")
>>> done = done_tiles(folder, "abc", [(0, 0), (0, 1)])
>>> list(done), int(done[(0, 1)]["num_regions"])
([(0, 1)], 3)
>>> open_directory(folder, "xyz", {})
Traceback (most recent call last):
...
ValueError: directory ... holds the tiles of another task (digest abc..., ...
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import time
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "MANIFEST_NAME",
    "TASK_KEY",
    "SUMMARY_PREFIX",
    "tile_file",
    "task_digest",
    "open_directory",
    "store_tile",
    "read_members",
    "done_tiles",
    "compute_stored",
    "keep_result",
    "light_summary",
    "tile_patterns",
    "tile_tables",
]

#: the manifest of a tiled partition's directory: the digest of its task, as JSON
MANIFEST_NAME = "task.json"
#: the key of a tile file that holds its task's digest
TASK_KEY = "tile/task"
#: the prefix of the keys of a tile file that hold its border summary
SUMMARY_PREFIX = "summary/"
#: what changes every digest when the tiles' contents change meaning or the core computes them
#: differently (2: a CNN's second ReLU layer's input from the first one's live units; 3: that
#: input taken so wherever it costs up to 4 times a forward pass's products, not 0.5; 4: the
#: registers after a layer carried on to the next one in chunks of vertices, not computed again)
_DIGEST_VERSION = "regionscope-tile-task-4"


def tile_file(ij: tuple[int, int]) -> str:
    """Name of tile ``(i, j)``'s partition file in a tiled partition's directory.

    >>> tile_file((3, 12))
    'tile_3_12.npz'
    """
    return f"tile_{int(ij[0])}_{int(ij[1])}.npz"


def _feed(digest: Any, name: str, value: Any) -> None:
    arr = np.ascontiguousarray(np.asarray(value))
    digest.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
    digest.update(arr.tobytes() if arr.dtype.kind != "U" else str(arr).encode())


def task_digest(
    model: Any,
    domain: Any,
    xs: np.ndarray,
    ys: np.ndarray,
    scales: tuple[np.ndarray, float],
    tolerance: Mapping[str, Any],
) -> str:
    """A SHA-256 hex digest of what decides a tiled partition's tiles.

    The network (its layers and weights, bit for bit), the domain, the
    grid's borders ``xs``, ``ys``, the whole domain's scales
    (:func:`~.grid.whole_scales`) and the tolerance settings (a mapping, as
    in :func:`~.engine.snapshot_settings`).  The backend and the memory
    budget are left out: they do not change a partition.

    >>> import regionscope as rs
    >>> net = rs.Sequential(rs.Linear([[1.0, 2.0]], [0.5]), rs.ReLU())
    >>> xs = ys = np.array([-1.0, 0.0, 1.0])
    >>> scales = (np.zeros((4, 2)), 1e-12)
    >>> a = task_digest(net, rs.Box(1.0), xs, ys, scales, {"point_rtol": 1e-12})
    >>> b = task_digest(net, rs.Box(1.0), xs, ys, scales, {"point_rtol": 1e-11})
    >>> len(a), a == b
    (64, False)
    """
    from regionscope.network.serialize import model_to_arrays

    digest = hashlib.sha256(_DIGEST_VERSION.encode())
    text, arrays = model_to_arrays(model)
    digest.update(text.encode())
    for key in sorted(arrays):
        _feed(digest, key, arrays[key])
    described = domain.to_arrays()
    for key in sorted(described):
        _feed(digest, f"domain/{key}", described[key])
    _feed(digest, "xs", np.asarray(xs, dtype=np.float64))
    _feed(digest, "ys", np.asarray(ys, dtype=np.float64))
    _feed(digest, "scale/corners", np.asarray(scales[0], dtype=np.float64))
    _feed(digest, "scale/point_tol", np.float64(scales[1]))
    digest.update(json.dumps(dict(tolerance), sort_keys=True, default=repr).encode())
    return digest.hexdigest()


def _write_atomically(path: str, data: bytes) -> None:
    tmp = os.path.join(
        os.path.dirname(os.path.abspath(path)),
        f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp",
    )
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def open_directory(directory: Any, digest: str, description: Mapping[str, Any]) -> None:
    """Make ``directory`` the store of the task ``digest`` (created if missing).

    A directory with the manifest of the same task is kept as it is (its
    tiles will be loaded); an empty one (or one without tiles) gets the
    manifest, written atomically with ``description`` (JSON-able) beside
    the digest.  Raises ``ValueError`` when it holds another task's manifest,
    or tile files without a manifest (of an unknown task).
    """
    target = os.fspath(directory)
    os.makedirs(target, exist_ok=True)
    manifest = os.path.join(target, MANIFEST_NAME)
    if os.path.exists(manifest):
        try:
            with open(manifest) as fh:
                theirs = str(json.load(fh)["digest"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"directory {target!r}: its manifest {MANIFEST_NAME} cannot be read ({exc}); "
                f"use another directory or remove it"
            ) from None
        if theirs != digest:
            raise ValueError(
                f"directory {target!r} holds the tiles of another task (digest {theirs[:12]}..., "
                f"this task's is {digest[:12]}...); the network, domain, grid or tolerances "
                f"differ: use another directory, or empty this one"
            )
        return
    strays = [n for n in os.listdir(target) if n.startswith("tile_") and n.endswith(".npz")]
    if strays:
        raise ValueError(
            f"directory {target!r} holds {len(strays)} tile files but no {MANIFEST_NAME}: "
            f"they may be another task's tiles; use another directory, or empty this one"
        )
    text = json.dumps({"digest": digest, **dict(description)}, indent=1, default=repr)
    _write_atomically(manifest, text.encode())


#: zlib level of the tile files: level 1 writes a CNN tile in a third of the time of NumPy's
#: ``savez_compressed`` (level 6), for files about 10 % larger
COMPRESS_LEVEL = 1


def store_tile(
    path: str,
    summary: Mapping[str, np.ndarray],
    arrays: Mapping[str, np.ndarray],
    digest: str,
) -> None:
    """Write a tile's file atomically: its partition ``arrays``, its ``summary`` (under
    :data:`SUMMARY_PREFIX`) and its task's ``digest`` (:data:`TASK_KEY`).

    An ``.npz`` file (:func:`regionscope.io.load_arrays` and :func:`regionscope.load`
    read it) compressed at :data:`COMPRESS_LEVEL`; no pickles.
    """
    out = dict(arrays)
    out.update({SUMMARY_PREFIX + k: np.asarray(v) for k, v in summary.items()})
    out[TASK_KEY] = np.array(digest)
    buffer = io.BytesIO()
    with zipfile.ZipFile(
        buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
    ) as archive:
        for name, value in out.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
    _write_atomically(path, buffer.getvalue())


def read_members(path: str, names: Iterable[str] | None = None, prefix: str = "") -> dict:
    """Some arrays of an ``.npz`` file: those named, or all whose names start with ``prefix``
    (the prefix removed); the others are not read.  No pickles."""
    with np.load(path, allow_pickle=False) as data:
        if names is None:
            names = [n for n in data.files if n.startswith(prefix)]
            return {n[len(prefix) :]: data[n] for n in names}
        return {n: data[n] for n in names}


def light_summary(summary: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A tile's summary without what grows with its regions or its units: the per-region
    ``areas`` and ``centroids`` become ``border_areas`` and ``border_centroids`` of its border
    regions only, and the border patterns are left out (they stay in the tile's file:
    :func:`tile_patterns`, :func:`tile_tables`).

    >>> s = {"border_regions": np.array([2]), "areas": np.arange(4.0),
    ...      "centroids": np.zeros((4, 2)), "bits/1": np.zeros((1, 1), np.uint8)}
    >>> sorted(light_summary(s)), light_summary(s)["border_areas"]
    (['border_areas', 'border_centroids', 'border_regions'], array([2.]))
    """
    rows = np.asarray(summary["border_regions"], dtype=np.int64)
    out = {
        k: v
        for k, v in summary.items()
        if k not in ("areas", "centroids") and not k.startswith(("bits/", "pattern/"))
    }
    out["border_areas"] = np.asarray(summary["areas"], dtype=np.float64)[rows]
    out["border_centroids"] = np.asarray(summary["centroids"], dtype=np.float64).reshape(-1, 2)[
        rows
    ]
    return out


def tile_patterns(path: str) -> dict[str, np.ndarray]:
    """The border patterns (``bits/<layer>``, ``pattern/<layer>``) in a tile's file."""
    with np.load(path, allow_pickle=False) as data:
        heads = (SUMMARY_PREFIX + "bits/", SUMMARY_PREFIX + "pattern/")
        names = [n for n in data.files if n.startswith(heads)]
        return {n[len(SUMMARY_PREFIX) :]: data[n] for n in names}


def tile_tables(path: str) -> tuple[np.ndarray, np.ndarray]:
    """``(areas (F,), centroids (F, 2))`` of the regions of a tile, from its file."""
    got = read_members(path, [SUMMARY_PREFIX + "areas", SUMMARY_PREFIX + "centroids"])
    return got[SUMMARY_PREFIX + "areas"], got[SUMMARY_PREFIX + "centroids"].reshape(-1, 2)


def done_tiles(
    directory: str, digest: str, tiles: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], dict[str, np.ndarray]]:
    """``{ij: summary}`` of the tiles whose files in ``directory`` are complete and of this
    task (their :data:`TASK_KEY` is ``digest``); the others are to be computed (a file
    that cannot be read, or of another task, is computed again and replaced).  The
    summaries are :func:`light_summary` ones where the file's has border regions."""
    out = {}
    for ij in tiles:
        path = os.path.join(directory, tile_file(ij))
        if not os.path.exists(path):
            continue
        try:
            with np.load(path, allow_pickle=False) as data:
                if TASK_KEY not in data.files or str(data[TASK_KEY]) != digest:
                    continue
                heads = (SUMMARY_PREFIX + "bits/", SUMMARY_PREFIX + "pattern/")
                summary = {
                    n[len(SUMMARY_PREFIX) :]: data[n]
                    for n in data.files
                    if n.startswith(SUMMARY_PREFIX) and not n.startswith(heads)
                }  # the border patterns stay in the file (tile_patterns)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            continue  # damaged: computed again
        if "num_regions" in summary:
            if "border_regions" in summary and "areas" in summary:
                summary = light_summary(summary)
            out[tuple(int(v) for v in ij)] = summary
    return out


def compute_stored(directory: str, digest: str, *args: Any) -> Any:
    """:func:`~.grid.compute_tile` ``(*args)`` with its file written to ``directory`` by the
    worker (:func:`store_tile`); returns the :func:`light_summary` only (the partition, the
    border patterns and the per-region tables do not travel back).

    A worker that does not see ``directory`` (a remote machine without the
    caller's file system) returns ``(summary, arrays)`` as :func:`~.grid.compute_tile`
    does, for the caller to write (:func:`keep_result`).
    """
    from .grid import compute_tile

    summary, arrays = compute_tile(*args)
    if not os.path.isdir(directory):
        return summary, arrays
    ij = args[2]
    start = time.process_time()
    store_tile(os.path.join(directory, tile_file(ij)), summary, arrays, digest)
    light = light_summary(summary)  # its CPU seconds count the writing too
    light["cpu_seconds"] = np.asarray(summary["cpu_seconds"]) + (time.process_time() - start)
    return light


def keep_result(directory: str, digest: str, ij: tuple[int, int], result: Any) -> dict:
    """The light summary of a :func:`compute_stored` result, writing the tile's file here
    when the worker could not."""
    if isinstance(result, tuple):
        summary, arrays = result
        store_tile(os.path.join(directory, tile_file(ij)), summary, arrays, digest)
        return light_summary(summary)
    return result
