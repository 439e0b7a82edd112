"""SPATIAL_PROFILE_DATA for the cursor, point regions and line/polyline regions.

ANALYTICS.md §5, WIRE.md §4.1-4.2. A point (the cursor at ``round(x), round(y)``, a
point region at its casacore box pixel) outside the image sends nothing. Without
spatial requirements one message carries only the pixel value. Otherwise configs are
grouped by Stokes, one message per group, one profile per config (``x``: the row,
``y``: the column, ``[start, end)`` of the current channel, ``end = 0`` meaning the
full axis; ``mip >= 2`` decimates to min/max pairs). Line and polyline regions send
one message per config with the mean of a box per sample along the line.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from carta_trio.actors import region_data
from carta_trio.actors.analytics_state import (
    CURSOR_REGION_ID,
    SpatialRequirement,
    analytics,
    send_file_stream,
)
from carta_trio.actors.histogram_streams import resolve_requirement_stokes
from carta_trio.actors.regions import line_too_long
from carta_trio.actors.stokes_coordinates import CoordinateError
from carta_trio.analysis import line_profiles, spatial_profiles
from carta_trio.analysis.region_geometry import RegionError, RegionType
from carta_trio.io import coord_ranges
from carta_trio.analysis.region_masks import cursor_pixel, point_pixel
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from astropy.wcs import WCS

    from carta_trio.actors.frame import Frame
    from carta_trio.actors.regions import Region

log = logging.getLogger(__name__)

TAG = "spatial"
SLOT = "spatial"
MAX_LINE_WIDTH = 20
#: Boxes averaged per worker call (cancellation is checked between calls).
LINE_BOXES_PER_SLICE = 256


def start_cursor_spatial(frame: Frame) -> None:
    """Send the cursor's spatial profile as a job (after SET_SPATIAL_REQUIREMENTS)."""
    frame.jobs.start(SLOT, CURSOR_REGION_ID, "cursor spatial profile", send_cursor_spatial, frame)


def start_region_spatial(frame: Frame, region: Region) -> None:
    """Send a point or line region's spatial profiles as a job."""
    frame.jobs.start(SLOT, region.region_id, f"spatial profile of region {region.region_id}",
                     send_region_spatial, frame, region)


async def send_cursor_spatial(frame: Frame) -> bool:
    """SPATIAL_PROFILE_DATA for the cursor; False (nothing sent) when it is outside."""
    position = analytics(frame).cursor
    if position is None:
        return False
    pixel = cursor_pixel(position[0], position[1], frame.width, frame.height)
    if pixel is None:
        return False
    await send_point_spatial(frame, CURSOR_REGION_ID, pixel)
    return True


async def send_region_spatial(frame: Frame, region: Region) -> None:
    """Spatial profiles of a point region (at its pixel) or a line/polyline region."""
    try:
        region.check_applicable(frame)
    except RegionError as exc:
        await frame.session.send_error(f"Spatial requirements failed for region {region.region_id}: {exc}",
                                       pb.ErrorSeverity.ERROR, [TAG])
        return
    if region.is_point:
        x, y = region.points[0]
        pixel = point_pixel(x, y, frame.width, frame.height)
        if pixel is not None:
            await send_point_spatial(frame, region.region_id, pixel)
    elif region.is_line:
        await send_line_spatial(frame, region)


def _point_profiles(
    frame: Frame, plane: np.ndarray | None, channel: int, stokes: int, pixel: tuple[int, int],
    requirements: list[SpatialRequirement],
) -> tuple[float, list[pb.SpatialProfile]]:
    """The pixel value and the configs' profiles at one Stokes (blocking)."""
    x, y = pixel
    reader = frame.reader
    if plane is not None:
        row, column = plane[y, :], plane[:, x]
    else:
        row = region_data.read_block(reader, 0, frame.width, y, y + 1, channel, channel + 1, stokes)[0, 0, :]
        column = region_data.read_block(reader, x, x + 1, 0, frame.height, channel, channel + 1, stokes)[0, :, 0]
    profiles = []
    for requirement in requirements:
        data = row if requirement.coordinate.axis == "x" else column
        span, values = spatial_profiles.spatial_profile(data, requirement.start, requirement.end, requirement.mip)
        profiles.append(
            pb.SpatialProfile(
                start=requirement.start,
                end=span.end,
                coordinate=requirement.coordinate.text,
                mip=requirement.mip,
                raw_values_fp32=np.asarray(values, dtype="<f4").tobytes(),
            )
        )
    return float(row[x]), profiles


async def send_point_spatial(frame: Frame, region_id: int, pixel: tuple[int, int]) -> None:
    """The messages of one point: grouped by Stokes in order of first appearance."""
    session = frame.session
    channel, current = frame.channel, frame.stokes
    groups: dict[int, list[SpatialRequirement]] = {}
    for requirement in analytics(frame).spatial.get(region_id, []):
        try:
            stokes = resolve_requirement_stokes(frame, requirement.coordinate)
        except CoordinateError as exc:
            await session.send_error(f"Spatial requirements failed for region {region_id}: {exc}",
                                     pb.ErrorSeverity.ERROR, [TAG])
            continue
        groups.setdefault(stokes, []).append(requirement)
    if not groups:
        groups = {current: []}
    for stokes, requirements in groups.items():
        plane = frame.plane if (channel, stokes) == (frame.channel, frame.stokes) else None
        profiles: list[pb.SpatialProfile]
        if plane is not None and not requirements:
            value, profiles = float(plane[pixel[1], pixel[0]]), []
        else:
            value, profiles = await session.run_sync(_point_profiles, frame, plane, channel, stokes, pixel, requirements)
        await send_file_stream(
            frame,
            pb.SpatialProfileData(
                file_id=frame.file_id,
                region_id=region_id,
                x=pixel[0],
                y=pixel[1],
                channel=channel,
                stokes=stokes,
                value=value,
                profiles=profiles,
            ),
        )


class Direction:
    """Angular geometry of a frame's render plane (for line profiles): separations of
    pixel positions in arcsec through the celestial WCS, and the pixel scales."""

    def __init__(self, wcs: WCS, swap: bool) -> None:
        self._wcs = wcs
        self._swap = swap
        from astropy.wcs.utils import proj_plane_pixel_scales

        scales = [abs(float(v)) * 3600.0 for v in proj_plane_pixel_scales(wcs)]  # degrees per pixel
        if swap:
            scales.reverse()
        self.dx, self.dy = scales
        #: |CDELT2| in arcsec: the reference's increment unit and tolerance base.
        self.cdelt2 = self.dy

    def _world(self, point: tuple[float, float]) -> tuple[float, float]:
        x, y = point
        pixel = (y, x) if self._swap else (x, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lon, lat = self._wcs.wcs_pix2world([pixel], 0)[0]
        return math.radians(lon), math.radians(lat)

    def separation(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        """Great-circle distance in arcsec (0 when a position has no world coordinate)."""
        lon1, lat1 = self._world(a)
        lon2, lat2 = self._world(b)
        if not all(math.isfinite(v) for v in (lon1, lat1, lon2, lat2)):
            return 0.0
        h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        return math.degrees(2 * math.asin(min(1.0, math.sqrt(h)))) * 3600.0

    def unit_length(self, cos: float, sin: float) -> float:
        return math.hypot(cos * self.dx, sin * self.dy)


def direction_of(frame: Frame) -> Direction | None:
    """The frame's :class:`Direction` (blocking, cached), None without sky axes on x/y."""
    if frame.facts.direction_known:
        return frame.facts.direction
    direction = None
    reader = frame.reader
    axes = reader.axes
    if {axes.spatial_x, axes.spatial_y} == {axes.x, axes.y}:
        try:
            wcs = coord_ranges.build_wcs(reader.header_strings(), reader.ndim)
            if wcs is not None and wcs.has_celestial:
                direction = Direction(wcs.celestial, swap=axes.x > axes.y)
        except (NotImplementedError, ValueError):
            direction = None
    frame.facts.direction, frame.facts.direction_known = direction, True
    return direction


def _line_boxes(region: Region, width: int, direction: Direction) -> line_profiles.LineBoxes | None:
    tolerance = 0.01 * direction.cdelt2
    if region.region_type == RegionType.LINE:
        p0, p1 = region.points
        return line_profiles.line_boxes(p0, p1, width, direction.separation, tolerance, direction.unit_length)
    return line_profiles.polyline_boxes(region.points, width, direction.separation, tolerance, direction.unit_length)


async def send_line_spatial(frame: Frame, region: Region) -> None:
    """Line/polyline profiles, one message per config (WIRE.md §4.2).

    Each value is the mean of a box one pixel further along the line; the boxes are
    averaged in slices, so a change of the line, the channel or the requirements
    (which cancel this job) takes effect within one slice.
    """
    session = frame.session
    rid = region.region_id
    too_long = line_too_long(region.points, region.region_type == RegionType.POLYLINE)
    if too_long is not None:  # before any box is made (issue 11: 10**9 of them ended in an OOM kill)
        log.info("line profile of region %d on file %d refused: %s", rid, frame.file_id, too_long)
        await session.send_error(f"Line profile of region {rid}: {too_long}", pb.ErrorSeverity.ERROR, [TAG])
        return
    direction = await session.run_sync(direction_of, frame)
    if direction is None:
        await session.send_error("Cannot approximate line with no direction coordinate.", pb.ErrorSeverity.ERROR, [TAG])
        return
    channel = frame.channel
    for requirement in list(analytics(frame).spatial.get(rid, [])):
        try:
            stokes = resolve_requirement_stokes(frame, requirement.coordinate)
        except CoordinateError as exc:
            await session.send_error(f"Spatial requirements failed for region {rid}: {exc}", pb.ErrorSeverity.ERROR, [TAG])
            continue
        boxes = await session.run_sync(_line_boxes, region, requirement.width, direction)
        if boxes is None or not boxes.boxes:
            await session.send_error(
                f"Line profile of region {rid}: box centres are not evenly spaced on the sky "
                "(fixed-angle sampling is not supported)", pb.ErrorSeverity.WARNING, [TAG])
            continue
        plane = frame.plane if (channel, stokes) == (frame.channel, frame.stokes) else None
        if plane is None:
            plane = await session.run_sync(region_data.read_plane, frame.reader, channel, stokes)
        values = np.empty(len(boxes.boxes), dtype=np.float32)
        for i in range(0, len(boxes.boxes), LINE_BOXES_PER_SLICE):
            part = boxes.boxes[i : i + LINE_BOXES_PER_SLICE]
            values[i : i + len(part)] = await session.run_sync(line_profiles.box_means, plane, part)
        if np.isnan(values).all():
            continue
        count = len(boxes.boxes)
        increment, unit = line_profiles.increment_unit(boxes.increment, count)
        axis = line_profiles.line_axis(region.region_type == RegionType.POLYLINE, count, increment, unit)
        await send_file_stream(
            frame,
            pb.SpatialProfileData(
                file_id=frame.file_id,
                region_id=rid,
                channel=channel,
                stokes=stokes,
                profiles=[
                    pb.SpatialProfile(
                        start=0,
                        end=count - 1,
                        coordinate=requirement.coordinate.text,
                        mip=0,
                        raw_values_fp32=values.astype("<f4").tobytes(),
                        line_axis=pb.LineProfileAxis(
                            axis_type=axis.axis_type, crpix=axis.crpix, crval=axis.crval, cdelt=axis.cdelt, unit=axis.unit
                        ),
                    )
                ],
            ),
        )
