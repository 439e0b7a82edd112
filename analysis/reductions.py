"""Fast masked per-plane moments: the kernel behind statistics, BasicStats and region spectra.

:func:`plane_moments` reduces a ``[z, y, x]`` float32 block (typically a strided view of
a region's bounding box inside a larger cube) under a 2-D mask to per-plane count, sum,
sum of squares, sum of squared deviations (M2), min and max, accumulating in float64.

How it stays close to memory speed (measured by ``bench/bench_analysis.py``; BLAS
should be single-threaded, e.g. ``OPENBLAS_NUM_THREADS=1``: its threads only add
contention on these small products):

* the block is walked in tiles of a few planes small enough to stay in cache, so the
  data are read from memory once and never copied as a whole;
* in a masked tile the pixels outside the region are overwritten with the plane's first
  region pixel ``c`` (so min/max are unaffected and NaNs outside the region are gone),
  the sums run over the whole box and ``n_out·c`` / ``n_out·c²`` are subtracted;
* sums are BLAS products on a float64 copy of the tile (``gemv`` for Σv, one ``dot``
  per plane for Σv²); min/max are NaN-ignoring float32 reductions, only when asked for;
  scratch buffers are per thread and reused, so no call pays page faults;
* NaN is handled adaptively: tiles are tested for invalid pixels up front (which are
  then zeroed and counted) while they keep containing some, as with a NaN border; once
  a tile is clean the test is skipped, and a later plane whose sums come out NaN or
  infinite is redone on its valid pixels only;
* M2 = Σv² − (Σv)²/N is used when well conditioned (Σv² ≤ 10·M2, i.e. |mean| ≲ 3σ);
  otherwise it is recomputed from the cached float64 tile about the plane's first
  value, which keeps full precision for offset data and gives exactly 0 for constant
  planes.

The reference has two validity rules (ANALYTICS.md §0.4): the casacore statistics engine
drops NaN only and counts ±Inf, the histogram BasicStats drop every non-finite value;
``finite_only`` selects between them.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__ = ["PlaneMoments", "plane_moments", "combine_moments"]

_TILE_ELEMENTS = 1 << 19  # pixels per tile: 2 MiB as float32, 4 MiB as float64
_WELL_CONDITIONED = 10.0  # Σv²/M2 above this: M2 is recomputed about a shift (cancellation)


@dataclass
class PlaneMoments:
    """Per-plane reductions, float64 arrays of length ``nz``.

    ``m2`` is the sum of squared deviations from the plane mean (NaN when ±Inf was
    counted). ``min``/``max`` are NaN for planes without valid pixels and when extrema
    were not requested; ``sum``/``sumsq``/``m2`` are NaN when not requested.
    """

    count: np.ndarray
    sum: np.ndarray
    sumsq: np.ndarray
    m2: np.ndarray
    min: np.ndarray
    max: np.ndarray

    @classmethod
    def empty(cls, nz: int) -> "PlaneMoments":
        nan = np.full(nz, np.nan)
        return cls(np.zeros(nz), nan.copy(), nan.copy(), nan.copy(), nan.copy(), nan.copy())

    def __len__(self) -> int:
        return int(self.count.shape[0])

    @classmethod
    def concatenate(cls, parts: "list[PlaneMoments]") -> "PlaneMoments":
        """Moments of consecutive plane ranges joined along z."""
        fields = ("count", "sum", "sumsq", "m2", "min", "max")
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


def combine_moments(a: PlaneMoments, b: PlaneMoments) -> PlaneMoments:
    """Merge moments of disjoint pixel sets plane by plane (Chan et al. pairwise update)."""
    n = a.count + b.count
    has_a, has_b = a.count > 0, b.count > 0

    def total(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.where(n > 0, np.where(has_a, x, 0.0) + np.where(has_b, y, 0.0), np.nan)

    with np.errstate(invalid="ignore", divide="ignore"):
        delta = b.sum / np.maximum(b.count, 1) - a.sum / np.maximum(a.count, 1)
        cross = np.where(has_a & has_b, delta * delta * a.count * b.count / np.maximum(n, 1), 0.0)
    return PlaneMoments(
        count=n,
        sum=total(a.sum, b.sum),
        sumsq=total(a.sumsq, b.sumsq),
        m2=total(a.m2, b.m2) + cross,
        min=np.fmin(a.min, b.min),
        max=np.fmax(a.max, b.max),
    )


def plane_moments(
    block: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    finite_only: bool = False,
    squares: bool = True,
    extrema: bool = True,
    workers: int = 1,
) -> PlaneMoments:
    """Moments of each ``block[z]`` over the pixels where ``mask`` is True.

    ``block`` is ``[z, y, x]`` (or one ``[y, x]`` plane) float32 with any strides;
    ``mask`` is ``[y, x]`` bool, or None for every pixel. With ``finite_only`` ±Inf are
    dropped like NaN. ``squares`` (Σv², M2) and ``extrema`` (min, max) can be skipped
    when the caller needs only counts and sums. The data are read once.

    ``workers`` > 1 splits the planes into that many contiguous ranges reduced in
    parallel threads (numpy releases the GIL); results are identical to one worker.
    """
    data = np.asarray(block)
    if data.ndim == 3 and workers > 1 and data.shape[0] > 1:
        bounds = np.linspace(0, data.shape[0], min(workers, data.shape[0]) + 1).astype(int)
        pool = _executor(workers)
        futures = [
            pool.submit(plane_moments, data[a:b], mask, finite_only=finite_only, squares=squares, extrema=extrema)
            for a, b in zip(bounds[:-1], bounds[1:])
        ]
        return PlaneMoments.concatenate([f.result() for f in futures])
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise ValueError(f"expected a [z, y, x] block, got shape {data.shape}")
    nz, ny, nx = data.shape
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (ny, nx):
            raise ValueError(f"mask shape {mask.shape} does not match plane shape {(ny, nx)}")
    result = PlaneMoments.empty(nz)
    if nz == 0 or ny == 0 or nx == 0 or (mask is not None and not mask.any()):
        return result
    rows_per_band = max(1, min(ny, _TILE_ELEMENTS // nx))
    acc: PlaneMoments | None = None
    # Planes larger than a tile are cut into row bands whose moments are merged.
    for r0 in range(0, ny, rows_per_band):
        r1 = min(ny, r0 + rows_per_band)
        band_mask = None if mask is None else mask[r0:r1]
        if band_mask is not None and not band_mask.any():
            continue
        if band_mask is not None and band_mask.all():
            band_mask = None
        part = _band_moments(data[:, r0:r1, :], band_mask, finite_only, squares, extrema)
        acc = part if acc is None else combine_moments(acc, part)
    return acc if acc is not None else result


_LOCAL = threading.local()
_ONES = np.ones(1 << 16)
_ONES.flags.writeable = False


def _buffer(name: str, size: int, dtype: type) -> np.ndarray:
    """A per-thread scratch buffer of at least ``size`` elements (reused: no page faults)."""
    cache = getattr(_LOCAL, "buffers", None)
    if cache is None:
        cache = _LOCAL.buffers = {}
    buf = cache.get(name)
    if buf is None or buf.size < size:
        buf = cache[name] = np.empty(size, dtype=dtype)
    return buf[:size]


def _ones(size: int) -> np.ndarray:
    """A read-only vector of ``size`` float64 ones (a view of a shared array)."""
    global _ONES
    ones = _ONES
    if ones.size < size:
        ones = np.ones(size)
        ones.flags.writeable = False
        _ONES = ones
    return ones[:size]


def _count_true(bad: np.ndarray) -> np.ndarray:
    """Per-row count of True in a 2-D bool array (packbits + popcount: fast)."""
    counts: np.ndarray = np.bitwise_count(np.packbits(bad, axis=1)).sum(axis=1, dtype=np.int64)
    return counts


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _executor(workers: int) -> ThreadPoolExecutor:
    """A shared pool for ``workers`` > 1 (sized to the larger of request and CPU count)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._max_workers < workers:  # noqa: SLF001
            _POOL = ThreadPoolExecutor(max_workers=max(workers, os.cpu_count() or 1), thread_name_prefix="plane-moments")
        return _POOL


def _band_moments(data: np.ndarray, mask: np.ndarray | None, finite_only: bool, squares: bool, extrema: bool) -> PlaneMoments:
    nz, ny, nx = data.shape
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        band = _Band(nz, ny * nx, mask, finite_only, squares, extrema)
        narrow = None if (mask is None and not extrema) else _buffer("narrow", band.k * ny * nx, np.float32).reshape(band.k, ny, nx)
        for z0 in range(0, nz, band.k):
            z1 = min(nz, z0 + band.k)
            n = z1 - z0
            g = band.wide[:n]
            if narrow is None:
                np.copyto(g.reshape(n, ny, nx), data[z0:z1], casting="unsafe")
                band.tile(None, g, z0)
            else:
                raw = narrow[:n]
                np.copyto(raw, data[z0:z1])
                band.tile(raw.reshape(n, ny * nx), g, z0)
        return band.finish()


class _Band:
    """Per-band buffers and accumulators; :meth:`tile` reduces one tile of planes."""

    def __init__(self, nz: int, npix: int, mask: np.ndarray | None, finite_only: bool, squares: bool, extrema: bool):
        self.k = max(1, min(nz, _TILE_ELEMENTS // npix))
        self.wide = _buffer("wide", self.k * npix, np.float64).reshape(self.k, npix)
        self.ones = _ones(npix)
        self.finite_only, self.squares, self.extrema = finite_only, squares, extrema
        if mask is None:
            self.outside = None
            self.first, n_out = 0, 0
        else:
            flat_mask = mask.reshape(-1)
            self.outside = np.broadcast_to(~flat_mask, (self.k, npix))
            self.first = int(np.argmax(flat_mask))
            n_out = npix - int(np.count_nonzero(flat_mask))
        self.out = PlaneMoments.empty(nz)
        self.out.count[:] = npix - n_out
        self.n_out = np.full(nz, float(n_out))  # outside pixels holding c, per plane
        self.c = np.zeros(nz)  # the value outside pixels hold (a region value), per plane
        self.expect_invalid = True  # test tiles for NaN up front until one is clean

    def tile(self, flat: np.ndarray | None, g: np.ndarray, z0: int) -> None:
        """Reduce planes ``z0 … z0+n`` given as float32 ``flat`` (or None) and float64 ``g``."""
        out = self.out
        n = g.shape[0]
        sl = slice(z0, z0 + n)
        self.tile_bad: dict[int, np.ndarray] = {}  # invalid (zeroed) pixels per tile row
        if flat is not None:
            if self.outside is not None:
                # Outside pixels take the plane's first region value c: min/max are
                # unaffected and outside NaNs disappear; n_out·c is taken off the sums.
                c = flat[:, self.first].copy()
                np.copyto(flat, c[:, None], where=self.outside[:n])
                self.c[sl] = c
            if self.extrema:
                self._extrema(flat, z0)
            if self.expect_invalid:
                self._zero_invalid(flat, z0)
            np.copyto(g, flat, casting="unsafe")
        elif self.expect_invalid:
            self._zero_invalid(g, z0)
        s = g @ self.ones
        out.sum[sl] = s
        if self.squares:
            q = np.array([np.dot(row, row) for row in g])
            out.sumsq[sl] = q
            s = s + q  # NaN/Inf in either shows up here
        bad = np.flatnonzero(~np.isfinite(s))
        if bad.size:
            self._fix(flat, g, z0, bad)
        if self.squares:
            self._shaky_m2(g, z0, n)

    def _extrema(self, flat: np.ndarray, z0: int) -> None:
        """NaN-ignoring min/max per plane (outside pixels hold a region value, or NaN)."""
        lo = np.fmin.reduce(flat, axis=1)
        hi = np.fmax.reduce(flat, axis=1)
        if self.finite_only:
            rows = np.flatnonzero(np.isinf(lo) | np.isinf(hi))
            if rows.size:
                vals = flat[rows]
                vals = np.where(np.isinf(vals), np.float32(np.nan), vals)
                lo[rows] = np.fmin.reduce(vals, axis=1)
                hi[rows] = np.fmax.reduce(vals, axis=1)
        self.out.min[z0 : z0 + flat.shape[0]] = lo
        self.out.max[z0 : z0 + flat.shape[0]] = hi

    def _zero_invalid(self, vals: np.ndarray, z0: int) -> None:
        """Zero NaN (and, if finite_only, ±Inf) and outside pixels of a whole tile up front.

        Used while tiles keep containing invalid pixels (a NaN border, say): cheaper than
        reducing first and redoing the affected planes. Counts become per plane.
        """
        n = vals.shape[0]
        bad = ~np.isfinite(vals) if self.finite_only else np.isnan(vals)
        if not bad.any():
            self.expect_invalid = False
            return
        if self.outside is not None:
            bad |= self.outside[:n]
        np.copyto(vals, 0, where=bad)
        self.tile_bad = dict(enumerate(bad))
        sl = slice(z0, z0 + n)
        self.out.count[sl] = vals.shape[1] - _count_true(bad)
        self.n_out[sl] = 0.0
        self.c[sl] = 0.0

    def _fix(self, flat: np.ndarray | None, g: np.ndarray, z0: int, rows: np.ndarray) -> None:
        """Planes whose sums came out NaN or infinite: zero invalid and outside pixels, reduce again.

        Planes with ±Inf counted (statistics engine) keep infinite sums; finish() sets M2.
        """
        out = self.out
        self.expect_invalid = True
        planes = z0 + rows
        vals = g[rows] if flat is None else flat[rows]
        bad = ~np.isfinite(vals) if self.finite_only else np.isnan(vals)
        if self.outside is not None:
            bad |= self.outside[: rows.size]
        for j, row in enumerate(rows.tolist()):
            earlier = self.tile_bad.get(row)  # pixels already zeroed up front
            if earlier is not None:
                bad[j] |= earlier
        sub = g[rows]
        np.copyto(sub, 0.0, where=bad)
        g[rows] = sub
        self.tile_bad.update(zip(rows.tolist(), bad))
        out.count[planes] = sub.shape[1] - _count_true(bad)
        self.n_out[planes] = 0.0
        self.c[planes] = 0.0
        out.sum[planes] = sub @ self.ones
        if self.squares:
            out.sumsq[planes] = np.array([np.dot(row, row) for row in sub])

    def _shaky_m2(self, g: np.ndarray, z0: int, n: int) -> None:
        """M2 = Σv² − (Σv)²/N where well conditioned, else about one region value of the plane."""
        out = self.out
        sl = slice(z0, z0 + n)
        cnt = out.count[sl]
        c = self.c[sl]
        s = out.sum[sl] - self.n_out[sl] * c
        q = out.sumsq[sl] - self.n_out[sl] * c * c
        m2 = q - s * s / np.maximum(cnt, 1)
        out.m2[sl] = m2
        shaky = np.flatnonzero(np.isfinite(q) & (cnt > 0) & (q > _WELL_CONDITIONED * np.maximum(m2, 0.0)))
        for i in shaky:
            row = g[i]
            bad = self.tile_bad.get(int(i))
            if bad is None:
                # outside pixels hold the first region value and drop out of the shifted sums
                d = row - row[self.first]
            else:
                # invalid and outside pixels were zeroed: shift the valid ones only
                d = np.where(bad, 0.0, row - row[int(np.argmax(~bad))])
            sd = float(d @ self.ones)
            out.m2[z0 + i] = float(np.dot(d, d)) - sd * sd / cnt[i]

    def finish(self) -> PlaneMoments:
        out = self.out
        out.sum -= self.n_out * self.c
        if self.squares:
            out.sumsq -= self.n_out * self.c * self.c
            has_inf = ~(np.isfinite(out.sum) & np.isfinite(out.sumsq))
            out.m2 = np.maximum(out.m2, 0.0)
            out.m2[has_inf & (out.count > 1)] = np.nan  # a Welford update through ±Inf yields NaN
        empty = out.count == 0
        for name in ("sum", "sumsq", "m2", "min", "max"):
            getattr(out, name)[empty] = np.nan
        return out
