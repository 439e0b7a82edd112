"""OPEN_FILE with ``lel_expr=true``: image expressions in casacore's LEL, evaluated per plane.

The frontend sends the expression in ``file`` and the browser's folder in ``directory``
(FILES_REGIONS_CATALOGS.md §4): ``"a.fits" - "b.fits"``, ``sqrt(abs("x.im"))``,
``AMPLITUDE("c.im")``, ``"a.fits"["a.fits" > 0]``... casacore parses and evaluates it
(python-casacore's ``images.image(expression)``); reading a box evaluates only that box,
so a plane or a spectrum never touches the rest of the cube.

Before casacore sees the expression every image it names is found and checked here:

* names are the quoted strings (``"..."``/``'...'``) and the bare names that are not a
  function call, a number or the constants ``T``/``F``; each is resolved against the
  request's directory inside the top folder (:func:`carta_trio.io.paths.resolve_inside`),
  so ``'../other/x.im'`` works below the top and anything outside is refused
  (``Forbidden path in image expression: '<name>'``);
* a name that is no file gets casacore's own message ``ImageExprParse: '<name>' is an
  unknown lattice or image or it is an unqualified region``;
* HDF5 images are refused (``Image expressions over HDF5 files are not supported:
  '<name>'``): casacore cannot read the IDIA schema and we do not evaluate LEL ourselves;
* ``$`` outside quotes is refused: python-casacore would substitute Python variables.

The checked names are replaced by their absolute paths (casacore resolves relative names
against the process's working folder, not the request's); casacore's messages are
mapped back to the names as written, and the python-casacore wrapper text is removed,
so syntax errors read as the reference's (``Image Expression: Parse error at or near
...``, ``Scanned so far: ...``). Everything here is blocking.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

from carta_trio.io import images, paths
from carta_trio.io.casa_reader import CASA_FILE_TYPE, CasaReader
from carta_trio.io.image_reader import ImageOpenError

__all__ = [
    "ExpressionError",
    "ExpressionReader",
    "NameRef",
    "find_names",
    "open_expression",
    "resolve_expression",
]

UNKNOWN_IMAGE = "ImageExprParse: '{}' is an unknown lattice or image or it is an unqualified region"
_CONSTANTS = {"T", "F"}
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[A-Za-z]*")
_BARE = re.compile(r"[A-Za-z_~.][A-Za-z0-9_./~]*")
_WRAPPER = "(expression): "


class ExpressionError(ImageOpenError):
    """The expression cannot be opened; ``str(exc)`` is the OPEN_FILE_ACK message."""


@dataclass(frozen=True)
class NameRef:
    """An image name in an expression: its text span, the name and whether quoted."""

    start: int
    end: int
    name: str
    quoted: bool


def find_names(expression: str) -> list[NameRef]:
    """The image names of ``expression`` in order (see the module docstring).

    Raises :class:`ExpressionError` for ``$`` outside quotes. Unterminated quotes and
    other syntax errors are left for casacore to report.
    """
    out: list[NameRef] = []
    i, n = 0, len(expression)
    while i < n:
        ch = expression[i]
        if ch in "\"'":
            end = expression.find(ch, i + 1)
            if end < 0:
                break  # casacore reports the unterminated string
            out.append(NameRef(i, end + 1, expression[i + 1:end], True))
            i = end + 1
            continue
        if ch == "$":
            raise ExpressionError("Variables ($) are not allowed in image expressions")
        if ch.isdigit() or (ch == "." and i + 1 < n and expression[i + 1].isdigit()):
            match = _NUMBER.match(expression, i)
            i = match.end() if match else i + 1
            continue
        match = _BARE.match(expression, i)
        if match is None:
            i += 1
            continue
        name = match.group(0)
        after = expression[match.end():].lstrip()
        if not after.startswith("(") and name not in _CONSTANTS:
            out.append(NameRef(i, match.end(), name, False))
        i = match.end()
    return out


def _quote(path: Path) -> str:
    text = str(path)
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    raise ExpressionError(f"Cannot quote the file name {path.name} in an image expression")


@dataclass(frozen=True)
class ResolvedExpression:
    """An expression whose names are absolute, checked paths."""

    expression: str  # as sent
    rewritten: str  # names replaced by quoted absolute paths
    sources: tuple[Path, ...]
    replacements: tuple[tuple[str, str], ...]  # (quoted absolute path, name as written)

    def readable(self, message: str) -> str:
        """A casacore message with the absolute paths turned back into the names as written."""
        if _WRAPPER in message:
            message = message.split(_WRAPPER, 1)[1]
        for absolute, original in self.replacements:
            message = message.replace(absolute, original)
        for absolute, original in self.replacements:
            message = message.replace(absolute.strip("\"'"), original.strip("\"'"))
        return message.strip()


def resolve_expression(top: str | Path, directory: str, expression: str,
                       starting: str | Path | None = None) -> ResolvedExpression:
    """Check and rewrite ``expression`` (relative names are relative to ``directory``).

    Raises :class:`paths.PathError` for a bad directory (the reference's messages) and
    :class:`ExpressionError` for a name that is refused or unknown.
    """
    folder = paths.resolve_file(top, directory, "", starting)
    relative = paths.client_relative(directory, top, starting)
    if not expression.strip():
        raise ExpressionError("Image Expression: Parse error at or near ''")
    pieces: list[str] = []
    sources: list[Path] = []
    replacements: list[tuple[str, str]] = []
    last = 0
    for ref in find_names(expression):
        try:
            if ref.name.startswith("/"):
                target = paths.resolve_inside(top, paths.client_relative(ref.name, top, starting))
            else:
                target = paths.resolve_inside(top, relative, ref.name)
        except paths.PathError as exc:
            raise ExpressionError(f"Forbidden path in image expression: '{ref.name}'") from exc
        if not target.exists():
            raise ExpressionError(UNKNOWN_IMAGE.format(ref.name))
        if images.detect_file_type(target) == images.HDF5:
            raise ExpressionError(f"Image expressions over HDF5 files are not supported: '{ref.name}'")
        quoted = _quote(target)
        pieces.append(expression[last:ref.start])
        pieces.append(quoted)
        replacements.append((quoted, expression[ref.start:ref.end]))
        sources.append(target)
        last = ref.end
    pieces.append(expression[last:])
    del folder  # resolved only for its checks
    return ResolvedExpression(expression, "".join(pieces), tuple(sources), tuple(replacements))


class ExpressionReader(CasaReader):
    """A LEL expression image behind the reader interface (casacore evaluates per box).

    ``name`` is the expression as sent (the frame's and the ack's name); reads are
    serialised with the base class's lock.
    """

    def __init__(self, resolved: ResolvedExpression) -> None:
        from casacore import (
            images as casa_images,  # imported lazily: loading casacore takes a while
        )

        self.name = resolved.expression
        self.path = Path(resolved.expression)  # an identifier, not a file: see source_paths()
        self.file_type = CASA_FILE_TYPE
        self.hdu = ""
        self._sources = resolved.sources
        self._lock = threading.Lock()
        try:
            image = casa_images.image(resolved.rewritten)
        except RuntimeError as err:
            raise ExpressionError(resolved.readable(str(err)) or "Image expression could not be opened.") from err
        try:
            self._attach(image)
        except ImageOpenError as err:
            raise ExpressionError(resolved.readable(str(err))) from err

    def source_paths(self) -> list[Path]:
        """The files the expression reads (SAVE_FILE must not overwrite them)."""
        return list(self._sources)


def open_expression(top: str | Path, directory: str, expression: str,
                    starting: str | Path | None = None) -> ExpressionReader:
    """Resolve, check and open ``expression``; raises ``PathError`` or :class:`ExpressionError`."""
    return ExpressionReader(resolve_expression(top, directory, expression, starting))
