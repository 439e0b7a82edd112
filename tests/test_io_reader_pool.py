"""Readers and caches shared per file (issue 11 D8): the pool and its byte-bounded LRU."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from carta_trio.io import images
from carta_trio.io.reader_pool import ByteLRU, ReaderPool, nbytes_of
from tests.image_factory import write_fits


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "a.fits"
    write_fits(path, np.arange(6 * 8, dtype=np.float32).reshape(6, 8))
    return path


def test_lru_keeps_within_its_byte_budget_and_evicts_the_least_recent() -> None:
    cache = ByteLRU(1000)
    cache.put("a", b"x", 400)
    cache.put("b", b"y", 400)
    assert cache.get("a") == b"x"  # a is now the most recent
    cache.put("c", b"z", 400)
    assert cache.get("b") is None and cache.get("a") == b"x" and cache.used == 800
    cache.put("huge", b"!", 5000)  # larger than the budget: not kept, nothing evicted
    assert cache.get("huge") is None and len(cache) == 2
    cache.resize(500)
    assert cache.used <= 500 and len(cache) == 1


def test_same_file_shares_one_reader_closed_with_its_last_handle(image: Path) -> None:
    opened: list[object] = []

    def opener(path: Path, hdu: str):  # type: ignore[no-untyped-def]
        reader = images.open_image(path, hdu)
        opened.append(reader)
        return reader

    pool = ReaderPool(1 << 20)
    first = pool.open(image, "0", opener)
    second = pool.open(image, "0", opener)
    assert len(opened) == 1 and first.shared is second.shared and pool.open_files == 1
    plane = pool.cached(first, ("plane", 0, 0), lambda: first.read_plane(0, 0))
    assert pool.cached(second, ("plane", 0, 0), lambda: pytest.fail("computed twice")) is plane
    assert not plane.flags.writeable  # shared: nobody may change it for the others
    first.close()
    first.close()  # closing a handle twice releases it once
    assert second.read_plane(0, 0)[1, 2] == 10 and pool.open_files == 1
    second.close()
    assert pool.open_files == 0 and pool.cache.used == 0  # its cache entries went with it


def test_changed_file_gets_a_new_reader(image: Path) -> None:
    pool = ReaderPool(1 << 20)
    old = pool.open(image, "0", images.open_image)
    write_fits(image, np.full((6, 8), 7, dtype=np.float32))
    os.utime(image, ns=(time.time_ns(), time.time_ns() + 10**9))
    new = pool.open(image, "0", images.open_image)
    assert new.shared is not old.shared and pool.open_files == 2
    assert new.read_plane(0, 0)[0, 0] == 7
    old.close()
    new.close()


def test_concurrent_requests_compute_an_entry_once(image: Path) -> None:
    pool = ReaderPool(1 << 20)
    reader = pool.open(image, "0", images.open_image)
    calls: list[int] = []

    def slow() -> np.ndarray:
        calls.append(1)
        time.sleep(0.1)
        return np.zeros(10)

    threads = [threading.Thread(target=pool.cached, args=(reader, ("k",), slow)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    reader.close()


def test_adopted_readers_cache_under_their_own_identity(image: Path) -> None:
    pool = ReaderPool(1 << 20)
    a = pool.adopt(images.open_image(image, "0"))
    b = pool.adopt(images.open_image(image, "0"))
    assert a.pool_identity != b.pool_identity and pool.adopt(a) is a
    pool.store(a, ("x",), np.ones(3))
    assert pool.peek(a, ("x",)) is not None and pool.peek(b, ("x",)) is None
    a.close()
    b.close()
    assert pool.open_files == 0 and pool.cache.used == 0


def test_nbytes_counts_arrays_inside_containers() -> None:
    assert nbytes_of([np.zeros(1000, dtype=np.float64), b"x" * 100]) >= 8100
