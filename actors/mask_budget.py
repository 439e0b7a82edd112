"""A byte budget for the region masks one session keeps cached (issue 11: bounded memory).

Each region caches its pixel mask per file (:meth:`carta_trio.actors.regions.Region.compute_mask`),
a bool per pixel of its bounding box. Without a bound, a session with many large regions,
or regions applied to many files, keeps one image-sized mask per region and file for as
long as the region lives. The budget records every cached mask with its size; beyond
:data:`carta_trio.limits.MAX_REGION_MASK_BYTES` the least recently used are dropped from
their region's cache (computed again when next needed). The newest mask always stays.

Masks are computed in worker threads, so the bookkeeping holds a lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, MutableMapping
from typing import Any

from carta_trio import limits

__all__ = ["MaskBudget"]


class MaskBudget:
    """Cached masks of one session, oldest use first, and their total bytes."""

    def __init__(self) -> None:
        self.used = 0
        #: (owner, key) -> (the owner's cache dict, bytes)
        self._entries: OrderedDict[tuple[int, Hashable], tuple[MutableMapping[Any, Any], int]] = OrderedDict()
        self._lock = threading.Lock()

    def added(self, owner: int, cache: MutableMapping[Any, Any], key: Hashable, nbytes: int) -> None:
        """``cache[key]`` (``nbytes``) was just stored; drop the least recently used
        entries while the total is over the limit."""
        with self._lock:
            old = self._entries.pop((owner, key), None)
            if old is not None:
                self.used -= old[1]
            self._entries[(owner, key)] = (cache, nbytes)
            self.used += nbytes
            while self.used > limits.MAX_REGION_MASK_BYTES and len(self._entries) > 1:
                (_, old_key), (old_cache, size) = self._entries.popitem(last=False)
                old_cache.pop(old_key, None)
                self.used -= size

    def used_again(self, owner: int, key: Hashable) -> None:
        """A cached entry was read: it becomes the most recently used."""
        with self._lock:
            if (owner, key) in self._entries:
                self._entries.move_to_end((owner, key))

    def forget(self, owner: int) -> None:
        """The owner cleared its cache (region changed or removed)."""
        with self._lock:
            for entry in [entry for entry in self._entries if entry[0] == owner]:
                self.used -= self._entries.pop(entry)[1]
