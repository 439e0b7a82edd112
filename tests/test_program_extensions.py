"""CheckedExtension: an optional C extension is used only when built and once its check passed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import ModuleType

import pytest

from carta_trio.extensions import CheckedExtension


def test_a_module_that_passes_its_check_is_used_and_checked_once() -> None:
    checks: list[ModuleType] = []
    extension = CheckedExtension("json", lambda m: checks.append(m) is None, "falls back")
    assert extension.available() and extension.module is not None and extension.module.__name__ == "json"
    assert len(checks) == 1


def test_a_missing_module_falls_back_quietly(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    extension = CheckedExtension("carta_trio.codecs._no_such_extension", lambda m: True, "numpy instead")
    assert extension.module is None and not extension.available()
    assert "is not built; numpy instead" in caplog.text


def _raises(module: ModuleType) -> bool:
    raise ValueError("bad buffer")


@pytest.mark.parametrize("check", [lambda module: False, _raises])
def test_a_module_that_fails_its_check_is_never_used(
    check: Callable[[ModuleType], bool], caplog: pytest.LogCaptureFixture
) -> None:
    extension = CheckedExtension("json", check, "numpy instead")
    assert extension.module is None and extension.module is None
    assert "numpy instead" in caplog.text
