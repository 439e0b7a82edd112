"""One WCS rule for pixel sizes (io/sky_coordinates.pixel_scales): CDELT, CD and PC
headers of the same pixel grid give the same scales wherever a scale is used (region
ellipses, fitting, flux density). The region scale used to read CDELT only, so a CD
header gave (1, 1)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from carta_trio.actors import frame_grids, region_data
from carta_trio.actors.fitting import _increments_arcsec
from carta_trio.actors.frame_state import FrameFacts
from carta_trio.io.fits_reader import FitsReader
from tests.image_factory import write_fits

BASE = [("CTYPE1", "RA---SIN", ""), ("CTYPE2", "DEC--SIN", ""), ("CRVAL1", 10.0, ""), ("CRVAL2", -30.0, ""),
        ("CRPIX1", 8.0, ""), ("CRPIX2", 6.0, ""), ("CUNIT1", "deg", ""), ("CUNIT2", "deg", "")]
HEADERS = {
    "cdelt": [("CDELT1", -2e-4, ""), ("CDELT2", 1e-4, "")],
    "cd": [("CD1_1", -2e-4, ""), ("CD1_2", 0.0, ""), ("CD2_1", 0.0, ""), ("CD2_2", 1e-4, "")],
    "pc": [("CDELT1", -1.0, ""), ("CDELT2", 1.0, ""), ("PC1_1", 2e-4, ""), ("PC2_2", 1e-4, "")],
}


@pytest.mark.parametrize("kind", sorted(HEADERS))
def test_every_wcs_form_gives_the_same_pixel_scales(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.fits"
    write_fits(path, np.ones((12, 16), dtype=np.float32), BASE + HEADERS[kind])
    with FitsReader(path) as reader:
        frame = SimpleNamespace(reader=reader, facts=FrameFacts())
        assert frame_grids.pixel_scale_of(frame) == pytest.approx((0.72, 0.36))  # type: ignore[arg-type]
        assert _increments_arcsec(reader) == pytest.approx((0.72, 0.36))
        assert region_data.flux_context(reader).pixel_area_arcsec2 == pytest.approx(0.72 * 0.36)
