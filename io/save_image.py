"""Writing an open image (or a part of it) to FITS or CASA: SAVE_FILE (ANALYTICS.md §10.3).

The output is streamed plane by plane (BITPIX -32), so saving a large cube never
holds it in memory. Axes are written in render order (x, y, depth, Stokes); the WCS
is the source's, re-ordered and sliced by astropy so reference pixels and
increments follow the crop, channel range and Stokes stride. With a region, the
output covers the region's bounding box and pixels outside it are blank (NaN).
``keep_degenerate=False`` drops depth or Stokes axes of length 1. CASA images are
made from the FITS file by casacore in a staging folder beside the target. Files are
written under a temporary name beside the target and renamed into place; what may be
replaced at all is decided by :mod:`carta_trio.io.safe_write`.
"""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from carta_trio.io import native_worker, safe_write
from carta_trio.io.image_reader import ImageReader

#: Source keywords not copied: structure, scaling and WCS (astropy writes the WCS anew).
_DROPPED = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|BSCALE|BZERO|BLANK|DATAMIN|DATAMAX|CHECKSUM|DATASUM|"
    r"WCSAXES|CTYPE\d+|CRVAL\d+|CDELT\d+|CRPIX\d+|CUNIT\d+|CROTA\d+|PC\d+_\d+|CD\d+_\d+|PV\d+_\d+|PS\d+_\d+|"
    r"LONPOLE|LATPOLE|RESTFRQ|RESTFREQ|RESTWAV|SPECSYS|SSYSOBS|VELREF|MJDREF|EQUINOX|EPOCH|RADESYS|"
    r"PCOUNT|GCOUNT|END)$"
)


class SaveError(Exception):
    """The image could not be saved; ``str(exc)`` is the client message."""


@dataclasses.dataclass(frozen=True)
class Selection:
    """What to write: a pixel box, a channel range, Stokes indices and an optional mask."""

    x0: int
    x1: int
    y0: int
    y1: int
    z0: int
    z1: int  # exclusive
    stokes: tuple[int, ...]
    mask: np.ndarray | None = None  # [y1 - y0, x1 - x0], True inside


def select(
    reader: ImageReader,
    channels: tuple[int, ...] | list[int],
    stokes: tuple[int, ...] | list[int],
    box: tuple[int, int, int, int] | None = None,
    mask: np.ndarray | None = None,
) -> Selection:
    """The reference's sub-setting: ``channels`` [c0, c1] and ``stokes`` [s0, s1, stride]
    clamped to the image (a channel stride is ignored); ``box`` (x0, x1, y0, y1) and its
    ``mask`` from a region, else the whole plane."""
    depth, num_stokes = reader.depth, reader.num_stokes
    c0 = min(max(int(channels[0]), 0), depth - 1) if len(channels) > 0 else 0
    c1 = min(max(int(channels[1]), c0), depth - 1) if len(channels) > 1 else depth - 1
    s0 = min(max(int(stokes[0]), 0), num_stokes - 1) if len(stokes) > 0 else 0
    s1 = min(max(int(stokes[1]), s0), num_stokes - 1) if len(stokes) > 1 else num_stokes - 1
    stride = int(round(min(max(stokes[2], 1), max(num_stokes - s0, 1)))) if len(stokes) > 2 else 1
    x0, x1, y0, y1 = box if box is not None else (0, reader.width, 0, reader.height)
    return Selection(x0, x1, y0, y1, c0, c1 + 1, tuple(range(s0, s1 + 1, stride)), mask)


def output_header(reader: ImageReader, selection: Selection, keep_degenerate: bool, rest_freq: float) -> fits.Header:
    """The FITS header of the saved image (render-ordered, sliced WCS; other cards copied)."""
    source = fits.Header()
    for card in reader.header_cards():
        key = card.key.upper()
        if key in ("HISTORY", "COMMENT"):
            source.add_history(card.comment) if key == "HISTORY" else source.add_comment(card.comment)
        elif key and card.value is not None:
            source.append(fits.Card(key, card.value, card.comment), end=True)
    roles = reader.axes
    order = [roles.x, roles.y] + [a for a in (roles.z, roles.stokes) if a is not None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(source, naxis=len(reader.shape)).sub([a + 1 for a in order])
    slices = [slice(selection.x0, selection.x1), slice(selection.y0, selection.y1)]
    lengths = [selection.x1 - selection.x0, selection.y1 - selection.y0]
    if roles.z is not None:
        slices.append(slice(selection.z0, selection.z1))
        lengths.append(selection.z1 - selection.z0)
    if roles.stokes is not None:
        stokes = selection.stokes
        step = stokes[1] - stokes[0] if len(stokes) > 1 else 1
        slices.append(slice(stokes[0], stokes[-1] + 1, step))
        lengths.append(len(stokes))
    wcs = wcs.slice(tuple(reversed(slices)))
    if not keep_degenerate:
        for axis in range(len(lengths) - 1, 1, -1):
            if lengths[axis] == 1:
                wcs = wcs.dropaxis(axis)
                del lengths[axis]
    header = fits.Header()
    header["SIMPLE"] = True
    header["BITPIX"] = -32
    header["NAXIS"] = len(lengths)
    for i, n in enumerate(lengths, start=1):
        header[f"NAXIS{i}"] = n
    header["EXTEND"] = True
    for card in source.cards:
        if card.keyword in ("HISTORY", "COMMENT") or not _DROPPED.match(card.keyword):
            header.append(card, end=True)
    header.update(wcs.to_header())
    if math.isfinite(rest_freq):
        header["RESTFRQ"] = (float(rest_freq), "Rest frequency (Hz)")
    header.add_history("Saved by carta-trio")
    return header


def write_fits(
    reader: ImageReader, path: Path, selection: Selection, *, keep_degenerate: bool, rest_freq: float,
    chunk_bytes: int = 64 << 20,
) -> None:
    """Write the selection as FITS at ``path`` (a temporary file beside it, fsync'ed, renamed)."""
    header = output_header(reader, selection, keep_degenerate, rest_freq)
    width, height = selection.x1 - selection.x0, selection.y1 - selection.y0
    planes_per_chunk = max(1, chunk_bytes // max(1, 4 * width * height))
    with safe_write.atomic_file(path) as out:
        out.write(header.tostring().encode("ascii"))
        written = 0
        for stokes in selection.stokes:
            for z0 in range(selection.z0, selection.z1, planes_per_chunk):
                z1 = min(selection.z1, z0 + planes_per_chunk)
                block = reader.read_cube(selection.x0, selection.x1, selection.y0, selection.y1, z0, z1, stokes)
                block = np.array(block, dtype=np.float32)
                if selection.mask is not None:
                    block[:, ~selection.mask] = np.nan
                data = block.astype(">f4").tobytes()
                out.write(data)
                written += len(data)
        out.write(b"\0" * (-written % 2880))


#: The conversion :func:`write_casa` runs in a worker process (tests swap in faults).
CONVERTER = "carta_trio.io.save_image:fits_to_casa"


def fits_to_casa(fits_path: str, casa_path: str) -> None:
    """casacore's FITS-to-image conversion (run in a worker process by :func:`write_casa`)."""
    from casacore import images

    image = images.image(fits_path)
    image.saveas(casa_path)
    del image


def write_casa(
    reader: ImageReader, path: Path, selection: Selection, *, keep_degenerate: bool, rest_freq: float,
    replace: bool = False,
) -> None:
    """Write the selection as a CASA image directory at ``path`` (made from FITS by casacore).

    Everything is built in a staging folder beside ``path``; the finished image is
    moved in with one rename (an existing CASA image, only with ``replace``, is
    swapped out atomically). The staging folder is removed in every case. casacore
    runs in a worker process: when it aborts (a full disk) only the worker dies and
    this raises :class:`SaveError`.
    """
    staging = safe_write.make_staging(path)
    try:
        staged_fits = staging / "image.fits"
        write_fits(reader, staged_fits, selection, keep_degenerate=keep_degenerate, rest_freq=rest_freq)
        built = staging / path.name
        try:
            native_worker.run_once(CONVERTER, str(staged_fits), str(built), label="casa-writer")
        except native_worker.WorkerCrashed as exc:
            raise SaveError(f"the CASA image writer stopped ({exc}){_space_hint(path.parent)}") from exc
        except RuntimeError as exc:
            raise SaveError(_casacore_text(str(exc))) from exc
        staged_fits.unlink()
        safe_write.install_directory(built, path, replace=replace)
    finally:
        safe_write.remove_staging(staging)


def _space_hint(folder: Path) -> str:
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return ""
    return f"; {free / 2**20:.1f} MiB free on that disk" if free < 2**30 else ""


def _casacore_text(text: str) -> str:
    """A casacore exception text without its log prefixes and source locations."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    keep = [re.sub(r"\s*\(file [^)]*, line \d+\)", "", line) for line in lines
            if not re.match(r"^\d{4}-\d\d-\d\d[ T]", line)]
    return (keep[-1] if keep else "casacore error").strip()
