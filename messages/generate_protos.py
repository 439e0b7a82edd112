"""Generate the ICD 28.13.0 proto3 schema and its Python module from ``wire_numbers.tsv``.

The ICD text gives names and descriptions but not field numbers; ``wire_numbers.tsv``
(shared spec) holds the wire facts: every field's number, type and label and every enum
value. This script turns those rows into one proto3 file (package ``CARTA``) at
``messages/proto/carta_icd.proto``, with sections in the upstream file order
(``control/animation.proto``, ..., ``shared/enums.proto``) and, when the ICD message
reference (``000_*.txt`` in ``--icd-dir``) is present, its descriptions as comments.
It then runs ``grpc_tools.protoc`` to write ``messages/carta_icd_pb2.py`` (+ ``.pyi``)
and writes ``messages/schema.pyi``, the static view of ``schema.py``'s re-exports.

One file rather than the upstream split because the Python modules must live flat in
``carta_trio.messages`` (no subpackages) and a single module has no cross-module imports
to rewrite. Output is deterministic: files sorted by path, messages and enums in TSV
order within their file, fields and enum values sorted by number.

Usage::

    python3 -m carta_trio.messages.generate_protos [--tsv PATH] [--icd-dir DIR] [--check]

``--tsv`` defaults to ``messages/wire_numbers.tsv`` (in the package). ``--icd-dir`` defaults to
``<repo>/../shared/icd``; without the ICD text there, ``--check`` compares the proto with its
comment lines left out (the comments are the only thing the text contributes). ``--check``
regenerates into a temporary directory and exits 1 if the committed files differ.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import logging
import re
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MESSAGES_DIR = Path(__file__).resolve().parent
REPO_DIR = MESSAGES_DIR.parent
#: The wire table lives in the package (a plain clone regenerates and tests without ../shared).
DEFAULT_TSV = MESSAGES_DIR / "wire_numbers.tsv"
#: The ICD message reference (``000_*.txt``), optional: only the proto comments come from it.
DEFAULT_ICD_DIR = REPO_DIR.parent / "shared" / "icd"
PROTO_NAME = "carta_icd.proto"
MODULE_STEM = "carta_icd_pb2"
PACKAGE = "carta_trio.messages"
ICD_VERSION_STRING = "28.13.0"
#: Paths (relative to ``messages/``) this script owns and ``--check`` compares.
GENERATED_FILES = (
    f"proto/{PROTO_NAME}",
    f"{MODULE_STEM}.py",
    f"{MODULE_STEM}.pyi",
    "schema.pyi",
)

SCALAR_TYPES = frozenset(
    "double float int32 int64 uint32 uint64 sint32 sint64 "
    "fixed32 fixed64 sfixed32 sfixed64 bool string bytes".split()
)


@dataclass
class FieldRow:
    name: str
    number: int
    type: str
    label: str


@dataclass
class MessageDef:
    name: str  # possibly dotted, e.g. "SetSpatialRequirements.SpatialConfig"
    source_file: str
    fields: list[FieldRow] = field(default_factory=list)


@dataclass
class EnumDef:
    name: str
    source_file: str
    values: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Schema:
    messages: dict[str, MessageDef]
    enums: dict[str, EnumDef]


def read_tsv(path: Path) -> Schema:
    """Parse ``wire_numbers.tsv`` into message and enum definitions (TSV order kept)."""
    messages: dict[str, MessageDef] = {}
    enums: dict[str, EnumDef] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            kind, src, owner = row["kind"], row["source_file"], row["message_or_enum"]
            if kind == "field":
                msg = messages.setdefault(owner, MessageDef(owner, src))
                msg.fields.append(
                    FieldRow(row["name"], int(row["number"]), row["type"], row["label"] or "")
                )
            elif kind == "enum":
                enum = enums.setdefault(owner, EnumDef(owner, src))
                enum.values.append((row["name"], int(row["number"])))
            else:
                raise ValueError(f"{path}: unknown row kind {kind!r}")
    # A nested message with no fields would be missing; make sure every outer exists.
    for name in list(messages):
        parts = name.split(".")
        for i in range(1, len(parts)):
            outer = ".".join(parts[:i])
            messages.setdefault(outer, MessageDef(outer, messages[name].source_file))
    return Schema(messages, enums)


# --------------------------------------------------------------------------- ICD text


@dataclass
class DocEntry:
    description: str
    fields: dict[str, str]


def read_icd_docs(icd_dir: Path) -> dict[tuple[str, str], DocEntry]:
    """Message and field descriptions from the ICD message reference, keyed by
    (source_file, unqualified message name). Empty if the reference is absent."""
    docs: dict[tuple[str, str], DocEntry] = {}
    candidates = sorted(icd_dir.glob("000_*.txt"))
    if not candidates:
        return docs
    text = candidates[0].read_text(encoding="utf-8")
    for section in re.split(r"^\.\. carta:class::.*$", text, flags=re.M)[1:]:
        lines = section.splitlines()
        src_idx = next((i for i, ln in enumerate(lines) if ln.startswith("Source file:")), None)
        if src_idx is None or src_idx < 2:
            continue
        name = lines[src_idx - 3].strip() if lines[src_idx - 2].startswith("~") else ""
        src = re.search(r"`([\w/]+\.proto) <", lines[src_idx])
        if not name or not src:
            continue
        table = next((i for i, ln in enumerate(lines) if ln.startswith(".. list-table")), len(lines))
        desc = " ".join(ln.strip() for ln in lines[src_idx + 1 : table] if ln.strip())
        fields: dict[str, str] = {}
        cells: list[str] = []
        for ln in lines[table:]:
            if ln.startswith("   * - "):
                cells = [ln[7:]]
            elif ln.startswith("     - ") or ln.rstrip() == "     -":
                cells.append(ln[7:])
                if len(cells) == 4 and cells[0] != "Field":
                    fields[cells[0].strip()] = cells[3].strip()
            elif ln.startswith("       ") and len(cells) == 4 and cells[0] != "Field":
                fields[cells[0].strip()] += " " + ln.strip()
        docs[(src.group(1), name)] = DocEntry(desc, fields)
    return docs


# --------------------------------------------------------------------------- rendering


def _comment(text: str, indent: str, width: int = 96) -> list[str]:
    text = re.sub(r":carta:refc?:`([^`]*)`", r"\1", text)
    words, out, line = text.split(), [], ""
    for w in words:
        if line and len(indent) + 3 + len(line) + 1 + len(w) > width:
            out.append(f"{indent}// {line}")
            line = w
        else:
            line = f"{line} {w}" if line else w
    if line:
        out.append(f"{indent}// {line}")
    return out


def _field_type(ftype: str) -> str:
    m = re.fullmatch(r"map<\s*(\w+)\s*,\s*([\w.]+)\s*>", ftype)
    if m:
        return f"map<{m.group(1)}, {m.group(2)}>"
    return ftype


def render_proto(schema: Schema, docs: dict[tuple[str, str], DocEntry]) -> str:
    """The whole proto3 source text, deterministic for a given schema."""
    by_file: dict[str, list[str]] = defaultdict(list)
    for name, msg in schema.messages.items():
        if "." not in name:
            by_file[msg.source_file].append(name)
    enums_by_file: dict[str, list[str]] = defaultdict(list)
    for name, enum in schema.enums.items():
        enums_by_file[enum.source_file].append(name)
    children: dict[str, list[str]] = defaultdict(list)
    for name in schema.messages:
        if "." in name:
            children[name.rsplit(".", 1)[0]].append(name)

    def render_message(name: str, indent: str) -> list[str]:
        msg = schema.messages[name]
        short = name.rsplit(".", 1)[-1]
        doc = docs.get((msg.source_file, short))
        out: list[str] = []
        if doc and doc.description:
            out += _comment(doc.description, indent)
        out.append(f"{indent}message {short} {{")
        for child in children.get(name, []):
            out += render_message(child, indent + "  ")
        for f in sorted(msg.fields, key=lambda f: f.number):
            fdoc = doc.fields.get(f.name, "") if doc else ""
            if fdoc:
                out += _comment(fdoc, indent + "  ")
            label = f"{f.label} " if f.label and not f.type.startswith("map<") else ""
            out.append(f"{indent}  {label}{_field_type(f.type)} {f.name} = {f.number};")
        out.append(f"{indent}}}")
        out.append("")
        return out

    out = [
        "// GENERATED by carta_trio.messages.generate_protos from wire_numbers.tsv: do not edit.",
        f"// CARTA Interface Control Document {ICD_VERSION_STRING}, all upstream files in one.",
        'syntax = "proto3";',
        "",
        "package CARTA;",
        "",
    ]
    for src in sorted(set(by_file) | set(enums_by_file)):
        out += [f"// ===== {src} =====", ""]
        for name in by_file.get(src, []):
            out += render_message(name, "")
        for name in enums_by_file.get(src, []):
            out.append(f"enum {name} {{")
            for vname, number in sorted(schema.enums[name].values, key=lambda v: v[1]):
                out.append(f"  {vname} = {number};")
            out += ["}", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def render_schema_stub(schema: Schema) -> str:
    """``schema.pyi``: static names for ``schema.py``'s dynamic re-exports (IDEs, mypy)."""
    names = sorted({n for n in schema.messages if "." not in n} | set(schema.enums))
    out = [
        "# GENERATED by carta_trio.messages.generate_protos: do not edit.",
        "from google.protobuf.descriptor import FileDescriptor",
        "from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper",
        "from google.protobuf.message import Message",
        "",
        f"from {PACKAGE}.{MODULE_STEM} import (",
        *(f"    {n} as {n}," for n in names),
        ")",
        "",
        "DESCRIPTOR: FileDescriptor",
        "PROTO_PACKAGE: str",
        "MESSAGES: dict[str, type[Message]]",
        "ENUMS: dict[str, EnumTypeWrapper]",
    ]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- protoc


#: An enum-typed constructor argument in protoc's stub (message fields are ``_Union[X, _Mapping]``).
_ENUM_ARGUMENT = re.compile(r"_Union\[(\w+), str\]")


def run_protoc(proto_dir: Path, out_dir: Path) -> None:
    """Compile ``proto_dir/carta_icd.proto`` into ``out_dir`` with grpc_tools.protoc."""
    from grpc_tools import protoc  # imported late: only the generator needs grpcio-tools

    args = [
        "grpc_tools.protoc",
        f"-I{proto_dir}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        str(proto_dir / PROTO_NAME),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {proto_dir / PROTO_NAME}")
    # protoc names the module after the proto path ('carta_icd_pb2'); the classes'
    # __module__ must be the importable package path so that messages pickle (worker
    # processes) and reprs point at the right place.
    module = out_dir / f"{MODULE_STEM}.py"
    text = module.read_text(encoding="utf-8")
    old = f"(DESCRIPTOR, '{MODULE_STEM}', _globals)"
    if old not in text:
        raise RuntimeError(f"unexpected protoc output in {module}: {old} not found")
    module.write_text(text.replace(old, f"(DESCRIPTOR, '{PACKAGE}.{MODULE_STEM}', _globals)"))
    # An enum value named ``None`` (MomentMask.None) is valid protobuf but not a valid
    # stub declaration; type checkers refuse the whole file. Such values stay reachable
    # as ``MomentMask.Value("None")``.
    stub = out_dir / f"{MODULE_STEM}.pyi"
    lines = stub.read_text(encoding="utf-8").splitlines(keepends=True)
    text = "".join(ln for ln in lines if not ln.lstrip().startswith("None: "))
    # protoc's stub lets an enum field's constructor argument be the enum class or a value
    # name; protobuf also takes the plain int (proto3 enums are open, and the wire and our
    # analysis code carry numbers), so say so: ``_Union[X, str]`` is only ever an enum.
    stub.write_text(_ENUM_ARGUMENT.sub(r"_Union[\1, int, str]", text), encoding="utf-8")


def generate(tsv: Path, out_dir: Path, icd_dir: Path = DEFAULT_ICD_DIR) -> list[Path]:
    """Write the proto file and the generated Python modules under ``out_dir``."""
    schema = read_tsv(tsv)
    docs = read_icd_docs(icd_dir) if icd_dir.is_dir() else {}
    proto_dir = out_dir / "proto"
    proto_dir.mkdir(parents=True, exist_ok=True)
    (proto_dir / PROTO_NAME).write_text(render_proto(schema, docs), encoding="utf-8")
    run_protoc(proto_dir, out_dir)
    (out_dir / "schema.pyi").write_text(render_schema_stub(schema), encoding="utf-8")
    return [out_dir / rel for rel in GENERATED_FILES]


def _without_comments(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.lstrip().startswith("//")]


def check(tsv: Path, icd_dir: Path = DEFAULT_ICD_DIR) -> list[str]:
    """Regenerate in a temporary directory; return the committed files that differ.

    Without the ICD text the proto's comment lines are left out of the comparison."""
    has_docs = icd_dir.is_dir() and any(icd_dir.glob("000_*.txt"))
    with tempfile.TemporaryDirectory() as tmp:
        generate(tsv, Path(tmp), icd_dir)
        stale = []
        for rel in GENERATED_FILES:
            fresh, committed = Path(tmp) / rel, MESSAGES_DIR / rel
            if not committed.exists():
                stale.append(rel)
            elif rel.endswith(".proto") and not has_docs:
                if _without_comments(fresh) != _without_comments(committed):
                    stale.append(rel)
            elif not filecmp.cmp(fresh, committed, shallow=False):
                stale.append(rel)
        return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tsv", type=Path, default=DEFAULT_TSV, help="wire_numbers.tsv path")
    parser.add_argument(
        "--icd-dir", type=Path, default=DEFAULT_ICD_DIR, help="folder with the ICD text (optional)"
    )
    parser.add_argument(
        "--check", action="store_true", help="fail if the committed files are out of date"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.check:
        stale = check(args.tsv, args.icd_dir)
        for rel in stale:
            log.error("out of date: messages/%s", rel)
        if not stale:
            log.info("generated files are up to date")
        return 1 if stale else 0
    if not args.icd_dir.is_dir():
        log.warning("no ICD text in %s: the proto is written without descriptions", args.icd_dir)
    for path in generate(args.tsv, MESSAGES_DIR, args.icd_dir):
        log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
