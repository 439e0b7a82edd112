"""EventType <-> message class, and decoding whole frames into envelopes.

Every ``CARTA.EventType`` value except ``EMPTY_EVENT`` (0) carries exactly one message
class. The class name is the event name in CamelCase (``REGISTER_VIEWER_ACK`` ->
``RegisterViewerAck``, ``PV_REQUEST`` -> ``PvRequest``) with one irregular case:
``FILE_LIST_PROGRESS`` carries ``ListProgress`` (FE ``BackendService.ts`` decoder map;
BE ``Session::OnFileListRequest`` sends a ``CARTA::ListProgress`` under that type).
The map is built and checked for completeness at import time.
"""

from __future__ import annotations

from typing import NamedTuple

from google.protobuf import message as _pb_message
from google.protobuf.message import Message

from carta_trio.messages import schema as pb
from carta_trio.messages.framing import (
    HEADER_SIZE,
    DecodeError,
    FrameError,
    pack_frame,
    unpack_header,
)

__all__ = [
    "DecodeError",
    "Envelope",
    "FrameError",
    "FRONTEND_DECODES",
    "MalformedPayload",
    "UnknownEventType",
    "decode_frame",
    "encode_frame",
    "event_type_of",
    "message_class",
    "response_type",
]

#: Event types whose message class is not the CamelCase of the event name.
IRREGULAR_NAMES: dict[str, str] = {"FILE_LIST_PROGRESS": "ListProgress"}


class UnknownEventType(DecodeError):
    """The header names an event type with no message class (unknown value or EMPTY_EVENT)."""

    def __init__(self, event_type: int, request_id: int) -> None:
        self.event_type = event_type
        self.request_id = request_id
        if event_type == pb.EventType.EMPTY_EVENT:
            what = "EMPTY_EVENT (0) carries no message"
        else:
            what = f"unknown event type {event_type}"
        super().__init__(f"{what} (request id {request_id})")


class MalformedPayload(DecodeError):
    """The payload does not parse as the event type's message class."""

    def __init__(self, event_type: int, request_id: int, detail: str) -> None:
        self.event_type = event_type
        self.request_id = request_id
        name = pb.EventType.Name(event_type)
        super().__init__(f"payload of {name} (request id {request_id}) does not parse: {detail}")


class Envelope(NamedTuple):
    """One decoded frame: the header fields and the parsed message."""

    event_type: int
    icd_version: int
    request_id: int
    message: Message

    @property
    def name(self) -> str:
        """The event type's enum name, e.g. ``"OPEN_FILE_ACK"``."""
        return str(pb.EventType.Name(self.event_type))


def _class_name(event_name: str) -> str:
    return IRREGULAR_NAMES.get(event_name) or "".join(
        part.capitalize() for part in event_name.split("_")
    )


def _build() -> tuple[dict[int, type[Message]], dict[type[Message], int]]:
    by_type: dict[int, type[Message]] = {}
    for value in pb.EventType.DESCRIPTOR.values:
        if value.number == pb.EventType.EMPTY_EVENT:
            continue
        cls = pb.MESSAGES.get(_class_name(value.name))
        if cls is None:
            raise RuntimeError(f"no message class for EventType.{value.name}")
        by_type[value.number] = cls
    by_class = {cls: number for number, cls in by_type.items()}
    if len(by_class) != len(by_type):
        raise RuntimeError("two event types share a message class")
    return by_type, by_class


_BY_TYPE, _BY_CLASS = _build()

#: Event types the released 4.1.0 frontend decodes (WIRE.md 1.1); send nothing else.
FRONTEND_DECODES: frozenset[int] = frozenset(
    pb.EventType.Value(name)
    for name in (
        "REGISTER_VIEWER_ACK FILE_LIST_RESPONSE REGION_LIST_RESPONSE CATALOG_LIST_RESPONSE "
        "FILE_LIST_PROGRESS FILE_INFO_RESPONSE REGION_FILE_INFO_RESPONSE "
        "CATALOG_FILE_INFO_RESPONSE OPEN_FILE_ACK SAVE_FILE_ACK OPEN_CATALOG_FILE_ACK "
        "IMPORT_REGION_ACK EXPORT_REGION_ACK SET_REGION_ACK RESUME_SESSION_ACK "
        "START_ANIMATION_ACK RASTER_TILE_DATA RASTER_TILE_SYNC REGION_HISTOGRAM_DATA ERROR_DATA "
        "SPATIAL_PROFILE_DATA SPECTRAL_PROFILE_DATA REGION_STATS_DATA CONTOUR_IMAGE_DATA "
        "CATALOG_FILTER_RESPONSE MOMENT_PROGRESS MOMENT_RESPONSE SCRIPTING_REQUEST "
        "CONCAT_STOKES_FILES_ACK PV_PROGRESS PV_RESPONSE FITTING_PROGRESS FITTING_RESPONSE "
        "VECTOR_OVERLAY_TILE_DATA PV_PREVIEW_DATA"
    ).split()
)


def _build_responses() -> dict[int, int]:
    names = {v.name for v in pb.EventType.DESCRIPTOR.values}
    pairs: dict[int, int] = {}
    for name in names:
        if name.endswith("_REQUEST"):
            reply = name[: -len("_REQUEST")] + "_RESPONSE"
        else:
            reply = name + "_ACK"
        # SCRIPTING_REQUEST goes backend -> frontend; its RESPONSE comes back, still a pair.
        if reply in names:
            pairs[pb.EventType.Value(name)] = pb.EventType.Value(reply)
    return pairs


#: Request event type -> the event type of its reply (``OPEN_FILE`` -> ``OPEN_FILE_ACK``,
#: ``FILE_LIST_REQUEST`` -> ``FILE_LIST_RESPONSE``); the reply echoes the request id.
RESPONSES: dict[int, int] = _build_responses()


def response_type(event_type: int) -> int | None:
    """The reply event type for a request type, or None if the message has no reply."""
    return RESPONSES.get(int(event_type))


def message_class(event_type: int) -> type[Message] | None:
    """The message class carried by ``event_type``; None for EMPTY_EVENT and unknown values."""
    return _BY_TYPE.get(int(event_type))


def event_type_of(msg_or_cls: Message | type[Message]) -> int:
    """The EventType value that carries this message (instance or class).

    Raises TypeError for classes that are never sent on their own (``pb.Point``, ...).
    """
    cls = msg_or_cls if isinstance(msg_or_cls, type) else type(msg_or_cls)
    try:
        return _BY_CLASS[cls]
    except KeyError:
        raise TypeError(f"{cls.__name__} is not carried by any CARTA EventType") from None


def encode_frame(message: Message, request_id: int = 0) -> bytes:
    """``pack_frame`` with the event type looked up from the message's class."""
    return pack_frame(event_type_of(message), request_id, message)


def decode_frame(data: bytes | bytearray | memoryview) -> Envelope:
    """Parse one binary WebSocket frame.

    Raises (all subclasses of DecodeError): FrameError if shorter than the 8-byte header,
    UnknownEventType for EMPTY_EVENT or a type without a class, MalformedPayload if the
    payload does not parse. The ICD version is returned, not checked: only
    REGISTER_VIEWER's version matters (WIRE.md 1.2) and the session decides.
    """
    event_type, icd_version, request_id = unpack_header(data)
    cls = _BY_TYPE.get(event_type)
    if cls is None:
        raise UnknownEventType(event_type, request_id)
    message = cls()
    try:
        message.ParseFromString(bytes(memoryview(data)[HEADER_SIZE:]))
    except _pb_message.DecodeError as exc:
        raise MalformedPayload(event_type, request_id, str(exc) or type(exc).__name__) from exc
    return Envelope(event_type, icd_version, request_id, message)
