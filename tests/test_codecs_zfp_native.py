"""libzfp called directly (codecs/zfp_native.py): zfpy's bytes, with the GIL released.

zfpy holds the GIL for the whole compression, so tile encoders on two worker threads
ran one at a time; the direct call must release it (a CDLL function, not a PyDLL one)
and emit exactly the bytes ``zfpy.compress_numpy(..., write_header=False)`` emits, for
whole arrays and for row-major windows of a larger plane (tiles cut out of it).
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np
import pytest
import zfpy

from carta_trio.codecs import raster_tiles, zfp_native

pytestmark = pytest.mark.skipif(not zfp_native.available(), reason="zfpy's libzfp is not loadable here")


def _zfpy(arr: np.ndarray, precision: int) -> bytes:
    return bytes(zfpy.compress_numpy(np.ascontiguousarray(arr), precision=precision, write_header=False))


@pytest.mark.parametrize("precision", [1, 5, 11, 20, 32])
def test_same_bytes_as_zfpy_for_planes_and_windows(precision: int) -> None:
    rng = np.random.default_rng(precision)
    yy, xx = np.mgrid[0:300, 0:520].astype(np.float32)
    plane = (np.sin(xx / 17) * np.cos(yy / 9) * 1e3 + rng.normal(0, 3, (300, 520))).astype(np.float32)
    plane[5, 7] = np.inf
    plane[200:204, 300:304] = 0.0
    for arr in (plane, plane[:256, :256], plane[13:270, 41:300], plane[1:2, 3:500], plane[7:250, 511:512]):
        assert zfp_native.compress(arr, precision) == _zfpy(arr, precision)


def test_tiles_of_a_plane_encode_as_before() -> None:
    rng = np.random.default_rng(3)
    plane = rng.normal(0, 1, (512, 768)).astype(np.float32)
    plane[40:90, 10:20] = np.nan  # a tile with NaN goes through the filled copy
    for y in range(0, 512, 256):
        for x in range(0, 768, 256):
            window = plane[y : y + 256, x : x + 256]
            tile = raster_tiles.encode_tile(window, raster_tiles.COMPRESSION_ZFP, 11)
            filled = np.array(window, copy=True)
            raster_tiles.fill_nan_blocks(filled)
            assert tile.image_data == _zfpy(filled, tile.quality_used)


def test_compress_releases_the_gil() -> None:
    library = zfp_native._load()
    assert library is not None
    # a CDLL function releases the GIL for the call; PyDLL ones (the set-up calls) keep it
    assert not library.compress._flags_ & ctypes._FUNCFLAG_PYTHONAPI  # type: ignore[attr-defined]
    assert library.field_2d._flags_ & ctypes._FUNCFLAG_PYTHONAPI  # type: ignore[attr-defined]


def test_threads_compress_at_once_with_their_own_buffers() -> None:
    rng = np.random.default_rng(5)
    fields = [rng.normal(0, 1, (256, 256 + 40 * k)).astype(np.float32) for k in range(6)]
    expected = [_zfpy(f, 11) for f in fields]
    results: dict[int, list[tuple[int, bytes | None]]] = {}

    def run(thread: int) -> None:
        order = list(range(len(fields))) if thread % 2 else list(reversed(range(len(fields))))
        results[thread] = [(i, zfp_native.compress(fields[i], 11)) for i in order for _ in range(3)]

    threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1, 2, 3]
    for got in results.values():
        assert len(got) == 18 and all(stream == expected[i] for i, stream in got)


def test_rejects_what_zfp_cannot_read_in_place() -> None:
    with pytest.raises(ValueError):
        zfp_native.compress(np.zeros((4, 4), dtype=np.float64), 11)
    with pytest.raises(ValueError):
        zfp_native.compress(np.zeros((8, 8), dtype=np.float32)[:, ::2], 11)
    # the codec's entry point copies such arrays and still emits zfpy's bytes
    odd = np.arange(64, dtype=np.float32).reshape(8, 8)[:, ::2]
    assert raster_tiles.zfp_compress(odd, 11) == _zfpy(odd, 11)
