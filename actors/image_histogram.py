"""The image histogram of a plane (region -1, automatic bounds), split over the cores.

Every channel change and every opened file sends one (it drives the frontend's
rendering, FRONTEND.md), so it is on the path to the first screen: both passes
(BasicStats, then bin counts) run in parallel pieces and are joined.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
import trio

from carta_trio.analysis import histograms
from carta_trio.analysis.histograms import HistogramResult
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from carta_trio.actors.session import Session

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


async def plane_histogram(session: Session, plane: np.ndarray, num_bins: int) -> HistogramResult:
    """The automatic-bounds histogram of ``plane`` (as ``histograms.histogram``), in parallel."""
    parts = [part for part in np.array_split(plane, HISTOGRAM_PARTS) if part.size]
    stats_parts: list[histograms.BasicStats] = [histograms.BasicStats()] * len(parts)
    count_parts: list[np.ndarray] = [np.zeros(0)] * len(parts)

    async def stats_of(index: int) -> None:
        stats_parts[index] = await session.run_sync(histograms.basic_stats, parts[index])

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

        async def counts_of(index: int) -> None:
            count_parts[index] = await session.run_sync(
                functools.partial(histograms.bin_counts, parts[index], bins, within_bounds=True)
            )

        async with trio.open_nursery() as nursery:
            for index in range(len(parts)):
                nursery.start_soon(counts_of, index)
        counts = np.sum(count_parts, axis=0)
    return HistogramResult(bins.num_bins, bins.bin_width, bins.first_bin_center, counts, stats.mean, stats.std_dev)
