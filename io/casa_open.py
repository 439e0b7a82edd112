"""Opening a CASA image with casacore, and casacore's messages in the user's terms.

:func:`open_casacore_image` opens an image directory with python-casacore. A paged image
whose ``logtable`` sub-table is missing (the spectral-cube project ships such test data;
some tools strip it) cannot be opened by casacore at all, although its pixels and
coordinates are complete: the reference backend refuses it too. Here such an image is
opened through a private *shadow* folder that links every entry of the image and adds
an empty log table, so casacore sees a complete image; nothing in the user's folder is
created or changed (a documented improvement over the reference).

:func:`user_message` turns a casacore exception text into what a user can read: no
log-sink prefixes (``<date> SEVERE TableLogSink::TableLogSink (file ...cc, line N)``),
no source-file names, no absolute server paths (the image is named by its file name).
The full text still goes to the log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_LOG_PREFIX = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?\s+(?:SEVERE|WARN|INFO\d?|DEBUG\d?|NORMAL\d?)\s+\S+"
                         r"(?:\s*\(file [^)]*\))?\s*")
_SOURCE_REF = re.compile(r"\s*\(file [^)]*\.(?:cc|h|tcc|cpp), line \d+\)")
_ABSOLUTE = re.compile(r"(?<![\w.])/(?:[^\s'\"():,]+/)*([^\s'\"():,]+)")

def user_message(text: str, path: str | os.PathLike[str] | None = None) -> str:
    """casacore's ``text`` without log prefixes, source locations or absolute paths."""
    lines = []
    for raw in str(text).splitlines():
        line = _SOURCE_REF.sub("", _LOG_PREFIX.sub("", raw.replace("\t", " "))).strip()
        if line:
            lines.append(line)
    message = " ".join(dict.fromkeys(lines))  # repeated log lines once
    if path is not None:
        folder = str(path).rstrip("/")
        name = Path(folder).name
        message = message.replace(folder + "/", name + "/").replace(folder, name)
    return _ABSOLUTE.sub(lambda m: m.group(1), message).strip()


def _shadow(path: Path) -> Path:
    """A temp folder that looks like ``path`` plus an empty ``logtable`` (taken from a
    1x1 image casacore makes there, so it is casacore's own format)."""
    from casacore import images

    shadow = Path(tempfile.mkdtemp(prefix="carta-trio-image-"))
    image = shadow / path.name
    image.mkdir()
    for entry in os.listdir(path):
        if entry != "logtable":
            os.symlink(path / entry, image / entry)
    made = images.image(str(shadow / "empty.image"), shape=[1, 1])
    del made
    os.rename(shadow / "empty.image" / "logtable", image / "logtable")
    return image


def _missing_logtable(message: str) -> bool:
    return "logtable" in message and ("does not exist" in message or "not readable" in message)


def open_casacore_image(path: str | os.PathLike[str]) -> tuple[Any, Path | None]:
    """``casacore.images.image`` of ``path``; also for images without a ``logtable``.

    Returns the image and the shadow folder used (or None); the caller removes the
    shadow with :func:`remove_shadow` once the image is closed. Raises RuntimeError
    with casacore's message for anything else.
    """
    from casacore import images

    target = Path(path)
    try:
        return images.image(str(target)), None
    except RuntimeError as err:
        if not (target.is_dir() and not (target / "logtable").exists() and _missing_logtable(str(err))):
            raise
    log.info("%s has no logtable: opened through a shadow folder with an empty one", target)
    image_path = _shadow(target)
    try:
        return images.image(str(image_path)), image_path.parent
    except BaseException:
        remove_shadow(image_path.parent)
        raise


def remove_shadow(shadow: Path | None) -> None:
    """Remove a shadow folder made by :func:`open_casacore_image` (links and the empty log)."""
    if shadow is not None and shadow.name.startswith("carta-trio-image-"):
        with contextlib.suppress(OSError):
            shutil.rmtree(shadow)
