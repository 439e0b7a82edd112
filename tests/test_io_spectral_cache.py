"""The spectral-major cache file: what it holds equals the image, it is keyed by the
file's version, evicted least-recently-used within its budget, and never half written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from carta_trio.io import images, spectral_cache, spectral_cache_reader
from tests.image_factory import make_cube, wcs_header, write_casa, write_fits

SHAPE4 = (2, 9, 13, 11)  # stokes, z, y, x


def _build(store: spectral_cache.SpectralCacheStore, reader: object, bands: list[object] | None = None) -> Path:
    key = spectral_cache.key_for(reader)
    assert key is not None
    store.make_room(key.nbytes)
    build = spectral_cache.CacheBuild(store, reader, key)
    for index in range(len(build.bands)):
        build.step(index)
    if bands is not None:
        bands.extend(build.bands)
    return build.commit()


@pytest.fixture
def cube_file(tmp_path: Path) -> tuple[Path, np.ndarray]:
    data = make_cube(SHAPE4, seed=3)
    data[1, 4, 2, 3] = np.nan
    path = tmp_path / "iquv.fits"
    write_fits(path, data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))
    return path, data


def test_entry_holds_every_spectrum_and_box(tmp_path: Path, cube_file: tuple[Path, np.ndarray],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path, data = cube_file
    monkeypatch.setattr(spectral_cache, "BUILD_STEP_BYTES", 1)  # many small bands
    store = spectral_cache.SpectralCacheStore(tmp_path / "cache", 2**30)
    bands: list[object] = []
    with images.open_image(path) as reader:
        entry = _build(store, reader, bands)
    assert len(bands) > 2
    cached = spectral_cache.SpectralCacheReader(entry, [1, 2])
    try:
        assert cached.num_stokes == 2
        for s in range(2):
            for y in range(SHAPE4[2]):
                for x in range(SHAPE4[3]):
                    np.testing.assert_array_equal(cached.read_spectrum(x, y, s), data[s, :, y, x])
        np.testing.assert_array_equal(cached.read_spectrum(5, 6, 1, 2, 7), data[1, 2:7, 6, 5])
        np.testing.assert_array_equal(cached.read_cube(2, 9, 1, 12, 3, 8, 1), data[1, 3:8, 1:12, 2:9])
    finally:
        cached.close()
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.endswith(".partial")]


def test_casa_cube_entry_equals_image(tmp_path: Path) -> None:
    data = make_cube((7, 10, 12), seed=4, nans=False)
    path = tmp_path / "cube.image"
    write_casa(path, data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    store = spectral_cache.SpectralCacheStore(tmp_path / "cache", 2**30)
    with images.open_image(path) as reader:
        entry = _build(store, reader)
    cached = spectral_cache.SpectralCacheReader(entry)
    try:
        np.testing.assert_allclose(cached.read_cube(0, 12, 0, 10, 0, 7, 0), data, rtol=0, atol=0)
    finally:
        cached.close()


def test_key_changes_with_the_file_and_stale_entries_go(tmp_path: Path, cube_file: tuple[Path, np.ndarray]) -> None:
    path, data = cube_file
    store = spectral_cache.SpectralCacheStore(tmp_path / "cache", 2**30)
    with images.open_image(path) as reader:
        old_key = spectral_cache.key_for(reader)
        _build(store, reader)
    assert old_key is not None and store.lookup(old_key) is not None
    write_fits(path, data + 1, wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))
    os.utime(path, ns=(0, old_key.mtime_ns + 10**9))
    with images.open_image(path) as reader:
        new_key = spectral_cache.key_for(reader)
    assert new_key is not None and new_key != old_key
    assert new_key.source_digest == old_key.source_digest
    assert store.lookup(new_key) is None
    assert store.discard_stale(new_key) == 1
    assert store.entries() == []


def test_least_recently_used_entries_are_evicted_to_fit(tmp_path: Path) -> None:
    store = spectral_cache.SpectralCacheStore(tmp_path / "cache", 3 * 2**20)
    entries = []
    for index in range(3):
        path = tmp_path / f"c{index}.fits"
        write_fits(path, make_cube((16, 64, 64), seed=index), wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
        with images.open_image(path) as reader:
            entries.append(_build(store, reader))
        os.utime(entries[-1], (1000 + index, 1000 + index))  # a clear use order
    names = {p.name for p, _, _ in store.entries()}
    # Each entry is 256 KiB of pixels: all three fit; 2.4 MiB more evicts only the oldest.
    assert names == {e.name for e in entries}
    store.make_room(int(2.4 * 2**20))
    assert [p.name for p, _, _ in store.entries()] == [entries[1].name, entries[2].name]
    store.make_room(int(2.9 * 2**20))
    assert store.entries() == []


def test_a_cube_larger_than_the_budget_is_refused(tmp_path: Path) -> None:
    store = spectral_cache.SpectralCacheStore(tmp_path / "cache", 1000)
    with pytest.raises(spectral_cache.CacheUnavailable, match="does not fit the cache budget"):
        store.make_room(2000)


def test_unwritable_cache_folder_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = spectral_cache.SpectralCacheStore(blocker / "cache", 2**30)
    with pytest.raises(spectral_cache.CacheUnavailable, match="cannot be created"):
        store.make_room(10)


def test_a_file_changed_during_the_build_is_not_published(tmp_path: Path,
                                                          cube_file: tuple[Path, np.ndarray]) -> None:
    path, data = cube_file
    store = spectral_cache.SpectralCacheStore(tmp_path / "cache", 2**30)
    with images.open_image(path) as reader:
        key = spectral_cache.key_for(reader)
        assert key is not None
        build = spectral_cache.CacheBuild(store, reader, key)
        for index in range(len(build.bands)):
            build.step(index)
        os.utime(path, ns=(0, key.mtime_ns + 10**9))
        with pytest.raises(spectral_cache.CacheUnavailable, match="changed"):
            build.commit()
    assert list((tmp_path / "cache").iterdir()) == []


def test_partials_of_a_crashed_build_are_removed(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / ".abc-def.spectral.123.partial").write_bytes(b"x")
    (folder / "keep.txt").write_bytes(b"y")
    spectral_cache.SpectralCacheStore(folder, 2**30).remove_partials()
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]


def test_partials_of_live_builds_are_kept(tmp_path: Path, cube_file: tuple[Path, np.ndarray]) -> None:
    """Another process starting on the same cache folder (its store removes crashed
    partials) leaves the staging file of a build that is still running alone."""
    path, data = cube_file
    folder = tmp_path / "cache"
    store = spectral_cache.SpectralCacheStore(folder, 2**30)
    with images.open_image(path) as reader:
        key = spectral_cache.key_for(reader)
        assert key is not None
        build = spectral_cache.CacheBuild(store, reader, key)
        (folder / ".abc-def.spectral.1-00.partial").write_bytes(b"crashed")
        spectral_cache.SpectralCacheStore(folder, 2**30).remove_partials()  # a second store, same folder
        assert [p.name for p in folder.iterdir()] == [build.staging.name]
        for index in range(len(build.bands)):
            build.step(index)
        entry = build.commit()
    cached = spectral_cache.SpectralCacheReader(entry)
    try:
        np.testing.assert_array_equal(cached.read_spectrum(3, 2, 1), data[1, :, 2, 3])
    finally:
        cached.close()


def test_partials_of_another_live_process_are_kept_until_it_dies(tmp_path: Path,
                                                                 cube_file: tuple[Path, np.ndarray]) -> None:
    path, _ = cube_file
    folder = tmp_path / "cache"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from carta_trio.io import images, spectral_cache\n"
        "store = spectral_cache.SpectralCacheStore(Path(sys.argv[2]), 2**30)\n"
        "reader = images.open_image(sys.argv[1])\n"
        "build = spectral_cache.CacheBuild(store, reader, spectral_cache.key_for(reader))\n"
        "print(build.staging.name, flush=True)\n"
        "sys.stdin.read()\n"
    )
    with subprocess.Popen([sys.executable, "-c", script, str(path), str(folder)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None
            name = child.stdout.readline().strip()
            assert name.endswith(".partial")
            spectral_cache.SpectralCacheStore(folder, 2**30).remove_partials()
            assert [p.name for p in folder.iterdir()] == [name]
        finally:
            child.kill()
    spectral_cache.SpectralCacheStore(folder, 2**30).remove_partials()
    assert list(folder.iterdir()) == []


def test_a_truncated_or_foreign_entry_is_refused(tmp_path: Path, cube_file: tuple[Path, np.ndarray]) -> None:
    path, _ = cube_file
    store = spectral_cache.SpectralCacheStore(tmp_path / "cache", 2**30)
    with images.open_image(path) as reader:
        entry = _build(store, reader)
    with open(entry, "r+b") as f:
        f.truncate(spectral_cache.HEADER_BYTES + 100)
    with pytest.raises(spectral_cache.CacheUnavailable, match="truncated"):
        spectral_cache.SpectralCacheReader(entry)
    entry.write_bytes(b"SIMPLE  =                    T")
    with pytest.raises(spectral_cache.CacheUnavailable, match="not a spectral cache entry"):
        spectral_cache.SpectralCacheReader(entry)


def test_slices_of_one_box_are_read_once(tmp_path: Path, cube_file: tuple[Path, np.ndarray],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path, data = cube_file
    store = spectral_cache.SpectralCacheStore(tmp_path / "cache", 2**30)
    with images.open_image(path) as reader:
        entry = _build(store, reader)
    cached = spectral_cache.SpectralCacheReader(entry)
    reads = []
    original = cached._tile
    monkeypatch.setattr(cached, "_tile", lambda *a: (reads.append(a[1:]), original(*a)))
    try:
        for z in range(SHAPE4[1]):  # a profile job asking one channel at a time
            np.testing.assert_array_equal(cached.read_cube(1, 11, 2, 13, z, z + 1, 1), data[1, z:z + 1, 2:13, 1:11])
        tiles = len(reads)
        assert tiles == 2  # 2 x 2 tiles of 8x8, read once with every channel: one read per tile row
        np.testing.assert_array_equal(cached.read_spectrum(3, 4, 1, 2, 5), data[1, 2:5, 4, 3])
        np.testing.assert_array_equal(cached.read_cube(0, 11, 0, 13, 0, SHAPE4[1], 0), data[0, :, :, :11])
    finally:
        cached.close()


def _numpy_sums(plane_block: np.ndarray, mask: np.ndarray) -> np.ndarray:
    values = np.where(mask[None], plane_block, np.nan).astype(np.float64)
    return np.stack([np.sum(~np.isnan(values), axis=(1, 2)), np.nansum(values, axis=(1, 2)),
                     np.nansum(values * values, axis=(1, 2))], axis=1)


def test_region_sums_equal_numpy_for_any_mask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole tiles from the tile-row prefix sums, cut tiles from their pixels: the same
    count, sum and sum of squares as numpy over the region's pixels."""
    shape = (2, 7, 37, 45)  # stokes, z, y, x: edge tiles padded on both axes
    data = make_cube(shape, seed=5)
    data[0, 2, 10:14, 20:30] = np.nan
    data[1, :, 30, 5] = np.nan
    path = tmp_path / "cube.fits"
    write_fits(path, data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))
    monkeypatch.setattr(spectral_cache, "BUILD_STEP_BYTES", 1)  # one tile row per band
    store = spectral_cache.SpectralCacheStore(tmp_path / "cache", 2**30)
    with images.open_image(path) as reader:
        entry = _build(store, reader)
    cached = spectral_cache.SpectralCacheReader(entry)
    yy, xx = np.mgrid[0:30, 0:40]
    ellipse = ((yy - 14.5) / 15) ** 2 + ((xx - 19.5) / 20) ** 2 <= 1
    cases = [  # x0, x1, y0, y1, mask
        (0, 45, 0, 37, None), (3, 41, 5, 33, None), (8, 24, 8, 32, None), (44, 45, 36, 37, None),
        (5, 45, 7, 37, ellipse), (2, 42, 1, 31, ellipse)]
    try:
        assert cached.has_sums
        assert cached.sums_at_once(5, 45, 7, 37, ellipse)
        monkeypatch.setattr(spectral_cache_reader, "BOX_KEEP_BYTES", 0)  # every channel block read apart
        assert not cached.sums_at_once(5, 45, 7, 37, ellipse)
        for x0, x1, y0, y1, mask in cases:
            box_mask = np.ones((y1 - y0, x1 - x0), dtype=bool) if mask is None else mask
            for s in range(2):
                for z0, z1 in ((0, 7), (2, 5)):
                    got = cached.region_sums(s, x0, x1, y0, y1, mask, z0, z1)
                    want = _numpy_sums(data[s, z0:z1, y0:y1, x0:x1], box_mask)
                    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    finally:
        cached.close()


def test_a_cube_with_infinities_has_no_sums(tmp_path: Path) -> None:
    data = make_cube((1, 3, 10, 10), seed=1)
    data[0, 1, 4, 4] = np.inf
    path = tmp_path / "inf.fits"
    write_fits(path, data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))
    store = spectral_cache.SpectralCacheStore(tmp_path / "cache", 2**30)
    with images.open_image(path) as reader:
        entry = _build(store, reader)
    cached = spectral_cache.SpectralCacheReader(entry)
    try:
        assert not cached.has_sums
        with pytest.raises(spectral_cache.CacheUnavailable, match="no sums"):
            cached.region_sums(0, 0, 10, 0, 10, None, 0, 3)
        np.testing.assert_array_equal(cached.read_spectrum(4, 4, 0), data[0, :, 4, 4])
    finally:
        cached.close()
