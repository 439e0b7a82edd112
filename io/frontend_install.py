"""Locate or install the released CARTA web frontend build that the server hosts.

The frontend is not shipped in this repository: it is the ``build`` folder of the npm
package ``carta-frontend`` (4.1.0 is the version this backend reproduces). We fetch it
with the machine's own ``npm pack`` (so npm's registry configuration, proxy and cache
apply) and unpack only ``package/build`` into ``<dest_root>/frontend/<version>/``.

The install is atomic: the tarball is unpacked into a temporary folder beside the
target and renamed into place, so a concurrent reader or an interrupted install never
sees half a frontend. It is idempotent: an existing valid build is returned as is.

Pure and blocking (subprocess + filesystem); no trio here. Call it from a worker
thread if an event loop is running.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)

#: npm package that holds the released web frontend.
FRONTEND_PACKAGE = "carta-frontend"
#: The frontend version this backend is built to serve unchanged.
DEFAULT_VERSION = "4.1.0"
#: Folder of the npm tarball that holds the static site.
_BUILD_PREFIX = PurePosixPath("package/build")
#: Versions we pass to npm: plain semver (with an optional pre-release tag), so a
#: version string can never be read by npm as an option or a URL.
_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.]+)?$")
#: Seconds ``npm pack`` may take (a 10 MB download).
NPM_TIMEOUT = 600.0


class FrontendInstallError(RuntimeError):
    """The frontend could not be installed (npm missing, download or archive failure)."""


def is_frontend_build(folder: Path) -> bool:
    """True if ``folder`` can be hosted: a directory with a readable ``index.html``.

    This is the reference backend's own validity test for ``--frontend_folder``.
    """
    index = Path(folder) / "index.html"
    return index.is_file() and os.access(index, os.R_OK)


def frontend_path(dest_root: Path, version: str = DEFAULT_VERSION) -> Path:
    """Where :func:`install_frontend` puts ``version`` below ``dest_root``."""
    return Path(dest_root) / "frontend" / version


def candidate_folders(user_folder: Path | None, version: str = DEFAULT_VERSION) -> list[Path]:
    """Folders :func:`find_frontend` tries, in order.

    First our own install below the user folder (``~/.carta/frontend/<version>``), then
    the reference packaging's place (``<prefix>/share/carta/frontend``) for this Python's
    prefix, ``/usr/local`` and ``/usr``.
    """
    found: list[Path] = []
    if user_folder is not None:
        found.append(frontend_path(Path(user_folder), version))
    for prefix in (Path(sys.prefix), Path("/usr/local"), Path("/usr")):
        folder = prefix / "share" / "carta" / "frontend"
        if folder not in found:
            found.append(folder)
    return found


def find_frontend(user_folder: Path | None, version: str = DEFAULT_VERSION) -> Path | None:
    """Return the first hostable frontend build among :func:`candidate_folders`, else None.

    Never downloads anything; see :func:`install_frontend` for that.
    """
    for folder in candidate_folders(user_folder, version):
        if is_frontend_build(folder):
            log.debug("Found CARTA frontend in %s", folder)
            return folder.resolve()
    return None


def install_frontend(
    dest_root: Path,
    version: str = DEFAULT_VERSION,
    *,
    npm: str | None = None,
    timeout: float = NPM_TIMEOUT,
) -> Path:
    """Install ``carta-frontend@<version>``'s build into ``<dest_root>/frontend/<version>``.

    Returns the (resolved) build folder. If a valid build is already there, returns it
    without touching the network. Otherwise runs ``npm pack`` in a temporary folder,
    unpacks ``package/build`` from the tarball and renames it into place. If another
    process installs the same version at the same time, whichever rename comes first
    wins and both return the same folder.

    Raises :class:`FrontendInstallError` with a readable message if npm is not on
    ``PATH`` (or ``npm`` is not executable), if ``npm pack`` fails, or if the tarball
    has no usable build; ``ValueError`` for a malformed version string.
    """
    if not _VERSION_RE.match(version):
        raise ValueError(f"not a release version of {FRONTEND_PACKAGE}: {version!r}")
    target = frontend_path(Path(dest_root).absolute(), version)
    if is_frontend_build(target):
        return target.resolve()
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()  # an empty placeholder folder holds no one's work
    elif target.exists():
        raise FrontendInstallError(
            f"{target} exists but is not a CARTA frontend build (no index.html); "
            "remove it or choose another destination"
        )
    npm_exe = _find_npm(npm)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The staging folder sits beside the target so the final rename stays on one filesystem.
    staging = Path(tempfile.mkdtemp(prefix=f".install-{version}-", dir=target.parent))
    try:
        tarball = _npm_pack(npm_exe, f"{FRONTEND_PACKAGE}@{version}", staging, timeout)
        build = staging / "build"
        count = extract_build(tarball, build)
        log.info("Unpacked %d frontend files from %s", count, tarball.name)
        try:
            build.rename(target)
        except OSError:
            if not is_frontend_build(target):
                raise
            log.info("Another process installed the frontend in %s first", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not is_frontend_build(target):
        raise FrontendInstallError(f"install of {FRONTEND_PACKAGE}@{version} left no index.html in {target}")
    log.info("Installed %s@%s in %s", FRONTEND_PACKAGE, version, target)
    return target.resolve()


def extract_build(tarball: Path, dest: Path) -> int:
    """Unpack the ``package/build`` folder of an npm tarball into ``dest`` (which must not exist).

    Only regular files and folders below ``package/build/`` are taken; links, devices,
    absolute names and ``..`` components are refused (an npm tarball never needs them),
    so a crafted archive cannot write outside ``dest``. Returns the number of files.
    Raises :class:`FrontendInstallError` if the archive is unreadable or holds no
    ``package/build/index.html``.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=False)
    count = 0
    try:
        with tarfile.open(tarball, "r:*") as archive:
            for member in archive:
                relative = _build_relative(member.name)
                if relative is None:
                    continue
                out = dest.joinpath(*relative.parts)
                if member.isdir():
                    out.mkdir(parents=True, exist_ok=True)
                elif member.isfile():
                    source = archive.extractfile(member)
                    if source is None:  # pragma: no cover - isfile() members always have data
                        continue
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with source, open(out, "wb") as sink:
                        shutil.copyfileobj(source, sink)
                    os.chmod(out, 0o644)
                    count += 1
                else:
                    log.warning("Skipping %s in %s: not a regular file", member.name, tarball)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise FrontendInstallError(f"cannot unpack {tarball}: {exc}") from exc
    if not (dest / "index.html").is_file():
        raise FrontendInstallError(f"{tarball} has no {_BUILD_PREFIX}/index.html")
    return count


def _build_relative(name: str) -> PurePosixPath | None:
    """The part of a tar member name below ``package/build``, or None to skip it."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        return None
    parts = [p for p in path.parts if p not in ("", ".")]
    prefix = list(_BUILD_PREFIX.parts)
    if len(parts) <= len(prefix) or parts[: len(prefix)] != prefix:
        return None
    return PurePosixPath(*parts[len(prefix):])


def _find_npm(npm: str | None) -> str:
    """Resolve the npm executable or explain how to get one."""
    found = shutil.which(npm or "npm")
    if found is None:
        raise FrontendInstallError(
            f"npm was not found ({npm or 'npm'!r} is not on PATH): install Node.js and npm to "
            f"download {FRONTEND_PACKAGE}, or pass --frontend_folder with an unpacked build"
        )
    return found


def _npm_pack(npm: str, spec: str, workdir: Path, timeout: float) -> Path:
    """Run ``npm pack <spec>`` in ``workdir`` and return the tarball it wrote."""
    env = dict(os.environ)
    env.update(
        npm_config_update_notifier="false",
        npm_config_fund="false",
        npm_config_audit="false",
    )
    command = [npm, "pack", spec, "--json", "--pack-destination", str(workdir)]
    log.info("Downloading %s with %s", spec, " ".join(command[:3]))
    try:
        result = subprocess.run(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FrontendInstallError(f"npm pack {spec} did not finish within {timeout:.0f} s") from exc
    except OSError as exc:
        raise FrontendInstallError(f"cannot run {npm}: {exc}") from exc
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise FrontendInstallError(f"npm pack {spec} failed (exit {result.returncode}):\n{tail}")
    named = _tarball_from_json(result.stdout, workdir)
    if named is not None:
        return named
    tarballs = sorted(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        raise FrontendInstallError(f"npm pack {spec} wrote {len(tarballs)} tarballs in {workdir}, expected 1")
    return tarballs[0]


def _tarball_from_json(stdout: str, workdir: Path) -> Path | None:
    """The tarball named in ``npm pack --json`` output, if that output parses and it exists."""
    try:
        entries = json.loads(stdout)
        name = entries[0]["filename"]
    except (ValueError, LookupError, TypeError):
        return None
    candidate = workdir / Path(str(name)).name
    return candidate if candidate.is_file() else None
