"""FITS header helpers shared by the readers: card conversion, beams, compressed headers.

fitsio parses the cards (``read_header_list``); these functions turn its records into
:class:`HeaderCard` values and card images, rebuild the image header of a tile-compressed
HDU the way cfitsio's ``fits_convert_hdr2str`` does (which the reference reads), and find
the restoring beam(s).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from carta_trio.io.image_reader import Beam, HeaderCard

#: Cards without a value whose text is the comment.
COMMENTARY_KEYS = frozenset({"HISTORY", "COMMENT", ""})

#: Binary-table keywords of a compressed HDU that vanish from the image header.
_TABLE_ONLY = frozenset({"XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "TFIELDS", "THEAP",
                         "ZIMAGE", "ZCMPTYPE", "ZQUANTIZ", "ZDITHER0", "ZBLANK", "ZSCALE", "ZZERO",
                         "ZTHEAP", "CHECKSUM", "DATASUM"})
_TABLE_PREFIXES = ("NAXIS", "TTYPE", "TFORM", "TUNIT", "TDIM", "TSCAL", "TZERO", "TNULL",
                   "ZTILE", "ZNAME", "ZVAL")
#: Compressed-image keywords renamed to their image-header names.
_RENAMED = {"ZSIMPLE": "SIMPLE", "ZTENSION": "XTENSION", "ZEXTEND": "EXTEND",
            "ZBLOCKED": "BLOCKED", "ZPCOUNT": "PCOUNT", "ZGCOUNT": "GCOUNT",
            "ZHECKSUM": "CHECKSUM", "ZDATASUM": "DATASUM", "ZBITPIX": "BITPIX", "ZNAXIS": "NAXIS"}


def cards_from_records(records: Iterable[Mapping[str, Any]]) -> list[HeaderCard]:
    """fitsio header records -> cards (blank cards dropped, commentary text in comment)."""
    cards = []
    for rec in records:
        name = str(rec.get("name", "") or "").strip().upper()
        if not name and not str(rec.get("card_string", "")).strip():
            continue
        if name in COMMENTARY_KEYS:
            text = rec.get("comment")
            if text is None:
                text = rec.get("value", "")
            cards.append(HeaderCard(name, None, str(text).strip()))
            continue
        value = rec.get("value")
        if isinstance(value, str):
            value = value.rstrip()
        cards.append(HeaderCard(name, value, str(rec.get("comment", "") or "").strip()))
    return cards


def records_from_card_images(images: Iterable[str]) -> list[dict[str, Any]]:
    """Header records as fitsio's ``read_header_list`` gives them, parsed by astropy from
    the raw 80-character cards: for headers cfitsio refuses as a whole because of one card
    it cannot convert (DSS plates' ``SKEW = a, b``). Such a card keeps its value's text."""
    from astropy.io import fits

    records: list[dict[str, Any]] = []
    for image in images:
        card = fits.Card.fromstring(image)
        try:
            name, value, comment = card.keyword, card.value, card.comment
        except fits.VerifyError:
            name, value, comment = image[:8].strip().upper(), _value_text(image), ""
        if name in COMMENTARY_KEYS:
            value, comment = None, str(value or "")
        elif isinstance(value, fits.card.Undefined):
            value = None
        records.append({"name": name, "value": value, "comment": comment, "card_string": image.rstrip()})
    return records


def _value_text(image: str) -> str:
    """The text of a card's value that no FITS type describes, before its comment."""
    return image[10:].split("/", 1)[0].strip() if image[8:10] == "= " else ""


def format_card(key: str, value: Any, comment: str = "") -> str:
    """An 80-character card image in FITS fixed format."""
    if key in COMMENTARY_KEYS and value is None:
        return f"{key:<8}{comment}"[:80].ljust(80)
    if isinstance(value, bool):
        text = f"{'T' if value else 'F':>20}"
    elif isinstance(value, int):
        text = f"{value:>20}"
    elif isinstance(value, float):
        text = f"{_float_text(value):>20}"
    elif isinstance(value, complex):
        text = f"({_float_text(value.real)}, {_float_text(value.imag)})"
    elif value is None:
        text = ""
    else:
        quoted = str(value).replace("'", "''")
        text = f"'{quoted:<8}'"
    card = f"{key:<8}= {text}"
    if comment:
        card += f" / {comment}"
    return card[:80].ljust(80)


def _float_text(value: float) -> str:
    text = repr(float(value)).upper()
    if "E" not in text and "." not in text and "N" not in text:
        text += "."
    return text


def uncompressed_records(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The image header of a tile-compressed HDU from its binary-table records.

    ``ZSIMPLE``/``ZTENSION`` become ``SIMPLE``/``XTENSION`` (``XTENSION='IMAGE'`` when
    neither is present), ``ZBITPIX``/``ZNAXIS``/``ZNAXISn`` become the image keywords,
    and the table's own keywords are dropped; other cards keep their order.
    """
    by_name = {str(r.get("name", "")).upper(): r for r in records}
    head: list[dict[str, Any]] = []
    if "ZSIMPLE" in by_name:
        head.append(_rec("SIMPLE", by_name["ZSIMPLE"]["value"], "file does conform to FITS standard"))
    else:
        head.append(_rec("XTENSION", str(by_name.get("ZTENSION", {}).get("value", "IMAGE")),
                         "IMAGE extension"))
    head.append(_rec("BITPIX", by_name.get("ZBITPIX", {}).get("value", -32), "data type of original image"))
    naxis = int(by_name.get("ZNAXIS", {}).get("value", 0))
    head.append(_rec("NAXIS", naxis, "dimension of original image"))
    for i in range(1, naxis + 1):
        head.append(_rec(f"NAXIS{i}", by_name.get(f"ZNAXIS{i}", {}).get("value", 0), "length of original image axis"))
    if "ZSIMPLE" not in by_name:
        head.append(_rec("PCOUNT", by_name.get("ZPCOUNT", {}).get("value", 0), "number of random group parameters"))
        head.append(_rec("GCOUNT", by_name.get("ZGCOUNT", {}).get("value", 1), "number of random groups"))
    handled = {"ZSIMPLE", "ZTENSION", "ZBITPIX", "ZNAXIS", "ZPCOUNT", "ZGCOUNT"}
    rest = []
    for rec in records:
        name = str(rec.get("name", "")).upper()
        if name in handled or name in _TABLE_ONLY or name.startswith(_TABLE_PREFIXES):
            continue
        if name.startswith("ZNAXIS"):
            continue
        if name in _RENAMED:
            new = dict(rec)
            new["name"] = _RENAMED[name]
            new["card_string"] = format_card(_RENAMED[name], rec.get("value"), str(rec.get("comment", "") or ""))
            rest.append(new)
        else:
            rest.append(dict(rec))
    return head + rest


def _rec(name: str, value: Any, comment: str) -> dict[str, Any]:
    return {"name": name, "value": value, "comment": comment,
            "card_string": format_card(name, value, comment)}


def header_beam(header: Mapping[str, Any]) -> Beam | None:
    """The single beam from ``BMAJ``/``BMIN`` (degrees) and ``BPA`` (degrees, default 0)."""
    try:
        bmaj = float(header["BMAJ"])
        bmin = float(header["BMIN"])
    except (KeyError, TypeError, ValueError):
        return None
    try:
        bpa = float(header.get("BPA", 0.0))
    except (TypeError, ValueError):
        bpa = 0.0
    if not (math.isfinite(bmaj) and math.isfinite(bmin)) or bmaj <= 0 or bmin <= 0:
        return None
    return Beam(bmaj * 3600.0, bmin * 3600.0, bpa)


_TO_ARCSEC = {"arcsec": 1.0, "deg": 3600.0, "rad": 180.0 / math.pi * 3600.0, "arcmin": 60.0}
_TO_DEG = {"deg": 1.0, "rad": 180.0 / math.pi, "arcsec": 1 / 3600.0, "arcmin": 1 / 60.0}


def table_beams(columns: Mapping[str, Any], units: Mapping[str, str], nchan: int, npol: int) -> list[Beam]:
    """Per-plane beams from a casacore ``BEAMS`` table (columns BMAJ, BMIN, BPA, CHAN, POL),
    ordered with the channel fastest."""
    bmaj, bmin, bpa = columns["BMAJ"], columns["BMIN"], columns["BPA"]
    chan = columns.get("CHAN")
    pol = columns.get("POL")
    fa = _TO_ARCSEC.get(units.get("BMAJ", "arcsec").strip().lower(), 1.0)
    fi = _TO_ARCSEC.get(units.get("BMIN", "arcsec").strip().lower(), 1.0)
    fp = _TO_DEG.get(units.get("BPA", "deg").strip().lower(), 1.0)
    by_plane = {}
    for row in range(len(bmaj)):
        c = int(chan[row]) if chan is not None else row % max(nchan, 1)
        p = int(pol[row]) if pol is not None else row // max(nchan, 1)
        by_plane[(c, p)] = Beam(float(bmaj[row]) * fa, float(bmin[row]) * fi, float(bpa[row]) * fp)
    out = []
    for p in range(npol):
        for c in range(nchan):
            if (c, p) in by_plane:
                out.append(by_plane[(c, p)])
    return out
