"""Reading the e2e driver's websocket log: decode frames with the real schema, contour vertices.

Each e2e step returns ``wire``: the binary frames seen while it ran, in order, each as
``{t, dir, type, name, req, msg, b64}`` where ``msg`` holds the few scalar fields the
driver decoded itself (for its waits) and ``b64`` is the whole frame, header included.
The tests decode ``b64`` here with ``carta_trio.messages.registry.decode_frame`` and check
numbers against numpy, so the driver's own decoder is trusted only for waiting.

Contour vertices are decoded from the ICD's packing (WIRE.md 3.6, the frontend's
``ProcessContourSet``): zstd, 16-byte shuffle groups, int32 deltas per axis, 1/D scale.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np
import zstandard

from carta_trio.messages import schema as pb
from carta_trio.messages.registry import decode_frame


@dataclass(frozen=True)
class WireMessage:
    """One logged frame: direction, event type, request id, ms since the driver started, message."""

    dir: str
    type: int
    req: int
    t: int
    message: Any


def decode_wire(wire: list[dict[str, Any]]) -> list[WireMessage]:
    """Every logged frame that carries its bytes, decoded; checks header and event type agree."""
    out = []
    for entry in wire:
        if "b64" not in entry:
            continue
        envelope = decode_frame(base64.b64decode(entry["b64"]))
        assert envelope.event_type == entry["type"], entry
        assert envelope.icd_version == 28, entry
        out.append(WireMessage(entry["dir"], envelope.event_type, envelope.request_id, entry["t"], envelope.message))
    return out


def select(messages: list[WireMessage], event: int, direction: str | None = None) -> list[WireMessage]:
    """The messages of one event type (``pb.EventType.X``), optionally one direction."""
    return [m for m in messages if m.type == event and (direction is None or m.dir == direction)]


def sequence(messages: list[WireMessage]) -> list[str]:
    """Direction and event name of each message, for assertion messages."""
    return [f"{'->' if m.dir == 'sent' else '<-'} {pb.EventType.Name(m.type)}" for m in messages]


def contour_polylines(contour_set: Any) -> list[np.ndarray]:
    """The polylines of a ``ContourSet`` as float64 [n, 2] arrays of wire (x, y) coordinates."""
    size = contour_set.uncompressed_coordinates_size
    if not contour_set.raw_coordinates:
        return []
    if contour_set.decimation_factor >= 1:
        raw = zstandard.ZstdDecompressor().decompress(contour_set.raw_coordinates, max_output_size=size)
        assert len(raw) == size, (len(raw), size)
        count = size // 4
        grouped = 4 * (count // 4)
        data = np.frombuffer(raw, dtype=np.uint8)
        head = data[: grouped * 4].reshape(-1, 4, 4).transpose(0, 2, 1).reshape(-1)
        ints = np.concatenate([head, data[grouped * 4 :]]).view("<i4").astype(np.int64)
        pairs = ints.reshape(-1, 2).cumsum(axis=0) / float(contour_set.decimation_factor)
    else:
        pairs = np.frombuffer(contour_set.raw_coordinates, dtype="<f4").reshape(-1, 2).astype(np.float64)
    starts = np.frombuffer(contour_set.raw_start_indices, dtype="<i4") // 2
    bounds = [*starts.tolist(), len(pairs)]
    return [pairs[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def bilinear(plane: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """`plane` (float64 [y, x]) interpolated at pixel coordinates (pixel centres are integers)."""
    x0 = np.clip(np.floor(x).astype(int), 0, plane.shape[1] - 2)
    y0 = np.clip(np.floor(y).astype(int), 0, plane.shape[0] - 2)
    fx, fy = x - x0, y - y0
    top = plane[y0, x0] * (1 - fx) + plane[y0, x0 + 1] * fx
    bottom = plane[y0 + 1, x0] * (1 - fx) + plane[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def stats_by_name(stats_message: Any) -> dict[str, float]:
    """``RegionStatsData.statistics`` as ``{StatsType name: value}``."""
    return {pb.StatsType.Name(s.stats_type): s.value for s in stats_message.statistics}
