"""How the pixel grids of two frames relate: whether they are the same grid (so a region
drawn on one applies pixel for pixel to the other), the conversion of render pixels between
them through the sky, and a frame's pixel scale. Values derived from a frame's header are
kept in its :class:`~carta_trio.actors.frame_state.FrameFacts`."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from carta_trio.analysis.region_geometry import RegionError
from carta_trio.io.sky_coordinates import SkyCoordinates, pixel_scales, sky_coordinates

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame

__all__ = ["SAME_GRID_TOLERANCE", "pixel_scale_of", "same_grid", "sky_converter"]


_GRID_KEYS = ("CTYPE", "CRVAL", "CRPIX", "CDELT", "CUNIT", "CROTA")


def _grid_signature(frame: Frame) -> tuple[object, ...]:
    signature = frame.facts.grid_signature
    if signature is None:
        try:
            cards = {card[0]: card[1] for card in frame.reader.header_cards() if card[0]}
        except NotImplementedError:
            cards = {}
        axes = frame.reader.axes
        values: list[object] = [frame.width, frame.height]
        for axis in (axes.x, axes.y):
            n = axis + 1
            values += [cards.get(f"{key}{n}") for key in _GRID_KEYS]
            values += [cards.get(f"PC{n}_{m}") for m in (axes.x + 1, axes.y + 1)]
            values += [cards.get(f"CD{n}_{m}") for m in (axes.x + 1, axes.y + 1)]
        signature = frame.facts.grid_signature = tuple(values)
    return signature


def _sky(frame: Frame) -> SkyCoordinates:
    sky: SkyCoordinates | None = frame.facts.sky_coordinates
    if sky is None:
        sky = sky_coordinates(frame.reader)
        if sky is None:
            raise RegionError(f"file {frame.file_id} has no direction coordinate on its image axes")
        frame.facts.sky_coordinates = sky
    return sky


def sky_converter(reference: Frame, target: Frame) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Render pixels of ``reference`` to render pixels of ``target`` through the sky
    (celestial frames converted by astropy, e.g. FK5 to galactic)."""
    source, destination = _sky(reference).celestial, _sky(target).celestial

    def convert(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            positions = source.pixel_to_world(xs, ys)
            tx, ty = destination.world_to_pixel(positions)
        return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)

    return convert


#: Largest pixel offset (render pixels) at which two grids still count as the same.
SAME_GRID_TOLERANCE = 1e-6


def same_grid(a: Frame, b: Frame) -> bool:
    """True when two frames have the same size and spatial WCS.

    Equal header values decide at once. Otherwise (the same WCS written differently, as a
    FITS and a CASA image of the same data: CDELT in radians, other cards) the grids are
    the same when the corners and the centre of ``a`` map through the sky onto the same
    pixels of ``b``, where the reference's conversion through world coordinates is the
    identity too.
    """
    signature = _grid_signature(b)
    if _grid_signature(a) == signature:
        return True
    if (a.width, a.height) != (b.width, b.height):
        return False
    cached = a.facts.same_grid_as.get(signature)
    if cached is not None:
        return cached
    try:
        xs = np.array([0.0, a.width - 1.0, 0.0, a.width - 1.0, (a.width - 1) / 2])
        ys = np.array([0.0, 0.0, a.height - 1.0, a.height - 1.0, (a.height - 1) / 2])
        tx, ty = sky_converter(a, b)(xs, ys)
        same = bool(np.all(np.abs(tx - xs) <= SAME_GRID_TOLERANCE) and np.all(np.abs(ty - ys) <= SAME_GRID_TOLERANCE))
    except (RegionError, ValueError, TypeError, ArithmeticError):
        same = False
    a.facts.same_grid_as[signature] = same
    return same


def pixel_scale_of(frame: Frame) -> tuple[float, float]:
    """``(|dx|, |dy|)`` of the frame's render axes (1, 1 if unknown), by the one WCS rule
    (:func:`carta_trio.io.sky_coordinates.pixel_scales`: CDELT, CD and PC alike).

    Only the ratio matters (ellipse radii on non-square pixels, ANALYTICS.md §1.4.3).
    """
    cached = frame.facts.pixel_scale
    if cached is not None:
        return cached
    scale = pixel_scales(frame.reader) or (1.0, 1.0)
    frame.facts.pixel_scale = scale
    return scale
