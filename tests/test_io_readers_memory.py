"""Opening a cube does not read the cube: a plane read from a memory-mapped 64 MiB FITS
cube allocates about one plane, a spectrum almost nothing (tracemalloc counts numpy's
allocations, not the mapped file pages)."""

from __future__ import annotations

import tracemalloc

import numpy as np

from carta_trio.io.images import open_image
from tests.image_factory import wcs_header, write_fits

N = 256  # 256 x 256 x 256 float32 = 64 MiB


def _big_cube(tmp_path, bitpix: int = -32, **scaling):
    data = (np.arange(N * N * N, dtype=np.float32) % 1000.0).reshape(N, N, N)
    path = tmp_path / "big.fits"
    write_fits(path, data, wcs_header(["RA---SIN", "DEC--SIN", "FREQ"]), bitpix=bitpix, **scaling)
    return path, data


def _peak(fn):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def test_plane_and_spectrum_touch_only_their_bytes(tmp_path):
    path, data = _big_cube(tmp_path)
    plane_bytes = N * N * 4

    open_image(path).close()  # imports and first-use caches are not the cube
    reader, open_peak = _peak(lambda: open_image(path))
    assert reader.reads_directly
    assert open_peak < plane_bytes

    plane, plane_peak = _peak(lambda: reader.read_plane(100, 0))
    np.testing.assert_array_equal(plane, data[100])
    assert plane_bytes <= plane_peak < 1.5 * plane_bytes

    spectrum, spectrum_peak = _peak(lambda: reader.read_spectrum(17, 200, 0))
    np.testing.assert_array_equal(spectrum, data[:, 200, 17])
    assert spectrum_peak < 64 * 1024

    cube, cube_peak = _peak(lambda: reader.read_cube(0, 16, 0, 16, 0, N, 0))
    np.testing.assert_array_equal(cube, data[:, :16, :16])
    assert cube_peak < 4 * cube.nbytes
    reader.close()


def test_scaled_integer_plane_allocates_a_few_planes(tmp_path):
    path, data = _big_cube(tmp_path, bitpix=16, bscale=0.5, bzero=1.0, blank=-32768)
    reader = open_image(path)
    plane, peak = _peak(lambda: reader.read_plane(3, 0))
    expected = (np.rint((data[3].astype(np.float64) - 1.0) / 0.5) * 0.5 + 1.0).astype(np.float32)
    np.testing.assert_array_equal(plane, expected)
    assert peak < 5 * N * N * 4  # float64 scaling buffer + float32 result + blank mask
