"""Every ICD 28.13.0 message class and enum by its proto name (package ``CARTA``).

Use as ``from carta_trio.messages import schema as pb``::

    pb.RegisterViewerAck(session_id=1, success=True)
    pb.EventType.OPEN_FILE_ACK            # int value 21
    pb.FileType.FITS
    pb.SetSpatialRequirements.SpatialConfig(coordinate="x")

Messages are protobuf classes, enums are ``EnumTypeWrapper`` objects (``pb.FileType.Name(3)``,
``pb.FileType.Value("FITS")``). Enum *values* are deliberately not exported at module
level: proto3 puts them in the package scope, where names such as ``None``
(``MomentMask.None``), ``X`` or ``Image`` would be confusing. Access a value whose name is
a Python keyword with ``pb.MomentMask.Value("None")``.

The classes come from the generated ``carta_icd_pb2`` (see ``generate_protos``).
"""

from __future__ import annotations

from google.protobuf.descriptor import FileDescriptor
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from google.protobuf.message import Message

from carta_trio.messages import carta_icd_pb2 as _pb2

#: The protobuf file descriptor holding the whole schema.
DESCRIPTOR: FileDescriptor = _pb2.DESCRIPTOR
#: The proto package of every message and enum.
PROTO_PACKAGE = "CARTA"

#: Top-level message classes by proto name (nested ones hang off their outer class).
MESSAGES: dict[str, type[Message]] = {
    name: getattr(_pb2, name) for name in sorted(DESCRIPTOR.message_types_by_name)
}
#: Top-level enums by proto name.
ENUMS: dict[str, EnumTypeWrapper] = {
    name: getattr(_pb2, name) for name in sorted(DESCRIPTOR.enum_types_by_name)
}

globals().update(MESSAGES)
globals().update(ENUMS)

__all__ = ["DESCRIPTOR", "ENUMS", "MESSAGES", "PROTO_PACKAGE", *MESSAGES, *ENUMS]


def __getattr__(name: str) -> object:
    """Clear error for names that are not part of the ICD schema."""
    raise AttributeError(f"CARTA ICD schema has no message or enum named {name!r}")
