"""ContourSet payloads (WIRE.md 3.5-3.6): raw float32 or fixed-point + delta + shuffle + zstd.

A traced level is a flat float32 vertex buffer ``x0, y0, x1, y1, ...`` and the
start indices of its polylines, as *float* indices (2 x vertex index). This module
turns such a chunk into the bytes of ``CARTA.ContourSet`` and back, and holds the
per-level chunk buffer of 3.5 (flush when more than 2 * chunk_size floats).

Compressed form (``compression_level >= 1``), following the reference
``RoundAndEncodeVertices`` / ``EncodeIntegers`` in ``src/DataStream/Compression.cc``:

1. ``D = clamp(decimation, 1, 32)``; each float becomes ``int32(round(v * D))`` with
   the product in float32 -- the first ``4 * (N // 4)`` values round half to even (SSE
   ``cvtps2dq``), the last 0-3 half away from zero (C ``round``);
2. x and y are delta-coded separately across the whole chunk (not per polyline);
3. each complete group of 4 ints is byte-transposed (byte 0 of the four ints, then
   byte 1, ...); the trailing ``N % 4`` ints stay as they are;
4. the ``4 * N`` bytes become one zstd frame at level ``clamp(level, 1, 20)``.

The start indices are always raw int32 LE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NotRequired, TypedDict

import numpy as np
import zstandard

__all__ = [
    "EncodedContourSet",
    "encode_contour_set",
    "decode_contour_set",
    "shuffle_int_groups",
    "unshuffle_int_groups",
    "ContourChunkBuffer",
    "chunk_progress",
]

MAX_DECIMATION = 32
MAX_COMPRESSION_LEVEL = 20
_F32 = np.dtype("<f4")
_I32 = np.dtype("<i4")


class ContourSetFields(TypedDict):
    """Keyword arguments of ``CARTA.ContourSet``: ``level`` and the non-default fields."""

    level: float
    raw_coordinates: NotRequired[bytes]
    raw_start_indices: NotRequired[bytes]
    uncompressed_coordinates_size: NotRequired[int]
    decimation_factor: NotRequired[int]


@dataclass(frozen=True, slots=True)
class EncodedContourSet:
    """Field values of one ``CARTA.ContourSet``; ``as_fields()`` gives the keyword
    arguments for the protobuf constructor with default-valued fields left out."""

    level: float
    raw_coordinates: bytes = b""
    raw_start_indices: bytes = b""
    uncompressed_coordinates_size: int = 0
    decimation_factor: int = 0

    def as_fields(self) -> ContourSetFields:
        """Keyword arguments for ``pb.ContourSet(**...)``."""
        out: ContourSetFields = {"level": self.level}
        if self.raw_coordinates:
            out["raw_coordinates"] = self.raw_coordinates
        if self.raw_start_indices:
            out["raw_start_indices"] = self.raw_start_indices
        if self.uncompressed_coordinates_size:
            out["uncompressed_coordinates_size"] = self.uncompressed_coordinates_size
        if self.decimation_factor:
            out["decimation_factor"] = self.decimation_factor
        return out


def shuffle_int_groups(values: np.ndarray) -> bytes:
    """Bytes of an int32 array with every complete group of 4 ints byte-transposed."""
    ints = np.ascontiguousarray(values, dtype=_I32)
    whole = 4 * (ints.size // 4)
    head = ints[:whole].view(np.uint8).reshape(-1, 4, 4).transpose(0, 2, 1)
    return head.tobytes() + ints[whole:].tobytes()


def unshuffle_int_groups(data: bytes) -> np.ndarray:
    """Inverse of ``shuffle_int_groups``; returns int32."""
    if len(data) % 4:
        raise ValueError(f"{len(data)} bytes is not a whole number of int32 values")
    raw = np.frombuffer(data, dtype=np.uint8)
    n = raw.size // 4
    whole = 16 * (n // 4)
    head = raw[:whole].reshape(-1, 4, 4).transpose(0, 2, 1).tobytes()
    return np.frombuffer(head + raw[whole:].tobytes(), dtype=_I32).astype(np.int32)


def _round_vertices(vertices: np.ndarray, decimation: int) -> np.ndarray:
    scaled = vertices * np.float32(decimation)  # float32 product, as the reference
    whole = 4 * (scaled.size // 4)
    out = np.empty(scaled.size, dtype=np.int64)
    out[:whole] = np.rint(scaled[:whole])  # half to even
    tail = scaled[whole:].astype(np.float64)
    out[whole:] = np.sign(tail) * np.floor(np.abs(tail) + 0.5)  # half away from zero
    return out.astype(np.int32)


def _delta_pairs(ints: np.ndarray) -> np.ndarray:
    out = ints.copy()
    even = 2 * (ints.size // 2)
    pairs = ints[:even].reshape(-1, 2)
    deltas = pairs.copy()
    deltas[1:] -= pairs[:-1]  # int32 wraps like the reference's int arithmetic
    out[:even] = deltas.ravel()
    return out


def encode_contour_set(
    level: float,
    vertices: np.ndarray,
    start_indices: np.ndarray,
    decimation_factor: int,
    compression_level: int,
) -> EncodedContourSet:
    """Encode one chunk of one level.

    ``vertices``: flat float32 x, y pairs (wire coordinates, WIRE.md 3.4);
    ``start_indices``: float index of each polyline's first vertex. An empty chunk
    carries only the level. ``compression_level < 1`` sends raw float32.
    """
    coords = np.ascontiguousarray(vertices, dtype=np.float32).ravel()
    starts = np.ascontiguousarray(start_indices, dtype=_I32).ravel()
    if coords.size % 2:
        raise ValueError(f"vertex buffer has an odd number of floats ({coords.size})")
    if coords.size == 0:
        return EncodedContourSet(level=float(level))
    if starts.size and (starts[0] != 0 or np.any(np.diff(starts) <= 0) or starts[-1] >= coords.size):
        raise ValueError("start indices must begin at 0, increase and lie inside the vertex buffer")
    level_z = min(max(int(compression_level), 0), MAX_COMPRESSION_LEVEL)
    if level_z < 1:
        return EncodedContourSet(
            level=float(level),
            raw_coordinates=coords.astype(_F32).tobytes(),
            raw_start_indices=starts.tobytes(),
            uncompressed_coordinates_size=4 * coords.size,
            decimation_factor=0,
        )
    decimation = min(max(int(decimation_factor), 1), MAX_DECIMATION)
    ints = _delta_pairs(_round_vertices(coords, decimation))
    frame = zstandard.ZstdCompressor(level=level_z).compress(shuffle_int_groups(ints))
    return EncodedContourSet(
        level=float(level),
        raw_coordinates=frame,
        raw_start_indices=starts.tobytes(),
        uncompressed_coordinates_size=4 * coords.size,
        decimation_factor=decimation,
    )


def decode_contour_set(
    raw_coordinates: bytes,
    raw_start_indices: bytes,
    uncompressed_coordinates_size: int,
    decimation_factor: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode ContourSet bytes as the frontend does: ``(float32 vertices, int32 starts)``.

    Compressed vertices come back as the exact fixed-point values ``k / D`` (the
    prefix sums are taken on the integers).
    """
    starts = np.frombuffer(raw_start_indices, dtype=_I32).astype(np.int32)
    if decimation_factor >= 1:
        size = int(uncompressed_coordinates_size)
        data = zstandard.ZstdDecompressor().decompress(raw_coordinates, max_output_size=size)
        if len(data) != size:
            raise ValueError(f"zstd frame holds {len(data)} bytes, expected {size}")
        ints = unshuffle_int_groups(data).astype(np.int64)
        n = ints.size
        even = 2 * (n // 2)
        ints[:even] = np.cumsum(ints[:even].reshape(-1, 2), axis=0).ravel()
        vertices = (ints / float(decimation_factor)).astype(np.float32)
    else:
        if len(raw_coordinates) % 4:
            raise ValueError(f"raw coordinates have {len(raw_coordinates)} bytes, not whole floats")
        vertices = np.frombuffer(raw_coordinates, dtype=_F32).astype(np.float32)
    return vertices, starts


def chunk_progress(checked: int, width: int, height: int) -> float:
    """Progress of a partial chunk: ``min(0.99, checked / (w * h))`` (WIRE.md 3.5)."""
    return min(0.99, checked / float(width * height))


@dataclass
class ContourChunkBuffer:
    """Vertex and start-index buffers of one level, flushed in chunks (WIRE.md 3.5).

    Call ``add_polyline`` for each traced polyline; when it returns True, send
    ``take()`` as a partial message. At the end of the level send ``take()`` with
    progress 1.0 even if empty. ``chunk_size <= 0`` never asks for a flush.
    """

    chunk_size: int
    _vertices: list[np.ndarray] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list)
    _floats: int = 0

    def add_polyline(self, vertices: np.ndarray) -> bool:
        """Append one polyline (flat float32 x, y pairs); True if a chunk is due."""
        flat = np.asarray(vertices, dtype=np.float32).ravel()
        self._starts.append(self._floats)
        self._vertices.append(flat)
        self._floats += flat.size
        return self.chunk_size > 0 and self._floats > 2 * self.chunk_size

    def take(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(vertices, start_indices)`` buffered so far and clear the buffer."""
        vertices = (
            np.concatenate(self._vertices) if self._vertices else np.zeros(0, dtype=np.float32)
        )
        starts = np.asarray(self._starts, dtype=np.int32)
        self._vertices, self._starts, self._floats = [], [], 0
        return vertices, starts
