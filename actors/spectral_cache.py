"""Spectral caches of large cubes: built in the background, then read for spectra.

When a frame opens a FITS or CASA cube larger than ``--spectral_cache_threshold``,
a job in the frame's nursery (slot ``("spectral_cache", None)``) looks for a finished
entry in the cache folder (``io/spectral_cache.py``) and otherwise writes one, a band
of rows at a time in worker threads, logging its progress. The job is cancelled like
every job of the frame (closing the file, disconnecting); a cancelled or failed build
leaves nothing behind. Once an entry exists the job holds a reader on it for the rest
of the frame's life, and :func:`source` hands that reader to cursor and region
spectral profiles; until then they read the image itself. The ICD has no message for
this work, so the viewer is not told about it beyond the log; nothing waits for it.

Two frames of the same image (two sessions, two file ids) never build the same entry
twice: the second waits for the first build and then uses its entry.
"""

from __future__ import annotations

import logging
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from carta_trio.io import spectral_cache
from carta_trio.io.reader_guard import GuardedReader

if TYPE_CHECKING:
    from carta_trio.actors.frame import Frame
    from carta_trio.actors.jobs import Job
    from carta_trio.settings import Settings

log = logging.getLogger(__name__)

SLOT = "spectral_cache"
#: Seconds between progress lines in the log while an entry is built.
LOG_INTERVAL = 5.0

_stores: dict[Path, spectral_cache.SpectralCacheStore] = {}
#: Entries being built in this process: file name -> event set when the build ends.
_building: dict[str, trio.Event] = {}
_sources: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def store_for(settings: Settings) -> spectral_cache.SpectralCacheStore | None:
    """The process's cache store for these settings (None with ``--no_cache``)."""
    folder = settings.cache_folder
    if folder is None:
        return None
    store = _stores.get(folder)
    if store is None or store.budget_bytes != settings.cache_folder_budget:
        store = _stores[folder] = spectral_cache.SpectralCacheStore(folder, settings.cache_folder_budget)
        store.remove_partials()
    return store


def source(frame: Frame) -> Any:
    """Where spectral profiles of ``frame`` read: its cache entry once built, else its image."""
    cached = _sources.get(frame)
    return cached if cached is not None else frame.reader


def attach(frame: Frame) -> None:
    """Start the cache job of a newly opened frame, if its cube qualifies."""
    store = store_for(frame.session.settings)
    if store is None or frame.depth <= 1:
        return
    frame.jobs.start(SLOT, None, "spectral cache", _serve, frame, store)


async def _serve(frame: Frame, store: spectral_cache.SpectralCacheStore) -> None:
    job = frame.jobs.get(SLOT)
    key = await frame.session.run_sync(spectral_cache.key_for, frame.reader)
    if key is None or key.nbytes < frame.session.settings.spectral_cache_threshold:
        return
    path = await _entry(frame, store, key, job)
    if path is None:
        return
    try:
        cached = await frame.session.run_sync(_open_entry, path, list(frame.reader.stokes_values or []))
    except (spectral_cache.CacheUnavailable, OSError) as exc:
        log.warning("Spectral cache entry of %s dropped: %s", Path(key.path).name, exc)
        await frame.session.run_sync(_drop, path)
        return
    _sources[frame] = cached
    try:
        await trio.sleep_forever()
    finally:
        _sources.pop(frame, None)
        cached.close()


def _drop(path: Path) -> None:
    path.unlink(missing_ok=True)


def _open_entry(path: Path, stokes_values: list[int]) -> GuardedReader:
    return GuardedReader(spectral_cache.SpectralCacheReader(path, stokes_values))


async def _entry(frame: Frame, store: spectral_cache.SpectralCacheStore, key: spectral_cache.CacheKey,
                 job: Job | None) -> Path | None:
    """The finished entry for ``key``: found, awaited from another frame's build, or built."""
    while True:
        path = await frame.session.run_sync(_lookup, store, key)
        if path is not None:
            return path
        running = _building.get(key.file_name)
        if running is None:
            break
        await running.wait()
    done = _building[key.file_name] = trio.Event()
    try:
        return await _build(frame, store, key, job)
    finally:
        del _building[key.file_name]
        done.set()


def _lookup(store: spectral_cache.SpectralCacheStore, key: spectral_cache.CacheKey) -> Path | None:
    store.discard_stale(key)
    return store.lookup(key)


async def _build(frame: Frame, store: spectral_cache.SpectralCacheStore, key: spectral_cache.CacheKey,
                 job: Job | None) -> Path | None:
    name = Path(key.path).name
    try:
        build = await frame.session.run_sync(_start_build, store, frame.reader, key)
    except (spectral_cache.CacheUnavailable, OSError) as exc:
        log.warning("No spectral cache for %s: %s", name, exc)
        return None
    started = last = trio.current_time()
    log.info("Building the spectral cache of %s (%.1f GiB)", name, key.nbytes / 2**30)
    try:
        for index in range(len(build.bands)):
            if job is not None:
                await job.run_chunk(build.step, index)
            else:
                await frame.session.run_sync(build.step, index)
            now = trio.current_time()
            if now - last >= LOG_INTERVAL:
                last = now
                log.info("Spectral cache of %s: %d%%", name, 100 * (index + 1) // len(build.bands))
        path = await frame.session.run_sync(build.commit)
    except Exception as exc:  # noqa: BLE001 - a cache is optional: never an error for the viewer
        await frame.session.run_sync(build.abort)
        log.warning("Spectral cache of %s abandoned: %s", name, exc)
        return None
    except BaseException:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(build.abort)
        raise
    log.info("Spectral cache of %s built in %.1f s", name, trio.current_time() - started)
    return path


def _start_build(store: spectral_cache.SpectralCacheStore, reader: Any,
                 key: spectral_cache.CacheKey) -> spectral_cache.CacheBuild:
    store.make_room(key.nbytes)
    return spectral_cache.CacheBuild(store, reader, key)
