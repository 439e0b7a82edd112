"""Animation playback throughput through the real server (a separate process).

Run: ``python3 -m bench.bench_animation [--cube 1024 1024 200] [--rate 30] [--frames 60]``

Plays a cube at the full 1024x1024 view (16 tiles, ZFP quality 9 as the frontend's
animation default) while acknowledging frames like the frontend, three ways: tiles
only; with a cursor spectral profile required; with contours (5 levels) set. Prints
the frames per second reached, as a ratio to the requested frame rate and to the
tile-throughput bound measured in the same run (one channel's 16 tiles requested
back to back without animation: the best a frame can do).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import trio

from bench.bench_tile_stream import tiles_until_end, write_fits
from bench.serving import server_process
from carta_trio.codecs import tile_geometry
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client

ZFP = pb.CompressionType.ZFP


def full_view(nx: int, ny: int) -> pb.AddRequiredTiles:
    top = tile_geometry.total_layers(nx, ny)
    mip = 2 ** top if max(nx, ny) > 1024 else 1
    coords = tile_geometry.tiles_for_view(0, nx, 0, ny, mip, nx, ny)
    return pb.AddRequiredTiles(file_id=0, tiles=[c.code for c in coords], compression_type=ZFP, compression_quality=9)


async def tile_bound(client: CartaClient, view: pb.AddRequiredTiles, depth: int, count: int) -> float:
    """Frames per second if a frame cost only its channel change and tiles."""
    start = time.perf_counter()
    for channel in range(1, count + 1):
        await client.send(pb.SetImageChannels(file_id=0, channel=channel % depth, stokes=0, required_tiles=view))
        await tiles_until_end(client)
    return count / (time.perf_counter() - start)


async def play(client: CartaClient, view: pb.AddRequiredTiles, depth: int, rate: int, frames: int) -> float:
    ack = await client.request(pb.StartAnimation(
        file_id=0, first_frame=pb.AnimationFrame(channel=0), start_frame=pb.AnimationFrame(channel=0),
        last_frame=pb.AnimationFrame(channel=depth - 1), delta_frame=pb.AnimationFrame(channel=1),
        frame_rate=rate, looping=True, required_tiles=view,
    ))
    seen = 0
    start = None
    while seen < frames:
        envelope = await client.receive(timeout=60)
        message = envelope.message
        if envelope.event_type == pb.EventType.RASTER_TILE_SYNC and message.end_sync and message.animation_id == ack.animation_id:
            await client.send(pb.AnimationFlowControl(file_id=0, received_frame=pb.AnimationFrame(
                channel=message.channel, stokes=message.stokes), animation_id=ack.animation_id))
            if start is None:
                start = time.perf_counter()
            else:
                seen += 1
    fps = seen / (time.perf_counter() - start)
    await client.send(pb.StopAnimation(file_id=0, end_frame=pb.AnimationFrame(channel=0)))
    await trio.sleep(0.5)
    while client.buffered:
        await client.receive()
    return fps


async def main(shape: tuple[int, int, int], rate: int, frames: int) -> None:
    nx, ny, nz = shape
    with tempfile.TemporaryDirectory() as top:
        folder = Path(top)
        write_fits(folder / "cube.fits", (nz, ny, nx))
        async with server_process(folder) as url:
            async with open_client(url) as client:
                await client.register()
                await client.request(pb.OpenFile(file="cube.fits", file_id=0, hdu=""))
                view = full_view(nx, ny)
                await client.send(view)
                await tiles_until_end(client)
                bound = await tile_bound(client, view, nz, 40)
                rows = [("tiles only", await play(client, view, nz, rate, frames))]
                await client.send(pb.SetSpectralRequirements(file_id=0, region_id=0, spectral_profiles=[
                    pb.SetSpectralRequirements.SpectralConfig(coordinate="z", stats_types=[pb.StatsType.Sum])]))
                await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=nx / 2, y=ny / 2)))
                rows.append(("+ cursor profile", await play(client, view, nz, rate, frames)))
                await client.send(pb.SetContourParameters(
                    file_id=0, reference_file_id=0, image_bounds=pb.ImageBounds(x_min=0, x_max=nx, y_min=0, y_max=ny),
                    levels=[-0.5, -0.2, 0.2, 0.5, 0.8], smoothing_mode=pb.SmoothingMode.GaussianBlur, smoothing_factor=4,
                    decimation_factor=4, compression_level=8, contour_chunk_size=100000))
                await trio.sleep(1.0)
                rows.append(("+ contours", await play(client, view, nz, rate, frames)))
    print(f"cube {nx}x{ny}x{nz}, {len(view.tiles)} tiles/frame, requested {rate} fps; "
          f"tile bound (channel change + tiles, no animation) {bound:.1f} fps")
    for name, fps in rows:
        print(f"  {name:<18} {fps:6.1f} fps   / requested {fps / rate:5.2f}   / tile bound {fps / bound:5.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cube", type=int, nargs=3, default=(1024, 1024, 200), metavar=("NX", "NY", "NZ"))
    parser.add_argument("--rate", type=int, default=30)
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    trio.run(main, tuple(args.cube), args.rate, args.frames)
