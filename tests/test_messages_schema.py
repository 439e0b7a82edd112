"""The generated schema matches wire_numbers.tsv exactly, in both directions.

Every field's number, type (scalar, enum, message, map key/value) and label, and every
enum value, is compared against the descriptors protoc built; the counts are pinned
(530 fields, 252 enum values) so a silently dropped row fails too.
"""

from __future__ import annotations

import csv
import importlib.util
import pickle
import re

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from carta_trio.messages import generate_protos
from carta_trio.messages import schema as pb

TSV = generate_protos.DEFAULT_TSV
EXPECTED_FIELDS = 530
EXPECTED_ENUM_VALUES = 252

SCALARS = {
    "double": FieldDescriptor.TYPE_DOUBLE,
    "float": FieldDescriptor.TYPE_FLOAT,
    "int32": FieldDescriptor.TYPE_INT32,
    "int64": FieldDescriptor.TYPE_INT64,
    "uint32": FieldDescriptor.TYPE_UINT32,
    "uint64": FieldDescriptor.TYPE_UINT64,
    "sint32": FieldDescriptor.TYPE_SINT32,
    "sint64": FieldDescriptor.TYPE_SINT64,
    "fixed32": FieldDescriptor.TYPE_FIXED32,
    "fixed64": FieldDescriptor.TYPE_FIXED64,
    "sfixed32": FieldDescriptor.TYPE_SFIXED32,
    "sfixed64": FieldDescriptor.TYPE_SFIXED64,
    "bool": FieldDescriptor.TYPE_BOOL,
    "string": FieldDescriptor.TYPE_STRING,
    "bytes": FieldDescriptor.TYPE_BYTES,
}


def tsv_rows(kind: str) -> list[dict[str, str]]:
    assert TSV.is_file(), f"wire_numbers.tsv not found at {TSV} (it ships in messages/)"
    with open(TSV, newline="", encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh, delimiter="\t") if row["kind"] == kind]


def message_descriptor(dotted: str) -> Descriptor:
    return pb.DESCRIPTOR.pool.FindMessageTypeByName(f"CARTA.{dotted}")


def resolve(scope: str, type_name: str) -> str:
    """Full name a proto type reference resolves to from inside message ``scope``
    (innermost scope first, as protoc does)."""
    parts = scope.split(".")
    for depth in range(len(parts), -1, -1):
        candidate = ".".join(["CARTA", *parts[:depth], type_name])
        for finder in (pb.DESCRIPTOR.pool.FindMessageTypeByName, pb.DESCRIPTOR.pool.FindEnumTypeByName):
            try:
                finder(candidate)
            except KeyError:
                continue
            return candidate
    raise AssertionError(f"type {type_name} not resolvable from {scope}")


def check_type(scope: str, field: FieldDescriptor, type_name: str) -> None:
    if type_name in SCALARS:
        assert field.type == SCALARS[type_name], f"{scope}.{field.name}: type {field.type}"
    elif field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type.full_name == resolve(scope, type_name), f"{scope}.{field.name}"
    else:
        assert field.type == FieldDescriptor.TYPE_MESSAGE, f"{scope}.{field.name}: not a message"
        assert field.message_type.full_name == resolve(scope, type_name), f"{scope}.{field.name}"


def is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def test_every_tsv_field_matches_the_descriptor() -> None:
    rows = tsv_rows("field")
    assert len(rows) == EXPECTED_FIELDS
    for row in rows:
        scope, name = row["message_or_enum"], row["name"]
        field = message_descriptor(scope).fields_by_name[name]
        where = f"{scope}.{name}"
        assert field.number == int(row["number"]), where
        map_match = re.fullmatch(r"map<\s*(\w+)\s*,\s*([\w.]+)\s*>", row["type"])
        if map_match:
            assert is_map(field), f"{where} should be a map"
            entry = field.message_type
            check_type(scope, entry.fields_by_name["key"], map_match.group(1))
            check_type(scope, entry.fields_by_name["value"], map_match.group(2))
            assert row["label"] == "", f"{where}: a map has no label"
            continue
        assert not is_map(field), f"{where} should not be a map"
        check_type(scope, field, row["type"])
        assert field.is_repeated == (row["label"] == "repeated"), where
        if field.type != FieldDescriptor.TYPE_MESSAGE and not field.is_repeated:
            # proto3: scalars and enums have explicit presence only when labelled optional
            assert field.has_presence == (row["label"] == "optional"), where
        if field.is_repeated and field.type not in (
            FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES
        ):
            assert field.is_packed, f"{where}: repeated scalars are packed (WIRE.md)"


def all_messages() -> list[Descriptor]:
    out: list[Descriptor] = []

    def walk(desc: Descriptor) -> None:
        if desc.GetOptions().map_entry:
            return
        out.append(desc)
        for nested in desc.nested_types:
            walk(nested)

    for desc in pb.DESCRIPTOR.message_types_by_name.values():
        walk(desc)
    return out


def test_descriptor_has_nothing_beyond_the_tsv() -> None:
    expected = {(r["message_or_enum"], r["name"]) for r in tsv_rows("field")}
    actual = {
        (desc.full_name.removeprefix("CARTA."), field.name)
        for desc in all_messages()
        for field in desc.fields
    }
    assert actual == expected
    assert len(actual) == EXPECTED_FIELDS
    assert pb.DESCRIPTOR.package == "CARTA"


def test_every_enum_value_matches() -> None:
    rows = tsv_rows("enum")
    assert len(rows) == EXPECTED_ENUM_VALUES
    expected = {(r["message_or_enum"], r["name"], int(r["number"])) for r in rows}
    actual = {
        (enum.name, value.name, value.number)
        for enum in pb.DESCRIPTOR.enum_types_by_name.values()
        for value in enum.values
    }
    assert actual == expected
    for enum_name, value_name, number in expected:
        assert pb.ENUMS[enum_name].Value(value_name) == number


def test_schema_exports_every_message_and_enum_by_proto_name() -> None:
    top_level = {r["message_or_enum"].split(".")[0] for r in tsv_rows("field")}
    enums = {r["message_or_enum"] for r in tsv_rows("enum")}
    for name in top_level:
        assert getattr(pb, name).DESCRIPTOR.full_name == f"CARTA.{name}"
    for name in enums:
        assert getattr(pb, name).DESCRIPTOR.full_name == f"CARTA.{name}"
    assert set(pb.MESSAGES) == top_level
    assert set(pb.ENUMS) == enums
    assert pb.EventType.OPEN_FILE_ACK == 21
    assert pb.FileType.FITS == 3
    assert pb.CompressionType.ZFP == 1
    assert pb.ErrorSeverity.ERROR == 3
    assert pb.MomentMask.Value("None") == 0
    config = pb.SetSpatialRequirements.SpatialConfig(coordinate="x", mip=2)
    assert config.DESCRIPTOR.full_name == "CARTA.SetSpatialRequirements.SpatialConfig"
    with pytest.raises(AttributeError, match="NoSuchMessage"):
        pb.NoSuchMessage  # noqa: B018


def test_messages_pickle_by_package_path() -> None:
    """Worker processes receive messages by pickle: the class must be importable."""
    message = pb.SetSpatialRequirements(
        file_id=3, spatial_profiles=[pb.SetSpatialRequirements.SpatialConfig(coordinate="y")]
    )
    assert type(message).__module__ == "carta_trio.messages.carta_icd_pb2"
    assert pickle.loads(pickle.dumps(message)) == message


def test_known_wire_bytes() -> None:
    """Spot-check encodings the frontend depends on: sfixed32 is 4 bytes LE, packed repeated."""
    assert pb.CloseFile(file_id=1).SerializeToString() == bytes.fromhex("0d01000000")
    tiles = pb.AddRequiredTiles(file_id=0, tiles=[1, 2])
    assert tiles.SerializeToString() == bytes.fromhex("12080100000002000000")


def test_generator_renders_icd_descriptions() -> None:
    proto = (generate_protos.MESSAGES_DIR / "proto" / generate_protos.PROTO_NAME).read_text()
    assert 'syntax = "proto3";' in proto and "package CARTA;" in proto
    # a description from the ICD reference, with the rst role stripped
    assert "// Which file slot the animation describes." in proto
    assert ":carta:" not in proto
    assert "  map<sfixed32, MatchedFrameList> matched_frames = 10;" in proto


@pytest.mark.skipif(
    importlib.util.find_spec("grpc_tools") is None,
    reason="grpc_tools (grpcio-tools, test extra) not installed: cannot regenerate to compare",
)
def test_committed_generated_files_are_up_to_date() -> None:
    assert generate_protos.check(TSV) == [], (
        "run: python3 -m carta_trio.messages.generate_protos"
    )


def test_wire_table_ships_inside_the_package() -> None:
    """A plain clone (no ../shared beside it) has the table the schema is generated from."""
    assert TSV.parent == generate_protos.MESSAGES_DIR and TSV.is_file()


@pytest.mark.skipif(
    importlib.util.find_spec("grpc_tools") is None,
    reason="grpc_tools (grpcio-tools, test extra) not installed: cannot regenerate to compare",
)
def test_check_passes_without_the_icd_text(tmp_path) -> None:
    """Without the ICD text only the proto's comments are unknown; everything else compares."""
    assert generate_protos.check(TSV, tmp_path / "no-icd-here") == []
