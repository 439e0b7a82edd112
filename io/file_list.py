"""FILE_LIST_RESPONSE and REGION_LIST_RESPONSE: listing a folder as the reference does.

Rules (BEHAVIOUR.md §5.2): hidden and unreadable entries are skipped; regular files
are typed by content or extension (``filter_mode``); CASA and MIRIAD image
directories are *files*; other directories are ``subdirectories`` with their item
count (hidden entries included). Entries come in directory iteration order; the
frontend sorts. Symlinks are followed for the type tests and listed under the link
name -- unless they lead outside the top-level folder (then they are skipped).

:func:`iter_file_list` is a generator so that a caller can run a big listing in
slices (each ``next()`` returns after at most ``checkpoint`` seconds of work): it
yields :class:`ListProgress` items -- ``report=True`` when FILE_LIST_PROGRESS is due:
first once the listing has run :data:`FIRST_PROGRESS_AFTER_SECS` (50 ms; the
reference waits for more than 5 whole seconds), then after more than 2 whole seconds
since the last report as the reference (``BE:src/Timer/ListProgressReporter.cc``)
-- and finally the response message. Closing it stops the listing.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from pathlib import Path
from typing import Callable, Generator

from carta_trio.io import file_heads, file_kinds
from carta_trio.io.file_heads import Head
from carta_trio.io.list_progress import (FIRST_PROGRESS_AFTER_SECS, PROGRESS_INTERVAL_SECS, ListingPace,
                                         ListProgress, ProgressCadence, final_item, progress_message)
from carta_trio.io.file_types import (HEAD_BYTES, folder_image_type, guess_image_type, guess_region_type,
                                      identify_fd, identify_head)
from carta_trio.io.paths import FORBIDDEN, PathError, parent_of, resolve_directory
from carta_trio.messages import schema as pb


__all__ = [  # the progress names are kept here for the modules that list files
    "FIRST_PROGRESS_AFTER_SECS",
    "PROGRESS_INTERVAL_SECS",
    "ListProgress",
    "ListingPace",
    "ProgressCadence",
    "directory_size",
    "file_info_of",
    "file_list",
    "hdf5_hdu_list",
    "final_item",
    "item_count",
    "iter_file_list",
    "progress_message",
]

log = logging.getLogger(__name__)

FileType = pb.FileType
_UNKNOWN, _HDF5 = int(FileType.UNKNOWN), int(FileType.HDF5)
_CONTENT, _EXTENSION, _ALL_FILES = (int(pb.FileListFilterMode.Content), int(pb.FileListFilterMode.Extension),
                                    int(pb.FileListFilterMode.AllFiles))
def item_count(path: str | Path) -> int:
    """Number of entries in a directory, hidden ones included; -1 on error."""
    try:
        with os.scandir(path) as it:
            return sum(1 for _ in it)
    except OSError:
        return -1


def directory_size(path: str | Path) -> int:
    """Recursive sum of the sizes of the regular files below ``path``."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if not os.path.islink(os.path.join(root, name)):
                total += st.st_size
    return total


def hdf5_hdu_list(path: str | Path) -> list[str]:
    """The top-level link names of an HDF5 file (``[""]`` if none or unreadable)."""
    try:
        names = _hdf5_root_names(os.fsencode(path))
    except Exception as exc:  # noqa: BLE001 - unreadable HDF5 is listed without HDUs
        log.debug("HDF5 group list of %s failed: %s", path, exc)
        names = []
    return names or [""]


def _hdf5_root_names(path: bytes) -> list[str]:
    """Names in the root group, through h5py's low-level calls (a fraction of the cost of
    ``h5py.File``, which a folder of HDF5 images pays per entry), with HDF5's file
    locking off, so a file another process is writing is listed instead of refused."""
    import h5py

    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    try:
        fapl.set_file_locking(False, True)
    except (AttributeError, RuntimeError):  # HDF5 before 1.12.1
        pass
    fid = h5py.h5f.open(path, h5py.h5f.ACC_RDONLY, fapl=fapl)
    try:
        root = h5py.h5g.open(fid, b"/")
        return [name.decode("utf-8", "surrogateescape") for name in root]
    finally:
        fid.close()


def file_info_of(path: str | Path, name: str, file_type: int, st: os.stat_result | None = None) -> pb.FileInfo:
    """``FileInfo`` {name, type, size, date, HDU_list} of a file or image directory.

    ``st`` is the (symlink-following) stat of ``path`` if the caller has it already.
    """
    info = pb.FileInfo(name=name, type=file_type)
    if st is None:
        try:
            st = os.stat(path)
        except OSError:
            info.HDU_list.append("")
            return info
    info.date = int(st.st_mtime)
    info.size = directory_size(path) if stat.S_ISDIR(st.st_mode) else st.st_size
    if file_type == _HDF5:
        info.HDU_list.extend(hdf5_hdu_list(path))
    else:
        info.HDU_list.append("")
    return info


def _inside(real: str, top: str) -> bool:
    return top == "/" or real == top or real.startswith(top + "/")


#: Entries listed between two looks at the clock (progress, checkpoints): well under a
#: millisecond of work.
BLOCK = 16


def _list_block(
    response: pb.FileListResponse, entries: list[os.DirEntry[str]], folder: str, folder_fd: int, top: str,
    filter_mode: int, region: bool, stat_first: bool = False, heads: list[Head | None] | None = None,
) -> bool:
    """Add the entries that the rules list to the response; returns whether the next
    block should also be looked up by ``stat`` first (most of this one was known).

    The common case, every entry of a huge folder of images, runs inline here: an entry
    the directory itself calls a plain file (its type field: no system call) in a
    content-mode image listing is opened, stat'ed through the descriptor (one path
    lookup, not two) and its head read once -- by :mod:`.file_heads` for the whole
    block when ``heads`` holds what it found for those entries (in order), else here.
    Only files that are not FITS/HDF5 by their first bytes are read again, at
    user-block offsets: an HDF5 file with a user block is listed as it opens. The open
    proves the file readable, as the reference requires; it is non-blocking, so
    nothing that stopped being a plain file meanwhile can stall the listing (such an
    entry goes through :func:`_list_entry`, as every other entry does). With
    ``stat_first`` (a folder listed before) the entry is stat'ed first, and a file
    unchanged since its last listing is not opened at all (:mod:`~carta_trio.io.file_kinds`).
    """
    plain_by_content = not region and filter_mode == _CONTENT
    recall, identify, add = file_kinds.recall_ids, identify_head, response.files.add
    known = unknown = 0  # in stat-first mode: of every plain file; else: of the first one
    found: list[tuple[int, int, int, int]] = []  # read now: to remember
    next_head = iter(heads) if heads is not None else None
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        try:
            if plain_by_content and entry.is_file(follow_symlinks=False):
                kind: int | None = None
                head: Head | None = None
                recalled = False  # the kind remembered from an earlier listing: nothing read
                if next_head is not None:
                    head = next(next_head)
                    if head is None:
                        continue  # unreadable or gone: not listed
                elif stat_first:
                    st = entry.stat(follow_symlinks=False)
                    kind = recall(st.st_dev, st.st_ino, st.st_ctime_ns)
                    if kind is None:
                        unknown += 1
                    else:
                        known += 1
                        recalled = True
                        head = Head(st.st_mode, st.st_size, int(st.st_mtime), st.st_dev, st.st_ino, st.st_ctime_ns, None)
                if head is None:
                    opened = _open_and_identify(name, folder_fd)
                    if opened is None:
                        continue  # unreadable or gone: not listed
                    head, kind = opened
                elif kind is None and head.head is not None:
                    kind = identify(head.head, name, head.size)
                    if kind == _UNKNOWN and head.size >= 520:  # an HDF5 user block? (opened again)
                        again = _open_and_identify(name, folder_fd)
                        kind = _UNKNOWN if again is None else again[1]
                if kind is None:  # no longer a plain file
                    _list_entry(response, entry, folder, folder_fd, top, filter_mode, region)
                    continue
                if not recalled:
                    if not stat_first and not (known or unknown):  # would a stat have been enough?
                        if recall(head.dev, head.ino, head.ctime_ns) == kind:
                            known += 1
                        else:
                            unknown += 1
                    found.append((head.dev, head.ino, head.ctime_ns, kind))
                if kind != _UNKNOWN:
                    info = add()  # field by field: the cheapest way to fill a message
                    info.name = name
                    info.type = kind
                    info.size = head.size
                    if kind == _HDF5:
                        info.HDU_list.extend(hdf5_hdu_list(os.path.join(folder, name)))
                    else:
                        info.HDU_list.append("")
                    info.date = head.mtime
            else:
                _list_entry(response, entry, folder, folder_fd, top, filter_mode, region)
        except OSError as exc:
            log.debug("skipping %s in %s: %s", name, folder, exc)
    if found:
        file_kinds.remember(found)
    return known > 0 and known >= unknown


def _open_and_identify(name: str, folder_fd: int) -> tuple[Head, int | None] | None:
    """Open, stat, read and type one file through Python's calls (kind None: not a plain
    file now); None if it cannot be opened or stat'ed."""
    try:
        fd = os.open(name, _OPEN_FLAGS, dir_fd=folder_fd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        kind = identify_fd(fd, name, st.st_size) if stat.S_ISREG(st.st_mode) else None
        return Head(st.st_mode, st.st_size, int(st.st_mtime), st.st_dev, st.st_ino, st.st_ctime_ns, b""), kind
    except OSError:
        return None
    finally:
        os.close(fd)


#: Blocks whose new files are read in one :func:`.file_heads.read_heads_in_parallel` call.
ROUND = 32


def _read_round(heads_of: dict[int, list[Head | None]], blocks: list[list[os.DirEntry[str]]], first: int,
                folder_fd: int) -> None:
    """Read the heads of the plain files of blocks ``first`` ... ``first + ROUND - 1`` at
    once into ``heads_of`` (by block)."""
    names = [_plain_names(block) for block in blocks[first : first + ROUND]]
    heads = file_heads.read_heads_in_parallel(folder_fd, [name for part in names for name in part], HEAD_BYTES)
    at = 0
    for offset, part in enumerate(names):
        heads_of[first + offset] = heads[at : at + len(part)]
        at += len(part)


def _plain_names(entries: list[os.DirEntry[str]]) -> list[str]:
    """The names :func:`_list_block` opens in a content-mode image listing, in order."""
    names = []
    for entry in entries:
        name = entry.name
        try:
            if not name.startswith(".") and entry.is_file(follow_symlinks=False):
                names.append(name)
        except OSError:
            pass
    return names


def _list_entry(
    response: pb.FileListResponse, entry: os.DirEntry[str], folder: str, folder_fd: int, top: str, filter_mode: int,
    region: bool,
) -> None:
    """Add one directory entry to the response if the rules say so (every entry but
    the plain files of a content-mode image listing: :func:`_list_block`).

    ``entry`` comes from ``os.scandir(folder_fd)``, so its stat goes through the
    folder's descriptor (no path walk per entry).
    """
    name = entry.name
    try:
        st = entry.stat()
    except OSError:
        return  # dangling symlink
    if entry.is_symlink() and not _inside(os.path.realpath(os.path.join(folder, name)), top):
        return
    path = os.path.join(folder, name)
    if not os.access(path, os.R_OK):
        return
    all_files = filter_mode == _ALL_FILES
    if stat.S_ISREG(st.st_mode):
        if region:
            kind = guess_region_type(path, filter_mode != _EXTENSION)
            if kind == _UNKNOWN:
                kind = guess_region_type(path, False)
        elif all_files:
            kind = guess_image_type(path, False)
        else:
            kind = guess_image_type(path, filter_mode == _CONTENT)
        if kind != _UNKNOWN or all_files:
            response.files.append(file_info_of(path, entry.name, kind, st))
        return
    if stat.S_ISDIR(st.st_mode) and os.access(path, os.X_OK):
        kind = folder_image_type(path)
        if kind != _UNKNOWN and not region:
            response.files.append(file_info_of(path, entry.name, kind, st))
        elif kind == _UNKNOWN or (region and all_files):
            response.subdirectories.append(
                pb.DirectoryInfo(name=entry.name, date=int(st.st_mtime), item_count=item_count(path))
            )


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


def iter_file_list(
    top: str | Path,
    starting: str | Path | None,
    directory: str,
    filter_mode: int = pb.FileListFilterMode.Content,
    *,
    region: bool = False,
    clock: Callable[[], float] = time.monotonic,
    checkpoint: float = 0.2,
) -> Generator[ListProgress | pb.FileListResponse, None, None]:
    """Walk a folder; yield :class:`ListProgress` now and then, the response last.

    ``region`` lists region files instead of images (the caller copies the fields
    into a REGION_LIST_RESPONSE). Blocking (file system); run it in a worker thread.
    """
    response = pb.FileListResponse()
    try:
        resolved = resolve_directory(top, starting, directory)
    except PathError as exc:
        response.success = False
        response.message = exc.message if exc.message == FORBIDDEN else f"File list failed: {exc.message}"
        yield response
        return
    if resolved.is_top:
        response.parent = "."
    else:
        response.directory = resolved.relative
        response.parent = parent_of(resolved.relative)
    started = clock()
    top_real = os.path.realpath(str(top))
    folder = str(resolved.path)
    try:
        folder_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        response.success = False
        response.message = str(exc.strerror or exc)
        yield response
        return
    try:
        try:
            with os.scandir(folder_fd) as it:
                entries = list(it)
        except OSError as exc:
            response.success = False
            response.message = str(exc.strerror or exc)
            yield response
            return
        pace = ListingPace(len(entries), clock, checkpoint, started)
        stat_first = True  # until a block shows that the folder's files are new here
        blocks = [entries[start : start + BLOCK] for start in range(0, len(entries), BLOCK)]
        batch_heads = not region and filter_mode == _CONTENT and file_heads.available()
        heads_of: dict[int, list[Head | None]] = {}
        done = 0
        for index, block in enumerate(blocks):
            if batch_heads and not stat_first and index not in heads_of:
                _read_round(heads_of, blocks, index, folder_fd)
            stat_first = _list_block(response, block, folder, folder_fd, top_real, filter_mode, region, stat_first,
                                     heads_of.pop(index, None))
            done += len(block)
            progress = pace.tick(done)
            if progress is not None:
                yield progress
    finally:
        os.close(folder_fd)
    response.success = True
    yield response


def file_list(
    top: str | Path,
    starting: str | Path | None,
    directory: str,
    filter_mode: int = pb.FileListFilterMode.Content,
    *,
    region: bool = False,
) -> pb.FileListResponse:
    """The whole listing at once (no progress)."""
    return final_item(iter_file_list(top, starting, directory, filter_mode, region=region), pb.FileListResponse)
