"""Moment images along the spectral axis, per spectrum (ANALYTICS.md §6.1-6.4).

The reference runs CASA's ``MomentClip`` on every spectrum of the selected sub-cube.
For one spectrum the *selected* samples are the unmasked ones (finite values here:
readers return masked pixels as NaN) that pass the include/exclude range;
``n`` = count, ``s0`` = Σv, ``s0sq`` = Σv², ``s1`` = Σv·c, ``s2`` = Σv·c² (float64),
with ``c`` the channel's coordinate (:class:`MomentCoordinates`). Each moment is then
rounded to float32 as it is formed, exactly as CASA fills its ``Vector<Float>``:
that is what makes the weighted dispersion lose precision for large coordinates
(§6.3: m1 is rounded first and m1·m1 is a float32 product).

:func:`moment_block` computes any set of moments for a ``[z, y, x]`` block of whole
spectra. Spectra are independent, so callers cut the cube into row bands, one band
per chunk of work, and paste the planes. Masked outputs are NaN (the reference stores
0 with a false mask, which reads back as NaN).

The reductions themselves (fast float64 sums, medians) are in
:mod:`carta_trio.analysis.spectrum_reductions`. Sum-type moments (mean, integrated,
weighted coordinate and dispersion, standard deviation, rms) need no selection mask
unless a pixel range is given; median, extrema and coordinate moments use one.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .spectral_axis import SpectralAxis
from .spectrum_reductions import median_coordinate, selected_median, selection, spectrum_sums

__all__ = [
    "Moment",
    "SUFFIXES",
    "PixelRange",
    "MomentCoordinates",
    "pixel_range",
    "selected_moments",
    "moment_coordinates",
    "moment_unit",
    "moment_block",
    "MomentPlanes",
]

_F32 = np.float32
_F64 = np.float64


class Moment(enum.IntEnum):
    """CARTA.Moment (shared/enums.proto); the comment gives CASA's moment number."""

    MEAN_OF_THE_SPECTRUM = 0  # -1
    INTEGRATED_OF_THE_SPECTRUM = 1  # 0
    INTENSITY_WEIGHTED_COORD = 2  # 1
    INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD = 3  # 2
    MEDIAN_OF_THE_SPECTRUM = 4  # 3
    MEDIAN_COORDINATE = 5  # 4
    STD_ABOUT_THE_MEAN_OF_THE_SPECTRUM = 6  # 5
    RMS_OF_THE_SPECTRUM = 7  # 6
    ABS_MEAN_DEVIATION_OF_THE_SPECTRUM = 8  # 7
    MAX_OF_THE_SPECTRUM = 9  # 8
    COORD_OF_THE_MAX_OF_THE_SPECTRUM = 10  # 9
    MIN_OF_THE_SPECTRUM = 11  # 10
    COORD_OF_THE_MIN_OF_THE_SPECTRUM = 12  # 11


M = Moment

#: File-name suffixes of the generated images (``<name>.moment.<suffix>``).
SUFFIXES: dict[Moment, str] = {
    M.MEAN_OF_THE_SPECTRUM: "average",
    M.INTEGRATED_OF_THE_SPECTRUM: "integrated",
    M.INTENSITY_WEIGHTED_COORD: "weighted_coord",
    M.INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD: "weighted_dispersion_coord",
    M.MEDIAN_OF_THE_SPECTRUM: "median",
    M.MEDIAN_COORDINATE: "median_coord",
    M.STD_ABOUT_THE_MEAN_OF_THE_SPECTRUM: "standard_deviation",
    M.RMS_OF_THE_SPECTRUM: "rms",
    M.ABS_MEAN_DEVIATION_OF_THE_SPECTRUM: "abs_mean_dev",
    M.MAX_OF_THE_SPECTRUM: "maximum",
    M.COORD_OF_THE_MAX_OF_THE_SPECTRUM: "maximum_coord",
    M.MIN_OF_THE_SPECTRUM: "minimum",
    M.COORD_OF_THE_MIN_OF_THE_SPECTRUM: "minimum_coord",
}

#: Moments computed from the sums alone (no per-sample selection mask needed).
_SUM_MOMENTS = frozenset({
    M.MEAN_OF_THE_SPECTRUM, M.INTEGRATED_OF_THE_SPECTRUM, M.INTENSITY_WEIGHTED_COORD,
    M.INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD, M.STD_ABOUT_THE_MEAN_OF_THE_SPECTRUM, M.RMS_OF_THE_SPECTRUM,
})  # fmt: skip
_INTENSITY_UNIT_MOMENTS = frozenset({
    M.MEAN_OF_THE_SPECTRUM, M.MEDIAN_OF_THE_SPECTRUM, M.STD_ABOUT_THE_MEAN_OF_THE_SPECTRUM,
    M.RMS_OF_THE_SPECTRUM, M.ABS_MEAN_DEVIATION_OF_THE_SPECTRUM, M.MAX_OF_THE_SPECTRUM, M.MIN_OF_THE_SPECTRUM,
})  # fmt: skip


@dataclass(frozen=True)
class PixelRange:
    """The MomentMask as float32 bounds: ``include`` keeps lo ≤ v ≤ hi, ``exclude``
    keeps v ≤ lo or v ≥ hi (both ends kept); neither means every unmasked value."""

    include: tuple[float, float] | None = None
    exclude: tuple[float, float] | None = None

    @property
    def any(self) -> bool:
        return self.include is not None or self.exclude is not None


NO_RANGE = PixelRange()


def pixel_range(mask_mode: int, pixel_min: float, pixel_max: float) -> PixelRange:
    """MomentMask None (0) / Include (1) / Exclude (2) with the bounds swapped if
    reversed and held as float32, as ``MomentGenerator::SetPixelRange``."""
    lo, hi = float(_F32(pixel_min)), float(_F32(pixel_max))
    if hi < lo:
        lo, hi = hi, lo
    if int(mask_mode) == 1:
        return PixelRange(include=(lo, hi))
    if int(mask_mode) == 2:
        return PixelRange(exclude=(lo, hi))
    return NO_RANGE


def selected_moments(requested: Iterable[int], prange: PixelRange) -> list[Moment]:
    """The moments actually computed, in request order, without duplicates.

    MEDIAN_COORDINATE is silently dropped with no range, or with an include range
    straddling zero (lo·hi < 0). Raises ValueError for a value that is no Moment.
    """
    drop_median = not prange.any or (prange.include is not None and prange.include[0] * prange.include[1] < 0)
    out: list[Moment] = []
    for value in requested:
        try:
            moment = Moment(int(value))
        except ValueError:
            raise ValueError(f"Unknown moment type {value}") from None
        if moment == M.MEDIAN_COORDINATE and drop_median:
            continue
        if moment not in out:
            out.append(moment)
    return out


@dataclass(frozen=True)
class MomentCoordinates:
    """Coordinates of the moment axis over the selected channels.

    ``values[k]`` is the coordinate of selected channel ``k`` (radio velocity in km/s
    when ``velocity``, else the native world value); ``at(p)`` evaluates it at
    fractional selection pixels (median coordinate); ``scale`` is the integrated
    moment's factor Δ; ``unit`` is X of §6.4.
    """

    values: np.ndarray
    scale: float
    unit: str
    velocity: bool
    at: Callable[[np.ndarray], np.ndarray]


def moment_coordinates(axis: SpectralAxis, z0: int, z1: int) -> MomentCoordinates:
    """Coordinates of channels ``z0 ≤ z < z1`` of ``axis`` (§6.2).

    With a rest frequency on a spectral axis: radio velocity in km/s and Δ = the
    velocity width of one channel at the reference pixel. Otherwise the native world
    values and Δ = |increment|² (the reference's quirk; its unit string says only
    ``B.X``).
    """
    if axis.converts_to_velocity:

        def at(p: np.ndarray) -> np.ndarray:
            return axis.radio_velocity_kms(np.asarray(p, dtype=_F64) + z0)

        values = at(np.arange(z1 - z0, dtype=_F64))
        return MomentCoordinates(values, axis.velocity_channel_width_kms(), "km/s", True, at)

    def world(p: np.ndarray) -> np.ndarray:
        return axis.world(np.asarray(p, dtype=_F64) + z0)

    values = world(np.arange(z1 - z0, dtype=_F64))
    return MomentCoordinates(values, abs(axis.cdelt * axis.cdelt), axis.unit, False, world)


def moment_unit(moment: int, brightness_unit: str, coordinates: MomentCoordinates) -> str:
    """BUNIT of a moment image (§6.4); an empty result keeps the input unit."""
    moment = Moment(int(moment))
    b, x = brightness_unit, coordinates.unit
    if moment in _INTENSITY_UNIT_MOMENTS:
        unit = b
    elif moment == M.INTEGRATED_OF_THE_SPECTRUM:
        unit = f"{b}.km/s" if coordinates.velocity else (f"{b}.{x}" if b and x else b or x)
    elif moment == M.INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD:
        unit = "km/s" if coordinates.velocity else (f"{x}.{x}" if x else "")
    else:
        unit = "km/s" if coordinates.velocity else x
    return unit or brightness_unit


@dataclass
class MomentPlanes:
    """One float32 ``[y, x]`` plane per moment (request order) and how many samples
    were selected in the whole block (0: every output is masked)."""

    planes: dict[Moment, np.ndarray]
    selected: int


def moment_block(
    block: np.ndarray,
    coordinates: MomentCoordinates,
    moments: Sequence[int],
    prange: PixelRange = NO_RANGE,
    spectrum_mask: np.ndarray | None = None,
) -> MomentPlanes:
    """The requested moments of every spectrum of a ``[z, y, x]`` float32 block.

    ``block[k]`` is selected channel ``k`` (``coordinates.values[k]``).
    ``spectrum_mask`` (``[y, x]`` bool) marks the spectra inside the region; the others
    are masked outputs. Planes are NaN where the reference masks the output.
    Blocking, CPU-bound; releases the GIL in numpy.
    """
    wanted = [Moment(int(m)) for m in moments]
    block = np.asarray(block)
    if block.ndim != 3:
        raise ValueError(f"expected a [z, y, x] block, got shape {block.shape}")
    nz, ny, nx = block.shape
    if nz != coordinates.values.shape[0]:
        raise ValueError(f"block has {nz} channels but {coordinates.values.shape[0]} coordinates")
    data = np.ascontiguousarray(block, dtype=_F32).reshape(nz, ny * nx)
    need = set(wanted)
    explicit = prange.any or bool(need - _SUM_MOMENTS)
    sel = selection(data, prange.include, prange.exclude) if explicit else None
    sums = spectrum_sums(
        data,
        sel,
        coordinates.values,
        s1=bool(need & {M.INTENSITY_WEIGHTED_COORD, M.INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD}),
        s2=M.INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD in need,
        sq=bool(need & {M.STD_ABOUT_THE_MEAN_OF_THE_SPECTRUM, M.RMS_OF_THE_SPECTRUM}),
    )
    n, s0 = sums.n, sums.s0
    if spectrum_mask is not None:
        n = np.where(np.asarray(spectrum_mask, dtype=bool).reshape(-1), n, 0.0)
    empty = n == 0
    safe_n = np.where(empty, 1.0, n)
    nan = _F32(np.nan)
    out: dict[Moment, np.ndarray] = {}

    def finish(values: np.ndarray, masked: np.ndarray | None = None) -> np.ndarray:
        bad = empty if masked is None else (empty | masked)
        return np.where(bad, nan, np.asarray(values, dtype=_F32)).astype(_F32).reshape(ny, nx)

    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if M.MEAN_OF_THE_SPECTRUM in need:
            out[M.MEAN_OF_THE_SPECTRUM] = finish(s0 / safe_n)
        if M.INTEGRATED_OF_THE_SPECTRUM in need:
            out[M.INTEGRATED_OF_THE_SPECTRUM] = finish(s0 * coordinates.scale)
        if need & {M.INTENSITY_WEIGHTED_COORD, M.INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD}:
            zero = s0 == 0.0
            safe_s0 = np.where(zero, 1.0, s0)
            m1 = (sums.s1 / safe_s0).astype(_F32)
            if M.INTENSITY_WEIGHTED_COORD in need:
                out[M.INTENSITY_WEIGHTED_COORD] = finish(m1, zero)
            if M.INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD in need:
                spread = np.abs((sums.s2 / safe_s0 - (m1 * m1).astype(_F64)).astype(_F32))
                positive = spread > 0
                out[M.INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD] = finish(
                    np.sqrt(np.where(positive, spread, _F32(1))), zero | ~positive
                )
        if M.STD_ABOUT_THE_MEAN_OF_THE_SPECTRUM in need:
            variance = (sums.sq - s0 * s0 / safe_n) / np.where(n > 1, n - 1, 1.0)
            good = (n > 1) & (variance.astype(_F32) > 0)
            out[M.STD_ABOUT_THE_MEAN_OF_THE_SPECTRUM] = finish(np.sqrt(np.where(good, variance, 1.0)), ~good)
        if M.RMS_OF_THE_SPECTRUM in need:
            out[M.RMS_OF_THE_SPECTRUM] = finish(np.sqrt(sums.sq / safe_n))
        if M.ABS_MEAN_DEVIATION_OF_THE_SPECTRUM in need:
            assert sel is not None
            mean32 = (s0 / safe_n).astype(_F32)
            deviation = np.abs(data - mean32[None, :])
            total = np.where(sel, deviation, _F32(0)).sum(axis=0, dtype=_F64)
            out[M.ABS_MEAN_DEVIATION_OF_THE_SPECTRUM] = finish(total / safe_n)
        if need & {M.MAX_OF_THE_SPECTRUM, M.COORD_OF_THE_MAX_OF_THE_SPECTRUM}:
            assert sel is not None
            values = np.where(sel, data, _F32(-np.inf))
            index = np.argmax(values, axis=0)
            if M.MAX_OF_THE_SPECTRUM in need:
                out[M.MAX_OF_THE_SPECTRUM] = finish(values[index, np.arange(values.shape[1])])
            if M.COORD_OF_THE_MAX_OF_THE_SPECTRUM in need:
                out[M.COORD_OF_THE_MAX_OF_THE_SPECTRUM] = finish(coordinates.values[index])
        if need & {M.MIN_OF_THE_SPECTRUM, M.COORD_OF_THE_MIN_OF_THE_SPECTRUM}:
            assert sel is not None
            values = np.where(sel, data, _F32(np.inf))
            index = np.argmin(values, axis=0)
            if M.MIN_OF_THE_SPECTRUM in need:
                out[M.MIN_OF_THE_SPECTRUM] = finish(values[index, np.arange(values.shape[1])])
            if M.COORD_OF_THE_MIN_OF_THE_SPECTRUM in need:
                out[M.COORD_OF_THE_MIN_OF_THE_SPECTRUM] = finish(coordinates.values[index])
        if M.MEDIAN_OF_THE_SPECTRUM in need:
            assert sel is not None
            out[M.MEDIAN_OF_THE_SPECTRUM] = finish(selected_median(data, sel, n))
        if M.MEDIAN_COORDINATE in need:
            assert sel is not None
            out[M.MEDIAN_COORDINATE] = finish(median_coordinate(data, sel, coordinates.at))
    return MomentPlanes({m: out[m] for m in wanted}, int(n.sum()))
