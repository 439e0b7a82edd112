"""Test images written on demand: FITS (every BITPIX, scaled, blank, gzip, tile-compressed,
multi-HDU), IDIA HDF5 (with or without mipmaps, swizzled data, statistics), CASA and MIRIAD.

Shared by every test suite: ``from tests.image_factory import make_cube, write_fits, ...``.
Arrays are numpy (C) order: ``(nstokes, nz, ny, nx)`` / ``(nz, ny, nx)`` / ``(ny, nx)``;
header cards are ``(key, value, comment)`` tuples in FITS order (``NAXIS1`` = x).

Writers return the values a correct reader must give back, computed here with numpy
(physical float32, NaN where blank) and independent of the readers under test. Plain
FITS files are written byte by byte (cards formatted by astropy); fitsio is used only
for tile compression and binary tables, h5py for HDF5, python-casacore for CASA.
"""

from __future__ import annotations

import gzip
import math
import os
import shutil
import struct
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io.fits import Card

Cards = Sequence[tuple[Any, ...]]

BLOCK = 2880
BITPIX_DTYPES = {8: np.dtype("u1"), 16: np.dtype(">i2"), 32: np.dtype(">i4"),
                 64: np.dtype(">i8"), -32: np.dtype(">f4"), -64: np.dtype(">f8")}
_STRUCTURAL = ("SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT",
               "BSCALE", "BZERO", "BLANK", "EXTNAME", "END")


# -- data -------------------------------------------------------------------------
def source_pixel(shape: Sequence[int]) -> tuple[int, int]:
    """(x, y) of the bright source :func:`make_cube` puts in every plane."""
    return shape[-1] // 3, shape[-2] // 2


def make_cube(shape: Sequence[int], seed: int = 0, *, peak: float = 100.0, nans: bool = True) -> np.ndarray:
    """Float32 noise (sigma 1) plus a bright Gaussian source (sigma 1.5 px) at
    :func:`source_pixel`, whose peak is ``peak * (1 + 0.1 * channel) / (1 + stokes)``.

    With ``nans``: pixel (x=0, y=0) is NaN in every plane, and in the first plane also
    the last row's first three pixels.
    """
    rng = np.random.default_rng(seed)
    data = rng.normal(0.0, 1.0, size=tuple(shape)).astype(np.float64)
    ny, nx = shape[-2], shape[-1]
    sx, sy = source_pixel(shape)
    yy, xx = np.mgrid[0:ny, 0:nx]
    blob = np.exp(-((xx - sx) ** 2 + (yy - sy) ** 2) / (2 * 1.5 ** 2))
    nz = shape[-3] if len(shape) >= 3 else 1
    ns = math.prod(shape[:-3]) if len(shape) >= 4 else 1
    scale = peak * (1 + 0.1 * np.arange(nz))[None, :] / (1 + np.arange(ns))[:, None]
    data += (scale[:, :, None, None] * blob).reshape((ns, nz, ny, nx)).reshape(shape)
    out = data.astype(np.float32)
    if nans:
        out[..., 0, 0] = np.nan
        first = out.reshape(-1, ny, nx)[0]
        first[ny - 1, : min(3, nx)] = np.nan
    return out


# -- headers ----------------------------------------------------------------------
_AXIS_DEFAULTS = {
    "RA": (201.365, 17.0, -0.0005, "deg"), "DEC": (-43.019, 13.0, 0.0005, "deg"),
    "GLON": (120.5, 32.0, -0.01, "deg"), "GLAT": (-2.25, 24.0, 0.01, "deg"),
    "ELON": (200.0, 32.0, -0.01, "deg"), "ELAT": (10.5, 24.0, 0.01, "deg"),
    "FREQ": (230.538e9, 1.0, 1.0e6, "Hz"), "VRAD": (0.0, 1.0, 1000.0, "m/s"),
    "VOPT": (0.0, 1.0, 1000.0, "m/s"), "WAVE": (1.3e-3, 1.0, 1e-8, "m"),
    "STOKES": (1.0, 1.0, 1.0, ""),
}


def wcs_header(ctypes: Sequence[str], *, bunit: str | None = "Jy/beam",
               beam: tuple[float, float, float] | None = (0.0025, 0.0015, -20.0),
               restfrq: float | None = 230.538e9, extra: Cards = ()) -> list[tuple[str, Any, str]]:
    """WCS cards for axes ``ctypes`` (FITS order, e.g. ``("RA---SIN", "DEC--SIN", "FREQ")``)
    with the GOLDEN cube_freq.fits values; ``beam`` in degrees (BMAJ, BMIN, BPA)."""
    cards: list[tuple[str, Any, str]] = []
    names = []
    for i, ctype in enumerate(ctypes, start=1):
        name = ctype.split("-", 1)[0].upper()
        names.append(name)
        crval, crpix, cdelt, cunit = _AXIS_DEFAULTS.get(name, (0.0, 1.0, 1.0, ""))
        cards += [(f"CTYPE{i}", ctype, ""), (f"CRVAL{i}", crval, ""), (f"CRPIX{i}", crpix, ""),
                  (f"CDELT{i}", cdelt, ""), (f"CUNIT{i}", cunit, "")]
    if any(n in ("FREQ", "VRAD", "VOPT", "WAVE") for n in names):
        if restfrq is not None:
            cards.append(("RESTFRQ", restfrq, ""))
        cards.append(("SPECSYS", "LSRK", ""))
    if "RA" in names:
        cards += [("EQUINOX", 2000.0, ""), ("RADESYS", "FK5", "")]
    if bunit is not None:
        cards.append(("BUNIT", bunit, ""))
    if beam is not None:
        cards += [("BMAJ", beam[0], ""), ("BMIN", beam[1], ""), ("BPA", beam[2], "")]
    cards += [tuple(c) + ("",) * (3 - len(c)) for c in extra]
    return cards


def _card_image(key: str, value: Any, comment: str = "") -> str:
    if key in ("HISTORY", "COMMENT"):
        return Card(key, value if value is not None else comment).image
    return Card(key, value, comment).image


# -- FITS -------------------------------------------------------------------------
def _stored_values(data: np.ndarray, bitpix: int, bscale: float | None, bzero: float | None,
                   blank: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(stored big-endian array, physical float32 values a reader must return)."""
    dtype = BITPIX_DTYPES[bitpix]
    scale = 1.0 if bscale is None else float(bscale)
    zero = 0.0 if bzero is None else float(bzero)
    phys = np.asarray(data, dtype=np.float64)
    nan = np.isnan(phys)
    if bitpix > 0:
        if nan.any() and blank is None:
            raise ValueError("integer FITS with NaNs needs a BLANK value")
        info = np.iinfo(dtype)
        stored = np.rint((np.where(nan, zero, phys) - zero) / scale)
        stored = np.clip(stored, info.min, info.max).astype(dtype)
        if blank is not None:
            stored[nan] = blank
        expected = (stored.astype(np.float64) * scale + zero).astype(np.float32)
        if blank is not None:
            expected[stored == blank] = np.nan
    else:
        stored = ((phys - zero) / scale).astype(dtype)
        expected = (stored.astype(np.float64) * scale + zero).astype(np.float32)
    return stored, expected


def _hdu_bytes(first: tuple[str, Any, str], data: np.ndarray | None, header: Cards | None,
               bitpix: int, bscale: float | None, bzero: float | None, blank: int | None,
               extname: str | None, primary: bool) -> tuple[bytes, np.ndarray | None]:
    cards = [_card_image(*first), _card_image("BITPIX", bitpix)]
    shape = () if data is None else data.shape
    cards.append(_card_image("NAXIS", len(shape)))
    for i, n in enumerate(reversed(shape), start=1):
        cards.append(_card_image(f"NAXIS{i}", int(n)))
    if primary:
        cards.append(_card_image("EXTEND", True))
    else:
        cards += [_card_image("PCOUNT", 0), _card_image("GCOUNT", 1)]
    for key, value in (("BSCALE", bscale), ("BZERO", bzero), ("BLANK", blank), ("EXTNAME", extname)):
        if value is not None:
            cards.append(_card_image(key, value))
    for card in header or ():
        key = card[0].upper()
        if key in _STRUCTURAL or (key.startswith("NAXIS") and key[5:].isdigit()):
            continue
        cards.append(_card_image(key, card[1], card[2] if len(card) > 2 else ""))
    cards.append("END".ljust(80))
    text = "".join(cards).encode("ascii")
    out = text + b" " * (-len(text) % BLOCK)
    expected = None
    if data is not None:
        stored, expected = _stored_values(data, bitpix, bscale, bzero, blank)
        raw = stored.astype(BITPIX_DTYPES[bitpix]).tobytes()
        out += raw + b"\0" * (-len(raw) % BLOCK)
    return out, expected


def write_fits(path: str | os.PathLike[str], data: np.ndarray | None, header: Cards | None = None,
               bitpix: int = -32, bscale: float | None = None, bzero: float | None = None,
               blank: int | None = None, compress: str | None = None,
               extname: str | None = None) -> np.ndarray | None:
    """Write a single-image FITS file; return the physical float32 values (NaN = blank).

    ``data`` None writes an empty primary HDU. Integer ``bitpix`` stores
    ``round((data - bzero) / bscale)`` with NaN -> ``blank``. ``compress`` ('RICE', 'GZIP',
    'HCOMPRESS', 'PLIO') writes a tile-compressed image in extension 1 behind an empty
    primary (lossless only: integer data, or floats with GZIP). A path ending ``.gz`` is
    gzip-compressed after writing.
    """
    path = Path(path)
    gz = path.suffix == ".gz"
    target = path.with_suffix("") if gz else path
    if compress:
        expected = _write_compressed(target, data, header, bitpix, bscale, bzero, blank, compress, extname)
    else:
        block, expected = _hdu_bytes(("SIMPLE", True, "conforms to FITS standard"), data, header, bitpix,
                                     bscale, bzero, blank, None, primary=True)
        target.write_bytes(block)
    if gz:
        gzip_file(target, path)
        target.unlink()
    return expected


def _write_compressed(path: Path, data: np.ndarray | None, header: Cards | None, bitpix: int,
                      bscale: float | None, bzero: float | None, blank: int | None, compress: str,
                      extname: str | None) -> np.ndarray:
    import fitsio

    if data is None:
        raise ValueError("a compressed image needs data")
    if bitpix < 0 and compress.upper() != "GZIP":
        raise ValueError("lossless compression of floating point data needs GZIP")
    stored, expected = _stored_values(data, bitpix, bscale, bzero, blank)
    records = [{"name": k, "value": v} for k, v in (("BSCALE", bscale), ("BZERO", bzero), ("BLANK", blank))
               if v is not None]
    for card in header or ():
        if card[0].upper() not in _STRUCTURAL:
            records.append({"name": card[0], "value": card[1], "comment": card[2] if len(card) > 2 else ""})
    native = stored.astype(stored.dtype.newbyteorder("="))
    if path.exists():
        path.unlink()
    fitsio.write(str(path), native, header=records, compress=compress, extname=extname,
                 qlevel=None, clobber=True)
    return expected


def append_image_hdu(path: str | os.PathLike[str], data: np.ndarray | None, header: Cards | None = None,
                     bitpix: int = -32, bscale: float | None = None, bzero: float | None = None,
                     blank: int | None = None, extname: str | None = None) -> np.ndarray | None:
    """Append an IMAGE extension to an existing (plain) FITS file; return its physical values."""
    block, expected = _hdu_bytes(("XTENSION", "IMAGE", "IMAGE extension"), data, header, bitpix,
                                 bscale, bzero, blank, extname, primary=False)
    with open(path, "ab") as fh:
        fh.write(block)
    return expected


def append_table_hdu(path: str | os.PathLike[str], columns: dict[str, np.ndarray], extname: str = "TAB",
                     header: Cards | None = None) -> None:
    """Append a binary table extension (written with fitsio)."""
    import fitsio

    names = list(columns)
    table = np.zeros(len(columns[names[0]]), dtype=[(n, np.asarray(columns[n]).dtype) for n in names])
    for n in names:
        table[n] = columns[n]
    records = [{"name": c[0], "value": c[1], "comment": c[2] if len(c) > 2 else ""} for c in header or ()]
    with fitsio.FITS(str(path), "rw") as f:
        f.write(table, extname=extname, header=records or None)


def append_beams_table(path: str | os.PathLike[str], beams: Sequence[tuple[float, float, float]],
                       nchan: int, npol: int) -> None:
    """Append casacore's per-plane ``BEAMS`` table (arcsec, arcsec, deg; channel fastest).
    The image header must carry ``CASAMBM = T``."""
    chan = np.array([i % nchan for i in range(len(beams))], dtype=np.int32)
    pol = np.array([i // nchan for i in range(len(beams))], dtype=np.int32)
    arr = np.asarray(beams, dtype=np.float32)
    import fitsio

    table = np.zeros(len(beams), dtype=[("BMAJ", "f4"), ("BMIN", "f4"), ("BPA", "f4"), ("CHAN", "i4"), ("POL", "i4")])
    table["BMAJ"], table["BMIN"], table["BPA"], table["CHAN"], table["POL"] = arr[:, 0], arr[:, 1], arr[:, 2], chan, pol
    with fitsio.FITS(str(path), "rw") as f:
        f.write(table, extname="BEAMS", units=["arcsec", "arcsec", "deg", "", ""],
                header=[{"name": "NCHAN", "value": nchan}, {"name": "NPOL", "value": npol}])


def gzip_file(src: str | os.PathLike[str], dst: str | os.PathLike[str] | None = None) -> Path:
    """gzip ``src`` to ``dst`` (default ``src + '.gz'``)."""
    dst = Path(dst) if dst is not None else Path(str(src) + ".gz")
    with open(src, "rb") as fi, gzip.open(dst, "wb") as fo:
        shutil.copyfileobj(fi, fo)
    return dst


def truncate_file(path: str | os.PathLike[str], size: int) -> None:
    """Cut a file to ``size`` bytes (a truncated download)."""
    with open(path, "r+b") as fh:
        fh.truncate(size)


# -- HDF5 -------------------------------------------------------------------------
def block_mean(plane: np.ndarray, mip: int) -> np.ndarray:
    """NaN-ignoring mean over ``mip`` x ``mip`` blocks (edge blocks partial; all-NaN -> NaN)."""
    ny, nx = plane.shape
    py, px = math.ceil(ny / mip) * mip, math.ceil(nx / mip) * mip
    padded = np.full((py, px), np.nan)
    padded[:ny, :nx] = plane
    blocks = padded.reshape(py // mip, mip, px // mip, mip)
    finite = np.isfinite(blocks)
    total = np.where(finite, blocks, 0.0).sum(axis=(1, 3))
    count = finite.sum(axis=(1, 3))
    out = np.full(total.shape, np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out.astype(np.float32)


def plane_stats(values: np.ndarray, num_bins: int | None = None) -> dict[str, Any]:
    """Stats of the finite values as the IDIA converter stores them (histogram over [min, max])."""
    v = np.asarray(values, dtype=np.float64).ravel()
    finite = v[np.isfinite(v)]
    nbins = num_bins or max(2, int(math.sqrt(values.shape[-1] * values.shape[-2])))
    if finite.size:
        hist, _ = np.histogram(finite, bins=nbins, range=(finite.min(), finite.max()))
        return {"min": finite.min(), "max": finite.max(), "sum": finite.sum(), "sum_sq": (finite ** 2).sum(),
                "nan_count": int(v.size - finite.size), "histogram": hist.astype(np.int64)}
    return {"min": np.nan, "max": np.nan, "sum": 0.0, "sum_sq": 0.0, "nan_count": int(v.size),
            "histogram": np.zeros(nbins, np.int64)}


def write_hdf5_idia(path: str | os.PathLike[str], data: np.ndarray, header: Cards | None = None, *,
                    mipmaps: bool | Iterable[int] = True, swizzled: bool = True, stats: bool = True,
                    group: str = "0", simple: bool = True, track_order: bool = True,
                    schema_version: str = "0.3") -> None:
    """Write an IDIA-schema HDF5 image (see ``io/hdf5_reader.py`` for the layout).

    Attributes: ``SIMPLE`` (uint8 1, unless ``simple=False``), the four HDF5_* strings,
    ``BITPIX``/``NAXIS``/``NAXISn``, then ``header`` (ints int64, floats float64, bools
    uint8, strings fixed-length), in creation order. ``mipmaps=True`` writes every power
    of two below the larger image side (fits2idia stops earlier, at its minimum mip size;
    its ``DATA_Z_*``/``DATA_XYZ_*`` spectral mips are not written).
    """
    import h5py

    data = np.asarray(data)
    shape_fits = list(reversed(data.shape))
    with h5py.File(path, "w") as f:
        g = f.create_group(group, track_order=track_order)
        attrs: list[tuple[str, Any]] = []
        if simple:
            attrs.append(("SIMPLE", np.uint8(1)))
        attrs += [("SCHEMA_VERSION", np.bytes_(schema_version)), ("HDF5_CONVERTER", np.bytes_("hdf_convert")),
                  ("HDF5_CONVERTER_VERSION", np.bytes_("0.1.10")), ("HDF5_DATE", np.bytes_("2024-01-01T00:00:00")),
                  ("BITPIX", np.int64(-32 if data.dtype.itemsize == 4 else -64)), ("NAXIS", np.int64(data.ndim))]
        attrs += [(f"NAXIS{i}", np.int64(n)) for i, n in enumerate(shape_fits, start=1)]
        for card in header or ():
            key, value = card[0].upper(), card[1]
            if key in ("SIMPLE", "EXTEND", "BITPIX", "NAXIS", "HISTORY", "COMMENT", "END") or (
                    key.startswith("NAXIS") and key[5:].isdigit()):
                continue
            if isinstance(value, bool):
                attrs.append((key, np.uint8(value)))
            elif isinstance(value, int):
                attrs.append((key, np.int64(value)))
            elif isinstance(value, float):
                attrs.append((key, np.float64(value)))
            else:
                attrs.append((key, np.bytes_(str(value))))
        for key, value in attrs:
            g.attrs[key] = value
        g.create_dataset("DATA", data=data)
        planes = data.reshape((-1,) + data.shape[-2:])
        if swizzled:
            name, axes = {2: ("YX", (1, 0)), 3: ("ZYX", (2, 1, 0)), 4: ("ZYXW", (0, 3, 2, 1))}[data.ndim]
            g.create_dataset(f"SwizzledData/{name}", data=np.ascontiguousarray(data.transpose(axes)))
        levels = _mip_levels(data.shape, mipmaps)
        for mip in levels:
            reduced = np.stack([block_mean(p, mip) for p in planes])
            g.create_dataset(f"MipMaps/DATA/DATA_XY_{mip}",
                             data=reduced.reshape(data.shape[:-2] + reduced.shape[-2:]).astype(data.dtype))
        if stats:
            _write_stats(g, data)


def _mip_levels(shape: Sequence[int], mipmaps: bool | Iterable[int]) -> list[int]:
    if mipmaps is True:
        levels, mip = [], 2
        while mip < max(shape[-1], shape[-2]):
            levels.append(mip)
            mip *= 2
        return levels
    if mipmaps is False:
        return []
    return list(mipmaps)


def _write_stats(g: Any, data: np.ndarray) -> None:
    lead = data.shape[:-2]
    planes = data.reshape((-1,) + data.shape[-2:])
    per_plane = [plane_stats(p) for p in planes]
    for key, name in (("min", "MIN"), ("max", "MAX"), ("sum", "SUM"), ("sum_sq", "SUM_SQ"),
                      ("nan_count", "NAN_COUNT"), ("histogram", "HISTOGRAM")):
        values = np.array([s[key] for s in per_plane])
        dtype = np.int64 if key in ("nan_count", "histogram") else np.float32
        g.create_dataset(f"Statistics/XY/{name}", data=values.reshape(lead + values.shape[1:]).astype(dtype))
    if data.ndim >= 3:
        cubes = data.reshape((-1,) + data.shape[-3:]) if data.ndim == 4 else data[np.newaxis]
        per_cube = [plane_stats(c, num_bins=max(2, int(math.sqrt(c.shape[-1] * c.shape[-2])))) for c in cubes]
        for key, name in (("min", "MIN"), ("max", "MAX"), ("sum", "SUM"), ("sum_sq", "SUM_SQ"),
                          ("nan_count", "NAN_COUNT"), ("histogram", "HISTOGRAM")):
            values = np.array([s[key] for s in per_cube])
            if data.ndim == 3:
                values = values[0]
            dtype = np.int64 if key in ("nan_count", "histogram") else np.float32
            g.create_dataset(f"Statistics/XYZ/{name}", data=np.asarray(values).astype(dtype))


# -- CASA and MIRIAD --------------------------------------------------------------
def write_casa(path: str | os.PathLike[str], data: np.ndarray, header: Cards | None = None, *,
               mask: np.ndarray | None = None,
               beams: Sequence[tuple[float, float, float]] | None = None) -> np.ndarray:
    """Write a CASA image (python-casacore: FITS -> ``saveas``); return the expected values.

    ``mask`` (True = masked, numpy order) becomes the image's default pixel mask and
    NaN in the expected array. ``beams`` (arcsec, arcsec, deg per plane, channel fastest)
    replaces the restoring beam with a per-plane beam set.
    """
    from casacore import images, tables

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="carta-trio-casa-") as tmp:
        fits_path = os.path.join(tmp, "image.fits")
        expected = write_fits(fits_path, data, header)
        assert expected is not None
        image = images.image(fits_path)
        image.saveas(str(path), overwrite=True)
        del image
    if mask is not None:
        image = images.image(str(path))
        image.putmask(np.asarray(mask, dtype=bool))
        del image
        expected = expected.copy()
        expected[np.asarray(mask, dtype=bool)] = np.nan
    if beams is not None:
        nz = data.shape[-3] if data.ndim >= 3 else 1
        ns = data.shape[-4] if data.ndim >= 4 else 1
        table = tables.table(str(path), readonly=False, ack=False)
        info = table.getkeyword("imageinfo")
        info.pop("restoringbeam", None)
        planes: dict[str, Any] = {"nChannels": nz, "nStokes": ns}
        for i, (bmaj, bmin, bpa) in enumerate(beams):
            planes[f"*{i}"] = {"major": {"value": float(bmaj), "unit": "arcsec"},
                               "minor": {"value": float(bmin), "unit": "arcsec"},
                               "positionangle": {"value": float(bpa), "unit": "deg"}}
        info["perplanebeams"] = planes
        table.putkeyword("imageinfo", info)
        table.close()
    return expected


_MIRIAD_TYPES = {"int": (2, ">i4", 4), "real": (4, ">f4", 4), "dble": (5, ">f8", 8)}


def _miriad_item(value: Any, kind: str) -> bytes:
    if kind == "txt":
        return bytes([0, 0, 0, 1]) + str(value).encode("ascii")
    code, fmt, size = _MIRIAD_TYPES[kind]
    pad = b"\0" * (-4 % size)
    return bytes([0, 0, 0, code]) + pad + np.array(value, dtype=fmt).tobytes()


def write_miriad(path: str | os.PathLike[str], data: np.ndarray, header: Cards | None = None) -> np.ndarray:
    """Write a MIRIAD image directory (``header`` item cache + big-endian ``image`` item).

    ``header`` is FITS-like (as :func:`wcs_header`); celestial values are converted to
    radians, frequencies to GHz, velocities to km/s, beams to radians, as MIRIAD stores
    them. Returns the expected float32 values.
    """
    path = Path(path)
    path.mkdir(parents=True)
    cards = {c[0].upper(): c[1] for c in header or ()}
    items: list[tuple[str, Any, str]] = [("naxis", data.ndim, "int")]
    items += [(f"naxis{i}", int(n), "int") for i, n in enumerate(reversed(data.shape), start=1)]
    for i in range(1, data.ndim + 1):
        ctype = str(cards.get(f"CTYPE{i}", ""))
        if not ctype:
            continue
        name = ctype.split("-", 1)[0].upper()
        factor = 1.0
        if name in ("RA", "DEC", "GLON", "GLAT", "ELON", "ELAT"):
            factor = math.pi / 180.0
        elif name == "FREQ":
            factor = 1e-9
        elif name in ("VRAD", "VOPT", "VELO", "FELO"):
            factor = 1e-3
        items.append((f"ctype{i}", ctype, "txt"))
        for key in ("CRVAL", "CDELT"):
            if f"{key}{i}" in cards:
                items.append((f"{key.lower()}{i}", float(cards[f"{key}{i}"]) * factor, "dble"))
        if f"CRPIX{i}" in cards:
            items.append((f"crpix{i}", float(cards[f"CRPIX{i}"]), "dble"))
    if "BUNIT" in cards:
        items.append(("bunit", cards["BUNIT"], "txt"))
    for key in ("BMAJ", "BMIN"):
        if key in cards:
            items.append((key.lower(), float(cards[key]) * math.pi / 180.0, "real"))
    if "BPA" in cards:
        items.append(("bpa", float(cards["BPA"]), "real"))
    if "RESTFRQ" in cards:
        items.append(("restfreq", float(cards["RESTFRQ"]) * 1e-9, "dble"))
    if "EQUINOX" in cards:
        items.append(("epoch", float(cards["EQUINOX"]), "real"))
    cache = b""
    for name, value, kind in items:
        body = _miriad_item(value, kind)
        if len(body) > 64:
            raise ValueError(f"MIRIAD header item {name} too long")
        cache += name.encode("ascii").ljust(15, b"\0") + bytes([len(body)]) + body + b"\0" * (-len(body) % 16)
    (path / "header").write_bytes(cache)
    expected = np.asarray(data, dtype=np.float32)
    (path / "image").write_bytes(struct.pack(">i", 4) + expected.astype(">f4").tobytes())
    return expected.copy()
