"""Values a frame derives once from its header, typed (instead of a dict of string keys).

Each is computed on first use by the module that needs it (blocking work, in a worker
thread where it reads the file) and kept for the frame's lifetime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class FrameFacts:
    """Header-derived values of one frame; None means "not computed yet"."""

    #: FluxDensity inputs (``region_data.flux_context``), stats_streams.
    flux_context: Any = None
    #: Size and spatial WCS values compared by ``regions.same_grid``.
    grid_signature: tuple[object, ...] | None = None
    #: Sky coordinates of the render axes (``regions.sky_converter``).
    sky_coordinates: Any = None
    #: ``(|dx|, |dy|)`` of the render axes (``regions.pixel_scale_of``).
    pixel_scale: tuple[float, float] | None = None
    #: Sky direction of the render axes for line profiles; ``direction_known`` says
    #: whether it was computed (None is a valid answer: no sky axes).
    direction: Any = None
    direction_known: bool = False
    #: The render plane for region files (``region_import_export.geometry_of``).
    region_file_geometry: Any = None
    #: Suffix index of the last kept moment images of this frame.
    moment_name_index: int = 0
