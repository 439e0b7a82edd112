"""Program settings: what the command line and config files decide, in one value.

Every layer reads settings from this one frozen dataclass; the CLI builds it
(``carta_trio.cli``) from the reference backend's option spellings, its JSON config
files (``/etc/carta/backend.json``, ``~/.carta/backend.json``) and our own aliases.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from carta_trio import limits


def default_user_folder() -> Path:
    """``~/.carta``: where the reference keeps logs, preferences, layouts, snippets."""
    return Path(os.path.expanduser("~")) / ".carta"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Resolved settings of one server process.

    Folders are absolute and symlink-resolved. ``starting_folder`` lies inside
    ``top_level_folder``; every path a client names is confined to the latter.
    """

    top_level_folder: Path
    starting_folder: Path
    host: str = "0.0.0.0"
    #: Ports to try in order; the first free one is used.
    ports: tuple[int, ...] = tuple(range(3002, 3103))
    #: True when the user named exactly one port (no fallback, as the reference).
    port_fixed: bool = False
    frontend_folder: Path | None = None
    no_frontend: bool = False
    no_database: bool = False
    no_runtime_config: bool = False
    no_browser: bool = False
    browser: str | None = None
    read_only: bool = False
    enable_scripting: bool = False
    #: Seconds; None means disabled.
    idle_timeout: float | None = None
    initial_timeout: float | None = None
    exit_timeout: float | None = None
    #: Empty string means no authentication (``--debug_no_auth``).
    auth_token: str = ""
    controller_deployment: bool = False
    log_level: str = "INFO"
    no_log: bool = False
    log_protocol_messages: bool = False
    #: ``--omp_threads``: worker threads for parallel numpy work; <= 0 means one per core.
    omp_threads: int = -1
    #: Paths relative to the top-level folder, opened by the frontend via the start URL.
    files: tuple[str, ...] = ()
    user_folder: Path = dataclasses.field(default_factory=default_user_folder)
    #: Largest WebSocket message accepted (the reference's limit is 256 MiB; ours is
    #: limits.MAX_WEBSOCKET_MESSAGE_BYTES).
    max_message_size: int = limits.MAX_WEBSOCKET_MESSAGE_BYTES
    #: Largest HTTP request body accepted (limits.MAX_HTTP_BODY_BYTES).
    max_http_body_size: int = limits.MAX_HTTP_BODY_BYTES
    #: Outbound frames queued per session before producers wait.
    outbound_queue: int = 64
    #: ``--cache_size``: MiB for planes, mips, tiles and histograms shared by every
    #: session (``io/reader_pool``); 0 means an eighth of the machine's memory.
    cache_size: int = 0

    #: Spectral-major caches of large cubes (``io/spectral_cache.py``): their folder
    #: (None: ``--no_cache``), its disk budget and the smallest cube that gets one.
    cache_folder: Path | None = None
    cache_folder_budget: int = 20 * 2**30
    spectral_cache_threshold: int = 2**30
    #: ``--dask_scheduler``: address of a dask.distributed scheduler for long jobs.
    dask_scheduler: str | None = None
    #: ``--reconnect_grace``: seconds a session whose connection dropped is kept for its
    #: viewer to come back (actors/session_manager.py); 0 ends it at once (the reference).
    reconnect_grace: float = limits.RECONNECT_GRACE

    @property
    def config_folder(self) -> Path:
        """``~/.carta/config``: preferences, layouts, snippets and workspaces."""
        return self.user_folder / "config"

    @property
    def log_folder(self) -> Path:
        return self.user_folder / "log"
