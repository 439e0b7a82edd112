"""Build a C extension's plain-C variant (its SSE2 code switched off by a macro) for a test."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import shutil
import subprocess
import sysconfig
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def build_variant(source: str, module_name: str, define: str, tmp_path: Path, *flags: str) -> ModuleType:
    """Compile ``source`` (relative to the repository) with ``-D<define>`` as module
    ``module_name`` in ``tmp_path`` and import it; skips the test without a compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler")
    target = tmp_path / f"{module_name}{importlib.machinery.EXTENSION_SUFFIXES[0]}"
    subprocess.run(
        [compiler, "-O2", "-ffp-contract=off", *flags, f"-D{define}", "-shared", "-fPIC",
         f"-I{sysconfig.get_paths()['include']}", str(ROOT / source), "-o", str(target)],
        check=True, capture_output=True,
    )
    spec = importlib.util.spec_from_file_location(module_name, target)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
