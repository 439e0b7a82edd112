"""Tile-compressed FITS boxes are decompressed in short, tile-aligned cfitsio calls.

cfitsio holds the GIL for a whole call and decompresses every tile a call touches, so
the number of tile pixels per call bounds the event-loop stall. These tests pin that
bound without timing anything: the cuts (``io/fits_bands.py``) cover the box once, on
tile boundaries, within the budget; a reader's calls, recorded, stay within it for
planes, spectra and regions, whatever the tile shape; and banded reads equal whole reads.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import fitsio
import numpy as np
import pytest

from carta_trio.io import fits_bands
from carta_trio.io.fits_bands import BAND_PIXELS, band_budget, decompressed_pixels, tile_bands, tile_shape
from carta_trio.io.fits_reader import FitsReader
from tests.image_factory import write_fits


def _covers_once(starts: list[int], stops: list[int], bands: list[fits_bands.Box]) -> None:
    seen = np.zeros([b - a for a, b in zip(starts, stops)], dtype=np.int32)
    for lo, hi in bands:
        seen[tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, starts))] += 1
    assert (seen == 1).all()


@pytest.mark.parametrize("tile", [(1, 1, 300), (1, 16, 16), (4, 50, 60), (1, 1, 1)])
def test_bands_cover_the_box_once_on_tile_boundaries_within_budget(tile: tuple[int, int, int]) -> None:
    shape = (9, 200, 300)
    budget = 4000
    rng = np.random.default_rng(2)
    boxes = [([0, 0, 0], list(shape)), ([3, 0, 0], [4, 200, 300]), ([0, 17, 33], [9, 18, 34])]
    for _ in range(20):
        lo = [int(rng.integers(0, n)) for n in shape]
        boxes.append((lo, [int(rng.integers(a + 1, n + 1)) for a, n in zip(lo, shape)]))
    one_tile = int(np.prod(tile))
    for starts, stops in boxes:
        bands = list(tile_bands(starts, stops, tile, shape, budget))
        _covers_once(starts, stops, bands)
        for lo, hi in bands:
            assert decompressed_pixels(lo, hi, tile, shape) <= max(budget, one_tile)
            for axis, (a, b) in enumerate(zip(lo, hi)):  # inner cuts fall on tile edges
                assert a == starts[axis] or a % tile[axis] == 0
                assert b == stops[axis] or b % tile[axis] == 0
        # no tile is decompressed twice: the bands' costs add up to the box's
        assert sum(decompressed_pixels(lo, hi, tile, shape) for lo, hi in bands) == \
            decompressed_pixels(starts, stops, tile, shape)


def test_a_cheap_box_is_one_call() -> None:
    assert list(tile_bands([0, 5, 0], [1, 6, 300], (1, 1, 300), (9, 200, 300), 4000)) == [([0, 5, 0], [1, 6, 300])]


def test_tile_shape_from_header_records() -> None:
    assert tile_shape([{"name": "ZTILE1", "value": 64}, {"name": "ZTILE2", "value": 32}], (5, 100, 200)) == (1, 32, 64)
    assert tile_shape([], (5, 100, 200)) == (1, 1, 200)  # cfitsio's default: rows
    assert tile_shape([{"name": "ZTILE1", "value": 999}], (100, 200)) == (1, 200)  # clipped to the image


def test_band_budget_per_algorithm() -> None:
    assert band_budget([{"name": "ZCMPTYPE", "value": "RICE_1"}]) == 1 << 16
    assert band_budget([{"name": "ZCMPTYPE", "value": "GZIP_2 "}]) == 1 << 15  # twice RICE's cost per pixel
    assert band_budget([{"name": "ZCMPTYPE", "value": "NEW_ALGO"}]) == 1 << 15


class _Recording:
    """Stands in for the fitsio HDU and records every read call's box."""

    def __init__(self, hdu: Any) -> None:
        self.hdu = hdu
        self.boxes: list[tuple[slice, ...]] = []

    def __getitem__(self, box: tuple[slice, ...]) -> Any:
        self.boxes.append(box)
        return self.hdu[box]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.hdu, name)


def _write_tiled(path: Path, data: np.ndarray, compress: str, tile: tuple[int, ...] | None) -> None:
    fitsio.write(str(path), data, compress=compress, tile_dims=list(tile) if tile else None, clobber=True)


@pytest.mark.parametrize(("compress", "tile"), [("RICE", None), ("GZIP", None), ("RICE", (1, 128, 128)),
                                                 ("GZIP", (8, 32, 32))])
def test_every_cfitsio_call_stays_within_the_budget(tmp_path: Path, compress: str, tile: tuple[int, ...] | None) -> None:
    """A 600 x 500 plane, a cursor spectrum and a region box of a 40-channel cube: no call
    decompresses more than the budget (or one tile), and the plane takes many calls."""
    data = (np.random.default_rng(3).random((40, 500, 600)) * 1000).astype(np.int32)
    path = tmp_path / "c.fits"
    _write_tiled(path, data, compress, tile)
    with FitsReader(path) as reader:
        assert reader.tile == (tile or (1, 1, 600))
        assert reader.band_pixels == BAND_PIXELS[f"{compress}_1"]
        recorder = _Recording(reader._hdu)
        reader._hdu = recorder
        plane = reader.read_plane(7, 0)
        plane_calls = len(recorder.boxes)
        spectrum = reader.read_spectrum(301, 222, 0)
        region = reader.read_cube(100, 260, 50, 170, 0, 40, 0)
        limit = max(reader.band_pixels, int(np.prod(reader.tile)))
        budget = reader.band_pixels
        for box in recorder.boxes:
            starts, stops = [s.start for s in box], [s.stop for s in box]
            assert decompressed_pixels(starts, stops, reader.tile, data.shape) <= limit
    assert plane_calls >= 600 * 500 // budget
    np.testing.assert_array_equal(plane, data[7].astype(np.float32))
    np.testing.assert_array_equal(spectrum, data[:, 222, 301].astype(np.float32))
    np.testing.assert_array_equal(region, data[:, 50:170, 100:260].astype(np.float32))


@pytest.mark.parametrize("compress", ["RICE", "GZIP"])
def test_banded_reads_equal_whole_reads(tmp_path: Path, compress: str) -> None:
    data = (np.random.default_rng(1).random((3, 37, 29)) * 1000).astype(np.int32)
    path = tmp_path / "c.fits"
    write_fits(path, data, bitpix=32, compress=compress)
    with FitsReader(path) as reader:
        reader.band_pixels = 1 << 40
        whole = [reader.read_plane(1, 0), reader.read_cube(3, 20, 5, 36, 0, 3, 0), reader.read_spectrum(7, 9, 0)]
        reader.band_pixels = 29 * 2  # two rows a band
        banded = [reader.read_plane(1, 0), reader.read_cube(3, 20, 5, 36, 0, 3, 0), reader.read_spectrum(7, 9, 0)]
    for a, b in zip(whole, banded):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(banded[0], data[1].astype(np.float32))


def test_banded_reads_of_every_box_equal_the_data(tmp_path: Path) -> None:
    data = (np.random.default_rng(4).random((6, 40, 50)) * 1000).astype(np.int32)
    path = tmp_path / "t.fits"
    _write_tiled(path, data, "RICE", (2, 8, 16))
    with FitsReader(path) as reader:
        reader.band_pixels = 100  # smaller than a tile: one tile per call
        for x0, y0, z0 in itertools.product((0, 13), (0, 7), (0, 3)):
            got = reader.read_cube(x0, 50, y0, 40, z0, 6, 0)
            np.testing.assert_array_equal(got, data[z0:, y0:, x0:].astype(np.float32))
