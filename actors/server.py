"""The Server actor: root of the process.

It binds the port (falling back to the next free one like the reference), serves
one ASGI app through hypercorn's trio worker (static frontend, runtime config,
REST routes and the WebSocket endpoint on the same port), owns the nursery the
sessions live in, and shuts down cleanly on SIGINT/SIGTERM or the reference's
initial/exit timeouts.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import logging
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from carta_trio.actors.connection import serve_connection
from carta_trio.actors.connection_gate import ConnectionGate, connection_cap, quiet_accept_errors, raise_file_limit
from carta_trio.actors.http_app import build_asgi_app
from carta_trio.actors.listen_socket import PortUnavailable, bind_listening_socket
from carta_trio.actors.scripting import scripting_handler
from carta_trio.actors import memory, workers
from carta_trio.actors.session_manager import SessionManager
from carta_trio.actors.ws_close import report_clean_closes
from carta_trio.io import reader_pool
from carta_trio.settings import Settings

# Handler modules register themselves with the dispatcher on import.
from carta_trio.actors import (  # noqa: F401  isort: skip
    animation, catalogs, contours, cursor, file_handlers, fitting, frame_handlers, image_combination, moments, pv,
    region_import_export, region_streams, regions, resume, save_file, session_handlers, vector_overlay,
)

log = logging.getLogger(__name__)


@dataclasses.dataclass
class ServerHandle:
    """What :func:`serve` reports once it is listening."""

    port: int
    manager: SessionManager
    shutdown: trio.Event

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"


def hypercorn_config(settings: Settings, sock: socket.socket) -> Config:
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]
    config.websocket_max_message_size = settings.max_message_size
    config.accesslog = None
    # hypercorn's own stderr handler would repeat what our root logger prints.
    config.errorlog = None
    config.graceful_timeout = 1.0
    config.keep_alive_timeout = 75
    return config


def _disable_permessage_deflate() -> None:
    """Offer no permessage-deflate: tiles are already compressed (WIRE.md §1.5).

    hypercorn always negotiates the extension when the browser offers it; clearing
    the parsed offer before the handshake answer turns it off.
    """
    from hypercorn.protocol import ws_stream

    original = ws_stream.Handshake.accept
    if getattr(original, "carta_no_deflate", False):
        return

    @functools.wraps(original)
    def accept(self: ws_stream.Handshake, *args: Any, **kwargs: Any) -> Any:
        self.extensions = None
        return original(self, *args, **kwargs)

    setattr(accept, "carta_no_deflate", True)  # a marker on our wrapper, read back above
    ws_stream.Handshake.accept = accept  # type: ignore[method-assign]  # patching hypercorn on purpose


_frozen = False


def _freeze_start_up_objects() -> None:
    """Everything allocated before the first server listens (modules, classes, the app)
    lives as long as the process: moved out of the collector's reach, a full collection
    (the automatic ones, and memory.release_memory's after each session) no longer walks
    it while holding the GIL (~40 ms for the 115,000 objects, which stalled the event
    loop and the tile encoders mid-stream). Once per process: a process that serves
    again (tests) must not freeze the garbage of the runs before."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


async def serve(
    settings: Settings,
    *,
    sock: socket.socket | None = None,
    on_listening: Callable[[int], None] | None = None,
    task_status: trio.TaskStatus[ServerHandle] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until shutdown is requested; reports a :class:`ServerHandle` when listening.

    ``sock`` is an already bound and listening socket (the CLI binds it before the
    heavy imports so it can print the URL at once); without it the first free port of
    the settings is bound here. Cancelled by its caller's scope; on the way out every
    session is cancelled.
    """
    _disable_permessage_deflate()
    report_clean_closes()
    reader_pool.configure(settings.cache_size << 20)
    if sock is None:
        sock = bind_listening_socket(settings)
    port = sock.getsockname()[1]
    config = hypercorn_config(settings, sock)
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        manager = SessionManager(settings, nursery, shutdown)
        app = build_asgi_app(
            settings,
            functools.partial(serve_connection, manager=manager),
            scripting_handler(manager) if settings.enable_scripting else None,
        )
        quiet_accept_errors()
        gate = ConnectionGate(app, connection_cap(raise_file_limit()))
        await nursery.start(functools.partial(hypercorn_serve, gate, config, shutdown_trigger=trio.sleep_forever))
        if on_listening is not None:
            on_listening(port)
        handle = ServerHandle(port, manager, shutdown)
        _freeze_start_up_objects()
        task_status.started(handle)
        nursery.start_soon(manager.watch_initial_timeout)
        await shutdown.wait()
        nursery.cancel_scope.cancel()


async def _main(
    settings: Settings,
    sock: socket.socket | None,
    on_listening: Callable[[int], None] | None,
    stop_requested: threading.Event | None,
) -> int:
    async with trio.open_nursery() as nursery:
        handle: ServerHandle = await nursery.start(
            functools.partial(serve, settings, sock=sock, on_listening=on_listening)
        )
        token = trio.lowlevel.current_trio_token()

        def request_shutdown() -> None:
            if not handle.shutdown.is_set():
                log.info("Exiting backend.")
                handle.shutdown.set()

        def on_signal(signum: int, frame: object) -> None:
            # Plain handlers, not trio's signal receiver: nothing is re-delivered when the
            # run ends, so a clean shutdown never turns into death by signal.
            token.run_sync_soon(request_shutdown)

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        if stop_requested is not None and stop_requested.is_set():
            request_shutdown()  # a signal arrived while the process was still starting
        try:
            await handle.shutdown.wait()
        finally:
            # The run is ending: later signals have nothing left to stop.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        nursery.cancel_scope.cancel()
    return 0


def run(
    settings: Settings,
    on_listening: Callable[[int], None] | None = None,
    *,
    sock: socket.socket | None = None,
    stop_requested: threading.Event | None = None,
) -> int:
    """Run the server in this process until SIGINT/SIGTERM; returns the exit code.

    ``on_listening(port)`` is called once the port is served (not when ``sock`` is
    given: its owner has announced it already). ``stop_requested`` carries a signal
    that arrived before the server could handle signals itself.
    """
    workers.configure_gil()
    memory.limit_malloc_arenas()
    try:
        return trio.run(_main, settings, sock, on_listening, stop_requested)
    except PortUnavailable as exc:
        log.error("%s", exc.strerror)
        return 1
