"""Long fuzz run before a release: many seeded bad messages from several sessions at once.

Run: ``python3 -m bench.bench_fuzz [--messages 20000] [--sessions 4] [--seed 0]``
(needs the ``test`` extra: hypothesis). Default size: about a minute.

The server runs as its own process (bench/serving.py). Messages of every client type
are drawn by hypothesis from the protocol descriptors (tests/message_strategies.py),
split over SESSIONS concurrent sessions, each of which sends one message and then a
REGISTER_VIEWER barrier and waits for its ack (30 s at most). Meanwhile one light
session measures its cursor latency (SET_CURSOR until SPATIAL_PROFILE_DATA, 20 per
second), and the server's RSS is sampled from /proc every 0.1 s.

Prints: messages sent, sessions lost (connection closed by the server; a fresh one
replaces it), barriers not answered in time, ERROR_DATA received per message, whether
the server process survived, the light cursor's p50/p99, and the RSS before, peak
and 5 s after every fuzzing session has closed. Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import trio
import trio_websocket

from bench.serving import server_process
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client

E = pb.EventType


def draw_messages(count: int, seed: int) -> list:
    """``count`` messages from the descriptor strategies, reproducibly for ``seed``."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    from tests.message_strategies import any_message

    drawn: list = []

    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.generate])
    @given(message=any_message())
    def collect(message) -> None:  # type: ignore[no-untyped-def]
        drawn.append(message)

    collect()
    return drawn


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Tally:
    def __init__(self) -> None:
        self.sent = 0
        self.lost = 0
        self.stalled = 0
        self.errors = 0
        self.max_errors = 0
        self.latencies: list[float] = []


async def _open_session(url: str, stack):  # type: ignore[no-untyped-def]
    client = await stack.enter_async_context(open_client(url))
    ack = await client.register()
    reply = await client.request(pb.OpenFile(directory="", file="cube.fits", file_id=0), timeout=60)
    assert reply.success, reply.message
    return client, ack.session_id


def _server_gone(url: str) -> bool:
    """True once nothing listens on the server's port any more."""
    import socket

    port = int(url.split(":")[2].split("/")[0])
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


async def fuzz_session(url: str, messages: list, tally: Tally) -> None:
    import contextlib

    stack = contextlib.AsyncExitStack()
    client, session_id = await _open_session(url, stack)
    try:
        for index, message in enumerate(messages):
            try:
                if index and index % 50 == 0:
                    await client.request(pb.OpenFile(directory="", file="cube.fits", file_id=0), timeout=60)
                await client.send(message)
                tally.sent += 1
                barrier = await client.send(pb.RegisterViewer(session_id=session_id))
                taken = await client.collect_until(
                    lambda e: e.event_type == E.REGISTER_VIEWER_ACK and e.request_id == barrier, timeout=30)
                errors = sum(1 for e in taken if e.event_type == E.ERROR_DATA)
                tally.errors += errors
                tally.max_errors = max(tally.max_errors, errors)
            except trio.TooSlowError:
                tally.stalled += 1
                if tally.stalled <= 5:
                    print(f"no answer within 30 s after: {type(message).__name__}({message})".replace("\n", " ")[:600],
                          flush=True)
            except (trio_websocket.ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError):
                tally.lost += 1
                await stack.aclose()
                stack = contextlib.AsyncExitStack()
                if _server_gone(url):
                    from bench.serving import LAST_OUTPUT

                    print(f"SERVER PROCESS DIED after {tally.sent} messages; last sent here: "
                          f"{type(message).__name__}({message})".replace("\n", " ")[:800], flush=True)
                    print("server's last output:\n  " + "\n  ".join(list(LAST_OUTPUT)[-40:]), flush=True)
                    raise SystemExit(1)
                client, session_id = await _open_session(url, stack)
    finally:
        await stack.aclose()


async def light_cursor(url: str, tally: Tally, stop: trio.Event) -> None:
    """The light session; a lost connection is counted and a new one opened."""
    while not stop.is_set():
        try:
            await _light_cursor(url, tally, stop)
        except (trio_websocket.ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError, OSError,
                trio_websocket.HandshakeError) as exc:
            tally.lost += 1
            print(f"light session lost: {exc!r}", flush=True)
            await trio.sleep(1)


async def _light_cursor(url: str, tally: Tally, stop: trio.Event) -> None:
    async with open_client(url) as client:
        await client.register()
        await client.request(pb.OpenFile(directory="", file="cube.fits", file_id=0), timeout=60)
        x = 0
        while not stop.is_set():
            x = (x + 1) % 20
            began = time.perf_counter()
            await client.send(pb.SetCursor(file_id=0, point=pb.Point(x=x, y=5)))
            try:
                await client.expect(pb.SpatialProfileData, timeout=30)
            except trio.TooSlowError:
                tally.stalled += 1  # counted, and the next position is tried
                print(f"light cursor unanswered for 30 s at {time.perf_counter():.0f}", flush=True)
                continue
            tally.latencies.append(time.perf_counter() - began)
            await trio.sleep(0.05)


async def run(count: int, sessions: int, seed: int) -> None:
    from tests.fuzz_harness import write_fuzz_data

    began = time.perf_counter()
    messages = draw_messages(count, seed)
    print(f"drew {len(messages)} messages (seed {seed}) in {time.perf_counter() - began:.1f} s", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        top = Path(folder)
        write_fuzz_data(top)
        pids: list[int] = []
        tally, light = Tally(), Tally()
        samples: list[int] = []
        async with server_process(top, pids=pids) as url:
            pid = pids[0]
            before = rss_kib(pid)
            stop = trio.Event()

            async def sample() -> None:
                while not stop.is_set():
                    samples.append(rss_kib(pid))
                    await trio.sleep(0.1)

            began = time.perf_counter()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(sample)
                nursery.start_soon(light_cursor, url, light, stop)
                async with trio.open_nursery() as fuzzers:
                    for k in range(sessions):
                        fuzzers.start_soon(fuzz_session, url, messages[k::sessions], tally)
                stop.set()
            elapsed = time.perf_counter() - began
            await trio.sleep(5)
            idle = rss_kib(pid)
            alive = Path(f"/proc/{pid}").exists()
    lat = sorted(light.latencies) or [float("nan")]
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    print(f"messages sent: {tally.sent} over {sessions} sessions in {elapsed:.1f} s "
          f"({tally.sent / elapsed:.0f}/s)")
    print(f"sessions lost: {tally.lost}; barriers unanswered within 30 s: {tally.stalled}")
    print(f"ERROR_DATA: {tally.errors} in all ({tally.errors / max(tally.sent, 1):.2f} per message, "
          f"at most {tally.max_errors} for one message)")
    print(f"server process alive at the end: {alive}; light sessions lost: {light.lost}")
    print(f"light cursor latency: p50 {statistics.median(lat) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"max {lat[-1] * 1000:.0f} ms ({len(light.latencies)} samples, {light.stalled} unanswered in 30 s)")
    print(f"server RSS: before {before / 1024:.0f} MiB, peak {max(samples, default=0) / 1024:.0f} MiB, "
          f"idle after {idle / 1024:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    trio.run(run, args.messages, args.sessions, args.seed)


if __name__ == "__main__":
    main()
