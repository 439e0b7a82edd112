"""Files carta-trio writes for the user get the mode the process umask allows (issue 19)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from carta_trio.io import safe_write
from carta_trio.io.region_file_io import write_text_atomic


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_saved_files_and_exported_regions_honour_the_umask(tmp_path: Path, mask: int, mode: int) -> None:
    old = os.umask(mask)
    try:
        assert safe_write.umask() == mask
        safe_write.write_file_atomically(tmp_path / "image.fits", b"x")
        write_text_atomic(tmp_path / "regions.crtf", "#CRTFv0\n")
        (tmp_path / "old.fits").write_bytes(b"old")
        os.chmod(tmp_path / "old.fits", 0o600)
        safe_write.write_file_atomically(tmp_path / "old.fits", b"new")
    finally:
        os.umask(old)
    for name in ("image.fits", "regions.crtf", "old.fits"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    assert sorted(os.listdir(tmp_path)) == ["image.fits", "old.fits", "regions.crtf"]
