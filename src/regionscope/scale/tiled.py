"""A domain computed as a grid of tiles: :func:`partition_tiles` and :class:`TiledPartition`.

Each tile is an ordinary :class:`~regionscope.Partition` of its part of the
domain, computed by a worker (:mod:`.engine`), so a worker's memory is
bounded by its tile.  The tiles are joined exactly (:mod:`.stitch`): a
region cut by tile borders is one region, and the counts, areas, centroids,
patterns and the picture are those of the partition of the whole domain.
Tiles are kept as ordinary partition files in a directory (or in memory),
loaded one at a time when asked for.

Examples
--------
>>> import regionscope as rs
>>> net = rs.Sequential(rs.Linear([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, 0.0, -0.5]),
...                     rs.ReLU())
>>> tiled = partition_tiles(net, rs.Box(1.0), tiles=(3, 2), client="serial")
>>> tiled.num_regions, tiled.num_vertices, tiled.num_edges, tiled.num_tiles
(7, 13, 19, 6)
>>> whole = rs.partition(net, rs.Box(1.0))
>>> (whole.num_regions, whole.num_vertices, whole.num_edges)
(7, 13, 19)
>>> part, f = tiled.region(int(tiled.locate([[0.9, 0.9]])[0]))   # a region, in its tile
>>> part.activation_patterns(1)[f]
array([ True,  True,  True])
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from regionscope.domains import Domain2D, coerce_domain, domain_from_arrays
from regionscope.network.coerce import as_layers
from regionscope.network.layers import Sequential
from regionscope.network.serialize import model_from_arrays, model_to_arrays

from .engine import Engine, snapshot_settings, with_settings
from .grid import (
    compute_tile,
    tile_borders,
    tile_domains,
    tile_partition,
    tile_tolerance,
    whole_scales,
)
from .stitch import REGION_FILES, Stitched, stitch
from .store import (
    MANIFEST_NAME,
    compute_stored,
    done_tiles,
    keep_result,
    open_directory,
    task_digest,
    tile_file,
    tile_patterns,
    tile_tables,
)

__all__ = ["TiledPartition", "partition_tiles", "load_tiles", "INDEX_NAME", "TILES_FORMAT"]

#: the file format of a tiled partition's index
TILES_FORMAT = "regionscope-tiles-2"
#: name of the index file in a tiled partition's directory
INDEX_NAME = "tiled.npz"
#: the arrays of :class:`~.stitch.Stitched` kept in the index (its areas and centroids are
#: in files of their own, :data:`~.stitch.REGION_FILES`, read memory-mapped)
_STITCHED = (
    "piece_offsets",
    "border_pieces",
    "border_labels",
    "later_pieces",
    "multi_regions",
    "multi_num_pieces",
    "multi_representative",
    "bv_point",
    "bv_offsets",
    "point_xy",
    "point_is_vertex",
    "edge_points",
    "edge_layer",
    "edge_unit",
)
#: per-tile numbers kept in the index
_PER_TILE = ("num_regions", "seconds", "cpu_seconds", "peak_rss_mb", "pid", "computed")


class TiledPartition:
    """The partition of a domain computed as a grid of tiles (see the module docstring).

    Build one with :func:`partition_tiles`; read one with :func:`load_tiles`.

    Attributes
    ----------
    domain : Domain2D
    model : Sequential
    xs, ys : ndarray, float64
        The grid's borders, ``(kx+1,)`` and ``(ky+1,)``.
    tiles : list of (int, int)
        The tiles that meet the domain, in the order their pieces are numbered.
    tile_stats : dict of str to ndarray
        Per tile: ``num_regions``, ``seconds`` (partition time), ``cpu_seconds``
        (CPU time of the partition, of reading its border and, with a
        directory, of writing its file), ``peak_rss_mb``
        (peak memory of the worker process during the tile, on Linux), ``pid``
        and ``computed`` (``False``: loaded from an earlier run's file).
    stitched : Stitched
        The global tables.
    tolerance : float
        The whole domain's point tolerance (``point_rtol * diameter``): every
        tile snaps points by it, and border vertices of neighbouring tiles
        this close are one point.
    """

    def __init__(
        self,
        domain: Domain2D,
        model: Sequential,
        xs: np.ndarray,
        ys: np.ndarray,
        tiles: list[tuple[int, int]],
        stitched: Stitched,
        tile_stats: dict[str, np.ndarray],
        store: dict[tuple[int, int], dict[str, np.ndarray]] | str,
        tolerance: float,
    ) -> None:
        self.domain = domain
        self.model = model
        self.xs, self.ys = xs, ys
        self.tiles = [tuple(int(v) for v in ij) for ij in tiles]
        self.stitched = stitched
        self.tile_stats = tile_stats
        self._store = store
        self._index = {ij: t for t, ij in enumerate(self.tiles)}
        self.tolerance = float(tolerance)
        self._keys: np.ndarray | None = None

    # -- counts and tables -----------------------------------------------------------

    @property
    def num_regions(self) -> int:
        return self.stitched.num_regions

    @property
    def num_vertices(self) -> int:
        return self.stitched.num_vertices

    @property
    def num_edges(self) -> int:
        return self.stitched.num_edges

    @property
    def num_tiles(self) -> int:
        return len(self.tiles)

    @property
    def grid(self) -> tuple[int, int]:
        """``(kx, ky)``: tiles along each axis."""
        return len(self.xs) - 1, len(self.ys) - 1

    def areas(self) -> np.ndarray:
        """``(F,) float64``: area of each region (the sum of its pieces)."""
        return self.stitched.areas

    def centroids(self) -> np.ndarray:
        """``(F, 2) float64``: centroid of each region (area-weighted over its pieces)."""
        return self.stitched.centroids

    def pattern_keys(self) -> np.ndarray:
        """``(F,) uint64``: hash of each region's pattern (as :meth:`Partition.pattern_keys`).

        Read from each region's largest piece, one tile at a time (the tiles
        computed only the patterns of the regions on their borders).
        """
        if self._keys is None:
            keys = np.zeros(self.num_regions, dtype=np.uint64)
            for regions, got in self._per_region(lambda part, f: part.pattern_keys()[f]):
                keys[regions] = got
            self._keys = keys
        return self._keys

    def num_pieces(self) -> np.ndarray:
        """``(F,) int64``: how many tiles each region meets."""
        return self.stitched.num_pieces

    def _representative(self, regions: np.ndarray) -> np.ndarray:
        """``(K,) int64``: the largest piece of each region."""
        s = self.stitched
        g = np.asarray(regions, dtype=np.int64)
        out = s.first_piece(g)
        at = np.searchsorted(s.multi_regions, g)
        hit = at < len(s.multi_regions)
        hit[hit] = s.multi_regions[at[hit]] == g[hit]
        out[hit] = s.multi_representative[at[hit]]
        return out

    # -- tiles and pieces ------------------------------------------------------------

    def _tile_number(self, ij: Any) -> int:
        key = tuple(int(v) for v in ij)
        if key not in self._index:
            raise ValueError(f"no tile {key}; tiles are {self.tiles}")
        return self._index[key]

    def tile(self, ij: Any) -> Any:
        """The :class:`~regionscope.Partition` of tile ``(i, j)`` (read from its file).

        Its patterns and values decide signs with the whole domain's unit
        scales, as the tile was computed (:func:`~.grid.tile_partition`).
        """
        return tile_partition(self.tile_arrays(ij))

    def tile_arrays(self, ij: Any) -> dict[str, np.ndarray]:
        """Tile ``(i, j)``'s partition as named arrays (its file's contents)."""
        from regionscope.io import load_arrays

        key = self.tiles[self._tile_number(ij)]
        if isinstance(self._store, str):
            return load_arrays(os.path.join(self._store, tile_file(key)))
        return self._store[key]

    def border_points(self, ij: Any) -> np.ndarray:
        """``(B,) int64``: the border point (:mod:`.stitch`) of each vertex on tile ``(i, j)``'s
        boundary, in the order of their mesh indices."""
        t = self._tile_number(ij)
        off = self.stitched.bv_offsets
        return self.stitched.bv_point[off[t] : off[t + 1]]

    def labels(self, ij: Any) -> np.ndarray:
        """``(F_t,) int64``: the region of the whole domain of each region of tile ``(i, j)``."""
        return self.stitched.tile_labels(self._tile_number(ij))

    def pieces(self, region: int) -> list[tuple[tuple[int, int], int]]:
        """The pieces ``[((i, j), tile region)]`` of a region of the whole domain."""
        g = self._check_region(region)
        s = self.stitched
        if np.isin(g, s.multi_regions):
            where = s.border_pieces[s.border_labels == g]
        else:
            where = s.first_piece(np.array([g]))
        tile = np.searchsorted(self.stitched.piece_offsets, where, side="right") - 1
        local = where - self.stitched.piece_offsets[tile]
        return [
            (self.tiles[t], int(f)) for t, f in zip(tile.tolist(), local.tolist(), strict=True)
        ]

    def region(self, region: int) -> tuple[Any, int]:
        """A region as ``(Partition of its tile, index in it)``: the tile with its largest piece.

        The tile's partition is an ordinary :class:`~regionscope.Partition`;
        the region's patterns and affine map there are the region's.
        """
        g = self._check_region(region)
        piece = int(self._representative(np.array([g]))[0])
        t = int(np.searchsorted(self.stitched.piece_offsets, piece, side="right") - 1)
        return self.tile(self.tiles[t]), piece - int(self.stitched.piece_offsets[t])

    def _check_region(self, region: Any) -> int:
        if isinstance(region, bool) or not isinstance(region, (int, np.integer)):
            raise TypeError(f"region must be an int, got {type(region).__name__}")
        if not 0 <= region < self.num_regions:
            raise ValueError(f"region must be in 0..{self.num_regions - 1}, got {region}")
        return int(region)

    def _per_region(self, fn: Any) -> list[tuple[np.ndarray, Any]]:
        """``fn(tile partition, local regions)`` for the representative pieces of each tile."""
        rep = self.stitched.representative
        tile_of = np.searchsorted(self.stitched.piece_offsets, rep, side="right") - 1
        by_tile = np.argsort(tile_of, kind="stable")
        bounds = np.searchsorted(tile_of[by_tile], np.arange(len(self.tiles) + 1))
        out = []
        for t, ij in enumerate(self.tiles):
            regions = by_tile[bounds[t] : bounds[t + 1]]
            if len(regions):
                local = rep[regions] - self.stitched.piece_offsets[t]
                out.append((regions, fn(self.tile(ij), local)))
        return out

    def activation_patterns(self, layer: int | str | None = None) -> Any:
        """Pattern of every region, as :meth:`Partition.activation_patterns`.

        Read from each region's largest piece, one tile at a time.
        """

        def rows(part: Any, local: np.ndarray) -> Any:
            pats = part.activation_patterns(layer)
            return {k: v[local] for k, v in pats.items()} if layer is None else pats[local]

        got = self._per_region(rows)
        if layer is None:
            out = {}
            for name in got[0][1]:
                first = got[0][1][name]
                arr = np.zeros((self.num_regions, *first.shape[1:]), dtype=first.dtype)
                for regions, pats in got:
                    arr[regions] = pats[name]
                out[name] = arr
            return out
        first = got[0][1]
        arr = np.zeros((self.num_regions, *first.shape[1:]), dtype=first.dtype)
        for regions, pats in got:
            arr[regions] = pats
        return arr

    def affine_maps(self, layer: int | str = -1) -> tuple[np.ndarray, np.ndarray]:
        """The affine map on each region, as :meth:`Partition.affine_maps` (``A``, ``c``)."""
        got = self._per_region(lambda part, local: part.affine_maps(layer, local))
        a0, c0 = got[0][1]
        A = np.zeros((self.num_regions, *a0.shape[1:]))
        c = np.zeros((self.num_regions, *c0.shape[1:]))
        for regions, (a, b) in got:
            A[regions], c[regions] = a, b
        return A, c

    def locate(self, points: Any) -> np.ndarray:
        """``(N,) int64``: the region of each point (``-1`` outside the domain)."""
        from regionscope.checks import as_finite

        pts = as_finite(points, "points").reshape(-1, 2)
        col = np.clip(np.searchsorted(self.xs, pts[:, 0], side="right") - 1, 0, self.grid[0] - 1)
        row = np.clip(np.searchsorted(self.ys, pts[:, 1], side="right") - 1, 0, self.grid[1] - 1)
        out = np.full(len(pts), -1, dtype=np.int64)
        inside = self.domain.contains(pts)
        for ij in sorted(set(zip(col[inside].tolist(), row[inside].tolist(), strict=True))):
            if ij not in self._index:
                continue
            sel = np.flatnonzero(inside & (col == ij[0]) & (row == ij[1]))
            part = self.tile(ij)
            with tile_tolerance(part.domain, self.tolerance):
                local = part.locate(pts[sel])
            ok = local >= 0
            out[sel[ok]] = self.labels(ij)[local[ok]]
        return out

    # -- pictures --------------------------------------------------------------------

    def raster(self, client: Any = "serial", **style: Any) -> np.ndarray:
        """The picture as ``(H, W, 3) uint8``, drawn tile by tile (see :mod:`.picture`)."""
        from .picture import render_tiles

        return render_tiles(self, style, client)

    def to_png(self, path: Any = None, client: Any = "serial", **style: Any) -> bytes:
        """PNG of the regions, drawn tile by tile; equal to ``Partition.to_png`` of the whole."""
        from regionscope.render import encode_png

        data = encode_png(self.raster(client, **style))
        if path is not None:
            Path(path).write_bytes(data)
        return data

    # -- files -----------------------------------------------------------------------

    def index_arrays(self) -> dict[str, np.ndarray]:
        """Everything but the tiles, as named arrays (the index file)."""
        text, arrays = model_to_arrays(self.model)
        s = self.stitched
        out: dict[str, np.ndarray] = {
            "format": np.array(TILES_FORMAT),
            "model": np.array(text),
            **arrays,
            "xs": self.xs,
            "ys": self.ys,
            "tiles": np.array(self.tiles, dtype=np.int64).reshape(-1, 2),
            "counts": np.array([s.num_regions, s.num_vertices, s.num_edges, s.collisions]),
            "tolerance": np.array(self.tolerance),
        }
        for key, value in self.domain.to_arrays().items():
            out[f"domain/{key}"] = np.asarray(value)
        for name in _STITCHED:
            out[f"stitched/{name}"] = np.asarray(getattr(s, name))
        for name in _PER_TILE:
            if name in self.tile_stats:
                out[f"tile/{name}"] = np.asarray(self.tile_stats[name])
        return out

    def save(self, directory: Any) -> None:
        """Write the index, the regions' areas and centroids (:data:`~.stitch.REGION_FILES`)
        and every tile's partition file to ``directory`` (created)."""
        from regionscope.io import save_arrays

        target = os.fspath(directory)
        os.makedirs(target, exist_ok=True)
        same = isinstance(self._store, str) and os.path.samefile(self._store, target)
        if not same:
            for ij in self.tiles:
                save_arrays(os.path.join(target, tile_file(ij)), self.tile_arrays(ij))
            manifest = os.path.join(self._store, MANIFEST_NAME) if isinstance(
                self._store, str) else None  # fmt: skip
            if manifest is not None and os.path.exists(manifest):
                shutil.copyfile(manifest, os.path.join(target, MANIFEST_NAME))
        for name, file in REGION_FILES.items():
            _save_npy(os.path.join(target, file), getattr(self.stitched, name))
        save_arrays(os.path.join(target, INDEX_NAME), self.index_arrays())

    def __repr__(self) -> str:
        kx, ky = self.grid
        return (
            f"<TiledPartition of {self.domain!r} in {kx}x{ky} tiles: {self.num_regions} "
            f"regions, {self.num_vertices} vertices>"
        )


def _save_npy(path: str, values: np.ndarray) -> None:
    """``np.save`` through a temporary file; nothing to do when ``values`` is that file."""
    own = getattr(values, "filename", None)
    if own is not None and os.path.exists(path) and os.path.samefile(own, path):
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        np.save(fh, np.asarray(values))
    os.replace(tmp, path)


def load_tiles(directory: Any) -> TiledPartition:
    """Read a tiled partition written by :meth:`TiledPartition.save` (tiles stay on disk)."""
    from regionscope.io import load_arrays

    target = os.fspath(directory)
    arrays = load_arrays(os.path.join(target, INDEX_NAME))
    if str(arrays.get("format", "")) != TILES_FORMAT:
        raise ValueError(
            f"{target}: not a tiled regionscope partition of format {TILES_FORMAT!r} (an older "
            f"one? run partition_tiles again with another directory)"
        )
    try:
        return _from_index(arrays, target)
    except (KeyError, TypeError, FileNotFoundError) as exc:
        raise ValueError(f"{target}: the tiled partition's index is malformed: {exc}") from None


def _from_index(arrays: dict[str, np.ndarray], store: str) -> TiledPartition:
    model = model_from_arrays(str(arrays["model"]), arrays)
    layers = model.layers if isinstance(model, Sequential) else (model,)
    desc = {k[len("domain/") :]: arrays[k] for k in arrays if k.startswith("domain/")}
    desc = {k: (str(v) if v.dtype.kind == "U" else v) for k, v in desc.items()}
    domain = domain_from_arrays(desc)
    if not isinstance(domain, Domain2D):
        raise ValueError(f"{store}: a tiled partition needs a 2-D domain")
    counts = [int(v) for v in arrays["counts"]]
    fields = {name: arrays[f"stitched/{name}"] for name in _STITCHED}
    for name, file in REGION_FILES.items():  # memory-mapped, read as they are used
        fields[name] = np.load(os.path.join(store, file), mmap_mode="r", allow_pickle=False)
    stitched = Stitched(
        **fields,
        num_regions=counts[0],
        num_vertices=counts[1],
        num_edges=counts[2],
        collisions=counts[3],
    )
    tiles = [(int(a), int(b)) for a, b in arrays["tiles"]]
    stats = {name: arrays[f"tile/{name}"] for name in _PER_TILE if f"tile/{name}" in arrays}
    return TiledPartition(
        domain,
        Sequential(*layers),
        arrays["xs"],
        arrays["ys"],
        tiles,
        stitched,
        stats,
        store,
        float(arrays["tolerance"]),
    )


def partition_tiles(
    model: Any,
    domain: Any,
    tiles: Any = (2, 2),
    *,
    client: Any = None,
    workers: int | None = None,
    directory: Any = None,
    progress: bool = False,
    max_regions: int | None = None,
) -> TiledPartition:
    """Compute the partition of a domain as a grid of tiles, on Dask.

    Parameters
    ----------
    model : Layer or torch.nn.Module
        As for :func:`regionscope.partition` (a torch module is converted once,
        here, and the converted network is sent to the workers).
    domain : Box, Polygon or Plane
        A plane is tiled into planes with windows (same plane coordinates).
    tiles : int or (kx, ky)
        ``k x k`` tiles, or per axis a number of equal tiles or the cut
        positions (see :func:`~regionscope.scale.grid.tile_borders`).
    client : None, dask.distributed.Client or "serial"
        Where the tiles are computed (:class:`~regionscope.scale.engine.Engine`):
        a local cluster of processes by default, any Dask cluster, or this process.
    workers : int, optional
        Workers of the local cluster started when ``client`` is None.
    directory : str or Path, optional
        The workers write each tile's partition file there as it is done
        (atomically), and this process the index at the end (:func:`load_tiles`
        reads it).  A run that stopped resumes: the tiles already there, of the
        same task (network, domain, grid, tolerances: the digest in the
        directory's manifest and in each tile file, :mod:`.store`), are loaded,
        not computed again (``tile_stats["computed"]`` tells which were).  A
        directory holding another task's tiles is refused (``ValueError``).
        Workers that see the directory at the same path (a local cluster's,
        or a cluster on a shared file system) write the tiles themselves;
        others send them back to be written here.  Border patterns and the
        regions' areas and centroids stay in the directory (the latter
        memory-mapped), so this process's memory grows with the tiles'
        borders, not with the regions.  Without a directory, tiles travel
        back and are kept in memory.
    progress : bool
        Show progress over the tiles.
    max_regions : int, optional
        Per tile, as for :func:`regionscope.partition`.

    Returns
    -------
    TiledPartition
        Its counts, areas, centroids, patterns and picture equal those of
        ``regionscope.partition(model, domain)``.

    Notes
    -----
    Each tile is an ordinary partition of its part of the domain, computed
    with the whole domain's tolerances (:func:`~.grid.whole_scales`): its
    units' tolerances come from the unit scales over the whole domain's
    corners, and it snaps points by the whole domain's point tolerance
    (``point_rtol`` times the whole diameter).  So near-degenerate cases
    come out as in the partition of the whole domain (lines that meet within
    the tolerance of one point meet in one point in every tile), where a
    tile computed on its own, with its smaller corners and diameter, could
    decide differently.  A tile also decides at points the whole partition
    does not have: its border vertices.  A unit within its tolerance of
    zero at one is snapped through it, the same way in both neighbouring
    tiles; its line then lies elsewhere within its tolerance band (``|z| <=
    tolerance``), and areas may differ from the whole partition's by up to
    the band's area.  The tile files keep these tolerances
    (:data:`~.grid.SCALE_KEYS`); :meth:`TiledPartition.tile` uses them.
    """
    from regionscope import compute

    dom = coerce_domain(domain)
    if not isinstance(dom, Domain2D):
        raise TypeError(f"domain must be a 2-D domain (Box, Polygon, Plane), got {dom!r}")
    limit = compute.DEFAULT_MAX_REGIONS if max_regions is None else max_regions
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
        raise ValueError(f"max_regions must be a positive integer, got {max_regions!r}")
    limit = int(limit)
    net = Sequential(*as_layers(model, dom.input_shape))
    xs, ys = tile_borders(dom, tiles)
    scales = whole_scales(dom)
    tol = scales[1]
    parts = _tile_parts(dom, xs, ys, tol)
    settings = snapshot_settings()
    store: dict[tuple[int, int], dict[str, np.ndarray]] | str = {}
    summaries: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    digest = ""
    if directory is not None:
        store = os.path.abspath(os.fspath(directory))
        digest = task_digest(net, dom, xs, ys, scales, settings["tolerance"])
        about = {"format": TILES_FORMAT, "domain": repr(dom), "grid": [len(xs) - 1, len(ys) - 1]}
        open_directory(store, digest, about)
        summaries.update(done_tiles(store, digest, [ij for ij, _ in parts]))
    resumed = set(summaries)
    todo = [(ij, t) for ij, t in parts if ij not in resumed]
    job = (net, xs, ys, scales, limit, settings)
    _run_tiles(job, todo, store, digest, summaries, Engine(client, workers, progress))
    order = [ij for ij, _ in parts]
    sums = [summaries[ij] for ij in order]
    if isinstance(store, str):  # border patterns and region tables stay in the tile files
        files = [os.path.join(store, tile_file(ij)) for ij in order]
        stitched = stitch(sums, dom.polygon, tol, patterns=lambda t: tile_patterns(files[t]),
                          tables=lambda t: tile_tables(files[t]), directory=store,
                          cache=len(xs) + 2)  # fmt: skip
    else:
        stitched = stitch(sums, dom.polygon, tol, cache=len(xs) + 2)
    stats = {name: np.array([np.asarray(s[name]).item() for s in sums]) for name in _PER_TILE[:-1]}
    stats["computed"] = np.array([ij not in resumed for ij in order])
    tiled = TiledPartition(dom, net, xs, ys, order, stitched, stats, store, tol)
    if isinstance(store, str):
        tiled.save(store)
    return tiled


def _tile_parts(
    dom: Domain2D, xs: np.ndarray, ys: np.ndarray, tol: float
) -> list[tuple[tuple[int, int], Domain2D]]:
    """The tiles to compute; ``ValueError`` for borders closer than the point tolerance."""
    for name, borders in (("tiles[0]", xs), ("tiles[1]", ys)):
        if (np.diff(borders) <= tol).any():
            raise ValueError(
                f"{name}: tile borders {borders.tolist()} are not further apart than the "
                f"point tolerance {tol:g} of the domain"
            )
    # a border through a corner of a polygon may leave a tile that is one point (by the
    # point tolerance): it holds no region of the whole domain
    return [(ij, t) for ij, t in tile_domains(dom, xs, ys) if t.diameter > tol]


def _run_tiles(
    job: tuple[Any, ...],
    todo: list[tuple[tuple[int, int], Domain2D]],
    store: dict[tuple[int, int], dict[str, np.ndarray]] | str,
    digest: str,
    summaries: dict[tuple[int, int], dict[str, np.ndarray]],
    engine: Engine,
) -> None:
    """Compute the tiles ``todo`` on ``engine``; their summaries go to ``summaries``, their
    partitions to ``store`` (a directory: written by the workers, :func:`~.store.compute_stored`).

    ``job = (network, xs, ys, scales, max_regions, settings)``.
    """
    net, xs, ys, scales, limit, settings = job

    def arrived(ij: tuple[int, int], result: Any) -> None:
        if isinstance(store, str):  # the worker wrote the tile's file (or could not)
            summaries[ij] = keep_result(store, digest, ij, result)
        else:
            summaries[ij], store[ij] = result

    with engine:
        shared = engine.share(net)
        if isinstance(store, str):
            head: tuple[Any, ...] = (settings, compute_stored, store, digest)
        else:
            head = (settings, compute_tile)
        tasks = [(ij, with_settings, (*head, shared, t, ij, xs, ys, scales, limit))
                 for ij, t in todo]  # fmt: skip
        limit_flight = None if engine.serial else 2 * _worker_count(engine) + 2
        failed = engine.run(tasks, arrived, max_in_flight=limit_flight, description="tiles")
    if failed:
        ij, exc = next(iter(failed.items()))
        raise RuntimeError(f"tile {ij} failed: {type(exc).__name__}: {exc}") from exc
    if isinstance(store, str) and todo:
        _check_written(store, [ij for ij, _ in todo])


def _check_written(store: str, tiles: list[tuple[int, int]]) -> None:
    """Raise when the files that the workers wrote are not in ``store`` as this process sees it."""
    missing = [ij for ij in tiles if not os.path.exists(os.path.join(store, tile_file(ij)))]
    if missing:
        raise RuntimeError(
            f"the workers wrote {len(missing)} tile files (e.g. {tile_file(missing[0])}) that "
            f"are not in {store!r} here: the directory must be on a file system that the "
            f"workers and this process share"
        )


def _worker_count(engine: Engine) -> int:
    """Number of workers of the engine's Dask cluster (at least 1)."""
    try:
        return max(1, len(engine.client.scheduler_info().get("workers", {})))
    except Exception:  # a client that cannot tell: assume one
        return 1
