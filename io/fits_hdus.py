"""Raw FITS header scanning: the HDUs of a file and their 80-character cards.

File info needs the header cards exactly as written (the reference parses the card
text itself, ``BE:src/FileList/FileExtInfoLoader.cc``), so this module reads header
blocks directly instead of going through a FITS library that would re-format them.
It walks HDU by HDU (2880-byte blocks up to ``END``, then skips the data), for plain
files and, by streaming decompression, for ``.fits.gz``. Tile-compressed image HDUs
(``ZIMAGE = T``) get the uncompressed image header from astropy, as cfitsio presents
it to the reference.
"""

from __future__ import annotations

import gzip
import logging
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator, cast

__all__ = ["FitsError", "FitsHdu", "is_gzip", "read_hdus", "card_value"]

log = logging.getLogger(__name__)

BLOCK = 2880
CARD = 80
GZIP_MAGIC = b"\x1f\x8b"


class FitsError(Exception):
    """The file is not readable as FITS; ``str(exc)`` is the client message."""


@dataclass
class FitsHdu:
    """One HDU: its raw cards (up to, not including, ``END``) and the basics."""

    index: int
    cards: list[str]
    #: ``primary``, ``IMAGE``, ``BINTABLE``, ``TABLE`` or another XTENSION value.
    kind: str
    bitpix: int = 0
    #: Axis lengths in FITS order (NAXIS1 first); for compressed images the ZNAXISn.
    shape: tuple[int, ...] = ()
    extname: str = ""
    compressed: bool = False
    keywords: dict[str, str] = field(default_factory=dict)

    @property
    def is_image(self) -> bool:
        """An image HDU the reference lists: primary/IMAGE/compressed with NAXIS > 1."""
        if self.compressed:
            return len(self.shape) > 1
        return self.kind in ("primary", "IMAGE") and len(self.shape) > 1


def is_gzip(path: str | Path) -> bool:
    """True if the file starts with the gzip magic bytes."""
    try:
        with open(path, "rb") as f:
            return f.read(2) == GZIP_MAGIC
    except OSError:
        return False


def card_value(card: str) -> str:
    """The value text of a ``KEY = value / comment`` card, quotes removed, trimmed."""
    if card[8:10] != "= ":
        return ""
    rest = card[10:].strip()
    if rest.startswith("'"):
        end = rest.find("'", 1)
        while end != -1 and rest[end + 1 : end + 2] == "'":
            end = rest.find("'", end + 2)
        return rest[1:end if end != -1 else None].replace("''", "'").strip()
    return rest.split("/", 1)[0].strip()


def _int(text: str, default: int = 0) -> int:
    try:
        return int(text)
    except ValueError:
        try:
            return int(float(text))
        except ValueError:
            return default


def _read_header(stream: BinaryIO) -> list[str] | None:
    """Cards of the next header (without END); None at end of file."""
    cards: list[str] = []
    while True:
        block = stream.read(BLOCK)
        if not block:
            return None if not cards else cards
        if len(block) < BLOCK:
            raise FitsError("Error reading FITS file.")
        text = block.decode("ascii", errors="replace")
        for i in range(0, BLOCK, CARD):
            card = text[i : i + CARD]
            if card.rstrip() == "END":
                return cards
            cards.append(card)


def _skip(stream: BinaryIO, nbytes: int) -> None:
    if nbytes <= 0:
        return
    try:
        stream.seek(nbytes, 1)
    except (OSError, ValueError):
        while nbytes > 0:
            chunk = stream.read(min(nbytes, 1 << 20))
            if not chunk:
                break
            nbytes -= len(chunk)


def _iter_hdus(stream: BinaryIO) -> Iterator[FitsHdu]:
    index = 0
    while True:
        cards = _read_header(stream)
        if cards is None:
            return
        keywords: dict[str, str] = {}
        for card in cards:
            key = card[:8].strip()
            if key and card[8:10] == "= " and key not in keywords:
                keywords[key] = card_value(card)
        if index == 0:
            if not cards or cards[0][:8].strip() != "SIMPLE" or keywords.get("SIMPLE") != "T":
                raise FitsError("FITS error: SIMPLE missing or false.")
            kind = "primary"
        else:
            kind = keywords.get("XTENSION", "").strip() or "UNKNOWN"
        bitpix = _int(keywords.get("BITPIX", "0"))
        naxis = _int(keywords.get("NAXIS", "0"))
        axes = tuple(_int(keywords.get(f"NAXIS{i}", "0")) for i in range(1, naxis + 1))
        compressed = kind == "BINTABLE" and keywords.get("ZIMAGE") == "T"
        shape = axes
        if compressed:
            znaxis = _int(keywords.get("ZNAXIS", "0"))
            shape = tuple(_int(keywords.get(f"ZNAXIS{i}", "0")) for i in range(1, znaxis + 1))
        hdu = FitsHdu(
            index=index,
            cards=cards,
            kind=kind,
            bitpix=_int(keywords.get("ZBITPIX", "0")) if compressed else bitpix,
            shape=shape,
            extname=keywords.get("EXTNAME", ""),
            compressed=compressed,
            keywords=keywords,
        )
        yield hdu
        data = 0
        if naxis > 0:
            pcount = _int(keywords.get("PCOUNT", "0"))
            gcount = _int(keywords.get("GCOUNT", "1")) or 1
            data = abs(bitpix) // 8 * gcount * (pcount + math.prod(axes))
        _skip(stream, -(-data // BLOCK) * BLOCK)
        index += 1


def read_hdus(path: str | Path, stop_at: int | None = None) -> list[FitsHdu]:
    """All HDUs of a FITS file (plain or gzip), or those up to index ``stop_at``.

    Raises :class:`FitsError` for a file that is not FITS (``FITS error: SIMPLE
    missing or false.``) or is truncated inside a header.
    """
    opener = gzip.open if is_gzip(path) else open
    hdus: list[FitsHdu] = []
    try:
        # a GzipFile reads and seeks like any binary file; typeshed does not call it BinaryIO
        with cast(BinaryIO, opener(path, "rb")) as stream:
            for hdu in _iter_hdus(stream):
                hdus.append(hdu)
                if stop_at is not None and hdu.index >= stop_at:
                    break
    except (OSError, EOFError) as exc:
        if not hdus:
            raise FitsError("Error reading FITS file.") from exc
        log.debug("FITS scan of %s stopped: %s", path, exc)
    for hdu in hdus:
        if hdu.compressed:
            hdu.cards = _compressed_image_cards(path, hdu.index) or hdu.cards
    return hdus


def _compressed_image_cards(path: str | Path, index: int) -> list[str]:
    """The uncompressed image header of a tile-compressed HDU (via astropy)."""
    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
                header = hdul[index].header
                text = "".join(card.image for card in header.cards)
                return [text[i : i + CARD] for i in range(0, len(text), CARD)]
    except Exception as exc:  # noqa: BLE001 - any astropy failure means "no header"
        log.debug("compressed header of %s[%d] failed: %s", path, index, exc)
        return []
