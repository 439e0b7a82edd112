"""Plane statistics and histogram counts through the compiled kernels (``analysis/plane_kernels.c``).

The cube histogram reads every pixel of a cube twice: once for the statistics of each
plane (finite count, sum, sum of squares, squared deviations, min, max), once to count
them into bins. numpy needs several passes over memory for each (a float64 copy, masks,
index arrays: ~0.65 GB/s for the statistics); the kernels make one (the deviations a
second, from cache) with the GIL released, at memory speed.

Optional like the tile encoder: without a C compiler the module is not built and the
callers (:mod:`.histograms`) keep their numpy code, which gives the same counts and the
same statistics to rounding of float64 sums. On first use the kernels must agree with
that numpy code on a small field with NaN, ±Inf, zeros and edge values; if they do not,
they are never used.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from carta_trio.extensions import CheckedExtension

__all__ = ["available", "bin_counts", "extension", "plane_stats"]

_F32 = np.float32


def check_block() -> np.ndarray:
    """A small [z, y, x] block with NaN, ±Inf, zeros, a constant plane and an empty one."""
    rng = np.random.default_rng(31)
    block = rng.normal(3.0, 2.0, (4, 9, 11)).astype(np.float32)
    block[0, ::3, ::2] = np.nan
    block[1, 2, 3], block[1, 4, 5] = np.inf, -np.inf
    block[2] = 1.25
    block[3] = np.nan
    return block


def _agrees_with_numpy(module: ModuleType) -> bool:
    from carta_trio.analysis import reductions

    block = check_block()
    out = np.empty((6, block.shape[0]))
    module.plane_stats(block, block.shape[0], out)
    expected = reductions.plane_moments(block, finite_only=True)
    for row, name in zip(out, ("count", "sum", "sumsq", "m2", "min", "max")):
        want = getattr(expected, name)
        valid = expected.count > 0
        if not np.allclose(row[valid], want[valid], rtol=1e-12, atol=1e-12):
            return False
    finite = block[np.isfinite(block)]
    lo, hi = float(finite.min()), float(finite.max())
    width = _F32((_F32(hi) - _F32(lo)) / _F32(7))
    for within in (True, False):
        counts = np.zeros(9, np.int64)
        module.bin_counts(block, lo, hi, float(width), 7, within, counts)
        t = np.abs((block - _F32(lo)) / width)
        keep = t < _F32(8)
        if not within:
            keep &= (block >= _F32(lo)) & (block <= _F32(hi))
        want = np.bincount(t[keep].astype(np.intp), minlength=9)
        if not np.array_equal(counts[:8], want[:8]) or counts[8] != np.count_nonzero(~keep):
            return False
    return True


extension = CheckedExtension("carta_trio.analysis._plane_kernels", _agrees_with_numpy,
                             "statistics and histograms use numpy")


def available() -> bool:
    """True when the compiled kernels are used."""
    return extension.available()


def plane_stats(block: np.ndarray) -> np.ndarray | None:
    """Rows count, sum, sumsq, m2, min, max (float64, one column per plane) of the
    finite values of each plane of a float32 ``[z, y, x]`` (or ``[y, x]``) block; None
    when the kernels are not built or the block is not float32 (the caller uses numpy).
    A plane without finite values has count 0 and NaN elsewhere."""
    kernels = extension.module
    data = np.asarray(block)
    if kernels is None or data.dtype != np.float32 or data.ndim not in (2, 3) or data.size == 0:
        return None
    data = np.ascontiguousarray(data)
    planes = 1 if data.ndim == 2 else data.shape[0]
    out = np.empty((6, planes))
    kernels.plane_stats(data, planes, out)
    return out


def bin_counts(values: np.ndarray, lo: float, hi: float, width: float, num_bins: int, within: bool) -> np.ndarray | None:
    """Counts (int64, ``num_bins``) of float32 ``values`` into bins of ``width`` from
    ``lo`` (float32 arithmetic, the reference's rule: see :func:`.histograms.bin_counts`);
    None when the kernels are not built or the values are not float32."""
    kernels = extension.module
    data = np.asarray(values)
    if kernels is None or data.dtype != np.float32:
        return None
    counts = np.zeros(num_bins + 2, np.int64)
    if data.size:
        kernels.bin_counts(np.ascontiguousarray(data), float(_F32(lo)), float(_F32(hi)), float(_F32(width)),
                           num_bins, within, counts)
    counts[num_bins - 1] += counts[num_bins]
    return counts[:num_bins]
