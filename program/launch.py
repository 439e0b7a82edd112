"""Start-up output: the reference's log format, the frontend URL and the browser (BEHAVIOUR.md §1.5, §1.6).

Launchers and carta-python read the backend's stdout: carta-python looks for
``CARTA is accessible at http://HOST:PORT/?token=TOKEN`` and treats lines with
``[error]`` or ``[critical]`` as errors. Console lines therefore follow the
reference exactly: ``[YYYY-MM-DD HH:MM:SS.mmmZ] [CARTA] [info] message`` (UTC),
flushed line by line; the log file ``~/.carta/log/carta.log`` drops ``[CARTA]``
and rotates at 5 MiB keeping 5 files.
"""

from __future__ import annotations

import collections
import logging
import logging.handlers
import os
import posixpath
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from carta_trio.settings import Settings

log = logging.getLogger("carta_trio")

LEVEL_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}
#: Above every level: ``--verbosity 0`` shows nothing.
OFF = logging.CRITICAL + 10
LOG_FILE_BYTES = 5 * 1024 * 1024
LOG_FILE_BACKUPS = 5


class ReferenceFormatter(logging.Formatter):
    """``[2024-01-31 12:00:00.123Z] [CARTA] [info] text`` (``[CARTA]`` only on the console)."""

    def __init__(self, console: bool) -> None:
        super().__init__()
        self.prefix = " [CARTA]" if console else ""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record.created))
        millis = int(record.msecs)
        level = LEVEL_NAMES.get(record.levelno, record.levelname.lower())
        text = f"[{stamp}.{millis:03d}Z]{self.prefix} [{level}] {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


#: Log lines waiting for a slow standard output before further lines are dropped.
CONSOLE_QUEUE_LINES = 10_000
#: Seconds a flush (at exit) waits for queued lines to be written.
CONSOLE_FLUSH_SECONDS = 2.0


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stdout`` is at the time (so captured stdout works too).

    The process's own standard output is written by a background thread through a bounded
    queue: a launcher that pipes stdout and stops reading it would otherwise freeze the
    whole server once the pipe is full (every log call would block the event loop in
    ``write``). Lines beyond :data:`CONSOLE_QUEUE_LINES` are dropped and counted, and the
    count is written once stdout moves again.
    """

    def __init__(self) -> None:
        super().__init__()
        self._queue: collections.deque[str] = collections.deque()
        self._ready = threading.Condition()
        self._dropped = 0
        self._writing = False
        self._writer: threading.Thread | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if sys.stdout is None or sys.stdout is not sys.__stdout__:
            self.stream = sys.stdout
            super().emit(record)
            return
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - logging's own convention
            self.handleError(record)
            return
        with self._ready:
            if len(self._queue) >= CONSOLE_QUEUE_LINES:
                self._dropped += 1
                return
            self._queue.append(text)
            self._ready.notify()
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_lines, name="carta-console", daemon=True)
                self._writer.start()

    def _write_lines(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._dropped:
                    self._ready.wait()
                lines = list(self._queue)
                self._queue.clear()
                dropped, self._dropped = self._dropped, 0
                self._writing = True
            text = "".join(line + "\n" for line in lines)
            if dropped:
                note = logging.LogRecord("carta_trio", logging.WARNING, __file__, 0,
                                         "%d log lines dropped: standard output was not being read",
                                         (dropped,), None)
                text += self.format(note) + "\n"
            try:
                out = sys.__stdout__
                if out is not None:
                    out.write(text)
                    out.flush()
            except (OSError, ValueError):
                pass  # stdout closed: nothing more can be shown there
            with self._ready:
                self._writing = False
                self._ready.notify_all()

    def flush(self) -> None:
        """Wait (bounded) until queued lines are written, then flush the stream."""
        if self._writer is not None:
            with self._ready:
                self._ready.wait_for(lambda: not self._queue and not self._writing, CONSOLE_FLUSH_SECONDS)
        self.stream = sys.stdout
        super().flush()


def level_number(log_level: str) -> int:
    """``"INFO"`` -> logging.INFO; ``"OFF"`` -> above CRITICAL."""
    if log_level.upper() == "OFF":
        return OFF
    value = logging.getLevelName(log_level.upper())
    return value if isinstance(value, int) else logging.INFO


def configure_logging(log_level: str = "INFO", log_folder: Path | None = None) -> None:
    """Send the root logger to stdout (and ``<log_folder>/carta.log`` if given) in the reference's format.

    Calling it again replaces the handlers it installed before and keeps others.
    A log folder that cannot be created only costs the file log (a warning says so).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_carta_trio", False):
            root.removeHandler(handler)
            handler.close()
    level = level_number(log_level)
    root.setLevel(level)
    console = _StdoutHandler()
    console.setFormatter(ReferenceFormatter(console=True))
    handlers: list[logging.Handler] = [console]
    problem = None
    if log_folder is not None:
        try:
            Path(log_folder).mkdir(parents=True, exist_ok=True)
            file_handler = logging.handlers.RotatingFileHandler(
                Path(log_folder) / "carta.log", maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
            )
            file_handler.setFormatter(ReferenceFormatter(console=False))
            handlers.append(file_handler)
        except OSError as exc:
            problem = f"Could not open the log file in {log_folder}: {exc}"
    for handler in handlers:
        setattr(handler, "_carta_trio", True)  # our mark, read back with getattr above
        root.addHandler(handler)
    if problem:
        log.warning("%s", problem)


def escape_component(text: str) -> str:
    """Percent-encode all but ``A-Za-z0-9-_.~`` with uppercase hex (so ``/`` is ``%2F``)."""
    return quote(text, safe="")


def file_query(files: Sequence[str]) -> str:
    """The start URL's file part: ``file=``, ``folder=&files=`` or ``files=`` (§1.5 step 8).

    Several files share ``folder=`` only when all have the same parent; the
    reference also does so when the first file lies directly in the top-level
    folder and the others do not, which opens the wrong files: not copied.
    """
    if not files:
        return ""
    if len(files) == 1:
        return "file=" + escape_component(files[0])
    parents = {posixpath.dirname(f) for f in files}
    if len(parents) == 1:
        names = ",".join(escape_component(posixpath.basename(f)) for f in files)
        return f"folder={escape_component(parents.pop())}&files={names}"
    return "files=" + ",".join(escape_component(f) for f in files)


def url_host(settings: Settings, environ: Mapping[str, str]) -> str:
    """``--host``, or for all interfaces ``$SERVER_IP`` (if set) else ``localhost``."""
    host = settings.host
    if host in ("", "0.0.0.0"):
        host = environ["SERVER_IP"] if "SERVER_IP" in environ else "localhost"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return host


def frontend_url(settings: Settings, port: int, environ: Mapping[str, str] | None = None) -> str:
    """``http://HOST:PORT/?token=TOKEN&file=...`` as the reference prints it."""
    environ = os.environ if environ is None else environ
    url = f"http://{url_host(settings, environ)}:{port}"
    query = f"/?token={settings.auth_token}" if settings.auth_token else ""
    files = file_query(settings.files)
    if files:
        query += ("&" if query else "/?") + files
    return url + query


def listening_message(settings: Settings, port: int) -> str:
    """The reference's ``Listening on port ...`` line (§1.5 step 7), without its OpenMP
    thread count (carta-trio has no OpenMP pool; ``--omp_threads`` is accepted and ignored)."""
    return (
        f"Listening on port {port} with top level folder {settings.top_level_folder}, "
        f"starting folder {settings.starting_folder}."
    )


def browser_command(url: str, command: str) -> list[str] | None:
    """argv for a ``--browser`` command, or None if its program is not found.

    A trailing ``&`` is dropped; ``CARTA_URL`` is replaced by the URL, otherwise the
    URL is appended; the program is looked up as a path, then on ``PATH``.
    """
    command = command[:-1] if command.endswith("&") else command
    if "CARTA_URL" in command:
        before, _, after = command.partition("CARTA_URL")
        command = f"{before}{url} {after}"
    else:
        command = f"{command} {url}"
    args = command.split()
    if not args:
        return None
    program = args[0] if os.path.exists(args[0]) else shutil.which(args[0])
    if not program:
        log.warning("Can't find %s in PATH, please check.", args[0])
        return None
    return [program, *args[1:]]


def _spawn_detached(args: list[str], failure: str) -> None:
    try:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        log.warning("%s", failure)
        log.debug("browser command %s failed: %s", shlex.join(args), exc)
        return

    def reap() -> None:
        if process.wait() != 0 and failure:
            log.warning("%s", failure)

    threading.Thread(target=reap, name="carta-browser", daemon=True).start()


def open_browser(url: str, command: str | None) -> None:
    """Open the URL without waiting: ``--browser`` command, else ``xdg-open`` (``open`` on macOS)."""
    if command:
        args = browser_command(url, command)
        if args is not None:
            log.debug("WebBrowser: Trying to launch CARTA with user provided browser command: %s", shlex.join(args))
            _spawn_detached(args, "")
        return
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    log.debug('WebBrowser: Trying to launch CARTA with the default browser using: %s "%s"', opener, url)
    _spawn_detached([opener, url], "WebBrowser: Failed to open the default browser automatically.")


def announce(settings: Settings, port: int, environ: Mapping[str, str] | None = None) -> str | None:
    """Once listening: open the browser and log ``CARTA is accessible at <url>``.

    Only when the frontend is served (enabled, folder valid). Returns the URL or None.
    Called by the server right after its ``Listening on port`` line.
    """
    from carta_trio.actors.http_app import frontend_path

    environ = os.environ if environ is None else environ
    url = None
    if frontend_path(settings) is not None:
        url = frontend_url(settings, port, environ)
        if not settings.no_browser:
            open_browser(url, settings.browser)
        log.info("CARTA is accessible at %s", url)
    base = f"http://{url_host(settings, environ)}:{port}"
    if not settings.no_database:
        log.debug("The CARTA database API is accessible at %s/api/database/...", base)
    if settings.enable_scripting:
        log.debug("To use the CARTA scripting interface, send POST requests to %s/api/scripting/action", base)
    return url
