"""Writing user files without ever destroying anything else (SAVE_FILE, region export).

The rules (issue 11 D1) live here so every writer follows them:

* a target is checked before anything is written (:func:`check_target`): the top
  folder itself, a folder that holds open images, an open image itself and any
  existing folder are refused -- except an existing CASA paged image when a CASA
  image is being saved, which the user confirmed to replace (the 4.1.0 frontend asks
  "This file exists. Are you sure to overwrite it?" for every listed image);
* a file is written under a temporary name beside the target (so inside the same
  folder of the top folder), flushed, fsync'ed, given the mode the process umask
  allows (0666 & ~umask, as ``open()`` would) and renamed over the target
  (:func:`atomic_file`);
* a CASA image is built in a staging folder beside the target and moved into place
  with one rename; an existing image is swapped out atomically (``renameat2``
  ``RENAME_EXCHANGE``) and only then removed (:func:`install_directory`). Nothing
  else is ever removed: the only removals are of the staging folder this module
  created and of the replaced CASA image after the swap.

Messages name paths relative to the top folder, never the server's absolute paths.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from carta_trio.io.file_types import casacore_image_type


class TargetError(Exception):
    """The target must not be written; ``str(exc)`` is the client message."""


def relative_name(top: str | Path, path: str | Path) -> str:
    """``path`` as the user sees it: relative to the top folder (``.`` for the top)."""
    try:
        rel = os.path.relpath(os.path.realpath(str(path)), os.path.realpath(str(top)))
    except ValueError:
        return Path(path).name
    return "." if rel in ("", ".") else rel


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def check_target(top: str | Path, target: Path, *, casa: bool, open_paths: Iterable[str | Path]) -> bool:
    """Refuse targets SAVE_FILE must not touch; True when an existing target is replaced.

    ``target`` is already resolved inside ``top`` (``paths.resolve_inside``);
    ``open_paths`` are the files (or image folders) open in any session.
    """
    top_real = os.path.realpath(str(top))
    real = os.path.realpath(str(target))
    rel = relative_name(top_real, real)
    if real == top_real or _within(top_real, real):
        raise TargetError("Can not save over the top folder.")
    for opened in open_paths:
        opened_real = os.path.realpath(str(opened))
        if opened_real == real:
            raise TargetError(f"{rel} is open and can not be overwritten. Close it first.")
        if _within(opened_real, real):
            raise TargetError(f"{rel} holds an open image and can not be overwritten.")
    if not os.path.isdir(os.path.dirname(real)):
        raise TargetError(f"Directory {relative_name(top_real, os.path.dirname(real))} does not exist.")
    if not os.path.lexists(real):
        return False
    if os.path.isdir(real):
        if casa and casacore_image_type(real) == "AIPSPP":
            return True
        kind = "a CASA image" if casacore_image_type(real) != "UNKNOWN" else "a folder"
        raise TargetError(f"{rel} is {kind} and can not be overwritten{' by a FITS file' if not casa else ''}.")
    if casa:
        raise TargetError(f"{rel} exists and is not a CASA image; it can not be replaced by one.")
    if not os.path.isfile(real):
        raise TargetError(f"{rel} is not a regular file and can not be overwritten.")
    return True


def umask() -> int:
    """The process umask, read without changing it (Linux /proc), else the usual 022."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _fsync_dir(folder: str | Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(str(folder), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    The temporary is fsync'ed, chmod'ed to 0666 & ~umask and renamed over ``path``;
    on any error it is removed and ``path`` is left as it was.
    """
    folder = path.parent
    tmp = folder / f".{path.name}.{secrets.token_hex(4)}.part"
    fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
            os.fchmod(out.fileno(), 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def write_file_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with :func:`atomic_file`."""
    with atomic_file(path) as out:
        out.write(data)


def make_staging(target: Path) -> Path:
    """A new private folder beside ``target`` (same folder, so a rename installs it)."""
    for _ in range(16):
        staging = target.parent / f".{target.name}.{secrets.token_hex(4)}.staging"
        try:
            os.mkdir(staging, 0o700)
            return staging
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "could not create a staging folder")


def remove_staging(staging: Path) -> None:
    """Remove a staging folder made by :func:`make_staging` and whatever was written in it.

    Refuses anything that is not such a folder; never follows symbolic links.
    """
    if not staging.name.endswith(".staging") or not staging.name.startswith(".") or staging.is_symlink():
        raise ValueError(f"not a staging folder: {staging.name}")
    _remove_tree(staging)


def _remove_tree(folder: Path) -> None:
    if not os.path.lexists(folder):
        return
    for root, dirs, files in os.walk(folder, topdown=False, followlinks=False):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(root, name))
        for name in dirs:
            entry = os.path.join(root, name)
            with contextlib.suppress(FileNotFoundError):
                if os.path.islink(entry):
                    os.unlink(entry)
                else:
                    os.rmdir(entry)
    with contextlib.suppress(FileNotFoundError):
        os.rmdir(folder)


_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """``renameat2`` with ``flags``; False when the system does not offer it."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    func = getattr(libc, "renameat2", None)
    if func is None:
        return False
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    if func(_AT_FDCWD, os.fsencode(str(src)), _AT_FDCWD, os.fsencode(str(dst)), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL):
        return False
    raise OSError(err, os.strerror(err), str(dst))


def install_directory(built: Path, target: Path, *, replace: bool) -> None:
    """Move the folder ``built`` (inside a staging folder beside ``target``) to ``target``.

    Without ``replace`` an existing ``target`` is never touched (``RENAME_NOREPLACE``).
    With ``replace`` the existing CASA image and ``built`` are exchanged atomically, so
    ``target`` is always either the old or the new image; the old one, now at
    ``built``, is removed with the staging folder by the caller.
    """
    if not replace:
        if not _renameat2(built, target, _RENAME_NOREPLACE):
            if os.path.lexists(target):
                raise FileExistsError(errno.EEXIST, "exists", str(target))
            os.rename(built, target)
        _fsync_dir(target.parent)
        return
    if casacore_image_type(target) != "AIPSPP":
        raise TargetError("The existing target is not a CASA image.")
    if not _renameat2(built, target, _RENAME_EXCHANGE):
        # No atomic exchange: move the old image into the staging folder, then the new in.
        aside = built.parent / "replaced"
        os.rename(target, aside)
        try:
            os.rename(built, target)
        except OSError:
            os.rename(aside, target)
            raise
    _fsync_dir(target.parent)
