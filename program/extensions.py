"""The optional C extensions, each trusted only once it agrees with the code it replaces.

carta-trio builds a few small C extensions when a C compiler is present (see
pyproject.toml: the tile encoder, NaN filling, plane kernels, file heads, box reads). Each has a
pure-Python twin (numpy, libzfp, os calls) that the package uses without it. A
:class:`CheckedExtension` imports one lazily, runs its check against that twin once (on
inputs that exercise its branches) and hands out the module only if the check passed;
a missing module is logged at INFO, a disagreeing one at WARNING, and either way the
caller falls back.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from types import ModuleType

__all__ = ["CheckedExtension"]

log = logging.getLogger(__name__)


class CheckedExtension:
    """The extension module ``name`` (e.g. ``carta_trio.codecs._zfp_encoder``), once
    ``check(module)`` has returned True; ``what`` says in log lines what falls back."""

    def __init__(self, name: str, check: Callable[[ModuleType], bool], what: str) -> None:
        self.name, self._check, self.what = name, check, what
        self._lock = threading.Lock()
        self._module: ModuleType | None = None
        self._done = False
        self._substitute: ModuleType | None = None  # see replace()

    def _import(self) -> ModuleType | None:
        if self._substitute is not None:
            return self._substitute
        try:
            return importlib.import_module(self.name)
        except ImportError:
            return None

    @property
    def module(self) -> ModuleType | None:
        """The checked module, or None (not built, or it failed its check)."""
        if self._done:
            return self._module
        with self._lock:
            if not self._done:
                module = self._import()
                if module is None:
                    log.info("%s is not built; %s", self.name, self.what)
                else:
                    try:
                        trusted = self._check(module)
                    except (ValueError, TypeError, MemoryError) as exc:
                        log.warning("%s failed its check (%s); %s", self.name, exc, self.what)
                        trusted = False
                    if trusted:
                        self._module = module
                    else:
                        log.warning("%s disagrees with the code it replaces; %s", self.name, self.what)
                self._done = True
        return self._module

    def available(self) -> bool:
        """True when :attr:`module` is usable."""
        return self.module is not None

    def replace(self, module: ModuleType | None) -> None:
        """Use ``module`` (checked again) instead, or run the check on the real one again
        (None); for tests."""
        with self._lock:
            self._module, self._done, self._substitute = None, False, module
