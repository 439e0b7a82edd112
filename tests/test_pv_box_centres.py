"""PV box centres bit for bit as the reference's ``LineBoxRegions::GetFixedPixelRegions``
(issue 13 point 7): centre in double from the float32 control points, rotation in
float32, ``cos``/``sin`` of it in double stored as float32, each offset ``k·cos`` in
float32 added to the double centre, the sum stored as float32 (CARTA::Point)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from carta_trio.analysis.line_boxes import line_boxes

F32 = np.float32


def reference_centres(p0: tuple[float, float], p1: tuple[float, float]) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = (float(F32(v)) for v in (*p0, *p1))
    length = math.sqrt((x1 - x0) ** 2 + (y1 - y0) ** 2)
    v = (length - 1.0) / 2.0
    n = max(int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1), 0)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    rotation = F32(math.atan2(y0 - y1, x0 - x1) * 180.0 / math.pi)
    angle = float(rotation) * math.pi / 180.0
    cos_x, sin_x = F32(math.cos(angle)), F32(math.sin(angle))
    out = []
    for k in range(-n, n + 1):
        dx, dy = float(F32(abs(k)) * cos_x), float(F32(abs(k)) * sin_x)
        if k < 0:
            dx, dy = -dx, -dy
        out.append((float(F32(cx + dx)), float(F32(cy + dy))))
    return out


@pytest.mark.parametrize("seed", range(20))
def test_pv_box_centres_match_the_reference_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p0 = tuple(float(F32(v)) for v in rng.uniform(0, 300, 2))
    p1 = tuple(float(F32(v)) for v in rng.uniform(0, 300, 2))
    boxes = line_boxes(p0, p1, 3)
    got = [(float(x), float(y)) for x, y in boxes.centers]
    assert got == reference_centres(p0, p1)
