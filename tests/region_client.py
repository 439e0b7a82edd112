"""Client-side helpers shared by the region, profile and statistics protocol tests."""

from __future__ import annotations

import trio

from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient

Point = tuple[float, float]


async def open_image(client: CartaClient, name: str, file_id: int = 0) -> None:
    """Register, open ``name`` as ``file_id`` and take the render histogram that follows."""
    await client.register()
    ack = await client.request(pb.OpenFile(directory="", file=name, file_id=file_id))
    assert ack.success, ack.message
    await client.expect(pb.RegionHistogramData)


def region_info(region_type: int, points: list[Point], rotation: float = 0.0) -> pb.RegionInfo:
    return pb.RegionInfo(region_type=region_type, control_points=[pb.Point(x=x, y=y) for x, y in points], rotation=rotation)


async def set_region(client: CartaClient, region_type: int, points: list[Point], rotation: float = 0.0,
                     region_id: int = -1, file_id: int = 0) -> pb.SetRegionAck:
    """SET_REGION; returns the ack (successful or not)."""
    return await client.request(pb.SetRegion(file_id=file_id, region_id=region_id,
                                             region_info=region_info(region_type, points, rotation)))


async def new_region(client: CartaClient, region_type: int, points: list[Point], rotation: float = 0.0,
                     region_id: int = -1) -> int:
    """SET_REGION that must succeed; returns the region id."""
    ack = await set_region(client, region_type, points, rotation, region_id)
    assert ack.success, ack.message
    return ack.region_id


def spectral(region_id: int, *configs: tuple[str, list[int]]) -> pb.SetSpectralRequirements:
    return pb.SetSpectralRequirements(file_id=0, region_id=region_id, spectral_profiles=[
        pb.SetSpectralRequirements.SpectralConfig(coordinate=c, stats_types=s) for c, s in configs])


def spatial(region_id: int, *configs: tuple[str, int, int, int]) -> pb.SetSpatialRequirements:
    return pb.SetSpatialRequirements(file_id=0, region_id=region_id, spatial_profiles=[
        pb.SetSpatialRequirements.SpatialConfig(coordinate=c, start=s, end=e, mip=m) for c, s, e, m in configs])


async def stats_of(client: CartaClient, region_id: int, types: list[int], coordinate: str = "z") -> pb.RegionStatsData:
    """SET_STATS_REQUIREMENTS with one config; returns the next REGION_STATS_DATA."""
    await client.send(pb.SetStatsRequirements(file_id=0, region_id=region_id, stats_configs=[
        pb.SetStatsRequirements.StatsConfig(coordinate=coordinate, stats_types=types)]))
    return (await client.expect(pb.RegionStatsData)).message


async def final_spectral(client: CartaClient, timeout: float = 20) -> pb.SpectralProfileData:
    """The next SPECTRAL_PROFILE_DATA with progress 1 (partial ones are skipped)."""
    while True:
        message = (await client.expect(pb.SpectralProfileData, timeout=timeout)).message
        if message.progress >= 1.0:
            return message


async def quiet(client: CartaClient, seconds: float = 0.5) -> list[object]:
    """Everything that arrives within ``seconds``."""
    got = []
    with trio.move_on_after(seconds):
        while True:
            got.append((await client.receive(timeout=None)).message)
    return got


async def expect_error(client: CartaClient, fragment: str) -> pb.ErrorData:
    error = (await client.expect(pb.ErrorData)).message
    assert fragment in error.message, error.message
    return error
