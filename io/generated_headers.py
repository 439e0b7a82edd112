"""Header cards of generated images: moment maps, PV diagrams and PV preview cubes.

The reference builds these as casacore coordinate systems and its FITS conversion
writes the cards; here the cards are written directly, with the same meaning:

* a moment image keeps the source's coordinate system cut to the sub-image: the
  render axes' reference pixels move by the region's bottom-left corner, the moment
  axis keeps length 1 and is referenced at the first selected channel (CRPIX 1); a
  native optical-velocity axis comes back as radio velocity (ANALYTICS.md §6.4);
* a PV image has a linear ``OFFSET`` axis (CRVAL 0 at the cut's centre box) and the
  source's spectral axis referenced at the first channel of the range, plus a
  one-value Stokes axis when the source has one (§7.3);
* a PV preview cube is the sub-image rebinned like casacore's ``RebinImage``
  (reference pixel ``(p + 0.5) / f − 0.5``, increment × f).

Data-scaling and structural keys are never copied (the data are float32 in memory).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from carta_trio.io.image_reader import AxisRoles, HeaderCard

__all__ = [
    "copy_cards",
    "set_card",
    "card_value",
    "subimage_cards",
    "moment_axis_cards",
    "pv_cards",
    "select_axes",
    "STOKES_CODES_COMPUTED",
]

_DROP = frozenset({
    "SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT", "BSCALE", "BZERO", "BLANK",
    "DATAMIN", "DATAMAX", "CHECKSUM", "DATASUM", "EXTNAME", "EXTVER", "END", "ZIMAGE", "ZBITPIX",
    "ZCMPTYPE", "ZTENSION", "ZSIMPLE", "ZEXTEND",
})  # fmt: skip
#: Observation keys a PV image inherits (casacore ObsInfo and misc info).
_OBS_KEYS = frozenset({
    "OBJECT", "TELESCOP", "INSTRUME", "OBSERVER", "DATE-OBS", "MJD-OBS", "OBSRA", "OBSDEC", "OBSGEO-X",
    "OBSGEO-Y", "OBSGEO-Z", "TIMESYS", "SPECSYS", "RESTFRQ", "RESTFREQ", "RESTWAV", "VELREF", "BUNIT", "BTYPE",
})  # fmt: skip
_BEAM_KEYS = ("BMAJ", "BMIN", "BPA")
#: casacore Stokes codes of the computed polarizations (Ptotal ... Pangle), by CARTA index 13-17.
STOKES_CODES_COMPUTED = {13: 28, 14: 29, 15: 30, 16: 31, 17: 32}
_VELOCITY_TABLE_TYPES = ("VOPT", "ZOPT", "FELO", "VELO", "BETA")


def _is_structural(key: str) -> bool:
    return key in _DROP or (key.startswith(("NAXIS", "ZNAXIS", "ZTILE")) and key.lstrip("ZTILENAXS").isdigit())


def copy_cards(cards: Iterable[Sequence[Any]]) -> list[HeaderCard]:
    """The source's cards without structural and data-scaling keys."""
    out = []
    for card in cards:
        key = str(card[0]).upper()
        if not key or _is_structural(key):
            continue
        out.append(HeaderCard(key, card[1], str(card[2]) if len(card) > 2 and card[2] is not None else ""))
    return out


def set_card(cards: list[HeaderCard], key: str, value: Any, comment: str = "") -> None:
    """Replace the first card ``key`` (keeping its comment if none given), or append it."""
    for i, card in enumerate(cards):
        if card.key == key:
            cards[i] = HeaderCard(key, value, comment or card.comment)
            return
    cards.append(HeaderCard(key, value, comment))


def card_value(cards: Iterable[HeaderCard], key: str, default: Any = None) -> Any:
    """The value of the first card ``key``."""
    for card in cards:
        if card.key == key and card.value is not None:
            return card.value
    return default


def _number(cards: Iterable[HeaderCard], key: str, default: float) -> float:
    try:
        return float(card_value(cards, key, default))
    except (TypeError, ValueError):
        return default


def _rebin_crpix(crpix: float, start: int, factor: int) -> float:
    """FITS CRPIX after cutting at ``start`` and rebinning by ``factor`` (RebinImage)."""
    p = crpix - 1.0 - start
    return (p + 0.5) / factor - 0.5 + 1.0


def subimage_cards(
    cards: list[HeaderCard], axes: AxisRoles, x0: int, y0: int, z0: int = 0, rebin_xy: int = 1, rebin_z: int = 1
) -> list[HeaderCard]:
    """Cards of the sub-image starting at ``(x0, y0, z0)``, rebinned by the factors."""
    out = list(cards)
    moves = [(axes.x, x0, rebin_xy), (axes.y, y0, rebin_xy)]
    if axes.z is not None:
        moves.append((axes.z, z0, rebin_z))
    for axis, start, factor in moves:
        n = axis + 1
        crpix = _number(out, f"CRPIX{n}", 1.0)
        set_card(out, f"CRPIX{n}", _rebin_crpix(crpix, start, max(factor, 1)))
        if factor > 1:
            set_card(out, f"CDELT{n}", _number(out, f"CDELT{n}", 1.0) * factor)
            for i in range(1, axes.ndim + 1):
                key = f"CD{n}_{i}"
                if card_value(out, key) is not None:
                    set_card(out, key, _number(out, key, 0.0) * factor)
    return out


_AXIS_KEYS = ("CTYPE", "CRVAL", "CDELT", "CRPIX", "CUNIT", "CROTA", "CNAME")


def select_axes(cards: list[HeaderCard], order: Sequence[int]) -> list[HeaderCard]:
    """Cards of an image made of the source axes ``order`` (0-based): axis ``order[i]``
    becomes axis ``i + 1``; per-axis and PC/CD keys of other axes are dropped."""
    new_of = {old + 1: new + 1 for new, old in enumerate(order)}
    out: list[HeaderCard] = []
    for card in cards:
        key = card.key
        prefix = next((p for p in _AXIS_KEYS if key.startswith(p) and key[len(p):].isdigit()), None)
        if prefix is not None:
            old = int(key[len(prefix):])
            if old in new_of:
                out.append(HeaderCard(f"{prefix}{new_of[old]}", card.value, card.comment))
            continue
        if key[:2] in ("PC", "CD") and "_" in key and key[2:].replace("_", "").isdigit():
            i, j = (int(v) for v in key[2:].split("_", 1))
            if i in new_of and j in new_of:
                out.append(HeaderCard(f"{key[:2]}{new_of[i]}_{new_of[j]}", card.value, card.comment))
            continue
        out.append(card)
    return out


def moment_axis_cards(
    cards: list[HeaderCard], axis: int, z0: int, radio_velocity_ms: tuple[float, float] | None = None
) -> list[HeaderCard]:
    """Reference the moment axis (0-based FITS ``axis``) at channel ``z0``: CRPIX 1 and
    CRVAL = its world value. ``radio_velocity_ms`` (v at z0 and z0 + 1, m/s) turns a
    native optical-velocity axis into VRAD as the reference's output does."""
    out = list(cards)
    n = axis + 1
    ctype = str(card_value(out, f"CTYPE{n}", "") or "")
    crval, crpix, cdelt = _number(out, f"CRVAL{n}", 0.0), _number(out, f"CRPIX{n}", 1.0), _number(out, f"CDELT{n}", 1.0)
    if radio_velocity_ms is not None and ctype.upper()[:4] in _VELOCITY_TABLE_TYPES:
        v0, v1 = radio_velocity_ms
        set_card(out, f"CTYPE{n}", "VRAD")
        set_card(out, f"CRVAL{n}", float(v0))
        set_card(out, f"CDELT{n}", float(v1 - v0))
        set_card(out, f"CUNIT{n}", "m/s")
    else:
        set_card(out, f"CRVAL{n}", crval + (z0 + 1.0 - crpix) * cdelt)
    set_card(out, f"CRPIX{n}", 1.0)
    return out


def stokes_code(stokes_index: int) -> int:
    """The PV image's Stokes value: the current Stokes *index* used as a Stokes *code*
    (0 → Undefined, 1 → I, ...), the reference's quirk; computed indices map to
    casacore's Ptotal (28) ... Pangle (32)."""
    return STOKES_CODES_COMPUTED.get(int(stokes_index), int(stokes_index))


def pv_cards(
    source: list[HeaderCard],
    spectral_axis: int,
    z0: int,
    offsets: int,
    increment: float,
    increment_unit: str,
    reverse: bool,
    stokes_index: int | None,
    spectral_rebin: int = 1,
) -> list[HeaderCard]:
    """Cards of a PV image: ``OFFSET`` and spectral axes (swapped with ``reverse``),
    then a Stokes axis when ``stokes_index`` is not None.

    ``spectral_axis`` is the source's 0-based FITS axis; ``z0`` the first channel (with
    ``spectral_rebin`` > 1 the centre of the first rebinned channel group).
    """
    s = spectral_axis + 1
    crval = _number(source, f"CRVAL{s}", 0.0)
    crpix = _number(source, f"CRPIX{s}", 1.0)
    cdelt = _number(source, f"CDELT{s}", 1.0)
    first = z0 + (spectral_rebin - 1) / 2.0
    spectral = [
        ("CTYPE", str(card_value(source, f"CTYPE{s}", "FREQ"))),
        ("CRVAL", crval + (first + 1.0 - crpix) * cdelt),
        ("CDELT", cdelt * spectral_rebin),
        ("CRPIX", 1.0),
        ("CUNIT", str(card_value(source, f"CUNIT{s}", "") or "")),
    ]
    offset = [
        ("CTYPE", "OFFSET"),
        ("CRVAL", 0.0),
        ("CDELT", float(increment)),
        ("CRPIX", float((offsets - 1) // 2 + 1)),
        ("CUNIT", increment_unit),
    ]
    axes = [spectral, offset] if reverse else [offset, spectral]
    out: list[HeaderCard] = []
    for i, axis_cards in enumerate(axes, start=1):
        out += [HeaderCard(f"{key}{i}", value, "") for key, value in axis_cards]
    if stokes_index is not None:
        out += [HeaderCard("CTYPE3", "STOKES", ""), HeaderCard("CRVAL3", float(stokes_code(stokes_index)), ""),
                HeaderCard("CDELT3", 1.0, ""), HeaderCard("CRPIX3", 1.0, ""), HeaderCard("CUNIT3", "", "")]
    for card in copy_cards(source):
        if card.key in _OBS_KEYS or card.key in _BEAM_KEYS:
            out.append(card)
    return out
