"""Confinement of client paths inside the top-level folder.

Every path a client names (file browser, file info, open file, region and catalog
files, save/export) goes through this module, so the rule lives in one place:

* ``$BASE`` anywhere in the directory string is replaced by the absolute starting
  folder (the frontend asks for ``$BASE`` on its first listing);
* the string is made relative to the top-level folder the way the reference does it
  (``BE:src/FileList/FileListHandler.cc`` ``GetRelativePath``): a leading ``./`` is
  removed, or a leading copy of the top-level path (so absolute paths below the top
  work); any remaining leading ``/`` means "relative to the top" as well; an empty
  result is ``.``;
* the joined path is normalised (``..`` is applied to the path as written) and then
  resolved (symlinks). Anything that ends
  up outside the top-level folder is refused with ``Forbidden path.`` -- stricter
  than the reference, which only refuses ancestors of the top folder and lets a
  sibling reached through ``..`` or a symlink through (BEHAVIOUR.md §5.1 quirk).

The lexical check happens before the file system is touched, so a refused path
does not reveal whether something exists outside the top folder.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FORBIDDEN",
    "PathError",
    "ResolvedDirectory",
    "client_relative",
    "parent_of",
    "resolve_directory",
    "resolve_file",
    "resolve_inside",
]

#: The message for any path that leaves the top-level folder.
FORBIDDEN = "Forbidden path."


class PathError(ValueError):
    """A client path that cannot be used; ``message`` is the text for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def client_relative(requested: str, top: str | Path, starting: str | Path | None = None) -> str:
    """Turn a client directory string into a path relative to ``top`` (never empty).

    ``$BASE`` is replaced by ``starting`` (which lies inside ``top``); ``""`` and
    ``"."`` are the top folder itself (``"."``). The result is not normalised, so it
    can be echoed back to the client as the reference does.
    """
    top_s = str(top).rstrip("/") or "/"
    folder = requested or ""
    if folder == ".":
        folder = ""
    if "$BASE" in folder and starting is not None:
        folder = folder.replace("$BASE", str(starting))
    if folder.startswith("./"):
        folder = folder[2:]
    elif top_s == "/":
        pass
    elif folder == top_s:
        folder = ""
    elif folder.startswith(top_s + "/"):
        folder = folder[len(top_s) + 1 :]
    folder = folder.lstrip("/")
    return folder or "."


def parent_of(relative: str) -> str:
    """The parent of a top-relative directory string, as the frontend expects it.

    ``"a/b"`` -> ``"a"``, ``"a"`` -> ``"."``; the top folder's own parent is ``"."``.
    """
    rel = relative.rstrip("/")
    if rel in ("", "."):
        return "."
    parent = posixpath.dirname(rel)
    return parent or "."


def resolve_inside(top: str | Path, *parts: str) -> Path:
    """Join ``parts`` below ``top``, resolve ``..`` and symlinks, and refuse escapes.

    Raises :class:`PathError` (``Forbidden path.``) if the lexical path or the real
    path (after following symlinks) is outside ``top``. Does not require the path to
    exist.
    """
    top_real = os.path.realpath(str(top))
    joined = top_real
    for part in parts:
        check_name(part)
        if part:
            joined = os.path.join(joined, part.lstrip("/"))
    lexical = os.path.normpath(joined)
    if not _is_within(lexical, top_real):
        raise PathError(FORBIDDEN)
    real = os.path.realpath(lexical)
    if not _is_within(real, top_real):
        raise PathError(FORBIDDEN)
    return Path(real)


#: Linux NAME_MAX and PATH_MAX, in bytes.
NAME_MAX = 255
PATH_MAX = 4096


def check_name(part: str) -> None:
    """Refuse what the file system would refuse with an error naming the absolute
    path (or Python with a bare ValueError): NUL characters, a component longer
    than NAME_MAX bytes, a path longer than PATH_MAX bytes."""
    if "\0" in part:
        raise PathError("Invalid path: it contains a NUL character.")
    encoded = part.encode("utf-8", "surrogateescape")
    if len(encoded) > PATH_MAX:
        raise PathError(f"Invalid path: longer than {PATH_MAX} bytes.")
    if any(len(component) > NAME_MAX for component in encoded.split(b"/")):
        raise PathError(f"Invalid path: a name is longer than {NAME_MAX} bytes.")


@dataclass(frozen=True)
class ResolvedDirectory:
    """A client directory resolved inside the top folder."""

    #: Absolute, symlink-resolved path.
    path: Path
    #: The request made relative to the top folder (``"."`` for the top itself).
    relative: str

    @property
    def is_top(self) -> bool:
        return self.relative == "."


def resolve_directory(top: str | Path, starting: str | Path | None, requested: str) -> ResolvedDirectory:
    """Resolve a directory request (file, region and catalog lists).

    Raises :class:`PathError` with the reference's messages: ``Directory <rel> does
    not exist.``, ``Directory <rel> is not readable.``, ``requested path <requested>
    is not a directory.`` or ``Forbidden path.``.
    """
    relative = client_relative(requested, top, starting)
    path = resolve_inside(top, relative)
    if not path.exists():
        raise PathError(f"Directory {relative} does not exist.")
    if not os.access(path, os.R_OK):
        raise PathError(f"Directory {relative} is not readable.")
    if not path.is_dir():
        raise PathError(f"requested path {requested} is not a directory.")
    return ResolvedDirectory(path=path, relative=relative)


def resolve_file(top: str | Path, directory: str, file: str, starting: str | Path | None = None) -> Path:
    """Resolve ``directory``/``file`` (FILE_INFO, OPEN_FILE, region file info).

    Raises :class:`PathError`: ``Directory X does not exist.``, ``Directory X is not
    readable.``, ``File X does not exist.``, ``File X is not readable.`` or
    ``Forbidden path.``. ``file`` may be empty (the directory itself is meant).
    """
    relative = client_relative(directory, top, starting)
    folder = resolve_inside(top, relative)
    if not folder.exists():
        raise PathError(f"Directory {directory} does not exist.")
    if not os.access(folder, os.R_OK):
        raise PathError(f"Directory {directory} is not readable.")
    path = resolve_inside(top, relative, file)
    if not path.exists():
        raise PathError(f"File {file} does not exist.")
    if not os.access(path, os.R_OK):
        raise PathError(f"File {file} is not readable.")
    return path


def _is_within(path: str, top: str) -> bool:
    if top == "/":
        return path.startswith("/")
    return path == top or path.startswith(top + "/")
