"""A frame's typed state: values derived once from its header, and its animation steps.

Each is computed on first use by the module that needs it (blocking work, in a worker
thread where it reads the file) and kept for the frame's lifetime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from carta_trio.actors.region_data import FluxContext
    from carta_trio.actors.spatial_streams import Direction
    from carta_trio.io.region_sky import ImageGeometry
    from carta_trio.io.sky_coordinates import SkyCoordinates
    from carta_trio.messages import schema as pb


@dataclass
class FrameFacts:
    """Header-derived values of one frame; None means "not computed yet"."""

    #: FluxDensity inputs (``region_data.flux_context``), stats_streams.
    flux_context: FluxContext | None = None
    #: Size and spatial WCS values compared by ``frame_grids.same_grid``.
    grid_signature: tuple[object, ...] | None = None
    #: ``frame_grids.same_grid`` answers for other grids (by their signature) that differ
    #: in header values; decided through the sky.
    same_grid_as: dict[tuple[object, ...], bool] = field(default_factory=dict)
    #: Sky coordinates of the render axes (``frame_grids.sky_converter``).
    sky_coordinates: SkyCoordinates | None = None
    #: ``(|dx|, |dy|)`` of the render axes (``frame_grids.pixel_scale_of``).
    pixel_scale: tuple[float, float] | None = None
    #: Sky direction of the render axes for line profiles; ``direction_known`` says
    #: whether it was computed (None is a valid answer: no sky axes).
    direction: Direction | None = None
    direction_known: bool = False
    #: The render plane for region files (``region_import_export.geometry_of``).
    region_file_geometry: ImageGeometry | None = None
    #: Suffix index of the last kept moment images of this frame.
    moment_name_index: int = 0


class AnimationStep:
    """One animation phase posted to a frame actor, with a completion event.

    ``phase`` is ``"switch"`` (make the plane current; render histogram and the
    image's derived streams) or ``"send"`` (contours, vectors, then the animation
    view's tiles). The animation actor runs every file's switch before any file's
    send, as the reference's ``ExecuteAnimationFrameInner`` does. ``changed``
    reports whether the switch changed the plane (nothing is sent otherwise).
    """

    def __init__(
        self, channel: int, stokes: int, tiles: pb.AddRequiredTiles | None, animation_id: int, phase: str
    ) -> None:
        self.channel = channel
        self.stokes = stokes
        self.tiles = tiles
        self.animation_id = animation_id
        self.phase = phase
        self.changed: tuple[bool, bool] | None = None
        self.done = trio.Event()
