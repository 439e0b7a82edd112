"""The ``carta-trio`` command: the reference backend's command line, config files and start-up.

Every option spelling of carta-backend 4.1.0 is accepted (BEHAVIOUR.md §1.1),
parsed the way cxxopts parses it (``--name value``, ``--name=value``, ``-p 3002``,
``-p3002``, comma lists, repeated list options, boolean flags with an optional
``=true/false``), together with hyphenated spellings (``--top-level-folder``) and
our aliases ``--read-only``, ``--log-level``. Settings are then merged with the
JSON config files (§1.2), positional files/folders are sorted out (§1.3), the
token is chosen (§1.4) and the folders validated (§1.5 step 4).

:func:`parse_settings` does all that without side effects (it only reads the
file system); :func:`main` adds logging, the start-up lines and the server.
"""

from __future__ import annotations

import dataclasses

import logging
import os
import signal
import sys
import threading
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from carta_trio import REFERENCE_VERSION, __version__, limits
from carta_trio.messages.framing import ICD_VERSION
from carta_trio.config_files import (
    ALL_KEYS,
    BOOL_KEYS,
    DEPRECATED,
    deprecation_warning,
    merge_patch,
    merged_file_settings,
)
from carta_trio.options import VERBOSITY_LEVELS, CliExit, parse_command_line, usage
from carta_trio.positional import collect_positional, relative_file_paths
from carta_trio.settings import Settings

log = logging.getLogger("carta_trio")

SYSTEM_CONFIG_PATH = Path("/etc/carta/backend.json")
DEFAULT_PORT = 3002
#: Ports tried after the default one (3002..3102), as the reference.
MAX_SOCKET_PORT_TRIALS = 100
SAMPLE_FOLDER = Path(__file__).resolve().parent / "sample"


def default_frontend_folder() -> Path:
    """``<prefix>/share/carta/frontend``: the reference's ``<exe dir>/../share/carta/frontend``."""
    return Path(sys.prefix) / "share" / "carta" / "frontend"


def _ports(values: Sequence[int]) -> tuple[tuple[int, ...], bool]:
    """(ports to try, fixed) from the ``port`` setting (§1.1, §1.5 step 6)."""
    if not values:
        return tuple(range(DEFAULT_PORT, DEFAULT_PORT + MAX_SOCKET_PORT_TRIALS + 1)), False
    first = int(values[0])
    if len(values) == 1:
        if not 0 <= first <= 65535:
            raise CliExit(1, critical=f"Could not listen on port {first}!")
        return (first,), True
    last = 65535 if int(values[1]) == -1 else min(int(values[1]), 65535)
    if not 0 <= first <= 65535 or last < first:
        # The reference logs this and idles with no listener; we exit instead.
        raise CliExit(1, critical=f"Unable to listen on the port range {first}-{max(last, first - 1)}!")
    return tuple(range(first, last + 1)), False


def _inside(folder: Path, top: Path) -> bool:
    return folder == top or folder.is_relative_to(top)


def _usable_directory(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.R_OK | os.X_OK)


def check_folders(top: str, start: str | None, warnings: list[str]) -> tuple[Path, Path]:
    """Absolute, symlink-resolved (top-level, starting) folders, or CliExit(1) (§1.5 step 4).

    ``start`` None means "not chosen by the user": then the bundled sample folder
    is used when it lies inside the top-level folder, otherwise the top-level folder.
    """
    top_path = Path(os.path.realpath(os.path.abspath(top)))
    if not _usable_directory(top_path):
        raise CliExit(
            1,
            critical="Invalid top level directory, does not exist or is not a readable directory. Exiting carta.",
            warnings=warnings,
        )
    if start is None:
        sample = Path(os.path.realpath(SAMPLE_FOLDER))
        return top_path, sample if _usable_directory(sample) and _inside(sample, top_path) else top_path
    start_path = Path(os.path.realpath(os.path.abspath(start)))
    if not _usable_directory(start_path):
        warnings.append("Invalid starting directory, using the provided top level directory instead.")
        return top_path, top_path
    if not _inside(start_path, top_path):
        raise CliExit(
            1,
            critical=f"Starting {start_path} must be a subdirectory of top level {top_path}. Exiting carta.",
            warnings=warnings,
        )
    return top_path, start_path


def version_text() -> str:
    """``--version``: carta-trio's own version and what it is compatible with, on one line.

    Launchers only print this (the CARTA desktop app passes ``carta_backend --version``
    through; carta-controller never asks), so it names both versions in words:
    ``carta-trio 0.1.0 (CARTA backend 4.1.0 compatible, ICD 28)``.
    """
    return f"carta-trio {__version__} (CARTA backend {REFERENCE_VERSION} compatible, ICD {ICD_VERSION})"


def parse_settings(
    argv: Sequence[str],
    environ: Mapping[str, str] | None = None,
    system_config_path: Path | None = SYSTEM_CONFIG_PATH,
    user_config_path: Path | None = None,
) -> tuple[Settings, list[str]]:
    """Build the :class:`Settings` from arguments, environment and config files.

    Returns the settings and the warnings to log once logging is set up. Raises
    :class:`CliExit` for ``--help``/``--version`` (code 0), bad options and invalid
    folders (code 1). ``user_config_path`` defaults to ``$HOME/.carta/backend.json``.
    """
    environ = os.environ if environ is None else environ
    given, positional = parse_command_line(argv)
    if given.get("help"):
        raise CliExit(0, output=usage())
    if given.get("version"):
        raise CliExit(0, output=version_text())

    # --base and --root are deprecated in the reference but are carta-trio's own spellings.
    warnings = [
        deprecation_warning(option, "commandline parameters")
        for option in DEPRECATED
        if option in given and option not in OWN_SPELLINGS
    ]
    home = Path(environ.get("HOME") or os.path.expanduser("~"))
    user_folder = home / ".carta"
    if user_config_path is None:
        user_config_path = user_folder / "backend.json"

    config: dict[str, Any] = {
        "verbosity": 4, "omp_threads": -1, "exit_timeout": -1, "initial_timeout": -1, "idle_timeout": -1,
        "cache_size": 0,
        "host": "0.0.0.0", "top_level_folder": "/", "starting_folder": None, "frontend_folder": "",
        "browser": "", "port": [],
        **{key: False for key in BOOL_KEYS},
    }
    if "root" in given:
        config["top_level_folder"] = given["root"]
    if "base" in given:
        config["starting_folder"] = given["base"]
        if "root" not in given and "top_level_folder" not in given:
            # carta-trio --base DIR: the root defaults to the base, so nothing above it is served.
            config["top_level_folder"] = given["base"]
    command_line = {key: given[key] for key in ALL_KEYS if key in given}
    config.update(command_line)

    start_from_args, file_paths = collect_positional(positional)
    if start_from_args is not None:
        config["starting_folder"] = start_from_args

    file_settings = merged_file_settings(
        None if given.get("no_system_config") else system_config_path,
        None if given.get("no_user_config") else user_config_path,
        warnings,
    )
    if file_settings is not None:
        merged = merge_patch(file_settings, command_line)
        config.update({key: merged[key] for key in ALL_KEYS if key in merged})
    if config["no_http"]:
        config["no_frontend"] = config["no_database"] = True

    port_values = config["port"] if isinstance(config["port"], list) else [config["port"]]
    ports, port_fixed = _ports([int(v) for v in port_values])
    log_level = given.get("log_level") or VERBOSITY_LEVELS.get(config["verbosity"], "INFO")
    files = relative_file_paths(file_paths, config["top_level_folder"])
    try:
        top, start = check_folders(config["top_level_folder"], config["starting_folder"], warnings)
    except CliExit as failure:
        failure.log_level = log_level
        raise

    if given.get("debug_no_auth"):
        token = ""
    elif "CARTA_AUTH_TOKEN" in environ:
        token = environ["CARTA_AUTH_TOKEN"]
        if not token:
            warnings.append("CARTA_AUTH_TOKEN is empty: every request is accepted without a token.")
    else:
        token = str(uuid.uuid4())

    frontend = config["frontend_folder"]
    settings = Settings(
        top_level_folder=top,
        starting_folder=start,
        host=config["host"] or "0.0.0.0",
        ports=ports,
        port_fixed=port_fixed,
        frontend_folder=Path(os.path.abspath(frontend)) if frontend else default_frontend_folder(),
        no_frontend=config["no_frontend"],
        no_database=config["no_database"],
        no_runtime_config=config["no_runtime_config"],
        no_browser=config["no_browser"],
        browser=config["browser"] or None,
        read_only=config["read_only_mode"],
        enable_scripting=config["enable_scripting"],
        idle_timeout=float(config["idle_timeout"]) if config["idle_timeout"] > 0 else None,
        initial_timeout=float(config["initial_timeout"]) if config["initial_timeout"] >= 0 else None,
        exit_timeout=float(config["exit_timeout"]) if config["exit_timeout"] >= 0 else None,
        auth_token=token,
        controller_deployment=bool(given.get("controller_deployment")),
        log_level=log_level,
        no_log=config["no_log"],
        log_protocol_messages=config["log_protocol_messages"],
        files=tuple(files),
        user_folder=user_folder,
        omp_threads=int(config["omp_threads"]),
        cache_folder=cache_folder(given, top, user_folder, warnings),
        cache_folder_budget=int(float(given.get("cache_dir_size", 20)) * 2**30),
        spectral_cache_threshold=int(float(given.get("spectral_cache_threshold", 1024)) * 2**20),
        dask_scheduler=given.get("dask_scheduler") or None,
        cache_size=max(0, int(config["cache_size"])),
        reconnect_grace=max(0.0, float(given.get("reconnect_grace", limits.RECONNECT_GRACE))),
    )
    return settings, warnings


def cache_folder(given: dict[str, Any], top: Path, user_folder: Path, warnings: list[str]) -> Path | None:
    """The spectral cache folder: ``--cache_dir`` or ``~/.carta/cache``; None with
    ``--no_cache``. A ``--cache_dir`` inside the served data folders (unless they are the
    whole file system) is refused: it would show up in the file browser and fill the
    data disk."""
    if given.get("no_cache"):
        return None
    named = given.get("cache_dir")
    if not named:
        return user_folder / "cache"  # the user's own CARTA folder (hidden from the browser)
    folder = Path(os.path.abspath(os.path.expanduser(named)))
    top = Path(os.path.realpath(top))
    real = Path(os.path.realpath(folder))
    if top != Path("/") and (real == top or top in real.parents):
        warnings.append(f"--cache_dir {folder} lies inside the top-level folder: spectral caches are off.")
        return None
    return folder


def executable_path() -> str:
    """What the reference logs as ``<executable path>: Version 4.1.0``."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    return os.path.realpath(argv0) if argv0 and os.path.exists(argv0) else "carta_backend"


def with_installed_frontend(settings: Settings) -> Settings:
    """Settings whose default frontend folder falls back to our own install.

    Without ``--frontend_folder`` and with nothing at the reference's default place,
    use ``~/.carta/frontend/4.1.0``, installing it with ``npm pack`` on first start so
    that ``pip install . && carta-trio`` shows the viewer at once.
    """
    from carta_trio.io import frontend_install

    folder = settings.frontend_folder
    if settings.no_frontend or folder is None or folder != default_frontend_folder():
        return settings
    if frontend_install.is_frontend_build(folder):
        return settings
    found = frontend_install.find_frontend(settings.user_folder)
    if found is None:
        log.info("Installing the CARTA frontend %s with npm (first start only)", frontend_install.DEFAULT_VERSION)
        try:
            found = frontend_install.install_frontend(settings.user_folder)
        except frontend_install.FrontendInstallError as exc:
            log.warning("Could not install the CARTA frontend: %s", exc)
            return settings
    return dataclasses.replace(settings, frontend_folder=found)


#: Options the reference deprecates but carta-trio documents as its own.
OWN_SPELLINGS = frozenset({"base", "root"})

#: Set by SIGINT/SIGTERM during start-up. An interrupted import would leave CPython's
#: "unhandled KeyboardInterrupt" mark set and end the process by signal even after a
#: clean return, so start-up is never interrupted: it notes the request instead.
_STOP_REQUESTED = threading.Event()


def _note_stop(signum: int, frame: object) -> None:
    _STOP_REQUESTED.set()


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: parse, set up logging, run the server; returns the exit code.

    SIGINT and SIGTERM end the process cleanly (exit 0, ``Exiting backend.``) at any
    point of start-up; once the server runs, it handles them itself.
    """
    previous = {signum: signal.signal(signum, _note_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _main(argv)
    except KeyboardInterrupt:
        log.info("Exiting backend.")
        return 0
    except BaseExceptionGroup as group:
        if group.subgroup(lambda exc: not isinstance(exc, KeyboardInterrupt)) is not None:
            raise
        log.info("Exiting backend.")
        return 0
    finally:
        _STOP_REQUESTED.clear()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _main(argv: Sequence[str] | None) -> int:
    # One BLAS thread per call: our workers already use every core, and OpenBLAS's own
    # threads made small reductions 100x slower under load. Must precede numpy's import.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from carta_trio import launch

    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        settings, warnings = parse_settings(argv)
    except CliExit as stop:
        if stop.output is not None:
            try:
                print(stop.output, flush=True)
            except BrokenPipeError:
                # The reader went away (``carta-trio --help | head``): not an error.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if stop.critical is not None:
            launch.configure_logging(log_level=stop.log_level, log_folder=None)
            for warning in stop.warnings:
                log.warning("%s", warning)
            log.critical("%s", stop.critical)
        return stop.code

    launch.configure_logging(log_level=settings.log_level, log_folder=None if settings.no_log else settings.log_folder)
    for warning in warnings:
        log.warning("%s", warning)
    log.info("%s: Version %s", executable_path(), REFERENCE_VERSION)
    log.debug("carta-trio %s", __version__)
    settings = with_installed_frontend(settings)
    from carta_trio.actors.listen_socket import PortUnavailable, bind_listening_socket

    try:
        sock = bind_listening_socket(settings)
    except PortUnavailable as exc:
        log.error("%s", exc.strerror)
        return 1
    port = sock.getsockname()[1]
    # Announce before the heavy imports: launchers read the URL from stdout early.
    log.info("%s", launch.listening_message(settings, port))
    launch.announce(settings, port)
    try:
        from carta_trio.actors.server import run

        if _STOP_REQUESTED.is_set():
            log.info("Exiting backend.")
            return 0
        return run(settings, sock=sock, stop_requested=_STOP_REQUESTED)
    except Exception as exc:  # noqa: BLE001 - the reference logs any escaping exception and exits 1
        log.critical("%s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
        return 1
