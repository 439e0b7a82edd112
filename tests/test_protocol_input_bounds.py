"""Bad or oversized input answered with one clear error and bounded cost (issue 11).

D5 profile ranges clamped to the image, D11 non-finite compression quality, D16 the
animation frame-rate cap, D17 the auth cookie matched by its exact name.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import trio

from carta_trio import limits
from carta_trio.actors import animation
from carta_trio.actors.http_auth import is_authenticated
from carta_trio.analysis.spatial_profiles import profile_range
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.image_factory import make_cube, wcs_header, write_fits

E = pb.EventType
ZFP = pb.CompressionType.ZFP
INT32_MAX = 2**31 - 1


@pytest.fixture
def cube(data_dir: Path) -> None:
    write_fits(data_dir / "cube.fits", make_cube((6, 48, 64), seed=4), wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))


async def opened(client: CartaClient) -> None:
    await client.register()
    ack = await client.request(pb.OpenFile(file="cube.fits", file_id=0))
    assert ack.success, ack.message
    await client.expect(pb.RegionHistogramData)


# ----------------------------------------------------------------------------- D5


@pytest.mark.parametrize("mip", [2, 4, 7, INT32_MAX])
@pytest.mark.parametrize("end", [256, 10_000, INT32_MAX])
def test_d5_profile_length_bounded_by_axis(mip: int, end: int) -> None:
    rng = profile_range(0, end, mip, 256)
    assert 0 <= rng.length <= 256 + 2
    assert rng.read_end <= 256


async def test_d5_huge_end_with_mip_answers_a_bounded_profile(carta_url: str, cube: None) -> None:
    async with open_client(carta_url) as client:
        await opened(client)
        await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=5, y=5)))
        await client.expect(pb.SpatialProfileData)
        await client.send(pb.SetSpatialRequirements(file_id=0, region_id=0, spatial_profiles=[
            pb.SetSpatialRequirements.SpatialConfig(coordinate="x", start=0, end=INT32_MAX, mip=2),
            pb.SetSpatialRequirements.SpatialConfig(coordinate="y", start=0, end=200_000_000, mip=8),
        ]))
        data = (await client.expect(pb.SpatialProfileData)).message
    sizes = {p.coordinate: len(p.raw_values_fp32) // 4 for p in data.profiles}
    assert sizes["x"] <= 64 + 2 and sizes["y"] <= 48 + 16


# ---------------------------------------------------------------------------- D11


@pytest.mark.parametrize("quality", [math.inf, -math.inf, math.nan])
async def test_d11_non_finite_quality_refused_before_the_batch(carta_url: str, cube: None, quality: float) -> None:
    async with open_client(carta_url) as client:
        await opened(client)
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=[0], compression_type=ZFP,
                                              compression_quality=quality))
        error = (await client.expect(pb.ErrorData)).message
        assert "compression quality" in error.message.lower() and "nursery" not in error.message.lower()
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=[0], compression_type=ZFP, compression_quality=11))
        taken = await client.collect_until(lambda e: e.event_type == E.RASTER_TILE_SYNC and e.message.end_sync)
        syncs = [e.message for e in taken if e.event_type == E.RASTER_TILE_SYNC]
        assert [s.end_sync for s in syncs] == [False, True] and syncs[0].sync_id == syncs[1].sync_id
        assert not [e for e in taken + client.buffered if e.event_type == E.ERROR_DATA]


async def test_d11_unknown_compression_type_is_one_clear_error(carta_url: str, cube: None) -> None:
    async with open_client(carta_url) as client:
        await opened(client)
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=[0], compression_type=77, compression_quality=11))
        error = (await client.expect(pb.ErrorData)).message
        assert error.message == "Compression type 77 is not supported"
        assert await client.ping() == "PONG"
        assert not [e for e in client.buffered if e.event_type in (E.ERROR_DATA, E.RASTER_TILE_SYNC)]


# ---------------------------------------------------------------------------- D16


async def test_d16_huge_frame_rate_still_flow_controlled(carta_url: str, cube: None) -> None:
    window = limits.MAX_ANIMATION_FRAME_RATE // 3
    async with open_client(carta_url) as client:
        await opened(client)
        ack = await client.request(pb.StartAnimation(
            file_id=0, first_frame=pb.AnimationFrame(channel=0), start_frame=pb.AnimationFrame(channel=0),
            last_frame=pb.AnimationFrame(channel=5), delta_frame=pb.AnimationFrame(channel=1),
            frame_rate=INT32_MAX, looping=True,
            required_tiles=pb.AddRequiredTiles(file_id=0, tiles=[0], compression_type=ZFP, compression_quality=9)))
        assert ack.success
        # look before the animation gives up waiting for flow control (it then carries on)
        await trio.sleep(animation.FLOW_STALL_SECONDS * 0.75)
        ends = [e for e in client.buffered if e.event_type == E.RASTER_TILE_SYNC and e.message.end_sync]
    # never acknowledged: the server stops ``window`` frames ahead (frame 0 was current)
    assert 0 < len(ends) <= window


# ---------------------------------------------------------------------------- D17


@pytest.mark.parametrize(
    "cookie, accepted",
    [
        ("carta-auth-token=secret", True),
        ("theme=dark; carta-auth-token=secret", True),
        ("carta-auth-token=secret; theme=dark", True),
        ("xcarta-auth-token=secret", False),
        ("my-carta-auth-token=secret; other=1", False),
        ("carta-auth-token=wrong; xcarta-auth-token=secret", False),
        ("carta-auth-token-x=secret", False),
    ],
)
def test_d17_cookie_matched_by_exact_name(cookie: str, accepted: bool) -> None:
    scope = {"type": "http", "headers": [(b"cookie", cookie.encode())], "query_string": b""}
    assert is_authenticated(scope, "secret") is accepted


# ------------------------------------------------------------------------ D13 D14


@pytest.mark.parametrize("name, text", [
    ("cube\0.fits", "NUL"),
    ("x" * 300, "longer than 255 bytes"),
    ("d/" * 30 + "é" * 200, "longer than 255 bytes"),
])
async def test_d13_bad_names_answered_without_server_paths(carta_url: str, cube: None, data_dir: Path,
                                                           caplog: pytest.LogCaptureFixture, name: str,
                                                           text: str) -> None:
    async with open_client(carta_url) as client:
        await client.register()
        ack = await client.request(pb.OpenFile(file=name, file_id=0))
        info = await client.request(pb.FileInfoRequest(file=name))
    for message in (ack.message, info.message):
        assert text in message and str(data_dir) not in message
    assert not [r for r in caplog.records if r.exc_info]


async def test_d13_unknown_enum_values_are_clear_errors(carta_url: str, cube: None,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    async with open_client(carta_url) as client:
        await opened(client)
        ack = await client.request(pb.SaveFile(file_id=0, output_file_name="x.fits", output_file_type=99))
        assert not ack.success and "99" in ack.message
        await client.send(pb.SetStatsRequirements(file_id=0, region_id=-1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="z", stats_types=[2, -5, 2**31 - 1])]))
        error = (await client.expect(pb.ErrorData)).message
        assert "unknown statistics type" in error.message
        stats = (await client.expect(pb.RegionStatsData)).message
        assert [s.stats_type for s in stats.statistics] == [2]
    assert not [r for r in caplog.records if r.exc_info]


async def test_d14_one_requirements_message_one_error(carta_url: str, cube: None) -> None:
    async with open_client(carta_url) as client:
        await opened(client)
        await client.send(pb.SetSpatialRequirements(file_id=0, region_id=0, spatial_profiles=[
            pb.SetSpatialRequirements.SpatialConfig(coordinate=f"q{i}", mip=1) for i in range(1000)]))
        await client.send(pb.SetStatsRequirements(file_id=0, region_id=-1, stats_configs=[
            pb.SetStatsRequirements.StatsConfig(coordinate="w", stats_types=[2]) for _ in range(1000)]))
        await client.send(pb.AddRequiredTiles(file_id=0, tiles=list(range(1 << 24, (1 << 24) + 1000)),
                                              compression_type=ZFP, compression_quality=11))
        await trio.sleep(1.0)
        errors = [e.message for e in client.buffered if e.event_type == E.ERROR_DATA]
    assert len(errors) == 3, [e.message for e in errors]


async def test_d14_resume_with_many_bad_images_logs_one_line(carta_url: str, cube: None,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    images = [pb.ImageProperties(file=f"missing{i}.fits", file_id=i) for i in range(300)]
    images += [pb.ImageProperties(file="x" * 400, file_id=1000), pb.ImageProperties(file="a\0b", file_id=1001)]
    async with open_client(carta_url) as client:
        await client.register()
        ack = await client.request(pb.ResumeSession(images=images), timeout=60)
        assert not ack.success and ack.message.startswith("Problem loading files: 0 1 2 ")
        assert await client.ping() == "PONG"
        assert not [e for e in client.buffered if e.event_type == E.ERROR_DATA]
    assert not [r for r in caplog.records if r.exc_info]
    resume_lines = [r for r in caplog.records if r.name.endswith("resume") and r.levelno >= 30]
    assert len(resume_lines) == 1 and "302 file(s)" in resume_lines[0].getMessage()
    opening = [r for r in caplog.records if r.levelno >= 40 and not r.name.endswith("resume")]
    assert len(opening) <= 1, [r.getMessage() for r in opening[:5]]


async def test_d14_bad_channel_change_with_bad_tiles_is_one_error(carta_url: str, cube: None) -> None:
    """Found by the fuzz test: an invalid channel and an unknown compression type gave two."""
    async with open_client(carta_url) as client:
        await opened(client)
        await client.send(pb.SetImageChannels(file_id=0, channel=0, stokes=-249580, required_tiles=pb.AddRequiredTiles(
            file_id=0, tiles=[1, 1], compression_type=99, compression_quality=2.1e9)))
        error = (await client.expect(pb.ErrorData)).message
        assert error.message == "Channel 0 or Stokes -249580 is invalid in image"
        assert await client.ping() == "PONG"
        await trio.sleep(0.3)
        assert not [e for e in client.buffered if e.event_type in (E.ERROR_DATA, E.RASTER_TILE_SYNC)]


async def test_a_request_meeting_an_image_closed_meanwhile_is_one_line_not_a_traceback(
    carta_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """A handler whose image is closed while it reads (CLOSE_FILE, or a RESUME_SESSION
    parking it, racing the request) used to log a traceback; it is an expected race:
    one log line and one answer saying so."""
    import dataclasses
    import logging

    from carta_trio.actors import dispatch
    from carta_trio.io.reader_guard import ReaderClosed

    async def closed_meanwhile(*args: object) -> None:
        raise ReaderClosed()

    event = pb.EventType.FILE_INFO_REQUEST
    handler = dispatch._HANDLERS[event]
    monkeypatch.setitem(dispatch._HANDLERS, event, dataclasses.replace(handler, fn=closed_meanwhile))
    caplog.set_level(logging.INFO)
    async with open_client(carta_url) as client:
        await client.register()
        response = await client.request(pb.FileInfoRequest(directory="", file="x.fits", hdu=""))
        assert not response.success and "the image was closed" in response.message, response.message
        assert await client.ping()
    assert not [r for r in caplog.records if r.exc_info]
