"""Text values of region files: quantities (numbers with angle or pixel units,
sexagesimal positions), colours, float formatting and splitting a line outside its
quotes and brackets, shared by the CRTF and DS9 readers and writers."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

__all__ = [
    "QuantityError", "fmt_float", "hex_color", "outside_quotes", "parse_angle_value", "properties", "split_outside",
]


class QuantityError(ValueError):
    """A value that is not a number with a known unit."""


_DEG_PER = {
    "deg": 1.0, "degree": 1.0, "degrees": 1.0, "d": 1.0,
    "rad": 180.0 / math.pi, "r": 180.0 / math.pi,
    "arcmin": 1.0 / 60.0, "'": 1.0 / 60.0, "amin": 1.0 / 60.0,
    "arcsec": 1.0 / 3600.0, '"': 1.0 / 3600.0, "asec": 1.0 / 3600.0,
    "mas": 1.0 / 3.6e6, "marcsec": 1.0 / 3.6e6,
}
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUM_UNIT = re.compile(rf"^({_NUMBER})\s*([A-Za-z\"']*)$")
_HMS_COLON = re.compile(r"^([+-]?)(\d+):(\d+):(\d+\.?\d*)$")
_DMS_DOTS = re.compile(r"^([+-]?)(\d+)\.(\d+)\.(\d+\.?\d*)$")
_HMS_LETTERS = re.compile(r"^([+-]?)(\d+)[hH](\d+)[mM](\d+\.?\d*)[sS]?$")
_DMS_LETTERS = re.compile(r"^([+-]?)(\d+)[dD](\d+)[mM](\d+\.?\d*)[sS]?$")


def _sexagesimal(sign: str, a: str, b: str, c: str) -> float:
    value = float(a) + float(b) / 60.0 + float(c) / 3600.0
    return -value if sign == "-" else value


def parse_angle_value(text: str, *, colon_is_hours: bool = True) -> tuple[float, str]:
    """A coordinate or length: ``(value, kind)`` with kind ``"deg"`` (value in degrees),
    ``"pix"`` or ``""`` (a plain number without unit).

    Accepts ``<n><unit>`` with deg/rad/arcmin/arcsec/mas/pix (and DS9's one-letter
    ``d r ' " p i``), ``hh:mm:ss.s`` (hours; degrees when ``colon_is_hours`` is
    False), ``dd.mm.ss.s`` (degrees), ``hhHmmMss.s`` and ``ddDmmMss.s``. Raises
    :class:`QuantityError` for anything else or a non-finite value.
    """
    s = text.strip()
    m = _NUM_UNIT.match(s)
    if m:
        value, unit = float(m.group(1)), m.group(2)
        if not math.isfinite(value):
            raise QuantityError(text)
        if unit == "":
            return value, ""
        lowered = unit.lower()
        if lowered in ("pix", "pixel", "pixels", "p", "i"):
            return value, "pix"
        factor = _DEG_PER.get(lowered if unit not in ("'", '"') else unit)
        if factor is None:
            raise QuantityError(text)
        return value * factor, "deg"
    for pattern, scale in ((_HMS_COLON, 15.0 if colon_is_hours else 1.0), (_DMS_DOTS, 1.0),
                           (_HMS_LETTERS, 15.0), (_DMS_LETTERS, 1.0)):
        m = pattern.match(s)
        if m:
            return _sexagesimal(*m.groups()) * scale, "deg"
    if s.lower() in ("nan", "inf", "-inf", "+inf", "infinity"):
        raise QuantityError(text)
    raise QuantityError(text)


_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


def hex_color(value: str) -> str:
    """``2ee6d6`` / ``#2ee6d6`` -> ``#2EE6D6``; colour names are kept as written."""
    m = _HEX.match(value.strip())
    if m:
        return "#" + m.group(1).upper()
    return value.strip()


def fmt_float(value: float) -> str:
    """Shortest round-trip repr of a float, integers without ``.0`` (``45``, ``318.95805``)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


# --- splitting ------------------------------------------------------------------------

def outside_quotes(text: str, opening: str, closing: str, *, clamp: bool = False) -> Iterator[tuple[int, str, int]]:
    """``(index, character, depth)`` for each character of ``text`` outside single or
    double quotes (the quotes themselves left out), ``depth`` being the nesting of
    ``opening``/``closing`` brackets after it. ``clamp`` keeps the depth from going
    below 0 on a stray closing bracket (DS9); otherwise it does (CRTF)."""
    depth, quote = 0, ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
            continue
        if ch == opening:
            depth += 1
        elif ch == closing:
            depth = max(0, depth - 1) if clamp else depth - 1
        yield i, ch, depth


def split_outside(text: str, separator: str, opening: str, closing: str, *, clamp: bool = False) -> list[str]:
    """``text`` split on ``separator`` where it stands outside quotes and brackets."""
    parts: list[str] = []
    start = 0
    for i, ch, depth in outside_quotes(text, opening, closing, clamp=clamp):
        if ch == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


#: Quotes around a property value, removed by :func:`properties`.
QUOTES = (('"', '"'), ("'", "'"))


def properties(pattern: re.Pattern[str], text: str, enclosing: tuple[tuple[str, str], ...] = QUOTES) -> dict[str, str]:
    """``key=value`` properties of a region line: every match of ``pattern`` (groups key,
    value), keys lower case, values stripped and freed of one ``enclosing`` pair."""
    props: dict[str, str] = {}
    for m in pattern.finditer(text):
        value = m.group(2).strip()
        if len(value) >= 2 and (value[0], value[-1]) in enclosing:
            value = value[1:-1]
        props[m.group(1).lower()] = value
    return props
