"""One lifetime discipline for an image reader shared by threads: reads and close.

A frame's reader is used from worker threads, and a cancelled caller abandons its
thread (``abandon_on_cancel``): the thread runs on inside the reader. Closing the
reader under it (cfitsio, h5py, casacore) frees what the thread is still using;
for tile-compressed FITS that was a SIGSEGV of the whole server. :class:`GuardedReader`
makes that impossible by construction:

- every method call on the reader counts as *in flight* while it runs;
- :meth:`GuardedReader.close` refuses new calls (they raise :class:`ReaderClosed`),
  and the reader is closed by whoever leaves last: at once when nothing is in flight,
  otherwise by the last call in flight as it returns. Nothing ever runs inside a
  closed reader, and closing never blocks;
- :meth:`GuardedReader.wait_idle` lets a caller wait (bounded) until that happened.

Plain attributes (``width``, ``axes``, ``path``...) pass through unguarded: they are
values set at open time, not file access.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class ReaderClosed(RuntimeError):
    """A read was attempted on a reader that is closing or closed."""

    def __init__(self) -> None:
        super().__init__("the image is closed")


class GuardedReader:
    """An :class:`~carta_trio.io.image_reader.ImageReader` whose calls and close
    follow one discipline (see the module docstring). Behaves as the wrapped reader."""

    def __init__(self, reader: Any) -> None:
        self.__dict__["_reader"] = reader
        self.__dict__["_cond"] = threading.Condition()
        self.__dict__["_in_flight"] = 0
        self.__dict__["_closing"] = False
        self.__dict__["_closed"] = False

    # ------------------------------------------------------------------ lifetime

    @property
    def wrapped(self) -> Any:
        """The reader itself (tests, diagnostics: calls on it are not guarded)."""
        return self._reader

    @property
    def in_flight(self) -> int:
        """Calls running inside the reader now."""
        return int(self._in_flight)

    @property
    def closed(self) -> bool:
        """True once the wrapped reader has been closed."""
        return bool(self._closed)

    def _enter(self) -> None:
        with self._cond:
            if self._closing:
                raise ReaderClosed()
            self.__dict__["_in_flight"] += 1

    def _leave(self) -> None:
        with self._cond:
            self.__dict__["_in_flight"] -= 1
            last = self._closing and self._in_flight == 0 and not self._closed
            if last:
                self.__dict__["_closed"] = True
        if last:
            self._close_wrapped()

    def close(self) -> None:
        """Refuse new calls; close the reader now, or as the last call in flight returns."""
        with self._cond:
            if self._closing:
                return
            self.__dict__["_closing"] = True
            now = self._in_flight == 0
            if now:
                self.__dict__["_closed"] = True
        if now:
            self._close_wrapped()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the wrapped reader is closed (after :meth:`close`); False on timeout."""
        with self._cond:
            return bool(self._cond.wait_for(lambda: self._closed, timeout))

    def _close_wrapped(self) -> None:
        try:
            self._reader.close()
        except Exception:  # noqa: BLE001 - closing must never fail whoever leaves last
            log.debug("closing %r failed", self._reader, exc_info=True)
        with self._cond:
            self._cond.notify_all()

    def __enter__(self) -> GuardedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ delegation

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._reader, name)
        if name.startswith("__") or not callable(value):
            return value
        return self._guarded(value)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._reader, name, value)

    def _guarded(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self._enter()
            try:
                return method(*args, **kwargs)
            finally:
                self._leave()

        call.__name__ = getattr(method, "__name__", "call")
        call.__doc__ = getattr(method, "__doc__", None)
        return call

    def __repr__(self) -> str:
        return f"GuardedReader({self._reader!r})"
