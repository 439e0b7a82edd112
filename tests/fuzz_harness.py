"""A real carta-trio server plus one client, driven from a plain thread (for hypothesis).

The server and the client live in their own ``trio.run`` on a background thread;
:meth:`FuzzTarget.send` hands one message over, then sends REGISTER_VIEWER as an
ordering barrier (inline handlers run in arrival order, so its ack means the message
was handled) and returns what came back in between plus the log records it caused.
A lost connection is counted and a fresh session (with the test image open) replaces
it. Used by ``tests/test_fuzz_messages.py`` and ``bench/bench_fuzz.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import threading
from pathlib import Path
from typing import Any

import trio
import trio_websocket
from google.protobuf.message import Message

from carta_trio.actors.server import serve
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient, open_client
from tests.conftest import make_settings, server_url
from tests.image_factory import make_cube, wcs_header, write_fits

E = pb.EventType


@dataclasses.dataclass
class Outcome:
    """What one fuzzed message caused."""

    errors: int = 0
    tracebacks: list[str] = dataclasses.field(default_factory=list)
    error_logs: int = 0
    session_lost: bool = False
    stalled: bool = False


class _Records(logging.Handler):
    """Log records at WARNING and above, and every record carrying a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)


def write_fuzz_data(folder: Path) -> None:
    """The files the fuzzer names: a small cube (and nothing else worth opening)."""
    write_fits(folder / "cube.fits", make_cube((4, 24, 20), seed=9), wcs_header(("RA---SIN", "DEC--SIN", "FREQ")))


class FuzzTarget:
    """Server + client on a background thread; :meth:`send` from the calling thread."""

    def __init__(self, data_dir: Path, user_folder: Path, barrier_timeout: float = 30.0) -> None:
        self.settings = make_settings(data_dir, user_folder)
        self.barrier_timeout = barrier_timeout
        self.sessions_lost = 0
        self.messages_sent = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fuzz-server", daemon=True)
        self._records = _Records()
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._client: CartaClient | None = None
        self._client_stack: contextlib.AsyncExitStack | None = None
        self._session_id = 0
        self._failure: BaseException | None = None

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> FuzzTarget:
        logging.getLogger().addHandler(self._records)
        self._thread.start()
        self._ready.wait(60)
        if self._failure is not None:
            raise RuntimeError("fuzz server did not start") from self._failure
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None and self._stop is not None:
            with contextlib.suppress(trio.RunFinishedError):
                trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
        self._thread.join(30)
        logging.getLogger().removeHandler(self._records)

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        self._stop = trio.Event()
        self._token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            handle = await nursery.start(functools.partial(serve, self.settings))
            self.url = server_url(handle)
            await self._connect()
            self._ready.set()
            await self._stop.wait()
            if self._client_stack is not None:
                with contextlib.suppress(Exception):
                    await self._client_stack.aclose()
            handle.shutdown.set()
            nursery.cancel_scope.cancel()

    async def _connect(self) -> None:
        if self._client_stack is not None:
            with contextlib.suppress(Exception):
                await self._client_stack.aclose()
        self._client_stack = contextlib.AsyncExitStack()
        self._client = await self._client_stack.enter_async_context(open_client(self.url))
        ack = await self._client.register()
        self._session_id = ack.session_id
        await self._reopen()

    async def _reopen(self) -> None:
        assert self._client is not None
        ack = await self._client.request(pb.OpenFile(directory="", file="cube.fits", file_id=0), timeout=30)
        assert ack.success, ack.message
        self._client._buffer.clear()

    # ------------------------------------------------------------------- sending

    def send(self, message: Message, reopen: bool = False) -> Outcome:
        """Send one message and wait for the barrier; what it caused."""
        assert self._token is not None
        return trio.from_thread.run(self._send, message, reopen, trio_token=self._token)

    async def _send(self, message: Message, reopen: bool) -> Outcome:
        outcome = Outcome()
        first_record = len(self._records.records)
        client = self._client
        assert client is not None
        try:
            if reopen:
                await self._reopen()
            await client.send(message)
            self.messages_sent += 1
            barrier = await client.send(pb.RegisterViewer(session_id=self._session_id))
            taken = await client.collect_until(
                lambda e: e.event_type == E.REGISTER_VIEWER_ACK and e.request_id == barrier,
                timeout=self.barrier_timeout,
            )
            outcome.errors = sum(1 for e in taken if e.event_type == E.ERROR_DATA)
        except trio.TooSlowError:
            outcome.stalled = True
            client._buffer.clear()
        except (trio_websocket.ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError):
            outcome.session_lost = True
            self.sessions_lost += 1
            await self._connect()
        records = self._records.records[first_record:]
        outcome.error_logs = len(records)
        outcome.tracebacks = [_describe(r) for r in records if r.exc_info]
        return outcome


def _describe(record: logging.LogRecord) -> str:
    exc = record.exc_info[1] if record.exc_info else None
    return f"{record.name}: {record.getMessage()} [{type(exc).__name__}: {exc}]"


def short(message: Any) -> str:
    """One line naming a message and its fields (for failure reports)."""
    text = f"{type(message).__name__}({message})".replace("\n", " ")
    return text if len(text) < 300 else text[:297] + "..."
