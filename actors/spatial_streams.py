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
from typing import TYPE_CHECKING

import numpy as np

from carta_trio.actors import region_data
from carta_trio.actors.analytics_state import (
    CURSOR_REGION_ID,
    SpatialRequirement,
    analytics,
    send_file_stream,
    start_job,
)
from carta_trio.actors.histogram_streams import resolve_requirement_stokes
from carta_trio.actors.stokes_coordinates import CoordinateError
from carta_trio.analysis.region_masks import cursor_pixel, point_pixel
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.regions import Region

log = logging.getLogger(__name__)

TAG = "spatial"
SLOT = "spatial"
MAX_LINE_WIDTH = 20


def start_cursor_spatial(frame: Frame) -> None:
    """Send the cursor's spatial profile as a job (after SET_SPATIAL_REQUIREMENTS)."""
    start_job(frame.session, analytics(frame).slot(SLOT, CURSOR_REGION_ID), "cursor spatial profile",
              send_cursor_spatial, frame)


def start_region_spatial(frame: Frame, region: Region) -> None:
    """Send a point or line region's spatial profiles as a job."""
    start_job(frame.session, analytics(frame).slot(SLOT, region.region_id),
              f"spatial profile of region {region.region_id}", send_region_spatial, frame, region)


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
    if region.is_point:
        x, y = region.points[0]
        pixel = point_pixel(x, y, frame.width, frame.height)
        if pixel is not None:
            await send_point_spatial(frame, region.region_id, pixel)
    elif region.is_line:
        await send_line_spatial(frame, region)


def _span(start: int, end: int, size: int) -> tuple[int, int]:
    if end == 0 and start == 0 or end == 0:
        end = size
    return max(0, min(start, size)), max(0, min(end, size))


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
        start, end = _span(requirement.start, requirement.end, data.shape[0])
        if requirement.mip >= 2:
            from carta_trio.analysis import spatial_profiles  # noqa: PLC0415 - landing with the analysis helper

            values = spatial_profiles.point_profile(data, start, end, requirement.mip)
        else:
            values = data[start:end]
        profiles.append(
            pb.SpatialProfile(
                start=requirement.start,
                end=end if requirement.end == 0 else requirement.end,
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


async def send_line_spatial(frame: Frame, region: Region) -> None:
    """Line/polyline profiles, one message per config (WIRE.md §4.2)."""
    raise NotImplementedError
