"""Shared fixtures: a real server on an ephemeral loopback port, and its data folder."""

from __future__ import annotations

import os

# As the CLI does: one BLAS thread per call (set before numpy is imported).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import dataclasses  # noqa: E402
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest
import trio

from carta_trio.actors.server import ServerHandle, serve
from carta_trio.messages import schema as pb
from carta_trio.messages.client import CartaClient
from carta_trio.settings import Settings
from tests.image_factory import wcs_header, write_fits

TEST_TOKEN = "test-token-0123456789"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The top-level folder the test server browses (tests write files into it)."""
    folder = tmp_path / "data"
    folder.mkdir()
    return folder.resolve()


@pytest.fixture
def qa(data_dir: Path) -> Path:
    """The folder ``set_QA`` under the top folder, where CARTA's protocol tests (ICD-RxJS)
    find their images; the replays write synthetic ones there."""
    folder = data_dir / "set_QA"
    folder.mkdir()
    return folder


async def qa_path(client: CartaClient) -> str:
    """The protocol suite's first step: ``$BASE`` listed, ``set_QA`` appended to its directory."""
    listing = await client.request(pb.FileListRequest(directory="$BASE"))
    assert listing.success
    return listing.directory + "/set_QA"


@pytest.fixture
def quad(data_dir: Path) -> np.ndarray:
    """v = (x² + 100·y²)·(c + 1), 1″ pixels: the reference's PV experiment (§7.2)."""
    yy, xx = np.mgrid[0:64, 0:64]
    data = np.stack([(xx**2 + 100.0 * yy**2) * (c + 1) for c in range(3)]).astype(np.float32)
    cards = [c for c in wcs_header(("RA---SIN", "DEC--SIN", "FREQ")) if c[0] not in ("CDELT1", "CDELT2")]
    write_fits(data_dir / "quad.fits", data, cards + [("CDELT1", -1 / 3600, ""), ("CDELT2", 1 / 3600, "")])
    return data


def make_settings(data_dir: Path, user_folder: Path, **overrides: object) -> Settings:
    base = Settings(
        top_level_folder=data_dir,
        starting_folder=data_dir,
        host="127.0.0.1",
        ports=(0,),
        port_fixed=True,
        no_browser=True,
        auth_token=TEST_TOKEN,
        user_folder=user_folder,
    )
    return dataclasses.replace(base, **overrides)


def server_url(handle: ServerHandle, token: str = TEST_TOKEN) -> str:
    """WebSocket URL of a test server, with the token query the frontend adds."""
    return f"ws://127.0.0.1:{handle.port}/?token={token}"


@pytest.fixture
async def start_server(
    data_dir: Path, tmp_path: Path, nursery: trio.Nursery
) -> AsyncIterator[Callable[..., Awaitable[ServerHandle]]]:
    """Factory: start a real server with settings overrides; all stop at teardown."""
    handles: list[ServerHandle] = []

    async def start(**overrides: object) -> ServerHandle:
        settings = make_settings(data_dir, tmp_path / "home" / ".carta", **overrides)
        handle: ServerHandle = await nursery.start(functools.partial(serve, settings))
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.shutdown.set()


@pytest.fixture
async def carta_server(start_server: Callable[..., Awaitable[ServerHandle]]) -> ServerHandle:
    """A real server with default test settings."""
    return await start_server()


@pytest.fixture
def carta_url(carta_server: ServerHandle) -> str:
    return server_url(carta_server)
