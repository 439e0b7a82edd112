"""The compiled batch reader of a content-mode listing (io/file_heads.c) and the listing through it.

A first listing reads the head of every plain file. With the batch reader the open,
fstat, read and close of a round of files happen in C on two threads; the listing must
be exactly the one the per-file Python calls give, for every kind of entry a folder
can hold.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from carta_trio.io import file_heads, file_kinds, file_list
from carta_trio.messages import schema as pb

FITS = (b"SIMPLE  =                    T".ljust(80) + b"END".ljust(80)).ljust(2880)
HDF5 = b"\x89HDF\r\n\x1a\n" + bytes(100)


def test_the_package_is_built_with_the_batch_reader() -> None:
    assert file_heads.available()


def test_read_heads_reports_what_stat_and_read_see(tmp_path: Path) -> None:
    (tmp_path / "a.fits").write_bytes(FITS)
    (tmp_path / "short").write_bytes(b"abc")
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        names = ["a.fits", "short", "empty", "sub", "pipe", "dangling", "missing", "a.fits"]
        heads = file_heads.read_heads(fd, names, 80)
        parallel = file_heads.read_heads_in_parallel(fd, names * 20, 80)
    finally:
        os.close(fd)
    a = heads[0]
    assert a is not None
    st = os.stat(tmp_path / "a.fits")
    assert (a.mode, a.size, a.mtime, a.dev, a.ino, a.ctime_ns) == (
        st.st_mode, st.st_size, int(st.st_mtime), st.st_dev, st.st_ino, st.st_ctime_ns)
    assert a.head == FITS[:80]
    assert heads[1] is not None and heads[1].head == b"abc"
    assert heads[2] is not None and heads[2].head == b""
    assert heads[3] is not None and heads[3].head is None and stat.S_ISDIR(heads[3].mode)
    assert heads[4] is not None and heads[4].head is None and stat.S_ISFIFO(heads[4].mode)  # never read: no hang
    assert heads[5] is None and heads[6] is None
    assert heads[7] == a
    assert parallel == heads * 20


def test_read_heads_refuses_bad_arguments(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        with pytest.raises(TypeError):
            file_heads.read_heads(fd, [b"bytes"], 80)  # type: ignore[list-item]
        with pytest.raises(ValueError):
            file_heads.read_heads(fd, ["x"], -1)
        assert file_heads.read_heads(fd, [], 80) == []
    finally:
        os.close(fd)


def mixed_folder(folder: Path) -> None:
    for i in range(150):
        kind = i % 10
        if kind < 4:
            (folder / f"image_{i:03d}.fits").write_bytes(FITS)
        elif kind == 4:
            (folder / f"cube_{i:03d}.hdf5").write_bytes(HDF5)
        elif kind == 5:
            (folder / f"user_block_{i:03d}.h5").write_bytes(bytes(512) + HDF5)  # HDF5 after a user block
        elif kind == 6:
            (folder / f"notes_{i:03d}.txt").write_bytes(b"not an image\n" * 80)
        elif kind == 7:
            (folder / f"packed_{i:03d}.fits.gz").write_bytes(b"\x1f\x8b" + bytes(40))
        elif kind == 8:
            (folder / f"dir_{i:03d}").mkdir()
        else:
            (folder / f".hidden_{i:03d}.fits").write_bytes(FITS)
    os.mkfifo(folder / "a_pipe.fits")
    (folder / "link.fits").symlink_to(folder / "image_000.fits")
    (folder / "broken.fits").symlink_to(folder / "nowhere.fits")
    (folder / "locked.fits").write_bytes(FITS)
    (folder / "locked.fits").chmod(0)


def listing(top: Path) -> tuple[list[tuple[str, int, int, int, list[str]]], list[tuple[str, int]]]:
    response = file_list.file_list(top, None, "big")
    assert response.success
    files = sorted((f.name, f.type, f.size, f.date, list(f.HDU_list)) for f in response.files)
    folders = sorted((d.name, d.item_count) for d in response.subdirectories)
    return files, folders


def test_a_listing_through_the_batch_reader_is_the_per_file_listing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    mixed_folder(folder)
    file_kinds.forget_all()
    batched = listing(tmp_path)
    file_kinds.forget_all()
    monkeypatch.setattr(file_heads, "available", lambda: False)
    per_file = listing(tmp_path)
    assert batched == per_file
    kinds = {name: kind for name, kind, *_ in batched[0]}
    assert kinds["image_000.fits"] == pb.FileType.FITS and kinds["link.fits"] == pb.FileType.FITS
    assert kinds["user_block_005.h5"] == pb.FileType.HDF5 and kinds["packed_007.fits.gz"] == pb.FileType.FITS
    assert not any(name.startswith((".", "notes_", "broken", "a_pipe")) for name in kinds)
    assert len(batched[1]) == 15


def test_the_batch_reader_is_used_for_a_new_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    for i in range(200):
        (folder / f"i{i:03d}.fits").write_bytes(FITS)
    calls: list[int] = []
    real = file_heads.read_heads_in_parallel

    def counting(dir_fd: int, names: list[str], nbytes: int) -> list[file_heads.Head | None]:
        calls.append(len(names))
        return real(dir_fd, names, nbytes)

    monkeypatch.setattr(file_heads, "read_heads_in_parallel", counting)
    file_kinds.forget_all()
    files, _ = listing(tmp_path)
    assert len(files) == 200
    # the first block is looked up by stat (is the folder known?), the rest read in rounds
    assert sum(calls) == 200 - file_list.BLOCK and max(calls) <= file_list.ROUND * file_list.BLOCK
