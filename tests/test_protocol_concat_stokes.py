"""CONCAT_STOKES_FILES through the real server: validation in the reference's order and
words, the joined frame's ack, and what a frame does (tiles, cursor profiles, region
statistics, computed Stokes, SAVE_FILE, RESUME_SESSION) against numpy on the inputs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import FITSFixedWarning
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client

from tests import analytics_expect as ex
from tests.image_factory import (
    make_cube,
    wcs_header,
    write_casa,
    write_fits,
    write_hdf5_idia,
)
from tests.region_client import final_spectral, new_region, spectral, stats_of
from tests.test_protocol_tiles import NONE, check_tiles, code, collect_tiles

PT = pb.PolarizationType
ST = pb.StatsType
CUBE = ("RA---SIN", "DEC--SIN", "FREQ")
SHAPE = (5, 30, 40)  # channels, y, x
NAMES = {PT.I: "I", PT.Q: "Q", PT.U: "U", PT.V: "V"}


def stokes_file(name: str, kind: int, directory: str = "", hdu: str = "") -> pb.StokesFile:
    return pb.StokesFile(directory=directory, file=name, hdu=hdu, polarization_type=kind)


@pytest.fixture
def planes(data_dir: Path) -> dict[int, np.ndarray]:
    """Four single-Stokes FITS cubes ``cube.<S>.pbcor.fits`` (no Stokes axis)."""
    out = {}
    for seed, kind in enumerate((PT.I, PT.Q, PT.U, PT.V)):
        data = make_cube(SHAPE, seed=10 + seed)
        write_fits(data_dir / f"cube.{NAMES[kind]}.pbcor.fits", data, wcs_header(CUBE))
        out[kind] = data
    return out


async def concat(client: CartaClient, kinds: list[int], file_id: int = 0) -> pb.ConcatStokesFilesAck:
    files = [stokes_file(f"cube.{NAMES[k]}.pbcor.fits", k) for k in kinds]
    return await client.request(pb.ConcatStokesFiles(stokes_files=files, file_id=file_id))


async def test_concat_ack_name_and_histogram_first(carta_url: str, planes: dict[int, np.ndarray]) -> None:
    async with open_client(carta_url) as client:
        await client.register()
        ack = await concat(client, [PT.I, PT.Q, PT.U, PT.V], file_id=3)
        order = [e.event_type for e in client.buffered]
    assert ack.success and ack.message == ""
    opened = ack.open_file_ack
    assert opened.success and opened.file_id == 3
    assert opened.file_info.name == "cube.hypercube_IQUV.pbcor.fits"
    assert (opened.file_info.type, opened.file_info.size, list(opened.file_info.HDU_list)) == (pb.FileType.CASA, 0, [""])
    extended = opened.file_info_extended
    assert (extended.width, extended.height, extended.depth, extended.stokes) == (40, 30, 5, 4)
    computed = {e.name: e.value for e in extended.computed_entries}
    assert computed["Name"] == "cube.hypercube_IQUV.pbcor.fits"
    assert computed["Number of polarizations"] == "4" and computed["Stokes coverage"] == "[I, Q, U, V]"
    assert computed["Shape"] == "[40, 30, 5, 4] (RA, DEC, FREQ, STOKES)"
    assert extended.axes_numbers.stokes == 4 and extended.axes_numbers.spectral == 3
    assert opened.file_feature_flags == 0
    assert [(b.channel, b.stokes) for b in opened.beam_table] == [(-1, -1)]
    # REGION_HISTOGRAM_DATA of the new frame was sent before the ack
    assert order[0] == pb.EventType.REGION_HISTOGRAM_DATA


async def test_concat_frame_serves_tiles_profiles_stats_computed(carta_url: str,
                                                                 planes: dict[int, np.ndarray]) -> None:
    i, q, u, v = (planes[k] for k in (PT.I, PT.Q, PT.U, PT.V))
    async with open_client(carta_url) as client:
        await client.register()
        # request order V, U, Q, I is contiguous (step -1); planes go in enum order
        ack = await concat(client, [PT.V, PT.U, PT.Q, PT.I])
        assert ack.success and ack.open_file_ack.success, (ack.message, ack.open_file_ack.message)
        assert ack.open_file_ack.file_info.name == "cube.hypercube_IQUV.pbcor.fits"
        tiles = pb.AddRequiredTiles(file_id=0, tiles=[code(0, 0, 0)], compression_type=NONE)
        await client.send(pb.SetImageChannels(file_id=0, channel=2, stokes=2, required_tiles=tiles))
        _, received, _ = await collect_tiles(client, 0)
        check_tiles(u[2], received, NONE, 0.0)
        await client.send(pb.SetImageChannels(file_id=0, channel=3, stokes=PT.Plinear, required_tiles=tiles))
        _, computed, _ = await collect_tiles(client, 0)
        check_tiles(ex.computed_pixels("Plinear", i[3], q[3], u[3], v[3]), computed, NONE, 1e-5)
        # cursor spectral profiles of a fixed Stokes (V) and the current one
        await client.send(spectral(0, ("Vz", [ST.Sum]), ("Qz", [ST.Sum])))
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=7, y=11)))
        messages = [await final_spectral(client) for _ in range(2)]
        got = {m.profiles[0].coordinate: ex.fp32(m.profiles[0]) for m in messages}
        # statistics of a rectangle on Stokes Q (explicit stokes in the coordinate)
        await client.send(pb.SetImageChannels(file_id=0, channel=1, stokes=1))
        while True:
            histogram = (await client.expect(pb.RegionHistogramData)).message
            if (histogram.channel, histogram.stokes) == (1, 1):
                break
        region = await new_region(client, pb.RegionType.RECTANGLE, [(20.3, 15.2), (10, 8)])
        stats = await stats_of(client, region, [ST.Sum, ST.Mean, ST.NumPixels])
    assert np.array_equal(got["Vz"], v[:, 11, 7], equal_nan=True)
    assert np.array_equal(got["Qz"], q[:, 11, 7], equal_nan=True)
    mask = ex.rectangle_mask(i.shape[1:], 20.3, 15.2, 10, 8)
    assert (stats.channel, stats.stokes) == (1, 1)
    want = ex.stats(q[1][mask])
    ex.assert_stats(stats, want, [ST.Sum, ST.Mean, ST.NumPixels], rel=1e-6)


async def test_concat_refusals(carta_url: str, planes: dict[int, np.ndarray], data_dir: Path) -> None:
    other = make_cube((5, 30, 41), seed=3)
    write_fits(data_dir / "wide.fits", other, wcs_header(CUBE))
    moved = wcs_header(CUBE, extra=())
    moved = [(k, (v + 1.0 if k == "CRVAL1" else v), c) for k, v, c in moved]
    write_fits(data_dir / "moved.fits", planes[PT.I], moved)
    write_casa(data_dir / "q.image", planes[PT.Q], wcs_header(CUBE))
    (data_dir / "sub").mkdir()
    I, Q, U, V = "cube.I.pbcor.fits", "cube.Q.pbcor.fits", "cube.U.pbcor.fits", "cube.V.pbcor.fits"
    cases = [
        ([stokes_file(I, PT.I)], "Need at least two files to concatenate!"),
        ([stokes_file(I, PT.I), stokes_file(Q, PT.Q), stokes_file(U, PT.U), stokes_file(V, PT.V),
          stokes_file("wide.fits", PT.RR)], "Can not concatenate more than four files!"),
        ([stokes_file(I, PT.I), stokes_file(Q, PT.I)], "Duplicate Stokes type found!"),
        ([stokes_file(I, PT.I), stokes_file("nope.fits", PT.Q)], "File nope.fits does not exist."),
        ([stokes_file(I, PT.I), stokes_file(Q, PT.Q, directory="missing")], "Directory missing does not exist."),
        ([stokes_file(I, PT.I), stokes_file(I, PT.Q)], "The same file can not be used twice!"),
        ([stokes_file(I, PT.I), stokes_file("../x.fits", PT.Q)], "Forbidden path."),
        ([stokes_file(I, PT.I), stokes_file("sub", PT.Q)], "Failed to open the file: Unsupported format."),
        ([stokes_file(I, PT.I), stokes_file("q.image", PT.Q)], "Different file types can not be concatenated!"),
        ([stokes_file(I, PT.I), stokes_file(U, PT.U), stokes_file(Q, PT.Q)], "Hypercube IQU is not allowed!"),
        ([stokes_file(I, PT.I), stokes_file(Q, PT.Q), stokes_file(V, PT.V)], "Hypercube IQV is not allowed!"),
        ([stokes_file(I, PT.I), stokes_file(Q, PT.POLARIZATION_TYPE_NONE)], "Failed to set the stokes coordinate system!"),
        ([stokes_file(I, PT.I), stokes_file("wide.fits", PT.Q)], "Image shapes or axes are not consistent!"),
    ]
    async with open_client(carta_url) as client:
        await client.register()
        for files, message in cases:
            ack = await client.request(pb.ConcatStokesFiles(stokes_files=files, file_id=0))
            assert (ack.success, ack.message) == (False, message), [f.file for f in files]
            assert not ack.HasField("open_file_ack")
        wcs = await client.request(pb.ConcatStokesFiles(
            stokes_files=[stokes_file("moved.fits", PT.I), stokes_file(Q, PT.Q)], file_id=0))
        assert not wcs.success and wcs.message.startswith("Failed to concatenate images: ")
        assert "CRVAL1" in wcs.message
        # two files are never checked for contiguity (I and V is fine), and the server still works
        ok = await client.request(pb.ConcatStokesFiles(stokes_files=[stokes_file(I, PT.I), stokes_file(V, PT.V)],
                                                       file_id=0))
        assert ok.success and ok.open_file_ack.file_info.name == "cube.hypercube_IV.pbcor.fits"
        assert ok.open_file_ack.file_info_extended.stokes == 2


async def test_concat_hdf5_casa_and_2d(carta_url: str, data_dir: Path) -> None:
    image = make_cube((20, 24), seed=1)
    other = make_cube((20, 24), seed=2)
    write_hdf5_idia(data_dir / "I.hdf5", image[np.newaxis], wcs_header(CUBE))
    write_hdf5_idia(data_dir / "Q.hdf5", other[np.newaxis], wcs_header(CUBE))
    flat = ("RA---SIN", "DEC--SIN")
    write_casa(data_dir / "RR.image", image, wcs_header(flat))
    write_casa(data_dir / "LL.image", other, wcs_header(flat))
    async with open_client(carta_url) as client:
        await client.register()
        h5 = await client.request(pb.ConcatStokesFiles(file_id=0, stokes_files=[
            stokes_file("Q.hdf5", PT.Q), stokes_file("I.hdf5", PT.I)]))
        assert h5.success and h5.open_file_ack.success, h5.message
        assert h5.open_file_ack.file_info.name == "hypercube_IQ.hdf5"
        tiles = pb.AddRequiredTiles(file_id=0, tiles=[code(0, 0, 0)], compression_type=NONE)
        await client.send(pb.SetImageChannels(file_id=0, channel=0, stokes=1, required_tiles=tiles))
        _, received, _ = await collect_tiles(client, 0)
        check_tiles(other, received, NONE, 0.0)
        casa = await client.request(pb.ConcatStokesFiles(file_id=1, stokes_files=[
            stokes_file("RR.image", PT.RR), stokes_file("LL.image", PT.LL)]))
        assert casa.success and casa.open_file_ack.success, casa.message
        extended = casa.open_file_ack.file_info_extended
        assert (extended.depth, extended.stokes) == (1, 2)
        await client.send(pb.SetImageChannels(file_id=1, channel=0, stokes=1, required_tiles=pb.AddRequiredTiles(
            file_id=1, tiles=[code(0, 0, 0)], compression_type=NONE)))
        _, flat_tiles, _ = await collect_tiles(client, 1)
        check_tiles(other, flat_tiles, NONE, 0.0)


async def test_concat_save_file_and_resume(carta_url: str, planes: dict[int, np.ndarray], data_dir: Path) -> None:
    async with open_client(carta_url) as client:
        first = await client.register()
        ack = await concat(client, [PT.I, PT.Q, PT.U])
        assert ack.success and ack.open_file_ack.success
        saved = await client.request(pb.SaveFile(file_id=0, output_file_name="joined.fits",
                                                 output_file_type=pb.FileType.FITS, keep_degenerate=True,
                                                 rest_freq=float("nan")))
        assert saved.success, saved.message
        clobber = await client.request(pb.SaveFile(file_id=0, output_file_name="cube.Q.pbcor.fits",
                                                   output_file_type=pb.FileType.FITS, rest_freq=float("nan")))
        assert not clobber.success and "overwritten" in clobber.message
    with fits.open(data_dir / "joined.fits") as hdul:
        data, header = hdul[0].data, hdul[0].header
    assert data.shape == (3,) + SHAPE
    assert np.array_equal(data, np.stack([planes[PT.I], planes[PT.Q], planes[PT.U]]), equal_nan=True)
    assert (header["CTYPE4"], header["CRVAL4"], header["CDELT4"], header["CRPIX4"]) == ("STOKES", 1.0, 1.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        assert header["CTYPE3"] == "FREQ"
    # the saved cube opens as an ordinary 3-Stokes file
    async with open_client(carta_url) as client:
        await client.register(first.session_id)
        files = [stokes_file(f"cube.{NAMES[k]}.pbcor.fits", k) for k in (PT.I, PT.Q, PT.U)]
        image = pb.ImageProperties(file_id=0, stokes_files=files, channel=2, stokes=1)
        resumed = await client.request(pb.ResumeSession(images=[image]))
        assert resumed.success, resumed.message
        concat_acks = [e.message for e in client.buffered if e.event_type == pb.EventType.CONCAT_STOKES_FILES_ACK]
        assert len(concat_acks) == 1 and concat_acks[0].open_file_ack.file_info.name == "cube.hypercube_IQU.pbcor.fits"
        await client.send(pb.SetImageChannels(file_id=0, channel=2, stokes=1, required_tiles=pb.AddRequiredTiles(
            file_id=0, tiles=[code(0, 0, 0)], compression_type=NONE)))
        _, received, _ = await collect_tiles(client, 0)
        check_tiles(planes[PT.Q][2], received, NONE, 0.0)
        bad = pb.ImageProperties(file_id=1, stokes_files=[files[0], stokes_file("nope.fits", PT.V)])
        failed = await client.request(pb.ResumeSession(images=[bad]))
        assert not failed.success and failed.message == "Problem loading files: 1 "


async def _vectors(client: CartaClient, file_id: int) -> list[tuple[bytes, bytes]]:
    await client.send(pb.SetVectorOverlayParameters(
        file_id=file_id, smoothing_factor=2, threshold=float("nan"), fractional=True, stokes_intensity=1,
        stokes_angle=1, compression_type=NONE, compression_quality=8))
    out = []
    while True:
        message = (await client.expect(pb.VectorOverlayTileData, timeout=30)).message
        if message.file_id != file_id:
            continue
        out.append((message.intensity_tiles[0].image_data, message.angle_tiles[0].image_data))
        if message.progress >= 1.0:
            return out


async def _contours(client: CartaClient, file_id: int, levels: list[float]) -> list[tuple[float, bytes]]:
    await client.send(pb.SetContourParameters(
        file_id=file_id, reference_file_id=file_id, levels=levels, smoothing_mode=0, smoothing_factor=1,
        decimation_factor=4, compression_level=8, contour_chunk_size=100_000,
        image_bounds=pb.ImageBounds(x_min=0, x_max=10, y_min=0, y_max=10)))
    pending, out = set(levels), []
    while pending:
        message = (await client.expect(pb.ContourImageData, timeout=30)).message
        if message.file_id != file_id:
            continue
        for contour_set in message.contour_sets:
            out.append((contour_set.level, contour_set.raw_coordinates))
        if message.progress >= 1.0:
            pending -= {c.level for c in message.contour_sets}
    return sorted(out)


async def _generated(client: CartaClient, request: object, response: type) -> list[np.ndarray]:
    from tests.test_protocol_moments_pv import tile_of, until

    await client.send(request)
    message = (await until(client, response))[-1].message
    assert message.success, message.message
    acks = list(message.open_file_acks) if hasattr(message, "open_file_acks") else [message.open_file_ack]
    return [await tile_of(client, ack.file_id) for ack in acks]


async def test_concat_vectors_moments_pv_contours_histogram_match_one_file(carta_url: str, planes: dict[int, np.ndarray],
                                                        data_dir: Path) -> None:
    """Vector overlay, moments, PV, contours and the cube histogram of the joined frame equal
    what the same data in one 4-Stokes file gives
    (those paths are checked against numpy in their own tests)."""
    iquv = np.stack([planes[k] for k in (PT.I, PT.Q, PT.U, PT.V)])
    levels = [float(np.nanpercentile(planes[PT.Q][0], q)) for q in (50, 90)]
    write_fits(data_dir / "iquv.fits", iquv, wcs_header(CUBE + ("STOKES",)))
    async with open_client(carta_url) as client:
        await client.register()
        ack = await concat(client, [PT.I, PT.Q, PT.U, PT.V], file_id=0)
        assert ack.success and ack.open_file_ack.success
        assert (await client.request(pb.OpenFile(file="iquv.fits", file_id=1))).success
        results: dict[int, dict[str, object]] = {}
        for file_id in (0, 1):
            await client.send(pb.SetImageChannels(file_id=file_id, channel=0, stokes=1))
            while True:
                histogram = (await client.expect(pb.RegionHistogramData)).message
                if (histogram.file_id, histogram.stokes) == (file_id, 1):
                    break
            vectors = await _vectors(client, file_id)
            moments = await _generated(client, pb.MomentRequest(
                file_id=file_id, moments=[0, 8], axis=pb.MomentAxis.SPECTRAL, region_id=-1,
                spectral_range=pb.IntBounds(min=1, max=4)), pb.MomentResponse)
            cut = await client.request(pb.SetRegion(file_id=file_id, region_id=-1, region_info=pb.RegionInfo(
                region_type=pb.RegionType.LINE, control_points=[pb.Point(x=5, y=20), pb.Point(x=30, y=9)])))
            pv = await _generated(client, pb.PvRequest(file_id=file_id, region_id=cut.region_id, width=3),
                                  pb.PvResponse)
            contours = await _contours(client, file_id, levels)
            await client.send(pb.SetHistogramRequirements(file_id=file_id, region_id=-2, histograms=[
                pb.HistogramConfig(coordinate="z", channel=-2, num_bins=-1)]))
            while True:
                cube = (await client.expect(pb.RegionHistogramData, timeout=30)).message
                if (cube.file_id, cube.region_id) == (file_id, -2) and cube.progress >= 1.0:
                    break
            histogram = (cube.stokes, list(cube.histograms.bins), cube.histograms.bin_width)
            results[file_id] = {"vectors": vectors, "moments": moments, "pv": pv, "contours": contours,
                                "histogram": histogram}
    joined, single = results[0], results[1]
    assert joined["vectors"] == single["vectors"] and len(joined["vectors"]) > 0
    assert joined["contours"] == single["contours"] and all(joined["contours"])  # type: ignore[arg-type]
    assert joined["histogram"] == single["histogram"] and joined["histogram"][0] == 1  # type: ignore[index]
    # the cube histogram of Stokes Q counts every finite pixel of the Q file
    assert sum(joined["histogram"][1]) == int(np.isfinite(planes[PT.Q]).sum())  # type: ignore[index]
    for key in ("moments", "pv"):
        for got, want in zip(joined[key], single[key], strict=True):  # type: ignore[call-overload]
            assert np.array_equal(got, want, equal_nan=True), key
    # and the moment 0 (mean over channels 1..4) of Stokes Q is numpy's
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_q = np.nanmean(planes[PT.Q][1:5].astype(np.float64), axis=0)
    np.testing.assert_allclose(joined["moments"][0], mean_q, rtol=2e-6, equal_nan=True)  # type: ignore[index]
