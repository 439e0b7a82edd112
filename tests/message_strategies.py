"""Hypothesis strategies for every client-to-server ICD message, built from the descriptors.

Each field gets a strategy from its protobuf type, biased towards what breaks servers:
int32 bounds and off-by-ones, NaN and infinities, unknown enum values, NUL bytes,
over-long and escaping path names, empty and oversized repeated fields. Fields named
like ids (``file_id``, ``region_id``) mostly take the few values that name something
that exists, so messages reach the code behind the id checks. Used by the fuzz test
(``tests/test_fuzz_messages.py``) and the long run (``bench/bench_fuzz.py``).
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

from carta_trio.actors import dispatch
from carta_trio.messages import registry
from carta_trio.messages import schema as pb

INT32 = (-(2**31), 2**31 - 1)
UINT32 = (0, 2**32 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT64 = (0, 2**64 - 1)

#: Messages the fuzzer sends: every handled client message except REGISTER_VIEWER,
#: which the fuzz harness uses as its ordering barrier.
FUZZED_TYPES: tuple[int, ...] = tuple(sorted(
    et for et in (pb.EventType.Value(n) for n in pb.EventType.keys())
    if dispatch.lookup(et) is not None and et != pb.EventType.REGISTER_VIEWER
    and registry.message_class(et) is not None
))

_NAMES = st.sampled_from([
    "", ".", "..", "../..", "/", "/etc/passwd", "$BASE", "cube.fits", "missing.fits", "a\0b", "x" * 300,
    "é" * 200, "dir/" * 60, "cube.fits/..", "~", "*", "%s%n", "CON", " ",
])
_COORDINATES = st.sampled_from(["", "z", "x", "y", "Iz", "Qz", "Ux", "Vy", "Ptotalz", "Panglez", "Iq", "zz", "\0"])


def _int(bounds: tuple[int, int], name: str) -> st.SearchStrategy[int]:
    lo, hi = bounds
    edges = [v for v in (0, 1, -1, 2, -2, 3, 7, 255, 256, 1000, 2**16, lo, hi, lo + 1, hi - 1, 2**31 - 1, -(2**31),
                         2**31, 2**32 - 1) if lo <= v <= hi]
    if name.endswith("file_id") or name == "group_id":
        ids = [v for v in (0, 0, 0, 1, -1, 2, -1000, 1000) if lo <= v <= hi]
        return st.one_of(st.sampled_from(ids), st.integers(lo, hi))
    if name.endswith("region_id"):
        ids = [v for v in (-2, -1, 0, 1, 1, 2, 3, -100) if lo <= v <= hi]
        return st.one_of(st.sampled_from(ids), st.integers(lo, hi))
    return st.one_of(st.sampled_from(edges), st.integers(max(lo, -100), min(hi, 100)), st.integers(lo, hi))


_FLOATS = st.one_of(
    st.sampled_from([0.0, 1.0, -1.0, 0.5, 10.5, 1e30, -1e30, 1e-30, float("nan"), float("inf"), float("-inf"),
                     2.0**31, -(2.0**31), 3.4e38]),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.floats(-1000, 1000),
)


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    t = field.type
    name = field.name
    if t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
        return _int(INT32, name)
    if t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return _int(UINT32, name)
    if t in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64):
        return _int(INT64, name)
    if t in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return _int(UINT64, name)
    if t in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return _FLOATS
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t == FieldDescriptor.TYPE_ENUM:
        known = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.sampled_from([-1, 99, 2**31 - 1, -(2**31)]))
    if t == FieldDescriptor.TYPE_STRING:
        if name in ("coordinate",):
            return st.one_of(_COORDINATES, st.text(max_size=8))
        return st.one_of(_NAMES, st.text(max_size=40))
    if t == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    raise TypeError(f"unhandled field type {t} of {field.full_name}")


def _field(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key = _scalar(field.message_type.fields_by_name["key"])
        value_field = field.message_type.fields_by_name["value"]
        value = _message_values(value_field.message_type, depth + 1) if value_field.message_type else _scalar(value_field)
        return st.dictionaries(key, value, max_size=3)
    if field.message_type is not None:
        single = _message_values(field.message_type, depth + 1)
    else:
        single = _scalar(field)
    if field.is_repeated:
        return st.one_of(st.lists(single, max_size=4), st.lists(single, min_size=20, max_size=60))
    return single


def _message_values(descriptor: Descriptor, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    if depth > 3:
        return st.just({})
    optional = {f.name: _field(f, depth) for f in descriptor.fields}
    return st.fixed_dictionaries({}, optional=optional)


def _fill(message: Message, values: dict[str, Any]) -> Message:
    descriptor = message.DESCRIPTOR
    for name, value in values.items():
        field = descriptor.fields_by_name[name]
        is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
        if is_map:
            target = getattr(message, name)
            value_field = field.message_type.fields_by_name["value"]
            for k, v in value.items():
                if value_field.message_type is not None:
                    _fill(target[k], v)
                else:
                    target[k] = v
        elif field.is_repeated:
            target = getattr(message, name)
            for item in value:
                if field.message_type is not None:
                    _fill(target.add(), item)
                else:
                    target.append(item)
        elif field.message_type is not None:
            _fill(getattr(message, name), value)
            getattr(message, name).SetInParent()
        else:
            setattr(message, name, value)
    return message


def message_of(event_type: int) -> st.SearchStrategy[Message]:
    """Messages of one event type."""
    cls = registry.message_class(event_type)
    assert cls is not None
    return _message_values(cls.DESCRIPTOR, 0).map(lambda values: _fill(cls(), values))


def any_message() -> st.SearchStrategy[Message]:
    """A message of any fuzzed event type."""
    return st.sampled_from(FUZZED_TYPES).flatmap(message_of)
