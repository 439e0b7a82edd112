"""The reference's option spellings and a cxxopts-style parser for them (BEHAVIOUR.md §1.1).

cxxopts accepts ``--name value``, ``--name=value``, short ``-p 3002`` and
``-p3002``, comma-separated lists (``-p 3002,3010``) and repeated list options;
boolean flags take an optional ``=true``/``=false``. We also accept every long
name with hyphens (``--top-level-folder``) and the alias ``--read-only``, plus
``--log-level`` (our own). Unknown options and bad values end start-up with
exit code 1, as the reference's parser does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from carta_trio import REFERENCE_VERSION, __version__

#: verbosity -> log level name (§1.1); other values behave as info.
VERBOSITY_LEVELS = {0: "OFF", 1: "CRITICAL", 2: "ERROR", 3: "WARNING", 4: "INFO", 5: "DEBUG"}
LOG_LEVEL_NAMES = {"OFF", "CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}


class CliExit(Exception):
    """Start-up ends here: print ``output`` (help, version), log ``critical``, exit ``code``."""

    def __init__(
        self,
        code: int,
        *,
        output: str | None = None,
        critical: str | None = None,
        warnings: Sequence[str] = (),
        log_level: str = "INFO",
    ) -> None:
        super().__init__(critical or output or f"exit {code}")
        self.code = code
        self.output = output
        self.critical = critical
        self.warnings = list(warnings)
        self.log_level = log_level


@dataclasses.dataclass(frozen=True)
class OptionSpec:
    key: str
    #: "flag" (help/version), "bool", "int", "number", "string", "ints", "strings", "level".
    kind: str
    short: str | None = None
    help: str = ""
    metavar: str = ""


OPTIONS = [
    OptionSpec("help", "flag", "h", "print usage"),
    OptionSpec("version", "flag", "v", "print version"),
    OptionSpec("verbosity", "int", None, "log level: 0 off, 1 critical, 2 error, 3 warning, 4 info, 5 debug", "<level>"),
    OptionSpec("no_log", "bool", None, "do not log output to a log file"),
    OptionSpec("log_performance", "bool", None, "enable performance debug logs"),
    OptionSpec("log_protocol_messages", "bool", None, "enable protocol message debug logs"),
    OptionSpec("no_frontend", "bool", None, "disable built-in HTTP frontend interface"),
    OptionSpec("no_database", "bool", None, "disable built-in HTTP database interface"),
    OptionSpec("no_browser", "bool", None, "don't open the frontend URL in a browser on startup"),
    OptionSpec("browser", "string", None, "custom browser command (CARTA_URL is replaced by the URL)", "<browser>"),
    OptionSpec("host", "string", None, "only listen on the specified interface (IP address or hostname)", "<interface>"),
    OptionSpec("port", "ints", "p", "port, or first,last port range (default: 3002 or nearest available)", "<port>"),
    OptionSpec("omp_threads", "int", "t", "manually set worker thread count", "<threads>"),
    OptionSpec("top_level_folder", "string", None, "set top-level folder for data files", "<dir>"),
    OptionSpec("frontend_folder", "string", None, "set folder from which frontend files are served", "<dir>"),
    OptionSpec("exit_timeout", "number", None, "seconds to stay alive after last session exits", "<sec>"),
    OptionSpec("initial_timeout", "number", None, "seconds to stay alive at start if no clients connect", "<sec>"),
    OptionSpec("idle_timeout", "number", None, "seconds to keep idle sessions alive", "<sec>"),
    OptionSpec("read_only_mode", "bool", None, "disable write requests"),
    OptionSpec("cache_size", "int", None, "MiB for image data cached across sessions (default: 1/8 of RAM)", "<MiB>"),
    OptionSpec("enable_scripting", "bool", None, "enable HTTP scripting interface"),
    OptionSpec("files", "strings", None, "files to load (positional)", "<file>"),
    OptionSpec("no_user_config", "bool", None, "ignore user configuration file"),
    OptionSpec("no_system_config", "bool", None, "ignore system configuration file"),
    OptionSpec("debug_no_auth", "bool", None, "accept all connections without a token (not secure)"),
    OptionSpec("no_runtime_config", "bool", None, "do not send a runtime config object to frontend clients"),
    OptionSpec("controller_deployment", "bool", None, "report a carta-controller deployment to the frontend"),
    OptionSpec("threads", "int", None, "[deprecated] no longer supported", "<threads>"),
    OptionSpec("base", "string", None, "serve only <dir>: top-level and starting folder (see below)", "<dir>"),
    OptionSpec("root", "string", None, "same as --top_level_folder", "<dir>"),
    OptionSpec("no_http", "bool", None, "[deprecated] same as --no_frontend --no_database"),
    OptionSpec("cache_dir", "string", None, "folder for spectral caches of large cubes (default ~/.carta/cache)", "<dir>"),
    OptionSpec("no_cache", "bool", None, "build no spectral caches of large cubes"),
    OptionSpec("cache_dir_size", "number", None, "disk budget of the spectral cache folder in GiB (default 20)", "<GiB>"),
    OptionSpec("spectral_cache_threshold", "number", None,
               "cubes larger than this many MiB get a spectral cache (default 1024)", "<MiB>"),
    OptionSpec("dask_scheduler", "string", None,
               "run long jobs (moments, cube histogram) on this dask.distributed scheduler", "<address>"),
    OptionSpec("reconnect_grace", "number", None,
               "seconds a dropped session is kept for its viewer to reconnect (default 60; 0: off)", "<sec>"),
    OptionSpec("log_level", "level", None, "log level name (debug, info, warning, error, critical, off)", "<level>"),
]
SPECS = {spec.key: spec for spec in OPTIONS}
SHORT = {spec.short: spec for spec in OPTIONS if spec.short}
#: Our own spellings that are not just the reference name with hyphens.
ALIASES = {"read_only": "read_only_mode"}

_TRUE = {"t", "T", "true", "True", "1"}
_FALSE = {"f", "F", "false", "False", "0"}


def usage() -> str:
    """The ``--help`` text."""
    lines = [
        f"carta-trio {__version__}: Cube Analysis and Rendering Tool for Astronomy (backend, reference {REFERENCE_VERSION})",
        "Usage:",
        "  carta-trio [OPTION...] <file or folder to open>",
        "",
    ]
    for spec in OPTIONS:
        names = (f"-{spec.short}, " if spec.short else "    ") + f"--{spec.key}"
        if spec.metavar:
            names += f" {spec.metavar}"
        lines.append(f"  {names:<36} {spec.help}")
    lines += [
        "",
        "Options may also be spelled with hyphens (--top-level-folder); --read-only is --read_only_mode.",
        "",
        "Where your data is: the top-level folder is everything a viewer can reach (default: /, the whole",
        "file system, behind the token); the starting folder is where the file browser opens.",
        "  carta-trio DIR                  starting folder DIR, top-level folder stays / (the reference's way)",
        "  carta-trio --base DIR           DIR is both: nothing above DIR is served",
        "  carta-trio --top_level_folder TOP DIR   serve TOP, start in DIR (inside TOP)",
        "Without a folder the starting folder is the bundled sample folder. Config files:",
        "/etc/carta/backend.json, then ~/.carta/backend.json, then the command line. The token comes",
        "from CARTA_AUTH_TOKEN, or is a random UUID.",
    ]
    return "\n".join(lines)


def _parse_bool(name: str, text: str) -> bool:
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CliExit(1, critical=f"Argument '{text}' failed to parse")


def _parse_int(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise CliExit(1, critical=f"Argument '{text}' failed to parse") from None


def _parse_number(text: str) -> int | float:
    try:
        return int(text, 10)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise CliExit(1, critical=f"Argument '{text}' failed to parse") from None


def _convert(spec: OptionSpec, text: str) -> Any:
    if spec.kind == "int":
        return _parse_int(text)
    if spec.kind == "number":
        return _parse_number(text)
    if spec.kind == "ints":
        return [_parse_int(part) for part in text.split(",")]
    if spec.kind == "strings":
        return text.split(",") if spec.key != "files" else [text]
    if spec.kind == "level":
        level = text.upper()
        if text.isdigit():
            level = VERBOSITY_LEVELS.get(int(text), "INFO")
        if level not in LOG_LEVEL_NAMES:
            raise CliExit(1, critical=f"Argument '{text}' failed to parse")
        return level
    return text


def _long_spec(name: str) -> OptionSpec:
    key = name.replace("-", "_")
    key = ALIASES.get(key, key)
    spec = SPECS.get(key)
    if spec is None:
        raise CliExit(1, critical=f"Option '{name}' does not exist")
    return spec


def _single_dash_long(arg: str) -> bool:
    """``-port``/``-root=/x``: a long option's name after one dash (never a group of
    short letters, which would not spell a long option name)."""
    name = arg[1:].partition("=")[0]
    key = ALIASES.get(name.replace("-", "_"), name.replace("-", "_"))
    return len(name) > 1 and key in SPECS


def parse_command_line(argv: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """(given options by reference key, positional arguments), cxxopts-style.

    Flags map to True; list options accumulate over repeats; other repeated
    options keep the last value. Raises CliExit for unknown options or bad values.
    """
    given: dict[str, Any] = {}
    positional: list[str] = []

    def record(spec: OptionSpec, value: Any) -> None:
        if spec.kind in ("ints", "strings"):
            given.setdefault(spec.key, []).extend(value)
        else:
            given[spec.key] = value

    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positional.extend(args[i:])
            break
        if arg.startswith("--") and len(arg) > 2:
            name, has_value, text = arg[2:].partition("=")
            spec = _long_spec(name)
            if spec.kind in ("flag", "bool"):
                record(spec, _parse_bool(spec.key, text) if has_value else True)
                continue
            if not has_value:
                if i >= len(args):
                    raise CliExit(1, critical=f"Option '{spec.key}' is missing an argument")
                text = args[i]
                i += 1
            record(spec, _convert(spec, text))
        elif arg.startswith("-") and len(arg) > 2 and _single_dash_long(arg):
            # carta-controller v1.x spells long options with one dash (-port, -root, -base)
            args.insert(i, "-" + arg)
            continue
        elif arg.startswith("-") and len(arg) > 1:
            letters = arg[1:]
            for j, letter in enumerate(letters):
                found = SHORT.get(letter)
                if found is None:
                    raise CliExit(1, critical=f"Option '{letter}' does not exist")
                spec = found
                if spec.kind in ("flag", "bool"):
                    record(spec, True)
                    continue
                text = letters[j + 1 :]
                if not text:
                    if i >= len(args):
                        raise CliExit(1, critical=f"Option '{spec.key}' is missing an argument")
                    text = args[i]
                    i += 1
                record(spec, _convert(spec, text))
                break
        else:
            positional.append(arg)
    positional.extend(given.pop("files", []))
    return given, positional
