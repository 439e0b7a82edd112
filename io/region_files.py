"""Region files: REGION_LIST_RESPONSE and REGION_FILE_INFO_RESPONSE (BEHAVIOUR.md §5.4-5.5).

Region lists are the image listing (:mod:`carta_trio.io.file_list`) with region
typing: in ``Content`` mode the first line decides (``#CRTF`` -> CRTF,
``# Region file format: DS9`` -> DS9_REG), then the extension (``.crtf``, ``.reg``);
in ``Extension`` mode only the extension; ``AllFiles`` lists every file, typed as in
``Content`` mode or UNKNOWN. Image directories are not listed (in ``AllFiles`` mode
they appear as folders).

REGION_FILE_INFO returns the file's lines for the frontend to parse; a trailing
newline yields a final empty string, as the reference's ``getline`` loop does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Generator, TypedDict, Unpack

from carta_trio.io.file_list import ListProgress, final_item, iter_file_list
from carta_trio.io.file_types import guess_region_type
from carta_trio.io.paths import PathError, resolve_file
from carta_trio.messages import schema as pb

__all__ = [
    "iter_region_list",
    "region_file_info",
    "region_file_lines",
    "region_list",
    "to_region_list_response",
]


def to_region_list_response(response: pb.FileListResponse) -> pb.RegionListResponse:
    """Copy a file-list response into the REGION_LIST_RESPONSE message."""
    region = pb.RegionListResponse(
        success=response.success,
        message=response.message,
        directory=response.directory,
        parent=response.parent,
        cancel=response.cancel,
    )
    region.files.extend(response.files)
    region.subdirectories.extend(response.subdirectories)
    return region


class ListingOptions(TypedDict, total=False):
    """The pacing options of :func:`carta_trio.io.file_list.iter_file_list`."""

    clock: Callable[[], float]
    checkpoint: float


def iter_region_list(
    top: str | Path, starting: str | Path | None, directory: str, filter_mode: int, **kwargs: Unpack[ListingOptions]
) -> Generator[ListProgress | pb.RegionListResponse, None, None]:
    """Like :func:`carta_trio.io.file_list.iter_file_list`, ending with a REGION_LIST_RESPONSE."""
    for item in iter_file_list(top, starting, directory, filter_mode, region=True, **kwargs):
        yield to_region_list_response(item) if isinstance(item, pb.FileListResponse) else item


def region_list(top: str | Path, starting: str | Path | None, directory: str, filter_mode: int) -> pb.RegionListResponse:
    """The whole region listing at once."""
    return final_item(iter_region_list(top, starting, directory, filter_mode), pb.RegionListResponse)


def region_file_lines(path: str | Path) -> list[str]:
    """The lines of a text file (``\\n`` separated, ``\\r`` kept, final empty line kept)."""
    with open(path, "rb") as f:
        data = f.read()
    return data.decode("utf-8", errors="replace").split("\n")


def region_file_info(
    top: str | Path,
    directory: str,
    file: str,
    starting: str | Path | None = None,
    read: Callable[[str | Path], list[str]] = region_file_lines,
) -> pb.RegionFileInfoResponse:
    """Answer a REGION_FILE_INFO_REQUEST (blocking)."""
    response = pb.RegionFileInfoResponse()
    try:
        path = resolve_file(top, directory, file, starting)
    except PathError as exc:
        response.message = exc.message
        response.contents.append("")
        return response
    if not path.is_file():
        response.message = f"File {file} is not a region file."
        response.contents.append("")
        return response
    kind = guess_region_type(path, True)
    if kind == pb.FileType.UNKNOWN:
        kind = guess_region_type(path, False)
    st = os.stat(path)
    response.file_info.CopyFrom(
        pb.FileInfo(name=os.path.basename(file) or path.name, type=kind, size=st.st_size, date=int(st.st_mtime), HDU_list=[""])
    )
    if kind == pb.FileType.UNKNOWN:
        response.message = f"File {file} is not a region file."
        response.contents.append("")
        return response
    try:
        response.contents.extend(read(path))
    except OSError as exc:
        response.message = f"File {file} is not readable."
        response.contents.append("")
        del exc
        return response
    response.success = True
    return response
