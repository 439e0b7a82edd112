"""Locating and installing the frontend build, with a fake ``npm`` (no network).

The fake npm is a small script put first on PATH: it records its arguments and writes
a tarball shaped like the real ``carta-frontend`` one (``package/build/...`` plus files
outside ``build`` that must not be unpacked).
"""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import tarfile
from pathlib import Path

import pytest

from carta_trio.io import frontend_install as fi

BUILD_FILES = {
    "package/build/index.html": b"<html>carta</html>",
    "package/build/static/js/main.abc.js": b"console.log('x')",
    "package/build/ast_wrapper.wasm": b"\x00asm\x01\x00\x00\x00",
    "package/package.json": b'{"name": "carta-frontend"}',
    "package/docs_website/readme.md": b"docs",
}


def make_tarball(path: Path, files: dict[str, bytes], extra: list[tarfile.TarInfo] = ()) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            archive.addfile(info, io.BytesIO(data))
        for info in extra:
            archive.addfile(info)
    return path


@pytest.fixture
def fake_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An ``npm`` on PATH that copies a prepared tarball where ``npm pack`` would write it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    source = make_tarball(tmp_path / "source.tgz", BUILD_FILES)
    calls = tmp_path / "npm_calls.jsonl"
    script = bin_dir / "npm"
    script.write_text(
        f"""#!{sys.executable}
import json, shutil, sys
from pathlib import Path
args = sys.argv[1:]
with open({str(calls)!r}, "a") as f:
    f.write(json.dumps(args) + "\\n")
if args[:1] != ["pack"] or args[1] != "carta-frontend@4.1.0":
    sys.stderr.write("npm error 404 Not Found - " + " ".join(args) + "\\n")
    sys.exit(1)
dest = Path(args[args.index("--pack-destination") + 1])
assert dest.is_absolute() and dest.is_dir(), dest
shutil.copy({str(source)!r}, dest / "carta-frontend-4.1.0.tgz")
print(json.dumps([{{"filename": "carta-frontend-4.1.0.tgz"}}]))
"""
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


def npm_calls(calls: Path) -> list[list[str]]:
    if not calls.exists():
        return []
    return [json.loads(line) for line in calls.read_text().splitlines()]


def test_install_unpacks_only_the_build_folder(tmp_path: Path, fake_npm: Path) -> None:
    root = tmp_path / "root"
    build = fi.install_frontend(root)
    assert build == (root / "frontend" / "4.1.0").resolve()
    files = sorted(p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file())
    assert files == ["ast_wrapper.wasm", "index.html", "static/js/main.abc.js"]
    assert (build / "ast_wrapper.wasm").read_bytes() == BUILD_FILES["package/build/ast_wrapper.wasm"]
    # Readable by the server even though the archive said 0600.
    assert stat.S_IMODE((build / "index.html").stat().st_mode) == 0o644
    # No staging folder is left behind.
    assert sorted(p.name for p in (root / "frontend").iterdir()) == ["4.1.0"]
    (call,) = npm_calls(fake_npm)
    assert call[:2] == ["pack", "carta-frontend@4.1.0"]


def test_install_is_idempotent_and_offline_once_installed(tmp_path: Path, fake_npm: Path) -> None:
    first = fi.install_frontend(tmp_path / "root")
    marker = first / "index.html"
    marker.write_bytes(b"<html>kept</html>")
    second = fi.install_frontend(tmp_path / "root")
    assert second == first
    assert marker.read_bytes() == b"<html>kept</html>"
    assert len(npm_calls(fake_npm)) == 1


def test_install_into_a_relative_root(
    tmp_path: Path, fake_npm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    build = fi.install_frontend(Path(".cache"))
    assert build == (tmp_path / ".cache" / "frontend" / "4.1.0").resolve()
    assert (build / "index.html").is_file()


def test_install_replaces_an_empty_placeholder(tmp_path: Path, fake_npm: Path) -> None:
    (tmp_path / "root" / "frontend" / "4.1.0").mkdir(parents=True)
    build = fi.install_frontend(tmp_path / "root")
    assert (build / "index.html").is_file()


def test_install_refuses_to_overwrite_a_foreign_folder(tmp_path: Path, fake_npm: Path) -> None:
    target = tmp_path / "root" / "frontend" / "4.1.0"
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("mine")
    with pytest.raises(fi.FrontendInstallError, match="not a CARTA frontend build"):
        fi.install_frontend(tmp_path / "root")
    assert (target / "notes.txt").read_text() == "mine"
    assert npm_calls(fake_npm) == []


def test_missing_npm_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(fi.FrontendInstallError, match="npm was not found.*--frontend_folder"):
        fi.install_frontend(tmp_path / "root")
    assert not (tmp_path / "root" / "frontend" / "4.1.0").exists()


def test_npm_failure_reports_its_message_and_cleans_up(tmp_path: Path, fake_npm: Path) -> None:
    with pytest.raises(fi.FrontendInstallError, match=r"exit 1\):\nnpm error 404 Not Found"):
        fi.install_frontend(tmp_path / "root", version="9.9.9")
    assert list((tmp_path / "root" / "frontend").iterdir()) == []


@pytest.mark.parametrize("version", ["latest", "--registry=http://x", "4.1", "../4.1.0"])
def test_malformed_version_is_refused_before_npm(tmp_path: Path, fake_npm: Path, version: str) -> None:
    with pytest.raises(ValueError):
        fi.install_frontend(tmp_path / "root", version=version)
    assert npm_calls(fake_npm) == []


def test_extract_refuses_links_and_escapes(tmp_path: Path) -> None:
    link = tarfile.TarInfo("package/build/evil-link")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    escape = {"package/build/../../escaped.txt": b"x", "/abs/package/build/a": b"y"}
    tarball = make_tarball(tmp_path / "t.tgz", {**BUILD_FILES, **escape}, [link])
    count = fi.extract_build(tarball, tmp_path / "out")
    assert count == 3
    assert not (tmp_path / "out" / "evil-link").exists()
    assert not (tmp_path / "escaped.txt").exists()


def test_extract_without_index_html_fails(tmp_path: Path) -> None:
    tarball = make_tarball(tmp_path / "t.tgz", {"package/build/static/x.js": b"x"})
    with pytest.raises(fi.FrontendInstallError, match="no package/build/index.html"):
        fi.extract_build(tarball, tmp_path / "out")


def test_extract_of_a_corrupt_archive_fails_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(fi.FrontendInstallError, match="cannot unpack"):
        fi.extract_build(bad, tmp_path / "out")


def test_find_frontend_prefers_the_user_install(tmp_path: Path) -> None:
    user = tmp_path / ".carta"
    build = user / "frontend" / "4.1.0"
    assert fi.candidate_folders(user)[0] == build
    build.mkdir(parents=True)
    # A folder without index.html is not a build: the search goes on past it.
    elsewhere = fi.find_frontend(user)
    assert elsewhere is None or not elsewhere.is_relative_to(tmp_path)
    (build / "index.html").write_text("<html></html>")
    assert fi.find_frontend(user) == build.resolve()
    assert fi.find_frontend(user, version="4.0.0") != build.resolve()


def test_is_frontend_build_needs_index_html(tmp_path: Path) -> None:
    assert not fi.is_frontend_build(tmp_path)
    assert not fi.is_frontend_build(tmp_path / "missing")
    (tmp_path / "index.html").mkdir()
    assert not fi.is_frontend_build(tmp_path)
