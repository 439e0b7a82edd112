"""Find which file axis is x, y, depth, Stokes, spectral and spatial, from CTYPEs.

The rules are the reference's (carta-backend v4.1.0 ``FileLoader::FindCoordinateAxes``
as observed, BEHAVIOUR.md §6.2, GOLDEN.md §3.8 and the ICD test OPEN_SWAPPED_IMAGES):

* render axes ``x``, ``y``: the first two axes that are not the Stokes axis;
* spectral and Stokes axes come from the coordinate types. A 3D image with neither
  has axis 3 as spectral. A 4D image with one of them missing takes the other of axes
  3/4; with both missing an axis longer than 4 is spectral (axis 3 checked first),
  else axis 3 is spectral and axis 4 Stokes;
* depth ``z``: the first axis that is neither a render axis nor the Stokes axis;
* spatial axes: the celestial (direction) pair, else the first two axes that are
  neither spectral nor Stokes.

So a (FREQ, RA, DEC) cube renders FREQ x RA planes and steps through DEC, exactly
as the reference and the frontend's "swapped-Z" mode expect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from carta_trio.io.image_reader import AxisRoles, fits_stokes_values

#: CTYPE prefixes (first four characters) that casacore/wcslib read as spectral.
SPECTRAL_TYPES = frozenset({"FREQ", "ENER", "WAVN", "VRAD", "WAVE", "VOPT", "ZOPT",
                            "AWAV", "VELO", "BETA", "FELO"})


def ctype_name(ctype: str) -> str:
    """The CTYPE up to its first ``-`` (``RA---SIN`` -> ``RA``), upper case."""
    return ctype.strip().upper().split("-", 1)[0]


def is_stokes(ctype: str) -> bool:
    return ctype.strip().upper() == "STOKES"


def is_spectral(ctype: str) -> bool:
    return ctype.strip().upper()[:4] in SPECTRAL_TYPES


def celestial_kind(ctype: str) -> str | None:
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


def find_axis_roles(ctypes: Sequence[str], shape: Sequence[int]) -> AxisRoles:
    """Axis roles for an image of ``shape`` (FITS order) whose axes have ``ctypes``
    (``""`` where missing). ``len(shape)`` must be 2, 3 or 4."""
    ndim = len(shape)
    ctypes = list(ctypes) + [""] * (ndim - len(ctypes))
    spectral = next((i for i, c in enumerate(ctypes) if is_spectral(c)), None)
    stokes = next((i for i, c in enumerate(ctypes) if is_stokes(c)), None)

    lon = next((i for i, c in enumerate(ctypes) if celestial_kind(c) == "lon"), None)
    lat = next((i for i, c in enumerate(ctypes) if celestial_kind(c) == "lat"), None)
    if lon is not None and lat is not None:
        spatial: list[int] = [lon, lat]
    else:
        spatial = [i for i in range(ndim) if i not in (spectral, stokes)][:2]
    spatial_x = spatial[0] if len(spatial) > 0 else None
    spatial_y = spatial[1] if len(spatial) > 1 else None

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

    if ndim == 2:
        # The reference keeps the spectral axis of a 2D (e.g. PV) image but never a
        # Stokes axis: both axes are rendered.
        return AxisRoles(ndim=2, x=0, y=1, spectral=spectral,
                         spatial_x=spatial_x, spatial_y=spatial_y)
    render = [i for i in range(ndim) if i != stokes][:2]
    x, y = render
    z = next((i for i in range(ndim) if i not in (x, y, stokes)), None)
    return AxisRoles(ndim=ndim, x=x, y=y, z=z, stokes=stokes, spectral=spectral,
                     spatial_x=spatial_x, spatial_y=spatial_y)


def roles_from_header(header: Mapping[str, Any], shape: Sequence[int]) -> tuple[AxisRoles, list[int]]:
    """Axis roles and Stokes codes from a FITS-like ``{KEY: value}`` mapping."""
    ndim = len(shape)
    ctypes = [str(header.get(f"CTYPE{i + 1}", "") or "") for i in range(ndim)]
    roles = find_axis_roles(ctypes, shape)
    stokes_values: list[int] = []
    if roles.stokes is not None:
        n = roles.stokes + 1
        stokes_ctype = is_stokes(ctypes[roles.stokes])
        if stokes_ctype:
            stokes_values = fits_stokes_values(
                _number(header.get(f"CRVAL{n}"), 0.0), _number(header.get(f"CRPIX{n}"), 0.0),
                _number(header.get(f"CDELT{n}"), 1.0), shape[roles.stokes])
    return roles, stokes_values


def _number(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default
