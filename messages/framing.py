"""The 8-byte CARTA message header (WIRE.md section 1.1).

Every protobuf message, in either direction, travels in one binary WebSocket frame::

    offset 0  u16 LE  event type (CARTA.EventType value)
    offset 2  u16 LE  ICD version, always 28
    offset 4  u32 LE  request id (echoed for responses, 0 for data streams)
    offset 8  ...     serialized protobuf message (may be empty)

There is no length prefix: the WebSocket frame length gives the payload length.
Pure functions, no I/O.
"""

from __future__ import annotations

import struct

from google.protobuf.message import Message

#: ICD version written into every header and expected from the frontend (BE ``Message.h``).
ICD_VERSION = 28
#: ``<HHI``: event type, ICD version, request id, little-endian.
HEADER = struct.Struct("<HHI")
HEADER_SIZE = HEADER.size  # 8

_U16_MAX = 0xFFFF
_U32_MAX = 0xFFFF_FFFF


class DecodeError(ValueError):
    """An incoming frame could not be turned into a message (base of all decode errors)."""


class FrameError(DecodeError):
    """The frame is too short to hold the 8-byte header."""


def pack_frame(
    event_type: int,
    request_id: int,
    message: Message | bytes | None = None,
    *,
    icd_version: int = ICD_VERSION,
) -> bytes:
    """Header + serialized ``message`` (a protobuf message, raw payload bytes, or None for
    an empty payload), ready to send as one binary WebSocket frame.

    Raises ValueError if a header field does not fit its width (u16, u16, u32).
    """
    if not 0 <= int(event_type) <= _U16_MAX:
        raise ValueError(f"event type {event_type} does not fit in u16")
    if not 0 <= int(icd_version) <= _U16_MAX:
        raise ValueError(f"ICD version {icd_version} does not fit in u16")
    if not 0 <= int(request_id) <= _U32_MAX:
        raise ValueError(f"request id {request_id} does not fit in u32")
    if message is None:
        payload = b""
    elif isinstance(message, Message):
        payload = message.SerializeToString()
    else:
        payload = bytes(message)
    return HEADER.pack(int(event_type), int(icd_version), int(request_id)) + payload


def unpack_header(data: bytes | bytearray | memoryview) -> tuple[int, int, int]:
    """``(event_type, icd_version, request_id)`` from the first 8 bytes of ``data``.

    Raises FrameError if ``data`` is shorter than 8 bytes (the reference backend and the
    frontend both drop such frames).
    """
    if len(data) < HEADER_SIZE:
        raise FrameError(f"frame of {len(data)} bytes is shorter than the {HEADER_SIZE}-byte header")
    event_type, icd_version, request_id = HEADER.unpack_from(data, 0)
    return event_type, icd_version, request_id
