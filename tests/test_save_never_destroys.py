"""SAVE_FILE never destroys data (issue 11 D1): no folder is removed or replaced, only the
exact file asked for, atomically; staging stays beside the target inside the top folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from carta_trio.io import safe_write, save_image
from carta_trio.messages import schema as pb
from carta_trio.messages.client import open_client
from tests.image_factory import make_cube, wcs_header, write_fits

CTYPES = ("RA---SIN", "DEC--SIN", "FREQ")
NAN = float("nan")


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry below ``folder`` with its bytes (None for folders)."""
    out: dict[str, bytes | None] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            out[os.path.relpath(os.path.join(root, name), folder)] = None
        for name in files:
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder)] = Path(path).read_bytes()
    return out


def _project(data_dir: Path) -> Path:
    project = data_dir / "project"
    (project / "notes").mkdir(parents=True)
    (project / "notes" / "thesis.tex").write_text("years of work\n")
    (project / "run.py").write_text("print('hi')\n")
    return project


async def _save(client, name: str, file_type: int, directory: str = "") -> pb.SaveFileAck:
    return await client.request(pb.SaveFile(file_id=0, output_file_directory=directory, output_file_name=name,
                                            output_file_type=file_type, rest_freq=NAN))


async def test_save_refuses_top_folder_and_folders(carta_url: str, data_dir: Path) -> None:
    write_fits(data_dir / "cube.fits", make_cube((3, 20, 24), seed=1), wcs_header(CTYPES))
    _project(data_dir)
    parent_before = sorted(os.listdir(data_dir.parent))
    before = _tree(data_dir)
    async with open_client(carta_url) as client:
        await client.register()
        assert (await client.request(pb.OpenFile(file="cube.fits", file_id=0))).success
        for name, file_type, directory in [
            (".", pb.FileType.CASA, ""), (".", pb.FileType.FITS, ""), ("", pb.FileType.CASA, "."),
            ("project", pb.FileType.CASA, ""), ("project", pb.FileType.FITS, ""),
            ("notes", pb.FileType.CASA, "project"), ("..", pb.FileType.CASA, "project"),
            ("project/..", pb.FileType.CASA, ""),
        ]:
            ack = await _save(client, name, file_type, directory)
            assert not ack.success, (name, directory)
            assert str(data_dir) not in ack.message
    assert _tree(data_dir) == before
    assert sorted(os.listdir(data_dir.parent)) == parent_before


async def test_save_refuses_open_images_and_their_folders(carta_url: str, data_dir: Path) -> None:
    (data_dir / "sub").mkdir()
    write_fits(data_dir / "sub" / "cube.fits", make_cube((2, 10, 12), seed=2), wcs_header(CTYPES))
    write_fits(data_dir / "other.fits", make_cube((2, 10, 12), seed=3), wcs_header(CTYPES))
    before = _tree(data_dir)
    async with open_client(carta_url) as client, open_client(carta_url) as second:
        await client.register()
        await second.register()
        assert (await client.request(pb.OpenFile(directory="sub", file="cube.fits", file_id=0))).success
        assert (await second.request(pb.OpenFile(file="other.fits", file_id=0))).success
        assert not (await _save(client, "sub", pb.FileType.CASA)).success
        # another session's open image is not replaced either
        refused = await _save(client, "other.fits", pb.FileType.FITS)
        assert not refused.success and "open" in refused.message
    assert _tree(data_dir) == before


async def test_save_replaces_exact_file_atomically_with_umask_mode(carta_url: str, data_dir: Path) -> None:
    data = make_cube((2, 10, 12), seed=4)
    write_fits(data_dir / "cube.fits", data, wcs_header(CTYPES))
    (data_dir / "old.fits").write_bytes(b"old contents")
    old_mask = os.umask(0o022)
    try:
        async with open_client(carta_url) as client:
            await client.register()
            assert (await client.request(pb.OpenFile(file="cube.fits", file_id=0))).success
            ack = await _save(client, "old.fits", pb.FileType.FITS)
            assert ack.success, ack.message
            new = await _save(client, "new.fits", pb.FileType.FITS)
            assert new.success, new.message
    finally:
        os.umask(old_mask)
    assert (data_dir / "old.fits").read_bytes()[:6] == b"SIMPLE"
    for name in ("old.fits", "new.fits"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o644
    assert sorted(p.name for p in data_dir.iterdir()) == ["cube.fits", "new.fits", "old.fits"]


async def test_save_casa_replaces_only_a_casa_image(carta_url: str, data_dir: Path) -> None:
    data = make_cube((2, 10, 12), seed=5)
    write_fits(data_dir / "cube.fits", data, wcs_header(CTYPES))
    write_fits(data_dir / "small.fits", make_cube((2, 4, 5), seed=6), wcs_header(CTYPES))
    (data_dir / "plain.txt").write_text("not an image")
    async with open_client(carta_url) as client:
        await client.register()
        assert (await client.request(pb.OpenFile(file="small.fits", file_id=0))).success
        assert (await _save(client, "out.image", pb.FileType.CASA)).success
        await client.send(pb.CloseFile(file_id=0))
        assert (await client.request(pb.OpenFile(file="cube.fits", file_id=0))).success
        again = await _save(client, "out.image", pb.FileType.CASA)
        assert again.success, again.message
        assert not (await _save(client, "plain.txt", pb.FileType.CASA)).success
        assert not (await _save(client, "out.image", pb.FileType.FITS)).success
    assert (data_dir / "plain.txt").read_text() == "not an image"
    from casacore import images

    image = images.image(str(data_dir / "out.image"))
    assert np.allclose(image.getdata().squeeze(), data, equal_nan=True)
    assert sorted(p.name for p in data_dir.iterdir()) == ["cube.fits", "out.image", "plain.txt", "small.fits"]


def test_casa_staging_is_beside_the_target_and_removed_on_failure(tmp_path: Path, monkeypatch) -> None:
    from carta_trio.io.fits_reader import FitsReader

    top = tmp_path / "top"
    top.mkdir()
    write_fits(top / "cube.fits", make_cube((2, 6, 7), seed=7), wcs_header(CTYPES))
    monkeypatch.setattr(save_image, "CONVERTER", "tests.faults:fail_showing_location")
    with FitsReader(top / "cube.fits") as reader:
        selection = save_image.select(reader, [], [])
        with pytest.raises(save_image.SaveError) as caught:
            save_image.write_casa(reader, top / "out.image", selection, keep_degenerate=True, rest_freq=NAN)
    text = str(caught.value)
    assert text.startswith("STAGED-IN ") and "SEVERE" not in text and ".cc" not in text
    staging = Path(text.split(" ", 1)[1])
    assert staging.parent == top and staging.name.startswith(".out.image.")
    assert sorted(p.name for p in top.iterdir()) == ["cube.fits"]
    assert sorted(os.listdir(tmp_path)) == ["top"]


def test_check_target_rules(tmp_path: Path) -> None:
    top = tmp_path / "top"
    (top / "dir").mkdir(parents=True)
    (top / "file.fits").write_bytes(b"x")
    image = top / "img.image"
    image.mkdir()
    (image / "table.dat").write_bytes(b"")
    (image / "table.info").write_text("Type = Image\n")
    check = safe_write.check_target
    with pytest.raises(safe_write.TargetError):
        check(top, top, casa=True, open_paths=[])
    with pytest.raises(safe_write.TargetError):
        check(top, top / "dir", casa=True, open_paths=[])
    with pytest.raises(safe_write.TargetError):
        check(top, top / "dir", casa=False, open_paths=[])
    with pytest.raises(safe_write.TargetError):
        check(top, top / "file.fits", casa=True, open_paths=[])
    with pytest.raises(safe_write.TargetError):
        check(top, image, casa=False, open_paths=[])
    with pytest.raises(safe_write.TargetError):
        check(top, image, casa=True, open_paths=[image])
    with pytest.raises(safe_write.TargetError):
        check(top, top / "dir", casa=True, open_paths=[top / "dir" / "a.fits"])
    with pytest.raises(safe_write.TargetError):
        check(top, top / "nodir" / "x.fits", casa=False, open_paths=[])
    assert check(top, image, casa=True, open_paths=[]) is True
    assert check(top, top / "file.fits", casa=False, open_paths=[]) is True
    assert check(top, top / "new.fits", casa=False, open_paths=[]) is False


def test_install_directory_never_replaces_without_permission(tmp_path: Path) -> None:
    staging = safe_write.make_staging(tmp_path / "out")
    (staging / "out").mkdir()
    (staging / "out" / "new").write_text("new")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "precious").write_text("keep")
    with pytest.raises(OSError):
        safe_write.install_directory(staging / "out", tmp_path / "out", replace=False)
    with pytest.raises(safe_write.TargetError):
        safe_write.install_directory(staging / "out", tmp_path / "out", replace=True)
    safe_write.remove_staging(staging)
    assert (tmp_path / "out" / "precious").read_text() == "keep"
    assert sorted(os.listdir(tmp_path)) == ["out"]
    with pytest.raises(ValueError):
        safe_write.remove_staging(tmp_path / "out")


async def test_save_from_a_casa_image_read_in_a_worker(carta_url: str, data_dir: Path) -> None:
    from casacore import images

    data = make_cube((3, 12, 14), seed=12)
    write_fits(data_dir / "src.fits", data, wcs_header(CTYPES))
    images.image(str(data_dir / "src.fits")).saveas(str(data_dir / "in.image"))
    async with open_client(carta_url) as client:
        await client.register()
        assert (await client.request(pb.OpenFile(file="in.image", file_id=0))).success
        assert not (await _save(client, "in.image", pb.FileType.CASA)).success  # the source itself
        fits_ack = await _save(client, "out.fits", pb.FileType.FITS)
        casa_ack = await _save(client, "out.image", pb.FileType.CASA)
        assert fits_ack.success and casa_ack.success, (fits_ack.message, casa_ack.message)
    from astropy.io import fits as afits

    np.testing.assert_allclose(afits.getdata(data_dir / "out.fits"), data, rtol=1e-6)
    assert np.allclose(images.image(str(data_dir / "out.image")).getdata().squeeze(), data, equal_nan=True)
