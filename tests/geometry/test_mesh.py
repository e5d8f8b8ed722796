"""The Mesh container: read-only arrays, cached derived arrays, areas anywhere."""

from __future__ import annotations

import numpy as np
import pytest

from regionscope.geometry.mesh import BOUNDARY, Mesh, decode_source, encode_source

SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])


def two_triangles(offset=0.0):
    """The unit square cut by its diagonal from (0, 0) to (1, 1)."""
    return Mesh(
        SQUARE + offset,
        np.array([0, 1, 2, 0, 2, 3]),
        np.array([0, 3, 6]),
        np.array([BOUNDARY, BOUNDARY, int(encode_source(1, 0)), int(encode_source(1, 0)),
                  BOUNDARY, BOUNDARY]),
        4,
    )  # fmt: skip


def test_arrays_are_read_only_and_derived_arrays_cached():
    mesh = two_triangles()
    for arr in (mesh.vertices, mesh.region_vertices, mesh.areas, mesh.incidence_next):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 0
    assert mesh.incidence_next is mesh.incidence_next  # computed once


def test_derived_arrays_by_hand():
    mesh = two_triangles()
    assert mesh.sizes.tolist() == [3, 3]
    assert mesh.incidence_region.tolist() == [0, 0, 0, 1, 1, 1]
    assert mesh.incidence_next.tolist() == [1, 2, 0, 4, 5, 3]
    assert mesh.incidence_prev.tolist() == [2, 0, 1, 5, 3, 4]
    np.testing.assert_allclose(mesh.areas, [0.5, 0.5])
    np.testing.assert_allclose(mesh.centroids, [[2 / 3, 1 / 3], [1 / 3, 2 / 3]])
    assert mesh.edge_vertices.tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [2, 3]]
    diagonal = mesh.edge_vertices.tolist().index([0, 2])
    assert mesh.edge_regions[diagonal].tolist() == [0, 1]
    assert decode_source(mesh.edge_source[diagonal]) == (1, 0)
    assert (mesh.edge_regions[np.arange(5) != diagonal, 1] == -1).all()


@pytest.mark.parametrize("offset", [0.0, 1e3, 1e8, 1e12])
def test_areas_and_centroids_far_from_the_origin(offset):
    mesh = two_triangles(offset)
    np.testing.assert_allclose(mesh.areas, [0.5, 0.5], rtol=1e-12)
    np.testing.assert_allclose(mesh.centroids - offset, [[2 / 3, 1 / 3], [1 / 3, 2 / 3]],
                               atol=1e-3 if offset >= 1e12 else 1e-6)  # fmt: skip


def test_source_codes_round_trip():
    layer, unit = decode_source(encode_source(np.array([0, 5, 2**20]), np.array([3, 0, 2**31])))
    assert layer.tolist() == [0, 5, 2**20] and unit.tolist() == [3, 0, 2**31]
    assert decode_source(np.array([BOUNDARY])) == (-1, -1)
