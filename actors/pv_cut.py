"""What PV images and PV previews share: request validation and the cut's boxes.

Validation follows ``Session::OnPvRequest`` / ``RegionHandler::CalculatePvImage``
(ANALYTICS.md §7.1) with the reference's messages, plus refusals the reference does
not make: a zero-length cut, a channel range outside the image, and a cut needing more
than ``limits.MAX_LINE_BOXES`` boxes (checked before any box is made, issue 11).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from carta_trio.actors import region_data
from carta_trio.actors.regions import Region, line_too_long, registry
from carta_trio.analysis.line_boxes import LineBoxes, box_increment, box_masks, increment_with_unit, line_boxes
from carta_trio.analysis.pv import box_spectra
from carta_trio.analysis.region_geometry import RegionMask, RegionType
from carta_trio.io.sky_coordinates import sky_coordinates
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session
    from carta_trio.io.image_reader import ImageReader

__all__ = ["PvError", "Cut", "validate_request", "plan_cut", "box_groups", "read_box_spectra", "ALL_Z"]

MIN_WIDTH, MAX_WIDTH = 1, 20
ALL_Z = -2
#: Source bytes per chunk of boxes, and at least this many chunks for progress.
CHUNK_BYTES = 8 << 20
MIN_CHUNKS = 20


class PvError(Exception):
    """A PV request the backend refuses; ``str(exc)`` is the response message."""


@dataclass(frozen=True)
class Cut:
    """The boxes of a cut on one image and the offset axis they define."""

    boxes: LineBoxes
    masks: list[RegionMask | None]
    increment: float  # in ``unit``
    unit: str
    linear: bool

    def __len__(self) -> int:
        return len(self.boxes)


def validate_request(session: Session, frame: Frame, message: pb.PvRequest) -> tuple[Region, int, int]:
    """The cut region and the channel range ``[z0, z1)``; PvError with the reason."""
    region_id = message.region_id
    regions = registry(session)
    if region_id <= 0 or not regions.regions:
        raise PvError("Invalid region id.")
    region = regions.get(region_id)
    if region is None or region.is_annotation:
        raise PvError("PV image requested for invalid region.")
    if region.region_type != RegionType.LINE:
        raise PvError("Region type not supported for PV cut.")
    if frame.reader.axes.spectral is None:
        raise PvError("No spectral coordinate for generating PV image.")
    if not MIN_WIDTH <= message.width <= MAX_WIDTH:
        raise PvError("Invalid averaging width.")
    (x0, y0), (x1, y1) = region.points
    if x0 == x1 and y0 == y1:
        raise PvError("PV cut has zero length: its two control points coincide.")
    too_long = line_too_long(region.points)
    if too_long is not None:  # before the preview cube is loaded or any box is made
        raise PvError(f"PV cut of region {region_id}: {too_long}.")
    depth = frame.depth
    z0, z1 = 0, depth - 1
    if message.HasField("spectral_range"):
        z0, z1 = int(message.spectral_range.min), int(message.spectral_range.max)
        if z1 == ALL_Z:
            z1 = depth - 1
    if not 0 <= z0 <= z1 < depth:
        raise PvError(f"Invalid spectral range [{z0}, {z1}]: the image has channels 0 to {depth - 1}.")
    return region, z0, z1 + 1


def plan_cut(reader: ImageReader, points: tuple[tuple[float, float], ...] | list[tuple[float, float]],
             width: int) -> Cut:
    """Blocking: the boxes of the LINE ``points`` on ``reader`` and their increment."""
    sky = sky_coordinates(reader)
    if sky is None:
        raise PvError("Cannot approximate line with no direction coordinate.")
    (x0, y0), (x1, y1) = points
    too_long = line_too_long(points)
    if too_long is not None:  # also a PV preview's cut being dragged (issue 11: the OOM kill)
        raise PvError(f"PV cut: {too_long}.")
    boxes = line_boxes((x0, y0), (x1, y1), width)
    masks = box_masks(boxes, reader.width, reader.height)
    increment, linear = box_increment(boxes, sky.separations_arcsec, sky.pixel_scales_arcsec())
    if not math.isfinite(increment) or increment <= 0:
        raise PvError("Cannot compute the offset increment along the line.")
    value, unit = increment_with_unit(increment, len(boxes))
    return Cut(boxes, masks, value, unit, linear)


def box_groups(cut: Cut, nchan: int) -> list[tuple[int, int]]:
    """``[a, b)`` ranges of boxes of about :data:`CHUNK_BYTES` of source data each."""
    n = len(cut)
    cap = max(1, math.ceil(n / MIN_CHUNKS))
    groups: list[tuple[int, int]] = []
    start, size = 0, 0
    for i, mask in enumerate(cut.masks):
        size += 0 if mask is None else mask.width * mask.height * nchan * 4
        if size >= CHUNK_BYTES or i + 1 - start >= cap:
            groups.append((start, i + 1))
            start, size = i + 1, 0
    if start < n:
        groups.append((start, n))
    return groups


def read_box_spectra(reader: ImageReader, masks: list[RegionMask | None], z0: int, z1: int, stokes: int) -> np.ndarray:
    """Blocking: ``[len(masks), z1 - z0]`` mean spectra of boxes on ``reader``."""

    def read(mask: RegionMask) -> np.ndarray:
        return region_data.read_block(reader, mask.x0, mask.x1, mask.y0, mask.y1, z0, z1, stokes)

    return box_spectra(read, masks, z1 - z0)
