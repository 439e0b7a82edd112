"""Positional command-line arguments: files to open, or the starting folder (BEHAVIOUR.md §1.3).

Processed in order, as the reference does:

* an existing directory that casacore would open as an image (CASA paged image,
  component list, MIRIAD, image concatenation or expression) is a file to open;
* any other existing directory becomes the starting folder, drops the files
  collected so far and ends processing;
* an existing regular file is a file to open;
* a missing path clears the collected files (processing continues); an existing
  path that is neither file nor directory clears them and ends processing.

Files are passed to the frontend relative to the top-level folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

#: ``table.info`` first line of the casacore table types that are images.
_IMAGE_TABLE_TYPES = ("Type = Image", "Type = Component List")


def is_image_directory(path: Path) -> bool:
    """True for directories casacore's ImageOpener types as an image.

    A casacore table is an image when its ``table.info`` says ``Type = Image``
    (paged image) or ``Type = Component List``; image concatenations and
    expressions are folders holding ``imageconcat.json`` / ``imageexpr.json``; a
    MIRIAD image is a folder with regular files ``header`` and ``image``.
    """
    path = Path(path)
    if (path / "table.dat").is_file():
        try:
            with open(path / "table.info", encoding="utf-8", errors="replace") as f:
                first = f.readline().strip()
        except OSError:
            return False
        return first in _IMAGE_TABLE_TYPES
    if (path / "imageconcat.json").is_file() or (path / "imageexpr.json").is_file():
        return True
    return (path / "header").is_file() and (path / "image").is_file()


def collect_positional(arguments: Sequence[str]) -> tuple[str | None, list[str]]:
    """(starting folder named by the arguments or None, file paths to open)."""
    files: list[str] = []
    for argument in arguments:
        path = Path(argument)
        try:
            exists = path.exists()
        except OSError:
            exists = False
        if not exists:
            files.clear()
            continue
        if path.is_dir():
            if is_image_directory(path):
                files.append(argument)
                continue
            return argument, []
        if not path.is_file():
            files.clear()
            break
        files.append(argument)
    return None, files


def relative_file_paths(paths: Sequence[str], top_level_folder: str) -> list[str]:
    """Each path made absolute, normalised and relative to the (normalised) top-level folder.

    Lexical only, like the reference: symlinks are not resolved here.
    """
    top = os.path.normpath(os.path.abspath(top_level_folder))
    return [os.path.relpath(os.path.normpath(os.path.abspath(p)), top) for p in paths]
