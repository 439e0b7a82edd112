"""The compiled tile encoder (codecs/zfp_encoder.c): zfpy's bytes, about three times faster.

Every tile the server sends goes through it, so it must emit exactly the stream
``zfpy.compress_numpy(a, precision=p, write_header=False)`` emits for every field a
tile can be: whole and partial 4x4 blocks, windows of a larger plane (row strides),
zero, subnormal, huge and infinite values, any precision. Both of its code paths are
checked: the SSE2 one built by the package, and the plain C one (built here with
ZFP_ENCODER_SCALAR) that machines without SSE2 compile.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import zfpy
from hypothesis import given, settings
from hypothesis import strategies as st

from carta_trio.codecs import raster_tiles, zfp_compiled
from tests.compiled_variants import build_variant



def _zfpy(arr: np.ndarray, precision: int) -> bytes:
    return bytes(zfpy.compress_numpy(np.ascontiguousarray(arr), precision=precision, write_header=False))


def test_the_package_is_built_with_the_encoder_and_uses_it() -> None:
    # CI installs with a compiler: losing the extension would silently cost 3x in tile speed
    assert zfp_compiled.available()
    field = np.arange(64, dtype=np.float32).reshape(8, 8)
    assert raster_tiles.zfp_compress(field, 11) == zfp_compiled.compress(field, 11) == _zfpy(field, 11)


@st.composite
def fields(draw: st.DrawFn) -> np.ndarray:
    height = draw(st.integers(1, 23))
    width = draw(st.integers(1, 23))
    scale = 10.0 ** draw(st.integers(-44, 37))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    with np.errstate(over="ignore", under="ignore"):
        field = (rng.normal(0.0, 1.0, (height, width)) * scale).astype(np.float32)
    kind = draw(st.sampled_from(["plain", "zeros", "integers", "specials", "constant"]))
    if kind == "zeros":
        field[rng.random(field.shape) < 0.5] = 0.0
    elif kind == "integers":
        field = np.round(field / scale * 100).astype(np.float32)
    elif kind == "specials":
        picks = rng.random(field.shape)
        field[picks < 0.1] = np.inf
        field[(picks > 0.1) & (picks < 0.2)] = -np.inf
        field[(picks > 0.2) & (picks < 0.3)] = np.float32(3e38)
        field[(picks > 0.3) & (picks < 0.4)] = np.float32(1e-45)
        field[(picks > 0.4) & (picks < 0.45)] = np.nan  # unfilled NaN: libzfp's int cast of it
    elif kind == "constant":
        field[:] = np.float32(scale)
    # a window of a larger plane half the time: the row stride is not the width
    if draw(st.booleans()):
        left, top, right = draw(st.integers(0, 5)), draw(st.integers(0, 3)), draw(st.integers(0, 5))
        plane = np.full((height + top + 2, width + left + right), np.float32(7.0))
        plane[top : top + height, left : left + width] = field
        field = plane[top : top + height, left : left + width]
    return field


@settings(max_examples=300, deadline=None)
@given(field=fields(), precision=st.sampled_from([1, 2, 5, 11, 12, 17, 24, 31, 32, 33, 64]))
def test_same_bytes_as_zfpy(field: np.ndarray, precision: int) -> None:
    assert zfp_compiled.compress(field, precision) == _zfpy(field, precision)


@pytest.mark.parametrize("precision", [11, 32])
def test_same_bytes_as_zfpy_for_the_tiles_of_a_plane(precision: int) -> None:
    rng = np.random.default_rng(precision)
    yy, xx = np.mgrid[0:600, 0:700].astype(np.float32)
    plane = (np.sin(xx / 37) * np.cos(yy / 23) * 1e-3 + rng.normal(0, 1e-4, (600, 700))).astype(np.float32)
    for y in range(0, 600, 256):
        for x in range(0, 700, 256):
            tile = plane[y : y + 256, x : x + 256]  # edge tiles: 88 wide, 88 high
            assert zfp_compiled.compress(tile, precision) == _zfpy(tile, precision)


def test_refuses_what_it_cannot_read() -> None:
    good = np.zeros((4, 4), np.float32)
    for bad in (good.astype(np.float64), good[:, ::2], good.T.copy()[None], np.zeros((0, 4), np.float32)):
        with pytest.raises(ValueError):
            zfp_compiled.compress(bad, 11)
    for precision in (0, 65, -3):
        with pytest.raises(ValueError):
            zfp_compiled.compress(good, precision)


def test_it_releases_the_gil_while_encoding() -> None:
    rng = np.random.default_rng(1)
    field = rng.normal(0, 1, (4096, 2048)).astype(np.float32)
    beats: list[float] = []
    running = threading.Event()
    stop = threading.Event()

    def heartbeat() -> None:
        running.set()
        while not stop.is_set():
            beats.append(time.perf_counter())
            time.sleep(0.0005)

    thread = threading.Thread(target=heartbeat)
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.1)  # a call holding the GIL would stall the heartbeat ~100 ms
    try:
        thread.start()
        running.wait()
        start = time.perf_counter()
        zfp_compiled.compress(field, 32)
        end = time.perf_counter()
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(old)
    during = [t for t in beats if start <= t <= end]
    assert end - start > 0.02, "the field is too small to tell"
    assert len(during) >= 5, f"{len(during)} heartbeats in a {end - start:.3f} s call: the GIL was held"


def test_a_wrong_encoder_is_never_used() -> None:
    class Wrong:
        @staticmethod
        def compress(arr: np.ndarray, precision: int) -> bytes:
            return _zfpy(arr, precision)[:-8]

    zfp_compiled.extension.replace(Wrong)  # type: ignore[arg-type]
    try:
        assert not zfp_compiled.available()
        assert zfp_compiled.compress(np.ones((4, 4), np.float32), 11) is None
        field = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
        assert raster_tiles.zfp_compress(field, 11) == _zfpy(field, 11)  # libzfp or zfpy instead
    finally:
        zfp_compiled.extension.replace(None)
    assert zfp_compiled.available()


def test_the_plain_c_path_gives_the_same_bytes(tmp_path: Path) -> None:
    scalar = build_variant("codecs/zfp_encoder.c", "_zfp_encoder", "ZFP_ENCODER_SCALAR", tmp_path, "-fwrapv")
    for field in zfp_compiled.check_fields():
        for precision in (1, 11, 32, 64):
            assert scalar.compress(field, precision) == _zfpy(field, precision)
    rng = np.random.default_rng(4)
    plane = (rng.normal(0, 1, (300, 300)) * np.logspace(-20, 20, 300)).astype(np.float32)
    plane[::7, ::5] = 0.0
    for window in (plane, plane[3:290, 1:257]):
        assert scalar.compress(window, 11) == _zfpy(window, 11)
