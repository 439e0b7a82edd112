"""One function per rule: paths that used to disagree now give the same answer.

The image histogram of an HDF5 plane: the render histogram after a channel change
and the region -1 histogram of SET_HISTOGRAM_REQUIREMENTS both come from the file's
stored histogram (``image_histogram.plane_histogram``; the reference uses the stored
one in both). The file's stored counts are marked so a computed one cannot match.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.image_factory import gzip_file, make_cube, write_fits, write_hdf5_idia
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


def write_user_block_hdf5(path: Path, data: np.ndarray) -> None:
    """A minimal IDIA HDF5 image behind a 512-byte user block."""
    with h5py.File(path, "w", userblock_size=512) as f:
        group = f.create_group("0")
        group.attrs["SIMPLE"] = np.uint8(1)
        for key, value in (("BITPIX", -32), ("NAXIS", 2), ("NAXIS1", data.shape[1]), ("NAXIS2", data.shape[0])):
            group.attrs[key] = np.int64(value)
        group.create_dataset("DATA", data=data.astype(np.float32))


async def test_open_file_info_and_listing_agree_on_file_types(carta_url: str, data_dir: Path) -> None:
    """identify(path): an HDF5 file with a user block and a gzip'd FITS named in capitals
    open, and FILE_INFO and the file browser call them HDF5 and FITS (they said UNKNOWN)."""
    plane = np.arange(48, dtype=np.float32).reshape(6, 8)
    write_user_block_hdf5(data_dir / "ub.hdf5", plane)
    write_fits(data_dir / "plain.fits", plane)
    gzip_file(data_dir / "plain.fits", data_dir / "A.FITS.GZ")
    expected = {"ub.hdf5": pb.FileType.HDF5, "A.FITS.GZ": pb.FileType.FITS}
    async with open_client(carta_url) as client:
        await client.register()
        listing = await client.request(pb.FileListRequest(directory=""))
        listed = {f.name: f.type for f in listing.files}
        for file_id, (name, kind) in enumerate(expected.items()):
            assert listed.get(name) == kind, (name, listed)
            info = await client.request(pb.FileInfoRequest(directory="", file=name, hdu=""))
            assert info.success, info.message
            assert info.file_info.type == kind
            ack = await client.request(pb.OpenFile(directory="", file=name, file_id=file_id, hdu=""))
            assert ack.success, ack.message
            assert ack.file_info.type == kind
