"""Native-library crashes end one worker process, never the server (issue 11 D3, D4).

casacore aborts when the disk fills while it writes a CASA image and can crash on a
damaged image; both run in worker processes now. Faults are real (a full tmpfs,
SIGSEGV/SIGABRT in the worker); servers under test run in their own process."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.io import native_worker, save_image
from carta_trio.io.images import open_image
from carta_trio.io.worker_reader import ImageWorkerError
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.image_factory import make_cube, wcs_header, write_fits
from tests.server_process import server_process

CTYPES = ("RA---SIN", "DEC--SIN", "FREQ")
NAN = float("nan")


def _casa_image(folder: Path, name: str = "x.image", shape=(4, 40, 40)) -> np.ndarray:
    from casacore import images

    data = make_cube(shape, seed=11)
    write_fits(folder / "source.fits", data, wcs_header(CTYPES))
    images.image(str(folder / "source.fits")).saveas(str(folder / name))
    (folder / "source.fits").unlink()
    return data


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def test_worker_crash_is_an_exception_in_the_caller() -> None:
    for fault, name in (("tests.faults:segfault", "SIGSEGV"), ("tests.faults:abort", "SIGABRT")):
        with pytest.raises(native_worker.WorkerCrashed) as caught:
            native_worker.run_once(fault)
        assert caught.value.signal_name == name
    assert native_worker.run_once("math:hypot", 3.0, 4.0) == 5.0


def test_casa_reader_survives_its_worker_dying(tmp_path: Path) -> None:
    data = _casa_image(tmp_path)
    reader = open_image(tmp_path / "x.image")
    np.testing.assert_allclose(reader.read_plane(2, 0), data[2], equal_nan=True)
    os.kill(reader.worker_pid, signal.SIGSEGV)
    with pytest.raises(ImageWorkerError, match="x.image can no longer be read.*SIGSEGV"):
        reader.read_plane(1, 0)
    with pytest.raises(ImageWorkerError):
        reader.read_plane(1, 0)
    reader.close()
    again = open_image(tmp_path / "x.image")  # a new worker
    np.testing.assert_allclose(again.read_plane(1, 0), data[1], equal_nan=True)
    again.close()


def test_casa_save_writer_abort_is_reported_and_staging_removed(tmp_path: Path, monkeypatch) -> None:
    write_fits(tmp_path / "cube.fits", make_cube((2, 6, 7), seed=7), wcs_header(CTYPES))
    monkeypatch.setattr(save_image, "CONVERTER", "tests.faults:abort")
    with open_image(tmp_path / "cube.fits") as reader:
        selection = save_image.select(reader, [], [])
        with pytest.raises(save_image.SaveError, match="SIGABRT"):
            save_image.write_casa(reader, tmp_path / "out.image", selection, keep_degenerate=True, rest_freq=NAN)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.fits"]


def test_server_survives_a_casa_image_crash_while_open(tmp_path: Path) -> None:
    top = tmp_path / "data"
    top.mkdir()
    data = _casa_image(top)
    write_fits(top / "other.fits", make_cube((2, 16, 16), seed=3), wcs_header(CTYPES))
    with server_process(top) as server:

        async def scenario() -> None:
            async with open_client(server.url, connect_timeout=60) as client, open_client(server.url, connect_timeout=60) as neighbour:
                await client.register(timeout=60)
                await neighbour.register(timeout=60)
                before = set(_descendants(server.proc.pid))
                assert (await client.request(pb.OpenFile(file="x.image", file_id=0), timeout=60)).success
                assert (await neighbour.request(pb.OpenFile(file="other.fits", file_id=0), timeout=60)).success
                workers = [p for p in _descendants(server.proc.pid) if p not in before]
                assert workers, "the CASA image is not read in a worker process"
                for pid in workers:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGSEGV)
                await client.send(pb.SetImageChannels(file_id=0, channel=3, stokes=0, required_tiles=pb.AddRequiredTiles(
                    file_id=0, tiles=[0], compression_type=pb.CompressionType.ZFP, compression_quality=11)))
                error = (await client.expect(pb.ErrorData, timeout=30)).message
                assert "x.image" in error.message and str(top) not in error.message, error.message
                # opened again: a fresh worker reads it
                assert (await client.request(pb.OpenFile(file="x.image", file_id=1), timeout=60)).success
                assert (await neighbour.request(pb.FileInfoRequest(file="other.fits", hdu=""), timeout=60)).success

        trio.run(scenario)
        assert server.alive(), server.output()
    del data


@contextlib.contextmanager
def _small_tmpfs(size: str) -> Iterator[Path]:
    mount = Path("/tmp") / f"carta-trio-full-{uuid.uuid4().hex[:8]}"
    mount.mkdir()
    try:
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        try:
            yield mount
        finally:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)
    finally:
        shutil.rmtree(mount, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="needs root to mount a tmpfs")
def test_server_survives_a_full_disk_while_saving_casa(tmp_path: Path) -> None:
    with _small_tmpfs("1900k") as top:
        write_fits(top / "cube.fits", make_cube((20, 100, 100), seed=5), wcs_header(CTYPES))  # 800 kB
        with server_process(top, home=tmp_path) as server:

            async def scenario() -> None:
                async with open_client(server.url, connect_timeout=60) as client:
                    await client.register(timeout=60)
                    assert (await client.request(pb.OpenFile(file="cube.fits", file_id=0), timeout=60)).success
                    ack = await client.request(pb.SaveFile(
                        file_id=0, output_file_name="copy.image", output_file_type=pb.FileType.CASA,
                        rest_freq=NAN), timeout=60)
                    assert not ack.success
                    # casacore aborts (SIGABRT) when the disk fills while it writes
                    assert "SIGABRT" in ack.message and "free on that disk" in ack.message, ack.message
                    assert str(top) not in ack.message
                    # still serving
                    assert (await client.request(pb.FileInfoRequest(file="cube.fits", hdu=""), timeout=60)).success

            trio.run(scenario)
            assert server.alive(), server.output()
        assert sorted(p.name for p in top.iterdir()) == ["cube.fits"]


def test_large_arrays_come_back_through_shared_memory_intact() -> None:
    worker = native_worker.NativeWorker("shm-test")
    try:
        small = worker.run("numpy:arange", 10)
        big = worker.run("numpy:arange", 0, 3_000_000, 1, "float32")  # 12 MB: the shared-memory path
        again = worker.run("numpy:ones", (700, 900), ">f8")
        assert small.tolist() == list(range(10))
        assert big.dtype == np.float32 and np.array_equal(big, np.arange(3_000_000, dtype=np.float32))
        assert again.shape == (700, 900) and again.dtype == np.dtype(">f8") and float(again.sum()) == 630000.0
        with pytest.raises(native_worker.WorkerCrashed):
            worker.run("tests.faults:segfault")
    finally:
        worker.close()
