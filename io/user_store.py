"""The user's preferences, layouts, snippets and workspaces on disk.

This is the storage behind the reference's HTTP "database" API
(BEHAVIOUR.md §2.5): ``<config>/preferences.json`` and one ``<name>.json`` per
object in ``<config>/layouts/``, ``<config>/snippets/`` and ``<config>/workspaces/``
(``<config>`` is ``~/.carta/config``). Files are written the way the reference
writes them (nlohmann ``dump(4)``: keys sorted, 4-space indent, UTF-8, no final
newline) but atomically (temporary file + ``os.replace``), so a crash never
leaves a half-written file.

Every refusal raises :class:`StoreError` whose ``status`` is the HTTP status the
reference answers in that case (400, 404, 500); the HTTP layer only maps it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PREFERENCES_SCHEMA = "https://cartavis.github.io/schemas/preferences_schema_2.json"
OBJECT_SCHEMAS = {
    "layout": "https://cartavis.github.io/schemas/layout_schema_2.json",
    "snippet": "https://cartavis.github.io/schemas/snippet_schema_1.json",
    "workspace": "https://cartavis.github.io/schemas/workspace_schema_1.json",
}
#: The object kinds, singular as in the routes (``/api/database/layout``).
OBJECT_KINDS = tuple(OBJECT_SCHEMAS)

_OBJECT_FILE = re.compile(r"^(.+)\.json$", re.DOTALL)
_ESCAPE = re.compile(r"(?:%[0-9A-F]{2})+")


class StoreError(Exception):
    """A refused store operation; ``status`` is the reference's HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def dump_compact(value: Any) -> str:
    """JSON the way nlohmann's ``dump()`` writes it: sorted keys, no spaces, raw UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dump_pretty(value: Any) -> str:
    """JSON the way nlohmann's ``dump(4)`` writes it: sorted keys, 4-space indent."""
    return json.dumps(value, sort_keys=True, indent=4, ensure_ascii=False)


def unescape_name(text: str) -> str:
    """Percent-decode a name from a URL path, uppercase hex only (the reference's rule).

    ``%2F`` becomes ``/`` but ``%2f`` stays as written. Runs of escapes are decoded
    together so multi-byte UTF-8 characters come out whole.
    """

    def decode(match: re.Match[str]) -> str:
        raw = bytes(int(match.group(0)[i + 1 : i + 3], 16) for i in range(0, len(match.group(0)), 3))
        return raw.decode("utf-8", errors="surrogateescape")

    return _ESCAPE.sub(decode, text)


def _valid_name(name: str) -> bool:
    # The reference joins names straight into the path; we refuse names that
    # would leave the object folder or are not a plain file name.
    return bool(name) and "/" not in name and "\0" not in name and name not in (".", "..")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename.

    The temporary file honours the process umask like a plain ``open`` would.
    Raises OSError; on failure the old file (if any) is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _parse_body(body: bytes | str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreError(400, f"invalid JSON: {exc}") from exc


class UserStore:
    """Preferences and named objects under one config folder.

    Methods block on small file I/O (call them from a worker thread in async
    code). Writers are serialised by a lock so concurrent read-modify-write
    updates of the preferences never lose a key.
    """

    def __init__(self, config_folder: Path, read_only: bool = False) -> None:
        self.config_folder = Path(config_folder)
        self.read_only = read_only
        self._lock = threading.Lock()

    @property
    def preferences_path(self) -> Path:
        return self.config_folder / "preferences.json"

    def object_folder(self, kind: str) -> Path:
        if kind not in OBJECT_SCHEMAS:
            raise ValueError(f"unknown object kind {kind!r}")
        return self.config_folder / f"{kind}s"

    # -- preferences -------------------------------------------------------

    def _read_preferences(self) -> dict[str, Any] | None:
        """The stored preferences; ``{"version": 1}`` if none; None if unreadable."""
        path = self.preferences_path
        if not path.exists():
            return {"version": 1}
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            log.warning("Preferences file %s is malformed: %s", path, exc)
            return None
        if not isinstance(value, dict) or not value:
            return None
        return value

    def _write_preferences(self, prefs: dict[str, Any]) -> None:
        if self.read_only:
            log.warning("Writing preferences file is not allowed in read-only mode")
            raise StoreError(500, "read-only mode")
        prefs["$schema"] = PREFERENCES_SCHEMA
        prefs["version"] = 2
        try:
            write_atomically(self.preferences_path, dump_pretty(prefs))
        except (OSError, TypeError, ValueError) as exc:
            log.warning("Could not write preferences: %s", exc)
            raise StoreError(500, str(exc)) from exc

    def _back_up_malformed_preferences(self) -> None:
        path = self.preferences_path
        backup = path.with_name(path.name + ".bak")
        try:
            shutil.copyfile(path, backup)
            log.warning("Preferences file is malformed; backed it up to %s before rewriting", backup)
        except OSError as exc:
            log.warning("Could not back up malformed preferences file: %s", exc)

    def get_preferences(self) -> dict[str, Any]:
        """The preferences object; StoreError(500) if the file is malformed or ``{}``."""
        prefs = self._read_preferences()
        if prefs is None:
            raise StoreError(500, "preferences file is malformed")
        return prefs

    def update_preferences(self, body: bytes | str) -> int:
        """Shallow-merge a JSON object into the preferences; returns the number of keys given.

        An empty object writes nothing. A malformed stored file is backed up to
        ``preferences.json.bak`` and replaced by the update (the reference replaces
        it without a backup).
        """
        update = _parse_body(body)
        if not isinstance(update, dict):
            raise StoreError(400, "preferences update must be a JSON object")
        if not update:
            return 0
        with self._lock:
            prefs = self._read_preferences()
            if prefs is None:
                if not self.read_only and self.preferences_path.exists():
                    self._back_up_malformed_preferences()
                prefs = {}
            prefs.update(update)
            self._write_preferences(prefs)
        log.debug("Updated %d preferences", len(update))
        return len(update)

    def clear_preferences(self, body: bytes | str) -> int:
        """Remove the string keys listed in ``{"keys": [...]}``; returns how many were removed."""
        request = _parse_body(body)
        keys = request.get("keys") if isinstance(request, dict) else None
        if not isinstance(keys, list) or not keys:
            raise StoreError(400, "body must be {\"keys\": [non-empty list]}")
        with self._lock:
            prefs = self._read_preferences()
            if prefs is None:
                raise StoreError(500, "preferences file is malformed")
            removed = 0
            for key in keys:
                if isinstance(key, str) and key in prefs:
                    del prefs[key]
                    removed += 1
            if removed:
                self._write_preferences(prefs)
        log.debug("Cleared %d preferences", removed)
        return removed

    # -- layouts, snippets, workspaces -------------------------------------

    def _object_files(self, kind: str) -> list[tuple[str, Path]]:
        folder = self.object_folder(kind)
        found: list[tuple[str, Path]] = []
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return found
        for entry in entries:
            match = _OBJECT_FILE.match(entry.name)
            try:
                regular = entry.is_file()
            except OSError:
                regular = False
            if match and regular:
                found.append((match.group(1), Path(entry.path)))
        found.sort(key=lambda item: item[0].encode("utf-8", errors="surrogateescape"))
        return found

    def list_objects(self, kind: str) -> list[dict[str, Any]]:
        """``[{"name": n, "date": mtime seconds}, ...]`` sorted by name; [] if no folder."""
        items = []
        for name, path in self._object_files(kind):
            try:
                mtime = int(path.stat().st_mtime)
            except OSError:
                continue
            items.append({"name": name, "date": mtime})
        return items

    def get_objects(self, kind: str) -> dict[str, Any]:
        """Every parsable object of a kind by name; unparsable files are skipped."""
        objects: dict[str, Any] = {}
        for name, path in self._object_files(kind):
            try:
                objects[name] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                log.warning("%s file %s is malformed: %s", kind.capitalize(), path, exc)
        return objects

    def get_object(self, kind: str, name: str) -> Any:
        """One object with ``"name"`` added if absent; StoreError(404) if missing or unparsable."""
        if not _valid_name(name):
            raise StoreError(404, "invalid name")
        path = self.object_folder(kind) / f"{name}.json"
        if not path.is_file():
            raise StoreError(404, f"no {kind} named {name!r}")
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            log.warning("%s file %s is malformed: %s", kind.capitalize(), path, exc)
            raise StoreError(404, "malformed") from exc
        if isinstance(value, dict) and "name" not in value:
            value["name"] = name
        return value

    def set_object(self, kind: str, body: bytes | str) -> str:
        """Write ``{"<kind>Name": n, "<kind>": {...}}`` to ``<n>.json``; returns the name.

        StoreError(400) for a bad body, a bad name, read-only mode or a failed write.
        """
        self.object_folder(kind)
        request = _parse_body(body)
        if not isinstance(request, dict):
            raise StoreError(400, "body must be a JSON object")
        name = request.get(f"{kind}Name")
        value = request.get(kind)
        if not isinstance(name, str) or not name or not isinstance(value, dict):
            raise StoreError(400, f"body needs a non-empty string {kind}Name and an object {kind}")
        if not _valid_name(name):
            raise StoreError(400, f"invalid {kind} name {name!r}")
        if self.read_only:
            log.warning("Writing %s file is not allowed in read-only mode", kind)
            raise StoreError(400, "read-only mode")
        value["$schema"] = OBJECT_SCHEMAS[kind]
        try:
            write_atomically(self.object_folder(kind) / f"{name}.json", dump_pretty(value))
        except (OSError, TypeError, ValueError) as exc:
            log.warning("Could not write %s %r: %s", kind, name, exc)
            raise StoreError(400, str(exc)) from exc
        return name

    def clear_object(self, kind: str, body: bytes | str) -> str:
        """Delete the object named by ``{"<kind>Name": n}``; StoreError(400) if it cannot."""
        self.object_folder(kind)
        if self.read_only:
            log.warning("Writing %s file is not allowed in read-only mode", kind)
            raise StoreError(400, "read-only mode")
        request = _parse_body(body)
        name = request.get(f"{kind}Name") if isinstance(request, dict) else None
        if not isinstance(name, str) or not _valid_name(name):
            raise StoreError(400, f"body needs a valid {kind}Name")
        path = self.object_folder(kind) / f"{name}.json"
        if not path.is_file():
            raise StoreError(400, f"no {kind} named {name!r}")
        try:
            path.unlink()
        except OSError as exc:
            raise StoreError(500, str(exc)) from exc
        return name
