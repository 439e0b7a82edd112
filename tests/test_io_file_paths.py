"""Path confinement (io/paths.py): $BASE, relative and absolute requests, '..' and
symlinks that leave the top folder, and the reference's error messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from carta_trio.io.paths import (
    FORBIDDEN,
    PathError,
    client_relative,
    parent_of,
    resolve_directory,
    resolve_file,
    resolve_inside,
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """outside/secret.fits, top/{a/b/c.fits, start/, img.fits, link_out -> outside, link_in -> a}."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.fits").write_text("x")
    top = tmp_path / "top"
    (top / "a" / "b").mkdir(parents=True)
    (top / "a" / "b" / "c.fits").write_text("c")
    (top / "start").mkdir()
    (top / "img.fits").write_text("i")
    (top / "link_out").symlink_to(outside)
    (top / "link_in").symlink_to(top / "a")
    (top / "file_out.fits").symlink_to(outside / "secret.fits")
    return top


@pytest.mark.parametrize("requested, expected", [
    ("", "."), (".", "."), ("./", "."), ("./a/b", "a/b"), ("a/b", "a/b"), ("/a/b", "a/b"),
    ("$BASE", "start"), ("$BASE/x", "start/x"), ("a/../b", "a/../b"),
])
def test_client_relative(tree: Path, requested: str, expected: str) -> None:
    assert client_relative(requested, tree, tree / "start") == expected


def test_client_relative_absolute_paths(tree: Path) -> None:
    assert client_relative(str(tree), tree) == "."
    assert client_relative(f"{tree}/a/b", tree) == "a/b"
    # a name that merely starts like the top folder is not below it
    assert client_relative(f"{tree}xyz/a", tree) == f"{str(tree).lstrip('/')}xyz/a"
    assert client_relative("/etc/passwd", "/") == "etc/passwd"


@pytest.mark.parametrize("relative, parent", [(".", "."), ("a", "."), ("a/b", "a"), ("a/b/", "a"), ("start/x/y", "start/x")])
def test_parent_of(relative: str, parent: str) -> None:
    assert parent_of(relative) == parent


def test_resolve_directory_inside(tree: Path) -> None:
    resolved = resolve_directory(tree, tree / "start", "$BASE")
    assert (resolved.path, resolved.relative, resolved.is_top) == (tree / "start", "start", False)
    assert resolve_directory(tree, None, "").is_top
    assert resolve_directory(tree, None, "link_in/b").path == tree / "a" / "b"
    assert resolve_directory(tree, None, "a/b/..").path == tree / "a"
    # '..' is applied to the path as written, before symlinks are followed
    assert resolve_directory(tree, None, "link_out/..").path == tree


@pytest.mark.parametrize("requested", ["..", "../outside", "a/../../outside", "link_out", "link_out/../../outside", "/../outside"])
def test_resolve_directory_refuses_escapes(tree: Path, requested: str) -> None:
    with pytest.raises(PathError) as info:
        resolve_directory(tree, None, requested)
    assert info.value.message == FORBIDDEN


def test_resolve_directory_messages(tree: Path) -> None:
    with pytest.raises(PathError, match=r"^Directory nodir does not exist\.$"):
        resolve_directory(tree, None, "nodir")
    with pytest.raises(PathError, match=r"^requested path img.fits is not a directory\.$"):
        resolve_directory(tree, None, "img.fits")
    locked = tree / "locked"
    locked.mkdir(mode=0o000)
    try:
        if not os.access(locked, os.R_OK):  # root can read anything
            with pytest.raises(PathError, match=r"^Directory locked is not readable\.$"):
                resolve_directory(tree, None, "locked")
    finally:
        locked.chmod(0o755)


def test_resolve_file(tree: Path) -> None:
    assert resolve_file(tree, "a/b", "c.fits") == tree / "a" / "b" / "c.fits"
    assert resolve_file(tree, "", "/img.fits") == tree / "img.fits"
    assert resolve_file(tree, "$BASE/../a", "b/c.fits", tree / "start") == tree / "a" / "b" / "c.fits"
    with pytest.raises(PathError, match=r"^File nope.fits does not exist\.$"):
        resolve_file(tree, "", "nope.fits")
    with pytest.raises(PathError, match=r"^Directory zz does not exist\.$"):
        resolve_file(tree, "zz", "c.fits")
    for directory, name in (("", "file_out.fits"), ("link_out", "secret.fits"), ("..", "outside/secret.fits"),
                            ("", "../outside/secret.fits"), ("a", "../../outside/secret.fits")):
        with pytest.raises(PathError) as info:
            resolve_file(tree, directory, name)
        assert info.value.message == FORBIDDEN


def test_refusal_does_not_reveal_existence(tree: Path) -> None:
    for name in ("../outside/secret.fits", "../outside/nothing.fits"):
        with pytest.raises(PathError) as info:
            resolve_file(tree, "", name)
        assert info.value.message == FORBIDDEN


def test_resolve_inside_with_root_top(tree: Path) -> None:
    assert resolve_inside("/", str(tree).lstrip("/"), "img.fits") == tree / "img.fits"
