"""The reference's JSON config files: ``/etc/carta/backend.json`` and ``~/.carta/backend.json``.

BEHAVIOUR.md §1.2: JSON with ``//`` and ``/* */`` comments; a key whose JSON type
is wrong is dropped with a warning; unknown keys are ignored; ``base``, ``root``,
``threads`` and ``no_http`` draw a deprecation warning. The system file, then the
user file, then the command line are merged with JSON merge-patch (RFC 7386).
Warning texts are the reference's, word for word.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

INT_KEYS = (
    "verbosity", "omp_threads", "event_thread_count", "exit_timeout", "initial_timeout", "idle_timeout", "cache_size",
)
BOOL_KEYS = (
    "no_log",
    "log_performance",
    "log_protocol_messages",
    "no_http",
    "no_browser",
    "read_only_mode",
    "enable_scripting",
    "no_frontend",
    "no_database",
    "no_runtime_config",
)
STRING_KEYS = ("host", "top_level_folder", "starting_folder", "frontend_folder", "browser")
VECTOR_INT_KEYS = ("port",)
ALL_KEYS = INT_KEYS + BOOL_KEYS + STRING_KEYS + VECTOR_INT_KEYS

#: Deprecated option -> the advice the reference appends to its warning.
DEPRECATED = {
    "base": "Use positional parameters instead to set the starting directory or open files on startup.",
    "root": "Use top_level_folder instead.",
    "threads": "This feature is no longer supported.",
    "no_http": "Use no_frontend and no_database instead.",
}


def deprecation_warning(option: str, where: str) -> str:
    """``Option <name> found in <where> is deprecated. <advice>``."""
    return f"Option {option} found in {where} is deprecated. {DEPRECATED[option]}"


def strip_json_comments(text: str) -> str:
    """Remove ``//`` line and ``/* */`` block comments outside JSON strings.

    Comments are replaced by a space (or kept newlines) so positions in error
    messages stay meaningful. An unterminated block comment runs to the end.
    """
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
            i += 1
        elif c == '"':
            in_string = True
            out.append(c)
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            out.append(" ")
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            comment = text[i : n if end < 0 else end + 2]
            out.append(" " + "\n" * comment.count("\n"))
            i = n if end < 0 else end + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge-patch: ``patch`` applied on ``target`` (neither is modified)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def check_types(settings: dict[str, Any], where: str, warnings: list[str]) -> dict[str, Any]:
    """Drop keys of the wrong JSON type, with the reference's warnings."""
    checked = dict(settings)
    for keys, test, expected in (
        (INT_KEYS, _is_int, "number"),
        (BOOL_KEYS, lambda v: isinstance(v, bool), "boolean"),
        (STRING_KEYS, lambda v: isinstance(v, str), "string"),
    ):
        for key in keys:
            if key in checked and not test(checked[key]):
                warnings.append(
                    f"Problem in config file {where} at key {key}: current value is {_dump(checked[key])}, "
                    f"but a {expected} is expected."
                )
                del checked[key]
    for key in VECTOR_INT_KEYS:
        if key not in checked:
            continue
        value = checked[key]
        valid = _is_number(value) or (isinstance(value, list) and len(value) <= 2 and all(_is_number(v) for v in value))
        if not valid:
            warnings.append(
                f"Problem in config file {where} at key {key}: current value is {_dump(value)}, "
                "but a number or a list of two numbers is expected."
            )
            del checked[key]
    return checked


def read_config_file(path: Path, warnings: list[str]) -> dict[str, Any]:
    """The checked settings of one file; unreadable or unparsable files count as empty."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        warnings.append(f"Error reading config file {path}.")
        return {}
    try:
        value = json.loads(strip_json_comments(text))
    except ValueError as exc:
        warnings.append(f"Error parsing config file {path}.")
        warnings.append(str(exc))
        return {}
    if not isinstance(value, dict):
        warnings.append(f"Error parsing config file {path}.")
        return {}
    for option in DEPRECATED:
        if option in value:
            warnings.append(deprecation_warning(option, str(path)))
    return check_types(value, str(path), warnings)


def merged_file_settings(
    system_path: Path | None, user_path: Path | None, warnings: list[str]
) -> dict[str, Any] | None:
    """System file with the user file merged on top; None if neither file exists."""
    merged: dict[str, Any] = {}
    found = False
    for path in (system_path, user_path):
        if path is not None and Path(path).exists():
            found = True
            merged = merge_patch(merged, read_config_file(Path(path), warnings))
    return merged if found else None
