"""CASA (PagedImage) and MIRIAD images through python-casacore.

python-casacore indexes arrays in numpy (reversed) order; this module converts to the
FITS-order axes of :class:`ImageReader`. The default pixel mask is applied (masked ->
NaN); NaNs in unmasked pixels stay NaN. Complex images are read as their amplitude, as
the reference re-opens them as ``AMPLITUDE(<image>)``.

The header is what casacore's image-to-FITS conversion writes (the reference builds its
header entries from ``ImageFITSConverter::ImageHeaderToFITS``): it is produced by
writing a tiny sub-image with ``tofits`` (the first two axes cut to one pixel, which
keeps every CRPIX), then patched as the reference shows it (GOLDEN.md §3.13):
``XTENSION = 'IMAGE'`` first, no ``SIMPLE``/``EXTEND``, ``PCOUNT``/``GCOUNT`` after the
axis lengths, the real ``NAXISn``, and no ``DATE``/``ORIGIN``.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import fitsio
import numpy as np

from carta_trio.io.axis_roles import casacore_axis_kinds, find_axis_roles
from carta_trio.io.casa_open import open_casacore_image, remove_shadow, user_message
from carta_trio.io.fits_header import cards_from_records, format_card
from carta_trio.io.image_reader import Beam, HeaderCard, ImageOpenError, ImageReader
from carta_trio.io.safe_read import ImageChangedError

log = logging.getLogger(__name__)

CASA_FILE_TYPE = 0  # CARTA.FileType.CASA
MIRIAD_FILE_TYPE = 5  # CARTA.FileType.MIRIAD

#: FITS Stokes codes by casacore Stokes name.
STOKES_CODES = {"I": 1, "Q": 2, "U": 3, "V": 4, "RR": -1, "LL": -2, "RL": -3, "LR": -4,
                "XX": -5, "YY": -6, "XY": -7, "YX": -8}
_TYPE_NAMES = {"float": "float", "double": "double", "complex": "Complex", "dcomplex": "DComplex",
               "int": "Int", "short": "Short"}
_ARCSEC = {"arcsec": 1.0, "arcmin": 60.0, "deg": 3600.0, "rad": 180.0 / math.pi * 3600.0,
           "mas": 1e-3}
_DEG = {"deg": 1.0, "rad": 180.0 / math.pi, "arcsec": 1 / 3600.0, "arcmin": 1 / 60.0}


class CasaReader(ImageReader):
    """A CASA or MIRIAD image directory. Access is serialised with a lock."""

    def __init__(self, path: str | os.PathLike[str], hdu: str = "", file_type: int = CASA_FILE_TYPE) -> None:
        self.path = Path(path)
        self.file_type = file_type
        self.hdu = ""
        self._lock = threading.Lock()
        self._shadow: Path | None = None
        try:
            image, self._shadow = open_casacore_image(self.path)
        except RuntimeError as err:
            log.info("casacore cannot open %s: %s", self.path, err)
            raise ImageOpenError(user_message(str(err), self.path) or "Image could not be opened.") from err
        self._attach(image)
        self._files = _table_files(self.path)

    def _attach(self, image: Any) -> None:
        """Take ``image`` (a ``casacore.images.image``: a file or an expression) as the data."""
        self._image = image
        try:
            np_shape = [int(n) for n in self._image.shape()]
        except RuntimeError as err:
            raise ImageOpenError(str(err).strip() or "Image could not be opened.") from err
        if not 2 <= len(np_shape) <= 4:
            raise ImageOpenError("Image must be 2D, 3D or 4D.")
        self.shape = tuple(reversed(np_shape))
        self.data_type = _TYPE_NAMES.get(str(self._image.datatype()).lower(), str(self._image.datatype()))
        self.unit = str(self._image.unit()).strip()
        self.axes, self.stokes_values = self._coordinate_roles()
        self._header_records: list[dict[str, Any]] | None = None

    def _coordinate_roles(self) -> tuple[Any, list[int]]:
        coords = self._image.coordinates()
        record = coords.dict()
        stokes_values: list[int] = []
        for key, value in record.items():
            if key.rstrip("0123456789") == "stokes" and isinstance(value, dict):
                names = [str(s) for s in np.atleast_1d(value.get("stokes", []))]
                stokes_values = [STOKES_CODES.get(n.upper(), 0) for n in names]
        try:
            roles = find_axis_roles(casacore_axis_kinds(record, self.ndim), self.shape)
        except ValueError as err:
            raise ImageOpenError(str(err)) from err
        return roles, stokes_values

    def _native_optical(self) -> bool:
        """Whether the spectral axis is natively optical velocity (casacore VOPT = 2)."""
        for key, value in self._image.coordinates().dict().items():
            if key.rstrip("0123456789") == "spectral" and isinstance(value, dict):
                return int(value.get("nativeType", 0)) == 2
        return False

    # -- data ---------------------------------------------------------------------
    def _read_region(self, starts: Sequence[int], stops: Sequence[int]) -> np.ndarray:
        blc = [int(a) for a in reversed(starts)]
        trc = [int(b) - 1 for b in reversed(stops)]
        files = getattr(self, "_files", None)
        if files is not None and _table_files(self.path) != files:
            raise ImageChangedError(f"{self.path.name} was modified on disk after it was opened; close and reopen it.")
        with self._lock:
            data = self._image.getdata(blc=blc, trc=trc)
            mask = self._image.getmask(blc=blc, trc=trc)
        if np.iscomplexobj(data):
            data = np.abs(data)
        out = np.asarray(data, dtype=np.float32)
        if mask is not None and np.any(mask):
            out = np.array(out, copy=True) if not out.flags.writeable else out
            out[np.asarray(mask, dtype=bool)] = np.nan
        return out

    # -- header -------------------------------------------------------------------
    def _records(self) -> list[dict[str, Any]]:
        if self._header_records is None:
            self._header_records = self._converted_header()
        return self._header_records

    def _converted_header(self) -> list[dict[str, Any]]:
        np_shape = list(reversed(self.shape))
        trc = [n - 1 for n in np_shape]
        trc[-1] = 0
        trc[-2] = 0
        with tempfile.TemporaryDirectory(prefix="carta-trio-hdr-") as tmp:
            out = os.path.join(tmp, "header.fits")
            with self._lock:
                sub = self._image.subimage(blc=[0] * self.ndim, trc=trc, dropdegenerate=False)
                # optical only for a native optical-velocity axis, as the reference's
                # GetSpectralCoordPreferences (python-casacore's default is optical=True,
                # which turned every frequency axis's VELREF optical).
                sub.tofits(out, overwrite=True, velocity=False, optical=self._native_optical())
            with fitsio.FITS(out) as f:
                records = f[0].read_header_list()
        patched: list[dict[str, Any]] = [_record("XTENSION", "IMAGE", "IMAGE extension")]
        naxis_done = False
        for rec in records:
            name = str(rec.get("name", "")).upper()
            if name in ("SIMPLE", "EXTEND", "DATE", "ORIGIN", "END"):
                continue
            if name.startswith("NAXIS") and name[5:].isdigit():
                axis = int(name[5:])
                rec = _record(name, int(self.shape[axis - 1]), str(rec.get("comment", "") or ""))
                patched.append(rec)
                if axis == self.ndim and not naxis_done:
                    patched += [_record("PCOUNT", 0, ""), _record("GCOUNT", 1, "")]
                    naxis_done = True
                continue
            patched.append(dict(rec))
        return patched

    def header_cards(self) -> list[HeaderCard]:
        return cards_from_records(self._records())

    def header_strings(self) -> list[str]:
        return [str(r.get("card_string", "")).ljust(80)[:80] for r in self._records()]

    def beams(self) -> list[Beam]:
        with self._lock:
            info = self._image.imageinfo()
        if "perplanebeams" in info:
            planes = info["perplanebeams"]
            nchan, nstokes = int(planes.get("nChannels", 0)), int(planes.get("nStokes", 0))
            out = []
            for i in range(nchan * nstokes):
                beam = _beam(planes.get(f"*{i}"))
                if beam is None:
                    return []
                out.append(beam)
            return out
        beam = _beam(info.get("restoringbeam"))
        return [beam] if beam else []

    def close(self) -> None:
        self._image = None
        shadow, self._shadow = getattr(self, "_shadow", None), None
        remove_shadow(shadow)


def _table_files(folder: Path) -> tuple[tuple[str, int, int, int], ...] | None:
    """(name, size, mtime, inode) of the image table's own files (not ``table.lock``,
    which casacore itself rewrites), to notice an image changed while it is open."""
    try:
        entries = []
        for entry in os.scandir(folder):
            if entry.name != "table.lock" and entry.is_file(follow_symlinks=True):
                st = entry.stat(follow_symlinks=True)
                entries.append((entry.name, st.st_size, st.st_mtime_ns, st.st_ino))
        return tuple(sorted(entries))
    except OSError:
        return ()


def _beam(record: Any) -> Beam | None:
    if not isinstance(record, dict) or "major" not in record:
        return None

    def quantity(key: str, table: dict[str, float]) -> float:
        q = record[key]
        return float(q["value"]) * table.get(str(q.get("unit", "")).strip(), 1.0)

    try:
        beam = Beam(quantity("major", _ARCSEC), quantity("minor", _ARCSEC), quantity("positionangle", _DEG))
    except (KeyError, TypeError, ValueError):
        return None
    return beam if beam.major > 0 and beam.minor > 0 else None


def _record(name: str, value: Any, comment: str) -> dict[str, Any]:
    return {"name": name, "value": value, "comment": comment, "card_string": format_card(name, value, comment)}
