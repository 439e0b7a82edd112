"""Position-velocity cuts: box spectra, the PV matrix and the preview cube (ANALYTICS.md §7.2, §7.4).

A PV image has one column per box of the cut (:mod:`carta_trio.analysis.line_boxes`)
and one row per channel: the value is the mean of the finite pixels of the box mask in
that channel (NaN for a box without any). ``reverse`` swaps the axes (channels along
x). Rows of a numpy array are image y, so the normal PV image is ``spectra.T``.

The preview works on a reduced copy of the source: the preview region's bounding box
(its mask is *not* applied) over the spectral range at the current Stokes, block-mean
rebinned by ``rebin_xy`` in each channel (the reference's NaN-aware BlockSmooth) and
then averaged over groups of ``rebin_z`` channels (a plain, NaN-propagating mean; an
incomplete trailing group stays NaN). The cut is moved into preview pixels as
``(p − blc) / rebin_xy``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .region_geometry import RegionMask

__all__ = [
    "masked_mean_spectrum",
    "box_spectra",
    "pv_matrix",
    "rebin_channels",
    "preview_cube_shape",
    "preview_line",
]

_F32 = np.float32
_F64 = np.float64

#: Reads the pixels of a mask's bounding box: ``[nchan, height, width]`` float32.
BoxReader = Callable[[RegionMask], np.ndarray]


def masked_mean_spectrum(block: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-channel mean of the finite values of ``block[z]`` where ``mask`` is True.

    ``block`` is ``[nz, h, w]``, ``mask`` ``[h, w]``. Sums in float64, returns float32
    (NaN for a channel without a finite pixel in the mask).
    """
    data = np.asarray(block)
    values = data[:, np.asarray(mask, dtype=bool)]
    finite = np.isfinite(values)
    count = np.count_nonzero(finite, axis=1)
    total = np.where(finite, values, _F32(0)).sum(axis=1, dtype=_F64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return mean.astype(_F32)


def box_spectra(read_box: BoxReader, masks: Sequence[RegionMask | None], nchan: int) -> np.ndarray:
    """``[len(masks), nchan]`` float32: the mean spectrum of every box (NaN rows for
    boxes without pixels). Blocking; callers pass a slice of the masks per chunk."""
    out = np.full((len(masks), nchan), np.nan, dtype=_F32)
    for i, mask in enumerate(masks):
        if mask is None:
            continue
        out[i] = masked_mean_spectrum(read_box(mask), mask.mask)
    return out


def pv_matrix(spectra: np.ndarray, reverse: bool) -> np.ndarray:
    """The PV image as a numpy ``[rows, cols]`` array: offsets along x and channels
    along y (``spectra.T``), or with ``reverse`` channels along x (``spectra``)."""
    data = np.asarray(spectra, dtype=_F32)
    return np.ascontiguousarray(data if reverse else data.T)


def preview_cube_shape(width: int, height: int, nchan: int, rebin_xy: int, rebin_z: int) -> tuple[int, int, int]:
    """``(nchan', height', width')`` of a rebinned preview cube (ceil divisions, as
    casacore's RebinImage)."""
    rxy, rz = max(int(rebin_xy), 1), max(int(rebin_z), 1)
    return (math.ceil(nchan / rz), math.ceil(height / rxy), math.ceil(width / rxy))


def rebin_channels(planes: np.ndarray, rebin_z: int) -> np.ndarray:
    """Plain mean over groups of ``rebin_z`` consecutive planes of ``[nz, h, w]``.

    NaN propagates (the reference adds the planes); a trailing group shorter than
    ``rebin_z`` gives a NaN plane. Float32 sums in channel order, as the reference.
    """
    data = np.asarray(planes, dtype=_F32)
    rz = max(int(rebin_z), 1)
    if rz == 1:
        return data.copy()
    nz, h, w = data.shape
    out = np.full((math.ceil(nz / rz), h, w), np.nan, dtype=_F32)
    for group in range(nz // rz):
        total = np.zeros((h, w), dtype=_F32)
        for plane in data[group * rz : (group + 1) * rz]:
            total += plane
        out[group] = total / _F32(rz)
    return out


def preview_line(points: Sequence[tuple[float, float]], origin: tuple[int, int], rebin_xy: int) -> list[tuple[float, float]]:
    """Cut control points in preview pixels: ``(p − blc) / rebin_xy`` (float32 as the
    reference's CARTA::Point)."""
    r = _F32(max(int(rebin_xy), 1))
    ox, oy = _F32(origin[0]), _F32(origin[1])
    return [(float((_F32(x) - ox) / r), float((_F32(y) - oy) / r)) for x, y in points]
