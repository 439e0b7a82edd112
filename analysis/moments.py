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

Speed: the sum-type moments (mean, integrated, weighted coordinate and dispersion,
standard deviation, rms) walk the band in tiles of a few planes copied into a
cache-resident float64 buffer and reduce them with BLAS matrix-vector products;
spectra without non-finite values pay for no NaN test (a non-finite partial sum marks
the few spectra that need the masked path). Median, extrema and coordinate moments
use an explicit selection mask.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .spectral_axis import SpectralAxis

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
_TILE_ELEMENTS = 1 << 19  # samples per float64 tile: 4 MiB, stays in L2/L3 (measured best)
#: Fixing a spectrum with non-finite samples by gather/scatter costs ~40 ns per sample,
#: zeroing a whole tile ~1 ns per sample: past this share of spectra, zero the tile.
_BAD_SHARE = 1 / 40
_EVEN_MEAN_LIMIT = 100  # casacore's median averages the two middle values only up to this


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

_SUM_MOMENTS = frozenset({
    M.MEAN_OF_THE_SPECTRUM, M.INTEGRATED_OF_THE_SPECTRUM, M.INTENSITY_WEIGHTED_COORD,
    M.INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD, M.STD_ABOUT_THE_MEAN_OF_THE_SPECTRUM,
    M.RMS_OF_THE_SPECTRUM, M.ABS_MEAN_DEVIATION_OF_THE_SPECTRUM,
})  # fmt: skip
_COORDINATE_MOMENTS = frozenset({
    M.INTENSITY_WEIGHTED_COORD, M.INTENSITY_WEIGHTED_DISPERSION_OF_THE_COORD, M.MEDIAN_COORDINATE,
    M.COORD_OF_THE_MAX_OF_THE_SPECTRUM, M.COORD_OF_THE_MIN_OF_THE_SPECTRUM,
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


# ------------------------------------------------------------------ the kernel


@dataclass
class _Sums:
    n: np.ndarray
    s0: np.ndarray
    s1: np.ndarray | None
    s2: np.ndarray | None
    sq: np.ndarray | None


def _selection(data: np.ndarray, prange: PixelRange) -> np.ndarray:
    """Selected samples: finite and inside the range (NaN fails every comparison)."""
    if prange.include is not None:
        lo, hi = _F32(prange.include[0]), _F32(prange.include[1])
        return (data >= lo) & (data <= hi) & np.isfinite(data)
    if prange.exclude is not None:
        lo, hi = _F32(prange.exclude[0]), _F32(prange.exclude[1])
        return ((data <= lo) | (data >= hi)) & np.isfinite(data)
    return np.isfinite(data)


def _sums(data: np.ndarray, sel: np.ndarray | None, coords: np.ndarray, s1: bool, s2: bool, sq: bool) -> _Sums:
    """Per-spectrum n, Σv, Σv·c, Σv·c², Σv² over selected samples (float64).

    ``data`` is ``[nz, npix]``. Without ``sel`` every finite sample counts. A tile is
    first summed as is; spectra whose partial sum is not finite are redone on their
    finite samples (a few columns), or, when many are, the tile is copied again with
    its non-finite samples zeroed — and so are the following tiles while they keep
    having some (primary-beam masks repeat in every channel).
    """
    nz, npix = data.shape
    k = max(1, min(nz, _TILE_ELEMENTS // max(npix, 1)))
    buf = np.empty((k, npix), dtype=_F64)
    valid = np.empty((k, npix), dtype=bool)
    invalid = np.empty((k, npix), dtype=bool)
    ones = np.ones(k, dtype=_F64)
    c1 = np.asarray(coords, dtype=_F64)
    c2 = c1 * c1
    out = _Sums(
        n=np.zeros(npix),
        s0=np.zeros(npix),
        s1=np.zeros(npix) if s1 else None,
        s2=np.zeros(npix) if s2 else None,
        sq=np.zeros(npix) if sq else None,
    )
    masked = sel is not None
    with np.errstate(invalid="ignore", over="ignore"):
        for z0 in range(0, nz, k):
            z1 = min(nz, z0 + k)
            m = z1 - z0
            w = buf[:m]
            src = data[z0:z1]
            if not masked:
                np.copyto(w, src, casting="unsafe")
                part = ones[:m] @ w
                bad = np.flatnonzero(~np.isfinite(part))
                out.n += m
                if bad.size > max(8, npix * _BAD_SHARE):
                    out.n -= m
                    masked = True
                elif bad.size:
                    sub = w[:, bad]
                    ok = np.isfinite(sub)
                    sub[~ok] = 0.0
                    w[:, bad] = sub
                    part[bad] = sub.sum(axis=0)
                    out.n[bad] -= m - np.count_nonzero(ok, axis=0)
            if masked:
                chosen, dropped = valid[:m], invalid[:m]
                np.copyto(w, src, casting="unsafe")
                if sel is None:
                    np.isfinite(w, out=chosen)
                else:
                    np.copyto(chosen, sel[z0:z1])
                np.logical_not(chosen, out=dropped)
                np.copyto(w, 0.0, where=dropped)
                counts = np.add.reduce(chosen.view(np.uint8), axis=0, dtype=np.uint16 if m < 65536 else np.uint32)
                out.n += counts
                part = ones[:m] @ w
                if sel is None and counts.min() == m:
                    masked = False  # a clean tile: back to the fast path
            out.s0 += part
            if out.s1 is not None:
                out.s1 += c1[z0:z1] @ w
            if out.s2 is not None:
                out.s2 += c2[z0:z1] @ w
            if out.sq is not None:
                out.sq += np.einsum("ij,ij->j", w, w)
    return out


def _median(data: np.ndarray, sel: np.ndarray, n: np.ndarray) -> np.ndarray:
    """casacore ``median``: lower middle value, or the mean of the two middle values
    for an even count of at most 100."""
    nz, npix = data.shape
    ordered = np.where(sel, data, _F32(np.nan))
    ordered.sort(axis=0)
    count = n.astype(np.int64)
    h = np.clip((count - 1) // 2, 0, nz - 1)
    cols = np.arange(npix)
    lo = ordered[h, cols]
    hi = ordered[np.clip(h + 1, 0, nz - 1), cols]
    even = (count % 2 == 0) & (count <= _EVEN_MEAN_LIMIT)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(even, ((lo + hi) * _F32(0.5)).astype(_F32), lo)


def _median_coordinate(data: np.ndarray, sel: np.ndarray, coords: MomentCoordinates) -> np.ndarray:
    """CASA's median coordinate: the first selected sample whose running sum
    ``C_i = v_i + |C_{i-1}|`` (``C_0 = |v_0|``, float32) reaches half its maximum; the
    "interpolation" between it and the previous selected sample is done in the same
    float32/float64 steps as the reference, which returns that sample's channel."""
    nz, npix = data.shape
    running = np.zeros(npix, dtype=_F32)
    started = np.zeros(npix, dtype=bool)
    cumulative = np.full((nz, npix), np.nan, dtype=_F32)
    with np.errstate(invalid="ignore", over="ignore"):
        for z in range(nz):
            chosen = sel[z]
            v = data[z]
            step = np.where(started, v + np.abs(running), np.abs(v)).astype(_F32)
            running = np.where(chosen, step, running)
            started |= chosen
            cumulative[z] = np.where(chosen, running, _F32(np.nan))
        peak = np.nanmax(np.where(sel.any(axis=0), cumulative, 0.0).astype(_F32), axis=0) if nz else np.zeros(npix)
        half = peak.astype(_F64) / 2.0
        reached = cumulative.astype(_F64) >= half  # NaN (unselected) compares False
    first_selected = np.argmax(sel, axis=0)
    hit = reached.any(axis=0)
    index = np.where(hit, np.argmax(reached, axis=0), first_selected)
    channel = np.arange(nz)[:, None]
    previous_selected = np.maximum.accumulate(np.where(sel, channel, -1), axis=0)
    cols = np.arange(npix)
    prev = np.where(index > 0, previous_selected[np.maximum(index - 1, 0), cols], -1)
    pixel = index.astype(_F64)
    has_prev = prev >= 0
    if has_prev.any():
        ci = cumulative[index, cols]
        cp = cumulative[np.maximum(prev, 0), cols]
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = ((ci - cp).astype(_F32) / (index - prev).astype(_F32)).astype(_F32).astype(_F64)
            offset = ci.astype(_F64) - slope * index
            interpolated = (ci.astype(_F64) - offset) / slope
        pixel = np.where(has_prev, interpolated, pixel)
    return coords.at(pixel).astype(_F32)


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
    sel = _selection(data, prange) if explicit else None
    sums = _sums(
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
            out[M.MEDIAN_OF_THE_SPECTRUM] = finish(_median(data, sel, n))
        if M.MEDIAN_COORDINATE in need:
            assert sel is not None
            out[M.MEDIAN_COORDINATE] = finish(_median_coordinate(data, sel, coordinates))
    return MomentPlanes({m: out[m] for m in wanted}, int(n.sum()))
