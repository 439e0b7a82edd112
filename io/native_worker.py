"""Native-library calls in worker processes: a crash ends one worker, never the server.

casacore can abort (a full disk while writing a CASA image) or crash (a CASA image
damaged while open) inside C++, where Python cannot catch anything: in the server
process that would end every session (issue 11 D3, D4). Everything that calls
casacore on user files therefore runs here, in a child process:

* :class:`NativeWorker` is one child serving calls over a pipe: ``open`` builds an
  object there (``"module:Class"`` and arguments) and returns its public attributes,
  ``call`` calls one of its methods, ``run`` calls a module-level function. Arguments,
  results and exceptions travel pickled. If the child dies, the caller gets
  :class:`WorkerCrashed` (an ``OSError``) naming the signal, and the next call starts
  nothing: the object is gone with its process.
* :func:`run_once` runs one function in a fresh child and stops it.

Children come from a ``forkserver`` that has numpy and casacore imported already, so
a worker starts in milliseconds, shares those pages with its siblings and inherits
none of the server's threads, sockets or trio state. Children ignore SIGINT (Ctrl-C
in a terminal reaches the whole process group; the server stops them itself) and
exit when their pipe closes, so they never outlive the server.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.reduction
import os
import pickle
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

_PRELOAD = ["carta_trio.io.native_worker", "numpy", "casacore.images"]
_context_lock = threading.Lock()
_context: Any = None


class WorkerCrashed(OSError):
    """The worker process died (a native crash or abort); ``signal_name`` says how."""

    def __init__(self, text: str, signal_name: str = "") -> None:
        super().__init__(text)
        self.signal_name = signal_name

    def __str__(self) -> str:
        return str(self.args[0])


def _get_context() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            _context = ctx
        return _context


@contextlib.contextmanager
def _no_main_fixup() -> Iterator[None]:
    """Start children without re-running the parent's ``__main__`` in them.

    multiprocessing re-imports the main module in forkserver children (as
    ``__mp_main__``); for a server that is pointless work at best (a script without
    a ``__name__`` guard would start another server) and impossible for ``python -``.
    Hiding ``__spec__``/``__file__`` while the child is launched leaves it out.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {key: main.__dict__[key] for key in ("__spec__", "__file__") if key in main.__dict__}
    main.__dict__["__spec__"] = None
    main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        main.__dict__.update(saved)
        if "__file__" not in saved:
            main.__dict__.pop("__file__", None)


def _resolve(spec: str) -> Any:
    module_name, _, qualname = spec.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def _public_state(obj: Any) -> dict[str, Any]:
    return {key: value for key, value in vars(obj).items() if not key.startswith("_")}


#: Arrays at least this large come back through the shared memory file, not the pipe.
_SHM_MIN_BYTES = 256 << 10
#: After passing more than this, the shared file is emptied again (its pages are RAM).
_SHM_KEEP_BYTES = 16 << 20


def _write_all(fd: int, data: memoryview) -> None:
    done = 0
    while done < len(data):
        done += os.pwrite(fd, data[done:], done)


def _read_all(fd: int, data: memoryview) -> None:
    done = 0
    while done < len(data):
        n = os.preadv(fd, [data[done:]], done)
        if n <= 0:
            raise OSError("the worker's shared memory is shorter than its answer")
        done += n


def _shared_reply(shm_fd: int | None, value: Any) -> tuple[str, Any] | None:
    """Put a large array into the shared memory file; the reply that says so."""
    import numpy as np

    if shm_fd is None or not isinstance(value, np.ndarray) or value.dtype.hasobject:
        return None
    if value.nbytes < _SHM_MIN_BYTES or value.ndim == 0:
        return None
    array = np.ascontiguousarray(value)
    if os.fstat(shm_fd).st_size < array.nbytes:
        os.ftruncate(shm_fd, array.nbytes)
    _write_all(shm_fd, array.data.cast("B"))
    return ("shm", (array.shape, array.dtype.str))


def _drop_output_when_blocked() -> None:
    """Give fds 1 and 2 of this child their own non-blocking open file description when
    they are a pipe (Linux: reopened through ``/proc/self/fd``).

    casacore's log sink and cfitsio's error reports write straight to them. When the
    server's output is a pipe nobody reads (a launcher that stopped reading), a blocking
    write would stop this worker inside a call, and with it the job and every session
    waiting for it (the fuzz run with seed 11 wedged so). Non-blocking, such lines are
    lost instead, as the server's own log writer drops its lines then. The server's own
    descriptors are a different description and stay blocking; files, terminals and
    sockets (journald) are left as they are.
    """
    for fd in (1, 2):
        try:
            if not os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                continue
            reopened = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            continue
        os.dup2(reopened, fd)
        os.close(reopened)


def _serve(conn: multiprocessing.connection.Connection, shared: bool = False) -> None:
    """The child's loop: answer ``(op, args)`` requests until ``exit`` or EOF.

    With ``shared`` the first thing received is the parent's memfd: large arrays are
    written there and only their shape and dtype go through the pipe (pickling 16 MB
    through a socket pair cost ~140 ms on a loaded 2-core machine; this costs two copies).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _drop_output_when_blocked()
    shm_fd = multiprocessing.reduction.recv_handle(conn) if shared else None
    obj: Any = None
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if op == "exit":
                conn.send(("ok", None))
                return
            if op == "open":
                obj = _resolve(args[0])(*args[1:])
                value: Any = _public_state(obj)
            elif op == "call":
                value = getattr(obj, args[0])(*args[1:])
            elif op == "run":
                value = _resolve(args[0])(*args[1:])
            else:
                raise ValueError(f"unknown worker operation {op!r}")
            reply: tuple[str, Any] = _shared_reply(shm_fd, value) or ("ok", value)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller
            reply = ("err", exc)
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            conn.send(("err", RuntimeError(f"{type(reply[1]).__name__}: {reply[1]} ({exc})")))


def _describe_exit(code: int | None) -> tuple[str, str]:
    if code is None:
        return "stopped answering", ""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}", name
    return f"exited with status {code}", ""


class NativeWorker:
    """One worker process; calls are serialised (one at a time) and thread-safe."""

    def __init__(self, label: str = "native") -> None:
        ctx = _get_context()
        self._conn, child = ctx.Pipe(duplex=True)
        memfd = getattr(os, "memfd_create", None)
        self._shm: int | None = memfd(f"carta-trio-{label}", os.MFD_CLOEXEC) if memfd else None
        self._proc = ctx.Process(target=_serve, args=(child, self._shm is not None), daemon=True,
                                 name=f"carta-trio-{label}")
        with _context_lock, _no_main_fixup():
            self._proc.start()
        child.close()
        if self._shm is not None:
            multiprocessing.reduction.send_handle(self._conn, self._shm, self._proc.pid)
        self._lock = threading.Lock()
        self._dead: WorkerCrashed | None = None

    @property
    def pid(self) -> int | None:
        pid: int | None = self._proc.pid
        return pid

    def _request(self, op: str, args: tuple[Any, ...]) -> Any:
        with self._lock:
            if self._dead is not None:
                raise self._dead
            try:
                self._conn.send((op, args))
                status, value = self._conn.recv()
                if status == "shm":
                    value = self._take_shared(*value)
                    status = "ok"
            except (EOFError, OSError) as exc:
                self._proc.join(timeout=5)
                how, name = _describe_exit(self._proc.exitcode)
                self._dead = WorkerCrashed(f"the image library {how}", name)
                self._conn.close()
                log.warning("worker %s %s during %s", self._proc.pid, how, op)
                raise self._dead from exc
        if status == "err":
            raise value
        return value

    def _take_shared(self, shape: tuple[int, ...], dtype: str) -> Any:
        import numpy as np

        assert self._shm is not None
        out = np.empty(shape, dtype=np.dtype(dtype))
        _read_all(self._shm, out.data.cast("B"))
        if out.nbytes > _SHM_KEEP_BYTES:
            os.ftruncate(self._shm, 0)
        return out

    def open(self, factory: str, *args: Any) -> dict[str, Any]:
        """Build ``factory(*args)`` in the worker; its public attributes."""
        attributes: dict[str, Any] = self._request("open", (factory, *args))
        return attributes

    def call(self, method: str, *args: Any) -> Any:
        """Call a method of the object built by :meth:`open`."""
        return self._request("call", (method, *args))

    def run(self, function: str, *args: Any) -> Any:
        """Call a module-level function (``"module:name"``) in the worker."""
        return self._request("run", (function, *args))

    def close(self) -> None:
        """Stop the worker (politely, then by force); idempotent."""
        with self._lock:
            if self._dead is None:
                try:
                    self._conn.send(("exit", ()))
                    self._conn.poll(2)
                except (EOFError, OSError):
                    pass
                self._dead = WorkerCrashed("the worker was closed")
                self._conn.close()
            shm, self._shm = self._shm, None
            if shm is not None:
                os.close(shm)
        self._proc.join(timeout=2)
        if self._proc.exitcode is None:
            self._proc.kill()
            self._proc.join(timeout=5)

    def __del__(self) -> None:
        try:
            if self._proc.exitcode is None:
                self._proc.kill()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass


def run_once(function: str, *args: Any, label: str = "task") -> Any:
    """Run ``function(*args)`` in a fresh worker process and stop it."""
    worker = NativeWorker(label)
    try:
        return worker.run(function, *args)
    finally:
        worker.close()
