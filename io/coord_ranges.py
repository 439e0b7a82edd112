"""World-coordinate side of FILE_INFO: coordinate ranges (astropy WCS).

The reference evaluates its casacore coordinate system; this module does the same
with astropy's WCS (both are wcslib underneath) and formats like casacore
(``FileExtInfoLoader::AddCoordRanges``):

* direction axes: the four image corners, min/max per axis, printed with casacore's
  default direction format -- equatorial ``hh:mm:ss.sss`` / ``±dd.mm.ss.sss``, other
  frames decimal degrees with six decimals in (-180, 180] (``RA range``/``DEC range``,
  ``LON range``/``LAT range``);
* spectral axis: first and last channel as frequency in GHz (``{:.4f}``) and, with a
  rest frequency, velocity in km/s (radio unless the header asks for optical);
* Stokes axis: ``Stokes coverage`` ``[I, Q, U, V]``.
"""

from __future__ import annotations

import logging
import re
import warnings
from typing import TYPE_CHECKING, Sequence

import numpy as np

from carta_trio.io.angle_format import mvangle_angle, mvangle_time
from carta_trio.messages import schema as pb

if TYPE_CHECKING:
    from astropy.wcs import WCS  # astropy has no type stubs: WCS is Any to mypy

__all__ = [
    "C_KMS",
    "STOKES_NAMES",
    "build_wcs",
    "coordinate_ranges",
    "direction_range_entries",
    "spectral_range_entries",
    "stokes_entry",
]

log = logging.getLogger(__name__)

#: Speed of light in km/s.
C_KMS = 299792.458

#: FITS Stokes codes -> names (casacore's StokesCoordinate strings).
STOKES_NAMES = {
    1: "I", 2: "Q", 3: "U", 4: "V",
    -1: "RR", -2: "LL", -3: "RL", -4: "LR", -5: "XX", -6: "YY", -7: "XY", -8: "YX",
}  # fmt: skip

_DIRECTION_LNG = {"RA", "GLON", "ELON", "SLON"}
#: Keywords wcslib reads; only these are handed to astropy (a 500-card header parses 10x faster).
_WCS_KEY = re.compile(
    r"(CTYPE|CRVAL|CDELT|CRPIX|CUNIT|CROTA|CNAME|CRDER|CSYER|PC\d|CD\d|PV\d|PS\d|RESTFR|RESTWAV|SPECSYS|SSYS"
    r"|VELREF|VELOSYS|VELANG|ZSOURCE|EQUINOX|EPOCH|RADESYS|RADECSYS|LONPOLE|LATPOLE|MJD|DATE|WCSAXES|WCSNAME"
    r"|OBSGEO|TIMESYS|NAXIS)"
)


def _entry(name: str, value: str) -> pb.HeaderEntry:
    return pb.HeaderEntry(name=name, value=value, entry_type=pb.EntryType.STRING)


def build_wcs(cards: Sequence[str], naxis: int) -> WCS | None:
    """An astropy WCS of ``naxis`` axes from raw header cards, or None if unusable."""
    from astropy.io import fits
    from astropy.wcs import WCS

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            usable = [c for c in cards if c[8:10] == "= " and _WCS_KEY.match(c)]
            header = fits.Header.fromstring("".join(c.ljust(80)[:80] for c in usable))
            wcs = WCS(header, naxis=naxis, fix=True)
            wcs.wcs.set()
        return wcs
    except Exception as exc:  # noqa: BLE001 - any WCS failure means "no coordinates"
        log.debug("WCS construction failed: %s", exc)
        return None


def _format_direction(values: Sequence[float], equatorial: bool, latitude: bool) -> list[str]:
    if equatorial:
        if latitude:
            return [mvangle_angle(v, 9, dig2=True) for v in values]
        return [mvangle_time(v, 9) for v in values]
    out = []
    for v in values:
        if v > 180.0:
            v -= 360.0
        elif v <= -180.0:
            v += 360.0
        out.append(f"{v:.6f}")
    return out


def direction_range_entries(wcs: WCS, shape: Sequence[int], label_equatorial: bool | None = None) -> list[pb.HeaderEntry]:
    """``RA range``/``DEC range`` (or ``LON``/``LAT``) from the four image corners."""
    w = wcs.wcs
    if not (w.lng >= 0 and w.lat >= 0 and w.lngtyp in _DIRECTION_LNG):
        return []
    lng, lat = w.lng, w.lat
    nx, ny = shape[lng] - 1, shape[lat] - 1
    corners = [(0, 0), (nx, ny), (0, ny), (nx, 0)]
    pixels = np.zeros((4, wcs.naxis))
    for row, (px, py) in enumerate(corners):
        pixels[row, lng], pixels[row, lat] = px, py
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            world = wcs.wcs_pix2world(pixels, 0)
    except Exception as exc:  # noqa: BLE001
        log.debug("direction ranges failed: %s", exc)
        return []
    xs, ys = world[:, lng], world[:, lat]
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        return []
    equatorial = w.lngtyp == "RA" if label_equatorial is None else label_equatorial
    x_text = _format_direction([float(xs.min()), float(xs.max())], equatorial, False)
    y_text = _format_direction([float(ys.min()), float(ys.max())], equatorial, True)
    x_name, y_name = ("RA", "DEC") if equatorial else ("LON", "LAT")
    return [
        _entry(f"{x_name} range", f"[{x_text[0]}, {x_text[1]}]"),
        _entry(f"{y_name} range", f"[{y_text[0]}, {y_text[1]}]"),
    ]


def velocity_kms(freq_hz: float, rest_hz: float, optical: bool = False) -> float:
    """Velocity of ``freq_hz`` for a rest frequency (radio: -c (f - f0) / f0)."""
    if optical:
        return C_KMS * (rest_hz / freq_hz - 1.0)
    return -C_KMS * (freq_hz - rest_hz) / rest_hz


def spectral_range_entries(
    frequencies_hz: Sequence[float], rest_hz: float, optical: bool = False
) -> list[pb.HeaderEntry]:
    """``Frequency range``/``Frequency`` and ``Velocity range``/``Velocity`` entries."""
    entries: list[pb.HeaderEntry] = []
    first, last = frequencies_hz[0] / 1e9, frequencies_hz[-1] / 1e9
    many = len(frequencies_hz) > 1
    if many:
        entries.append(_entry("Frequency range", f"[{first:.4f}, {last:.4f}] (GHz)"))
    else:
        entries.append(_entry("Frequency", f"{first:.4f} (GHz)"))
    if rest_hz != 0.0:
        v0 = velocity_kms(frequencies_hz[0], rest_hz, optical)
        if many:
            v1 = velocity_kms(frequencies_hz[-1], rest_hz, optical)
            entries.append(_entry("Velocity range", f"[{v0:.4f}, {v1:.4f}] (km/s)"))
        else:
            entries.append(_entry("Velocity", f"{v0:.4f} (km/s)"))
    return entries


def _frequencies(wcs: WCS, spec: int, count: int) -> list[float] | None:
    """Frequencies (Hz) of the first and last channel, converting velocity/wavelength axes."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sub = wcs.sub([spec + 1])
            if not sub.wcs.ctype[0].upper().startswith("FREQ"):
                sub.wcs.sptr("FREQ-???")
            sub.wcs.set()
            pixels = [0.0, float(count - 1)] if count > 1 else [0.0]
            world = sub.wcs_pix2world(np.array(pixels)[:, None], 0)[:, 0]
    except Exception as exc:  # noqa: BLE001
        log.debug("spectral conversion failed: %s", exc)
        return None
    values = [float(v) for v in world]
    return values if all(np.isfinite(values)) else None


def is_optical(wcs: WCS, velref: int | None) -> bool:
    """The velocity convention casacore would use for this spectral axis."""
    if velref is not None:
        return not velref > 256
    ctype = wcs.wcs.ctype[wcs.wcs.spec].upper() if wcs.wcs.spec >= 0 else ""
    return ctype.startswith(("VOPT", "FELO", "ZOPT"))


def stokes_entry(codes: Sequence[int]) -> pb.HeaderEntry | None:
    names = [STOKES_NAMES[c] for c in codes if c in STOKES_NAMES]
    if not names:
        return None
    return _entry("Stokes coverage", f"[{', '.join(names)}]")


def _stokes_codes(wcs: WCS, axis: int, count: int) -> list[int]:
    try:
        sub = wcs.sub([axis + 1])
        world = sub.wcs_pix2world(np.arange(count, dtype=float)[:, None], 0)[:, 0]
    except Exception:  # noqa: BLE001
        return []
    return [int(round(float(v))) for v in world]


def coordinate_ranges(
    wcs: WCS | None, shape: Sequence[int], stokes: int | None, velref: int | None = None
) -> list[pb.HeaderEntry]:
    """All range entries (direction, spectral, Stokes) for an image of ``shape`` whose
    Stokes axis (from :mod:`carta_trio.io.axis_roles`) is ``stokes``."""
    if wcs is None or not shape:
        return []
    entries = direction_range_entries(wcs, shape)
    spec = wcs.wcs.spec
    if 0 <= spec < len(shape) and shape[spec] > 0:
        freqs = _frequencies(wcs, spec, shape[spec])
        if freqs is not None:
            entries += spectral_range_entries(freqs, float(wcs.wcs.restfrq or 0.0), is_optical(wcs, velref))
    if stokes is not None and stokes < wcs.naxis:
        entry = stokes_entry(_stokes_codes(wcs, stokes, shape[stokes]))
        if entry is not None:
            entries.append(entry)
    return entries
