"""World coordinates along a spectral (or plain linear) image axis, from FITS keywords.

Moments (ANALYTICS.md §6.2) and PV images (§7.3) need, per channel, the native world
value (Hz for a frequency axis), the frequency and the *radio* velocity. The
reference holds every spectral axis as a casacore ``SpectralCoordinate``:

* FREQ axes (and the frequency-proportional ENER/WAVN) and VRAD axes are linear in
  frequency, so the radio velocity is linear in the pixel and exact everywhere;
* other velocity or wavelength axes (VOPT, ZOPT, FELO, VELO, BETA, WAVE, AWAV) become
  a per-channel frequency *table*, interpolated linearly in frequency between
  channels (and extrapolated from the end segments). Its reference pixel is channel 0,
  which is why the integrated moment's channel width for a native optical axis is
  ``|v_rad(1) - v_rad(0)|`` rather than the derivative at CRPIX (§6.2 VOPT example).

A depth axis that is not spectral (no or unknown CTYPE) is a linear axis in its own
units. Values are float64; pixels are 0-based full-image channel numbers and may be
fractional.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from carta_trio.io.axis_roles import SPECTRAL_TYPES

__all__ = ["C_M_S", "C_KM_S", "SpectralAxis", "spectral_axis_from_header"]

C_M_S = 299792458.0
C_KM_S = C_M_S / 1000.0

#: CTYPE prefixes whose world value is proportional to (or linear in) frequency.
_LINEAR_IN_FREQUENCY = frozenset({"FREQ", "ENER", "WAVN", "VRAD"})
_VELOCITY_TYPES = frozenset({"VRAD", "VOPT", "ZOPT", "FELO", "VELO", "BETA"})

_UNIT_SCALES: dict[str, tuple[str, float]] = {
    "HZ": ("Hz", 1.0), "KHZ": ("Hz", 1e3), "MHZ": ("Hz", 1e6), "GHZ": ("Hz", 1e9),
    "M/S": ("m/s", 1.0), "KM/S": ("m/s", 1e3), "CM/S": ("m/s", 1e-2),
    "M": ("m", 1.0), "CM": ("m", 1e-2), "MM": ("m", 1e-3), "UM": ("m", 1e-6),
    "NM": ("m", 1e-9), "ANGSTROM": ("m", 1e-10),
    "J": ("J", 1.0), "EV": ("J", 1.602176634e-19), "/M": ("/m", 1.0),
}  # fmt: skip
_DEFAULT_UNITS = {"FREQ": "Hz", "ENER": "J", "WAVN": "/m", "WAVE": "m", "AWAV": "m"}
#: Air refractive index used for AWAV (wcslib's constant-index approximation is not
#: what casacore does either; AWAV cubes are rare enough that this is documented only).
_AIR_INDEX = 1.000293


def _number(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


@dataclass(frozen=True)
class SpectralAxis:
    """One image axis: type, linear WCS in SI units, rest frequency and length.

    ``kind`` is the CTYPE's first four letters (``FREQ``, ``VRAD``, ``VOPT``...), or
    ``""`` for a non-spectral axis. ``crpix`` is FITS 1-based; ``crval``/``cdelt`` are
    in ``unit`` (SI for spectral axes: Hz, m/s, m). ``rest_frequency`` is in Hz (0 when
    the header gives none).
    """

    kind: str
    crval: float
    crpix: float
    cdelt: float
    unit: str
    rest_frequency: float
    length: int
    ctype: str = ""
    specsys: str = ""

    @property
    def is_spectral(self) -> bool:
        return self.kind in SPECTRAL_TYPES

    @property
    def is_velocity(self) -> bool:
        return self.kind in _VELOCITY_TYPES

    @property
    def tabular(self) -> bool:
        """True when the reference interpolates a per-channel frequency table."""
        return self.is_spectral and self.kind not in _LINEAR_IN_FREQUENCY

    @property
    def converts_to_velocity(self) -> bool:
        """The moments' ``convertToVelocity``: a spectral axis with a rest frequency."""
        return self.is_spectral and self.rest_frequency > 0

    def world(self, pixels: np.ndarray | float) -> np.ndarray:
        """Native world values (``unit``) at 0-based pixels (the linear FITS WCS)."""
        p = np.asarray(pixels, dtype=np.float64)
        return self.crval + (p + 1.0 - self.crpix) * self.cdelt

    def _frequency_of_world(self, world: np.ndarray) -> np.ndarray:
        f0 = self.rest_frequency
        kind = self.kind
        with np.errstate(divide="ignore", invalid="ignore"):
            if kind == "FREQ":
                return world
            if kind == "ENER":
                return world / 6.62607015e-34
            if kind == "WAVN":
                return world * C_M_S
            if kind == "VRAD":
                return f0 * (1.0 - world / C_M_S)
            if kind in ("VOPT", "FELO"):
                return f0 / (1.0 + world / C_M_S)
            if kind == "ZOPT":
                return f0 / (1.0 + world)
            if kind == "VELO":
                return f0 * np.sqrt((C_M_S - world) / (C_M_S + world))
            if kind == "BETA":
                return f0 * np.sqrt((1.0 - world) / (1.0 + world))
            if kind == "WAVE":
                return C_M_S / world
            if kind == "AWAV":
                return C_M_S / (world * _AIR_INDEX)
        return np.full_like(world, np.nan)

    def frequency(self, pixels: np.ndarray | float) -> np.ndarray:
        """Frequencies in Hz at 0-based pixels (exact conversion of the linear WCS)."""
        return self._frequency_of_world(self.world(pixels))

    def table_frequency(self, pixels: np.ndarray | float) -> np.ndarray:
        """Frequency as the reference evaluates it: exact for axes linear in frequency,
        else linear interpolation in the per-channel table (extrapolated at the ends)."""
        p = np.asarray(pixels, dtype=np.float64)
        if not self.tabular or self.length < 2:
            return self.frequency(p)
        table = self.frequency(np.arange(self.length, dtype=np.float64))
        index = np.clip(np.floor(p), 0, self.length - 2).astype(np.int64)
        lo, hi = table[index], table[index + 1]
        value: np.ndarray = lo + (p - index) * (hi - lo)
        return value

    def radio_velocity_kms(self, pixels: np.ndarray | float) -> np.ndarray:
        """Radio velocity (km/s) at 0-based pixels; needs a rest frequency.

        A VRAD axis in m/s gives its own values; others go through frequency.
        """
        p = np.asarray(pixels, dtype=np.float64)
        if self.kind == "VRAD":
            return self.world(p) / 1000.0
        f = self.table_frequency(p)
        return C_KM_S * (1.0 - f / self.rest_frequency)

    def velocity_channel_width_kms(self) -> float:
        """``|v(ref + 0.5) - v(ref - 0.5)|`` in km/s, ``ref`` the reference pixel of the
        reference's coordinate (CRPIX for linear axes, channel 0 for a table)."""
        ref = 0.0 if self.tabular else self.crpix - 1.0
        v = self.radio_velocity_kms(np.array([ref - 0.5, ref + 0.5]))
        return float(abs(v[1] - v[0]))


def _normalise_unit(kind: str, cunit: str) -> tuple[str, float]:
    key = cunit.strip().replace(" ", "").upper()
    if key in _UNIT_SCALES:
        return _UNIT_SCALES[key]
    if not key:
        if kind in _VELOCITY_TYPES and kind not in ("ZOPT", "BETA"):
            return "m/s", 1.0
        default = _DEFAULT_UNITS.get(kind, "")
        return default, 1.0
    return cunit.strip(), 1.0


def spectral_axis_from_header(header: Mapping[str, Any], axis: int, length: int) -> SpectralAxis:
    """The axis ``axis`` (0-based FITS order) described by a ``{KEY: value}`` header.

    Units are converted to SI for spectral types (``CUNIT3 = 'km/s'`` gives m/s values).
    The rest frequency comes from ``RESTFRQ`` or ``RESTFREQ`` (0 if absent); a header
    with only ``RESTWAV`` gets ``c / RESTWAV``.
    """
    n = axis + 1
    ctype = str(header.get(f"CTYPE{n}", "") or "").strip()
    kind = ctype.upper()[:4]
    if kind not in SPECTRAL_TYPES:
        kind = ""
    unit, scale = _normalise_unit(kind, str(header.get(f"CUNIT{n}", "") or ""))
    if not kind:
        unit, scale = str(header.get(f"CUNIT{n}", "") or "").strip(), 1.0
    crval = _number(header.get(f"CRVAL{n}"), 0.0) * scale
    cdelt = _number(header.get(f"CDELT{n}"), 1.0) * scale
    crpix = _number(header.get(f"CRPIX{n}"), 1.0)
    rest = _number(header.get("RESTFRQ", header.get("RESTFREQ")), 0.0)
    if rest <= 0:
        wav = _number(header.get("RESTWAV"), 0.0)
        rest = C_M_S / wav if wav > 0 else 0.0
    specsys = str(header.get("SPECSYS", "") or "").strip()
    return SpectralAxis(kind, crval, crpix, cdelt, unit, rest, int(length), ctype, specsys)
