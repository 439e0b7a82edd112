"""Blocking data access for the analytics: planes, boxes and spectra of any Stokes.

Everything here runs in worker threads (``session.run_sync``). Stokes indices 13-17
are the computed polarizations (ANALYTICS.md §10.1): their pixels are computed from
the I, Q, U, V planes of the same box (float32, NaN where an input is NaN). Region
spectral profiles of computed Stokes do *not* use these pixels: they combine the
per-component statistics (§4.6, :mod:`carta_trio.actors.spectral_streams`).

Also here: what FluxDensity needs from the image (unit, beams, pixel area; §2.4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from carta_trio.actors.stokes_coordinates import is_computed, stokes_components
from carta_trio.analysis import polarization, statistics
from carta_trio.io.sky_coordinates import pixel_scales

if TYPE_CHECKING:
    from carta_trio.io.image_reader import ImageReader

__all__ = [
    "FluxContext",
    "component_indices",
    "flux_context",
    "read_block",
    "read_plane",
    "read_spectrum",
]


def component_indices(reader: ImageReader) -> dict[str, int | None]:
    """Indices of the I, Q, U, V planes of ``reader`` (None where absent)."""
    return stokes_components(list(reader.stokes_values or []), reader.num_stokes)


def _components(reader: ImageReader, stokes: int, read: Callable[[int], np.ndarray]) -> np.ndarray:
    indices = component_indices(reader)
    planes = {name: (read(index) if index is not None else None) for name, index in indices.items()}
    return polarization.computed_stokes(stokes, planes["I"], planes["Q"], planes["U"], planes["V"])


def read_block(reader: ImageReader, x0: int, x1: int, y0: int, y1: int, z0: int, z1: int, stokes: int) -> np.ndarray:
    """Pixels of a box as float32 ``[z, y, x]`` (half-open bounds), computed Stokes included."""
    if is_computed(stokes):
        return _components(reader, stokes, lambda s: reader.read_cube(x0, x1, y0, y1, z0, z1, s))
    return reader.read_cube(x0, x1, y0, y1, z0, z1, stokes)


def read_plane(reader: ImageReader, channel: int, stokes: int) -> np.ndarray:
    """One plane as float32 ``[height, width]``, computed Stokes included."""
    if is_computed(stokes):
        return _components(reader, stokes, lambda s: reader.read_plane(channel, s))
    return reader.read_plane(channel, stokes)


def read_spectrum(reader: ImageReader, x: int, y: int, stokes: int, z0: int = 0, z1: int | None = None) -> np.ndarray:
    """Values along the depth axis at pixel (x, y) as float32, computed Stokes included."""
    if is_computed(stokes):
        return _components(reader, stokes, lambda s: reader.read_spectrum(x, y, s, z0, z1))
    return reader.read_spectrum(x, y, stokes, z0, z1)


@dataclass(frozen=True)
class FluxContext:
    """What FluxDensity needs: the brightness unit, the beams (arcsec FWHM), the pixel
    area in arcsec² (None without a direction coordinate) and the depth."""

    unit: str
    beams: tuple[tuple[float, float, float], ...]
    pixel_area_arcsec2: float | None
    depth: int
    #: Stokes index whose beams computed polarizations carry (Q, else I).
    computed_beam_stokes: int = 0

    def beam_area_pixels(self, channel: int, stokes: int = 0) -> float | None:
        """Beam solid angle in pixels for a plane (per-plane beam for multi-beam images)."""
        if not self.beams or self.pixel_area_arcsec2 is None:
            return None
        if len(self.beams) == 1:
            bmaj, bmin, _ = self.beams[0]
        else:
            index = stokes * self.depth + channel
            if not 0 <= index < len(self.beams):
                index = channel if channel < len(self.beams) else 0
            bmaj, bmin, _ = self.beams[index]
        return statistics.beam_area_pixels(bmaj, bmin, self.pixel_area_arcsec2)

    def flux_scale(self, channel: int, stokes: int = 0) -> float:
        """Sum -> FluxDensity factor for a plane (NaN when not computable, §2.4)."""
        if polarization.is_computed(stokes):
            stokes = self.computed_beam_stokes
        return statistics.flux_scale(self.unit, self.beam_area_pixels(channel, stokes), self.pixel_area_arcsec2)

    def flux_scales(self, z0: int, z1: int, stokes: int = 0) -> float | np.ndarray:
        """:meth:`flux_scale` for channels ``z0 .. z1-1`` (a scalar for single-beam images)."""
        if len(self.beams) <= 1:
            return self.flux_scale(z0, stokes)
        return np.array([self.flux_scale(z, stokes) for z in range(z0, z1)])


_ANGLE_TO_ARCSEC = {"deg": 3600.0, "degree": 3600.0, "degrees": 3600.0, "": 3600.0, "arcmin": 60.0,
                    "arcsec": 1.0, "rad": 180.0 / math.pi * 3600.0, "mas": 1e-3}


def flux_context(reader: ImageReader) -> FluxContext:
    """Collect the FluxDensity inputs of an image from its reader and header."""
    beams = tuple((float(b[0]), float(b[1]), float(b[2])) for b in reader.beams())
    area: float | None = None
    axes = reader.axes
    if axes.spatial_x is not None and axes.spatial_y is not None:
        # one WCS rule for pixel sizes (CDELT, CD and PC alike), in arcsec
        scales = pixel_scales(reader, axes.spatial_x, axes.spatial_y)
        if scales is not None:
            area = scales[0] * scales[1]
    components = component_indices(reader)
    beam_stokes = components["Q"] if components["Q"] is not None else (components["I"] or 0)
    return FluxContext(
        unit=reader.unit or "", beams=beams, pixel_area_arcsec2=area, depth=reader.depth,
        computed_beam_stokes=beam_stokes,
    )
