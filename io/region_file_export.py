"""What both region-file writers share: the region to export and its world values.

:func:`world_values` converts the position control points of every region to the
image's sky frame in one vectorised WCS call, and the size control point (width and
height, semi-axes, compass length) to arcsec as ``pixels * |increment|`` per axis,
the inverse of the import's length rule (FILES_REGIONS_CATALOGS.md §1.1), so an
exported file imports back to the same pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from carta_trio.analysis.region_geometry import RegionType as RT
from carta_trio.io.region_file_common import Point, StyleData
from carta_trio.io.region_sky import ImageGeometry

__all__ = ["SIZED_TYPES", "ExportRegion", "WorldValues", "world_values"]

#: Types whose second control point is a size, not a position.
SIZED_TYPES = frozenset({RT.RECTANGLE, RT.ANNRECTANGLE, RT.ELLIPSE, RT.ANNELLIPSE, RT.ANNTEXT, RT.ANNCOMPASS})

ARCSEC_PER_DEG = 3600.0


@dataclass
class ExportRegion:
    """One region to write: its session id, geometry in image pixels and style."""

    region_id: int
    region_type: int
    points: list[Point]
    rotation: float
    style: StyleData = field(default_factory=StyleData)

    @property
    def positions(self) -> list[Point]:
        return self.points[:1] if self.region_type in SIZED_TYPES else list(self.points)


@dataclass
class WorldValues:
    """Sky positions (degrees, image frame) and sizes (arcsec) of one region."""

    lon: list[float]
    lat: list[float]
    sizes_arcsec: list[float]


def world_values(regions: Sequence[ExportRegion], geometry: ImageGeometry) -> list[WorldValues]:
    """World values of every region (one WCS call for all positions)."""
    counts = [len(r.positions) for r in regions]
    xs = np.array([p[0] for r in regions for p in r.positions], dtype=float)
    ys = np.array([p[1] for r in regions for p in r.positions], dtype=float)
    if len(xs):
        lon, lat = geometry.pixel_to_world(xs, ys)
    else:
        lon = lat = np.zeros(0)
    out: list[WorldValues] = []
    start = 0
    inc_x, inc_y = geometry.increments
    for region, n in zip(regions, counts):
        sizes: list[float] = []
        if region.region_type in SIZED_TYPES and len(region.points) > 1:
            w, h = region.points[1]
            sizes = [abs(w) * inc_x * ARCSEC_PER_DEG, abs(h) * inc_y * ARCSEC_PER_DEG]
        out.append(WorldValues(lon[start:start + n].tolist(), lat[start:start + n].tolist(), sizes))
        start += n
    return out
