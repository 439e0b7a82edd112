"""Files changed under an open image (issue 11 D2, D10): truncation is an error reported
to the session, never a signal that ends the process, and never zeros served as data.

Each server runs in its own process, so on a build that dies (SIGBUS) the test sees it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import trio

from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.image_factory import make_cube, wcs_header, write_fits
from tests.server_process import server_process

CTYPES = ("RA---SIN", "DEC--SIN", "FREQ")


def _truncate(path: Path, keep: int) -> None:
    with open(path, "r+b") as f:
        f.truncate(keep)


def test_reader_reports_truncation_without_a_signal(tmp_path: Path) -> None:
    """In a child process: read, truncate, read again -> an exception, exit code 0."""
    path = tmp_path / "cube.fits"
    write_fits(path, make_cube((8, 64, 64), seed=1), wcs_header(CTYPES))
    script = textwrap.dedent(f"""
        import os, sys
        from carta_trio.io.images import open_image
        reader = open_image({str(path)!r})
        reader.read_plane(7, 0)
        with open({str(path)!r}, "r+b") as f:
            f.truncate(2880 + 64 * 64 * 4 * 2)
        for read in (lambda: reader.read_plane(7, 0), lambda: reader.read_spectrum(3, 3, 0),
                     lambda: reader.read_plane(0, 0)):
            try:
                read()
            except OSError as exc:
                print("ERROR", exc)
            else:
                print("NO ERROR")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    lines = result.stdout.split("\n")
    assert lines[:3] == [line for line in lines[:3] if line.startswith("ERROR cube.fits")], result.stdout
    assert "truncated" in lines[0]


def test_hdf5_truncation_is_an_error_not_zeros(tmp_path: Path) -> None:
    h5py = __import__("h5py")
    path = tmp_path / "cube.hdf5"
    data = np.arange(8 * 32 * 32, dtype=np.float32).reshape(8, 32, 32) + 1
    with h5py.File(path, "w") as f:
        group = f.create_group("0")
        group.attrs["SIMPLE"] = "T"
        group.attrs["NAXIS"] = 3
        for i, n in enumerate((32, 32, 8), start=1):
            group.attrs[f"NAXIS{i}"] = n
        group.attrs["CTYPE1"], group.attrs["CTYPE2"], group.attrs["CTYPE3"] = "RA---SIN", "DEC--SIN", "FREQ"
        group.create_dataset("DATA", data=data)
    script = textwrap.dedent(f"""
        from carta_trio.io.images import open_image
        reader = open_image({str(path)!r})
        first = reader.read_plane(7, 0)
        assert float(first.max()) > 0
        size = __import__("os").path.getsize({str(path)!r})
        with open({str(path)!r}, "r+b") as f:
            f.truncate(size - 32 * 32 * 4 * 4)
        try:
            plane = reader.read_plane(6, 0)
        except OSError as exc:
            print("ERROR", exc)
        else:
            print("NO ERROR", float(abs(plane).max()))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert result.stdout.startswith("ERROR cube.hdf5"), result.stdout


def test_server_survives_a_truncated_fits_and_says_so(tmp_path: Path) -> None:
    top = tmp_path / "data"
    top.mkdir()
    write_fits(top / "cube.fits", make_cube((8, 128, 128), seed=2), wcs_header(CTYPES))
    write_fits(top / "other.fits", make_cube((2, 16, 16), seed=3), wcs_header(CTYPES))
    with server_process(top) as server:

        async def scenario() -> None:
            async with open_client(server.url, connect_timeout=60) as client, open_client(server.url, connect_timeout=60) as neighbour:
                await client.register(timeout=60)
                await neighbour.register(timeout=60)
                assert (await client.request(pb.OpenFile(file="cube.fits", file_id=0), timeout=60)).success
                assert (await neighbour.request(pb.OpenFile(file="other.fits", file_id=0), timeout=60)).success
                _truncate(top / "cube.fits", 2880 + 128 * 128 * 4)
                await client.send(pb.SetImageChannels(file_id=0, channel=6, stokes=0, required_tiles=pb.AddRequiredTiles(
                    file_id=0, tiles=[0], compression_type=pb.CompressionType.ZFP, compression_quality=11)))
                error = (await client.expect(pb.ErrorData, timeout=30)).message
                assert "cube.fits" in error.message and "truncated" in error.message, error.message
                assert str(top) not in error.message
                # the neighbour's session is untouched
                info = await neighbour.request(pb.FileInfoRequest(file="other.fits", hdu=""))
                assert info.success

        trio.run(scenario)
        assert server.alive(), server.output()


def test_casa_image_changed_while_open_is_reported(tmp_path: Path) -> None:
    from casacore import images

    from carta_trio.io.images import open_image

    write_fits(tmp_path / "src.fits", make_cube((4, 32, 32), seed=6), wcs_header(CTYPES))
    images.image(str(tmp_path / "src.fits")).saveas(str(tmp_path / "x.image"))
    reader = open_image(tmp_path / "x.image")
    try:
        reader.read_plane(0, 0)
        data_file = next(p for p in (tmp_path / "x.image").iterdir() if p.name.startswith("table.f0_TSM"))
        _truncate(data_file, 1000)
        try:
            reader.read_plane(3, 0)
        except OSError as exc:
            assert "x.image" in str(exc) and "modified" in str(exc) and str(tmp_path) not in str(exc)
        else:
            raise AssertionError("a CASA image changed while open was read without an error")
    finally:
        reader.close()
