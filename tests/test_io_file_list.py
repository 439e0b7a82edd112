"""File list (io/file_list.py): GOLDEN.md §2, filter modes, hidden entries, folders and
image directories, symlinks, directory/parent fields, progress cadence and stopping."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from carta_trio.io.file_list import (
    ListProgress,
    ProgressCadence,
    file_list,
    iter_file_list,
    progress_message,
)
from carta_trio.messages import schema as pb
from tests.golden_factory import write_all

FITS, HDF5, CASA, UNKNOWN = pb.FileType.FITS, pb.FileType.HDF5, pb.FileType.CASA, pb.FileType.UNKNOWN
Mode = pb.FileListFilterMode

GOLDEN_LIST = {  # name -> (type, size or None when it depends on zlib/HDF5/casacore, HDU_list)
    "cube_freq.fits": (FITS, 34560, [""]), "cube_freq.fits.gz": (FITS, None, [""]),
    "cube_freq.image": (CASA, 75994, [""]), "cube_idia.hdf5": (HDF5, 36889, ["0"]),
    "cube_nosimple.hdf5": (HDF5, 36886, ["0"]), "ecliptic.fits": (FITS, 17280, [""]),
    "eq_neg.fits": (FITS, 17280, [""]), "eq_pos.fits": (FITS, 17280, [""]), "eq_pos.image": (CASA, 120665, [""]),
    "galactic.fits": (FITS, 17280, [""]), "int16_scaled.fits": (FITS, 11520, [""]),
    "multihdu.fits": (FITS, 23040, [""]), "multihdu.fits.gz": (FITS, None, [""]),
    "stokes4d.fits": (FITS, 66240, [""]), "swapped.fits": (FITS, 28800, [""]),
}


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("golden")
    write_all(folder)
    return folder


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.mark.parametrize("mode", [Mode.Content, Mode.Extension, Mode.AllFiles])
def test_golden_folder(golden: Path, mode: int) -> None:
    response = file_list(golden, golden, "", mode)
    assert (response.success, response.directory, response.parent, response.cancel) == (True, "", ".", False)
    assert list(response.subdirectories) == []
    files = {f.name: f for f in response.files}
    assert sorted(files) == sorted(GOLDEN_LIST)
    for name, (kind, size, hdus) in GOLDEN_LIST.items():
        entry = files[name]
        path = golden / name
        assert (entry.type, list(entry.HDU_list)) == (kind, hdus)
        expected_size = tree_size(path) if path.is_dir() else path.stat().st_size
        assert entry.size == expected_size
        if size is not None and kind != CASA:
            assert entry.size == size
        assert entry.date == int(path.stat().st_mtime)
    # directory iteration order, not sorted
    assert [f.name for f in response.files] == [e.name for e in os.scandir(golden) if e.name in files]


@pytest.fixture
def mixed(tmp_path: Path, golden: Path) -> Path:
    """A folder with files that the three filter modes treat differently."""
    top = tmp_path / "mixed"
    top.mkdir()
    (top / "real.fits").write_bytes((golden / "eq_pos.fits").read_bytes())
    (top / "renamed.dat").write_bytes((golden / "eq_pos.fits").read_bytes())  # FITS by content only
    (top / "fake.fits").write_text("not fits")  # FITS by extension only
    (top / "UPPER.FITS").write_text("not fits")
    (top / "tiles.fz").write_text("x")
    (top / "cube.HDF5").write_bytes((golden / "cube_idia.hdf5").read_bytes())
    (top / "notes.txt").write_text("hello")
    with gzip.open(top / "packed.fits.gz", "wb") as f:
        f.write((golden / "eq_pos.fits").read_bytes())
    with gzip.open(top / "packed.gz", "wb") as f:  # gzip whose stem is not .fits
        f.write(b"x")
    (top / ".hidden.fits").write_bytes((golden / "eq_pos.fits").read_bytes())
    sub = top / "sub"
    sub.mkdir()
    for name in ("a", "b", ".c"):
        (sub / name).write_text(name)
    (top / ".hidden_dir").mkdir()
    (top / "link.fits").symlink_to(top / "real.fits")
    (top / "linkdir").symlink_to(sub)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.fits").write_bytes((golden / "eq_pos.fits").read_bytes())
    (top / "out.fits").symlink_to(outside / "o.fits")
    (top / "outdir").symlink_to(outside)
    (top / "dangling.fits").symlink_to(top / "missing.fits")
    return top


def listing(top: Path, mode: int, directory: str = "") -> dict[str, int]:
    response = file_list(top, top, directory, mode)
    assert response.success
    return {f.name: f.type for f in response.files}


def test_content_mode(mixed: Path) -> None:
    assert listing(mixed, Mode.Content) == {
        "real.fits": FITS, "renamed.dat": FITS, "cube.HDF5": HDF5, "packed.fits.gz": FITS, "link.fits": FITS}


def test_extension_mode(mixed: Path) -> None:
    assert listing(mixed, Mode.Extension) == {
        "real.fits": FITS, "fake.fits": FITS, "UPPER.FITS": FITS, "tiles.fz": FITS, "cube.HDF5": HDF5,
        "packed.fits.gz": FITS, "link.fits": FITS}


def test_all_files_mode(mixed: Path) -> None:
    assert listing(mixed, Mode.AllFiles) == {
        "real.fits": FITS, "renamed.dat": UNKNOWN, "fake.fits": FITS, "UPPER.FITS": FITS, "tiles.fz": FITS,
        "cube.HDF5": HDF5, "notes.txt": UNKNOWN, "packed.fits.gz": FITS, "packed.gz": UNKNOWN, "link.fits": FITS}


def test_subdirectories_and_symlinks(mixed: Path) -> None:
    response = file_list(mixed, mixed, "", Mode.Content)
    dirs = {d.name: d for d in response.subdirectories}
    assert sorted(dirs) == ["linkdir", "sub"]
    assert dirs["sub"].item_count == 3  # hidden entries count
    assert dirs["sub"].date == int((mixed / "sub").stat().st_mtime)
    link = next(f for f in response.files if f.name == "link.fits")
    assert link.size == (mixed / "real.fits").stat().st_size


def test_directory_and_parent_fields(mixed: Path) -> None:
    sub = file_list(mixed, mixed, "sub", Mode.AllFiles)
    assert (sub.success, sub.directory, sub.parent) == (True, "sub", ".")
    assert sorted(f.name for f in sub.files) == ["a", "b"]
    (mixed / "sub" / "deeper").mkdir()
    deeper = file_list(mixed, mixed, "sub/deeper", Mode.Content)
    assert (deeper.directory, deeper.parent) == ("sub/deeper", "sub")
    base = file_list(mixed, mixed / "sub", "$BASE", Mode.Content)
    assert (base.directory, base.parent) == ("sub", ".")
    top = file_list(mixed, mixed, "$BASE", Mode.Content)
    assert (top.directory, top.parent) == ("", ".")
    absolute = file_list(mixed, mixed, str(mixed / "sub"), Mode.Content)
    assert absolute.directory == "sub"


@pytest.mark.parametrize("directory, message", [
    ("nodir", "File list failed: Directory nodir does not exist."),
    ("real.fits", "File list failed: requested path real.fits is not a directory."),
    ("..", "Forbidden path."),
    ("outdir", "Forbidden path."),
    ("sub/../../outside", "Forbidden path."),
])
def test_failures(mixed: Path, directory: str, message: str) -> None:
    response = file_list(mixed, mixed, directory, Mode.Content)
    assert (response.success, response.message) == (False, message)
    assert len(response.files) == 0


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_cadence() -> None:
    clock = FakeClock()
    cadence = ProgressCadence(clock)
    due = []
    for step in range(160):
        clock.now = step * 0.125  # exact in binary: no drift
        if cadence.due():
            due.append(clock.now)
    # first report once 0.1 s passed (the reference waits for more than 5 whole seconds:
    # a deliberate difference, issue 17), then every 3 whole seconds as the reference
    assert due == [0.125, 3.125, 6.125, 9.125, 12.125, 15.125, 18.125]


def test_generator_yields_progress_then_response(tmp_path: Path) -> None:
    for i in range(50):
        (tmp_path / f"f{i:02d}.fits").write_text("x")
    clock = FakeClock()

    def ticking() -> float:
        clock.now += 0.5  # each clock read advances half a second
        return clock.now

    items = list(iter_file_list(tmp_path, tmp_path, "", Mode.Extension, clock=ticking, checkpoint=1.0))
    *progress, response = items
    assert isinstance(response, pb.FileListResponse) and response.success and len(response.files) == 50
    assert all(isinstance(p, ListProgress) and p.total == 50 for p in progress)
    assert [p.checked for p in progress] == sorted(p.checked for p in progress)
    reports = [p for p in progress if p.report]
    assert reports and len(reports) < len(progress)
    message = progress_message(reports[0])
    assert (message.file_list_type, message.total_count, message.checked_count) == (
        pb.FileListType.Image, 50, reports[0].checked)
    assert message.percentage == pytest.approx(reports[0].checked / 50)


def test_generator_can_be_stopped(tmp_path: Path) -> None:
    for i in range(20):
        (tmp_path / f"f{i:02d}.fits").write_text("x")
    clock = FakeClock()

    def ticking() -> float:
        clock.now += 1.0
        return clock.now

    generator = iter_file_list(tmp_path, tmp_path, "", Mode.Extension, clock=ticking, checkpoint=0.5)
    first = next(generator)
    assert isinstance(first, ListProgress) and first.checked < 20
    generator.close()
    with pytest.raises(StopIteration):
        next(generator)


def test_unreadable_entries_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "ok.fits").write_text("x")
    locked = tmp_path / "locked.fits"
    locked.write_text("x")
    locked.chmod(0)
    try:
        names = {f.name for f in file_list(tmp_path, tmp_path, "", Mode.Extension).files}
        assert "ok.fits" in names
        assert ("locked.fits" in names) == os.access(locked, os.R_OK)
    finally:
        locked.chmod(0o644)


def test_a_fifo_named_like_an_image_never_blocks_the_listing(tmp_path: Path) -> None:
    (tmp_path / "ok.fits").write_bytes(b"SIMPLE  =                    T".ljust(2880))
    os.mkfifo(tmp_path / "pipe.fits")  # opening it for reading would wait for a writer
    response = file_list(tmp_path, tmp_path, "", Mode.Content)
    assert [f.name for f in response.files] == ["ok.fits"]


def test_an_hdf5_file_being_written_is_listed_without_waiting(tmp_path: Path) -> None:
    """Another process holds the file open for writing (HDF5 locks it): the listing
    neither waits nor fails, and still reads its HDUs."""
    import subprocess
    import sys
    import time

    path = tmp_path / "growing.hdf5"
    writer = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time, h5py, numpy as np\n"
            f"f = h5py.File({str(path)!r}, 'w')\n"
            "f.create_dataset('0', data=np.zeros((4, 4)))\n"
            "f.flush()\n"
            "print('open', flush=True)\n"
            "sys.stdin.readline()\n"
        )],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "open"
        start = time.monotonic()
        response = file_list(tmp_path, tmp_path, "", Mode.Content)
        assert time.monotonic() - start < 5
        assert [(f.name, f.type, list(f.HDU_list)) for f in response.files] == [("growing.hdf5", HDF5, ["0"])]
    finally:
        writer.communicate("\n", timeout=10)
