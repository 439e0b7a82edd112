"""Moments on a dask.distributed cluster (``--dask_scheduler``) through the real server,
against an in-process LocalCluster: same numbers as numpy, progress as tasks complete,
STOP cancels, a scheduler that does not answer or a worker that cannot read the file
fails the job with a clear message while the session keeps working, and the default
server never imports dask."""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.actors import cluster
from carta_trio.analysis import cluster_tasks
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.conftest import server_url
from tests.image_factory import make_cube, wcs_header, write_fits
from tests.test_protocol_moments_pv import SHAPE, expected_moments, moment_request, open_file, tile_of, until

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler_address() -> Iterator[str]:
    """A LocalCluster with two single-thread workers in this process."""
    with warnings.catch_warnings():  # distributed warns about its own start-up (ports, memory limits)
        warnings.simplefilter("ignore")
        local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                         dashboard_address=None, scheduler_port=0)
    try:
        yield local.scheduler_address
    finally:
        cluster.close_clients()
        local.close()


@pytest.fixture
def cube(data_dir: Path) -> np.ndarray:
    data = make_cube(SHAPE, seed=5)
    write_fits(data_dir / "cube.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    return data


async def unused_port() -> int:
    """A loopback port with nothing listening (a scheduler that does not answer)."""
    with trio.socket.socket() as probe:
        await probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_cluster_moments_match_numpy(start_server: Callable[..., Awaitable[object]], cube: np.ndarray,
                                           scheduler_address: str) -> None:
    cluster_tasks._readers.clear()
    handle = await start_server(dask_scheduler=scheduler_address)
    lo, hi = 0.5, 1e6
    async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
        await client.register()
        await open_file(client, "cube.fits")
        await client.send(moment_request([0, 1, 2], z=(1, 6), mask=1, pixels=(hi, lo)))
        messages = await until(client, pb.MomentResponse)
        response = messages[-1].message
        assert response.success and not response.cancel, response.message
        expected = expected_moments(cube[1:7], 1, lo, hi)
        for moment, ack in enumerate(response.open_file_acks):
            got = await tile_of(client, ack.file_id)
            want = expected[moment]
            assert np.array_equal(np.isnan(got), np.isnan(want)), moment
            np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], rtol=2e-6, atol=1e-5)
    # The tasks ran on the cluster's workers (in this process): they opened the image there.
    assert any(key[0].endswith("cube.fits") for key in cluster_tasks._readers)


async def test_unreachable_scheduler_fails_the_job_not_the_session(
    start_server: Callable[..., Awaitable[object]], cube: np.ndarray, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1.0)
    port = await unused_port()
    handle = await start_server(dask_scheduler=f"tcp://127.0.0.1:{port}")
    async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
        await client.register()
        await open_file(client, "cube.fits")
        started = time.monotonic()
        response = await client.request(moment_request([0]), timeout=30)
        assert not response.success
        assert "does not answer" in response.message and str(port) in response.message
        assert time.monotonic() - started < 20
        assert await client.ping()
        assert (await client.request(pb.FileListRequest(directory=""))).success


async def test_worker_that_cannot_read_the_file_fails_the_job(
    start_server: Callable[..., Awaitable[object]], cube: np.ndarray, scheduler_address: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unseen(path: str, hdu: str, shape: tuple[int, ...]) -> object:
        raise FileNotFoundError(2, "No such file or directory", path)  # a worker without the data mount

    monkeypatch.setattr(cluster_tasks, "_reader", unseen)
    handle = await start_server(dask_scheduler=scheduler_address)
    async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
        await client.register()
        await open_file(client, "cube.fits")
        response = await client.request(moment_request([0]), timeout=60)
        assert not response.success
        assert "cluster task failed" in response.message and "FileNotFoundError" in response.message
        assert await client.ping()
        monkeypatch.undo()
        response = await client.request(moment_request([0]), timeout=60)
        assert response.success, response.message


async def test_stop_cancels_cluster_tasks(start_server: Callable[..., Awaitable[object]], data_dir: Path,
                                          scheduler_address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_cube((32, 64, 64), seed=2)
    write_fits(data_dir / "slow.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    original = cluster_tasks.moment_task

    def slow(*args: object) -> object:
        time.sleep(0.2)
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(cluster_tasks, "moment_task", slow)
    handle = await start_server(dask_scheduler=scheduler_address)
    async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
        await client.register()
        await open_file(client, "slow.fits")
        request_id = await client.send(moment_request([0], z=(0, 31)))
        await client.expect(pb.MomentProgress, timeout=30)
        started = time.monotonic()
        await client.send(pb.StopMomentCalc(file_id=0))
        messages = await until(client, pb.MomentResponse, timeout=10)
        assert messages[-1].request_id == request_id
        assert messages[-1].message.cancel
        assert time.monotonic() - started < 2.0


def test_default_server_does_not_import_dask() -> None:
    code = ("import sys, carta_trio.actors.server, carta_trio.cli; "
            "print(any(m == 'dask' or m.startswith(('dask.', 'distributed')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


async def test_cluster_cube_histogram_matches_numpy_in_order(
    start_server: Callable[..., Awaitable[object]], data_dir: Path, scheduler_address: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from carta_trio.actors import cube_histogram
    from tests import analytics_expect as ex
    from tests.test_protocol_cube_histogram import CUBE_CONFIG, collect, requirement

    data = make_cube((10, 24, 30), seed=21)
    data[4] = np.nan
    write_fits(data_dir / "hist.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    monkeypatch.setattr(cube_histogram, "PROGRESS_INTERVAL", -1.0)
    monkeypatch.setattr(cube_histogram, "CHUNK_BYTES", 24 * 30 * 4 * 2)  # two planes per task
    cluster_tasks._readers.clear()
    handle = await start_server(dask_scheduler=scheduler_address)
    async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
        await client.register()
        await open_file(client, "hist.fits")
        await client.send(requirement(CUBE_CONFIG))
        messages = await collect(client)
    # Progress in chunk order even though tasks finish in any order.
    assert [m.progress for m in messages] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    ex.assert_histogram(messages[-1].histograms, ex.histogram(data, int(np.sqrt(24 * 30))))
    assert any(key[0].endswith("hist.fits") for key in cluster_tasks._readers)


async def test_cluster_cube_histogram_failure_is_reported(
    start_server: Callable[..., Awaitable[object]], cube: np.ndarray, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.test_protocol_cube_histogram import CUBE_CONFIG, requirement

    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1.0)
    port = await unused_port()
    handle = await start_server(dask_scheduler=f"tcp://127.0.0.1:{port}")
    async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
        await client.register()
        await open_file(client, "cube.fits")
        await client.send(requirement(CUBE_CONFIG))
        error = (await client.expect(pb.ErrorData, timeout=30)).message
        assert "does not answer" in error.message
        assert await client.ping()
