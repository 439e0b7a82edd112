"""Platform strings for REGISTER_VIEWER_ACK, as the reference reports them.

The reference sends exactly ``release_info`` (the text of ``/etc/os-release``),
``platform``, ``deployment`` and ``architecture``; ``controller_deployment`` and
``docker_deployment`` appear only when set (BEHAVIOUR.md §3.3, GOLDEN.md §7).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping

_NO_RELEASE_INFO = "Platform information not available"


def read_release_info(path: str = "/etc/os-release") -> str:
    """The whole os-release text, trailing newline included."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return _NO_RELEASE_INFO


def platform_strings(
    *, controller_deployment: bool, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The ``platform_strings`` map of REGISTER_VIEWER_ACK."""
    env = os.environ if environ is None else environ
    system = platform.system()
    strings = {
        "release_info": read_release_info(),
        "platform": "macOS" if system == "Darwin" else system,
        "deployment": "unknown",
        "architecture": platform.machine(),
    }
    if controller_deployment:
        strings["controller_deployment"] = "true"
    # The reference checks only that the variable exists, even when empty.
    if "CARTA_DOCKER_DEPLOYMENT" in env:
        strings["docker_deployment"] = "true"
    return strings
