"""The reconnect grace period through the real server socket (actors/session_manager.py).

A connection that drops (no close frame, as when a laptop loses its Wi-Fi) leaves its
session kept for ``--reconnect_grace`` seconds; REGISTER_VIEWER with its id from the same
address re-attaches it, and RESUME_SESSION brings back its images -- a moment image that
exists only in memory included -- on the readers the session kept. A clean close, a zero
grace or the end of the period end the session as the reference does.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import trio
import trio_websocket

from carta_trio import limits
from carta_trio.actors.server import ServerHandle, serve
from carta_trio.actors.session import Session
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.conftest import make_settings, server_url
from tests.image_factory import make_cube, wcs_header, write_fits
from carta_trio.actors import moments as moments_actor
from carta_trio.actors import session_keep, workers
from tests.test_protocol_moments_pv import line, moment_request, open_file, slow_down, tile_of, until, write_big_cube

SHAPE = (8, 24, 32)
MOMENT_ID = 1000  # the first moment image of file 0 (moment 0, the integrated flux)


@pytest.fixture
def cube(data_dir: Path) -> np.ndarray:
    data = make_cube(SHAPE, seed=5)
    write_fits(data_dir / "cube.fits", data, wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))
    return data


async def wait_for(condition, timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
    with trio.fail_after(timeout):
        while not condition():
            await trio.sleep(0.01)


async def session_with_moment(client: CartaClient) -> tuple[int, str]:
    """Register, open cube.fits as file 0 and make its moment 0 (file 1000): (session id, moment name)."""
    session_id = (await client.register()).session_id
    await open_file(client, "cube.fits")
    await client.send(moment_request([0]))
    response = (await until(client, pb.MomentResponse))[-1].message
    assert response.success, response.message
    ack = response.open_file_acks[0]
    assert ack.file_id == MOMENT_ID
    return session_id, ack.file_info.name


def shared_reader(session: Session, file_id: int) -> object:
    """The pooled reader behind a frame (the same object while the image stays open)."""
    return session.frames[file_id].reader.wrapped.shared  # type: ignore[attr-defined]


def image(file: str, file_id: int, channel: int = 0) -> pb.ImageProperties:
    return pb.ImageProperties(directory="", file=file, hdu="", file_id=file_id, channel=channel, stokes=0)


async def test_a_dropped_session_is_resumed_with_its_images(carta_server: ServerHandle, cube: np.ndarray) -> None:
    url = server_url(carta_server)
    manager = carta_server.manager
    async with open_client(url) as first:
        session_id, moment_name = await session_with_moment(first)
        moment_plane = await tile_of(first, MOMENT_ID)
        session = manager.sessions[session_id]
        readers = {file_id: shared_reader(session, file_id) for file_id in (0, MOMENT_ID)}
        await first.drop()
        await wait_for(lambda: session in manager.kept)
    # parked: no frame runs, the images are held
    assert session.frames == {} and sorted(session.state.kept_images) == [0, MOMENT_ID]
    async with open_client(url) as second:
        ack = await second.register(session_id)
        assert (ack.success, ack.session_type, ack.session_id) == (True, pb.SessionType.RESUMED, session_id)
        assert ack.message == f"Network reconnected with session id {session_id}"
        assert manager.sessions[session_id] is session and manager.kept == []
        request_id = await second.send(pb.ResumeSession(images=[image("cube.fits", 0, channel=2),
                                                                image(moment_name, MOMENT_ID)]))
        seen = await second.collect_until(lambda e: isinstance(e.message, pb.ResumeSessionAck))
        # as the reference: each image's histogram (silent opens: no OPEN_FILE_ACK), then the ack
        assert seen[-1].request_id == request_id and seen[-1].message.success and seen[-1].message.message == ""
        assert {type(e.message) for e in seen[:-1]} == {pb.RegionHistogramData}
        histograms = [e.message for e in seen[:-1]]
        assert sorted((h.file_id, h.channel) for h in histograms) == [(0, 0), (0, 2), (MOMENT_ID, 0)]
        # the same readers: nothing was reopened from disk, the moment never left memory
        assert {file_id: shared_reader(session, file_id) for file_id in (0, MOMENT_ID)} == readers
        assert session.state.kept_images == {}
        np.testing.assert_array_equal(await tile_of(second, MOMENT_ID), moment_plane)
        np.testing.assert_array_equal(await tile_of(second, 0), cube[2])


async def test_a_job_running_when_the_connection_drops_is_cancelled(
    carta_server: ServerHandle, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its answer would go to a request the reconnected frontend has forgotten (it counts
    request ids from 1 again): nothing of it reaches the new connection."""
    write_big_cube(data_dir, (96, 128, 128))
    slow_down(monkeypatch, moments_actor, "compute_chunk", 0.15)
    url = server_url(carta_server)
    async with open_client(url) as first:
        session_id = (await first.register()).session_id
        session = carta_server.manager.sessions[session_id]
        await open_file(first, "big.fits")
        await first.send(moment_request([4, 5, 8], z=(0, 95), mask=2, pixels=(-0.1, 0.1)))
        await first.expect(pb.MomentProgress, timeout=60)
        await first.drop()
        await wait_for(lambda: session in carta_server.manager.kept)
    assert session.frames == {} and sorted(session.state.kept_images) == [0]
    await wait_for(lambda: not workers.cpu_limiter().borrowed_tokens)  # the cancelled chunk's thread
    async with open_client(url) as second:
        await second.register(session_id)
        assert (await second.request(pb.ResumeSession(images=[image("big.fits", 0)]))).success
        await trio.sleep(0.5)
        assert await second.ping() == "PONG"
        kinds = {type(e.message) for e in second.buffered}
        assert not kinds & {pb.MomentProgress, pb.MomentResponse}, kinds
        assert not session.frames[0].jobs.running()


async def test_a_pv_image_comes_back(carta_server: ServerHandle, cube: np.ndarray) -> None:
    url = server_url(carta_server)
    async with open_client(url) as first:
        session_id = (await first.register()).session_id
        await open_file(first, "cube.fits")
        cut = await first.request(pb.SetRegion(file_id=0, region_id=-1, region_info=line([(20, 10), (5, 10)])))
        await first.send(pb.PvRequest(file_id=0, region_id=cut.region_id, width=1))
        ack = (await until(first, pb.PvResponse))[-1].message.open_file_ack
        assert ack.success and ack.file_id == -1000
        pv = await tile_of(first, -1000)
        session = carta_server.manager.sessions[session_id]
        await first.drop()
        await wait_for(lambda: session in carta_server.manager.kept)
    async with open_client(url) as second:
        await second.register(session_id)
        resumed = await second.request(pb.ResumeSession(images=[image("cube.fits", 0), image(ack.file_info.name, -1000)]))
        assert resumed.success, resumed.message
        np.testing.assert_array_equal(await tile_of(second, -1000), pv)


async def test_the_frontend_closing_its_moment_image_lets_it_go(carta_server: ServerHandle, cube: np.ndarray) -> None:
    """The 4.1.0 frontend closes its in-memory images, then resumes the rest."""
    url = server_url(carta_server)
    async with open_client(url) as first:
        session_id, _ = await session_with_moment(first)
        session = carta_server.manager.sessions[session_id]
        await first.drop()
        await wait_for(lambda: session in carta_server.manager.kept)
    moment = session.state.kept_images[MOMENT_ID]
    async with open_client(url) as second:
        assert (await second.register(session_id)).session_type == pb.SessionType.RESUMED
        await second.send(pb.CloseFile(file_id=MOMENT_ID))
        assert (await second.request(pb.ResumeSession(images=[image("cube.fits", 0)]))).success
        assert sorted(session.frames) == [0] and session.state.kept_images == {}
        assert moment.handle.closed
        np.testing.assert_array_equal(await tile_of(second, 0), cube[0])


async def test_after_the_grace_period_a_new_session_starts(start_server, cube: np.ndarray) -> None:
    handle = await start_server(reconnect_grace=1.0)
    url = server_url(handle)
    async with open_client(url) as first:
        session_id, moment_name = await session_with_moment(first)
        session = handle.manager.sessions[session_id]
        kept = session.state.kept_images
        await first.drop()
        await wait_for(lambda: session in handle.manager.kept)
        await wait_for(lambda: not handle.manager.sessions)
    assert session.nursery is None and kept == {}
    async with open_client(url) as second:
        ack = await second.register(session_id)
        # the reference's answer for an id it does not know
        assert (ack.session_type, ack.session_id) == (pb.SessionType.RESUMED, session_id)
        assert ack.message == f"Start a new backend and assign it with session id {session_id}"
        assert handle.manager.sessions[session_id] is not session
        resumed = await second.request(pb.ResumeSession(images=[image("cube.fits", 0), image(moment_name, MOMENT_ID)]))
        assert (resumed.success, resumed.message) == (False, f"Problem loading files: {MOMENT_ID} ")


@pytest.mark.parametrize("how", ["zero grace", "clean close"])
async def test_a_session_ends_at_once_without_grace_or_on_a_clean_close(start_server, cube: np.ndarray,
                                                                        how: str) -> None:
    handle = await start_server(**({"reconnect_grace": 0} if how == "zero grace" else {}))
    async with open_client(server_url(handle)) as client:
        await client.register()
        await open_file(client, "cube.fits")
        if how == "zero grace":
            await client.drop()
    await wait_for(lambda: not handle.manager.sessions, timeout=5)
    assert handle.manager.kept == []


async def test_two_connections_never_share_a_session(carta_server: ServerHandle, cube: np.ndarray) -> None:
    url = server_url(carta_server)
    manager = carta_server.manager
    async with open_client(url) as first:
        session_id = (await first.register()).session_id
        await open_file(first, "cube.fits")
        session = manager.sessions[session_id]
        # the same client again while the server still serves its old connection: it takes over
        async with open_client(url) as second:
            ack = await second.register(session_id)
            assert (ack.session_id, ack.message) == (session_id, f"Network reconnected with session id {session_id}")
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await first.receive(timeout=5)
            assert closed.value.reason.code == 4000
            assert manager.sessions == {session_id: session}
            # another address may not take the session: it gets a session of its own
            other = [(b"x-forwarded-for", b"10.1.2.3")]
            async with open_client(url, extra_headers=other) as third:
                ack = await third.register(session_id)
                assert ack.success and ack.session_type == pb.SessionType.RESUMED
                assert ack.session_id not in (0, session_id)
                assert ack.message == f"Start a new backend and assign it with session id {ack.session_id}"
                assert manager.sessions[session_id] is session and len(manager.sessions) == 2
                assert (await third.request(pb.ResumeSession(images=[image("cube.fits", 0)]))).success
            assert (await second.request(pb.ResumeSession(images=[image("cube.fits", 0)]))).success
            assert sorted(session.frames) == [0]


async def test_kept_sessions_are_bounded(start_server, cube: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_KEPT_SESSIONS", 1)
    handle = await start_server()
    sessions = []
    for _ in range(2):
        async with open_client(server_url(handle)) as client:
            sessions.append(handle.manager.sessions[(await client.register()).session_id])
            await open_file(client, "cube.fits")
            await client.drop()
            await wait_for(lambda: sessions[-1] in handle.manager.kept)
    await wait_for(lambda: sessions[0].nursery is None)
    assert handle.manager.kept == [sessions[1]] and list(handle.manager.sessions.values()) == [sessions[1]]


async def test_shutdown_ends_a_kept_session(data_dir: Path, tmp_path: Path, cube: np.ndarray) -> None:
    settings = make_settings(data_dir, tmp_path / "home" / ".carta")
    async with trio.open_nursery() as nursery:
        handle: ServerHandle = await nursery.start(functools.partial(serve, settings))
        async with open_client(server_url(handle)) as client:
            session_id, _ = await session_with_moment(client)
            session = handle.manager.sessions[session_id]
            await client.drop()
            await wait_for(lambda: session in handle.manager.kept)
        kept = list(session.state.kept_images.values())
        assert len(kept) == 2 and not any(image.handle.closed for image in kept)
        handle.shutdown.set()
    # serve has returned: the kept session ended as a disconnect ends one
    assert session.nursery is None and session.state.kept_images == {}
    assert all(image.handle.closed for image in kept)


async def test_a_session_that_cannot_park_ends_alone(carta_server: ServerHandle, cube: np.ndarray,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(session: Session) -> None:
        raise RuntimeError("cannot park")

    monkeypatch.setattr(session_keep, "park", broken)
    url = server_url(carta_server)
    async with open_client(url) as first:
        await first.register()
        await open_file(first, "cube.fits")
        await first.drop()
    await wait_for(lambda: not carta_server.manager.sessions)
    async with open_client(url) as second:  # the server serves on
        assert (await second.register()).success
        await open_file(second, "cube.fits")


async def test_a_kept_session_holds_off_the_exit_timeout(start_server) -> None:  # type: ignore[no-untyped-def]
    handle = await start_server(exit_timeout=0.1, reconnect_grace=2.0)
    async with open_client(server_url(handle)) as client:
        session = handle.manager.sessions[(await client.register()).session_id]
        await client.drop()
        await wait_for(lambda: session in handle.manager.kept)
    await trio.sleep(0.5)
    assert not handle.shutdown.is_set()  # its viewer may still come back
    await wait_for(handle.shutdown.is_set, timeout=5)
