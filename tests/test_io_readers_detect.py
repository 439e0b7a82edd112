"""File type detection by content, and open_image's own errors."""

from __future__ import annotations

import numpy as np
import pytest

from carta_trio.io.image_reader import ImageOpenError
from carta_trio.io.images import (CASA, FITS, FORMATS, HDF5, MIRIAD, UNKNOWN, ImageFormat,
                                  detect_file_type, open_image, register_format)
from tests.image_factory import (make_cube, wcs_header, write_casa, write_fits, write_hdf5_idia,
                                 write_miriad)


def test_detect_by_content_not_name(tmp_path):
    data = make_cube((3, 4, 5))
    header = wcs_header(["RA---SIN", "DEC--SIN", "FREQ"])
    write_fits(tmp_path / "a.fits", data, header)
    write_fits(tmp_path / "no_suffix", data, header)
    write_fits(tmp_path / "c.fits.gz", data, header)
    write_fits(tmp_path / "z.fits", data, header, bitpix=16, blank=-1, compress="RICE")
    write_hdf5_idia(tmp_path / "h.hdf5", data, header)
    write_hdf5_idia(tmp_path / "h.dat", data, header)
    write_casa(tmp_path / "i.image", data, header)
    write_miriad(tmp_path / "m.mir", data, header)
    (tmp_path / "fake.fits").write_text("not fits at all")
    (tmp_path / "dir").mkdir()
    (tmp_path / "data.gz").write_bytes((tmp_path / "c.fits.gz").read_bytes())
    expected = {"a.fits": FITS, "no_suffix": FITS, "c.fits.gz": FITS, "z.fits": FITS, "h.hdf5": HDF5,
                "h.dat": HDF5, "i.image": CASA, "m.mir": MIRIAD, "fake.fits": UNKNOWN, "dir": UNKNOWN,
                "data.gz": UNKNOWN, "missing": UNKNOWN}
    assert {name: detect_file_type(tmp_path / name) for name in expected} == expected


def test_hdf5_signature_after_user_block(tmp_path):
    import h5py

    path = tmp_path / "ub.h5"
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset("x", data=np.zeros(3))
    assert detect_file_type(path) == HDF5


def test_file_type_values_match_protocol():
    schema = pytest.importorskip("carta_trio.messages.schema")
    ft = schema.FileType
    assert (CASA, FITS, HDF5, MIRIAD, UNKNOWN) == (ft.CASA, ft.FITS, ft.HDF5, ft.MIRIAD, ft.UNKNOWN)


def test_open_image_errors(tmp_path):
    with pytest.raises(ImageOpenError, match=r"^File nope\.fits does not exist\.$"):
        open_image(tmp_path / "nope.fits")
    (tmp_path / "plain.txt").write_text("hello")
    with pytest.raises(ImageOpenError, match=r"^Unsupported format\.$"):
        open_image(tmp_path / "plain.txt")


def test_registry_is_extensible(tmp_path):
    path = tmp_path / "thing.custom"
    path.write_text("CUSTOM")
    marker = object()
    fmt = ImageFormat("custom", UNKNOWN, lambda p: p.suffix == ".custom", lambda p, hdu: marker)  # type: ignore[arg-type,return-value]
    register_format(fmt, first=True)
    try:
        assert open_image(path) is marker
    finally:
        FORMATS.remove(fmt)
