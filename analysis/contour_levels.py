"""Per-level contour work as plain functions, for worker threads and processes.

One level traced with a :class:`~carta_trio.analysis.contours.LevelTracer`, cut into
chunks and encoded as ContourSet payloads (WIRE.md 3.5-3.6). Kept apart from the
actors so that a worker process imports only numpy, contourpy and zstandard (no
trio, no scipy): a cold worker starts in a fraction of the time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from carta_trio.analysis.contours import ContourSettings, LevelTracer, contour_level
from carta_trio.codecs.contour_encoding import EncodedContourSet, encode_contour_set

__all__ = ["EncodedLevel", "encode_level", "encode_levels_from_file"]

#: One level's messages: ``(ContourSet payload, progress)`` per chunk.
EncodedLevel = list[tuple[EncodedContourSet, float]]


def encode_level(
    tracer: LevelTracer, level: float, scale: int, offset: float, settings: ContourSettings
) -> EncodedLevel:
    """Trace one level and encode each chunk with the settings' decimation and zstd level."""
    return [
        (
            encode_contour_set(
                level, chunk.vertices, chunk.start_indices, settings.decimation_factor, settings.compression_level
            ),
            chunk.progress,
        )
        for chunk in contour_level(tracer, level, scale, offset, settings.chunk_size)
    ]


def encode_levels_from_file(
    path: str, levels: Sequence[float], scale: int, offset: float, settings: ContourSettings
) -> list[tuple[float, EncodedLevel]]:
    """Worker-process entry: trace and encode ``levels`` of a memory-mapped ``.npy`` grid
    with one tracer (building it costs more than tracing one level)."""
    tracer = LevelTracer(np.load(path, mmap_mode="r"))
    return [(level, encode_level(tracer, level, scale, offset, settings)) for level in levels]
