"""PV images and region spectral profiles on a dask cluster (``--dask_scheduler``), and
STOP reaching the cluster: through the real server against an in-process LocalCluster.
Same numbers as embedded, the tasks run on the workers, STOP_PV_CALC / STOP_MOMENT_CALC /
removing a region cancel the futures (no task starts afterwards), and a worker that
cannot see the file gives a clear message while the viewer keeps working."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.actors import spectral_cluster
from carta_trio.analysis import cluster_tasks
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests import analytics_expect as ex
from tests.conftest import server_url
from tests.image_factory import make_cube, wcs_header, write_fits
from tests.region_client import final_spectral, new_region, spectral
from tests.test_protocol_cluster_moments import scheduler_address, unused_port  # noqa: F401  (fixture)
from tests.test_protocol_moments_pv import cut_spectra, line, moment_request, open_file, tile_of, until

pytest.importorskip("distributed")

ST = pb.StatsType
RT = pb.RegionType


_counts: dict[str, int] = {}
_counts_lock = threading.Lock()


def _note(key: str) -> None:
    """Count one call (a module function: a task pickled by value refers to it by name)."""
    with _counts_lock:
        _counts[key] = _counts.get(key, 0) + 1


class Calls:
    """Counts (and optionally slows) calls of a cluster task; workers run in this process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, seconds: float = 0.0) -> None:
        self.key = f"{name}-{id(self)}"
        original = getattr(cluster_tasks, name)
        key = self.key

        def counted(*args: object) -> object:
            _note(key)
            time.sleep(seconds)
            return original(*args)

        monkeypatch.setattr(cluster_tasks, name, counted)

    @property
    def count(self) -> int:
        return _counts.get(self.key, 0)


async def _settled(calls: Calls, seconds: float = 1.0) -> int:
    """The call count once it stopped growing for ``seconds`` (tasks still running finish)."""
    count = -1
    while count != calls.count:
        count = calls.count
        await trio.sleep(seconds)
    return count


async def test_pv_on_the_cluster_matches_and_stops(start_server: Callable[..., Awaitable[object]], quad: np.ndarray,
                                                   scheduler_address: str,  # noqa: F811
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Calls(monkeypatch, "pv_spectra_task")
    handle = await start_server(dask_scheduler=scheduler_address)
    async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
        await client.register()
        await open_file(client, "quad.fits")
        cut = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=line([(30, 20), (10, 20)])))
        await client.send(pb.PvRequest(file_id=0, region_id=cut.region_id, width=5))
        messages = await until(client, pb.PvResponse)
        progress = [e.message.progress for e in messages if isinstance(e.message, pb.PvProgress)]
        assert progress and progress[-1] == 1.0
        response = messages[-1].message
        assert response.success, response.message
        np.testing.assert_allclose(await tile_of(client, -1000), cut_spectra(quad, range(10, 31), 20, 5).T, rtol=1e-7)
        assert calls.count >= 2  # the cut's box groups ran as cluster tasks

        # STOP_PV_CALC cancels the futures: tasks not started never run.
        slow = Calls(monkeypatch, "pv_spectra_task", seconds=0.3)
        await client.send(pb.PvRequest(file_id=0, region_id=cut.region_id, width=5))
        await client.expect(pb.PvProgress, timeout=30)
        await client.send(pb.StopPvCalc(file_id=0))
        response = (await until(client, pb.PvResponse, timeout=10))[-1].message
        assert response.cancel and not response.success
        ran = await _settled(slow)
        assert ran < 21 // 2  # 21 boxes in groups of one or two: most never started
        assert await client.ping()


def planned_moment_boxes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The boxes each cluster moments job plans (one entry per job), recorded as planned."""
    from carta_trio.actors import moments_cluster

    planned: list[int] = []
    original = moments_cluster.cluster_calls

    def recorded(plan: object) -> object:
        calls = original(plan)  # type: ignore[arg-type]
        planned.append(sum(len(call[4]) for call in calls or []))  # boxes
        return calls

    monkeypatch.setattr(moments_cluster, "cluster_calls", recorded)
    return planned


async def test_moments_stop_cancels_the_futures(start_server: Callable[..., Awaitable[object]], data_dir: Path,
                                                scheduler_address: str,  # noqa: F811
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    write_fits(data_dir / "slow.fits", make_cube((32, 64, 64), seed=2), wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    planned = planned_moment_boxes(monkeypatch)
    slow = Calls(monkeypatch, "moment_task", seconds=0.3)
    handle = await start_server(dask_scheduler=scheduler_address)
    async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
        await client.register()
        await open_file(client, "slow.fits")
        await client.send(moment_request([0], z=(0, 31)))
        await client.expect(pb.MomentProgress, timeout=30)
        await client.send(pb.StopMomentCalc(file_id=0))
        assert (await until(client, pb.MomentResponse, timeout=10))[-1].message.cancel
        ran = await _settled(slow)
    assert planned and planned[0] >= 8 and ran <= planned[0] // 2


async def _profile(client: CartaClient, region_id: int, stats: list[int]) -> dict[int, np.ndarray]:
    await client.send(spectral(region_id, ("z", stats)))
    message = await final_spectral(client, timeout=60)
    return {p.stats_type: ex.fp64(p) for p in message.profiles}


async def test_region_profiles_on_the_cluster(start_server: Callable[..., Awaitable[object]], data_dir: Path,
                                             scheduler_address: str,  # noqa: F811
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_cube((24, 40, 50), seed=8)
    write_fits(data_dir / "prof.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    monkeypatch.setattr(spectral_cluster, "CLUSTER_MIN_BYTES", 0)
    monkeypatch.setattr(spectral_cluster, "TASK_BYTES", 1)  # one channel per task
    calls = Calls(monkeypatch, "region_profile_task")
    handle = await start_server(dask_scheduler=scheduler_address)
    async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
        await client.register()
        await open_file(client, "prof.fits")
        mask = ex.ellipse_mask((40, 50), 24.3, 19.2, 15.4, 11.3, 0.0)
        rid = await new_region(client, RT.ELLIPSE, [(24.3, 19.2), (15.4, 11.3)])
        got = await _profile(client, rid, [ST.Mean, ST.Sigma, ST.Max, ST.NumPixels])
        values = [plane[mask].astype(np.float64) for plane in data]
        np.testing.assert_allclose(got[ST.Mean], [np.nanmean(v) for v in values], rtol=1e-9)
        np.testing.assert_allclose(got[ST.Sigma], [np.nanstd(v, ddof=1) for v in values], rtol=1e-9)
        np.testing.assert_array_equal(got[ST.Max], [np.nanmax(v) for v in values])
        np.testing.assert_array_equal(got[ST.NumPixels], [np.sum(~np.isnan(v)) for v in values])
        assert calls.count == 24

        # Removing the region cancels the futures of its profile.
        slow = Calls(monkeypatch, "region_profile_task", seconds=0.3)
        rid = await new_region(client, RT.RECTANGLE, [(20.0, 20.0), (30.0, 20.0)])
        await client.send(spectral(rid, ("z", [ST.Sum])))
        with trio.fail_after(30):
            while slow.count == 0:
                await trio.sleep(0.02)
        await client.send(pb.RemoveRegion(region_id=rid))
        ran = await _settled(slow)
        assert ran < 12
        assert await client.ping()


async def test_cluster_failures_are_told_and_the_viewer_keeps_working(
    start_server: Callable[..., Awaitable[object]], quad: np.ndarray, scheduler_address: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unseen(path: str, hdu: str, shape: tuple[int, ...]) -> object:
        raise FileNotFoundError(2, "No such file or directory", path)  # a worker without the data mount

    monkeypatch.setattr(cluster_tasks, "_reader", unseen)
    monkeypatch.setattr(spectral_cluster, "CLUSTER_MIN_BYTES", 0)
    handle = await start_server(dask_scheduler=scheduler_address)
    async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
        await client.register()
        await open_file(client, "quad.fits")
        cut = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=line([(30, 20), (10, 20)])))
        await client.send(pb.PvRequest(file_id=0, region_id=cut.region_id, width=5))
        response = (await until(client, pb.PvResponse))[-1].message
        assert not response.success and not response.cancel
        assert "cluster task failed" in response.message and "FileNotFoundError" in response.message

        # A profile: ERROR_DATA names the failure, and the profile is computed here instead.
        rid = await new_region(client, RT.RECTANGLE, [(20.2, 20.3), (10.0, 10.0)])
        await client.send(spectral(rid, ("z", [ST.Sum])))
        error = (await client.expect(pb.ErrorData, timeout=30)).message
        assert "dask cluster failed" in error.message and "FileNotFoundError" in error.message
        message = await final_spectral(client, timeout=30)
        box = ex.rectangle_mask((64, 64), 20.2, 20.3, 10.0, 10.0, 0.0)
        want = [plane[box].astype(np.float64).sum() for plane in quad]
        np.testing.assert_allclose(ex.fp64(message.profiles[0]), want, rtol=1e-9)
        assert await client.ping()


async def test_pv_with_a_scheduler_that_does_not_answer(start_server: Callable[..., Awaitable[object]],
                                                        quad: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    from carta_trio.actors import cluster

    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1.0)
    port = await unused_port()
    handle = await start_server(dask_scheduler=f"tcp://127.0.0.1:{port}")
    async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
        await client.register()
        await open_file(client, "quad.fits")
        cut = await client.request(pb.SetRegion(file_id=0, region_id=-1, region_info=line([(30, 20), (10, 20)])))
        response = await client.request(pb.PvRequest(file_id=0, region_id=cut.region_id, width=5), timeout=30)
        assert not response.success and "does not answer" in response.message and str(port) in response.message
        assert await client.ping()


async def test_a_scheduler_lost_mid_job_fails_it_with_a_clear_message(
    start_server: Callable[..., Awaitable[object]], data_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import warnings

    import distributed

    from carta_trio.actors import cluster

    write_fits(data_dir / "slow.fits", make_cube((32, 64, 64), seed=2), wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    monkeypatch.setattr(cluster, "LOST_SECONDS", 2.0)
    Calls(monkeypatch, "moment_task", seconds=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                         dashboard_address=None, scheduler_port=0)
    address = local.scheduler_address
    try:
        handle = await start_server(dask_scheduler=address)
        async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
            await client.register()
            await open_file(client, "slow.fits")
            request_id = await client.send(moment_request([0], z=(0, 31)))
            await client.expect(pb.MomentProgress, timeout=30)
            await trio.to_thread.run_sync(local.close)
            started = time.monotonic()
            messages = await until(client, pb.MomentResponse, timeout=30)
            response = messages[-1].message
            assert messages[-1].request_id == request_id
            assert not response.success and "Lost the dask scheduler" in response.message, response.message
            assert time.monotonic() - started < 15
            assert await client.ping()
    finally:
        with cluster._clients_lock:
            lost = cluster._clients.pop(address, None)
        if lost is not None:
            await trio.to_thread.run_sync(lambda: lost.close(timeout=2))
        local.close()


async def test_moments_survive_a_lost_worker(start_server: Callable[..., Awaitable[object]], data_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that disappears in the middle of a job (a node lost) does not fail it:
    dask runs its tasks again on the workers left, and the moment equals numpy's."""
    import warnings

    import distributed
    from distributed.utils import sync

    from carta_trio.actors import cluster
    from tests.test_protocol_moments_pv import expected_moments

    data = make_cube((32, 64, 64), seed=3)
    write_fits(data_dir / "lost.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                         dashboard_address=None, scheduler_port=0)
    planned = planned_moment_boxes(monkeypatch)
    try:
        slow = Calls(monkeypatch, "moment_task", seconds=0.2)
        handle = await start_server(dask_scheduler=local.scheduler_address)
        async with open_client(server_url(handle)) as client:  # type: ignore[arg-type]
            await client.register()
            await open_file(client, "lost.fits")
            await client.send(moment_request([0], z=(0, 31), mask=1, pixels=(1e6, 0.5)))
            with trio.fail_after(30):
                while slow.count < 1:
                    await trio.sleep(0.02)
            worker = next(iter(local.workers.values()))
            await trio.to_thread.run_sync(lambda: sync(local.loop, worker.close, executor_wait=False))
            response = (await until(client, pb.MomentResponse, timeout=60))[-1].message
            assert response.success and not response.cancel, response.message
            got = await tile_of(client, response.open_file_acks[0].file_id)
        want = expected_moments(data, 0, 0.5, 1e6)[0]
        assert np.array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], rtol=2e-6, atol=1e-5)
        assert len(local.scheduler.workers) == 1  # the job finished on the worker left
        assert slow.count > planned[0]  # what the lost worker was computing ran again
    finally:
        cluster.close_clients()
        local.close()
