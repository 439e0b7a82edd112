"""The command line, config files, positional arguments, token and start URL (BEHAVIOUR.md §1)."""

from __future__ import annotations

import logging
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from carta_trio import cli, launch
from carta_trio.cli import SAMPLE_FOLDER, CliExit, parse_command_line, parse_settings
from carta_trio.config_files import merge_patch, strip_json_comments
from carta_trio.positional import collect_positional, is_image_directory
from carta_trio.settings import Settings

ENV = {"HOME": "/nonexistent-home", "CARTA_AUTH_TOKEN": "tok"}


@pytest.fixture
def top(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "a.fits").write_bytes(b"x")
    (folder / "b.fits").write_bytes(b"x")
    (folder / "sub" / "c.fits").write_bytes(b"x")
    return folder.resolve()


@pytest.fixture
def configs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "etc" / "backend.json", tmp_path / "home" / ".carta" / "backend.json"


def parse(argv: list[str], env: dict[str, str] | None = None, system: Path | None = None,
          user: Path | None = None) -> tuple[Settings, list[str]]:
    return parse_settings(argv, env or ENV, system, user or Path("/nonexistent/backend.json"))


@pytest.fixture(autouse=True)
def _restore_logging() -> Any:
    root = logging.getLogger()
    level = root.level
    yield
    for handler in list(root.handlers):
        if getattr(handler, "_carta_trio", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


# -- option spellings ----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--verbosity", "5"], {"verbosity": 5}),
        (["--verbosity=3"], {"verbosity": 3}),
        (["--no_log"], {"no_log": True}),
        (["--no_log=false"], {"no_log": False}),
        (["--no-log=true"], {"no_log": True}),
        (["--log_performance", "--log_protocol_messages"], {"log_performance": True, "log_protocol_messages": True}),
        (["--no_frontend", "--no_database"], {"no_frontend": True, "no_database": True}),
        (["--no_browser"], {"no_browser": True}),
        (["--no-browser"], {"no_browser": True}),
        (["--browser", "firefox CARTA_URL &"], {"browser": "firefox CARTA_URL &"}),
        (["--host", "127.0.0.1"], {"host": "127.0.0.1"}),
        (["-p", "3010"], {"port": [3010]}),
        (["-p3010"], {"port": [3010]}),
        (["--port=3010,3020"], {"port": [3010, 3020]}),
        (["-p", "3010", "-p", "-1"], {"port": [3010, -1]}),
        (["--port", "4000"], {"port": [4000]}),
        (["-t", "4"], {"omp_threads": 4}),
        (["--omp_threads", "8"], {"omp_threads": 8}),
        (["--top_level_folder", "/x"], {"top_level_folder": "/x"}),
        (["--top-level-folder=/x"], {"top_level_folder": "/x"}),
        (["--frontend_folder", "/f"], {"frontend_folder": "/f"}),
        (["--frontend-folder", "/f"], {"frontend_folder": "/f"}),
        (["--exit_timeout", "10", "--initial_timeout", "20"], {"exit_timeout": 10, "initial_timeout": 20}),
        (["--idle_timeout", "30"], {"idle_timeout": 30}),
        (["--idle-timeout", "2.5"], {"idle_timeout": 2.5}),
        (["--read_only_mode"], {"read_only_mode": True}),
        (["--read-only"], {"read_only_mode": True}),
        (["--enable_scripting"], {"enable_scripting": True}),
        (["--no_user_config", "--no_system_config"], {"no_user_config": True, "no_system_config": True}),
        (["--debug_no_auth"], {"debug_no_auth": True}),
        (["--no_runtime_config"], {"no_runtime_config": True}),
        (["--controller_deployment"], {"controller_deployment": True}),
        (["--threads", "4"], {"threads": 4}),
        (["--base", "/b"], {"base": "/b"}),
        (["--root", "/r"], {"root": "/r"}),
        (["--no_http"], {"no_http": True}),
        (["--log-level", "debug"], {"log_level": "DEBUG"}),
        (["--log_level=0"], {"log_level": "OFF"}),
        (["-h"], {"help": True}),
        (["--version"], {"version": True}),
        (["-v"], {"version": True}),
    ],
)
def test_option_spellings(argv: list[str], expected: dict[str, Any]) -> None:
    given, positional = parse_command_line(argv)
    assert given == expected
    assert positional == []


def test_positional_arguments_anywhere_and_after_double_dash() -> None:
    given, positional = parse_command_line(["a.fits", "--no_browser", "b.fits", "--files", "c.fits", "--", "--d"])
    assert given == {"no_browser": True}
    assert positional == ["a.fits", "b.fits", "--d", "c.fits"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bogus"], "Option 'bogus' does not exist"),
        (["-x"], "Option 'x' does not exist"),
        (["--port"], "Option 'port' is missing an argument"),
        (["-p"], "Option 'port' is missing an argument"),
        (["--verbosity", "loud"], "Argument 'loud' failed to parse"),
        (["-p", "30a"], "Argument '30a' failed to parse"),
        (["--no_log=maybe"], "Argument 'maybe' failed to parse"),
        (["--log-level", "chatty"], "Argument 'chatty' failed to parse"),
    ],
)
def test_bad_options_exit_1(argv: list[str], message: str) -> None:
    with pytest.raises(CliExit) as stop:
        parse_command_line(argv)
    assert (stop.value.code, stop.value.critical) == (1, message)


def test_help_and_version_exit_0(top: Path) -> None:
    with pytest.raises(CliExit) as stop:
        parse(["--version"])
    assert (stop.value.code, stop.value.output) == (0, "carta-trio 0.1.0 (CARTA backend 4.1.0 compatible, ICD 28)")
    with pytest.raises(CliExit) as stop:
        parse(["--help", "--top_level_folder", str(top)])
    assert stop.value.code == 0
    assert "--top_level_folder" in stop.value.output and "--no_browser" in stop.value.output


# -- settings from options -------------------------------------------------------


def test_defaults(top: Path) -> None:
    settings, warnings = parse([], {"HOME": "/home/someone", "CARTA_AUTH_TOKEN": "t"})
    assert warnings == []
    assert settings.top_level_folder == Path("/")
    assert settings.starting_folder == SAMPLE_FOLDER.resolve()
    assert settings.host == "0.0.0.0"
    assert settings.ports == tuple(range(3002, 3103))
    assert settings.port_fixed is False
    assert settings.frontend_folder == cli.default_frontend_folder()
    assert (settings.no_frontend, settings.no_database, settings.no_runtime_config, settings.no_browser) == (
        False, False, False, False)
    assert (settings.read_only, settings.enable_scripting, settings.controller_deployment) == (False, False, False)
    assert (settings.idle_timeout, settings.initial_timeout, settings.exit_timeout) == (None, None, None)
    assert settings.browser is None
    assert settings.log_level == "INFO"
    assert settings.no_log is False
    assert settings.files == ()
    assert settings.user_folder == Path("/home/someone/.carta")
    assert settings.omp_threads == -1


def test_every_option_reaches_the_settings(top: Path, tmp_path: Path) -> None:
    settings, _ = parse([
        "--top_level_folder", str(top), "--frontend_folder", str(tmp_path / "fe"), "--host", "127.0.0.1",
        "-p", "4000", "--no_frontend", "--no_database", "--no_runtime_config", "--no_browser",
        "--browser", "chromium", "--read_only_mode", "--enable_scripting", "--idle_timeout", "30",
        "--initial_timeout", "0", "--exit_timeout", "5", "--controller_deployment", "--verbosity", "5",
        "--no_log", "--log_protocol_messages", "-t", "3", str(top / "sub"),
    ])
    assert settings.top_level_folder == top
    assert settings.starting_folder == top / "sub"
    assert settings.frontend_folder == tmp_path / "fe"
    assert settings.host == "127.0.0.1"
    assert (settings.ports, settings.port_fixed) == ((4000,), True)
    assert settings.no_frontend and settings.no_database and settings.no_runtime_config and settings.no_browser
    assert settings.browser == "chromium"
    assert settings.read_only and settings.enable_scripting and settings.controller_deployment
    assert (settings.idle_timeout, settings.initial_timeout, settings.exit_timeout) == (30.0, 0.0, 5.0)
    assert settings.log_level == "DEBUG"
    assert settings.no_log and settings.log_protocol_messages
    assert settings.omp_threads == 3


@pytest.mark.parametrize(
    ("argv", "ports", "fixed"),
    [
        (["-p", "0"], (0,), True),
        (["-p", "3050,3053"], (3050, 3051, 3052, 3053), False),
        (["-p", "3050", "-p", "3051"], (3050, 3051), False),
        (["-p", "65530,-1"], (65530, 65531, 65532, 65533, 65534, 65535), False),
    ],
)
def test_ports(top: Path, argv: list[str], ports: tuple[int, ...], fixed: bool) -> None:
    settings, _ = parse(argv + ["--top_level_folder", str(top)])
    assert (settings.ports, settings.port_fixed) == (ports, fixed)


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ("70000", "Could not listen on port 70000!"),
        ("-3", "Could not listen on port -3!"),
        ("3050,3040", "Unable to listen on the port range 3050-3049!"),
    ],
)
def test_unusable_ports_exit_1(top: Path, port: str, message: str) -> None:
    with pytest.raises(CliExit) as stop:
        parse(["-p", port, "--top_level_folder", str(top)])
    assert (stop.value.code, stop.value.critical) == (1, message)


@pytest.mark.parametrize(
    ("argv", "idle", "initial", "exit_"),
    [
        (["--idle_timeout", "0", "--initial_timeout", "-1", "--exit_timeout", "-1"], None, None, None),
        (["--idle_timeout", "-5", "--initial_timeout", "0", "--exit_timeout", "0"], None, 0.0, 0.0),
        (["--idle-timeout", "1.5"], 1.5, None, None),
    ],
)
def test_timeouts(top: Path, argv: list[str], idle: Any, initial: Any, exit_: Any) -> None:
    settings, _ = parse(argv + ["--top_level_folder", str(top)])
    assert (settings.idle_timeout, settings.initial_timeout, settings.exit_timeout) == (idle, initial, exit_)


@pytest.mark.parametrize(
    ("argv", "grace"),
    [([], 60.0), (["--reconnect_grace", "5"], 5.0), (["--reconnect-grace=2.5"], 2.5), (["--reconnect_grace", "0"], 0.0),
     (["--reconnect_grace", "-3"], 0.0)],
)
def test_reconnect_grace(top: Path, argv: list[str], grace: float) -> None:
    settings, _ = parse(argv + ["--top_level_folder", str(top)])
    assert settings.reconnect_grace == grace


@pytest.mark.parametrize(
    ("argv", "level"),
    [([], "INFO"), (["--verbosity", "0"], "OFF"), (["--verbosity", "1"], "CRITICAL"), (["--verbosity", "2"], "ERROR"),
     (["--verbosity", "3"], "WARNING"), (["--verbosity", "5"], "DEBUG"), (["--verbosity", "9"], "INFO"),
     (["--verbosity", "5", "--log-level", "error"], "ERROR")],
)
def test_log_level(top: Path, argv: list[str], level: str) -> None:
    settings, _ = parse(argv + ["--top_level_folder", str(top)])
    assert settings.log_level == level


def test_no_http_disables_frontend_and_database(top: Path) -> None:
    settings, warnings = parse(["--no_http", "--top_level_folder", str(top)])
    assert settings.no_frontend and settings.no_database
    assert warnings == [
        "Option no_http found in commandline parameters is deprecated. Use no_frontend and no_database instead."
    ]


def test_deprecated_options(top: Path) -> None:
    settings, warnings = parse(["--root", str(top), "--base", str(top / "sub"), "--threads", "4"])
    assert settings.top_level_folder == top
    assert settings.starting_folder == top / "sub"
    # --base and --root are carta-trio's own spellings: no deprecation warning for them
    assert sorted(warnings) == [
        "Option threads found in commandline parameters is deprecated. This feature is no longer supported.",
    ]


def test_base_alone_is_also_the_root(top: Path) -> None:
    settings, warnings = parse(["--base", str(top / "sub")])
    assert settings.top_level_folder == settings.starting_folder == top / "sub"
    assert warnings == []


def test_top_level_folder_wins_over_root_and_positional_over_base(top: Path, tmp_path: Path) -> None:
    settings, _ = parse(["--root", str(tmp_path), "--top_level_folder", str(top), "--base", str(top), str(top / "sub")])
    assert settings.top_level_folder == top
    assert settings.starting_folder == top / "sub"


# -- token ---------------------------------------------------------------------


def test_token_from_environment(top: Path) -> None:
    settings, _ = parse(["--top_level_folder", str(top)], {"HOME": "/h", "CARTA_AUTH_TOKEN": "secret-1"})
    assert settings.auth_token == "secret-1"


def test_random_uuid4_token(top: Path) -> None:
    first, _ = parse(["--top_level_folder", str(top)], {"HOME": "/h"})
    second, _ = parse(["--top_level_folder", str(top)], {"HOME": "/h"})
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first.auth_token)
    assert uuid.UUID(first.auth_token).version == 4
    assert first.auth_token != second.auth_token


def test_debug_no_auth_means_empty_token(top: Path) -> None:
    settings, _ = parse(["--debug_no_auth", "--top_level_folder", str(top)], {"HOME": "/h", "CARTA_AUTH_TOKEN": "x"})
    assert settings.auth_token == ""


def test_empty_token_variable_disables_auth_with_a_warning(top: Path) -> None:
    settings, warnings = parse(["--top_level_folder", str(top)], {"HOME": "/h", "CARTA_AUTH_TOKEN": ""})
    assert settings.auth_token == ""
    assert warnings == ["CARTA_AUTH_TOKEN is empty: every request is accepted without a token."]


# -- folders -------------------------------------------------------------------


def test_invalid_top_level_folder_exits_1(tmp_path: Path) -> None:
    for folder in (tmp_path / "missing", tmp_path / "file.txt"):
        (tmp_path / "file.txt").write_text("x")
        with pytest.raises(CliExit) as stop:
            parse(["--top_level_folder", str(folder)])
        assert stop.value.code == 1
        assert stop.value.critical == (
            "Invalid top level directory, does not exist or is not a readable directory. Exiting carta."
        )


def test_starting_folder_outside_top_exits_1(top: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(CliExit) as stop:
        parse(["--top_level_folder", str(top), str(outside)])
    assert stop.value.code == 1
    assert stop.value.critical == f"Starting {outside.resolve()} must be a subdirectory of top level {top}. Exiting carta."


def test_invalid_base_falls_back_to_top_with_warning(top: Path) -> None:
    settings, warnings = parse(["--top_level_folder", str(top), "--base", str(top / "missing")])
    assert settings.starting_folder == top
    assert "Invalid starting directory, using the provided top level directory instead." in warnings


def test_folders_are_absolute_and_symlink_resolved(top: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    link = tmp_path / "link"
    link.symlink_to(top)
    monkeypatch.chdir(tmp_path)
    settings, _ = parse(["--top_level_folder", "link", "link/sub/deeper"])
    assert settings.top_level_folder == top
    assert settings.starting_folder == top / "sub" / "deeper"


def test_default_starting_folder_is_the_sample_folder_inside_top(top: Path) -> None:
    settings, _ = parse(["--top_level_folder", "/"])
    assert settings.starting_folder == SAMPLE_FOLDER.resolve()
    # When the sample folder is outside the top-level folder, start at the top.
    settings, warnings = parse(["--top_level_folder", str(top)])
    assert settings.starting_folder == top
    assert warnings == []


# -- positional arguments --------------------------------------------------------


def test_positional_files_are_relative_to_top(top: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(top / "sub")
    settings, _ = parse(["--top_level_folder", str(top), str(top / "a.fits"), "c.fits", "../b.fits"])
    assert settings.files == ("a.fits", "sub/c.fits", "b.fits")
    assert settings.starting_folder == top


def test_positional_folder_discards_earlier_files_and_stops(top: Path) -> None:
    settings, _ = parse(["--top_level_folder", str(top), str(top / "a.fits"), str(top / "sub"), str(top / "b.fits")])
    assert settings.files == ()
    assert settings.starting_folder == top / "sub"


def test_missing_positional_clears_and_continues(top: Path) -> None:
    start, files = collect_positional([str(top / "a.fits"), str(top / "missing.fits"), str(top / "b.fits")])
    assert (start, files) == (None, [str(top / "b.fits")])


def test_special_file_clears_and_stops(top: Path) -> None:
    fifo = top / "pipe"
    os.mkfifo(fifo)
    start, files = collect_positional([str(top / "a.fits"), str(fifo), str(top / "b.fits"), str(top / "sub")])
    assert (start, files) == (None, [])


def test_image_directories_are_files(top: Path) -> None:
    from casacore import images

    import numpy as np

    casa = top / "cube.image"
    image = images.image(str(casa), shape=[3, 4])
    image.putdata(np.zeros((3, 4), dtype="f4"))
    del image
    miriad = top / "cube.mir"
    miriad.mkdir()
    (miriad / "header").write_bytes(b"x")
    (miriad / "image").write_bytes(b"x")
    table = top / "table.ms"
    table.mkdir()
    (table / "table.dat").write_bytes(b"x")
    (table / "table.info").write_text("Type = Measurement Set\n")
    assert is_image_directory(casa) and is_image_directory(miriad)
    assert not is_image_directory(table) and not is_image_directory(top / "sub")
    settings, _ = parse(["--top_level_folder", str(top), str(casa), str(miriad), str(top / "a.fits")])
    assert settings.files == ("cube.image", "cube.mir", "a.fits")
    settings, _ = parse(["--top_level_folder", str(top), str(casa), str(table)])
    assert settings.files == ()
    assert settings.starting_folder == table


# -- config files ----------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_strip_json_comments() -> None:
    text = '{\n // line "x"\n "a": "http://x//y", /* block\n */ "b": "/*not*/", "c": "q\\"//"}'
    assert strip_json_comments(text).count("\n") == text.count("\n")
    import json

    assert json.loads(strip_json_comments(text)) == {"a": "http://x//y", "b": "/*not*/", "c": 'q"//'}


def test_merge_patch() -> None:
    assert merge_patch({"a": 1, "b": {"c": 1, "d": 2}}, {"b": {"c": None, "e": 3}, "f": 4}) == {
        "a": 1, "b": {"d": 2, "e": 3}, "f": 4}
    assert merge_patch({"a": 1}, [1]) == [1]


def test_config_merge_order(top: Path, configs: tuple[Path, Path], tmp_path: Path) -> None:
    system, user = configs
    write(system, '{"host": "10.0.0.1", "idle_timeout": 10, "read_only_mode": true, "top_level_folder": "/", '
                  '"exit_timeout": 3} // system')
    write(user, f'/* user */ {{"host": "10.0.0.2", "top_level_folder": "{top}", "port": [4000, 4002], '
                '"verbosity": 5, "omp_threads": 2, "no_browser": true}')
    settings, warnings = parse(["--host", "127.0.0.1", "--exit_timeout", "7"], system=system, user=user)
    assert warnings == []
    assert settings.host == "127.0.0.1"
    assert settings.idle_timeout == 10.0
    assert settings.exit_timeout == 7.0
    assert settings.read_only is True
    assert settings.top_level_folder == top
    assert (settings.ports, settings.port_fixed) == ((4000, 4001, 4002), False)
    assert settings.log_level == "DEBUG"
    assert settings.omp_threads == 2
    assert settings.no_browser is True


def test_config_file_keys(top: Path, configs: tuple[Path, Path], tmp_path: Path) -> None:
    system, _ = configs
    fe = tmp_path / "fe"
    write(system, f'{{"top_level_folder": "{top}", "starting_folder": "{top / "sub"}", "frontend_folder": "{fe}", '
                  '"browser": "b", "no_log": true, "log_protocol_messages": true, "log_performance": true, '
                  '"enable_scripting": true, "no_frontend": true, "no_database": true, "no_runtime_config": true, '
                  '"initial_timeout": 4, "event_thread_count": 3, "port": 5000, "unknown": 1, '
                  '"debug_no_auth": true, "controller_deployment": true}')
    settings, warnings = parse([], system=system)
    assert warnings == []
    assert settings.starting_folder == top / "sub"
    assert settings.frontend_folder == fe
    assert settings.browser == "b"
    assert settings.no_log and settings.log_protocol_messages and settings.enable_scripting
    assert settings.no_frontend and settings.no_database and settings.no_runtime_config
    assert settings.initial_timeout == 4.0
    assert (settings.ports, settings.port_fixed) == ((5000,), True)
    # Command-line only: never from a file.
    assert settings.auth_token == "tok"
    assert settings.controller_deployment is False


def test_config_type_warnings(top: Path, configs: tuple[Path, Path]) -> None:
    system, _ = configs
    write(system, f'{{"top_level_folder": "{top}", "verbosity": "5", "idle_timeout": 2.5, "no_log": 1, '
                  '"host": 7, "port": [1, 2, 3], "read_only_mode": "yes"}')
    settings, warnings = parse([], system=system)
    assert sorted(warnings) == sorted([
        f"Problem in config file {system} at key verbosity: current value is \"5\", but a number is expected.",
        f"Problem in config file {system} at key idle_timeout: current value is 2.5, but a number is expected.",
        f"Problem in config file {system} at key no_log: current value is 1, but a boolean is expected.",
        f"Problem in config file {system} at key read_only_mode: current value is \"yes\", but a boolean is expected.",
        f"Problem in config file {system} at key host: current value is 7, but a string is expected.",
        f"Problem in config file {system} at key port: current value is [1,2,3], "
        "but a number or a list of two numbers is expected.",
    ])
    assert (settings.log_level, settings.idle_timeout, settings.no_log, settings.host) == ("INFO", None, False, "0.0.0.0")
    assert settings.ports == tuple(range(3002, 3103))


@pytest.mark.parametrize("port", ['"3002"', "[]", '[3000, "x"]', "{}", "true"])
def test_config_port_forms(top: Path, configs: tuple[Path, Path], port: str) -> None:
    system, _ = configs
    write(system, f'{{"top_level_folder": "{top}", "port": {port}}}')
    settings, warnings = parse([], system=system)
    assert settings.ports == tuple(range(3002, 3103))
    assert len(warnings) == (0 if port == "[]" else 1)


def test_config_deprecated_keys(top: Path, configs: tuple[Path, Path]) -> None:
    system, _ = configs
    write(system, f'{{"top_level_folder": "{top}", "base": "/x", "root": "/y", "threads": 3, "no_http": true}}')
    settings, warnings = parse([], system=system)
    assert sorted(warnings) == sorted(
        f"Option {name} found in {system} is deprecated. {advice}"
        for name, advice in cli.DEPRECATED.items()
    )
    assert settings.top_level_folder == top
    assert settings.no_frontend and settings.no_database


def test_broken_config_files_are_empty_with_warnings(top: Path, configs: tuple[Path, Path]) -> None:
    system, user = configs
    write(system, "{not json")
    write(user, "[1, 2]")
    settings, warnings = parse(["--top_level_folder", str(top)], system=system, user=user)
    assert warnings[0] == f"Error parsing config file {system}."
    assert warnings[-1] == f"Error parsing config file {user}."
    assert settings.top_level_folder == top


def test_no_user_and_no_system_config(top: Path, configs: tuple[Path, Path]) -> None:
    system, user = configs
    write(system, '{"host": "1.1.1.1"}')
    write(user, '{"idle_timeout": 9}')
    settings, _ = parse(["--top_level_folder", str(top), "--no_system_config"], system=system, user=user)
    assert (settings.host, settings.idle_timeout) == ("0.0.0.0", 9.0)
    settings, _ = parse(["--top_level_folder", str(top), "--no_user_config"], system=system, user=user)
    assert (settings.host, settings.idle_timeout) == ("1.1.1.1", None)


def test_user_config_defaults_to_home(top: Path, tmp_path: Path) -> None:
    write(tmp_path / "h" / ".carta" / "backend.json", f'{{"top_level_folder": "{top}"}}')
    settings, _ = parse_settings([], {"HOME": str(tmp_path / "h")}, None)
    assert settings.top_level_folder == top
    assert settings.user_folder == tmp_path / "h" / ".carta"


def test_config_starting_folder_overrides_positional_folder(top: Path, configs: tuple[Path, Path]) -> None:
    # Reference quirk: the positional folder is not part of the command-line JSON.
    system, _ = configs
    write(system, f'{{"starting_folder": "{top / "sub" / "deeper"}"}}')
    settings, _ = parse(["--top_level_folder", str(top), str(top / "sub")], system=system)
    assert settings.starting_folder == top / "sub" / "deeper"


def test_config_top_level_folder_overrides_root(top: Path, configs: tuple[Path, Path], tmp_path: Path) -> None:
    # Reference quirk: --root is not in the command-line JSON either.
    system, _ = configs
    write(system, f'{{"top_level_folder": "{top}"}}')
    settings, _ = parse(["--root", str(tmp_path)], system=system)
    assert settings.top_level_folder == top


# -- start URL -------------------------------------------------------------------


def url_settings(top: Path, **kwargs: Any) -> Settings:
    base: dict[str, Any] = {"top_level_folder": top, "starting_folder": top, "auth_token": "T"}
    base.update(kwargs)
    return Settings(**base)


@pytest.mark.parametrize(
    ("files", "query"),
    [
        ((), ""),
        (("a.fits",), "file=a.fits"),
        (("sub dir/a b+c.fits",), "file=sub%20dir%2Fa%20b%2Bc.fits"),
        (("x/é~_-.fits",), "file=x%2F%C3%A9~_-.fits"),
        (("sub/a.fits", "sub/b.fits"), "folder=sub&files=a.fits,b.fits"),
        (("a.fits", "b.fits"), "folder=&files=a.fits,b.fits"),
        (("sub/a.fits", "other/b,c.fits"), "files=sub%2Fa.fits,other%2Fb%2Cc.fits"),
        (("a.fits", "sub/b.fits"), "files=a.fits,sub%2Fb.fits"),
    ],
)
def test_file_query(files: tuple[str, ...], query: str) -> None:
    assert launch.file_query(files) == query


def test_frontend_url(top: Path) -> None:
    assert launch.frontend_url(url_settings(top), 3002, {}) == "http://localhost:3002/?token=T"
    assert launch.frontend_url(url_settings(top), 3002, {"SERVER_IP": "10.1.2.3"}) == "http://10.1.2.3:3002/?token=T"
    assert launch.frontend_url(url_settings(top, host="127.0.0.1"), 4, {"SERVER_IP": "x"}) == "http://127.0.0.1:4/?token=T"
    assert launch.frontend_url(url_settings(top, host="::1"), 4, {}) == "http://[::1]:4/?token=T"
    with_files = url_settings(top, files=("sub/a.fits",))
    assert launch.frontend_url(with_files, 3002, {}) == "http://localhost:3002/?token=T&file=sub%2Fa.fits"
    no_token = url_settings(top, files=("a.fits", "b.fits"), auth_token="")
    assert launch.frontend_url(no_token, 3002, {}) == "http://localhost:3002/?folder=&files=a.fits,b.fits"
    assert launch.frontend_url(url_settings(top, auth_token=""), 3002, {}) == "http://localhost:3002"


def test_listening_message(top: Path) -> None:
    assert launch.listening_message(url_settings(top), 3003) == (
        f"Listening on port 3003 with top level folder {top}, starting folder {top}."
    )
    assert "OpenMP" not in launch.listening_message(url_settings(top, omp_threads=4), 3003)


def test_browser_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    program = tmp_path / "mybrowser"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    url = "http://h:1/?token=T"
    assert launch.browser_command(url, "mybrowser --new-window &") == [str(program), "--new-window", url]
    assert launch.browser_command(url, "mybrowser --app=CARTA_URL --x") == [str(program), f"--app={url}", "--x"]
    assert launch.browser_command(url, f"{program} CARTA_URL") == [str(program), url]
    assert launch.browser_command(url, "no-such-browser") is None


def test_reference_log_format() -> None:
    record = logging.LogRecord("carta_trio", logging.WARNING, __file__, 1, "Port %d is busy", (3002,), None)
    record.created, record.msecs = 1_700_000_000.25, 250.0
    assert launch.ReferenceFormatter(console=True).format(record) == (
        "[2023-11-14 22:13:20.250Z] [CARTA] [warning] Port 3002 is busy"
    )
    assert launch.ReferenceFormatter(console=False).format(record) == "[2023-11-14 22:13:20.250Z] [warning] Port 3002 is busy"


# -- main and announce -------------------------------------------------------------

LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z\] \[CARTA\] \[(\w+)\] (.*)$")


def lines_of(text: str) -> list[tuple[str, str]]:
    found = []
    for line in text.splitlines():
        match = LINE.match(line)
        assert match, line
        found.append((match.group(1), match.group(2)))
    return found


def test_main_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == "carta-trio 0.1.0 (CARTA backend 4.1.0 compatible, ICD 28)\n"
    assert cli.main(["-h"]) == 0
    assert "Usage:" in capsys.readouterr().out


def test_main_bad_folder_logs_critical_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--top_level_folder", str(tmp_path / "missing"), "--no_log"]) == 1
    assert lines_of(capsys.readouterr().out) == [
        ("critical", "Invalid top level directory, does not exist or is not a readable directory. Exiting carta.")
    ]


def test_main_runs_the_server_and_announces(
    top: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import carta_trio.actors.server as server

    frontend = tmp_path / "fe"
    frontend.mkdir()
    (frontend / "index.html").write_text("<html>")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CARTA_AUTH_TOKEN", "abc-123")
    monkeypatch.delenv("SERVER_IP", raising=False)
    opened: list[tuple[str, Any]] = []
    monkeypatch.setattr(launch, "open_browser", lambda url, command: opened.append((url, command)))
    seen: list[Settings] = []
    ports: list[int] = []

    def fake_run(settings: Settings, *, sock: Any, stop_requested: Any) -> int:
        # The CLI binds the port and prints the URL before it imports the server.
        seen.append(settings)
        ports.append(sock.getsockname()[1])
        sock.close()
        return 0

    monkeypatch.setattr(server, "run", fake_run)
    argv = ["--top_level_folder", str(top), "--frontend_folder", str(frontend), "--threads", "2",
            "--port", "0", "--host", "127.0.0.1", str(top / "a.fits")]
    assert cli.main(argv) == 0
    url = f"http://127.0.0.1:{ports[0]}/?token=abc-123&file=a.fits"
    assert seen[0].files == ("a.fits",)
    assert opened == [(url, None)]
    lines = lines_of(capsys.readouterr().out)
    assert lines[0] == ("warning", "Option threads found in commandline parameters is deprecated. "
                                   "This feature is no longer supported.")
    assert lines[1][0] == "info" and lines[1][1].endswith(": Version 4.1.0")
    assert lines[-1] == ("info", f"CARTA is accessible at {url}")
    log_file = tmp_path / "home" / ".carta" / "log" / "carta.log"
    assert f"] [info] CARTA is accessible at {url}" in log_file.read_text()
    # The token-parsing regular expression of carta-python finds the token.
    match = re.search(r"CARTA is accessible at (http://.*?:\d+/\?token=(.*))", f"CARTA is accessible at {url}")
    assert match and match.group(2).startswith("abc-123")


def test_announce_skips_browser_and_url_when_not_serving(top: Path, tmp_path: Path, capsys: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr(launch, "open_browser", lambda url, command: opened.append(url))
    launch.configure_logging("INFO")
    frontend = tmp_path / "fe"
    frontend.mkdir()
    (frontend / "index.html").write_text("<html>")
    assert launch.announce(url_settings(top, frontend_folder=frontend, no_browser=True), 5, {}) == (
        "http://localhost:5/?token=T")
    assert opened == []
    assert launch.announce(url_settings(top, frontend_folder=tmp_path / "missing"), 5, {}) is None
    assert launch.announce(url_settings(top, frontend_folder=frontend, no_frontend=True), 5, {}) is None
    assert opened == []
    assert lines_of(capsys.readouterr().out) == [("info", "CARTA is accessible at http://localhost:5/?token=T")]


def test_main_reports_crash_as_exit_1(top: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    import carta_trio.actors.server as server

    def broken(settings: Settings, *, sock: Any, stop_requested: Any) -> int:
        sock.close()
        raise RuntimeError("boom")

    monkeypatch.setattr(server, "run", broken)
    assert cli.main(["--top_level_folder", str(top), "--no_log", "--no_browser", "--port", "0"]) == 1
    assert lines_of(capsys.readouterr().out)[-1] == ("critical", "boom")
