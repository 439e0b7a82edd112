"""The 8-byte header, the EventType <-> class registry and frame decoding errors."""

from __future__ import annotations

import csv
import struct

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from carta_trio.messages import framing, generate_protos, registry
from carta_trio.messages import schema as pb


def event_type_rows() -> list[tuple[str, int]]:
    with open(generate_protos.DEFAULT_TSV, newline="", encoding="utf-8") as fh:
        return [
            (row["name"], int(row["number"]))
            for row in csv.DictReader(fh, delimiter="\t")
            if row["kind"] == "enum" and row["message_or_enum"] == "EventType"
        ]


# --------------------------------------------------------------------------- header


def test_worked_examples_from_wire_md() -> None:
    ack = pb.RegisterViewerAck(session_id=7, success=True)
    frame = framing.pack_frame(pb.EventType.REGISTER_VIEWER_ACK, 1, ack)
    assert frame[:8] == bytes([0x12, 0x00, 0x1C, 0x00, 0x01, 0x00, 0x00, 0x00])
    assert frame[8:] == ack.SerializeToString()
    tile = framing.pack_frame(pb.EventType.RASTER_TILE_DATA, 0, pb.RasterTileData(file_id=1))
    assert tile[:8] == bytes.fromhex("20001c0000000000")


def test_header_layout_is_little_endian_u16_u16_u32() -> None:
    frame = framing.pack_frame(0x1234, 0xA1B2C3D4, b"xyz", icd_version=0x0506)
    assert frame == bytes([0x34, 0x12, 0x06, 0x05, 0xD4, 0xC3, 0xB2, 0xA1]) + b"xyz"
    assert framing.unpack_header(frame) == (0x1234, 0x0506, 0xA1B2C3D4)
    assert framing.HEADER_SIZE == 8 and framing.ICD_VERSION == 28
    assert framing.pack_frame(pb.EventType.CLOSE_FILE, 3) == struct.pack("<HHI", 13, 28, 3)


def test_unpack_header_reads_only_the_header() -> None:
    frame = framing.pack_frame(pb.EventType.OPEN_FILE, 0xFFFF_FFFF, pb.OpenFile(file="a.fits"))
    assert framing.unpack_header(memoryview(frame)) == (4, 28, 0xFFFF_FFFF)
    assert framing.unpack_header(bytearray(frame[:8])) == (4, 28, 0xFFFF_FFFF)


@pytest.mark.parametrize("size", range(8))
def test_short_frames_raise_frame_error(size: int) -> None:
    with pytest.raises(framing.FrameError, match=f"{size} bytes"):
        framing.unpack_header(b"\x01" * size)
    with pytest.raises(registry.DecodeError):
        registry.decode_frame(b"\x01" * size)


@pytest.mark.parametrize(
    "args", [(-1, 0), (0x1_0000, 0), (1, -1), (1, 0x1_0000_0000)], ids=str
)
def test_pack_frame_rejects_values_that_do_not_fit(args: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        framing.pack_frame(*args)


# --------------------------------------------------------------------------- registry


def test_registry_covers_every_event_type_in_the_tsv() -> None:
    rows = event_type_rows()
    assert len(rows) == len(pb.EventType.DESCRIPTOR.values) == 78
    classes = set()
    for name, number in rows:
        cls = registry.message_class(number)
        if name == "EMPTY_EVENT":
            assert cls is None
            continue
        assert cls is not None, name
        expected = "".join(part.capitalize() for part in name.split("_"))
        if name == "FILE_LIST_PROGRESS":
            expected = "ListProgress"  # the one irregular name (FE BackendService decoder map)
        assert cls.__name__ == expected
        assert cls is getattr(pb, expected)
        assert registry.event_type_of(cls) == number
        assert registry.event_type_of(cls()) == number
        classes.add(cls)
    assert len(classes) == 77


def test_unknown_lookups() -> None:
    assert registry.message_class(pb.EventType.EMPTY_EVENT) is None
    assert registry.message_class(5) is None  # SET_IMAGE_VIEW, removed before ICD 28
    assert registry.message_class(4242) is None
    with pytest.raises(TypeError, match="Point"):
        registry.event_type_of(pb.Point)
    with pytest.raises(TypeError, match="SpatialConfig"):
        registry.event_type_of(pb.SetSpatialRequirements.SpatialConfig())


def filled(cls: type[Message]) -> Message:
    """An instance with every singular scalar/enum field set to a non-default value."""
    sample = {
        FieldDescriptor.TYPE_BOOL: True,
        FieldDescriptor.TYPE_STRING: "s\u00e9",
        FieldDescriptor.TYPE_BYTES: b"\x00\xff",
        FieldDescriptor.TYPE_FLOAT: 1.5,
        FieldDescriptor.TYPE_DOUBLE: -2.25,
        FieldDescriptor.TYPE_ENUM: 1,
    }
    message = cls()
    for field in cls.DESCRIPTOR.fields:
        if field.is_repeated or field.type == FieldDescriptor.TYPE_MESSAGE:
            continue
        value = sample.get(field.type, 7)
        if field.type == FieldDescriptor.TYPE_ENUM and len(field.enum_type.values) < 2:
            continue
        setattr(message, field.name, value)
    return message


@pytest.mark.parametrize(
    "event_type", [v.number for v in pb.EventType.DESCRIPTOR.values if v.number], ids=str
)
def test_every_event_type_round_trips(event_type: int) -> None:
    cls = registry.message_class(event_type)
    assert cls is not None
    for message in (cls(), filled(cls)):
        frame = registry.encode_frame(message, request_id=9)
        assert frame[:8] == struct.pack("<HHI", event_type, 28, 9)
        envelope = registry.decode_frame(frame)
        assert envelope == registry.Envelope(event_type, 28, 9, message)
        assert type(envelope.message) is cls
        assert envelope.name == pb.EventType.Name(event_type)


def test_decode_reports_header_version_unchanged() -> None:
    frame = framing.pack_frame(pb.EventType.REGISTER_VIEWER, 1, pb.RegisterViewer(), icd_version=27)
    assert registry.decode_frame(frame).icd_version == 27


def test_decode_empty_event_and_unknown_types() -> None:
    with pytest.raises(registry.UnknownEventType, match="EMPTY_EVENT") as info:
        registry.decode_frame(framing.pack_frame(0, 4))
    assert (info.value.event_type, info.value.request_id) == (0, 4)
    for unknown in (5, 24, 73, 88, 0xFFFF):
        with pytest.raises(registry.UnknownEventType, match=f"unknown event type {unknown}") as info:
            registry.decode_frame(framing.pack_frame(unknown, 2, b"\x08\x01"))
        assert info.value.event_type == unknown
        assert isinstance(info.value, registry.DecodeError)


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff",  # field number 0 / truncated varint tag
        b"\x0a\x05ab",  # length-delimited field longer than the payload
        b"\x12\x02\xc3\x28",  # api_key (string) that is not valid UTF-8
        b"\x0d\x01\x00",  # fixed32 session_id cut short
    ],
    ids=["bad-tag", "overlong", "bad-utf8", "short-fixed32"],
)
def test_decode_malformed_payload(payload: bytes) -> None:
    frame = framing.pack_frame(pb.EventType.REGISTER_VIEWER, 6, payload)
    with pytest.raises(registry.MalformedPayload, match="REGISTER_VIEWER") as info:
        registry.decode_frame(frame)
    assert (info.value.event_type, info.value.request_id) == (1, 6)
    assert isinstance(info.value, registry.DecodeError)
    assert not isinstance(info.value, registry.UnknownEventType)


def test_error_classes_are_distinct() -> None:
    assert issubclass(framing.FrameError, framing.DecodeError)
    assert registry.DecodeError is framing.DecodeError
    for cls in (registry.UnknownEventType, registry.MalformedPayload, framing.FrameError):
        assert issubclass(cls, ValueError)
    assert not issubclass(registry.MalformedPayload, framing.FrameError)


def test_response_types_pair_requests_with_replies() -> None:
    E = pb.EventType
    assert registry.response_type(E.REGISTER_VIEWER) == E.REGISTER_VIEWER_ACK
    assert registry.response_type(E.FILE_LIST_REQUEST) == E.FILE_LIST_RESPONSE
    assert registry.response_type(E.OPEN_FILE) == E.OPEN_FILE_ACK
    assert registry.response_type(E.PV_REQUEST) == E.PV_RESPONSE
    assert registry.response_type(E.CONCAT_STOKES_FILES) == E.CONCAT_STOKES_FILES_ACK
    assert registry.response_type(E.CLOSE_FILE) is None
    assert registry.response_type(E.SET_IMAGE_CHANNELS) is None
    assert len(registry.RESPONSES) == 21


def test_frontend_decodes_only_registered_types() -> None:
    assert len(registry.FRONTEND_DECODES) == 35
    for event_type in registry.FRONTEND_DECODES:
        assert registry.message_class(event_type) is not None
    assert pb.EventType.FILE_LIST_PROGRESS in registry.FRONTEND_DECODES
    assert pb.EventType.OPEN_FILE not in registry.FRONTEND_DECODES
