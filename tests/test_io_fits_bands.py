"""Tile-compressed FITS boxes are decompressed in bands (short GIL holds): the banded
read gives exactly the values of one whole read, for planes, cubes and odd boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from carta_trio.io import fits_reader
from carta_trio.io.fits_reader import FitsReader
from tests.image_factory import write_fits


@pytest.mark.parametrize("compress", ["RICE", "GZIP"])
def test_banded_reads_equal_whole_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compress: str) -> None:
    data = (np.random.default_rng(1).random((3, 37, 29)) * 1000).astype(np.int32)
    path = tmp_path / "c.fits"
    write_fits(path, data, bitpix=32, compress=compress)
    with FitsReader(path) as reader:
        monkeypatch.setattr(fits_reader, "COMPRESSED_BAND_BYTES", 1 << 40)
        whole = [reader.read_plane(1, 0), reader.read_cube(3, 20, 5, 36, 0, 3, 0), reader.read_spectrum(7, 9, 0)]
        monkeypatch.setattr(fits_reader, "COMPRESSED_BAND_BYTES", 29 * 4 * 2)  # two rows a band
        banded = [reader.read_plane(1, 0), reader.read_cube(3, 20, 5, 36, 0, 3, 0), reader.read_spectrum(7, 9, 0)]
    for a, b in zip(whole, banded):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(banded[0], data[1].astype(np.float32))
