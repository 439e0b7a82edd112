"""The histogram of one image plane (region -1): ONE rule for every path.

:func:`plane_histogram` is used by the render histogram sent on open and after every
channel change (:meth:`Frame.send_image_histogram`) and by SET_HISTOGRAM_REQUIREMENTS
for region -1, so both give the same answer for the same plane (before, HDF5 files
got the stored histogram on one path and a computed one on the other). The rule:

1. the file's stored histogram (IDIA HDF5 ``Statistics/XY``) when the config allows
   it: bounds not fixed and bins automatic or equal to the stored count
   (ANALYTICS.md §3.3, :func:`stored_histogram`);
2. otherwise computed from the plane; with automatic bounds both passes (BasicStats,
   then bin counts) run in parallel pieces and are joined (it is on the path to the
   first screen).
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import trio

from carta_trio.actors import workers
from carta_trio.analysis import histograms, polarization
from carta_trio.analysis.histograms import HistogramResult
from carta_trio.io import reader_pool
from carta_trio.io.image_reader import ImageReader
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame

#: Pieces a plane is split into (one per core).
HISTOGRAM_PARTS = 2


def histogram_message(result: HistogramResult) -> pb.Histogram:
    """CARTA.Histogram from a computed histogram (float32 geometry widened to double)."""
    return pb.Histogram(
        num_bins=int(result.num_bins),
        bin_width=float(result.bin_width),
        first_bin_center=float(result.first_bin_center),
        bins=np.asarray(result.bins, dtype=np.int64).tolist(),
        mean=float(result.mean),
        std_dev=float(result.std_dev),
    )


def stored_histogram(
    stored: dict[str, Any] | None, num_bins: int, fixed_bounds: bool, total_pixels: int
) -> HistogramResult | None:
    """A file's precomputed histogram, when the config allows it (ANALYTICS.md §3.3).

    Used when the bounds are not fixed and ``num_bins`` is automatic (<= 0) or equals
    the stored count: bin geometry in double from the stored min/max, mean and std_dev
    from the stored sums (0 and 0 for files that lack them, as the reference).
    """
    if not stored or fixed_bounds or "histogram" not in stored:
        return None
    counts = np.asarray(stored["histogram"], dtype=np.int64)
    n = int(counts.size)
    if n == 0 or (num_bins > 0 and num_bins != n):
        return None
    lo, hi = float(stored.get("min", math.nan)), float(stored.get("max", math.nan))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    width = (hi - lo) / n
    mean = std = 0.0
    if "sum" in stored and "sum_sq" in stored:
        count = total_pixels - int(stored.get("nan_count", 0))
        total, total_sq = float(stored["sum"]), float(stored["sum_sq"])
        mean = total / count if count else math.nan
        std = math.sqrt(max(total_sq - total * total / count, 0.0) / (count - 1)) if count > 1 else math.nan
    return HistogramResult(n, width, lo + width / 2, counts, mean, std)


def _may_have_stored(reader: Any) -> bool:
    """False when ``reader``'s precomputed_stats is the base class's (always None): the
    check then needs no worker-thread hop (every format but IDIA HDF5; it is on the path
    to the first screen)."""
    inner = getattr(reader, "wrapped", reader)  # the frame's GuardedReader guards calls only
    method = getattr(inner, "precomputed_stats", None)
    return getattr(method, "__func__", None) is not ImageReader.precomputed_stats


def _stored_plane(frame: Frame, channel: int, stokes: int, num_bins: int) -> HistogramResult | None:
    if polarization.is_computed(stokes):
        return None
    try:
        stored = frame.reader.precomputed_stats(channel, stokes)
    except (IndexError, ValueError, OSError):
        return None
    return stored_histogram(stored, num_bins, False, frame.width * frame.height)


async def plane_histogram(
    frame: Frame, channel: int, stokes: int, num_bins: int = -1,
    bounds: tuple[float, float] | None = None, plane: np.ndarray | None = None,
) -> HistogramResult:
    """The histogram of plane (``channel``, ``stokes``) of ``frame``: stored, else computed.

    ``num_bins`` <= 0 is automatic (from the image size); ``bounds`` fixes the range
    (the stored histogram is then never used); ``plane`` saves a read if the caller has it.
    """
    session = frame.session
    if bounds is None and _may_have_stored(frame.reader):
        stored = await session.run_sync(_stored_plane, frame, channel, stokes, num_bins)
        if stored is not None:
            return stored
    bins = histograms.resolve_num_bins(num_bins, frame.width, frame.height)
    if bounds is not None:
        if plane is None:
            plane = await frame.read_plane(channel, stokes)
        return await session.run_sync(functools.partial(histograms.histogram, plane, bins, fixed_bounds=bounds))
    # Shared by every frame and session showing the file (io/reader_pool): fifty viewers
    # opening one image compute its render histogram once.
    key = ("plane_histogram", channel, stokes, bins)
    while True:
        cached: HistogramResult | None = reader_pool.peek(frame.reader, key)  # stored below under key
        if cached is not None:
            return cached
        identity = getattr(frame.reader, "pool_identity", None)
        pending = _in_flight.get((identity, key)) if identity is not None else None
        if pending is None:
            break
        await pending.wait()
    done = trio.Event()
    if identity is not None:
        _in_flight[(identity, key)] = done
    try:
        if plane is None:
            plane = await frame.read_plane(channel, stokes)
        result = await _computed(plane, bins)
        reader_pool.store(frame.reader, key, result)
        return result
    finally:
        if identity is not None:
            _in_flight.pop((identity, key), None)
        done.set()


#: Render histograms being computed, by (file identity, key): concurrent openings of one
#: file wait for the one computation instead of each doing it.
_in_flight: dict[tuple[Any, ...], trio.Event] = {}


async def _computed(plane: np.ndarray, num_bins: int) -> HistogramResult:
    """The automatic-bounds histogram of ``plane`` (as ``histograms.histogram``), in
    parallel. Every frame of the file may be waiting for it (:data:`_in_flight`), so it
    runs as :data:`~carta_trio.actors.workers.SHARED_OWNER`'s work, not behind the
    tile stream of the session that asked first (ten seconds under fifty sessions)."""
    parts = [part for part in np.array_split(plane, HISTOGRAM_PARTS) if part.size]
    stats_parts: list[histograms.BasicStats] = [histograms.BasicStats()] * len(parts)
    count_parts: list[np.ndarray] = [np.zeros(0)] * len(parts)

    async def stats_of(index: int) -> None:
        stats_parts[index] = await workers.run_sync(histograms.basic_stats, parts[index], owner=workers.SHARED_OWNER)

    async with trio.open_nursery() as nursery:
        for index in range(len(parts)):
            nursery.start_soon(stats_of, index)
    stats = histograms.BasicStats()
    for part_stats in stats_parts:
        stats = stats.join(part_stats)
    if not stats.num_pixels:
        bins = histograms.histogram_bins(histograms.FLT_MAX, -histograms.FLT_MAX, num_bins)
        counts = np.zeros(1, dtype=np.int64)
    else:
        bins = histograms.histogram_bins(stats.min, stats.max, num_bins)
        finite = stats.num_pixels == plane.size  # no NaN or Inf: the lean counting pass

        async def counts_of(index: int) -> None:
            count_parts[index] = await workers.run_sync(
                functools.partial(histograms.bin_counts, parts[index], bins, within_bounds=True, all_finite=finite),
                owner=workers.SHARED_OWNER,
            )

        async with trio.open_nursery() as nursery:
            for index in range(len(parts)):
                nursery.start_soon(counts_of, index)
        counts = np.sum(count_parts, axis=0)
    return HistogramResult(bins.num_bins, bins.bin_width, bins.first_bin_center, counts, stats.mean, stats.std_dev)
