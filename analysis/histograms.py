"""Histograms as the reference computes them (ANALYTICS.md §3, BEHAVIOUR.md §4.6, WIRE.md §5).

* :class:`BasicStats` — N, Σv, Σv², min, max over the *finite* values (NaN and ±Inf
  dropped), mean = Σv/N, std_dev = sample standard deviation (N−1; NaN for N ≤ 1),
  joinable across planes for the cube histogram.
* :func:`histogram_bins` — bin geometry in float32: ``bin_width = f32(f32(max − min)/n)``,
  ``first_bin_center = f32(min + bin_width/2)``; degenerate bounds (no finite data,
  ``min >= max``) give the reference's 1-bin histogram with bounds (0, 0).
* :func:`bin_counts` — the counting kernel: v is counted iff ``min <= v <= max`` and
  goes to bin ``clamp(trunc(f32(f32(v − min)/bin_width)), 0, n−1)``, computed with
  float32 arithmetic, then ``numpy.bincount``. About 3× faster than ``numpy.histogram``,
  whose own float64 edge rule would put edge values in other bins.
* :class:`CubeHistogram` — the two-pass cube histogram (region −2): join per-plane
  BasicStats, freeze the bounds, accumulate per-plane counts; partial counts can be
  read at any time for progress messages.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from . import plane_kernels
from .reductions import PlaneMoments, plane_moments

__all__ = [
    "BasicStats",
    "HistogramBins",
    "HistogramResult",
    "auto_bin_count",
    "resolve_num_bins",
    "basic_stats",
    "basic_stats_planes",
    "histogram_bins",
    "bin_counts",
    "histogram",
    "CubeHistogram",
]

_F32 = np.float32
FLT_MAX = float(np.finfo(np.float32).max)
AUTO_BIN_SIZE = -1
_CHUNK = 1 << 18


@dataclass(frozen=True)
class BasicStats:
    """The reference's BasicStats over finite values; ``min``/``max`` are float32 values."""

    num_pixels: int = 0
    sum: float = 0.0
    sum_sq: float = 0.0
    min: float = FLT_MAX
    max: float = -FLT_MAX
    m2: float = 0.0

    @property
    def mean(self) -> float:
        return self.sum / self.num_pixels if self.num_pixels else math.nan

    @property
    def std_dev(self) -> float:
        """Sample standard deviation (N−1); NaN for N ≤ 1."""
        if self.num_pixels <= 1:
            return math.nan
        return math.sqrt(max(self.m2, 0.0) / (self.num_pixels - 1))

    @property
    def rms(self) -> float:
        return math.sqrt(self.sum_sq / self.num_pixels) if self.num_pixels else math.nan

    def join(self, other: "BasicStats") -> "BasicStats":
        """Statistics of the union of the two (disjoint) pixel sets."""
        if other.num_pixels == 0:
            return self
        if self.num_pixels == 0:
            return other
        n = self.num_pixels + other.num_pixels
        delta = other.mean - self.mean
        m2 = self.m2 + other.m2 + delta * delta * self.num_pixels * other.num_pixels / n
        return BasicStats(
            n, self.sum + other.sum, self.sum_sq + other.sum_sq, min(self.min, other.min), max(self.max, other.max), m2
        )

    @classmethod
    def from_moments(cls, moments: PlaneMoments, index: int = 0) -> "BasicStats":
        n = int(moments.count[index])
        if n == 0:
            return cls()
        return cls(
            n,
            float(moments.sum[index]),
            float(moments.sumsq[index]),
            float(moments.min[index]),
            float(moments.max[index]),
            float(moments.m2[index]),
        )


def basic_stats(values: np.ndarray, mask: np.ndarray | None = None) -> BasicStats:
    """BasicStats of a 2-D plane (optionally restricted to ``mask``) or of any array."""
    data = np.asarray(values, dtype=np.float32)
    if data.ndim != 2:
        data = data.reshape(1, -1)
        mask = None if mask is None else np.asarray(mask).reshape(1, -1)
    if mask is None:
        rows = plane_kernels.plane_stats(data)
        if rows is not None:
            return _stats_of_row(rows, 0)
    return BasicStats.from_moments(plane_moments(data, mask, finite_only=True))


def _stats_of_row(rows: np.ndarray, index: int) -> BasicStats:
    """BasicStats from column ``index`` of :func:`.plane_kernels.plane_stats` rows."""
    count, total, sumsq, m2, lo, hi = (float(v) for v in rows[:, index])
    if count == 0:
        return BasicStats()
    return BasicStats(int(count), total, sumsq, lo, hi, m2)


def basic_stats_planes(block: np.ndarray, mask: np.ndarray | None = None) -> list[BasicStats]:
    """BasicStats of every plane of a ``[z, y, x]`` block (one pass over the data)."""
    if mask is None and np.ndim(block) == 3:
        rows = plane_kernels.plane_stats(block)
        if rows is not None:
            return [_stats_of_row(rows, i) for i in range(rows.shape[1])]
    moments = plane_moments(block, mask, finite_only=True)
    return [BasicStats.from_moments(moments, i) for i in range(len(moments))]


def auto_bin_count(width: int, height: int) -> int:
    """The reference's automatic bin count ``int(max(sqrt(width·height), 2))``.

    Image and cube histograms use the image plane size, region histograms the region's
    bounding box.
    """
    return int(max(math.sqrt(width * height), 2.0))


def resolve_num_bins(requested: int, width: int, height: int) -> int:
    """Bins to use for a config: −1 (AUTO_BIN_SIZE) is automatic.

    Other values ≤ 0 crash the reference (no behaviour to match); they are treated as
    automatic here.
    """
    if requested <= 0:
        return auto_bin_count(width, height)
    return int(requested)


@dataclass(frozen=True)
class HistogramBins:
    """Bin geometry; all float fields are float32 values (widened to float for the wire)."""

    num_bins: int
    min: float
    max: float
    bin_width: float
    first_bin_center: float

    @property
    def degenerate(self) -> bool:
        return self.bin_width == 0.0


def histogram_bins(lo: float, hi: float, num_bins: int) -> HistogramBins:
    """Bin geometry for bounds ``[lo, hi]`` (rounded to float32) and ``num_bins``.

    Invalid bounds (``lo`` is FLT_MAX or ``hi`` is −FLT_MAX, i.e. no finite data, or
    ``lo >= hi``, or non-finite bounds) give the reference's fallback: 1 bin, bounds
    (0, 0), width 0, centre 0 — whose single bin counts values exactly equal to 0.
    """
    lo32, hi32 = _F32(lo), _F32(hi)
    if (
        not (np.isfinite(lo32) and np.isfinite(hi32))
        or float(lo32) == FLT_MAX
        or float(hi32) == -FLT_MAX
        or lo32 >= hi32
        or num_bins < 1
    ):
        return HistogramBins(1, 0.0, 0.0, 0.0, 0.0)
    with np.errstate(over="ignore"):
        width = _F32(_F32(hi32 - lo32) / _F32(num_bins))
    center = _F32(float(lo32) + float(width) * 0.5)
    return HistogramBins(int(num_bins), float(lo32), float(hi32), float(width), float(center))


def bin_counts(
    values: np.ndarray, bins: HistogramBins, *, within_bounds: bool = False, all_finite: bool = False
) -> np.ndarray:
    """Counts (int64, length ``bins.num_bins``) of ``values`` under the reference's rule.

    ``within_bounds=True`` promises that every finite value lies in ``[min, max]`` (true
    when the bounds are the data's own or the cube's min/max), which skips the range
    test; NaN and ±Inf are always dropped. ``all_finite=True`` (with ``within_bounds``)
    promises there are none (BasicStats counted every pixel), which skips the passes
    that send them to the dump bin: the render histogram of most planes.
    """
    if not bins.degenerate:
        counts = plane_kernels.bin_counts(values, bins.min, bins.max, bins.bin_width, bins.num_bins, within_bounds)
        if counts is not None:
            return counts
    if within_bounds and all_finite and not bins.degenerate and _span_is_finite(bins):
        return _finite_counts(values, bins)
    data = np.asarray(values)
    n = bins.num_bins
    if bins.degenerate:
        return np.array([np.count_nonzero(data == 0)], dtype=np.int64)
    lo, hi, width = _F32(bins.min), _F32(bins.max), _F32(bins.bin_width)
    dump = _F32(n + 1)
    counts = np.zeros(n + 2, dtype=np.int64)
    flat = data.reshape(-1) if data.flags.c_contiguous else None
    buf = np.empty(_chunk_size(data), dtype=_F32)
    for chunk in _chunks(data, flat):
        t = buf[: chunk.size].reshape(chunk.shape)
        with np.errstate(invalid="ignore", over="ignore"):
            np.subtract(chunk, lo, out=t)
            np.divide(t, width, out=t)
            if not within_bounds:
                outside = ~((chunk >= lo) & (chunk <= hi))
                np.copyto(t, dump, where=outside)
            np.abs(t, out=t)  # -Inf -> +Inf; valid values are >= 0 already
            np.fmin(t, dump, out=t)  # NaN, +Inf -> the dump bin
        counts += np.bincount(t.reshape(-1).astype(np.intp), minlength=n + 2)
    counts[n - 1] += counts[n]  # t == n (v == max): clamped into the last bin
    return counts[:n]


def _span_is_finite(bins: HistogramBins) -> bool:
    """max - min in float32 does not overflow (else ``v - min`` may not either)."""
    with np.errstate(over="ignore"):
        return bool(np.isfinite(_F32(bins.max) - _F32(bins.min)))


def _finite_counts(values: np.ndarray, bins: HistogramBins) -> np.ndarray:
    """:func:`bin_counts` of finite values within the bounds: the bin index
    ``(v - min) / width`` (float32, truncated) lies in ``[0, n]`` already; truncated
    into int32 (cheaper than to intp) when the bins allow it."""
    data = np.asarray(values)
    n = bins.num_bins
    lo, width = _F32(bins.min), _F32(bins.bin_width)
    counts = np.zeros(n + 2, dtype=np.int64)
    flat = data.reshape(-1) if data.flags.c_contiguous else None
    size = _chunk_size(data)
    buf = np.empty(size, dtype=_F32)
    index = np.empty(size, dtype=np.int32 if n < (1 << 30) else np.intp)
    for chunk in _chunks(data, flat):
        t = buf[: chunk.size].reshape(chunk.shape)
        np.subtract(chunk, lo, out=t)
        np.divide(t, width, out=t)
        i = index[: chunk.size]
        np.copyto(i, t.reshape(-1), casting="unsafe")
        counts += np.bincount(i, minlength=n + 2)
    counts[n - 1] += counts[n]  # t == n (v == max): clamped into the last bin
    return counts[:n]


def _chunk_size(data: np.ndarray) -> int:
    """The largest chunk :func:`_chunks` yields (a strided array's rows are never cut)."""
    return min(data.size, max(_CHUNK, data.shape[-1] if data.ndim else 1))


def _chunks(data: np.ndarray, flat: np.ndarray | None) -> Iterator[np.ndarray]:
    if flat is not None:
        for i in range(0, flat.size, _CHUNK):
            yield flat[i : i + _CHUNK]
        return
    if data.ndim == 0:
        yield data.reshape(1)
        return
    rows = data.reshape(-1, data.shape[-1]) if data.ndim > 1 else data.reshape(1, -1)
    step = max(1, _CHUNK // max(rows.shape[1], 1))
    for i in range(0, rows.shape[0], step):
        yield rows[i : i + step]


@dataclass(frozen=True)
class HistogramResult:
    """The fields of CARTA.Histogram."""

    num_bins: int
    bin_width: float
    first_bin_center: float
    bins: np.ndarray
    mean: float
    std_dev: float


def histogram(
    values: np.ndarray,
    num_bins: int,
    *,
    mask: np.ndarray | None = None,
    fixed_bounds: tuple[float, float] | None = None,
    stats: BasicStats | None = None,
) -> HistogramResult:
    """Histogram of a plane (region −1) or of a region's bounding box data (region > 0).

    ``num_bins`` must already be resolved (see :func:`resolve_num_bins`). Without
    ``fixed_bounds`` the bounds are the finite min/max; mean and std_dev always come from
    the BasicStats of all finite values, not only those inside fixed bounds. Pass
    ``stats`` when they are cached.
    """
    data = np.asarray(values, dtype=np.float32)
    if stats is None:
        stats = basic_stats(data, mask)
    if mask is not None:
        data = np.where(mask, data, np.float32(np.nan))
    if fixed_bounds is None:
        bins = histogram_bins(stats.min, stats.max, num_bins) if stats.num_pixels else histogram_bins(FLT_MAX, -FLT_MAX, num_bins)
        finite = mask is None and stats.num_pixels == data.size
        counts = bin_counts(data, bins, within_bounds=True, all_finite=finite) if stats.num_pixels else np.zeros(1, dtype=np.int64)
    else:
        bins = histogram_bins(fixed_bounds[0], fixed_bounds[1], num_bins)
        counts = bin_counts(data, bins) if stats.num_pixels or bins.degenerate else np.zeros(bins.num_bins, dtype=np.int64)
    return HistogramResult(bins.num_bins, bins.bin_width, bins.first_bin_center, counts, stats.mean, stats.std_dev)


@dataclass
class CubeHistogram:
    """Two-pass cube histogram (region −2, channel −2) accumulated plane by plane.

    Pass 1: :meth:`add_stats` for every plane (BasicStats are cached per plane by the
    caller and can be reused); :meth:`freeze_bounds` fixes the bin geometry from the
    cube min/max or the config's fixed bounds. Pass 2: :meth:`add_counts` for every
    plane. :meth:`result` gives the (partial or final) message fields at any time.
    """

    num_bins: int
    fixed_bounds: tuple[float, float] | None = None
    stats: BasicStats = field(default_factory=BasicStats)
    bins: HistogramBins | None = None
    counts: np.ndarray | None = None

    def add_stats(self, plane_stats: BasicStats | list[BasicStats]) -> None:
        for item in plane_stats if isinstance(plane_stats, list) else [plane_stats]:
            self.stats = self.stats.join(item)

    def freeze_bounds(self) -> HistogramBins:
        if self.fixed_bounds is not None:
            self.bins = histogram_bins(self.fixed_bounds[0], self.fixed_bounds[1], self.num_bins)
        else:
            self.bins = histogram_bins(self.stats.min, self.stats.max, self.num_bins)
        self.counts = np.zeros(self.bins.num_bins, dtype=np.int64)
        return self.bins

    def add_counts(self, plane: np.ndarray) -> None:
        if self.bins is None or self.counts is None:
            raise RuntimeError("freeze_bounds() must be called before add_counts()")
        self.counts += bin_counts(plane, self.bins, within_bounds=self.fixed_bounds is None)

    def result(self) -> HistogramResult:
        bins = self.bins if self.bins is not None else histogram_bins(self.stats.min, self.stats.max, self.num_bins)
        counts = self.counts if self.counts is not None else np.zeros(0, dtype=np.int64)
        return HistogramResult(bins.num_bins, bins.bin_width, bins.first_bin_center, counts.copy(), self.stats.mean, self.stats.std_dev)
