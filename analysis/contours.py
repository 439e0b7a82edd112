"""Contours of an image plane for CONTOUR_IMAGE_DATA (WIRE.md 3.2-3.5).

Three steps, each a pure function on numpy arrays:

1. :func:`smooth_plane` applies the requested smoothing (none, block average,
   NaN-aware Gaussian, WIRE.md 3.2) and says how smoothed-grid coordinates map back
   to the file's pixels (scale ``s`` and offset ``o``);
2. :func:`prepare_for_tracing` and :func:`trace_level` trace one level with
   contourpy's ``serial`` marching squares on the smoothed grid;
3. :func:`wire_vertices` maps the vertices to ``s * (x + 0.5) + o`` (WIRE.md 3.4:
   the frontend's contour shader subtracts the 0.5 again) and :func:`level_chunks`
   cuts a level into messages (WIRE.md 3.5).

Where this differs from the reference's DS9-derived tracer, and why:

* NaN pixels are replaced by ``-FLT_MAX`` before tracing, exactly as the reference
  does, so a contour around a blanked area closes along the last valid pixels
  instead of stopping there (contourpy's own masking would leave open ends);
  ``+-Inf`` become ``+-FLT_MAX``, which puts every crossing where the reference's
  float64 interpolation puts it and keeps infinities out of contourpy.
* Polylines come in contourpy's order and orientation; closed ones repeat their
  first vertex at the end, which the frontend needs to draw them closed.
* Progress of a partial chunk is the fraction of the level's vertices sent so far
  (at most 0.99) instead of the reference's count of examined cells; the frontend
  only needs it to be in (0, 1) for a partial chunk and 1.0 for the last.
* A level's last message always carries the last polyline: a chunk that fills up
  on the final polyline becomes the final message instead of being followed by an
  empty one. The 4.1.0 frontend ignores an empty chunk entirely, progress included
  (``ContourStore.addContourData``), so an empty final chunk after partial ones
  would leave the level marked incomplete and the next computation's first chunk
  would be appended to stale data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import contourpy
import numpy as np

from carta_trio.codecs.downsample import block_mean

if TYPE_CHECKING:
    from contourpy._contourpy import LineReturn_ChunkCombinedOffset

__all__ = [
    "NO_SMOOTHING",
    "BLOCK_AVERAGE",
    "GAUSSIAN_BLUR",
    "MAX_CONTOUR_LEVELS",
    "MAX_SMOOTHING_FACTOR",
    "FLT_MAX",
    "ContourParameterError",
    "ContourSettings",
    "make_contour_settings",
    "SmoothedPlane",
    "gaussian_weights",
    "BAND_ROWS",
    "gaussian_smooth",
    "smooth_plane",
    "prepare_for_tracing",
    "LevelTracer",
    "trace_level",
    "wire_vertices",
    "ContourChunk",
    "level_chunks",
    "contour_level",
]

# CARTA.SmoothingMode values (PB shared/enums.proto).
NO_SMOOTHING = 0
BLOCK_AVERAGE = 1
GAUSSIAN_BLUR = 2

#: More levels than this is refused: the frontend's generators offer at most 15 by
#: default, and each level is a full pass over the plane.
MAX_CONTOUR_LEVELS = 100
#: The frontend's contour dialog allows smoothing factors 1..33.
MAX_SMOOTHING_FACTOR = 33
FLT_MAX = float(np.finfo(np.float32).max)


class ContourParameterError(ValueError):
    """SET_CONTOUR_PARAMETERS values that cannot be traced; ``str()`` is for the client."""


@dataclass(frozen=True, slots=True)
class ContourSettings:
    """Validated contour parameters of one frame (the stored settings of WIRE.md 3.1).

    ``levels`` keeps the requested doubles exactly (the frontend keys its stores by
    them), in request order with duplicates removed.
    """

    levels: tuple[float, ...]
    smoothing_mode: int = GAUSSIAN_BLUR
    smoothing_factor: int = 4
    decimation_factor: int = 4
    compression_level: int = 8
    chunk_size: int = 100_000
    reference_file_id: int = 0

    @property
    def is_empty(self) -> bool:
        return not self.levels


def make_contour_settings(
    levels: Iterable[float],
    smoothing_mode: int = GAUSSIAN_BLUR,
    smoothing_factor: int = 4,
    decimation_factor: int = 4,
    compression_level: int = 8,
    chunk_size: int = 100_000,
    reference_file_id: int = 0,
) -> ContourSettings:
    """Validate request values; raise :class:`ContourParameterError` with a clear reason.

    Refused: more than :data:`MAX_CONTOUR_LEVELS` levels, non-finite levels, an
    unknown smoothing mode, a smoothing factor outside 0..:data:`MAX_SMOOTHING_FACTOR`
    (0 and 1 mean no smoothing, as in the reference). Decimation and compression
    level are clamped by the encoder (WIRE.md 3.6); a negative chunk size means no
    chunking.
    """
    values = [float(v) for v in levels]
    if len(values) > MAX_CONTOUR_LEVELS:
        raise ContourParameterError(
            f"Too many contour levels: {len(values)} (at most {MAX_CONTOUR_LEVELS})"
        )
    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        raise ContourParameterError(f"Invalid contour level {bad[0]}: levels must be finite numbers")
    if smoothing_mode not in (NO_SMOOTHING, BLOCK_AVERAGE, GAUSSIAN_BLUR):
        raise ContourParameterError(f"Unknown contour smoothing mode {smoothing_mode}")
    if not 0 <= smoothing_factor <= MAX_SMOOTHING_FACTOR:
        raise ContourParameterError(
            f"Contour smoothing factor {smoothing_factor} is out of range 0..{MAX_SMOOTHING_FACTOR}"
        )
    unique = tuple(dict.fromkeys(values))
    return ContourSettings(
        levels=unique,
        smoothing_mode=int(smoothing_mode),
        smoothing_factor=int(smoothing_factor),
        decimation_factor=int(decimation_factor),
        compression_level=int(compression_level),
        chunk_size=max(0, int(chunk_size)),
        reference_file_id=int(reference_file_id),
    )


# ----------------------------------------------------------------------- smoothing


@dataclass(frozen=True, slots=True)
class SmoothedPlane:
    """The grid to trace and its map to file pixels: ``pixel = scale * x + offset``
    (before the wire's +0.5, see :func:`wire_vertices`)."""

    data: np.ndarray
    scale: int
    offset: float


def gaussian_weights(factor: int) -> np.ndarray:
    """float32 kernel of ``GaussianSmooth``: radius ``f - 1``, sigma ``(f - 1) / 2``,
    weights ``exp(-k^2 / (2 sigma^2)) / sigma`` (the scale cancels in each pass)."""
    radius = int(factor) - 1
    if radius < 1:
        raise ValueError(f"Gaussian smoothing needs a factor of at least 2, got {factor}")
    sigma = radius / 2.0
    k = np.arange(-radius, radius + 1, dtype=np.float64)
    return (np.exp(-0.5 * k * k / (sigma * sigma)) / sigma).astype(np.float32)


def _normalized_valid_pass(source: np.ndarray, weights: np.ndarray, axis: int) -> np.ndarray:
    """One separable pass: ``sum(w v) / sum(w)`` over the finite samples of each
    window, "valid" part only; NaN where a window has no finite sample. Written to
    allocate as few plane-sized arrays as possible (first touches of fresh memory
    are a large part of the cost)."""
    from scipy import ndimage  # here, not at the top: tracing workers never smooth

    radius = (weights.size - 1) // 2
    keep = [slice(None), slice(None)]
    keep[axis] = slice(radius, source.shape[axis] - radius)
    valid = tuple(keep)
    finite = np.isfinite(source)
    if finite.all():
        out: np.ndarray = ndimage.correlate1d(source, weights, axis=axis, mode="constant")[valid]
        out *= np.float32(1.0 / float(weights.astype(np.float64).sum()))
        return out
    values = np.where(finite, source, np.float32(0.0))
    out = ndimage.correlate1d(values, weights, axis=axis, mode="constant")[valid]
    den = ndimage.correlate1d(finite, weights, axis=axis, output=np.float32, mode="constant")[valid]
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(out, den, out=out)
    out[den <= 0] = np.nan
    return out


#: Output rows smoothed per step: small bands keep the vertical pass in cache
#: (measured on 4096 x 4096: 128-row bands are 2-3x faster than the whole plane).
BAND_ROWS = 128


def gaussian_smooth(
    plane: np.ndarray, factor: int, rows: tuple[int, int] | None = None, out: np.ndarray | None = None
) -> np.ndarray:
    """NaN-aware separable Gaussian of WIRE.md 3.2 (``GaussianSmooth``).

    The result is float32 ``(H - 2r, W - 2r)`` with ``r = factor - 1`` (empty if the
    plane is not larger than the kernel); pixels whose centre source pixel is NaN are
    NaN. ``rows = (start, stop)`` computes only those output rows, into ``out`` (the
    full result array, allocated when None), so that callers can split the work;
    the return value is the full array either way.
    """
    weights = gaussian_weights(factor)
    radius = int(factor) - 1
    src = np.asarray(plane, dtype=np.float32)
    height, width = src.shape
    out_h, out_w = max(0, height - 2 * radius), max(0, width - 2 * radius)
    if out is None:
        out = np.empty((out_h, out_w), dtype=np.float32)
    if out_h == 0 or out_w == 0:
        return out
    start, stop = rows if rows is not None else (0, out_h)
    for a in range(start, stop, BAND_ROWS):
        b = min(stop, a + BAND_ROWS)
        band = src[a : b + 2 * radius]
        rows_pass = _normalized_valid_pass(band, weights, axis=1)
        smoothed = _normalized_valid_pass(rows_pass, weights, axis=0)
        smoothed[np.isnan(band[radius : radius + (b - a), radius : width - radius])] = np.nan
        out[a:b] = smoothed
    return out


def smooth_plane(plane: np.ndarray, mode: int, factor: int) -> SmoothedPlane:
    """Apply the smoothing of WIRE.md 3.2 to a float32 ``[height, width]`` plane."""
    src = np.asarray(plane, dtype=np.float32)
    if src.ndim != 2:
        raise ValueError(f"contours need a 2-D plane, got shape {src.shape}")
    if mode == NO_SMOOTHING or factor <= 1:
        return SmoothedPlane(src, 1, 0.0)
    if mode == BLOCK_AVERAGE:
        return SmoothedPlane(block_mean(src, factor), int(factor), 0.0)
    if mode == GAUSSIAN_BLUR:
        return SmoothedPlane(gaussian_smooth(src, factor), 1, float(factor - 1))
    raise ContourParameterError(f"Unknown contour smoothing mode {mode}")


# ------------------------------------------------------------------------- tracing


def prepare_for_tracing(data: np.ndarray) -> np.ndarray:
    """float64 C-contiguous copy with NaN and -Inf as ``-FLT_MAX``, +Inf as ``+FLT_MAX``
    (the reference's NaN rule; see the module docstring)."""
    src = np.asarray(data)
    z = np.array(src, dtype=np.float64, order="C", copy=True)
    bad = ~np.isfinite(src)
    if bad.any():
        z[bad] = np.where(src[bad] > 0, FLT_MAX, -FLT_MAX)
    return z


class LevelTracer:
    """contourpy's ``serial`` generator over one prepared grid (``x`` = column,
    ``y`` = row), built once and reused for every level: building it costs several
    times one level's tracing (contourpy expands the coordinates to full grids; with
    1-D ``x`` and ``y`` given that is about 6x cheaper than letting it make them)."""

    def __init__(self, z: np.ndarray) -> None:
        self.shape = z.shape
        self._generator = None
        if z.ndim == 2 and z.shape[0] >= 2 and z.shape[1] >= 2:
            x = np.arange(z.shape[1], dtype=np.float64)
            y = np.arange(z.shape[0], dtype=np.float64)
            self._generator = contourpy.contour_generator(
                x, y, z, name="serial", line_type=contourpy.LineType.ChunkCombinedOffset
            )

    def lines(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Polylines of ``level``: float64 ``(N, 2)`` vertices and the int64 start of
        each polyline plus a final ``N`` (contourpy's ChunkCombinedOffset form).
        Closed polylines repeat their first vertex. A grid smaller than 2 x 2 has none."""
        empty = np.zeros((0, 2), dtype=np.float64), np.zeros(1, dtype=np.int64)
        if self._generator is None:
            return empty
        # the generator was made with LineType.ChunkCombinedOffset: lines() has that form
        points, offsets = cast("LineReturn_ChunkCombinedOffset", self._generator.lines(float(level)))
        if not points or points[0] is None:
            return empty
        return np.asarray(points[0], dtype=np.float64), np.asarray(offsets[0], dtype=np.int64)


def trace_level(z: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Polylines of one level on a prepared grid (see :meth:`LevelTracer.lines`)."""
    return LevelTracer(z).lines(level)


def wire_vertices(points: np.ndarray, scale: int, offset: float) -> np.ndarray:
    """Flat float32 ``x0, y0, x1, y1, ...`` at ``scale * (v + 0.5) + offset`` (WIRE.md 3.4)."""
    return (scale * (np.asarray(points, dtype=np.float64) + 0.5) + offset).astype(np.float32).ravel()


# ------------------------------------------------------------------------ chunking


@dataclass(frozen=True, slots=True)
class ContourChunk:
    """One ContourSet's worth of one level: flat float32 vertices, the float index
    (2 x vertex index) where each polyline starts, and the message's progress."""

    vertices: np.ndarray
    start_indices: np.ndarray
    progress: float


def level_chunks(vertices: np.ndarray, offsets: np.ndarray, chunk_size: int) -> list[ContourChunk]:
    """Cut one level into messages (WIRE.md 3.5, with the deviations in the module
    docstring): a chunk is closed after a polyline that makes it hold more than
    ``2 * chunk_size`` floats; the last chunk has progress 1.0 and is the only one
    when ``chunk_size <= 0`` or the level is empty."""
    flat = np.asarray(vertices, dtype=np.float32).ravel()
    bounds = np.asarray(offsets, dtype=np.int64)
    total = int(bounds[-1]) if bounds.size else 0
    if flat.size != 2 * total:
        raise ValueError(f"{flat.size} floats do not match {total} vertices")
    count = max(0, bounds.size - 1)
    chunks: list[ContourChunk] = []
    first = 0  # first polyline of the open chunk
    if chunk_size > 0:
        limit = 2 * int(chunk_size)
        starts = bounds[:-1].tolist()
        ends = bounds[1:].tolist()
        for k in range(count - 1):  # the last polyline always goes into the final chunk
            if 2 * (ends[k] - starts[first]) > limit:
                chunks.append(_chunk(flat, bounds, first, k + 1, min(0.99, ends[k] / total)))
                first = k + 1
    chunks.append(_chunk(flat, bounds, first, count, 1.0))
    return chunks


def _chunk(flat: np.ndarray, bounds: np.ndarray, first: int, stop: int, progress: float) -> ContourChunk:
    if stop <= first:
        return ContourChunk(np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int32), progress)
    base = int(bounds[first])
    vertices = flat[2 * base : 2 * int(bounds[stop])]
    starts = (2 * (bounds[first:stop] - base)).astype(np.int32)
    return ContourChunk(vertices, starts, progress)


def contour_level(
    tracer: LevelTracer | np.ndarray, level: float, scale: int, offset: float, chunk_size: int
) -> list[ContourChunk]:
    """Trace ``level`` (with a :class:`LevelTracer` or on a prepared grid) and cut it
    into wire chunks."""
    if not isinstance(tracer, LevelTracer):
        tracer = LevelTracer(tracer)
    points, offsets = tracer.lines(level)
    return level_chunks(wire_vertices(points, scale, offset), offsets, chunk_size)
