"""The shipped systemd unit (deploy/carta-trio.service): hardened, and valid for systemd."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "carta-trio.service"


def _service() -> dict[str, str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return dict(parser["Service"])


def test_unit_is_hardened_and_consistent() -> None:
    service = _service()
    for key, value in {"ProtectSystem": "strict", "ProtectHome": "read-only", "NoNewPrivileges": "yes",
                       "PrivateTmp": "yes", "KillSignal": "SIGTERM", "UMask": "0022"}.items():
        assert service.get(key) == value, key
    assert int(service["LimitNOFILE"]) >= 16384
    argv = shlex.split(service["ExecStart"])
    top = argv[argv.index("--top_level_folder") + 1]
    assert top in service["ReadWritePaths"].split(), "the data folder must be writable (SAVE_FILE)"
    assert "--no_browser" in argv
    assert "CARTA_AUTH_TOKEN" not in UNIT.read_text().split("[Service]")[1].split("EnvironmentFile")[0]


def test_exec_start_arguments_parse() -> None:
    from carta_trio.options import parse_command_line

    argv = shlex.split(_service()["ExecStart"])[1:]
    given, positional = parse_command_line(argv)
    assert given["top_level_folder"] == "/data" and not positional


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not available")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    program = shutil.which("carta-trio", path=str(Path(sys.executable).parent)) or shutil.which("carta-trio")
    if program is None:
        pytest.skip("carta-trio is not installed as a command")
    unit = tmp_path / "carta-trio.service"
    # verify checks that ExecStart's program exists: point it at the installed one
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/carta-trio", program))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    problems = [line for line in result.stderr.splitlines() if "carta-trio.service" in line]
    assert not problems, problems
