"""A tile's NaN run lengths and filled copy through codecs/nan_blocks.c, against the numpy rules.

The run lengths go to the frontend as they are and the filled values decide the ZFP
bytes, so both must be exactly what ``raster_tiles.nan_encodings`` and
``raster_tiles.fill_nan_blocks`` give: for whole and partial blocks, windows of a plane,
leading NaN, all-NaN blocks and ±Inf; through the SSE2 path the package builds and the
plain C one (built here with NAN_BLOCKS_SCALAR).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carta_trio.codecs import raster_tiles, tile_nans
from tests.compiled_variants import build_variant



def expected(tile: np.ndarray) -> tuple[list[int], bytes]:
    filled = np.array(tile, copy=True)
    with np.errstate(invalid="ignore", over="ignore"):
        raster_tiles.fill_nan_blocks(filled)
    return raster_tiles.nan_encodings(tile).tolist(), filled.tobytes()


def agree(module: ModuleType, tile: np.ndarray) -> None:
    runs, filled = module.prepare(tile)
    want_runs, want_filled = expected(tile)
    assert np.frombuffer(runs, np.int32).tolist() == want_runs
    if filled is None:
        assert not np.isnan(tile).any()
    else:
        assert np.frombuffer(filled, np.float32).tobytes() == want_filled


def test_the_package_is_built_with_the_extension() -> None:
    assert tile_nans.available()


@st.composite
def tiles(draw: st.DrawFn) -> np.ndarray:
    h, w = draw(st.integers(1, 37)), draw(st.integers(1, 37))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    tile = rng.normal(0.0, 10.0, (h, w)).astype(np.float32)
    tile[rng.random((h, w)) < draw(st.sampled_from([0.0, 0.001, 0.05, 0.5, 0.95, 1.0]))] = np.nan
    if draw(st.booleans()):
        tile[: draw(st.integers(0, h)), : draw(st.integers(0, w))] = np.nan  # a masked corner
    if draw(st.booleans()):
        tile[rng.random((h, w)) < 0.05] = np.inf
        tile[rng.random((h, w)) < 0.05] = -np.inf
    if draw(st.booleans()):  # a window of a larger plane
        plane = np.full((h + 3, w + 5), np.float32(2.5))
        plane[1 : h + 1, 2 : w + 2] = tile
        tile = plane[1 : h + 1, 2 : w + 2]
    return tile


@settings(max_examples=300, deadline=None)
@given(tile=tiles())
def test_same_runs_and_fill_as_numpy(tile: np.ndarray) -> None:
    module = tile_nans.extension.module
    assert module is not None
    agree(module, tile)


def test_encode_tile_gives_the_same_message_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(12)
    plane = rng.normal(0, 1, (600, 520)).astype(np.float32)
    yy, xx = np.ogrid[:600, :520]
    plane[(yy - 600) ** 2 + (xx - 520) ** 2 < 150**2] = np.nan  # a masked corner
    plane[:256][rng.random((256, 520)) < 0.002] = np.nan  # blanks in the first row of tiles
    windows = [plane[y : y + 256, x : x + 256] for y in range(0, 600, 256) for x in range(0, 520, 256)]
    fast = [raster_tiles.encode_tile(w, raster_tiles.COMPRESSION_ZFP, 11) for w in windows]
    monkeypatch.setattr(tile_nans, "prepare", lambda tile: None)
    slow = [raster_tiles.encode_tile(w, raster_tiles.COMPRESSION_ZFP, 11) for w in windows]
    assert fast == slow
    assert any(len(t.nan_encodings) > 4 for t in fast) and any(len(t.nan_encodings) == 4 for t in fast)


def test_refuses_what_it_cannot_read() -> None:
    module = tile_nans.extension.module
    assert module is not None
    for bad in (np.zeros((4, 4)), np.zeros((4, 4), np.float32)[:, ::2], np.zeros(4, np.float32), np.zeros((0, 3), np.float32)):
        with pytest.raises(ValueError):
            module.prepare(bad)


def test_the_plain_c_path_agrees(tmp_path: Path) -> None:
    scalar = build_variant("codecs/nan_blocks.c", "_nan_blocks", "NAN_BLOCKS_SCALAR", tmp_path)
    assert tile_nans._agrees_with_numpy(scalar)
    rng = np.random.default_rng(2)
    for _ in range(50):
        tile = rng.normal(0, 1, tuple(rng.integers(1, 40, 2))).astype(np.float32)
        tile[rng.random(tile.shape) < 0.2] = np.nan
        agree(scalar, tile)
