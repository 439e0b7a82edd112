import trio
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.fuzz_harness import write_fuzz_data

async def test_x(carta_url, data_dir):
    write_fuzz_data(data_dir)
    async with open_client(carta_url) as client:
        await client.register()
        await client.request(pb.OpenFile(directory="", file="cube.fits", file_id=0))
        M = pb.Moment
        for i, req in enumerate([pb.MomentRequest(pixel_range=pb.FloatBounds(min=3.4e38)),
                    pb.MomentRequest(moments=[M.STD_ABOUT_THE_MEAN_OF_THE_SPECTRUM, 2147483647, M.MEAN_OF_THE_SPECTRUM, 99, -1, M.MEDIAN_COORDINATE, M.MAX_OF_THE_SPECTRUM], spectral_range=pb.IntBounds(), mask=pb.MomentMask.Exclude, keep=True),
                    ]):
            t = trio.current_time()
            rid = await client.send(req)
            got = await client.collect_until(lambda e: e.event_type == pb.EventType.MOMENT_RESPONSE, timeout=20)
            print(str(got[-1].message)[:200].replace("\n"," "), round(trio.current_time() - t, 2))
            await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=3 + i, y=3)))
            print("cursor", (await client.expect(pb.SpatialProfileData, timeout=10)).message.x)
