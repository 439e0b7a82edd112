"""One function per rule: paths that used to disagree now give the same answer.

The image histogram of an HDF5 plane: the render histogram after a channel change
and the region -1 histogram of SET_HISTOGRAM_REQUIREMENTS both come from the file's
stored histogram (``image_histogram.plane_histogram``; the reference uses the stored
one in both). The file's stored counts are marked so a computed one cannot match.
"""

from __future__ import annotations

from pathlib import Path

import h5py

from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.image_factory import make_cube, write_hdf5_idia
from tests.region_client import open_image

MARK = 12345


async def test_render_and_requirement_histograms_of_an_hdf5_plane_agree(carta_url: str, data_dir: Path) -> None:
    cube = make_cube((3, 40, 50), seed=3)
    path = data_dir / "cube.hdf5"
    write_hdf5_idia(path, cube)
    with h5py.File(path, "r+") as f:
        stored = f["0/Statistics/XY/HISTOGRAM"]
        counts = stored[...]
        counts[:, 0] = MARK  # the stored counts of every plane, marked
        stored[...] = counts
    async with open_client(carta_url) as client:
        await open_image(client, "cube.hdf5")
        await client.send(pb.SetImageChannels(file_id=0, channel=1, stokes=0))
        render = (await client.expect(pb.RegionHistogramData)).message
        assert render.channel == 1 and render.region_id == -1
        await client.send(pb.SetHistogramRequirements(file_id=0, region_id=-1, histograms=[
            pb.HistogramConfig(coordinate="z", channel=-1, num_bins=-1)]))
        required = (await client.expect(pb.RegionHistogramData)).message
    assert render.histograms.bins[0] == MARK
    assert list(required.histograms.bins) == list(render.histograms.bins)
    assert required.histograms.first_bin_center == render.histograms.first_bin_center
    assert required.histograms.bin_width == render.histograms.bin_width
