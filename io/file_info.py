"""FILE_INFO_RESPONSE: basic file info plus FileInfoExtended per HDU.

Entry point :func:`file_info` (BEHAVIOUR.md §6): resolve the path inside the top
folder (failures: ``success=false`` with the resolver's message and a default
``file_info``), describe the file (name as requested, type, size, date, HDU list --
filled even when the extended info fails later), then build ``file_info_extended``
with the reader for the type: FITS (:mod:`carta_trio.io.fits_info`), HDF5
(:mod:`carta_trio.io.hdf5_info`), CASA/MIRIAD (:mod:`carta_trio.io.casa_info`).
``success`` is "the map is non-empty"; ``message`` is the last error text.

:func:`extended_info` is the same without the response wrapper, for OPEN_FILE.
Everything here is blocking (file I/O); callers run it in a worker thread.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from carta_trio.io.file_list import file_info_of
from carta_trio.io.file_types import carta_file_type, is_compressed_fits
from carta_trio.io.fits_info import ExtendedInfo, fits_extended_info
from carta_trio.io.paths import PathError, resolve_file
from carta_trio.messages import schema as pb

__all__ = ["FileInfoError", "FileInfoResult", "UNSUPPORTED", "extended_info", "file_info", "open_file_info"]

log = logging.getLogger(__name__)

UNSUPPORTED = "Unsupported format."


class FileInfoError(Exception):
    """File info could not be produced; ``str(exc)`` is the client message."""


@dataclass
class FileInfoResult:
    """The response plus INFO texts to send as ERROR_DATA (tag ``file info``) before it."""

    response: pb.FileInfoResponse
    notices: list[str] = field(default_factory=list)


def extended_info(path: str | Path, name: str, file_type: int, hdu: str = "", support_aips_beam: bool = False) -> ExtendedInfo:
    """FileInfoExtended map of an image file of a known type (see module docstring)."""
    try:
        if file_type == pb.FileType.FITS:
            return fits_extended_info(path, name, hdu, support_aips_beam, gz=is_compressed_fits(path))
        if file_type == pb.FileType.HDF5:
            from carta_trio.io.hdf5_info import hdf5_extended_info

            return hdf5_extended_info(path, name, hdu)
        if file_type in (pb.FileType.CASA, pb.FileType.MIRIAD):
            if file_type == pb.FileType.MIRIAD:
                from carta_trio.io.miriad_header import miriad_open_error

                error = miriad_open_error(path)
                if error is not None:
                    return ExtendedInfo(message=error)
            # casacore in a worker process: a damaged image crashes the worker, not the server
            from carta_trio.io.native_worker import WorkerCrashed, run_once

            try:
                info: ExtendedInfo = run_once("carta_trio.io.casa_info:casa_extended_info", str(path), name, hdu,
                                              label="file-info")
                return info
            except WorkerCrashed as exc:
                log.warning("file info of %s: %s", path, exc)
                return ExtendedInfo(message=f"{name} could not be read: {exc} (the image may be damaged).")
    except Exception as exc:  # noqa: BLE001 - a reader failure is the client's answer
        log.exception("file info of %s failed", path)
        # the log keeps the details; the user gets the text without server paths or log prefixes
        from carta_trio.io.casa_open import user_message

        return ExtendedInfo(message=user_message(str(exc), path) or type(exc).__name__)
    return ExtendedInfo(message=UNSUPPORTED)


def file_info(
    top: str | Path,
    directory: str,
    file: str,
    hdu: str = "",
    support_aips_beam: bool = False,
    starting: str | Path | None = None,
) -> FileInfoResult:
    """Answer a FILE_INFO_REQUEST (blocking)."""
    response = pb.FileInfoResponse()
    try:
        path = resolve_file(top, directory, file, starting)
    except PathError as exc:
        response.success = False
        response.message = exc.message
        response.file_info.SetInParent()
        return FileInfoResult(response)
    file_type = carta_file_type(path)
    name = file or os.path.basename(str(path).rstrip("/")) or str(path)
    response.file_info.CopyFrom(file_info_of(path, name, file_type))
    result = extended_info(path, name, file_type, hdu, support_aips_beam)
    for key, info in result.infos.items():
        response.file_info_extended[key].CopyFrom(info)
    response.success = bool(result.infos)
    response.message = result.message
    if not response.success:
        log.error("File info of %s failed: %s", name, result.message)
    return FileInfoResult(response, result.notices)


def _first_image_hdu(path: str | Path) -> str:
    from carta_trio.io.fits_hdus import FitsError, read_hdus

    try:
        hdus = read_hdus(path)
    except FitsError as exc:
        raise FileInfoError(str(exc)) from exc
    for hdu in hdus:
        if hdu.is_image:
            return str(hdu.index)
    raise FileInfoError("No image HDU found for FITS.")


def open_file_info(
    path: str | Path, hdu: str = "", name: str | None = None, support_aips_beam: bool = False
) -> tuple[pb.FileInfo, pb.FileInfoExtended, str]:
    """File info for OPEN_FILE_ACK (BEHAVIOUR.md §7.1): (file_info, extended, hdu used).

    An empty ``hdu`` means the first entry of the HDU list, for FITS the first image
    HDU (a ``.fits.gz`` is then read in full, not header-only). ``file_info`` carries
    the HDU actually used and no date. Raises :class:`FileInfoError`.
    """
    name = name or os.path.basename(str(path).rstrip("/"))
    file_type = carta_file_type(path)
    basic = file_info_of(path, name, file_type)
    if not hdu:
        if file_type == pb.FileType.FITS:
            hdu = _first_image_hdu(path)
        else:
            hdu = basic.HDU_list[0] if basic.HDU_list else ""
    result = extended_info(path, name, file_type, hdu, support_aips_beam)
    if hdu not in result.infos:
        raise FileInfoError(result.message or UNSUPPORTED)
    info = pb.FileInfo(name=name, type=file_type, size=basic.size, HDU_list=[hdu])
    return info, result.infos[hdu], hdu
