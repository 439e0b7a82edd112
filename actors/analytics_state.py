"""Per-frame analytics state: requirements, job slots and caches (BEHAVIOUR.md §4.3-4.4).

Requirements are per (file, region) in the reference; here they live on the frame
they are for (``frame.analytics``), so CLOSE_FILE drops them with the frame.
Region ids: 0 the cursor, -1 the whole image plane, -2 the cube (histograms only),
positive ids the session's regions (:mod:`carta_trio.actors.regions`).

Long work (spectral profiles, the cube histogram, region analytics after a change)
runs as jobs of the frame (``frame.jobs.start(kind, region_id, ...)``, see
:mod:`carta_trio.actors.jobs`): starting one cancels the one in its slot, so the newest
request always wins; removing a region (:func:`forget_region`), closing the file or an
empty cube-histogram requirement cancels it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from carta_trio.actors.stokes_coordinates import Coordinate

if TYPE_CHECKING:
    import numpy as np

    from carta_trio.actors.frame import Frame

log = logging.getLogger(__name__)

CURSOR_REGION_ID = 0
IMAGE_REGION_ID = -1
CUBE_REGION_ID = -2


@dataclass
class SpectralRequirement:
    """One spectral config: its coordinate and the stats types wanted, in order."""

    coordinate: Coordinate
    stats_types: list[int]


@dataclass
class StatsRequirement:
    """One stats config (one REGION_STATS_DATA per config)."""

    coordinate: Coordinate
    stats_types: list[int]


@dataclass
class SpatialRequirement:
    """One spatial config: ``x``/``y`` profile of a point, or a line profile."""

    coordinate: Coordinate
    start: int
    end: int
    mip: int
    width: int


@dataclass
class HistogramRequirement:
    """One histogram config as received (echoed in every message it produces)."""

    coordinate: Coordinate
    channel: int
    fixed_num_bins: bool
    num_bins: int
    fixed_bounds: bool
    bounds: tuple[float, float]


@dataclass
class FrameAnalytics:
    """Everything the analytics keep for one frame."""

    #: The cursor position last served (float32 values), None before the first SET_CURSOR.
    cursor: tuple[float, float] | None = None
    spatial: dict[int, list[SpatialRequirement]] = field(default_factory=dict)
    spectral: dict[int, list[SpectralRequirement]] = field(default_factory=dict)
    #: Per region, per coordinate text: the stats types already delivered complete
    #: (progress 1) for the region's current state and Stokes; a job sends the rest.
    spectral_sent: dict[int, dict[str, set[int]]] = field(default_factory=dict)
    stats: dict[int, list[StatsRequirement]] = field(default_factory=dict)
    histograms: dict[int, list[HistogramRequirement]] = field(default_factory=dict)
    #: The cube histogram (region -2) configs (results are cached with the file's reader).
    cube_histograms: list[HistogramRequirement] = field(default_factory=list)
    #: Cube-histogram requests not yet answered by a final histogram (a request made while
    #: one runs restarts the job; a cancel fails each of them, as the reference's tasks do).
    cube_histogram_pending: int = 0
    #: Region spectral results: (region_id, region version, stokes) -> {stats type: array}.
    spectral_cache: dict[tuple[int, int, int], dict[int, np.ndarray]] = field(default_factory=dict)

    def forget_region(self, region_id: int) -> None:
        """Drop a removed region's requirements and caches (its jobs: :func:`forget_region`)."""
        for table in (self.spatial, self.spectral, self.spectral_sent, self.stats, self.histograms):
            table.pop(region_id, None)
        for key in [k for k in self.spectral_cache if k[0] == region_id]:
            del self.spectral_cache[key]

    def region_changed(self, region_id: int) -> None:
        """A region moved: its cached spectra are stale and every stat is new again."""
        self.spectral_sent.pop(region_id, None)
        for key in [k for k in self.spectral_cache if k[0] == region_id]:
            del self.spectral_cache[key]

    def region_ids(self) -> set[int]:
        """Positive region ids with any requirement on this frame."""
        ids: set[int] = set()
        for table in (self.spatial, self.spectral, self.stats, self.histograms):
            ids.update(rid for rid, configs in table.items() if rid > 0 and configs)
        return ids


def analytics(frame: Frame) -> FrameAnalytics:
    """The frame's analytics state."""
    return frame.analytics


def forget_region(frame: Frame, region_id: int) -> None:
    """A region was removed: cancel its jobs on ``frame`` and drop its state."""
    frame.jobs.cancel(None, region_id)
    frame.analytics.forget_region(region_id)


def frame_is_open(frame: Frame) -> bool:
    """True while ``frame`` is still the session's frame for its file id."""
    return frame.session.frames.get(frame.file_id) is frame


async def send_file_stream(frame: Frame, message: Any) -> None:
    """Send a stream message about ``frame``, dropped once the file is closed (as the
    reference's ``SendFileEvent``)."""
    if frame_is_open(frame):
        await frame.session.send_stream(message)
