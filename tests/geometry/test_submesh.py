"""submesh and splice: taking regions out, cutting them alone, putting them back."""

from __future__ import annotations

import numpy as np

import regionscope as rs
from regionscope.geometry import check_mesh, cut, encode_source
from regionscope.geometry.submesh import splice, submesh
from regionscope.testing import random_mlp


def grid_mesh():
    part = rs.partition(random_mlp([2, 12], seed=3), rs.Box(1.0))
    return part.mesh


def test_submesh_keeps_the_regions_and_their_vertices():
    mesh = grid_mesh()
    regions = np.array([0, 3, 5])
    part, vmap = submesh(mesh, regions)
    assert part.num_regions == 3
    for i, f in enumerate(regions):
        mine = vmap[part.region_vertices[part.region_offsets[i] : part.region_offsets[i + 1]]]
        theirs = mesh.region_vertices[mesh.region_offsets[f] : mesh.region_offsets[f + 1]]
        assert mine.tolist() == theirs.tolist()
    np.testing.assert_array_equal(part.areas, mesh.areas[regions])


def test_splicing_an_uncut_part_gives_the_same_regions():
    mesh = grid_mesh()
    regions = np.arange(0, mesh.num_regions, 2)
    part, vmap = submesh(mesh, regions)
    out, conflicts = splice(mesh, regions, vmap, part, part.num_vertices, np.zeros((0, 2), int))
    assert len(conflicts) == 0 and out.num_regions == mesh.num_regions
    check_mesh(out, 4.0)
    assert sorted(np.round(out.areas, 12)) == sorted(np.round(mesh.areas, 12))


def cut_by_line(mesh, regions, normal, offset):
    part, vmap = submesh(mesh, regions)
    z = (part.vertices @ normal + offset)[:, None]
    res = cut(part, z, np.array([1e-12]), encode_source(9, np.array([0])), 1e-12, 10**6)
    n_old = part.num_vertices
    between = np.concatenate(
        [np.stack([a, b], axis=1)[(a < n_old) & (b < n_old)] for a, b, _ in res.interp]
        or [np.zeros((0, 2), dtype=np.int64)]
    )
    return splice(mesh, regions, vmap, res.mesh, n_old, between)


def test_a_cut_of_every_region_the_line_meets_splices_into_a_valid_mesh():
    mesh = grid_mesh()
    normal, offset = np.array([0.3, 1.0]), 0.1
    z = mesh.vertices @ normal + offset
    own = mesh.incidence_region
    zr = z[mesh.region_vertices]
    crossed = np.unique(
        own[
            (np.minimum.reduceat(zr, mesh.region_offsets[:-1]) < 0)[own]
            & (np.maximum.reduceat(zr, mesh.region_offsets[:-1]) > 0)[own]
        ]
    )
    out, conflicts = cut_by_line(mesh, crossed, normal, offset)
    assert len(conflicts) == 0
    check_mesh(out, 4.0)
    assert out.num_regions == mesh.num_regions + len(crossed)


def test_a_part_that_splits_a_side_of_a_region_left_out_is_refused():
    mesh = grid_mesh()
    normal, offset = np.array([0.3, 1.0]), 0.1
    zr = (mesh.vertices @ normal + offset)[mesh.region_vertices]
    crossed = np.flatnonzero(
        (np.minimum.reduceat(zr, mesh.region_offsets[:-1]) < 0)
        & (np.maximum.reduceat(zr, mesh.region_offsets[:-1]) > 0)
    )
    out, conflicts = cut_by_line(mesh, crossed[::2], normal, offset)  # neighbours left out
    assert out is None and len(conflicts) > 0
    assert not np.isin(conflicts, crossed[::2]).any()
    assert np.isin(conflicts, crossed).all()  # exactly the crossed neighbours left out
