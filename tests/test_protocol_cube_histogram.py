"""The cube histogram (region -2) through the real server: two passes with progress,
the final histogram against a two-pass numpy computation, caching, fixed bounds,
Stokes, and cancellation by an empty requirement."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.actors import cube_histogram
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests import analytics_expect as ex
from tests.image_factory import make_cube, wcs_header, write_fits

SHAPE = (10, 24, 30)
AUTO = int(math.sqrt(24 * 30))


@pytest.fixture
def cube(data_dir: Path) -> np.ndarray:
    data = make_cube(SHAPE, seed=21)
    data[4, :, :] = np.nan  # an all-NaN plane
    data[6, 3, 3] = np.inf  # histograms skip infinities
    write_fits(data_dir / "cube.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    return data


async def open_cube(client: CartaClient, name: str = "cube.fits") -> None:
    await client.register()
    ack = await client.request(pb.OpenFile(directory="", file=name, file_id=0))
    assert ack.success, ack.message
    await client.expect(pb.RegionHistogramData)


def requirement(*configs: pb.HistogramConfig) -> pb.SetHistogramRequirements:
    return pb.SetHistogramRequirements(file_id=0, region_id=-2, histograms=list(configs))


CUBE_CONFIG = pb.HistogramConfig(coordinate="z", channel=-2, num_bins=-1)


async def collect(client: CartaClient) -> list[pb.RegionHistogramData]:
    messages: list[pb.RegionHistogramData] = []
    while not messages or messages[-1].progress < 1.0:
        message = (await client.expect(pb.RegionHistogramData, timeout=20)).message
        assert message.region_id == -2
        messages.append(message)
    return messages


async def test_cube_histogram_matches_two_pass_numpy(carta_url: str, cube: np.ndarray) -> None:
    async with open_client(carta_url) as client:
        await open_cube(client)
        await client.send(requirement(CUBE_CONFIG))
        first = await collect(client)
        await client.send(requirement(CUBE_CONFIG))
        again = await collect(client)
    final = first[-1]
    assert (final.file_id, final.channel, final.stokes, final.progress) == (0, -2, 0, 1.0)
    assert (final.config.num_bins, final.config.fixed_bounds) == (-1, False)
    ex.assert_histogram(final.histograms, ex.histogram(cube, AUTO))
    assert len(again) == 1 and again[0].histograms == final.histograms  # answered from the cache


async def test_progress_messages_of_both_passes(carta_url: str, cube: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cube_histogram, "PROGRESS_INTERVAL", -1.0)
    monkeypatch.setattr(cube_histogram, "CHUNK_BYTES", 24 * 30 * 4 * 2)  # two planes per chunk
    async with open_client(carta_url) as client:
        await open_cube(client)
        await client.send(requirement(CUBE_CONFIG))
        messages = await collect(client)
    progress = [m.progress for m in messages]
    assert progress == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert all(m.HasField("histograms") and len(m.histograms.bins) == 0 for m in messages[:6])
    assert all(m.channel == -2 for m in messages)
    partial = messages[7]  # after planes 0-3 of pass 2
    bins = np.array(partial.histograms.bins)
    assert partial.histograms.num_bins == AUTO and bins.sum() == np.isfinite(cube[:4]).sum()
    full = ex.histogram(cube, AUTO)
    assert bins.sum() < sum(full["bins"])
    ex.assert_histogram(messages[-1].histograms, full)


async def test_fixed_bounds_bins_and_stokes(carta_url: str, data_dir: Path) -> None:
    data = make_cube((4, 5, 12, 14), seed=2)
    write_fits(data_dir / "iquv.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES")))
    config = pb.HistogramConfig(coordinate="Uz", channel=-2, num_bins=16, fixed_bounds=True,
                                bounds=pb.DoubleBounds(min=-2.0, max=3.0))
    async with open_client(carta_url) as client:
        await open_cube(client, "iquv.fits")
        await client.send(requirement(config))
        final = (await collect(client))[-1]
    assert (final.stokes, final.config.num_bins, final.config.fixed_bounds) == (2, 16, True)
    assert (final.config.bounds.min, final.config.bounds.max) == (-2.0, 3.0)
    ex.assert_histogram(final.histograms, ex.histogram(data[2], 16, (-2.0, 3.0)))


async def test_empty_requirement_cancels(carta_url: str, cube: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    original = cube_histogram._chunk_stats

    def slow(*args: object) -> list:
        time.sleep(0.2)
        return original(*args)

    monkeypatch.setattr(cube_histogram, "_chunk_stats", slow)
    monkeypatch.setattr(cube_histogram, "CHUNK_BYTES", 24 * 30 * 4)
    async with open_client(carta_url) as client:
        await open_cube(client)
        await client.send(requirement(CUBE_CONFIG))
        await trio.sleep(0.3)
        await client.send(requirement())
        info = (await client.expect(pb.ErrorData)).message
        with pytest.raises(trio.TooSlowError):
            await client.expect(pb.RegionHistogramData, timeout=2.5)
        # the session is still serving: a new request computes from the start
        monkeypatch.setattr(cube_histogram, "_chunk_stats", original)
        await client.send(requirement(CUBE_CONFIG))
        final = (await collect(client))[-1]
    assert (info.message, info.severity, list(info.tags)) == (
        "Histogram calculation for region -2 failed", pb.ErrorSeverity.WARNING, ["histogram"])
    ex.assert_histogram(final.histograms, ex.histogram(cube, AUTO))


async def test_closing_the_file_stops_the_cube_histogram(carta_url: str, cube: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    original = cube_histogram._chunk_counts

    def slow(*args: object) -> np.ndarray:
        time.sleep(0.2)
        return original(*args)

    monkeypatch.setattr(cube_histogram, "_chunk_counts", slow)
    monkeypatch.setattr(cube_histogram, "CHUNK_BYTES", 24 * 30 * 4)
    async with open_client(carta_url) as client:
        await open_cube(client)
        await client.send(requirement(CUBE_CONFIG))
        await trio.sleep(0.3)
        await client.send(pb.CloseFile(file_id=0))
        await trio.sleep(1.5)  # pass 2 would take 2 s
        progress = [e.message.progress for e in client.buffered if e.event_type == pb.EventType.REGION_HISTOGRAM_DATA]
        assert await client.ping() == "PONG"
    assert progress and max(progress) == 0.5  # pass 1 finished before the close; nothing after


async def test_hdf5_precomputed_histograms_and_statistics(carta_url: str, data_dir: Path) -> None:
    import h5py

    from tests.image_factory import write_hdf5_idia

    data = make_cube((3, 20, 25), seed=9)
    write_hdf5_idia(data_dir / "cube.hdf5", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    with h5py.File(data_dir / "cube.hdf5", "r") as f:
        xy = {k: np.asarray(f[f"0/Statistics/XY/{k}"]) for k in ("MIN", "MAX", "SUM", "SUM_SQ", "NAN_COUNT", "HISTOGRAM")}
        xyz = {k: np.asarray(f[f"0/Statistics/XYZ/{k}"]) for k in ("MIN", "MAX", "SUM", "SUM_SQ", "NAN_COUNT", "HISTOGRAM")}

    def stored(s: dict, index: tuple, pixels: int) -> dict:
        counts = s["HISTOGRAM"][index]
        lo, hi = float(s["MIN"][index]), float(s["MAX"][index])
        n = pixels - int(s["NAN_COUNT"][index])
        total, total_sq = float(s["SUM"][index]), float(s["SUM_SQ"][index])
        width = (hi - lo) / counts.size
        return {"num_bins": counts.size, "bin_width": width, "first_bin_center": lo + width / 2, "bins": counts.tolist(),
                "mean": total / n, "std_dev": math.sqrt((total_sq - total * total / n) / (n - 1))}

    async with open_client(carta_url) as client:
        await open_cube(client, "cube.hdf5")
        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=-1, histograms=[
            pb.HistogramConfig(coordinate="z", channel=2, num_bins=-1),
            pb.HistogramConfig(coordinate="z", channel=2, num_bins=7)]))
        plane_stored = (await client.expect(pb.RegionHistogramData)).message
        plane_computed = (await client.expect(pb.RegionHistogramData)).message
        await client.send(requirement(CUBE_CONFIG))
        cube_messages = await collect(client)
        await client.send(pb.SetStatsRequirements(file_id=0, region_id=-1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[pb.StatsType.NumPixels, pb.StatsType.Sum])]))
        stats = (await client.expect(pb.RegionStatsData)).message
    ex.assert_histogram(plane_stored.histograms, stored(xy, (2,), 20 * 25))
    ex.assert_histogram(plane_computed.histograms, ex.histogram(data[2], 7))
    assert len(cube_messages) == 1  # no passes: the file has the answer
    ex.assert_histogram(cube_messages[0].histograms, stored(xyz, (), 3 * 20 * 25))
    assert [s.value for s in stats.statistics] == [20 * 25 - int(xy["NAN_COUNT"][0]), pytest.approx(float(xy["SUM"][0]))]
