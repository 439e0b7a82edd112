"""Replays of the CARTA protocol suite's matching, per-cube histogram, resume and CASA
region-file tests (ICD-RxJS, branch dev).

MATCH_SPATIAL, MATCH_SPECTRAL, PER_CUBE_HISTOGRAM, PER_CUBE_HISTOGRAM_HDF5, RESUME_IMAGE,
RESUME_REGION and CASA_REGION_INFO send the suite's messages (file ids, region ids,
requirements) to a real server over the socket and check what the suite checks about the
replies: message kinds, order, ids, counts, flags, field presence and texts. The QA images
are replaced by synthetic images of the same names, shapes and axis orders under
``set_QA``, found through ``$BASE`` as the suite does. Where the suite compares two formats
of the same data (FITS/CASA, FITS/HDF5), ours are compared with each other; pixel values of
the QA images are not checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.conftest import qa_path
from tests.image_factory import make_cube, wcs_header, write_casa, write_fits, write_hdf5_idia

E = pb.EventType
ZFP = pb.CompressionType.ZFP


async def open_image(client: CartaClient, directory: str, name: str, file_id: int, hdu: str = "") -> None:
    ack = await client.request(pb.OpenFile(directory=directory, file=name, hdu=hdu, file_id=file_id,
                                           render_mode=pb.RenderMode.RASTER), timeout=30)
    assert ack.success, ack.message
    assert ack.file_info.name == name
    histogram = (await client.expect(pb.RegionHistogramData, timeout=30)).message
    assert histogram.file_id == file_id


def without_file_id(message: pb.SpatialProfileData | pb.SpectralProfileData) -> bytes:
    copy = type(message)()
    copy.CopyFrom(message)
    copy.file_id = 0
    return copy.SerializeToString(deterministic=True)


# ------------------------------------------------------------------ MATCH_SPATIAL / MATCH_SPECTRAL

HD_NAMES = [(100, "HD163296_CO_2_1.fits"), (101, "HD163296_13CO_2-1.fits"),
            (102, "HD163296_C18O_2-1.fits"), (103, "HD163296_CO_2_1.image")]


@pytest.fixture
def hd163296_set(qa: Path) -> None:
    """Three 432x432 cubes of one WCS (the last also as a CASA image of the same data)."""
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES"))
    first = make_cube((1, 6, 432, 432), seed=163)
    write_fits(qa / HD_NAMES[0][1], first, header)
    write_fits(qa / HD_NAMES[1][1], make_cube((1, 6, 432, 432), seed=13), header)
    write_fits(qa / HD_NAMES[2][1], make_cube((1, 6, 432, 432), seed=18), header)
    write_casa(qa / HD_NAMES[3][1], first, header)


async def test_match_spatial(carta_url: str, hd163296_set: None) -> None:
    """Cursor on each of 4 files: a SpatialProfileData for that file, x/y 200, region 0,
    no profiles; spatial requirements x/y on 100 give 2 profiles of 0..432; clearing 100's
    and asking 103's gives 2 messages (100 with 0 profiles, 103 with 2) and 103's equals
    100's but for the file id (same data as FITS and CASA)."""
    async with open_client(carta_url) as client:
        await client.register()
        directory = await qa_path(client)
        await client.send(pb.CloseFile(file_id=-1))
        for file_id, name in HD_NAMES:
            await open_image(client, directory, name, file_id)
        values = {}
        for file_id, _ in HD_NAMES:
            await client.send(pb.SetCursor(file_id=file_id, point=pb.Point(x=200, y=200)))
            data = (await client.expect(pb.SpatialProfileData)).message
            assert (data.file_id, data.x, data.y, data.region_id, len(data.profiles)) == (file_id, 200, 200, 0, 0)
            values[file_id] = data.value
        assert values[100] == values[103]

        xy = [pb.SetSpatialRequirements.SpatialConfig(coordinate=c, mip=1) for c in "xy"]
        await client.send(pb.SetSpatialRequirements(file_id=100, region_id=0, spatial_profiles=xy))
        first = (await client.expect(pb.SpatialProfileData)).message
        assert first.file_id == 100 and first.region_id == 0
        assert [(p.coordinate, p.start, p.end) for p in first.profiles] == [("x", 0, 432), ("y", 0, 432)]

        await client.send(pb.SetSpatialRequirements(file_id=100, region_id=0, spatial_profiles=[]))
        await client.send(pb.SetSpatialRequirements(file_id=103, region_id=0, spatial_profiles=xy))
        two = [(await client.expect(pb.SpatialProfileData)).message for _ in range(2)]
        by_file = {m.file_id: m for m in two}
        assert len(by_file[100].profiles) == 0 and len(by_file[103].profiles) == 2
        assert without_file_id(by_file[103]) == without_file_id(first)


SPECTRAL_REGION = pb.RegionInfo(region_type=pb.RegionType.RECTANGLE, rotation=0,
                                control_points=[pb.Point(x=200, y=200), pb.Point(x=200, y=200)])


async def test_match_spectral(carta_url: str, hd163296_set: None) -> None:
    """Region 1 (id given by the client) set on file 100, spectral requirements (region 1,
    Sum) for each of the 4 files one after the other: each's next SpectralProfileData is
    for that file and region 1; 100's and 103's profiles are equal. After the region is
    rotated, SET_REGION_ACK comes before the profiles (the suite subscribes after the ack)
    and each file sends one final (progress 1) profile, again equal for 100 and 103."""
    async with open_client(carta_url) as client:
        await client.register()
        directory = await qa_path(client)
        await client.send(pb.CloseFile(file_id=-1))
        for file_id, name in HD_NAMES:
            await open_image(client, directory, name, file_id)
        for file_id, _ in HD_NAMES:
            await client.send(pb.AddRequiredTiles(file_id=file_id, tiles=[0], compression_type=ZFP,
                                                  compression_quality=11))
            await client.collect_until(lambda e: e.event_type == E.RASTER_TILE_SYNC and e.message.end_sync, timeout=30)
            await client.send(pb.SetCursor(file_id=file_id, point=pb.Point(x=200, y=200)))
            await client.expect(pb.SpatialProfileData)
            await client.send(pb.SetSpatialRequirements(file_id=file_id, region_id=0, spatial_profiles=[
                pb.SetSpatialRequirements.SpatialConfig(coordinate=c, mip=1) for c in "xy"]))
            await client.expect(pb.SpatialProfileData)
        ack = await client.request(pb.SetRegion(file_id=100, region_id=1, region_info=SPECTRAL_REGION))
        assert ack.success and ack.region_id == 1

        total = [pb.SetSpectralRequirements.SpectralConfig(coordinate="z", stats_types=[pb.StatsType.Sum])]
        profiles = {}
        for file_id, _ in HD_NAMES:
            await client.send(pb.SetSpectralRequirements(file_id=file_id, region_id=1, spectral_profiles=total))
            data = (await client.expect(pb.SpectralProfileData, timeout=30)).message
            assert (data.file_id, data.region_id) == (file_id, 1)
            profiles[file_id] = data
        assert profiles[100].progress == profiles[103].progress == 1
        assert list(profiles[100].profiles) == list(profiles[103].profiles)

        rotated = pb.RegionInfo()
        rotated.CopyFrom(SPECTRAL_REGION)
        rotated.rotation = 30
        request_id = await client.send(pb.SetRegion(file_id=100, region_id=1, region_info=rotated))
        log = await client.collect_until(
            lambda e: e.event_type == E.SET_REGION_ACK and e.request_id == request_id, timeout=30)
        assert not [e for e in log if e.event_type == E.SPECTRAL_PROFILE_DATA]
        finals = {}
        while len(finals) < 4:
            data = (await client.expect(pb.SpectralProfileData, timeout=30)).message
            assert data.region_id == 1 and data.file_id not in finals
            if data.progress == 1:
                finals[data.file_id] = data
        assert set(finals) == {100, 101, 102, 103}
        assert list(finals[100].profiles) == list(finals[103].profiles)
        assert list(finals[100].profiles) != list(profiles[100].profiles)


# ------------------------------------------------------------------ PER_CUBE_HISTOGRAM(_HDF5)

SUPERMOSAIC = (1, 10, 120, 96)


@pytest.fixture
def supermosaic(qa: Path) -> None:
    """supermosaic.10 as FITS and IDIA HDF5 of the same data (the real one is bigger)."""
    data = make_cube(SUPERMOSAIC, seed=10)
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES"))
    write_fits(qa / "supermosaic.10.fits", data, header)
    write_hdf5_idia(qa / "supermosaic.10.hdf5", data, header)


async def cube_histogram(client: CartaClient, directory: str, name: str, two_pass: bool) -> pb.RegionHistogramData:
    await client.send(pb.CloseFile(file_id=-1))
    ack = await client.request(pb.OpenFile(directory=directory, file=name, hdu="0", file_id=0,
                                           render_mode=pb.RenderMode.RASTER), timeout=30)
    assert ack.success and ack.file_info.name == name
    await client.expect(pb.RegionHistogramData, timeout=30)
    await client.send(pb.AddRequiredTiles(file_id=0, tiles=[0], compression_type=ZFP, compression_quality=11))
    got = await client.collect_until(lambda e: e.event_type == E.RASTER_TILE_SYNC and e.message.end_sync, timeout=30)
    assert len([e for e in got if e.event_type in (E.RASTER_TILE_DATA, E.RASTER_TILE_SYNC)]) == 3
    await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=1, y=1)))
    await client.expect(pb.SpatialProfileData)
    await client.send(pb.SetHistogramRequirements(file_id=0, region_id=-2, histograms=[pb.HistogramConfig(
        bounds=pb.DoubleBounds(min=0, max=0), channel=-2, num_bins=-1, fixed_bounds=False, fixed_num_bins=False)]))
    got = await client.collect_until(
        lambda e: e.event_type == E.REGION_HISTOGRAM_DATA and e.message.progress == 1, timeout=60)
    histograms = [e.message for e in got if e.event_type == E.REGION_HISTOGRAM_DATA]
    assert histograms[0].progress > 0
    # Computed (FITS): v4.1.0 always sends 0.5 (pass 1 done) before the final one; the
    # suite's step 3 waits for progress >= 0.5 before step 5's final one. Precomputed in
    # the IDIA HDF5 file: the final one at once (the HDF5 test waits only for it).
    progress = [h.progress for h in histograms]
    assert progress == sorted(progress)
    assert (0.5 in progress[:-1]) if two_pass else progress == [1.0]
    for h in histograms:
        assert (h.region_id, h.channel, h.file_id) == (-2, -2, 0)
    final = histograms[-1]
    assert final.histograms.num_bins == int(np.sqrt(SUPERMOSAIC[2] * SUPERMOSAIC[3]))
    assert len(final.histograms.bins) == final.histograms.num_bins
    return final


async def test_per_cube_histogram_fits_and_hdf5(carta_url: str, supermosaic: None) -> None:
    """Open, 1 tile (3 messages), cursor, then the cube histogram (region -2, channel -2):
    progress > 0 first, progress 1 last, num_bins sqrt(w*h) automatic; the FITS and the
    HDF5 image of the same data give the same histogram."""
    async with open_client(carta_url) as client:
        await client.register()
        directory = await qa_path(client)
        fits = await cube_histogram(client, directory, "supermosaic.10.fits", two_pass=True)
    async with open_client(carta_url) as client:
        await client.register()
        hdf5 = await cube_histogram(client, directory, "supermosaic.10.hdf5", two_pass=False)
    assert list(hdf5.histograms.bins) == list(fits.histograms.bins)
    for field in ("bin_width", "first_bin_center", "mean", "std_dev"):
        assert getattr(hdf5.histograms, field) == pytest.approx(getattr(fits.histograms, field), rel=1e-6), field


# ------------------------------------------------------------------ RESUME_IMAGE / RESUME_REGION

@pytest.fixture
def m17_pair(qa: Path) -> None:
    """M17_SWex.fits and M17_SWex.image (640x800x25, one Stokes)."""
    data = make_cube((1, 25, 800, 640), seed=17)
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES"))
    write_fits(qa / "M17_SWex.fits", data, header)
    write_casa(qa / "M17_SWex.image", data, header)


def rectangle(x: float, y: float, w: float, h: float) -> pb.RegionInfo:
    return pb.RegionInfo(region_type=pb.RegionType.RECTANGLE, rotation=0,
                         control_points=[pb.Point(x=x, y=y), pb.Point(x=w, y=h)])


def resume_images(directory: str, with_regions: bool) -> list[pb.ImageProperties]:
    regions = [{1: rectangle(250, 350, 80, 60)}, {2: rectangle(350, 250, 60, 80)}] if with_regions else [{}, {}]
    return [pb.ImageProperties(directory=directory, file=name, hdu="", file_id=file_id,
                               render_mode=pb.RenderMode.RASTER, channel=0, stokes=0, regions=regions[file_id])
            for file_id, name in enumerate(("M17_SWex.fits", "M17_SWex.image"))]


async def resume(client: CartaClient, images: list[pb.ImageProperties]) -> None:
    """RESUME_SESSION: success, empty message, 2 REGION_HISTOGRAM_DATA (one per image)."""
    ack = await client.request(pb.ResumeSession(images=images), timeout=30)
    assert ack.success and ack.message == ""
    histograms = [(await client.expect(pb.RegionHistogramData, timeout=30)).message for _ in range(2)]
    assert sorted(h.file_id for h in histograms) == [0, 1]


@pytest.mark.parametrize("with_regions", [False, True], ids=["RESUME_IMAGE", "RESUME_REGION"])
async def test_resume_image_and_region(carta_url: str, m17_pair: None, with_regions: bool) -> None:
    """Resume 2 images in a new session, then again in another (the suite's singleton
    reconnects with the first session's id); then each file renders tile 0 (sync, tile,
    sync) or each resumed region (1 on file 0, 2 on file 1) answers its stats request."""
    async with open_client(carta_url) as client:
        first = await client.register()
        directory = await qa_path(client)
        await resume(client, resume_images(directory, with_regions))
    async with open_client(carta_url) as client:
        ack = await client.register(first.session_id)
        assert ack.success
        await resume(client, resume_images(directory, with_regions))
        if not with_regions:
            for file_id in (0, 1):
                await client.send(pb.AddRequiredTiles(file_id=file_id, tiles=[0], compression_type=ZFP,
                                                      compression_quality=11))
                got = await client.collect_until(
                    lambda e: e.event_type == E.RASTER_TILE_SYNC and e.message.end_sync, timeout=30)
                kept = [e.message for e in got if e.event_type in (E.RASTER_TILE_DATA, E.RASTER_TILE_SYNC)]
                assert len(kept) == 3 and all(m.file_id == file_id for m in kept)
            return
        stats = [pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[
            pb.StatsType.NumPixels, pb.StatsType.NanCount, pb.StatsType.Sum])]
        for file_id, region_id in ((0, 1), (1, 2)):
            await client.send(pb.SetStatsRequirements(file_id=file_id, region_id=region_id, stats_configs=stats))
            data = (await client.expect(pb.RegionStatsData, timeout=30)).message
            assert (data.file_id, data.region_id) == (file_id, region_id)
            assert [s.stats_type for s in data.statistics] == [
                pb.StatsType.NumPixels, pb.StatsType.NanCount, pb.StatsType.Sum]
            assert data.statistics[0].value > 0


# ------------------------------------------------------------------ CASA_REGION_INFO

WORLD_LINES = [
    "#CRTFv0 CASA Region Text Format version 0",
    "symbol [[275.13653085deg, -16.17909524deg], .] coord=ICRS, corr=[I], linewidth=1, linestyle=-, symsize=1,"
    " symthick=1, color=green, font=Helvetica, fontsize=10, fontstyle=bold, usetex=false",
    "centerbox [[275.13683271deg, -16.18844433deg], [30.0324arcsec, 30.0324arcsec]] coord=ICRS, corr=[I],"
    " linewidth=1, linestyle=-, symsize=1, symthick=1, color=green, font=Helvetica, fontsize=10, fontstyle=bold,"
    " usetex=false",
]
PIX_LINES = [
    "#CRTFv0 CASA Region Text Format version 0",
    "symbol [[-103.8pix, 613.1pix], .] coord=ICRS, corr=[I], linewidth=1, linestyle=-, symsize=1, symthick=1,"
    " color=green, font=Helvetica, fontsize=10, fontstyle=bold, usetex=false",
    "poly [[757.0pix, 270.1pix], [715.6pix, 118.6pix], [829.5pix, 191.1pix]] coord=ICRS, corr=[I], linewidth=1,"
    " linestyle=-, symsize=1, symthick=1, color=green, font=Helvetica, fontsize=10, fontstyle=bold, usetex=false",
]


async def test_casa_region_info(carta_url: str, m17_pair: None, qa: Path) -> None:
    """REGION_LIST_REQUEST of set_QA/regionTest: success, directory ends with it, parent
    set_QA, no subdirectories, both .crtf files as CRTF; REGION_FILE_INFO_REQUEST: name,
    type CRTF, contents = the file's lines plus a last "" for the final newline."""
    folder = qa / "regionTest"
    folder.mkdir()
    (folder / "M17_SWex_regionSet1_world.crtf").write_text("\n".join(WORLD_LINES) + "\n")
    (folder / "M17_SWex_regionSet1_pix.crtf").write_text("\n".join(PIX_LINES) + "\n")
    async with open_client(carta_url) as client:
        await client.register(client_feature_flags=5)
        directory = await qa_path(client)
        await client.send(pb.CloseFile(file_id=-1))
        await open_image(client, directory, "M17_SWex.image", 0)
        listing = await client.request(pb.RegionListRequest(directory=directory + "/regionTest"))
        assert listing.success
        assert "set_QA/regionTest" in listing.directory
        assert listing.parent.endswith("set_QA")
        assert list(listing.subdirectories) == []
        types = {f.name: f.type for f in listing.files}
        assert types == {"M17_SWex_regionSet1_world.crtf": pb.FileType.CRTF,
                         "M17_SWex_regionSet1_pix.crtf": pb.FileType.CRTF}
        for name, lines in (("M17_SWex_regionSet1_world.crtf", WORLD_LINES),
                            ("M17_SWex_regionSet1_pix.crtf", PIX_LINES)):
            info = await client.request(pb.RegionFileInfoRequest(directory=directory + "/regionTest", file=name))
            assert info.success
            assert (info.file_info.name, info.file_info.type) == (name, pb.FileType.CRTF)
            assert list(info.contents) == [*lines, ""]


# ------------------------------------------------------------------ PV_GENERATOR_MATCH_SPATIAL / _HDF5_COMPARED_FITS

PV_DEPTH = 30
LINE = pb.RegionInfo(region_type=pb.RegionType.LINE, rotation=135,
                     control_points=[pb.Point(x=79, y=77), pb.Point(x=362, y=360)])


@pytest.fixture
def hd163296_formats(qa: Path) -> None:
    """HD163296_CO_2_1 as FITS, CASA and IDIA HDF5 of the same data (432x432; fewer
    channels than the real 250, so the PV image is PV_DEPTH high)."""
    data = make_cube((1, PV_DEPTH, 432, 432), seed=1632)
    header = wcs_header(("RA---SIN", "DEC--SIN", "FREQ", "STOKES"))
    write_fits(qa / "HD163296_CO_2_1.fits", data, header)
    write_casa(qa / "HD163296_CO_2_1.image", data, header)
    write_hdf5_idia(qa / "HD163296_CO_2_1.hdf5", data, header)


async def pv_and_histogram(client: CartaClient, file_id: int, region_id: int) -> tuple[pb.PvResponse, pb.RegionHistogramData]:
    """PV_REQUEST (width 3): the response and the first REGION_HISTOGRAM_DATA after the
    request (the suite subscribes before it asks), which must be the PV image's."""
    request_id = await client.send(pb.PvRequest(file_id=file_id, region_id=region_id, width=3))
    response, histogram = None, None
    while response is None or histogram is None:
        envelope = await client.receive(timeout=60)
        if envelope.event_type == E.PV_RESPONSE and envelope.request_id == request_id:
            response = envelope.message
        elif envelope.event_type == E.REGION_HISTOGRAM_DATA and histogram is None:
            histogram = envelope.message
    assert response.success, response.message
    ack = response.open_file_ack
    assert ack.success
    assert (histogram.file_id, histogram.region_id, histogram.progress) == (ack.file_id, -1, 1)
    return response, histogram


async def pv_tiles(client: CartaClient, file_id: int) -> list[pb.RasterTileData]:
    """Tiles (layer 1, x 0 and 1) of the PV image: 256 and 145 wide, PV_DEPTH high."""
    await client.send(pb.AddRequiredTiles(file_id=file_id, tiles=[16777216, 16777217], compression_type=ZFP,
                                          compression_quality=11))
    got = await client.collect_until(lambda e: e.event_type == E.RASTER_TILE_SYNC and e.message.end_sync, timeout=30)
    tiles = sorted((e.message for e in got if e.event_type == E.RASTER_TILE_DATA), key=lambda m: m.tiles[0].x)
    assert [(t.file_id, t.tiles[0].layer, t.tiles[0].x, t.tiles[0].width, t.tiles[0].height) for t in tiles] == [
        (file_id, 1, 0, 256, PV_DEPTH), (file_id, 1, 1, 145, PV_DEPTH)]
    return tiles


async def test_pv_generator_match_spatial(carta_url: str, hd163296_formats: None) -> None:
    """Line region 1 set on file 0 (FITS), profiled on file 1 (CASA, matched): the line's
    spatial profile is file 1, region 1, coordinate "", 0..400; PV of region 1 on each file:
    the PV image's histogram (region -1, progress 1) is the first after the request, names
    HD163296_CO_2_1_pv.fits and _pv.image (v4.1.0 file ids, taken from the acks)."""
    async with open_client(carta_url) as client:
        await client.register(client_feature_flags=5)
        directory = await qa_path(client)
        await client.send(pb.CloseFile(file_id=-1))
        for file_id, name in ((0, "HD163296_CO_2_1.fits"), (1, "HD163296_CO_2_1.image")):
            await open_image(client, directory, name, file_id, hdu="0")
            await client.send(pb.AddRequiredTiles(file_id=file_id, tiles=[0], compression_type=ZFP,
                                                  compression_quality=11))
            await client.collect_until(lambda e: e.event_type == E.RASTER_TILE_SYNC and e.message.end_sync, timeout=30)
        ack = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=LINE))
        assert (ack.region_id, ack.success) == (1, True)
        await client.send(pb.SetSpatialRequirements(file_id=1, region_id=0, spatial_profiles=[]))
        await client.send(pb.SetSpatialRequirements(file_id=1, region_id=1, spatial_profiles=[
            pb.SetSpatialRequirements.SpatialConfig(coordinate="", mip=1, width=3)]))
        line = (await client.expect(pb.SpatialProfileData, timeout=30)).message
        assert (line.file_id, line.region_id) == (1, 1)
        assert [(p.coordinate, p.start, p.end) for p in line.profiles] == [("", 0, 400)]

        names = []
        for file_id in (0, 1):
            response, _ = await pv_and_histogram(client, file_id, 1)
            names.append(response.open_file_ack.file_info.name)
        assert names == ["HD163296_CO_2_1_pv.fits", "HD163296_CO_2_1_pv.image"]


async def test_pv_generator_hdf5_compared_fits(carta_url: str, hd163296_formats: None) -> None:
    """PV of the same line on the HDF5 (file 0, region 1) and the FITS image (file 2,
    region 2): each first histogram is the PV's; the PV images' layer-1 tiles (256 and
    145 wide) are byte-identical and so are their cursor values at (177, 79)."""
    async with open_client(carta_url) as client:
        await client.register(client_feature_flags=5)
        directory = await qa_path(client)
        await client.send(pb.CloseFile(file_id=-1))
        pv_ids = []
        for file_id, name, region_id in ((0, "HD163296_CO_2_1.hdf5", 1), (2, "HD163296_CO_2_1.fits", 2)):
            await open_image(client, directory, name, file_id, hdu="0")
            await client.send(pb.SetCursor(file_id=file_id, point=pb.Point(x=1, y=1)))
            await client.expect(pb.SpatialProfileData)
            await client.send(pb.AddRequiredTiles(file_id=file_id, tiles=[0], compression_type=ZFP,
                                                  compression_quality=11))
            await client.collect_until(lambda e: e.event_type == E.RASTER_TILE_SYNC and e.message.end_sync, timeout=30)
            if file_id == 0:
                await client.send(pb.SetSpatialRequirements(file_id=0, region_id=0, spatial_profiles=[
                    pb.SetSpatialRequirements.SpatialConfig(coordinate=c, mip=1) for c in "xy"]))
                await client.expect(pb.SpatialProfileData)
            ack = await client.request(pb.SetRegion(file_id=file_id, region_id=-1, region_info=LINE))
            assert (ack.region_id, ack.success) == (region_id, True)
            response, _ = await pv_and_histogram(client, file_id, region_id)
            pv_ids.append(response.open_file_ack.file_id)
        assert pv_ids[0] != pv_ids[1]
        hdf5_tiles = await pv_tiles(client, pv_ids[0])
        fits_tiles = await pv_tiles(client, pv_ids[1])
        for a, b in zip(hdf5_tiles, fits_tiles):
            assert a.tiles[0].image_data == b.tiles[0].image_data
        values = []
        for pv_id in pv_ids:
            await client.send(pb.SetCursor(file_id=pv_id, point=pb.Point(x=177, y=PV_DEPTH // 2)))
            data = (await client.expect(pb.SpatialProfileData)).message
            assert data.file_id == pv_id
            values.append(data.value)
        assert values[0] == values[1] and np.isfinite(values[0])
