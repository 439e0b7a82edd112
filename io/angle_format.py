"""Number and angle formatting exactly as the reference prints them.

The reference formats with {fmt} (``{}``, ``{:g}``, ``{:.12E}``), C++ streams
(Quantity output: 6 significant digits) and casacore's ``MVAngle`` (sexagesimal
strings). These helpers reproduce those texts so computed header entries match the
reference byte for byte:

* :func:`fmt_shortest` -- {fmt}'s ``{}`` for a double: shortest round-trip digits,
  no forced ``.0`` (``321.0`` -> ``321``, ``1e16`` -> ``1e+16``);
* :func:`fmt_g` -- ``{:g}`` / ``%g`` / ostream default (6 significant digits);
* :func:`mvangle_time` -- ``MVAngle::string(TIME, prec)``: ``hh:mm:ss.sss``, the angle
  taken modulo a full turn; rounding can give ``24:00:00.000`` as casacore does;
* :func:`mvangle_angle` -- ``MVAngle::string(ANGLE[+DIG2], prec)``: ``+ddd.mm.ss.ss``
  (three degree digits, two with ``dig2``; ``**`` when they do not fit).

``prec`` is casacore's precision: the number of digits shown, of which six are the
integer hours/degrees (two), minutes and seconds, so decimals = ``prec - 6``.
"""

from __future__ import annotations

import math

__all__ = ["fmt_g", "fmt_shortest", "mvangle_angle", "mvangle_time"]


def fmt_shortest(value: float) -> str:
    """{fmt}'s ``{}`` for a double (shortest form that round-trips)."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = repr(float(value))
    if text.endswith(".0"):
        text = text[:-2]
    return text


def fmt_g(value: float, digits: int = 6) -> str:
    """``%g`` with ``digits`` significant digits (also the C++ stream default)."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def _split(total: int, scale: int) -> tuple[int, int, int, int]:
    """Split ``total`` (in units of 1/scale seconds) into (h/d, min, s, fraction)."""
    whole, frac = divmod(total, scale)
    first, rest = divmod(whole, 3600)
    minutes, seconds = divmod(rest, 60)
    return first, minutes, seconds, frac


def mvangle_time(degrees: float, prec: int) -> str:
    """Sexagesimal hours ``hh:mm:ss.s…`` (``prec - 6`` decimals) of an angle in degrees."""
    decimals = max(prec - 6, 0)
    scale = 10**decimals
    turns = (degrees / 360.0) % 1.0
    total = math.floor(turns * 86400.0 * scale + 0.5)
    hours, minutes, seconds, frac = _split(total, scale)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if decimals:
        text += f".{frac:0{decimals}d}"
    return text


def mvangle_angle(degrees: float, prec: int, dig2: bool = False) -> str:
    """Sexagesimal degrees ``±ddd.mm.ss.s…`` (``±dd`` with ``dig2``) of an angle."""
    decimals = max(prec - 6, 0)
    scale = 10**decimals
    sign = "-" if degrees < 0 else "+"
    total = math.floor(abs(degrees) * 3600.0 * scale + 0.5)
    deg, minutes, seconds, frac = _split(total, scale)
    width = 2 if dig2 else 3
    deg_text = f"{deg:0{width}d}"
    if len(deg_text) > width:
        deg_text = "*" * width
    text = f"{sign}{deg_text}.{minutes:02d}.{seconds:02d}"
    if decimals:
        text += f".{frac:0{decimals}d}"
    return text
