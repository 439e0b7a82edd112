"""Spectral caches through the real server: a large cube's cache is built in the
background when it opens, cursor and region spectral profiles then read from it (and
equal numpy on the image), closing the file stops a build and leaves nothing behind,
two sessions on one image build it once, and without a cache folder nothing is built."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.actors import server as _server  # noqa: F401  handlers registered
from carta_trio.actors import spectral_cache as cache_actor
from carta_trio.io import spectral_cache
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests import analytics_expect as ex
from tests.conftest import server_url
from tests.image_factory import make_cube, wcs_header, write_fits
from tests.region_client import final_spectral, new_region, open_image, spectral

ST = pb.StatsType
RT = pb.RegionType
SHAPE = (40, 24, 30)


@pytest.fixture
def cube(data_dir: Path) -> np.ndarray:
    data = make_cube(SHAPE, seed=11)
    write_fits(data_dir / "big.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    return data


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*" + spectral_cache.SUFFIX)) if folder.is_dir() else []


async def _wait_for_entry(folder: Path, timeout: float = 20.0) -> Path:
    with trio.fail_after(timeout):
        while not _entries(folder):
            await trio.sleep(0.02)
    return _entries(folder)[0]


class Counter:
    """Counts calls of a method (the server runs in this process)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        original = getattr(cls, name)

        def counted(inner_self: object, *args: object, **kwargs: object) -> object:
            with self._lock:
                self.calls += 1
            return original(inner_self, *args, **kwargs)

        monkeypatch.setattr(cls, name, counted)


async def test_profiles_read_the_built_cache_and_match_numpy(
    start_server: Callable[..., Awaitable[object]], tmp_path: Path, cube: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "cache"
    spectra = Counter(monkeypatch, spectral_cache.SpectralCacheReader, "read_spectrum")
    boxes = Counter(monkeypatch, spectral_cache.SpectralCacheReader, "read_cube")
    sums = Counter(monkeypatch, spectral_cache.SpectralCacheReader, "region_sums")
    handle = await start_server(cache_folder=folder, spectral_cache_threshold=0)
    async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
        await open_image(client, "big.fits")
        await _wait_for_entry(folder)
        with trio.fail_after(10):
            while not any(cache_actor._sources.values()):
                await trio.sleep(0.01)
        await client.send(spectral(0, ("z", [ST.Sum])))
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=7.0, y=5.0)))
        message = await final_spectral(client)
        got = np.frombuffer(message.profiles[0].raw_values_fp32, dtype="<f4")
        np.testing.assert_array_equal(got, cube[:, 5, 7])
        assert spectra.calls >= 1

        mask = ex.rectangle_mask(SHAPE[1:], 12.0, 10.0, 9.0, 7.0, 0.0)
        rid = await new_region(client, RT.RECTANGLE, [(12.0, 10.0), (9.0, 7.0)])
        await client.send(spectral(rid, ("z", [ST.Mean])))
        message = await final_spectral(client)
        want = np.array([np.nanmean(plane[mask].astype(np.float64)) for plane in cube])
        np.testing.assert_allclose(ex.fp64(message.profiles[0]), want, rtol=1e-9)
        assert sums.calls >= 1 and boxes.calls == 0  # Mean comes from the entry's sums

        # An ellipse cuts tiles; Sigma and NumPixels from sums, Max from the pixels.
        ellipse = ex.ellipse_mask(SHAPE[1:], 14.3, 11.2, 10.6, 7.7, 0.0)
        rid = await new_region(client, RT.ELLIPSE, [(14.3, 11.2), (10.6, 7.7)])
        await client.send(spectral(rid, ("z", [ST.Sigma, ST.NumPixels, ST.Max])))
        message = await final_spectral(client)
        got = {p.stats_type: ex.fp64(p) for p in message.profiles}
        values = [plane[ellipse].astype(np.float64) for plane in cube]
        np.testing.assert_allclose(got[ST.Sigma], [np.nanstd(v, ddof=1) for v in values], rtol=1e-9)
        np.testing.assert_array_equal(got[ST.NumPixels], [np.sum(~np.isnan(v)) for v in values])
        np.testing.assert_array_equal(got[ST.Max], [np.nanmax(v) for v in values])
        assert boxes.calls >= 1


async def test_closing_the_file_stops_the_build_and_leaves_nothing(
    start_server: Callable[..., Awaitable[object]], tmp_path: Path, cube: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "cache"
    monkeypatch.setattr(spectral_cache, "BUILD_STEP_BYTES", 1)  # one band of 4 rows a step
    original = spectral_cache.CacheBuild.step
    stepping = threading.Event()

    def slow_step(self: spectral_cache.CacheBuild, index: int) -> None:
        stepping.set()
        threading.Event().wait(0.05)
        original(self, index)

    monkeypatch.setattr(spectral_cache.CacheBuild, "step", slow_step)
    handle = await start_server(cache_folder=folder, spectral_cache_threshold=0)
    async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
        await open_image(client, "big.fits")
        with trio.fail_after(10):
            while not stepping.is_set():
                await trio.sleep(0.01)
        await client.send(pb.CloseFile(file_id=0))
        await trio.sleep(0.5)
        # The session still answers, and the cache folder holds neither entry nor staging file.
        await client.request(pb.FileListRequest(directory=""))
    assert list(folder.iterdir()) == []


async def test_two_sessions_on_one_image_build_it_once(
    start_server: Callable[..., Awaitable[object]], tmp_path: Path, cube: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "cache"
    commits = Counter(monkeypatch, spectral_cache.CacheBuild, "commit")
    handle = await start_server(cache_folder=folder, spectral_cache_threshold=0)
    async with open_client(server_url(handle)) as one, open_client(server_url(handle)) as two:  # type: ignore[arg-type]
        await open_image(one, "big.fits")
        await open_image(two, "big.fits")
        await _wait_for_entry(folder)
        with trio.fail_after(10):
            while sum(1 for v in cache_actor._sources.values() if v is not None) < 2:
                await trio.sleep(0.01)
    assert commits.calls == 1
    assert len(_entries(folder)) == 1


async def test_small_cubes_and_no_cache_build_nothing(
    start_server: Callable[..., Awaitable[object]], tmp_path: Path, cube: np.ndarray,
) -> None:
    handle = await start_server(cache_folder=tmp_path / "cache", spectral_cache_threshold=2**30)
    off = await start_server(cache_folder=None, spectral_cache_threshold=0)
    for h in (handle, off):
        async with open_client(server_url(h)) as client:  # type: ignore[arg-type]
            await open_image(client, "big.fits")
            await client.send(spectral(0, ("z", [ST.Sum])))
            await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=3.0, y=4.0)))
            message = await final_spectral(client)
            np.testing.assert_array_equal(np.frombuffer(message.profiles[0].raw_values_fp32, dtype="<f4"),
                                          cube[:, 4, 3])
    assert _entries(tmp_path / "cache") == []


@pytest.mark.parametrize("fault", ["full disk", "read-only folder"])
async def test_a_cache_folder_that_cannot_take_the_copy_changes_nothing_for_the_viewer(
    start_server: Callable[..., Awaitable[object]], tmp_path: Path, cube: np.ndarray,
    monkeypatch: pytest.MonkeyPatch, fault: str,
) -> None:
    """The cache is optional: a full disk (the space is reserved first, so it fails at
    once) or a folder it may not write leaves no file behind and sends the viewer no
    error; profiles are read from the image as without a cache."""
    import errno
    import os

    folder = tmp_path / "cache"
    if fault == "full disk":
        def full(fd: int, offset: int, length: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(spectral_cache.os, "posix_fallocate", full)
    else:
        folder.mkdir()
        real_access = os.access
        monkeypatch.setattr(spectral_cache.os, "access",
                            lambda path, mode, **kw: False if Path(path) == folder else real_access(path, mode, **kw))
        if os.geteuid() != 0:
            folder.chmod(0o500)
    handle = await start_server(cache_folder=folder, spectral_cache_threshold=0)
    async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
        await open_image(client, "big.fits")
        await trio.sleep(0.5)  # the build starts, and fails, meanwhile
        await client.send(spectral(0, ("z", [ST.Sum])))
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=7.0, y=5.0)))
        messages = []
        with trio.fail_after(20):
            while True:
                envelope = await client.receive(timeout=20)
                messages.append(envelope)
                if isinstance(envelope.message, pb.SpectralProfileData) and envelope.message.progress >= 1:
                    break
        got = np.frombuffer(messages[-1].message.profiles[0].raw_values_fp32, dtype="<f4")
        np.testing.assert_array_equal(got, cube[:, 5, 7])
        assert not [m for m in messages if isinstance(m.message, pb.ErrorData)]
    assert _entries(folder) == [] and (not folder.exists() or list(folder.iterdir()) == [])
