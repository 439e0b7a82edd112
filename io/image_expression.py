"""OPEN_FILE with ``lel_expr=true``: image expressions in casacore's LEL, evaluated per box.

The frontend sends the expression in ``file`` and the browser's folder in ``directory``
(FILES_REGIONS_CATALOGS.md §4): ``"a.fits" - "b.fits"``, ``sqrt(abs("x.im"))``,
``AMPLITUDE("c.im")``, ``"a.fits"["a.fits" > 0]``... Two evaluators, one grammar:

* the element-wise subset (arithmetic, powers, comparisons, masks, ``iif``, element-wise
  functions; :mod:`carta_trio.io.lel_numpy`) is evaluated with numpy on the box asked for,
  reading each image through our own readers -- any format we read, HDF5 included, at
  about the cost of reading the inputs (:class:`NumpyExpressionReader`);
* everything else (reductions such as ``mean(x)``, complex images and functions, regions)
  goes to casacore (python-casacore's ``images.image(expression)``), which also evaluates
  only the box read (:class:`ExpressionReader`). casacore cannot read the IDIA HDF5
  schema, so such expressions over HDF5 images are refused with a message saying so.

Before either sees the expression every image it names is found and checked here:

* names are the quoted strings (``"..."``/``'...'``) and the bare names that are not a
  function call, a number or the constants ``T``/``F``; each is resolved against the
  request's directory inside the top folder (:func:`carta_trio.io.paths.resolve_inside`),
  so ``'../other/x.im'`` works below the top and anything outside is refused
  (``Forbidden path in image expression: '<name>'``);
* a name that is no file gets casacore's own message ``ImageExprParse: '<name>' is an
  unknown lattice or image or it is an unqualified region``;
* ``$`` outside quotes is refused: python-casacore would substitute Python variables.

For casacore the checked names are replaced by their absolute paths (casacore resolves
relative names against the process's working folder, not the request's); its messages are
mapped back to the names as written and the python-casacore wrapper text is removed, so
syntax errors read as the reference's (``Image Expression: Parse error at or near ...``,
``Scanned so far: ...``). Everything here is blocking.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from carta_trio.io import images, lel_numpy, paths
from carta_trio.io.axis_roles import axis_kinds, ctype_name, header_ctypes
from carta_trio.io.casa_reader import CASA_FILE_TYPE, CasaReader
from carta_trio.io.fits_header import format_card
from carta_trio.io.generated_image import structural_cards
from carta_trio.io.image_reader import Beam, HeaderCard, ImageOpenError, ImageReader
from carta_trio.io.stokes_concat import carried_cards

__all__ = [
    "ExpressionError",
    "ExpressionReader",
    "NameRef",
    "find_names",
    "open_expression",
    "resolve_expression",
]

MAX_EXPRESSION_LENGTH = 10_000
MAX_EXPRESSION_DEPTH = 64
SHAPES_MISMATCH = "LatticeExprNode - shapes of operands mismatch"
COORDINATES_MISMATCH = "LatticeExprNode - coordinates of operands mismatch"
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
    targets: dict[str, Path] = dataclasses.field(default_factory=dict)  # name as written -> file

    def readable(self, message: str) -> str:
        """A casacore message with the absolute paths turned back into the names as written."""
        if _WRAPPER in message:
            message = message.split(_WRAPPER, 1)[1]
        for absolute, original in self.replacements:
            message = message.replace(absolute, original)
        for absolute, original in self.replacements:
            message = message.replace(absolute.strip("\"'"), original.strip("\"'"))
        return message.strip()


def _check_size(expression: str) -> None:
    """Refuse expressions no one types: very long or very deeply nested ones would only
    exhaust the parsers' stacks (ours is recursive, casacore's in C++)."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"Image expression too long (more than {MAX_EXPRESSION_LENGTH} characters)")
    depth = deepest = 0
    for ch in expression:
        if ch in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]":
            depth -= 1
    if deepest > MAX_EXPRESSION_DEPTH:
        raise ExpressionError(f"Image expression nested too deeply (more than {MAX_EXPRESSION_DEPTH} levels)")


def resolve_expression(top: str | Path, directory: str, expression: str,
                       starting: str | Path | None = None) -> ResolvedExpression:
    """Check and rewrite ``expression`` (relative names are relative to ``directory``).

    Raises :class:`paths.PathError` for a bad directory (the reference's messages) and
    :class:`ExpressionError` for a name that is refused or unknown.
    """
    _check_size(expression)
    folder = paths.resolve_file(top, directory, "", starting)
    relative = paths.client_relative(directory, top, starting)
    if not expression.strip():
        raise ExpressionError("Image Expression: Parse error at or near ''")
    pieces: list[str] = []
    sources: list[Path] = []
    replacements: list[tuple[str, str]] = []
    targets: dict[str, Path] = {}
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
        targets[ref.name] = target
        quoted = _quote(target)
        pieces.append(expression[last:ref.start])
        pieces.append(quoted)
        replacements.append((quoted, expression[ref.start:ref.end]))
        sources.append(target)
        last = ref.end
    pieces.append(expression[last:])
    del folder  # resolved only for its checks
    return ResolvedExpression(expression, "".join(pieces), tuple(sources), tuple(replacements), targets)


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
                    starting: str | Path | None = None) -> ImageReader:
    """Resolve, check and open ``expression``; raises ``PathError`` or :class:`ExpressionError`.

    The element-wise subset (:mod:`carta_trio.io.lel_numpy`) is evaluated with numpy over
    our own readers; anything else goes to casacore, except over HDF5 images (refused).
    casacore's :class:`ExpressionReader` lives in a worker process
    (:class:`carta_trio.io.worker_reader.WorkerReader`): casacore crashing on a damaged
    source ends that worker, not the server.
    """
    resolved = resolve_expression(top, directory, expression, starting)
    try:
        try:
            node, names = lel_numpy.parse(expression)
        except RecursionError:  # e.g. thousands of unary minus signs
            raise ExpressionError(f"Image expression nested too deeply (more than {MAX_EXPRESSION_DEPTH} levels)") from None
        if any(name not in resolved.targets for name in names):
            raise lel_numpy.Unsupported("a name not found by the name scan")
    except lel_numpy.Unsupported:
        hdf5 = [name for name, path in resolved.targets.items() if images.detect_file_type(path) == images.HDF5]
        if hdf5:
            raise ExpressionError(f"Image expressions over HDF5 files support element-wise arithmetic only "
                                  f"(+ - * / ^, comparisons, masks, iif and element-wise functions): "
                                  f"'{hdf5[0]}'") from None
        return _casacore_expression(resolved)
    readers: list[ImageReader] = []
    try:
        for name in names:
            readers.append(images.open_image(resolved.targets[name], ""))
        if any(r.data_type.lower().startswith(("complex", "dcomplex")) for r in readers):
            for reader in readers:
                reader.close()
            return _casacore_expression(resolved)  # complex values: casacore's functions apply
        if any(r.shape != readers[0].shape for r in readers):
            raise ExpressionError(SHAPES_MISMATCH)
        if any(_axis_kinds(r) != _axis_kinds(readers[0]) for r in readers):
            raise ExpressionError(COORDINATES_MISMATCH)
        return NumpyExpressionReader(expression, node, readers)
    except BaseException:
        for reader in readers:
            reader.close()
        raise


def _casacore_expression(resolved: ResolvedExpression) -> ImageReader:
    """casacore's evaluation of ``resolved``, in a worker process."""
    from carta_trio.io.worker_reader import WorkerReader

    return WorkerReader("carta_trio.io.image_expression:ExpressionReader", resolved, label=resolved.expression)


def _axis_kinds(reader: ImageReader) -> list[str]:
    """What each axis is (celestial lon/lat, spectral, Stokes, or its CTYPE name): LEL refuses
    operands whose coordinate types differ, not offsets or increments of the same kind."""
    header = {c.key: c.value for c in reader.header_cards() if c.value is not None}
    ctypes = header_ctypes(header, reader.ndim)
    return [ctype_name(c) if kind == "linear" else kind for kind, c in zip(axis_kinds(ctypes), ctypes)]


class NumpyExpressionReader(ImageReader):
    """An element-wise expression over images of one shape, evaluated per box with numpy.

    Geometry, header (WCS), unit and beams are the first image's, as LEL takes the
    coordinates of its first image. Owns and closes the readers.
    """

    def __init__(self, expression: str, node: lel_numpy.Node, readers: Sequence[ImageReader]) -> None:
        first = readers[0]
        self.name = expression
        self.path = Path(expression)  # an identifier, not a file: see source_paths()
        self.hdu = ""
        self.file_type = CASA_FILE_TYPE
        self.data_type = "float"
        self.unit = first.unit
        self.shape = tuple(first.shape)
        self.axes = first.axes
        self.stokes_values = list(first.stokes_values)
        self._node = node
        self._readers = list(readers)
        self._cards = structural_cards(self.shape) + carried_cards(first.header_cards())

    def header_cards(self) -> list[HeaderCard]:
        return list(self._cards)

    def header_strings(self) -> list[str]:
        return [format_card(c.key, c.value, c.comment) for c in self._cards]

    def beams(self) -> list[Beam]:
        return self._readers[0].beams()

    def source_paths(self) -> list[Path]:
        return [Path(r.path) for r in self._readers]

    def _evaluate(self, read: Callable[[ImageReader], np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        cache: dict[int, np.ndarray] = {}

        def image(index: int) -> np.ndarray:
            if index not in cache:
                cache[index] = read(self._readers[index])
            return cache[index]

        out = lel_numpy.evaluate(self._node, image)
        return np.ascontiguousarray(np.broadcast_to(np.asarray(out, dtype=np.float32), shape))

    def read_cube(self, x0: int, x1: int, y0: int, y1: int, z0: int, z1: int, stokes: int) -> np.ndarray:
        self._check_box(x0, x1, y0, y1, z0, z1, stokes)
        return self._evaluate(lambda r: r.read_cube(x0, x1, y0, y1, z0, z1, stokes), (z1 - z0, y1 - y0, x1 - x0))

    def read_plane(self, channel: int, stokes: int) -> np.ndarray:
        # each source's own plane path (FITS, HDF5 have faster ones than a generic box)
        self._check_box(0, self.width, 0, self.height, channel, channel + 1, stokes)
        return self._evaluate(lambda r: r.read_plane(channel, stokes), (self.height, self.width))

    def read_spectrum(self, x: int, y: int, stokes: int, z0: int = 0, z1: int | None = None) -> np.ndarray:
        z1 = self.depth if z1 is None else z1
        self._check_box(x, x + 1, y, y + 1, z0, z1, stokes)
        return self._evaluate(lambda r: r.read_spectrum(x, y, stokes, z0, z1), (z1 - z0,))

    def _read_region(self, starts: Sequence[int], stops: Sequence[int]) -> np.ndarray:
        shape = tuple(int(b) - int(a) for a, b in zip(reversed(starts), reversed(stops)))
        return self._evaluate(lambda r: r._read_region(starts, stops), shape)

    def close(self) -> None:
        """Close every source reader (once; closing again does nothing)."""
        readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()
