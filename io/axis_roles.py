"""The one place that decides which image axis is x, y, depth, Stokes, spectral and sky.

Every caller goes through here: the readers (FITS, HDF5, generated images, joined Stokes
files, CASA/MIRIAD) when they open an image, and FILE_INFO when it describes one, so the
geometry the viewer is told about is the geometry it then gets. Two steps:

1. *Classify* each axis as ``lon``, ``lat``, ``spectral``, ``stokes`` or ``linear``:
   :func:`axis_kinds` from the CTYPEs of a FITS-like header (FITS cards, HDF5-IDIA
   attributes, CARTA's own generated headers), :func:`casacore_axis_kinds` from a
   casacore coordinate system (CASA and MIRIAD images).
2. *Assign roles* with :func:`find_axis_roles`, the reference's
   ``FileLoader::FindCoordinateAxes`` (BEHAVIOUR.md §6.2, GOLDEN.md §3.8, the ICD test
   OPEN_SWAPPED_IMAGES):

   * render axes ``x``, ``y``: the first two axes that are not the Stokes axis (a 2D
     image renders both axes and has no Stokes axis);
   * spectral and Stokes axes as classified. A 3D image with neither has axis 3 as
     spectral. A 4D image with one of them missing takes the other of axes 3/4; with
     both missing an axis longer than 4 is spectral (axis 3 checked first), else axis 3
     is spectral and axis 4 Stokes;
   * depth ``z``: the first axis that is neither a render axis nor the Stokes axis;
   * spatial axes: the celestial (direction) pair, else the first two linear axes.

   So a (FREQ, RA, DEC) cube renders FREQ x RA planes and steps through DEC, exactly as
   the reference and the frontend's "swapped-Z" mode expect.

The classification follows casacore's FITS conversion (wcslib) where it matters to the
roles: a celestial axis counts only with its partner (a lone ``RA`` axis is linear), and
``FREQ-LSR``/``VELO-HEL``/``FELO-HEL`` style AIPS suffixes are spectral. Deliberately more
lenient than casacore: CTYPEs are compared case-insensitively (``stokes``, ``freq``;
casacore makes them linear, the reference's own header scan accepts any case of
``STOKES``), which only changes a result when the 4D shape guess would have guessed
differently.

:func:`scan_header_roles` is the reference's second, header-only rule, used solely for the
FILE_INFO of a ``.fits.gz`` asked without an HDU (``AddInitialComputedEntries``); it is
kept here, next to the real rule, because the frontend shows what it computes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from carta_trio.io.image_reader import AxisRoles, fits_stokes_values

#: What one axis is: a celestial longitude/latitude, spectral, Stokes, or anything else.
AxisKind = Literal["lon", "lat", "spectral", "stokes", "linear"]

#: CTYPE prefixes (first four characters) that casacore/wcslib read as spectral.
SPECTRAL_TYPES = frozenset({"FREQ", "ENER", "WAVN", "VRAD", "WAVE", "VOPT", "ZOPT",
                            "AWAV", "VELO", "BETA", "FELO"})
#: Substrings the reference's header-only scan takes as spectral (``WAV`` covers WAVE/AWAV).
_SCAN_SPECTRAL_WORDS = ("FREQ", "WAV", "ENER", "VOPT", "ZOPT", "VELO", "VRAD", "BETA", "FELO")

#: The reference's messages for images it cannot assign roles to.
BAD_DIMENSIONS = "Image must be 2D, 3D or 4D."
INCOMPLETE_HEADER = "Problem loading image: cannot determine coordinate axes from incomplete header."


def ctype_name(ctype: str) -> str:
    """The CTYPE up to its first ``-`` (``RA---SIN`` -> ``RA``), upper case."""
    return ctype.strip().upper().split("-", 1)[0]


def is_stokes(ctype: str) -> bool:
    """``STOKES`` in any case."""
    return ctype.strip().upper() == "STOKES"


def is_spectral(ctype: str) -> bool:
    """A spectral CTYPE (``FREQ``, ``VRAD``, ``FREQ-LSR``, ``VOPT-F2W``, ``velo-hel``...)."""
    return ctype.strip().upper()[:4] in SPECTRAL_TYPES


def celestial_kind(ctype: str) -> Literal["lon", "lat"] | None:
    """``"lon"``, ``"lat"`` or None for a CTYPE (RA/DEC, xLON/xLAT, xxLN/xxLT)."""
    name = ctype_name(ctype)
    if name == "RA":
        return "lon"
    if name == "DEC":
        return "lat"
    if len(name) == 4 and name[1:] in ("LON", "LAT"):
        return "lon" if name[1:] == "LON" else "lat"
    if len(name) == 4 and name[2:] in ("LN", "LT"):
        return "lon" if name[2:] == "LN" else "lat"
    return None


def axis_kinds(ctypes: Sequence[str]) -> list[AxisKind]:
    """The kind of each axis of a FITS-like header from its CTYPEs (``""`` where missing).

    The first Stokes and the first spectral axis count; a celestial axis only with its
    partner (as a casacore DirectionCoordinate needs both); everything else is linear.
    """
    kinds: list[AxisKind] = ["linear"] * len(ctypes)
    stokes = next((i for i, c in enumerate(ctypes) if is_stokes(c)), None)
    spectral = next((i for i, c in enumerate(ctypes) if is_spectral(c)), None)
    lon = next((i for i, c in enumerate(ctypes) if celestial_kind(c) == "lon"), None)
    lat = next((i for i, c in enumerate(ctypes) if celestial_kind(c) == "lat"), None)
    if lon is not None and lat is not None:
        kinds[lon], kinds[lat] = "lon", "lat"
    if spectral is not None:
        kinds[spectral] = "spectral"
    if stokes is not None:
        kinds[stokes] = "stokes"
    return kinds


def casacore_axis_kinds(coordinates: Mapping[str, Any], ndim: int) -> list[AxisKind]:
    """The kind of each pixel axis (FITS order) from a casacore coordinate-system record
    (``image.coordinates().dict()``): ``direction<n>``, ``spectral<n>``, ``stokes<n>``
    with their ``pixelmap<n>``; anything else (linear, tabular) is linear."""
    kinds: list[AxisKind] = ["linear"] * ndim
    n = 0
    while f"pixelmap{n}" in coordinates:
        pixel_axes = [int(a) for a in np.atleast_1d(coordinates[f"pixelmap{n}"])]
        pixel_axes = [a for a in pixel_axes if 0 <= a < ndim]
        if f"direction{n}" in coordinates and len(pixel_axes) == 2:
            kinds[pixel_axes[0]], kinds[pixel_axes[1]] = "lon", "lat"
        elif f"spectral{n}" in coordinates and pixel_axes:
            kinds[pixel_axes[0]] = "spectral"
        elif f"stokes{n}" in coordinates and pixel_axes:
            kinds[pixel_axes[0]] = "stokes"
        n += 1
    return kinds


def find_axis_roles(kinds: Sequence[AxisKind], shape: Sequence[int]) -> AxisRoles:
    """Axis roles for an image of ``shape`` (FITS order) whose axes are ``kinds``.

    Raises ValueError with the reference's message when the image is not 2D-4D or the
    kinds do not cover every axis.
    """
    ndim = len(shape)
    if not 2 <= ndim <= 4:
        raise ValueError(BAD_DIMENSIONS)
    if len(kinds) != ndim:
        raise ValueError(INCOMPLETE_HEADER)
    spectral = kinds.index("spectral") if "spectral" in kinds else None
    stokes = kinds.index("stokes") if "stokes" in kinds else None
    if "lon" in kinds and "lat" in kinds:
        spatial: list[int] = [kinds.index("lon"), kinds.index("lat")]
    else:
        spatial = [i for i, kind in enumerate(kinds) if kind == "linear"][:2]
    spatial_x = spatial[0] if len(spatial) > 0 else None
    spatial_y = spatial[1] if len(spatial) > 1 else None

    if ndim == 2:
        # The reference keeps the spectral axis of a 2D (e.g. PV) image but never a
        # Stokes axis: both axes are rendered.
        return AxisRoles(ndim=2, x=0, y=1, spectral=spectral, spatial_x=spatial_x, spatial_y=spatial_y)
    if ndim == 3 and spectral is None and stokes is None:
        spectral = 2
    elif ndim == 4 and (spectral is None or stokes is None):
        if spectral is None and stokes is not None:
            spectral = 2 if stokes == 3 else 3
        elif stokes is None and spectral is not None:
            stokes = 2 if spectral == 3 else 3
        elif shape[2] > 4:
            spectral, stokes = 2, 3
        elif shape[3] > 4:
            spectral, stokes = 3, 2
        else:
            spectral, stokes = 2, 3
    x, y = [i for i in range(ndim) if i != stokes][:2]
    z = next((i for i in range(ndim) if i not in (x, y, stokes)), None)
    return AxisRoles(ndim=ndim, x=x, y=y, z=z, stokes=stokes, spectral=spectral,
                     spatial_x=spatial_x, spatial_y=spatial_y)


def header_ctypes(header: Mapping[str, Any], ndim: int) -> list[str]:
    """``CTYPE1``..``CTYPEn`` of a ``{KEY: value}`` header, ``""`` where missing."""
    return [str(header.get(f"CTYPE{i + 1}", "") or "") for i in range(ndim)]


def roles_from_header(header: Mapping[str, Any], shape: Sequence[int]) -> tuple[AxisRoles, list[int]]:
    """Axis roles and Stokes codes (see :func:`fits_stokes_values`) from a FITS-like
    ``{KEY: value}`` mapping; used by every reader with a header and by FILE_INFO."""
    ctypes = header_ctypes(header, len(shape))
    roles = find_axis_roles(axis_kinds(ctypes), shape)
    stokes_values: list[int] = []
    if roles.stokes is not None and is_stokes(ctypes[roles.stokes]):
        n = roles.stokes + 1
        stokes_values = fits_stokes_values(
            _number(header.get(f"CRVAL{n}"), 0.0), _number(header.get(f"CRPIX{n}"), 0.0),
            _number(header.get(f"CDELT{n}"), 1.0), shape[roles.stokes])
    return roles, stokes_values


def scan_header_roles(ctypes: Mapping[int, str], shape: Sequence[int]) -> AxisRoles:
    """The reference's header-only axis scan (``AddInitialComputedEntries``), used only
    for the FILE_INFO of a ``.fits.gz`` asked without an HDU.

    ``ctypes`` maps 0-based axis numbers to CTYPE values in header order. Unlike
    :func:`find_axis_roles` it renders axes 1 and 2 whatever they are, matches by
    prefix/substring (``RA``, ``GLON``, ``UU``; ``DEC``, ``GLAT``, ``VV``; ``STOKES``;
    a spectral word anywhere), takes the *last* match of each, guesses nothing, and
    makes the last non-Stokes axis beyond the second the depth axis.
    """
    spatial = [-1, -1]
    spectral = stokes = depth = -1
    for axis, ctype in ctypes.items():
        value = ctype.split("-", 1)[0].upper() if ctype else ""
        if value.startswith(("RA", "GLON", "UU")):
            spatial[0] = axis
        elif value.startswith(("DEC", "GLAT", "VV")):
            spatial[1] = axis
        elif value.startswith("STOKES"):
            stokes = axis
        elif value and any(word in value for word in _SCAN_SPECTRAL_WORDS):
            spectral = axis
        if axis > 1 and axis != stokes:
            depth = axis

    def role(axis: int) -> int | None:
        return axis if axis >= 0 else None

    return AxisRoles(ndim=len(shape), x=0, y=1, z=role(depth), stokes=role(stokes), spectral=role(spectral),
                     spatial_x=role(spatial[0]), spatial_y=role(spatial[1]))


def _number(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default
