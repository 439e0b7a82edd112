"""Shared helpers for benchmarks that go through a real server socket."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import trio

from carta_trio.actors.server import ServerHandle, serve
from carta_trio.settings import Settings

TOKEN = "bench-token"


@contextlib.asynccontextmanager
async def running_server(top: Path, **overrides: object) -> AsyncIterator[str]:
    """Start a real server on a loopback ephemeral port browsing ``top``; yield its URL."""
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(
            top_level_folder=top.resolve(), starting_folder=top.resolve(), host="127.0.0.1", ports=(0,),
            port_fixed=True, no_browser=True, auth_token=TOKEN, user_folder=Path(home) / ".carta",
        )
        settings = dataclasses.replace(settings, **overrides)
        async with trio.open_nursery() as nursery:
            handle: ServerHandle = await nursery.start(functools.partial(serve, settings))
            try:
                yield f"ws://127.0.0.1:{handle.port}/?token={TOKEN}"
            finally:
                handle.shutdown.set()
