"""Faults injected into worker processes (run there by name, e.g. ``"tests.faults:abort"``)."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path


def abort(*_args: object) -> None:
    """What casacore does when a write fails deep inside (uncaught AipsError)."""
    os.abort()


def segfault(*_args: object) -> None:
    """A native crash: read address 0."""
    ctypes.string_at(0)


def fail_showing_location(fits_path: str, casa_path: str) -> None:
    """Fail like casacore does, naming where the staged files are."""
    assert Path(fits_path).is_file()
    raise RuntimeError(f"2026-01-01 00:00:00\tSEVERE\tx (file y.cc, line 3)\nSTAGED-IN {Path(casa_path).parent}")
