"""The session's region registry: SET_REGION, REMOVE_REGION (BEHAVIOUR.md §4.2-4.3).

Regions belong to the session and are drawn on a reference file. Ids follow the
reference (``RegionHandler``): ``-1`` asks for a new region, which gets
``max(existing positive ids) + 1`` (1 if none; the lowest free positive id once that
would pass the wire's int32); a positive id that does not exist is
created with that id (RESUME_SESSION uses this); ``-100`` asks for a temporary region,
which gets the next free id below -100. Every region type is stored, annotation
types included; annotations never produce analytics.

SET_REGION answers SET_REGION_ACK ``{region_id, success, message}``, then starts the
region's data streams for every file with requirements on it
(:mod:`carta_trio.actors.region_streams` listens through :func:`add_region_listener`).
A ``preview_region`` update (a PV cut being dragged) changes the region without an
ack or data streams and only tells the preview listeners. Invalid control points fail with
``Region <id> parameters for file <f> failed: <reason>`` and leave an existing region
unchanged. REMOVE_REGION cancels the region's work and forgets its requirements.
Closing a file removes the regions drawn on it.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING


from carta_trio import limits
from carta_trio.actors.dispatch import handles
from carta_trio.actors.frame_grids import pixel_scale_of, same_grid, sky_converter
from carta_trio.actors.mask_budget import MaskBudget
from carta_trio.analysis.line_boxes import line_box_count
from carta_trio.analysis.region_geometry import RegionError, RegionMask, RegionType, is_annotation, validate_control_points
from carta_trio.analysis.matched_regions import matched_region_mask
from carta_trio.analysis.region_masks import region_mask
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.session import Session

log = logging.getLogger(__name__)

NEW_REGION_ID = -1
#: Region ids are sfixed32 on the wire.
MAX_REGION_ID = 2**31 - 1
TEMP_REGION_ID = -100
POINT_TYPES = frozenset({RegionType.POINT})
LINE_TYPES = frozenset({RegionType.LINE, RegionType.POLYLINE})
CLOSED_TYPES = frozenset({RegionType.RECTANGLE, RegionType.ELLIPSE, RegionType.POLYGON})

Point = tuple[float, float]
ChangedListener = Callable[["Session", "Region"], Awaitable[None]]
RemovedListener = Callable[["Session", int], None]

PreviewListener = Callable[["Session", "Region"], None]

_changed_listeners: list[ChangedListener] = []
_removed_listeners: list[RemovedListener] = []
_preview_listeners: list[PreviewListener] = []


def add_region_listener(
    changed: ChangedListener | None = None,
    removed: RemovedListener | None = None,
    preview: PreviewListener | None = None,
) -> None:
    """Be told about region changes (awaited after the ack), removals (called at once)
    and ``preview_region`` updates (called at once; no ack, no data streams follow).

    Listeners are process-wide (handler modules register them on import) and get the
    session the region belongs to.
    """
    if changed is not None and changed not in _changed_listeners:
        _changed_listeners.append(changed)
    if removed is not None and removed not in _removed_listeners:
        _removed_listeners.append(removed)
    if preview is not None and preview not in _preview_listeners:
        _preview_listeners.append(preview)


@dataclass
class Region:
    """One region: reference file, type, control points (pixels), rotation (degrees).

    ``version`` increases with every accepted change; results computed for an older
    version are stale.
    """

    region_id: int
    file_id: int
    region_type: int
    points: tuple[Point, ...]
    rotation: float
    version: int = 0
    _masks: dict[tuple[int, int, int], RegionMask | None] = field(default_factory=dict, repr=False)
    #: The session's budget for cached masks (None: unbounded, for regions made outside a registry).
    _budget: MaskBudget | None = field(default=None, repr=False, compare=False)

    @property
    def is_annotation(self) -> bool:
        return is_annotation(self.region_type)

    @property
    def is_point(self) -> bool:
        return self.region_type in POINT_TYPES

    @property
    def is_line(self) -> bool:
        return self.region_type in LINE_TYPES

    @property
    def is_closed(self) -> bool:
        return self.region_type in CLOSED_TYPES

    def compute_mask(self, frame: Frame) -> RegionMask | None:
        """The region's pixels on ``frame`` (blocking; cached per file and shape).

        ``None`` is the reference's "no region" (outside the image, no pixel centre
        inside). Only point and closed regions have masks. A region is applied to
        another file in the same pixel coordinates when both files share the pixel grid
        (same size and spatial WCS), where the reference's conversion through world
        coordinates (ANALYTICS.md §1.5) is the identity; other files raise
        :class:`RegionError` (not supported yet).
        """
        key = (frame.file_id, frame.width, frame.height)
        if key in self._masks:
            if self._budget is not None:
                self._budget.used_again(self.region_id, key)
            return self._masks[key]
        reference = frame if frame.file_id == self.file_id else frame.session.frames.get(self.file_id)
        if reference is None:
            raise RegionError(f"region {self.region_id} is drawn on file {self.file_id}, which is not open")
        if reference is frame or same_grid(reference, frame):
            mask = region_mask(self.region_type, self.points, self.rotation, frame.width, frame.height,
                               pixel_scale_of(frame))
        else:
            # A region on another grid goes through world coordinates (ANALYTICS.md §1.5).
            mask = matched_region_mask(self.region_type, self.points, self.rotation,
                                       sky_converter(reference, frame), frame.width, frame.height,
                                       pixel_scale_of(reference), pixel_scale_of(frame))
        self._masks[key] = mask
        if self._budget is not None:
            self._budget.added(self.region_id, self._masks, key, 0 if mask is None else int(mask.mask.nbytes))
        return mask

    def check_applicable(self, frame: Frame) -> None:
        """Raise :class:`RegionError` unless the region's pixel coordinates hold on ``frame``."""
        if frame.file_id == self.file_id:
            return
        reference = frame.session.frames.get(self.file_id)
        if reference is None or not same_grid(reference, frame):
            raise RegionError(
                f"region {self.region_id} is drawn on file {self.file_id}, whose pixel grid differs from file "
                f"{frame.file_id}'s; converting regions between grids is not supported"
            )

    def cached_mask(self, frame: Frame) -> tuple[bool, RegionMask | None]:
        key = (frame.file_id, frame.width, frame.height)
        if key in self._masks:
            if self._budget is not None:
                self._budget.used_again(self.region_id, key)
            return True, self._masks[key]
        return False, None


class RegionRegistry:
    """The regions of one session, by id."""

    def __init__(self) -> None:
        self.regions: dict[int, Region] = {}
        #: Bytes of the regions' cached masks, bounded (limits.MAX_REGION_MASK_BYTES).
        self.mask_budget = MaskBudget()
        #: Control points over all regions, bounded (limits.MAX_SESSION_REGION_POINTS).
        self.points_total = 0

    def get(self, region_id: int) -> Region | None:
        return self.regions.get(region_id)

    def next_id(self) -> int:
        """``max(existing positive ids) + 1`` as the reference; once that would leave the
        int32 the wire carries (a region 2**31 - 1 exists), the lowest free positive id."""
        candidate = max((rid for rid in self.regions if rid > 0), default=0) + 1
        if candidate <= MAX_REGION_ID:
            return candidate
        return next(rid for rid in itertools.count(1) if rid not in self.regions)

    def next_temp_id(self) -> int:
        return min([TEMP_REGION_ID, *self.regions]) - 1

    def assign_id(self, region_id: int) -> int:
        """The id a SET_REGION with ``region_id`` creates or updates."""
        if region_id in self.regions:
            return region_id
        if region_id == TEMP_REGION_ID:
            return self.next_temp_id()
        if region_id <= 0:  # -1 asks for a new id; 0 (cursor), -2 (cube) ... would clash
            return self.next_id()
        return region_id

    def set(self, region_id: int, file_id: int, region_type: int, points: Sequence[Point], rotation: float) -> Region:
        """Create or update a region (``region_id`` already assigned); raise
        :class:`RegionError` for invalid control points, leaving the registry unchanged."""
        if not math.isfinite(rotation):
            raise RegionError("rotation must be finite")
        validate_control_points(region_type, points)
        region = self.regions.get(region_id)
        if region is None and len(self.regions) >= limits.MAX_REGIONS:
            raise RegionError(f"a session holds at most {limits.MAX_REGIONS} regions")
        points_after = self.points_total + len(points) - (len(region.points) if region is not None else 0)
        if points_after > limits.MAX_SESSION_REGION_POINTS:
            raise RegionError(f"the session's regions would hold {points_after} control points "
                              f"(at most {limits.MAX_SESSION_REGION_POINTS})")
        state = (int(file_id), int(region_type), tuple((float(x), float(y)) for x, y in points), float(rotation))
        self.points_total = points_after
        if region is None:
            region = Region(region_id, *state, _budget=self.mask_budget)
            self.regions[region_id] = region
            return region
        if (region.file_id, region.region_type, region.points, region.rotation) != state:
            region.file_id, region.region_type, region.points, region.rotation = state
            region.version += 1
            region._masks.clear()
            self.mask_budget.forget(region_id)
        return region

    def remove(self, region_id: int) -> Region | None:
        self.mask_budget.forget(region_id)
        region = self.regions.pop(region_id, None)
        if region is not None:
            self.points_total -= len(region.points)
        return region


def registry(session: Session) -> RegionRegistry:
    """The session's region registry (created on first use)."""
    reg = session.state.regions
    if reg is None:
        reg = session.state.regions = RegionRegistry()
    return reg


def remove_region(session: Session, region_id: int) -> bool:
    """Forget a region and cancel its work everywhere; False if it did not exist."""
    region = registry(session).remove(region_id)
    if region is None:
        return False
    for listener in list(_removed_listeners):
        listener(session, region_id)
    return True


def forget_file(session: Session, file_id: int) -> None:
    """CLOSE_FILE: the regions drawn on the closed file go with it."""
    reg = registry(session)
    for region_id in [rid for rid, region in reg.regions.items() if region.file_id == file_id]:
        remove_region(session, region_id)


def line_too_long(points: Sequence[Point], polyline: bool = False) -> str | None:
    """Why a cut along ``points`` (a LINE, or a POLYLINE) is refused, or None: more boxes
    than :data:`limits.MAX_LINE_BOXES` (one per pixel along the line, each a profile value
    or a PV column). Checked before any box is made, by line spatial profiles and PV cuts;
    the region itself (a line far off the image is finite and drawable) stays accepted."""
    count = line_box_count(points, polyline)
    if count <= limits.MAX_LINE_BOXES:
        return None
    shown = str(count) if count < 10**9 else f"{float(count):.3g}"
    return f"{shown} boxes (one per pixel along the line) exceed the limit of {limits.MAX_LINE_BOXES}"


def _points_of(info: pb.RegionInfo) -> list[Point]:
    """The control points as floats; RegionError beyond :data:`limits.MAX_REGION_VERTICES`
    (checked on the count first, so a refused region converts nothing)."""
    count = len(info.control_points)
    if count > limits.MAX_REGION_VERTICES:
        raise RegionError(f"{count} control points exceed the limit of {limits.MAX_REGION_VERTICES}")
    return [(float(p.x), float(p.y)) for p in info.control_points]


@handles(pb.EventType.SET_REGION, response=pb.SetRegionAck)
async def on_set_region(session: Session, request_id: int, message: pb.SetRegion) -> None:
    """Create or update a region; SET_REGION_ACK, then its data streams (not for previews).

    Runs inline (like the reference's network-thread handler), so later requirement
    messages see the region. The streams run as jobs and never delay the next message.
    """
    preview = message.preview_region
    if message.region_id == NEW_REGION_ID and preview:
        return
    file_id = message.file_id
    if file_id not in session.frames:
        if not preview:
            await session.reply(
                request_id,
                pb.SetRegionAck(
                    success=False,
                    message=f"Cannot set region, file id {file_id} not found",
                    region_id=message.region_id,
                ),
            )
        return
    reg = registry(session)
    region_id = reg.assign_id(message.region_id)
    try:
        region = reg.set(region_id, file_id, message.region_info.region_type, _points_of(message.region_info),
                         message.region_info.rotation)
    except RegionError as exc:
        log.info("SET_REGION %d on file %d refused: %s", region_id, file_id, exc)
        if not preview:
            await session.reply(
                request_id,
                pb.SetRegionAck(
                    success=False,
                    message=f"Region {region_id} parameters for file {file_id} failed: {exc}",
                    region_id=region_id,
                ),
            )
        return
    if preview:
        for listener in list(_preview_listeners):
            listener(session, region)
        return
    await session.reply(request_id, pb.SetRegionAck(success=True, region_id=region_id))
    await region_changed(session, region)


async def region_changed(session: Session, region: Region) -> None:
    """Run the change listeners (data streams, PV previews) of a created or updated region."""
    for listener in list(_changed_listeners):
        await listener(session, region)


async def restore_region(session: Session, region_id: int, file_id: int, info: pb.RegionInfo) -> Region:
    """SET_REGION without an ack, keeping ``region_id`` (RESUME_SESSION); raises RegionError."""
    reg = registry(session)
    points = _points_of(info)
    region = reg.set(reg.assign_id(region_id), file_id, info.region_type, points, info.rotation)
    await region_changed(session, region)
    return region


@handles(pb.EventType.REMOVE_REGION)
async def on_remove_region(session: Session, request_id: int, message: pb.RemoveRegion) -> None:
    """Remove a region, its requirements and its running work; no reply (as the reference).

    An unknown id gets a DEBUG ERROR_DATA (tag ``region``) for the log panel.
    """
    if not remove_region(session, message.region_id):
        await session.send_error(f"Region {message.region_id} not found", pb.ErrorSeverity.DEBUG, ["region"])
