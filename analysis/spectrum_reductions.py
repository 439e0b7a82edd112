"""Per-spectrum reductions behind the moment maps (ANALYTICS.md §6.3), on ``[z, npix]`` blocks.

Axis 0 is the spectrum; every column is one spectrum. :func:`spectrum_sums` gives the
float64 sums of CASA's MomentClip (n, Σv, Σv·c, Σv·c², Σv²) over the selected samples,
:func:`selected_median` and :func:`median_coordinate` the order statistics.

Speed: the sums walk the block in tiles of a few planes copied into a cache-resident
float64 buffer and reduce them with BLAS matrix-vector products. Spectra without
non-finite samples pay for no NaN test: a tile is summed as is, and only spectra whose
partial sum is not finite are redone (gathered, when few; otherwise the tile is copied
again with its non-finite samples zeroed, and the following tiles too while they keep
having some, since primary-beam masks repeat in every channel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["SpectrumSums", "selection", "spectrum_sums", "selected_median", "median_coordinate"]

_F32 = np.float32
_F64 = np.float64
_TILE_ELEMENTS = 1 << 19  # samples per float64 tile: 4 MiB, stays in L2/L3 (measured best)
#: Fixing a spectrum with non-finite samples by gather/scatter costs ~40 ns per sample,
#: zeroing a whole tile ~1 ns per sample: past this share of spectra, zero the tile.
_BAD_SHARE = 1 / 40
_EVEN_MEAN_LIMIT = 100  # casacore's median averages the two middle values only up to this


@dataclass
class SpectrumSums:
    n: np.ndarray
    s0: np.ndarray
    s1: np.ndarray | None
    s2: np.ndarray | None
    sq: np.ndarray | None


def selection(data: np.ndarray, include: tuple[float, float] | None = None,
              exclude: tuple[float, float] | None = None) -> np.ndarray:
    """Selected samples: finite, and inside ``include`` (lo ≤ v ≤ hi) or outside
    ``exclude`` (v ≤ lo or v ≥ hi), compared in float32."""
    if include is not None:
        lo, hi = _F32(include[0]), _F32(include[1])
        selected: np.ndarray = (data >= lo) & (data <= hi) & np.isfinite(data)
        return selected
    if exclude is not None:
        lo, hi = _F32(exclude[0]), _F32(exclude[1])
        selected = ((data <= lo) | (data >= hi)) & np.isfinite(data)
        return selected
    selected = np.isfinite(data)
    return selected


def spectrum_sums(data: np.ndarray, sel: np.ndarray | None, coords: np.ndarray, s1: bool, s2: bool, sq: bool) -> SpectrumSums:
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
    out = SpectrumSums(
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


def selected_median(data: np.ndarray, sel: np.ndarray, n: np.ndarray) -> np.ndarray:
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


def median_coordinate(data: np.ndarray, sel: np.ndarray, coordinate_at: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
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
    return coordinate_at(pixel).astype(_F32)
