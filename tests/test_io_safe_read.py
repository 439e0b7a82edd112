"""read_box: any box of a raw big-endian array in a file, read with preadv, equals numpy."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from carta_trio.extensions import CheckedExtension
from carta_trio.io import safe_read
from carta_trio.io.safe_read import FileSignature, ImageChangedError, read_box


@pytest.fixture(params=["compiled loop", "python loop"], autouse=True)
def read_loop(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs through io/box_reads.c (which the package must have built) and
    through the os.preadv loop it replaces."""
    if request.param == "compiled loop":
        assert safe_read._box_reads.available()
    else:
        monkeypatch.setattr(safe_read, "_box_reads", CheckedExtension("carta_trio.io._not_built", lambda m: True, ""))
    return str(request.param)


@pytest.mark.parametrize("dtype", [">f4", ">i2", "u1", ">f8"])
def test_random_boxes_match_numpy(tmp_path: Path, dtype: str) -> None:
    rng = np.random.default_rng(3)
    shape = (3, 5, 37, 41)
    data = (rng.random(shape) * 100).astype(dtype)
    path = tmp_path / "raw.bin"
    path.write_bytes(b"x" * 123 + data.tobytes())
    fd = os.open(path, os.O_RDONLY)
    try:
        for _ in range(60):
            starts = [int(rng.integers(0, n)) for n in shape]
            stops = [int(rng.integers(a + 1, n + 1)) for a, n in zip(starts, shape)]
            box = read_box(fd, 123, shape, np.dtype(dtype), starts, stops)
            expected = data[tuple(slice(a, b) for a, b in zip(starts, stops))]
            assert box.dtype.isnative and box.shape == expected.shape
            np.testing.assert_array_equal(box, expected)
        whole = read_box(fd, 123, shape, np.dtype(dtype), [0] * 4, list(shape))
        np.testing.assert_array_equal(whole, data)
    finally:
        os.close(fd)


def test_short_file_is_an_error_and_signature_sees_changes(tmp_path: Path) -> None:
    path = tmp_path / "raw.bin"
    path.write_bytes(np.arange(1000, dtype=">f4").tobytes())
    signature = FileSignature.of(path)
    signature.check()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.truncate(path, 2000)
        with pytest.raises(ImageChangedError, match="truncated"):
            signature.check()
        with pytest.raises(ImageChangedError):
            read_box(fd, 0, (10, 100), np.dtype(">f4"), [0, 0], [10, 100], "raw.bin")
        assert read_box(fd, 0, (10, 100), np.dtype(">f4"), [0, 0], [5, 100]).shape == (5, 100)
    finally:
        os.close(fd)
    os.unlink(path)
    with pytest.raises(ImageChangedError, match="removed"):
        signature.check()
