"""Long fuzz run before a release: many seeded bad messages from several sessions at once.

Run: ``python3 -m bench.bench_fuzz [--messages 20000] [--sessions 4] [--seed 0]
[--server-memory-limit MB] [--server-log FILE]`` (needs the ``test`` extra: hypothesis).
Default size: about a minute. The server's address space is capped (default 6000 MB,
``RLIMIT_AS``): an unbounded allocation then shows up as a MemoryError traceback in the
server's output (``--server-log``) instead of an OOM kill of a shared machine.

The server runs as its own process (bench/serving.py). Messages of every client type
are drawn by hypothesis from the protocol descriptors (tests/message_strategies.py),
split over SESSIONS concurrent sessions, each of which sends one message and then a
REGISTER_VIEWER barrier and waits for its ack (30 s at most). Meanwhile one light
session measures its cursor latency (SET_CURSOR until SPATIAL_PROFILE_DATA, 20 per
second), and the server's RSS is sampled from /proc every 0.1 s.

Prints: messages sent, sessions lost (connection closed by the server; a fresh one
replaces it), barriers not answered in time, ERROR_DATA received per message, whether
the server process survived, the light cursor's p50/p99, and the RSS before, peak
and 5 s after every fuzzing session has closed, the messages after which the RSS grew
most (with 4 sessions at once, a neighbour's message may be the culprit) and the count
of MemoryError lines in the server's output. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
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


def cached_messages(count: int, seed: int, cache: Path | None) -> list:
    """:func:`draw_messages`, kept in ``cache`` (one file per count and seed: drawing 20,000
    takes minutes) so that a run can be repeated, or a slice replayed, at once."""
    from carta_trio.messages import registry

    if cache is None:
        return draw_messages(count, seed)
    path = cache / f"fuzz-{count}-{seed}.frames"
    if path.exists():
        data, messages, at = path.read_bytes(), [], 0
        while at < len(data):
            size = int.from_bytes(data[at : at + 4], "little")
            messages.append(registry.decode_frame(data[at + 4 : at + 4 + size]).message)
            at += 4 + size
        return messages
    messages = draw_messages(count, seed)
    cache.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".tmp"), "wb") as out:
        for message in messages:
            frame = registry.encode_frame(message)
            out.write(len(frame).to_bytes(4, "little") + frame)
    path.with_suffix(".tmp").rename(path)
    return messages


def rss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
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
        #: (RSS growth in KiB across one message, the message's description)
        self.growth: list[tuple[int, str]] = []
        self.pid = 0


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


async def fuzz_session(url: str, messages: list[tuple[int, object]], tally: Tally) -> None:
    """Send ``(index, message)`` pairs (the index in the drawn list, for the report)."""
    import contextlib

    stack = contextlib.AsyncExitStack()
    client, session_id = await _open_session(url, stack)
    try:
        for index, (drawn, message) in enumerate(messages):
            try:
                if index and index % 50 == 0:
                    await client.request(pb.OpenFile(directory="", file="cube.fits", file_id=0), timeout=60)
                rss_before = rss_kib(tally.pid) if tally.pid else 0
                await client.send(message)
                tally.sent += 1
                barrier = await client.send(pb.RegisterViewer(session_id=session_id))
                taken = await client.collect_until(
                    lambda e: e.event_type == E.REGISTER_VIEWER_ACK and e.request_id == barrier, timeout=30)
                errors = sum(1 for e in taken if e.event_type == E.ERROR_DATA)
                tally.errors += errors
                tally.max_errors = max(tally.max_errors, errors)
                if tally.pid:
                    grown = rss_kib(tally.pid) - rss_before
                    if grown > 20 * 1024:
                        tally.growth.append((grown, f"message {drawn} {type(message).__name__}({message})"
                                             .replace("\n", " ")[:400]))
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
                    for grown, text in sorted(tally.growth, reverse=True)[:5]:
                        print(f"RSS +{grown / 1024:.0f} MiB across {text}", flush=True)
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


async def run(count: int, sessions: int, seed: int, memory_limit_mb: int, server_log: Path | None,
              cache: Path | None = None, first: int = 0, last: int | None = None) -> None:
    from tests.fuzz_harness import write_fuzz_data

    began = time.perf_counter()
    messages = cached_messages(count, seed, cache)[first:last]
    print(f"drew {len(messages)} messages (seed {seed}) in {time.perf_counter() - began:.1f} s", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        top = Path(folder)
        write_fuzz_data(top)
        pids: list[int] = []
        tally, light = Tally(), Tally()
        samples: list[int] = []
        limit = memory_limit_mb * 1_000_000 if memory_limit_mb > 0 else None
        async with server_process(top, pids=pids, memory_limit=limit, output=server_log) as url:
            pid = pids[0]
            tally.pid = pid
            load_before = os.getloadavg()
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
                        numbered = list(enumerate(messages, start=first))
                        fuzzers.start_soon(fuzz_session, url, numbered[k::sessions], tally)
                stop.set()
            elapsed = time.perf_counter() - began
            await trio.sleep(5)
            idle = rss_kib(pid)
            alive = Path(f"/proc/{pid}").exists()
            load_after = os.getloadavg()
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
          f"idle after {idle / 1024:.0f} MiB (address space capped at "
          f"{f'{memory_limit_mb} MB' if memory_limit_mb > 0 else 'nothing'})")
    from bench.serving import LAST_OUTPUT

    memory_errors = sum(1 for line in LAST_OUTPUT if "MemoryError" in line)
    print(f"MemoryError lines in the server's last {len(LAST_OUTPUT)} output lines: {memory_errors}"
          + (f" (all output in {server_log})" if server_log else ""))
    print(f"load average: {load_before[0]:.1f} {load_before[1]:.1f} at the start, "
          f"{load_after[0]:.1f} {load_after[1]:.1f} at the end ({os.cpu_count()} cores)")
    for grown, text in sorted(tally.growth, reverse=True)[:5]:
        print(f"RSS +{grown / 1024:.0f} MiB across {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--server-memory-limit", type=int, default=6000, metavar="MB",
                        help="cap of the server's address space in MB (0: none; never on a shared machine)")
    parser.add_argument("--server-log", type=Path, default=None, metavar="FILE",
                        help="append every line the server prints to FILE")
    parser.add_argument("--cache", type=Path, default=None, metavar="FOLDER",
                        help="keep the drawn messages in FOLDER and reuse them (drawing 20,000 takes minutes)")
    parser.add_argument("--slice", type=int, nargs=2, default=(0, None), metavar=("FIRST", "STOP"),
                        help="send only messages FIRST..STOP-1 of the drawn ones (to narrow a finding down)")
    args = parser.parse_args()
    trio.run(run, args.messages, args.sessions, args.seed, args.server_memory_limit, args.server_log,
             args.cache, *args.slice)


if __name__ == "__main__":
    main()
