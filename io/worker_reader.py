"""An :class:`ImageReader` that lives in a worker process (CASA, MIRIAD, expressions).

The real reader (e.g. :class:`carta_trio.io.casa_reader.CasaReader`) is built inside
a :class:`~carta_trio.io.native_worker.NativeWorker`; this proxy copies its public
attributes (shape, axes, unit, ...) and forwards the data and header methods. If the
native library crashes, only the worker dies: the proxy raises
:class:`ImageWorkerError` with a message for the user (and keeps raising it), the
frame reports it as ERROR_DATA and every other image and session carries on.
Header answers are cached, so the file browser and frame set-up ask only once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from carta_trio.io.image_reader import Beam, HeaderCard, ImageOpenError, ImageReader
from carta_trio.io.native_worker import NativeWorker, WorkerCrashed


class ImageWorkerError(OSError):
    """The worker reading this image died; ``str(exc)`` is the client message."""

    def __str__(self) -> str:
        return str(self.args[0])


#: Methods forwarded when the real reader overrides them (else the base class runs here).
_FORWARDED = ("read_plane", "read_cube", "read_spectrum", "mipmap", "precomputed_stats",
              "precomputed_cube_stats")


class WorkerReader(ImageReader):
    """``factory(*args)`` (``"module:Class"``) opened in its own worker process."""

    def __init__(self, factory: str, *args: Any, label: str = "") -> None:
        #: How messages name the image until the worker says (a file name, an expression).
        self._label = label or (Path(str(args[0])).name if args else "The image")
        self._worker = NativeWorker("reader")
        try:
            state = self._worker.open(factory, *args)
            overrides = self._worker.run("carta_trio.io.worker_reader:overridden_methods", factory)
            sources = self._worker.call("source_paths")
        except WorkerCrashed as exc:
            self._worker.close()
            raise ImageOpenError(f"{self._label} could not be opened: {exc} (the image may be damaged).") from exc
        except BaseException:
            self._worker.close()
            raise
        for key, value in state.items():
            setattr(self, key, value)
        self._sources = [Path(p) for p in sources]
        self._cache: dict[str, Any] = {}
        for name in overrides:
            setattr(self, name, self._forwarder(name))

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return self._worker.call(method, *args)
        except WorkerCrashed as exc:
            raise ImageWorkerError(f"{self._label} can no longer be read: {exc} "
                                   "(the image may be damaged); close and reopen it.") from exc

    def _forwarder(self, method: str) -> Any:
        def forward(*args: Any) -> Any:
            return self._call(method, *args)

        forward.__name__ = method
        return forward

    def _cached(self, method: str) -> Any:
        if method not in self._cache:
            self._cache[method] = self._call(method)
        return self._cache[method]

    def _read_region(self, starts: Sequence[int], stops: Sequence[int]) -> np.ndarray:
        block: np.ndarray = self._call("_read_region", [int(a) for a in starts], [int(b) for b in stops])
        return block

    def header_cards(self) -> list[HeaderCard]:
        return list(self._cached("header_cards"))

    def header_strings(self) -> list[str]:
        return list(self._cached("header_strings"))

    def beams(self) -> list[Beam]:
        return list(self._cached("beams"))

    def source_paths(self) -> list[Path]:
        return list(self._sources)

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id (tests, diagnostics)."""
        return self._worker.pid

    def close(self) -> None:
        try:
            self._worker.call("close")  # the real reader's clean-up (e.g. a shadow folder)
        except Exception:  # noqa: BLE001 - a dead or closed worker has nothing left to clean
            pass
        self._worker.close()


def overridden_methods(factory: str) -> list[str]:
    """Which of the forwarded methods ``factory``'s class overrides (run in the worker)."""
    from carta_trio.io.native_worker import _resolve

    cls = _resolve(factory)
    return [name for name in _FORWARDED
            if getattr(cls, name, None) is not getattr(ImageReader, name, None)]
