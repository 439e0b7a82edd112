"""Replays of the CARTA protocol suite's job tests (ICD-RxJS, branch dev): cancellation,
progress and results of moments, PV, fitting, cube histograms, vector overlays and
matched-region statistics.

Each test sends the suite's messages (ids, file ids, regions, requests) and checks what
the suite checks about the reply: which messages come back, in what order, their ids,
counts, flags and error texts. The QA images are replaced by synthetic images of the
same names, shapes and axis orders; values that depend on the real images are not
checked. Where the suite waits seconds for a job to run long enough to be cancelled,
the job's chunks are slowed down instead.

The suite reads streams "hot" (only messages arriving after it subscribed); these
replays read the message log in arrival order to the same effect.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.actors import cube_histogram, workers
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.image_factory import make_cube, wcs_header, write_fits

E = pb.EventType
ZFP = pb.CompressionType.ZFP


@pytest.fixture
async def url(carta_url: str) -> AsyncIterator[str]:
    """The server's URL; afterwards, wait for worker threads of cancelled chunks (see
    test_protocol_moments_pv.settled_workers)."""
    yield carta_url
    with trio.move_on_after(30):
        while workers.cpu_limiter().borrowed_tokens:
            await trio.sleep(0.02)


def slow_down(monkeypatch: pytest.MonkeyPatch, module: object, name: str, seconds: float) -> None:
    original = getattr(module, name)

    def slow(*args: object, **kwargs: object) -> object:
        time.sleep(seconds)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)


async def open_image(client: CartaClient, name: str, file_id: int = 0) -> pb.OpenFileAck:
    """CLOSE_FILE -1, OPEN_FILE and its first REGION_HISTOGRAM_DATA, as every test starts."""
    await client.send(pb.CloseFile(file_id=-1))
    ack = await client.request(pb.OpenFile(directory="", file=name, hdu="", file_id=file_id,
                                           render_mode=pb.RenderMode.RASTER), timeout=30)
    assert ack.success, ack.message
    assert ack.file_info.name == name
    await client.expect(pb.RegionHistogramData, timeout=30)
    return ack


async def tile_stream(client: CartaClient, file_id: int, tiles: list[int], quality: int = 11) -> list:
    """ADD_REQUIRED_TILES and ``Stream(RasterTileData, n + 2)``: sync, n tiles, end sync."""
    await client.send(pb.AddRequiredTiles(file_id=file_id, tiles=tiles, compression_type=ZFP,
                                          compression_quality=quality))
    got = await client.collect_until(
        lambda e: e.event_type == E.RASTER_TILE_SYNC and e.message.end_sync, timeout=30)
    kept = [e.message for e in got if e.event_type in (E.RASTER_TILE_DATA, E.RASTER_TILE_SYNC)]
    assert len(kept) == len(tiles) + 2
    return kept


async def messages_for(client: CartaClient, seconds: float) -> list:
    """Everything arriving within ``seconds`` (the suite's 'no more messages' checks)."""
    out = []
    with trio.move_on_after(seconds):
        while True:
            out.append(await client.receive(timeout=None))
    return out


# ------------------------------------------------------------------ PER_CUBE_HISTOGRAM_CANCELLATION

SDC335 = "SDC335.579-0.292.spw0-channel-cutted.line.fits"


@pytest.fixture
def sdc335(data_dir: Path) -> None:
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES"))
    write_fits(data_dir / SDC335, make_cube((1, 20, 48, 40), seed=3), header)


async def test_per_cube_histogram_cancellation(url: str, sdc335: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two requests running, then an empty list: two ErrorData (the reference's two
    tasks each fail with 'Histogram calculation for region -2 failed'), no final
    histogram; a new request then completes with progress 1."""
    slow_down(monkeypatch, cube_histogram, "_chunk_stats", 0.3)
    monkeypatch.setattr(cube_histogram, "CHUNK_BYTES", 48 * 40 * 4)
    monkeypatch.setattr(cube_histogram, "PROGRESS_INTERVAL", 0.5)
    config = pb.HistogramConfig(bounds=pb.DoubleBounds(min=0, max=0), channel=-2, num_bins=-1,
                                fixed_bounds=False, fixed_num_bins=False)
    request = pb.SetHistogramRequirements(file_id=0, region_id=-2, histograms=[config])
    async with open_client(url) as client:
        await client.register()
        await open_image(client, SDC335)
        assert len(await tile_stream(client, 0, [0])) == 3
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=1, y=1)))
        await client.expect(pb.SpatialProfileData)

        await client.send(request)
        first = (await client.expect(pb.RegionHistogramData, timeout=30)).message
        assert first.progress > 0 and first.region_id == -2
        await client.send(request)
        second = (await client.expect(pb.RegionHistogramData, timeout=30)).message
        assert second.region_id == -2

        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=-2, histograms=[]))
        after = await messages_for(client, 2.0)
        errors = [e.message for e in after if e.event_type == E.ERROR_DATA]
        assert len(errors) >= 2
        assert [(x.message, x.severity, list(x.tags)) for x in errors] == [
            ("Histogram calculation for region -2 failed", pb.ErrorSeverity.WARNING, ["histogram"])] * 2
        assert not [e for e in after if e.event_type == E.REGION_HISTOGRAM_DATA and e.message.progress == 1]

        monkeypatch.undo()
        await client.send(request)
        done = await client.collect_until(
            lambda e: e.event_type == E.REGION_HISTOGRAM_DATA and e.message.progress == 1, timeout=30)
        final = done[-1].message
        assert (final.region_id, final.channel) == (-2, -2)
        assert final.histograms.num_bins == int(np.sqrt(48 * 40))
        assert len(final.histograms.bins) == final.histograms.num_bins
